import { describe, expect, it } from 'vitest';
import { Tensor, bumpVersion, concat, linearConcat, matmul, noGrad, randn, stack } from '../../src/autograd/index.js';
import { Generator } from '../../src/tensor/index.js';
import { DNN, Linear, PReLU, ReLU, Sigmoid, concatLinears, forwardStacked, type DNNOptions } from '../../src/nn/index.js';
import { expectGradcheck, relErr } from './helpers.js';

/*
 * The wide first layer of several DNNs (experts) against the per-DNN path it replaces: the same
 * values and the same gradients for the input and every parameter, for every kind of tail
 * (pointwise activation, BatchNorm, dropout, learned activations, deeper DNNs), plus float64
 * gradchecks of the op itself.
 */

/** Runs f, backpropagates Σ out ⊙ r (r fixed), and returns out and the gradients of `wrt`. */
function valueAndGrads(f: () => Tensor, wrt: readonly Tensor[], seed = 4): { out: number[]; grads: number[][] } {
  for (const t of wrt) t.grad = null;
  const out = f();
  const r = randn(out.shape, { generator: new Generator(seed), dtype: out.dtype });
  out.mul(r).sum().backward();
  return { out: Array.from(out.data), grads: wrt.map((t) => (t.grad ? Array.from(t.grad.data) : [])) };
}

function dnns(n: number, F: number, units: number[], opts: DNNOptions = {}, seed = 1): DNN[] {
  const generator = new Generator(seed);
  return Array.from({ length: n }, () => new DNN(F, units, { initStd: 0.5, generator: generator.fork(), ...opts }));
}

/** The first index where a and b differ (Object.is), or -1: one assertion per array keeps big comparisons fast. */
function firstDiff(a: number[], b: number[]): number {
  if (a.length !== b.length) return Math.min(a.length, b.length);
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return i;
  return -1;
}

/**
 * Values and parameter gradients must match the per-DNN path bit for bit (every output element is
 * the same dot product). The input's gradient is summed over all layers in one product instead of
 * n float32 partial sums added up, so it agrees to rounding: norm-wise within 1e-6 (float32).
 */
function expectSame(fused: ReturnType<typeof valueAndGrads>, ref: ReturnType<typeof valueAndGrads>, label: string, exact: boolean): void {
  const close = (a: number[], b: number[]): number => (b.some((v) => v !== 0) ? relErr(a, b) : Math.max(0, ...a.map(Math.abs)));
  if (exact) expect(firstDiff(fused.out, ref.out), `${label}: first differing output`).toBe(-1);
  else expect(close(fused.out, ref.out), label).toBeLessThan(1e-6);
  fused.grads.forEach((g, i) => {
    if (exact && i > 0) expect(firstDiff(g, ref.grads[i]), `${label}: grad ${i}, first differing entry`).toBe(-1);
    else expect(close(g, ref.grads[i]), `${label}: grad ${i}`).toBeLessThan(1e-6);
  });
}

function expectSameAsPerDnn(ds: DNN[], x: Tensor, label: string, exact = true): void {
  const params = [x, ...ds.flatMap((d) => d.parameters())];
  const fused = valueAndGrads(() => forwardStacked(ds, x), params);
  const ref = valueAndGrads(() => stack(ds.map((d) => d.forward(x)), 1), params);
  expectSame(fused, ref, label, exact);
}

describe('linearConcat', () => {
  it('equals concat(x·W_iᵀ + b_i) bit for bit, with and without biases, for 0, 1 and prime sizes', () => {
    const g = new Generator(2);
    for (const [B, F, widths] of [[5, 7, [3, 1, 4]], [1, 1, [1]], [0, 3, [2, 2]], [128, 100, [16, 16, 16]], [3, 13, [5]]] as Array<[number, number, number[]]>) {
      const x = randn([B, F], { generator: g }).requiresGrad_();
      const ws = widths.map((o) => randn([o, F], { generator: g }).requiresGrad_());
      const bs = widths.map((o) => randn([o], { generator: g }).requiresGrad_());
      for (const withBias of [true, false]) {
        const wrt = [x, ...ws, ...(withBias ? bs : [])];
        const fused = valueAndGrads(() => linearConcat(x, ws, withBias ? bs : null), wrt);
        const ref = valueAndGrads(() => concat(ws.map((w, i) => {
          const y = matmul(x, w, { transB: true });
          return withBias ? y.add(bs[i]) : y;
        }), 1), wrt);
        expectSame(fused, ref, `B=${B} F=${F} [${widths}] bias ${withBias}`, true);
      }
    }
  });

  it('under noGrad (weights cached transposed, read in place) gives the recorded forward\'s bits, and follows updates', () => {
    const g = new Generator(6);
    for (const [B, F, widths] of [[1, 100, [16, 16, 16, 16, 16, 16, 16, 16]], [1, 100, [8, 8]], [7, 13, [3, 5]], [300, 100, [64, 64]], [2, 300, [3, 129, 200]]] as Array<[number, number, number[]]>) {
      const x = randn([B, F], { generator: g });
      const ws = widths.map((o) => randn([o, F], { generator: g }).requiresGrad_());
      const bs = widths.map((o) => randn([o], { generator: g }).requiresGrad_());
      for (let step = 0; step < 2; step++) {
        const recorded = Array.from(linearConcat(x, ws, bs).data);
        expect(Array.from(noGrad(() => linearConcat(x, ws, bs)).data), `B=${B} F=${F} [${widths}] step ${step}`).toEqual(recorded);
        expect(Array.from(noGrad(() => linearConcat(x, ws, bs)).data)).toEqual(recorded); // from the cache
        // An in-place update (as an optimizer step) must reach the cached copy.
        noGrad(() => ws[0].data.fill(0.5));
        bumpVersion(ws[0]);
      }
    }
  });

  it('a constant x (weights packed into reused scratch): interleaved calls of two sizes stay right', () => {
    const g = new Generator(4);
    const xa = randn([6, 5], { generator: g }), xb = randn([3, 9], { generator: g });
    const wa = [2, 3].map((o) => randn([o, 5], { generator: g }).requiresGrad_());
    const wb = [4, 4, 1].map((o) => randn([o, 9], { generator: g }).requiresGrad_());
    const refA = concat(wa.map((w) => matmul(xa, w, { transB: true })), 1);
    const refB = concat(wb.map((w) => matmul(xb, w, { transB: true })), 1);
    const ya = linearConcat(xa, wa), yb = linearConcat(xb, wb), ya2 = linearConcat(xa, wa);
    expect(Array.from(ya.data)).toEqual(Array.from(refA.data));
    expect(Array.from(yb.data)).toEqual(Array.from(refB.data));
    expect(Array.from(ya2.data)).toEqual(Array.from(refA.data));
    ya.sum().add(yb.sum()).backward();
    const wantA = wa.map((w) => Array.from(w.grad!.data));
    for (const w of [...wa, ...wb]) w.grad = null;
    refA.sum().add(refB.sum()).backward();
    wa.forEach((w, i) => expect(wantA[i]).toEqual(Array.from(w.grad!.data)));
  });

  it('float64 gradcheck w.r.t. x, every weight and every bias (and with some inputs constant)', () => {
    const g = new Generator(3);
    const x = randn([4, 5], { generator: g, dtype: 'float64' }).requiresGrad_();
    const ws = [3, 1, 2].map((o) => randn([o, 5], { generator: g, dtype: 'float64' }).requiresGrad_());
    const bs = [3, 1, 2].map((o) => randn([o], { generator: g, dtype: 'float64' }).requiresGrad_());
    expectGradcheck((xx, w0, w1, w2, b0, b1, b2) => linearConcat(xx, [w0, w1, w2], [b0, b1, b2]), [x, ...ws, ...bs]);
    expectGradcheck((xx, w0, w1, w2) => linearConcat(xx, [w0, w1, w2]), [x, ...ws]);
    const xc = x.detach();
    expectGradcheck((w0, b1) => linearConcat(xc, [w0, ws[1].detach()], [bs[0].detach(), b1]), [ws[0], bs[1]]);
  });

  it('rejects bad shapes naming the op and the offending operand', () => {
    const x = randn([2, 3]);
    expect(() => linearConcat(randn([2, 3, 1]), [randn([2, 3])])).toThrow(/linearConcat: x must be \[B, F\]/);
    expect(() => linearConcat(x, [])).toThrow(/at least one weight/);
    expect(() => linearConcat(x, [randn([2, 3]), randn([2, 4])])).toThrow(/weights\[1\] must be \[out, 3\]/);
    expect(() => linearConcat(x, [randn([2, 3])], [randn([3])])).toThrow(/biases\[0\] must be \[2\]/);
    expect(() => linearConcat(x, [randn([2, 3])], [])).toThrow(/1 weights need 1 biases, got 0/);
    expect(() => linearConcat(x, [randn([2, 3], { dtype: 'float64' })])).toThrow(/dtype mismatch/);
  });

  it('concatLinears: Linear layers with and without bias, and a mix (per-layer fallback)', () => {
    const g = new Generator(9);
    const x = randn([3, 4], { generator: g });
    const a = new Linear(4, 2, { generator: g }), b = new Linear(4, 3, { generator: g });
    const nb = new Linear(4, 2, { bias: false, generator: g });
    const ref = (ls: Linear[]): number[] => Array.from(concat(ls.map((l) => l.forward(x)), 1).data);
    expect(Array.from(concatLinears(x, [a, b]).data)).toEqual(ref([a, b]));
    expect(Array.from(concatLinears(x, [nb, nb]).data)).toEqual(ref([nb, nb]));
    expect(Array.from(concatLinears(x, [a, nb]).data)).toEqual(ref([a, nb]));
  });
});

describe('forwardStacked', () => {
  const x = (B: number, F: number, seed = 5): Tensor => randn([B, F], { generator: new Generator(seed) }).requiresGrad_();

  it('one-layer ReLU experts (the MMoE paper shape): one product, no stack, same values and gradients', () => {
    expectSameAsPerDnn(dnns(8, 100, [16]), x(128, 100), 'paper');
    expectSameAsPerDnn(dnns(3, 5, [4]), x(1, 5), 'B = 1');
    expectSameAsPerDnn(dnns(2, 5, [1]), x(0, 5), 'B = 0');
  });

  it('deeper experts and other pointwise activations (sigmoid, tanh, leaky ReLU, linear)', () => {
    for (const activation of ['relu', 'sigmoid', 'tanh', 'leakyRelu', 'linear']) {
      expectSameAsPerDnn(dnns(3, 6, [5, 4, 2], { activation }), x(7, 6), activation);
    }
  });

  it('BatchNorm in training and eval mode: each expert normalises its own slice with its own statistics', () => {
    const ds = dnns(3, 6, [4, 3], { useBn: true });
    expectSameAsPerDnn(ds, x(9, 6), 'bn train', false);
    for (const d of ds) d.eval();
    expectSameAsPerDnn(ds, x(9, 6), 'bn eval');
  });

  it('dropout in training mode draws the same masks from each expert\'s generator as the per-expert path', () => {
    const a = dnns(3, 6, [5, 3], { dropoutRate: 0.3 }, 8), b = dnns(3, 6, [5, 3], { dropoutRate: 0.3 }, 8);
    const xi = x(10, 6);
    const fused = forwardStacked(a, xi);
    const ref = stack(b.map((d) => d.forward(xi)), 1);
    expect(Array.from(fused.data)).toEqual(Array.from(ref.data));
  });

  it('learned or shared activation modules (PReLU, one ReLU subclass) take the per-expert tail', () => {
    class ScaledReLU extends ReLU {
      override forward(t: Tensor): Tensor { return super.forward(t).mul(2); }
    }
    expectSameAsPerDnn(dnns(3, 6, [4], { activation: () => new PReLU() }), x(5, 6), 'prelu');
    expectSameAsPerDnn(dnns(3, 6, [4], { activation: () => new ScaledReLU() }), x(5, 6), 'subclass');
    const mixed = [...dnns(1, 6, [4], { activation: 'relu' }), ...dnns(1, 6, [4], { activation: () => new Sigmoid() }, 2)];
    expectSameAsPerDnn(mixed, x(5, 6), 'relu + sigmoid');
  });

  it('different widths, a single DNN, and 3-D input fall back to the per-DNN path', () => {
    expectSameAsPerDnn([...dnns(1, 6, [4]), ...dnns(1, 6, [4, 4], {}, 3)], x(5, 6), 'widths');
    expectSameAsPerDnn(dnns(1, 6, [4]), x(5, 6), 'one');
    const x3 = randn([2, 3, 6], { generator: new Generator(1) });
    const ds = dnns(2, 6, [4]);
    expect(Array.from(forwardStacked(ds, x3).data)).toEqual(Array.from(stack(ds.map((d) => d.forward(x3)), 1).data));
  });

  it('float64 gradcheck through the fused path (pointwise tail, deeper tail, BatchNorm tail)', () => {
    for (const opts of [{ activation: 'tanh' }, { activation: 'tanh', useBn: true }] as DNNOptions[]) {
      for (const units of [[3], [3, 2]]) {
        const ds = dnns(3, 4, units, opts);
        for (const d of ds) d.to('float64');
        const xi = randn([5, 4], { generator: new Generator(6), dtype: 'float64' }).requiresGrad_();
        const params = ds.flatMap((d) => d.parameters());
        expectGradcheck((xx) => forwardStacked(ds, xx), [xi, ...params], `${JSON.stringify(opts)} ${units}`);
      }
    }
  });

  it('a wrong input width is an error naming DNN and the shape', () => {
    expect(() => forwardStacked(dnns(2, 6, [4]), randn([3, 5]))).toThrow(/DNN: expected input \[B, 6\], got \[3,5\]/);
    expect(() => forwardStacked([], randn([3, 5]))).toThrow(/forwardStacked: needs at least one DNN/);
  });
});
