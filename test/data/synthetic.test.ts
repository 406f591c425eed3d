import { describe, expect, it } from 'vitest';
import { drawSineParameters, pearson, syntheticMultiTask } from '../../src/data/synthetic.js';

function dot(a: ArrayLike<number>, b: ArrayLike<number>, off = 0): number {
  let s = 0;
  for (let i = 0; i < b.length; i++) s += a[off + i] * b[i];
  return s;
}

describe('syntheticMultiTask', () => {
  it('has the documented shapes and dtype', () => {
    const d = syntheticMultiTask({ n: 64, correlation: 0.5, seed: 1 });
    expect(d.x.shape).toEqual([64, 100]);
    expect(d.y.shape).toEqual([64, 2]);
    expect(d.x.dtype).toBe('float32');
    expect(d.alpha.length).toBe(10);
    const e = syntheticMultiTask({ n: 3, dim: 8, correlation: 0.5, m: 4, dtype: 'float64' });
    expect(e.x.shape).toEqual([3, 8]);
    expect(e.x.dtype).toBe('float64');
    expect(e.beta.length).toBe(4);
  });

  it('is deterministic per seed; weights do not depend on n or ρ', () => {
    const a = syntheticMultiTask({ n: 200, correlation: 0.9, seed: 42 });
    const b = syntheticMultiTask({ n: 200, correlation: 0.9, seed: 42 });
    const c = syntheticMultiTask({ n: 200, correlation: 0.9, seed: 43 });
    expect(b.x.data).toEqual(a.x.data);
    expect(b.y.data).toEqual(a.y.data);
    expect(c.y.data).not.toEqual(a.y.data);
    const small = syntheticMultiTask({ n: 10, correlation: 0.5, seed: 42 });
    expect(small.u1).toEqual(a.u1);
    expect(small.alpha).toEqual(a.alpha);
    expect(small.x.data).toEqual(a.x.data.subarray(0, 10 * 100));
  });

  it('builds orthonormal u1, u2 and weights with cosine ρ and norm c', () => {
    const d = syntheticMultiTask({ n: 1, correlation: 0.7, c: 2, seed: 5 });
    expect(dot(d.u1, d.u2)).toBeCloseTo(0, 12);
    expect(dot(d.u1, d.u1)).toBeCloseTo(1, 12);
    expect(dot(d.u2, d.u2)).toBeCloseTo(1, 12);
    expect(Math.sqrt(dot(d.w1, d.w1))).toBeCloseTo(2, 12);
    expect(Math.sqrt(dot(d.w2, d.w2))).toBeCloseTo(2, 12);
    expect(dot(d.w1, d.w2) / 4).toBeCloseTo(0.7, 12);
  });

  it('produces labels from the paper formula plus noise of std 0.1', () => {
    const n = 4000;
    const d = syntheticMultiTask({ n, correlation: 0.5, seed: 2, dtype: 'float64' });
    const f = (z: number): number => z + Array.from(d.alpha).reduce((s, a, i) => s + Math.sin(a * z + d.beta[i]), 0);
    let ss = 0;
    for (let r = 0; r < n; r++) {
      const e1 = d.y.data[2 * r] - f(dot(d.x.data, d.w1, r * 100));
      const e2 = d.y.data[2 * r + 1] - f(dot(d.x.data, d.w2, r * 100));
      ss += e1 * e1 + e2 * e2;
    }
    expect(Math.sqrt(ss / (2 * n))).toBeCloseTo(0.1, 2);
    const quiet = syntheticMultiTask({ n: 5, correlation: 0.5, seed: 2, noiseStd: 0, dtype: 'float64' });
    expect(quiet.y.data[0]).toBeCloseTo(f(dot(quiet.x.data, quiet.w1, 0)), 10);
  });

  it('without sines (m = 0) the label correlation is ρ shrunk only by the noise: ρ / (1 + 0.01)', () => {
    for (const rho of [0.5, 0.9, 1]) {
      const d = syntheticMultiTask({ n: 20000, correlation: rho, m: 0, seed: 11 });
      expect(Math.abs(d.labelCorrelation - rho / 1.01)).toBeLessThan(0.02);
    }
  });

  it('with the default sines the label correlation falls below ρ but keeps its order', () => {
    // Measured (n = 5000, seeds 0..7): ρ = 0.5 → 0.35 mean (0.14..0.48); 0.9 → 0.81 (0.66..0.89); 1 → 0.995 (0.990..0.998).
    const corr = [0.5, 0.9, 1].map((rho) => syntheticMultiTask({ n: 5000, correlation: rho, seed: 3 }).labelCorrelation);
    expect(corr[0]).toBeGreaterThan(0.1);
    expect(corr[0]).toBeLessThan(0.55);
    expect(corr[1]).toBeGreaterThan(0.6);
    expect(corr[1]).toBeLessThan(0.95);
    expect(corr[2]).toBeGreaterThan(0.98);
    expect(corr[0]).toBeLessThan(corr[1]);
    expect(corr[1]).toBeLessThan(corr[2]);
  });

  it('takes fixed α, β: two data sets then differ only in u1, u2, x and ε', () => {
    const fixed = drawSineParameters(10, 4);
    const a = syntheticMultiTask({ n: 50, correlation: 0.9, seed: 1, ...fixed });
    const b = syntheticMultiTask({ n: 50, correlation: 0.9, seed: 2, ...fixed });
    expect(a.alpha).toEqual(fixed.alpha);
    expect(b.beta).toEqual(fixed.beta);
    expect(b.u1).not.toEqual(a.u1);
    // drawSineParameters is Generator(seed): α then β, each N(0, 1).
    expect(drawSineParameters(10, 4)).toEqual(fixed);
    expect(drawSineParameters(10, 5).alpha).not.toEqual(fixed.alpha);
    const many = drawSineParameters(4000, 0);
    const m = many.alpha.reduce((x, y) => x + y, 0) / 4000;
    const v = many.alpha.reduce((x, y) => x + (y - m) ** 2, 0) / 3999;
    expect(Math.abs(m)).toBeLessThan(0.06);
    expect(Math.abs(v - 1)).toBeLessThan(0.08);
  });

  it('rejects bad options by name', () => {
    expect(() => syntheticMultiTask({ n: 5, correlation: 0.5, alpha: [1] })).toThrow('syntheticMultiTask: give both alpha and beta, or neither');
    expect(() => syntheticMultiTask({ n: 5, correlation: 0.5, alpha: [1], beta: [1, 2] })).toThrow('syntheticMultiTask: alpha and beta differ in length: 1 vs 2');
    expect(() => syntheticMultiTask({ n: 5, correlation: 0.5, m: 3, alpha: [1], beta: [2] })).toThrow('syntheticMultiTask: m is 3 but alpha has 1 values');
    expect(() => syntheticMultiTask({ n: 5, correlation: 0.5, alpha: [NaN], beta: [2] })).toThrow(/alpha\[0\] and beta\[0\] must be finite/);
    expect(() => syntheticMultiTask({ n: 10, correlation: 1.5 })).toThrow('syntheticMultiTask: correlation must be in [-1, 1], got 1.5');
    expect(() => syntheticMultiTask({ n: 0, correlation: 0.5 })).toThrow(/n must be a positive integer, got 0/);
    expect(() => syntheticMultiTask({ n: 5, dim: 1, correlation: 0.5 })).toThrow(/dim must be an integer >= 2/);
  });
});

describe('pearson', () => {
  it('matches hand-computed values', () => {
    expect(pearson([1, 2, 3], [2, 4, 6])).toBeCloseTo(1, 12);
    expect(pearson([1, 2, 3], [3, 2, 1])).toBeCloseTo(-1, 12);
    // a = [1,2,3,4], b = [1,3,2,4]: Σda·db = 4, Σda² = Σdb² = 5 → 0.8.
    expect(pearson([1, 2, 3, 4], [1, 3, 2, 4])).toBeCloseTo(0.8, 12);
    expect(pearson([1, 1, 1], [1, 2, 3])).toBeNaN();
    expect(pearson([1], [2])).toBeNaN();
    expect(() => pearson([1, 2], [1])).toThrow(/pearson: samples differ in length: 2 vs 1/);
  });
});
