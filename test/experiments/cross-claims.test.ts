import { describe, expect, it } from 'vitest';
import { noGrad, tensor } from '../../src/autograd/index.js';
import {
  CrossRegressor, ReluRegressor, crossParameterCounts, fitRegressor, leastSquaresLine, monomials, polynomialData, polynomialFit,
} from '../../src/experiments/cross-claims.js';
import { Generator } from '../../src/tensor/index.js';
import { expectGradcheck } from '../nn/helpers.js';

const binomial = (n: number, k: number): number => {
  let r = 1;
  for (let i = 1; i <= k; i++) r = (r * (n - k + i)) / i;
  return Math.round(r);
};

describe('cross-claims (a): parameter counts', () => {
  it('a vector CrossNet holds d·L·2 parameters; the matrix form d²L + dL', () => {
    const rows = crossParameterCounts([1, 3, 8, 100], [1, 2, 5]);
    expect(rows.length).toBe(12);
    for (const r of rows) {
      expect(r.vector).toBe(2 * r.d * r.L);
      expect(r.claimed).toBe(2 * r.d * r.L);
      expect(r.matrix).toBe(r.d * r.d * r.L + r.d * r.L);
    }
  });
});

describe('cross-claims (b): leastSquaresLine', () => {
  it('recovers an exact line with R² = 1 and a noisy one approximately', () => {
    const xs = [1, 2, 4, 8, 16];
    const exact = leastSquaresLine(xs, xs.map((x) => 3 + 0.5 * x));
    expect(exact.slope).toBeCloseTo(0.5, 12);
    expect(exact.intercept).toBeCloseTo(3, 12);
    expect(exact.r2).toBeCloseTo(1, 12);
    const noisy = leastSquaresLine([0, 1, 2, 3], [0, 1.1, 1.9, 3.2]);
    expect(noisy.slope).toBeCloseTo(1.04, 10); // by hand: Sxy 5.2, Sxx 5
    expect(noisy.r2).toBeLessThan(1);
    expect(noisy.r2).toBeGreaterThan(0.98);
  });

  it('names the problem with too few points or constant x', () => {
    expect(() => leastSquaresLine([1], [2])).toThrow(/leastSquaresLine: need two or more/);
    expect(() => leastSquaresLine([1, 2], [2])).toThrow(/leastSquaresLine: need two or more/);
    expect(() => leastSquaresLine([2, 2, 2], [1, 2, 3])).toThrow(/every x is the same/);
  });
});

describe('cross-claims (c): polynomial targets and fits', () => {
  it('monomials(d, k) lists each monomial of degree ≤ k once: C(d + k, k) of them', () => {
    for (const [d, k] of [[1, 3], [3, 2], [8, 2], [8, 4]]) {
      const ms = monomials(d, k);
      expect(ms.length).toBe(binomial(d + k, k));
      expect(new Set(ms.map((m) => m.join(','))).size).toBe(ms.length);
      for (const m of ms) {
        expect(m.length).toBeLessThanOrEqual(k);
        for (let i = 1; i < m.length; i++) expect(m[i]).toBeGreaterThanOrEqual(m[i - 1]);
      }
    }
    expect(monomials(2, 2)).toEqual([[], [0], [0, 0], [0, 1], [1], [1, 1]]);
  });

  it('an L-layer cross network + linear head is a polynomial of degree exactly L+1 along any ray', () => {
    // f(t·x) is then a polynomial in t of degree L+1: its (L+2)-th finite difference vanishes and
    // its (L+1)-th does not (it is (L+1)! times the leading coefficient).
    const d = 5;
    for (const L of [1, 2, 3]) {
      const net = new CrossRegressor(d, L, new Generator(L)).to('float64');
      const g = new Generator(10 + L);
      for (const p of net.parameters()) for (let i = 0; i < p.data.length; i++) p.data[i] = g.normal(0, 0.7);
      const x = Array.from({ length: d }, () => g.uniform(-1, 1));
      const ts = Array.from({ length: L + 3 }, (_, i) => i - 1);
      const rows = new Float64Array(ts.flatMap((t) => x.map((v) => t * v)));
      const f = noGrad(() => net.forward(tensor(rows, { shape: [ts.length, d], dtype: 'float64' }))).data;
      const diff = (order: number): number => {
        let s = 0;
        for (let i = 0; i <= order; i++) s += (-1) ** (order - i) * binomial(order, i) * f[i];
        return s;
      };
      const scale = Math.max(...Array.from(f, Math.abs));
      expect(Math.abs(diff(L + 2))).toBeLessThan(1e-9 * scale);
      expect(Math.abs(diff(L + 1))).toBeGreaterThan(1e-3 * scale);
    }
  });

  it('CrossRegressor and ReluRegressor pass gradcheck in float64 (parameters and input)', () => {
    const d = 3;
    const x = tensor(new Float64Array(Array.from({ length: 4 * d }, (_, i) => Math.sin(i + 1))), { shape: [4, d], dtype: 'float64', requiresGrad: true });
    const cross = new CrossRegressor(d, 2, new Generator(1)).to('float64');
    const relu = new ReluRegressor(d, 4, new Generator(2)).to('float64');
    expectGradcheck((xx) => cross.forward(xx), [x, ...cross.parameters()], 'CrossRegressor');
    expectGradcheck((xx) => relu.forward(xx), [x, ...relu.parameters()], 'ReluRegressor');
  });

  it('polynomialData: standardised target, deterministic per seed, different across seeds and targets', () => {
    for (const target of ['cross-span', 'all-monomials'] as const) {
      const a = polynomialData(target, 4, 2, 500, 3);
      const b = polynomialData(target, 4, 2, 500, 3);
      const c = polynomialData(target, 4, 2, 500, 4);
      expect(b.y).toEqual(a.y);
      expect(c.y).not.toEqual(a.y);
      const mean = a.y.reduce((s, v) => s + v, 0) / a.y.length;
      const variance = a.y.reduce((s, v) => s + (v - mean) ** 2, 0) / a.y.length;
      expect(Math.abs(mean)).toBeLessThan(1e-5);
      expect(variance).toBeCloseTo(1, 4);
      for (const v of a.x) expect(Math.abs(v)).toBeLessThanOrEqual(1);
    }
  });

  it('a short fit lowers the training loss, and the cross network fits a 1-layer target it can represent', () => {
    const row = polynomialFit({ d: 3, L: 1, target: 'cross-span', seed: 5, trainRows: 400, testRows: 200, fit: { steps: 600, batchSize: 64, lr: 0.02 } });
    expect(row.cross.parameters).toBe(2 * 3 * 1 + 3 + 1);
    expect(Math.abs(row.dnn.parameters - row.cross.parameters)).toBeLessThanOrEqual(row.dnn.parameters / row.dnnWidth);
    expect(row.cross.lastLoss).toBeLessThan(row.cross.firstLoss);
    expect(row.dnn.lastLoss).toBeLessThan(row.dnn.firstLoss);
    expect(row.cross.testMse).toBeLessThan(0.05);
  });
});
