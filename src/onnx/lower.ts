import type { DType } from '../tensor/index.js';
import { dataTypeOf, type GraphBuilder, type SymShape } from './graph-builder.js';
import { DataType, attr } from './proto.js';

/** One traced op as its lowering sees it: ONNX value names and symbolic shapes of its inputs. */
export interface LowerInput {
  readonly name: string;
  readonly attrs: any; // eslint-disable-line @typescript-eslint/no-explicit-any
  readonly inputs: readonly string[];
  readonly inShapes: readonly SymShape[];
  readonly outShape: SymShape;
}

/** Emits the ONNX nodes computing one op and returns the name of the value holding its result. */
export type Lowering = (g: GraphBuilder, op: LowerInput) => string;

/**
 * A model the exporter cannot write as one ONNX graph (an op without a lowering, a forward that
 * depends on the batch outside the ops, a graph too big for one file): catch it by type to fall
 * back to another way of serving. Bad options stay ordinary Errors / TypeErrors.
 */
export class OnnxExportError extends Error {
  override readonly name = 'OnnxExportError';
}

/** An export error naming the function (every message starts with `exportOnnx:`). */
export function exportError(msg: string): OnnxExportError {
  return new OnnxExportError(`exportOnnx: ${msg}`);
}

const unaryOps: Record<string, string> = {
  neg: 'Neg', exp: 'Exp', log: 'Log', sqrt: 'Sqrt', abs: 'Abs', tanh: 'Tanh', sigmoid: 'Sigmoid', relu: 'Relu',
};
const binaryOps: Record<string, string> = { add: 'Add', sub: 'Sub', mul: 'Mul', div: 'Div' };

/** A target shape as ONNX Reshape reads it: the one batch-sized dimension becomes -1. */
function reshapeTarget(op: LowerInput): number[] {
  const batchDims = op.outShape.filter((d) => d === null).length;
  if (batchDims > 1) throw exportError(`op '${op.name}' reshapes to [${op.outShape.map((d) => d ?? 'B').join(',')}], with more than one dimension that follows the batch size`);
  return op.outShape.map((d) => {
    if (d === 0) throw exportError(`op '${op.name}' reshapes to a shape with a zero-size dimension, which ONNX Reshape (opset 13) reads as "copy"`);
    return d ?? -1;
  });
}

/** Swaps the last two axes of a value of rank `rank`. */
function transposeLast(g: GraphBuilder, x: string, rank: number): string {
  const perm = Array.from({ length: rank }, (_, i) => i);
  [perm[rank - 2], perm[rank - 1]] = [perm[rank - 1], perm[rank - 2]];
  return g.node('Transpose', [x], { perm: attr.ints(perm) });
}

/** One cross layer x0 ⊙ (xl·w) + b + xl with w: [D, 1] and b: [D] values. */
function crossStep(g: GraphBuilder, x0: string, xl: string, w: string, b: string): string {
  const s = g.node('MatMul', [xl, w]); // [B, 1]
  return g.node('Add', [g.node('Add', [g.node('Mul', [x0, s]), b]), xl]);
}

/*
 * Every op the models use, lowered to standard ONNX (opset 13). The fused ops (crossLayer, the
 * crossNetVector stack) become the MatMul/Mul/Add subgraph that defines them, since ONNX has no
 * cross layer.
 */
export const lowerings: Readonly<Record<string, Lowering>> = {
  ...Object.fromEntries(Object.entries(unaryOps).map(([k, onnx]) => [k, (g: GraphBuilder, op: LowerInput) => g.node(onnx, [op.inputs[0]])])),
  ...Object.fromEntries(Object.entries(binaryOps).map(([k, onnx]) => [k, (g: GraphBuilder, op: LowerInput) => g.node(onnx, [op.inputs[0], op.inputs[1]])])),
  log1p: (g, op) => g.node('Log', [g.node('Add', [op.inputs[0], g.scalar(1)])]),
  leakyRelu: (g, op) => {
    const x = op.inputs[0];
    if (g.dtype === 'float32') return g.node('LeakyRelu', [x], { alpha: attr.float(op.attrs as number) });
    // LeakyRelu's alpha is a float attribute, and ONNX Runtime's CPU kernels have no double LeakyRelu.
    return g.node('Where', [g.node('Greater', [x, g.scalar(0)]), x, g.node('Mul', [x, g.scalar(op.attrs as number)])]);
  },
  clamp: (g, op) => {
    const [lo, hi] = op.attrs as [number, number];
    const ins = [op.inputs[0], lo === -Infinity ? '' : g.scalar(lo)];
    if (hi !== Infinity) ins.push(g.scalar(hi));
    return g.node('Clip', ins);
  },
  pow: (g, op) => g.node('Pow', [op.inputs[0], g.scalar(op.attrs as number)]),
  matmul: (g, op) => {
    const { transA, transB } = op.attrs as { transA: boolean; transB: boolean };
    const [ra, rb] = [op.inShapes[0].length, op.inShapes[1].length];
    if (ra === 2 && rb === 2) {
      return g.node('Gemm', [op.inputs[0], op.inputs[1]], { transA: attr.int(transA ? 1 : 0), transB: attr.int(transB ? 1 : 0) });
    }
    const a = transA ? transposeLast(g, op.inputs[0], ra) : op.inputs[0];
    const b = transB ? transposeLast(g, op.inputs[1], rb) : op.inputs[1];
    return g.node('MatMul', [a, b]);
  },
  sum: (g, op) => {
    const { axes, keepdim } = op.attrs as { axes: number[]; keepdim: boolean };
    if (axes.length === 0) return g.node('Identity', [op.inputs[0]]);
    return g.node('ReduceSum', [op.inputs[0], g.int64s(axes)], { keepdims: attr.int(keepdim ? 1 : 0) });
  },
  mean: (g, op) => {
    const { axes, keepdim } = op.attrs as { axes: number[]; keepdim: boolean };
    if (axes.length === 0) return g.node('Identity', [op.inputs[0]]);
    return g.node('ReduceMean', [op.inputs[0]], { axes: attr.ints(axes), keepdims: attr.int(keepdim ? 1 : 0) });
  },
  max: (g, op) => {
    const { axes, keepdim } = op.attrs as { axes: number[]; keepdim: boolean };
    if (axes.length === 0) return g.node('Identity', [op.inputs[0]]);
    return g.node('ReduceMax', [op.inputs[0]], { axes: attr.ints(axes), keepdims: attr.int(keepdim ? 1 : 0) });
  },
  softmax: (g, op) => g.node('Softmax', [op.inputs[0]], { axis: attr.int(op.attrs as number) }),
  logSoftmax: (g, op) => g.node('LogSoftmax', [op.inputs[0]], { axis: attr.int(op.attrs as number) }),
  reshape: (g, op) => g.node('Reshape', [op.inputs[0], g.int64s(reshapeTarget(op))]),
  permute: (g, op) => g.node('Transpose', [op.inputs[0]], { perm: attr.ints(op.attrs as number[]) }),
  expand: (g, op) => {
    // ONNX Expand broadcasts both ways, so a 1 keeps the input's (batch-sized) dimension.
    const inShape = op.inShapes[0];
    const off = op.outShape.length - inShape.length;
    const target = op.outShape.map((d, i) => {
      if (d !== null) return d;
      if (i < off || inShape[i - off] !== null) throw exportError(`op 'expand' broadcasts a dimension of size ${inShape[i - off] ?? 1} to the batch size`);
      return 1;
    });
    return g.node('Expand', [op.inputs[0], g.int64s(target)]);
  },
  concat: (g, op) => g.node('Concat', op.inputs, { axis: attr.int(op.attrs as number) }),
  slice: (g, op) => {
    const [axis, start, length] = op.attrs as [number, number, number];
    if (op.inShapes[0][axis] === null) {
      if (start === 0 && op.outShape[axis] === null) return g.node('Identity', [op.inputs[0]]);
      throw exportError(`op '${op.name}' slices the batch axis (${start}, length ${length}); only whole batches can be exported`);
    }
    return g.node('Slice', [op.inputs[0], g.int64s([start]), g.int64s([start + length]), g.int64s([axis])]);
  },
  indexSelect: (g, op) => {
    const [axis, idx] = op.attrs as [number, Int32Array];
    return g.node('Gather', [op.inputs[0], g.int64s(idx)], { axis: attr.int(axis) });
  },
  embedding: (g, op) => g.node('Gather', [op.inputs[0], g.int64s((op.attrs as { ids: Int32Array }).ids)], { axis: attr.int(0) }),
  where: (g, op) => g.node('Where', [g.node('Cast', [op.inputs[0]], { to: attr.int(DataType.BOOL) }), op.inputs[1], op.inputs[2]]),
  cast: (g, op) => g.node('Cast', [op.inputs[0]], { to: attr.int(dataTypeOf(op.attrs as DType)) }),
  clone: (g, op) => g.node('Identity', [op.inputs[0]]),
  crossLayer: (g, op) => {
    const D = op.inShapes[0][1] as number;
    const w = g.node('Reshape', [op.inputs[2], g.int64s([D, 1])]);
    const b = g.node('Reshape', [op.inputs[3], g.int64s([D])]);
    return crossStep(g, op.inputs[0], op.inputs[1], w, b);
  },
  crossNetVector: (g, op) => {
    const [x0, kernels, bias] = op.inputs;
    const L = op.inShapes[1][0] as number;
    const D = op.inShapes[0][1] as number;
    // Kernels may be [L, D, 1] or [L, D]; one layout for the per-layer Gathers below.
    const K = g.node('Reshape', [kernels, g.int64s([L, D, 1])]);
    const Bs = g.node('Reshape', [bias, g.int64s([L, D])]);
    let xl = x0;
    for (let l = 0; l < L; l++) {
      const at = g.int64s([l], []);
      xl = crossStep(g, x0, xl, g.node('Gather', [K, at], { axis: attr.int(0) }), g.node('Gather', [Bs, at], { axis: attr.int(0) }));
    }
    return xl;
  },
  // Several Linears over one input as one GEMM (the hotpath branch's MMoE/PLE experts): weights
  // [O_i, F] stacked into [ΣO_i, F], biases (when given) after them.
  linearConcat: (g, op) => {
    const { widths, bias } = op.attrs as { widths: readonly number[]; bias: boolean };
    const n = widths.length;
    const w = n === 1 ? op.inputs[1] : g.node('Concat', op.inputs.slice(1, 1 + n), { axis: attr.int(0) });
    const ins = [op.inputs[0], w];
    if (bias) ins.push(n === 1 ? op.inputs[1 + n] : g.node('Concat', op.inputs.slice(1 + n), { axis: attr.int(0) }));
    return g.node('Gemm', ins, { transB: attr.int(1) });
  },
  batchNorm: () => {
    throw exportError("op 'batchNorm' normalises with batch statistics (training mode); exportOnnx traces the model in eval mode, so this op comes from code that ignores module.training");
  },
};
