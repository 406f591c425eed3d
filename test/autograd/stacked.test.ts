import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import * as ops from '../../src/autograd/ops/index.js';
import { Tensor, defineBatchRule, defineOp, gradcheck, physical, stackedView } from '../../src/autograd/index.js';
import { builtinBatchRuleNames } from '../../src/autograd/stacked/rules.js';
import { bceWithLogits, binaryCrossEntropy, mseLoss } from '../../src/nn/losses.js';
import { l2Penalty } from '../../src/nn/regularization.js';
import { Embedding, EmbeddingBag, stackModels, unstackModels } from '../../src/nn/index.js';
import { Generator, NDArray, getBackend, setBackend, type Backend } from '../../src/tensor/index.js';

/*
 * Every batching rule: a float64 gradcheck of the stacked op (physical inputs → physical output),
 * and, in float32 on both backends, each run's output and input gradients bit-identical to the
 * same op on that run's values alone.
 */

type Fn = (...xs: Tensor[]) => Tensor;
interface Case {
  name: string;
  shapes: number[][];
  /** Which inputs are stacked (the rest are shared by every run). */
  stacked: boolean[];
  fn: Fn;
  /** Inputs drawn from [0.5, 1.5) (logs, roots, denominators). */
  positive?: number[];
}

const S = true, U = false;
const cond = new Tensor(new Float64Array([1, 0, 1]), [3]);
const sig = (x: Tensor): Tensor => x.sigmoid();

const cases: Case[] = [
  { name: 'add, bias broadcast', shapes: [[4, 3], [3]], stacked: [S, S], fn: (a, b) => a.add(b) },
  { name: 'add, shared operand', shapes: [[4, 3], [3]], stacked: [S, U], fn: (a, b) => a.add(b) },
  { name: 'mul, scalar stacked (whole-array gradient sum)', shapes: [[4, 3], []], stacked: [S, S], fn: (a, b) => a.mul(b) },
  { name: 'sub, column broadcast', shapes: [[4, 3], [4, 1]], stacked: [S, S], fn: (a, b) => a.sub(b) },
  { name: 'mul, rank 3 against rank 2', shapes: [[2, 4, 3], [4, 3]], stacked: [S, S], fn: (a, b) => a.mul(b) },
  { name: 'div', shapes: [[4, 3], [3]], stacked: [S, S], fn: (a, b) => a.div(b), positive: [1] },
  { name: 'where', shapes: [[4, 3], [3]], stacked: [S, S], fn: (a, b) => ops.where(a.dtype === 'float64' ? cond : cond.to('float32'), a, b) },
  ...(['neg', 'exp', 'tanh', 'sigmoid', 'relu', 'abs', 'clone'] as const).map((k): Case => ({ name: k, shapes: [[4, 3]], stacked: [S], fn: (a) => a[k]() })),
  ...(['log', 'log1p', 'sqrt'] as const).map((k): Case => ({ name: k, shapes: [[4, 3]], stacked: [S], fn: (a) => a[k](), positive: [0] })),
  { name: 'leakyRelu', shapes: [[4, 3]], stacked: [S], fn: (a) => a.leakyRelu(0.1) },
  { name: 'clamp', shapes: [[4, 3]], stacked: [S], fn: (a) => a.clamp(-0.5, 0.5) },
  { name: 'pow', shapes: [[4, 3]], stacked: [S], fn: (a) => a.pow(3) },
  { name: 'sum, all axes', shapes: [[5, 3]], stacked: [S], fn: (a) => a.sum() },
  { name: 'sum, axis 0', shapes: [[5, 3]], stacked: [S], fn: (a) => a.sum(0) },
  { name: 'sum, two of three axes, keepdim', shapes: [[2, 5, 3]], stacked: [S], fn: (a) => a.sum([0, 2], true) },
  { name: 'mean, all axes', shapes: [[5, 3]], stacked: [S], fn: (a) => a.mean() },
  { name: 'mean, axis 1 keepdim', shapes: [[5, 3]], stacked: [S], fn: (a) => a.mean(1, true) },
  { name: 'max, axis 1', shapes: [[5, 3]], stacked: [S], fn: (a) => a.max(1) },
  { name: 'max, all axes', shapes: [[5, 3]], stacked: [S], fn: (a) => a.max() },
  { name: 'softmax, last axis', shapes: [[4, 3]], stacked: [S], fn: (a) => a.softmax(-1) },
  { name: 'softmax, axis 0', shapes: [[4, 3]], stacked: [S], fn: (a) => a.softmax(0) },
  { name: 'logSoftmax', shapes: [[4, 3]], stacked: [S], fn: (a) => a.logSoftmax(-1) },
  { name: 'reshape / unsqueeze / squeeze', shapes: [[4, 3]], stacked: [S], fn: (a) => a.reshape(2, 6).unsqueeze(1).squeeze(1) },
  { name: 'permute', shapes: [[2, 4, 3]], stacked: [S], fn: (a) => a.permute(2, 0, 1) },
  { name: 'expand', shapes: [[3]], stacked: [S], fn: (a) => a.expand(4, 3) },
  { name: 'concat, stacked with shared', shapes: [[4, 3], [4, 2]], stacked: [S, U], fn: (a, b) => ops.concat([a, b], 1) },
  { name: 'stack', shapes: [[4, 3], [4, 3]], stacked: [S, S], fn: (a, b) => ops.stack([a, b], 0) },
  { name: 'slice / narrow', shapes: [[5, 3]], stacked: [S], fn: (a) => a.slice(0, 1, 4).narrow(1, 1, 2) },
  { name: 'indexSelect, repeated rows', shapes: [[5, 3]], stacked: [S], fn: (a) => a.indexSelect(0, [4, 0, 4, 2]) },
  { name: 'matmul, both stacked', shapes: [[4, 3], [3, 5]], stacked: [S, S], fn: (a, b) => a.matmul(b) },
  { name: 'matmul, shared right operand', shapes: [[4, 3], [3, 5]], stacked: [S, U], fn: (a, b) => a.matmul(b) },
  { name: 'matmul, shared left operand', shapes: [[4, 3], [3, 5]], stacked: [U, S], fn: (a, b) => a.matmul(b) },
  { name: 'matmul, transB', shapes: [[4, 3], [5, 3]], stacked: [S, S], fn: (a, b) => a.matmul(b, { transB: true }) },
  { name: 'matmul, batched both stacked', shapes: [[2, 4, 3], [2, 3, 5]], stacked: [S, S], fn: (a, b) => a.matmul(b) },
  { name: 'matmul, batched with a stacked matrix', shapes: [[2, 4, 3], [3, 5]], stacked: [S, S], fn: (a, b) => a.matmul(b) },
  { name: 'matmul, transA batched', shapes: [[2, 3, 4], [2, 3, 5]], stacked: [S, S], fn: (a, b) => a.matmul(b, { transA: true }) },
  { name: 'linearConcat with biases', shapes: [[4, 3], [2, 3], [3, 3], [2], [3]], stacked: [S, S, S, S, S], fn: (x, w1, w2, b1, b2) => ops.linearConcat(x, [w1, w2], [b1, b2]) },
  { name: 'linearConcat, shared input', shapes: [[4, 3], [2, 3], [3, 3]], stacked: [U, S, S], fn: (x, w1, w2) => ops.linearConcat(x, [w1, w2]) },
  { name: 'crossLayer (loop)', shapes: [[4, 3], [4, 3], [3], [3]], stacked: [S, S, S, S], fn: (a, b, w, c) => ops.crossLayer(a, b, w, c) },
  { name: 'crossNetVector (loop)', shapes: [[4, 3], [2, 3, 1], [2, 3, 1]], stacked: [S, S, S], fn: (a, k, b) => ops.crossNetVector(a, k, b) },
  { name: 'bceWithLogits (loop), weighted', shapes: [[4, 2], [4, 2], [2]], stacked: [S, S, U], fn: (x, y, w) => bceWithLogits(x, sig(y), { weight: w, reduction: 'sum' }), positive: [2] },
  { name: 'binaryCrossEntropy (loop)', shapes: [[4, 2], [4, 2]], stacked: [S, S], fn: (x, y) => binaryCrossEntropy(sig(x), sig(y)) },
  { name: 'mseLoss, shared weight', shapes: [[4, 2], [4, 2], [2]], stacked: [S, S, U], fn: (x, y, w) => mseLoss(x, y, { weight: w, reduction: 'sum' }) },
  { name: 'l2Penalty (loop)', shapes: [[4, 3], [3]], stacked: [S, S], fn: (a, b) => l2Penalty([a, b], 0.1) },
];

const R = 3;

function values(shape: number[], g: Generator, positive: boolean, dtype: 'float32' | 'float64'): Float64Array | Float32Array {
  const n = shape.reduce((a, b) => a * b, 1);
  const out = dtype === 'float64' ? new Float64Array(n) : new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = positive ? 0.5 + g.random() : g.random() * 2 - 1;
  return out;
}

/** Physical inputs: [R, ...shape] for stacked ones, [...shape] for shared ones. */
function physicalInputs(c: Case, dtype: 'float32' | 'float64', seed: number): Tensor[] {
  const g = new Generator(seed);
  return c.shapes.map((s, i) => new Tensor(values(c.stacked[i] ? [R, ...s] : s, g, c.positive?.includes(i) ?? false, dtype), c.stacked[i] ? [R, ...s] : s, true));
}

const logicalOf = (c: Case, phys: Tensor[]): Tensor[] => phys.map((p, i) => (c.stacked[i] ? stackedView(p) : p));
const sameBits = (a: ArrayLike<number>, b: ArrayLike<number>): boolean => a.length === b.length && Array.from(a).every((v, i) => Object.is(v, b[i]));

describe('batching rules: float64 gradcheck of every rule', () => {
  cases.forEach((c, k) => {
    it(c.name, () => {
      const r = gradcheck((...ps) => physical(c.fn(...logicalOf(c, ps))), physicalInputs(c, 'float64', 10 + k), { eps: 1e-6, atol: 1e-5, rtol: 1e-3 });
      expect(r.ok, r.message).toBe(true);
      expect(r.checked).toBeGreaterThan(0);
    });
  });
});

const initial = getBackend();
afterAll(() => setBackend(initial));

describe.each(['wasm', 'js'] as Backend[])('batching rules on the %s backend: each run bit-identical to the op alone', (backend) => {
  cases.forEach((c, k) => {
    it(c.name, () => {
      setBackend(backend);
      const phys = physicalInputs(c, 'float32', 50 + k);
      const out = physical(c.fn(...logicalOf(c, phys)));
      const gUp = new Tensor(values(out.shape.slice(), new Generator(7), false, 'float32'), out.shape);
      out.backward(gUp);
      const per = out.size / R;
      for (let r = 0; r < R; r++) {
        const alone = phys.map((p, i) => {
          if (!c.stacked[i]) return new Tensor(p.data, p.shape, true);
          const n = p.size / R;
          return new Tensor(p.data.slice(r * n, (r + 1) * n), p.shape.slice(1), true);
        });
        const y = c.fn(...alone);
        expect(sameBits(y.data, out.data.subarray(r * per, (r + 1) * per)), `run ${r} output`).toBe(true);
        y.backward(new Tensor(gUp.data.slice(r * per, (r + 1) * per), y.shape));
        alone.forEach((a, i) => {
          if (!c.stacked[i]) return;
          const n = a.size;
          expect(sameBits(a.grad!.data, phys[i].grad!.data.subarray(r * n, (r + 1) * n)), `run ${r} gradient of input ${i}`).toBe(true);
        });
      }
    });
  });
});

describe('batching rules: coverage and errors', () => {
  it('every op defined with defineOp in src has a rule in the typed table', () => {
    const names = new Set<string>();
    const walk = (dir: string): void => {
      for (const f of readdirSync(dir)) {
        const p = join(dir, f);
        if (statSync(p).isDirectory()) walk(p);
        else if (p.endsWith('.ts')) {
          const src = readFileSync(p, 'utf8');
          for (const m of src.matchAll(/defineOp(?:<[^>]*>)?\(\{\s*name: '([A-Za-z0-9]+)'/g)) names.add(m[1]);
        }
      }
    };
    walk(join(__dirname, '../../src'));
    expect(names.size).toBeGreaterThan(30);
    const have = new Set(builtinBatchRuleNames());
    expect([...names].filter((n) => !have.has(n))).toEqual([]);
  });

  it('a user op without a rule is a clear error; with the loop rule it batches exactly', () => {
    const spec = { name: 'stackedTestCube', forward: (_c: unknown, [x]: readonly NDArray[]) => new NDArray(x.data.map((v) => v * v * v), x.shape), backward: (_c: unknown, g: NDArray, [x]: readonly NDArray[]) => [new NDArray(g.data.map((v, i) => 3 * v * x.data[i] * x.data[i]), x.shape)] };
    const cube = defineOp(spec);
    const p = new Tensor(new Float64Array([1, 2, 3, 4]), [2, 2], true);
    expect(() => cube([stackedView(p)], undefined)).toThrow(/^stackedTestCube: no batching rule for stacked \(multi-run\) inputs; give it one with defineBatchRule\('stackedTestCube', 'loop'\)/);
    defineBatchRule('stackedTestCube', 'loop');
    const y = physical(cube([stackedView(p)], undefined));
    expect(Array.from(y.data)).toEqual([1, 8, 27, 64]);
    expect(() => defineBatchRule('add', 'loop')).toThrow(/^defineBatchRule: 'add' is a built-in op/);
  });

  it('reading the values of a stacked tensor outside an op throws, naming the runs', () => {
    const t = stackedView(new Tensor(new Float32Array(6), [2, 3]));
    expect(t.shape).toEqual([3]);
    expect(t.size).toBe(3);
    expect(t.dtype).toBe('float32');
    expect(() => t.data).toThrow(/^stacked tensor \[3\] \(×2 runs\): its values differ per run/);
    expect(() => ops.add(t, stackedView(new Tensor(new Float32Array(9), [3, 3])))).toThrow(/^add: stacked inputs of 2 and 3 runs/);
  });

  it('float64 gradchecks of the stacked embedding and embedding-bag lookups', () => {
    const ids = new Int32Array([4, 0, 4, 2]);
    const emb = stackModels([1, 2].map((g) => new Embedding(5, 3, { generator: new Generator(g) }).to('float64')));
    const r1 = gradcheck(() => physical(emb.module.forward(ids)), emb.parameters(), { eps: 1e-6, atol: 1e-5, rtol: 1e-3 });
    expect(r1.ok, r1.message).toBe(true);
    for (const mode of ['sum', 'mean', 'max'] as const) {
      const bag = stackModels([1, 2].map((g) => new EmbeddingBag(5, 3, { mode, generator: new Generator(g) }).to('float64')));
      const r2 = gradcheck(() => physical(bag.module.forward(ids, new Int32Array([0, 1, 3]))), bag.parameters(), { eps: 1e-6, atol: 1e-5, rtol: 1e-3 });
      expect(r2.ok, `${mode}: ${r2.message}`).toBe(true);
    }
  });

  it('cast batches per run (float32 to float64 and back)', () => {
    const p = new Tensor(new Float32Array([1.5, -2, 3.25, 0.1]), [2, 2], true);
    const y = physical(stackedView(p).to('float64').mul(2).to('float32'));
    expect(y.dtype).toBe('float32');
    expect(Array.from(y.data)).toEqual([3, -4, 6.5, Math.fround(0.1) * 2]);
    y.backward(new Tensor(new Float32Array([1, 1, 1, 1]), [2, 2]));
    expect(Array.from(p.grad!.data)).toEqual([2, 2, 2, 2]);
  });

  it('embedding lookups batch per run (shared ids, stacked tables)', () => {
    const mk = (seed: number): Embedding => new Embedding(5, 3, { generator: new Generator(seed) });
    const alone = [mk(1), mk(2)];
    const ids = new Int32Array([4, 0, 4]);
    const stacked = stackModels([mk(1), mk(2)]);
    const out = physical(stacked.module.forward(ids));
    out.backward(new Tensor(new Float32Array(out.size).fill(1), out.shape));
    const grads = stacked.parameters()[0].grad!.data;
    alone.forEach((e, r) => {
      const y = e.forward(ids);
      expect(sameBits(y.data, out.data.subarray(r * 9, (r + 1) * 9))).toBe(true);
      y.sum().backward();
      expect(sameBits(e.weight.grad!.data, grads.subarray(r * 15, (r + 1) * 15))).toBe(true);
    });
    const [a, b] = unstackModels(stacked);
    expect(sameBits(a.weight.data, alone[0].weight.data) && sameBits(b.weight.data, alone[1].weight.data)).toBe(true);
  });
});
