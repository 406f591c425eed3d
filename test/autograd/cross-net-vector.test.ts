import { describe, expect, it } from 'vitest';
import {
  Generator, crossLayer, crossNetVector, gradcheck, noGrad, randn, type DType, type Tensor,
} from '../../src/index.js';

/*
 * crossNetVector runs all L cross layers in one op with a hand-written backward. It is checked
 * against finite differences (float64) and against L applications of the single-layer crossLayer
 * (float32), with every subset of inputs requiring grad, so each skip path of the backward runs.
 */

const TOL = { eps: 1e-6, atol: 1e-5, rtol: 1e-3 };

/** max|a − b| / max|b|, so entries near zero do not inflate it. */
function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let num = 0, den = 0;
  for (let i = 0; i < a.length; i++) {
    num = Math.max(num, Math.abs(a[i] - b[i]));
    den = Math.max(den, Math.abs(b[i]));
  }
  return num / den;
}

interface Setup { x0: Tensor; w: Tensor; b: Tensor }

/** kernels scaled by 1/√D keep x_l·w_l of unit size, so L layers stay well conditioned. */
function setup(B: number, D: number, L: number, opts: { dtype: DType; flat: boolean; seed: number; need?: [boolean, boolean, boolean] }): Setup {
  const g = new Generator(opts.seed);
  const [n0, nw, nb] = opts.need ?? [true, true, true];
  const pshape = opts.flat ? [L, D] : [L, D, 1];
  const x0 = randn([B, D], { dtype: opts.dtype, generator: g });
  const w = randn(pshape, { dtype: opts.dtype, generator: g }).mul(1 / Math.sqrt(D));
  const b = randn(pshape, { dtype: opts.dtype, generator: g });
  return { x0: x0.requiresGrad_(n0), w: w.detach().requiresGrad_(nw), b: b.requiresGrad_(nb) };
}

/** The same network from L crossLayer calls on slices of the stacked parameters. */
function layered(x0: Tensor, w: Tensor, b: Tensor): Tensor {
  const [L, D] = w.shape;
  let x = x0;
  for (let l = 0; l < L; l++) x = crossLayer(x0, x, w.narrow(0, l, 1).reshape([D]), b.narrow(0, l, 1).reshape([D]));
  return x;
}

const subsets: Array<[boolean, boolean, boolean]> = [
  [true, true, true], [true, false, false], [false, true, false], [false, false, true], [false, true, true], [true, false, true],
];

describe('crossNetVector: float64 gradcheck', () => {
  const shapes = [
    { B: 3, D: 5, L: 3, flat: false },
    { B: 4, D: 6, L: 1, flat: true },
    { B: 1, D: 9, L: 3, flat: true },
    { B: 1, D: 3, L: 1, flat: false },
    { B: 2, D: 4, L: 4, flat: false },
  ];
  for (const { B, D, L, flat } of shapes) {
    it(`B=${B}, D=${D}, L=${L}, kernels/bias ${flat ? '[L,D]' : '[L,D,1]'}, all inputs`, () => {
      const { x0, w, b } = setup(B, D, L, { dtype: 'float64', flat, seed: 10 + B * D * L });
      const r = gradcheck((a, k, c) => crossNetVector(a, k, c), [x0, w, b], TOL);
      expect(r.ok, r.message).toBe(true);
      // Every entry of the Jacobian of every input, not a random projection.
      expect(r.mode).toBe('full');
      expect(r.checked).toBe(x0.size * (x0.size + w.size + b.size));
    });
  }

  it('each subset of inputs requiring grad (L=3, the backward skips what is not needed)', () => {
    subsets.forEach((need, i) => {
      const { x0, w, b } = setup(2, 7, 3, { dtype: 'float64', flat: false, seed: 40 + i, need });
      const r = gradcheck((a, k, c) => crossNetVector(a, k, c), [x0, w, b], TOL);
      expect(r.ok, `${need.join(',')}: ${r.message}`).toBe(true);
    });
  });

  it('D = 1 and D = 2 (nothing for the unrolled loops but their tails), L = 2, each subset of inputs', () => {
    for (const D of [1, 2]) {
      subsets.forEach((need, i) => {
        const { x0, w, b } = setup(2, D, 2, { dtype: 'float64', flat: false, seed: 100 + 10 * D + i, need });
        const r = gradcheck((a, k, c) => crossNetVector(a, k, c), [x0, w, b], TOL);
        expect(r.ok, `D=${D} ${need.join(',')}: ${r.message}`).toBe(true);
      });
    }
  });

  it('an empty batch (B = 0): [0, D] out, zero gradients for kernels and bias', () => {
    const { x0, w, b } = setup(0, 3, 2, { dtype: 'float64', flat: false, seed: 110 });
    const y = crossNetVector(x0, w, b);
    expect(y.shape).toEqual([0, 3]);
    y.sum().backward();
    expect(x0.grad!.shape).toEqual([0, 3]);
    expect(Array.from(w.grad!.data)).toEqual(new Array(6).fill(0));
    expect(Array.from(b.grad!.data)).toEqual(new Array(6).fill(0));
  });

  it('x0 also used outside the op: gradients accumulate', () => {
    const { x0, w, b } = setup(3, 4, 2, { dtype: 'float64', flat: true, seed: 50 });
    const r = gradcheck((a, k, c) => crossNetVector(a, k, c).mul(a.tanh()), [x0, w, b], TOL);
    expect(r.ok, r.message).toBe(true);
  });
});

describe('crossNetVector agrees with L crossLayer calls (float32, 1e-5 relative)', () => {
  // D = 37 and D = 3 leave a remainder after the four-way unrolled loops.
  const shapes = [
    { B: 16, D: 37, L: 3, flat: false },
    { B: 5, D: 64, L: 1, flat: true },
    { B: 1, D: 3, L: 3, flat: true },
    { B: 8, D: 128, L: 5, flat: false },
  ];
  for (const { B, D, L, flat } of shapes) {
    it(`B=${B}, D=${D}, L=${L}: forward and the gradients of x0, kernels and bias`, () => {
      const a = setup(B, D, L, { dtype: 'float32', flat, seed: 60 + D });
      const r = setup(B, D, L, { dtype: 'float32', flat, seed: 60 + D });
      const up = randn([B, D], { generator: new Generator(70 + D) });
      const y = crossNetVector(a.x0, a.w, a.b);
      const yRef = layered(r.x0, r.w, r.b);
      expect(y.shape).toEqual([B, D]);
      expect(y.dtype).toBe('float32');
      expect(relErr(y.data, yRef.data)).toBeLessThan(1e-5);
      y.backward(up);
      yRef.backward(up);
      expect(relErr(a.x0.grad!.data, r.x0.grad!.data)).toBeLessThan(1e-5);
      expect(relErr(a.w.grad!.data, r.w.grad!.data)).toBeLessThan(1e-5);
      expect(relErr(a.b.grad!.data, r.b.grad!.data)).toBeLessThan(1e-5);
      expect(a.w.grad!.shape).toEqual(a.w.shape);
      expect(a.b.grad!.shape).toEqual(a.b.shape);
    });
  }

  it('with only some inputs requiring grad, the others get none and the rest still agree', () => {
    subsets.slice(1).forEach((need, i) => {
      const a = setup(6, 21, 3, { dtype: 'float32', flat: false, seed: 80 + i, need });
      const r = setup(6, 21, 3, { dtype: 'float32', flat: false, seed: 80 + i, need });
      const up = randn([6, 21], { generator: new Generator(90 + i) });
      crossNetVector(a.x0, a.w, a.b).backward(up);
      layered(r.x0, r.w, r.b).backward(up);
      ([['x0', a.x0, r.x0], ['w', a.w, r.w], ['b', a.b, r.b]] as const).forEach(([name, t, ref], k) => {
        if (!need[k]) expect(t.grad, name).toBeNull();
        else expect(relErr(t.grad!.data, ref.grad!.data), `${need.join(',')} ${name}`).toBeLessThan(1e-5);
      });
    });
  });

  it('under noGrad: the same values and no graph', () => {
    const a = setup(4, 10, 3, { dtype: 'float32', flat: false, seed: 99 });
    const y = noGrad(() => crossNetVector(a.x0, a.w, a.b));
    expect(y.requiresGrad).toBe(false);
    expect(y.gradFn).toBeNull();
    expect(Array.from(y.data)).toEqual(Array.from(crossNetVector(a.x0, a.w, a.b).data));
    expect(relErr(y.data, layered(a.x0, a.w, a.b).data)).toBeLessThan(1e-5);
  });
});

describe('crossNetVector: shape errors name the op and the shapes', () => {
  const x = randn([2, 3]);
  it('x0 must be 2-D', () => {
    expect(() => crossNetVector(randn([2, 3, 1]), randn([1, 3, 1]), randn([1, 3, 1]))).toThrow(/^crossNetVector: x0 must be \[B, D\], got \[2,3,1\]$/);
    expect(() => crossNetVector(randn([3]), randn([1, 3]), randn([1, 3]))).toThrow(/^crossNetVector: x0 must be \[B, D\], got \[3\]$/);
  });
  it('kernels and bias must be [L, D, 1] or [L, D] with the same L', () => {
    const msg = (k: string, b: string): RegExp =>
      new RegExp(`^crossNetVector: kernels and bias must be \\[L, 3, 1\\] or \\[L, 3\\] with the same L ≥ 1 for x0 \\[2,3\\], got kernels ${k} and bias ${b}$`);
    expect(() => crossNetVector(x, randn([2, 4, 1]), randn([2, 3, 1]))).toThrow(msg('\\[2,4,1\\]', '\\[2,3,1\\]'));
    expect(() => crossNetVector(x, randn([2, 3, 1]), randn([3, 3, 1]))).toThrow(msg('\\[2,3,1\\]', '\\[3,3,1\\]'));
    expect(() => crossNetVector(x, randn([2, 3, 3]), randn([2, 3, 1]))).toThrow(msg('\\[2,3,3\\]', '\\[2,3,1\\]'));
    expect(() => crossNetVector(x, randn([3]), randn([3]))).toThrow(msg('\\[3\\]', '\\[3\\]'));
    expect(() => crossNetVector(x, randn([0, 3]), randn([0, 3]))).toThrow(msg('\\[0,3\\]', '\\[0,3\\]'));
  });
  it('dtypes must match', () => {
    expect(() => crossNetVector(x, randn([1, 3], { dtype: 'float64' }), randn([1, 3]))).toThrow(/^crossNetVector: dtype mismatch float32 vs float64/);
  });
});
