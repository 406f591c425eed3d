import * as ops from '../../src/autograd/ops/index.js';
import { Generator, tensor, type Tensor, type DType } from '../../src/index.js';

/*
 * One table of differentiable-op cases shared by the gradient checks and the float32-vs-float64
 * forward comparison, so that both always cover the same ops.
 */

/** Where inputs are drawn: kinks (abs, relu, clamp) and poles (log, div) are kept well away. */
export type Domain = 'any' | 'positive' | 'awayFromZero';

export interface InputSpec {
  shape: number[];
  domain?: Domain;
}

export interface OpCase {
  /** The exported op this case exercises (checked for coverage). */
  op: string;
  name: string;
  inputs: InputSpec[];
  fn: (...xs: Tensor[]) => Tensor;
}

const s = (shape: number[], domain: Domain = 'any'): InputSpec => ({ shape, domain });

/** Draws the raw values for a case (rounded to float32 so both dtypes see identical inputs). */
export function drawValues(spec: InputSpec, gen: Generator): Float64Array {
  const n = spec.shape.reduce((a, b) => a * b, 1);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let v = gen.normal();
    if (spec.domain === 'positive') v = 0.5 + Math.abs(v);
    else if (spec.domain === 'awayFromZero') v = (v < 0 ? -1 : 1) * (0.25 + Math.abs(v));
    else if (Math.abs(v) < 0.05) v += v < 0 ? -0.1 : 0.1; // keep clear of the kinks at 0
    out[i] = Math.fround(v);
  }
  return out;
}

export function makeInputs(c: OpCase, seed: number, dtype: DType, requiresGrad: boolean): Tensor[] {
  const gen = new Generator(seed);
  return c.inputs.map((spec) => tensor(drawValues(spec, gen), { shape: spec.shape, dtype, requiresGrad }));
}

const mask = (shape: number[], dtype: DType = 'float64'): Tensor => {
  const n = shape.reduce((a, b) => a * b, 1);
  return tensor(Float64Array.from({ length: n }, (_, i) => ((i * 7) % 3 === 0 ? 1 : 0)), { shape, dtype });
};

export const cases: OpCase[] = [
  // Binary ops, same shape, broadcasting and plain-number operands.
  { op: 'add', name: 'add [3,4]+[3,4]', inputs: [s([3, 4]), s([3, 4])], fn: (a, b) => ops.add(a, b) },
  { op: 'add', name: 'add [B,1]+[1,N]', inputs: [s([3, 1]), s([1, 4])], fn: (a, b) => a.add(b) },
  { op: 'add', name: 'add [N]+[B,N]', inputs: [s([4]), s([3, 4])], fn: (a, b) => a.add(b) },
  { op: 'add', name: 'add scalar number', inputs: [s([2, 3])], fn: (a) => ops.add(2.5, a.add(1)) },
  { op: 'add', name: 'add [] + [2,3] (0-d tensor)', inputs: [s([]), s([2, 3])], fn: (a, b) => a.add(b) },
  { op: 'sub', name: 'sub [3,4]-[3,4]', inputs: [s([3, 4]), s([3, 4])], fn: (a, b) => ops.sub(a, b) },
  { op: 'sub', name: 'sub [B,1]-[1,N]', inputs: [s([3, 1]), s([1, 4])], fn: (a, b) => a.sub(b) },
  { op: 'sub', name: 'sub [B,N]-[N] and number-tensor', inputs: [s([3, 4]), s([4])], fn: (a, b) => ops.sub(1, a.sub(b)) },
  { op: 'mul', name: 'mul [3,4]*[3,4]', inputs: [s([3, 4]), s([3, 4])], fn: (a, b) => ops.mul(a, b) },
  { op: 'mul', name: 'mul [B,1]*[1,N]', inputs: [s([3, 1]), s([1, 4])], fn: (a, b) => a.mul(b) },
  { op: 'mul', name: 'mul [N]*[B,N] then *number', inputs: [s([4]), s([3, 4])], fn: (a, b) => a.mul(b).mul(-3) },
  { op: 'div', name: 'div [3,4]/[3,4]', inputs: [s([3, 4]), s([3, 4], 'awayFromZero')], fn: (a, b) => ops.div(a, b) },
  { op: 'div', name: 'div [B,1]/[1,N]', inputs: [s([3, 1]), s([1, 4], 'awayFromZero')], fn: (a, b) => a.div(b) },
  { op: 'div', name: 'div number/[B,N] and [N]/[B,N]', inputs: [s([4]), s([3, 4], 'awayFromZero')], fn: (a, b) => ops.div(2, b).add(a.div(b)) },
  { op: 'mul', name: 'mul 3-D broadcast on both sides [2,1,4]*[3,1]', inputs: [s([2, 1, 4]), s([3, 1])], fn: (a, b) => a.mul(b) },
  { op: 'div', name: 'div 3-D broadcast on both sides [3,1]/[2,1,4]', inputs: [s([3, 1]), s([2, 1, 4], 'awayFromZero')], fn: (a, b) => a.div(b) },
  { op: 'div', name: 'div by a number', inputs: [s([3, 4])], fn: (a) => a.div(3) },
  // Unary ops.
  { op: 'neg', name: 'neg', inputs: [s([3, 4])], fn: (a) => ops.neg(a) },
  { op: 'pow', name: 'pow 2', inputs: [s([3, 4])], fn: (a) => ops.pow(a, 2) },
  { op: 'pow', name: 'pow 3', inputs: [s([3, 4])], fn: (a) => a.pow(3) },
  { op: 'pow', name: 'pow 0.5 (positive)', inputs: [s([3, 4], 'positive')], fn: (a) => a.pow(0.5) },
  { op: 'pow', name: 'pow -1.5 (positive)', inputs: [s([3, 4], 'positive')], fn: (a) => a.pow(-1.5) },
  { op: 'pow', name: 'pow(2).add(1)', inputs: [s([5])], fn: (a) => a.pow(2).add(1) },
  { op: 'exp', name: 'exp', inputs: [s([3, 4])], fn: (a) => ops.exp(a) },
  { op: 'log', name: 'log (positive)', inputs: [s([3, 4], 'positive')], fn: (a) => ops.log(a) },
  { op: 'log1p', name: 'log1p (positive)', inputs: [s([3, 4], 'positive')], fn: (a) => ops.log1p(a) },
  { op: 'sqrt', name: 'sqrt (positive)', inputs: [s([3, 4], 'positive')], fn: (a) => ops.sqrt(a) },
  { op: 'abs', name: 'abs', inputs: [s([3, 4], 'awayFromZero')], fn: (a) => ops.abs(a) },
  { op: 'tanh', name: 'tanh', inputs: [s([3, 4])], fn: (a) => ops.tanh(a) },
  { op: 'sigmoid', name: 'sigmoid', inputs: [s([3, 4])], fn: (a) => ops.sigmoid(a.mul(3)) },
  { op: 'relu', name: 'relu', inputs: [s([3, 4], 'awayFromZero')], fn: (a) => ops.relu(a) },
  { op: 'leakyRelu', name: 'leakyRelu default slope', inputs: [s([3, 4], 'awayFromZero')], fn: (a) => ops.leakyRelu(a) },
  { op: 'leakyRelu', name: 'leakyRelu slope 0.2', inputs: [s([3, 4], 'awayFromZero')], fn: (a) => a.leakyRelu(0.2) },
  // Bounds at ±0.6 / 0.9: drawn values are float32-rounded normals, never within eps of them.
  { op: 'clamp', name: 'clamp [-0.6, 0.9]', inputs: [s([4, 5])], fn: (a) => ops.clamp(a, -0.6, 0.9) },
  { op: 'clamp', name: 'clamp min only', inputs: [s([4, 5])], fn: (a) => a.clamp(-0.6) },
  { op: 'clamp', name: 'clamp max only', inputs: [s([4, 5])], fn: (a) => a.clamp(null, 0.6) },
  // Matmul: every flag combination, 2-D and batched 3-D, and a 2-D operand shared by a batch.
  ...([[false, false], [true, false], [false, true], [true, true]] as const).flatMap(([transA, transB]): OpCase[] => {
    const tag = `${transA ? 'T' : 'N'}${transB ? 'T' : 'N'}`;
    const A = (b?: number): number[] => [...(b ? [b] : []), ...(transA ? [4, 3] : [3, 4])];
    const B = (b?: number): number[] => [...(b ? [b] : []), ...(transB ? [5, 4] : [4, 5])];
    return [
      { op: 'matmul', name: `matmul 2-D ${tag}`, inputs: [s(A()), s(B())], fn: (a, b) => ops.matmul(a, b, { transA, transB }) },
      { op: 'matmul', name: `matmul 3-D ${tag}`, inputs: [s(A(2)), s(B(2))], fn: (a, b) => a.matmul(b, { transA, transB }) },
      { op: 'matmul', name: `matmul 3-D@2-D ${tag}`, inputs: [s(A(2)), s(B())], fn: (a, b) => a.matmul(b, { transA, transB }) },
      { op: 'matmul', name: `matmul 2-D@3-D ${tag}`, inputs: [s(A()), s(B(2))], fn: (a, b) => a.matmul(b, { transA, transB }) },
    ];
  }),
  // K = 130 spans two packed depth blocks of the GEMM (KC = 128) in forward and in backward.
  { op: 'matmul', name: 'matmul K = 130 across packing blocks, TN', inputs: [s([130, 3]), s([130, 2])], fn: (a, b) => a.matmul(b, { transA: true }) },
  { op: 'matmul', name: 'matmul odd sizes [1,7]@[7,1]', inputs: [s([1, 7]), s([7, 1])], fn: (a, b) => a.matmul(b) },
  { op: 'linearConcat', name: 'linearConcat 3 layers with biases', inputs: [s([4, 5]), s([3, 5]), s([1, 5]), s([2, 5]), s([3]), s([1]), s([2])], fn: (x, w0, w1, w2, b0, b1, b2) => ops.linearConcat(x, [w0, w1, w2], [b0, b1, b2]) },
  { op: 'linearConcat', name: 'linearConcat without biases, B = 1', inputs: [s([1, 3]), s([2, 3]), s([2, 3])], fn: (x, w0, w1) => ops.linearConcat(x, [w0, w1]) },
  // Reductions over one axis, a negative axis, a list and everything, with and without keepdim.
  ...(['sum', 'mean', 'max'] as const).flatMap((r): OpCase[] =>
    ([0, -1, [0, 2], [-1, 1], undefined] as Array<number | number[] | undefined>).flatMap((axis) =>
      [false, true].map((keepdim) => ({
        op: r,
        name: `${r} axis ${JSON.stringify(axis) ?? 'all'} keepdim ${keepdim}`,
        inputs: [s([2, 3, 4])],
        fn: (a: Tensor) => ops[r](a, axis, keepdim),
      })),
    ),
  ),
  { op: 'sum', name: 'sum method, default all', inputs: [s([3, 4])], fn: (a) => a.sum() },
  { op: 'mean', name: 'mean method axis 1', inputs: [s([3, 4])], fn: (a) => a.mean(1) },
  { op: 'max', name: 'max method axis -2 keepdim', inputs: [s([3, 4])], fn: (a) => a.max(-2, true) },
  // Shape ops (outputs are multiplied by a fixed pattern so that a wrong permutation is caught).
  { op: 'reshape', name: 'reshape [2,3,4]->[6,-1]', inputs: [s([2, 3, 4])], fn: (a) => ops.reshape(a, [6, -1]).mul(weights([6, 4], a.dtype)) },
  { op: 'reshape', name: 'view varargs', inputs: [s([2, 6])], fn: (a) => a.view(3, 4).mul(weights([3, 4], a.dtype)) },
  { op: 'transpose', name: 'transpose default (last two)', inputs: [s([2, 3, 4])], fn: (a) => ops.transpose(a).mul(weights([2, 4, 3], a.dtype)) },
  { op: 'transpose', name: 'transpose 0,2', inputs: [s([2, 3, 4])], fn: (a) => a.transpose(0, 2).mul(weights([4, 3, 2], a.dtype)) },
  { op: 'permute', name: 'permute [2,0,1]', inputs: [s([2, 3, 4])], fn: (a) => ops.permute(a, [2, 0, 1]).mul(weights([4, 2, 3], a.dtype)) },
  { op: 'permute', name: 'permute varargs negative', inputs: [s([2, 3, 4])], fn: (a) => a.permute(1, -1, 0).mul(weights([3, 4, 2], a.dtype)) },
  { op: 'squeeze', name: 'squeeze axis', inputs: [s([3, 1, 4])], fn: (a) => ops.squeeze(a, 1).mul(weights([3, 4], a.dtype)) },
  { op: 'squeeze', name: 'squeeze all', inputs: [s([1, 3, 1])], fn: (a) => a.squeeze().mul(weights([3], a.dtype)) },
  { op: 'unsqueeze', name: 'unsqueeze -1', inputs: [s([3, 4])], fn: (a) => ops.unsqueeze(a, -1).mul(weights([3, 4, 1], a.dtype)) },
  { op: 'expand', name: 'expand [3,1]->[2,3,4]', inputs: [s([3, 1])], fn: (a) => ops.expand(a, [2, 3, 4]).mul(weights([2, 3, 4], a.dtype)) },
  { op: 'expand', name: 'expand -1 keeps a dimension', inputs: [s([1, 4])], fn: (a) => a.expand(3, -1).mul(weights([3, 4], a.dtype)) },
  { op: 'concat', name: 'concat axis 1, three inputs', inputs: [s([2, 1]), s([2, 3]), s([2, 2])], fn: (a, b, c) => ops.concat([a, b, c], 1).mul(weights([2, 6], a.dtype)) },
  { op: 'concat', name: 'concat axis 0', inputs: [s([1, 3]), s([2, 3])], fn: (a, b) => ops.concat([a, b]).mul(weights([3, 3], a.dtype)) },
  { op: 'stack', name: 'stack axis 0', inputs: [s([2, 3]), s([2, 3])], fn: (a, b) => ops.stack([a, b]).mul(weights([2, 2, 3], a.dtype)) },
  { op: 'stack', name: 'stack axis -1', inputs: [s([2, 3]), s([2, 3]), s([2, 3])], fn: (a, b, c) => ops.stack([a, b, c], -1).mul(weights([2, 3, 3], a.dtype)) },
  { op: 'slice', name: 'slice axis 1 [1:3]', inputs: [s([3, 4])], fn: (a) => ops.slice(a, 1, 1, 3).mul(weights([3, 2], a.dtype)) },
  { op: 'slice', name: 'slice negative bounds', inputs: [s([4, 3])], fn: (a) => a.slice(0, -3, -1).mul(weights([2, 3], a.dtype)) },
  { op: 'narrow', name: 'narrow', inputs: [s([3, 5])], fn: (a) => ops.narrow(a, 1, 2, 3).mul(weights([3, 3], a.dtype)) },
  { op: 'indexSelect', name: 'indexSelect axis 0, repeated indices', inputs: [s([4, 3])], fn: (a) => ops.indexSelect(a, 0, [3, 1, 3, 3, 0]).mul(weights([5, 3], a.dtype)) },
  { op: 'indexSelect', name: 'indexSelect axis 1, Int32Array', inputs: [s([2, 4])], fn: (a) => a.indexSelect(1, Int32Array.from([2, 2, 0])).mul(weights([2, 3], a.dtype)) },
  { op: 'softmax', name: 'softmax last axis', inputs: [s([3, 4])], fn: (a) => ops.softmax(a).mul(weights([3, 4], a.dtype)) },
  { op: 'softmax', name: 'softmax axis 0 of 3-D', inputs: [s([3, 2, 2])], fn: (a) => a.softmax(0).mul(weights([3, 2, 2], a.dtype)) },
  { op: 'logSoftmax', name: 'logSoftmax last axis', inputs: [s([3, 4])], fn: (a) => ops.logSoftmax(a).mul(weights([3, 4], a.dtype)) },
  { op: 'logSoftmax', name: 'logSoftmax axis 1 of 3-D', inputs: [s([2, 3, 2])], fn: (a) => a.logSoftmax(1) },
  { op: 'where', name: 'where, both branches need grad', inputs: [s([3, 4]), s([3, 4])], fn: (a, b) => ops.where(mask([3, 4], a.dtype), a, b) },
  { op: 'where', name: 'where broadcast [4] vs [3,1]', inputs: [s([4]), s([3, 1])], fn: (a, b) => ops.where(mask([3, 4], a.dtype), a, b) },
  { op: 'where', name: 'where with a number branch', inputs: [s([3, 4])], fn: (a) => ops.where(mask([3, 4], a.dtype), a.exp(), 0) },
  { op: 'cast', name: 'cast to the same dtype (a copy)', inputs: [s([3, 4])], fn: (a) => ops.cast(a, a.dtype).mul(2) },
  { op: 'clone', name: 'clone', inputs: [s([3, 4])], fn: (a) => ops.clone(a).mul(a) },
  { op: 'crossLayer', name: 'crossLayer w,b [D]', inputs: [s([4, 3]), s([4, 3]), s([3]), s([3])], fn: (x0, xl, w, b) => ops.crossLayer(x0, xl, w, b) },
  { op: 'crossLayer', name: 'crossLayer w,b [D,1], x0 = xl', inputs: [s([2, 5]), s([5, 1]), s([5, 1])], fn: (x0, w, b) => ops.crossLayer(x0, x0, w, b) },
  { op: 'crossNetVector', name: 'crossNetVector L=3, kernels,bias [L,D,1]', inputs: [s([4, 5]), s([3, 5, 1]), s([3, 5, 1])], fn: (x0, w, b) => ops.crossNetVector(x0, w.mul(0.5), b) },
  { op: 'crossNetVector', name: 'crossNetVector L=1, B=1, kernels,bias [L,D]', inputs: [s([1, 6]), s([1, 6]), s([1, 6])], fn: (x0, w, b) => ops.crossNetVector(x0, w, b) },
  // A tensor used twice (and three times) in one graph: gradients must accumulate.
  { op: 'mul', name: 'x used twice: x*x + exp(x)', inputs: [s([3, 4])], fn: (a) => a.mul(a).add(a.exp()) },
  { op: 'matmul', name: 'x used twice: x @ xᵀ', inputs: [s([3, 4])], fn: (a) => a.matmul(a, { transB: true }) },
  { op: 'add', name: 'x used on both sides of a diamond', inputs: [s([3])], fn: (a) => { const h = a.tanh(); return h.mul(a).add(h.sigmoid()).sum(); } },
];

/** A fixed, non-symmetric pattern to multiply outputs by. */
export function weights(shape: number[], dtype: DType = 'float64'): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  return tensor(Float64Array.from({ length: n }, (_, i) => 1 + ((i * 5) % 7) / 3), { shape, dtype });
}

/** Ops exported from src/autograd/ops that carry no gradient (comparisons returning masks). */
export const nonDifferentiable = new Set(['eq', 'gt', 'lt']);
