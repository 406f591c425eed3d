import { describe, expect, it } from 'vitest';
import { Tensor } from '../../../src/autograd/index.js';
import { clipGradNorm } from '../../../src/nn/optim/index.js';
import { param } from './helpers.js';

function withGrads(...grads: Array<number[] | null>): Tensor[] {
  return grads.map((g) => {
    const p = param(g ? g.map(() => 0) : [0]);
    p.grad = g ? param(g) : null;
    return p;
  });
}

const grads = (ps: Tensor[]): number[][] => ps.filter((p) => p.grad).map((p) => Array.from(p.grad!.data));

describe('clipGradNorm', () => {
  it('returns the total 2-norm over all gradients and scales by maxNorm / (total + 1e-6)', () => {
    const ps = withGrads([3, 4], null, [12]);
    expect(clipGradNorm(ps, 6.5)).toBe(13);
    const c = 6.5 / (13 + 1e-6);
    expect(grads(ps)).toEqual([[3 * c, 4 * c], [12 * c]]);
  });

  it('leaves gradients below maxNorm unchanged (the factor is clamped to 1)', () => {
    const ps = withGrads([3, 4], [12]);
    expect(clipGradNorm(ps, 100)).toBe(13);
    expect(grads(ps)).toEqual([[3, 4], [12]]);
  });

  it('supports other norms: 1, Infinity (third argument as number or options)', () => {
    expect(clipGradNorm(withGrads([3, -4], [12]), 100, 1)).toBe(19);
    const ps = withGrads([3, -4], [-12]);
    expect(clipGradNorm(ps, 6, { normType: Infinity })).toBe(12);
    const c = 6 / (12 + 1e-6);
    expect(grads(ps)).toEqual([[3 * c, -4 * c], [-12 * c]]);
  });

  it('returns 0 when nothing has a gradient, and accepts a single tensor', () => {
    expect(clipGradNorm(withGrads(null), 1)).toBe(0);
    const [p] = withGrads([0, 5]);
    expect(clipGradNorm(p, 1)).toBe(5);
  });

  it('reports a non-finite norm and can refuse to scale by it', () => {
    expect(clipGradNorm(withGrads([NaN, 1]), 1)).toBeNaN();
    expect(clipGradNorm(withGrads([Infinity, 1]), 1, { normType: Infinity })).toBe(Infinity);
    expect(() => clipGradNorm(withGrads([Infinity]), 1, { errorIfNonfinite: true })).toThrow('clipGradNorm: the total norm of order 2 of the gradients is Infinity');
  });

  it('validates its arguments', () => {
    expect(() => clipGradNorm(withGrads([1]), -1)).toThrow('clipGradNorm: maxNorm must be a number >= 0, got -1');
    expect(() => clipGradNorm(withGrads([1]), 1, 0)).toThrow('clipGradNorm: normType must be a positive number or Infinity, got 0');
    const ps = withGrads([30, 40]);
    expect(() => clipGradNorm(ps, 1, { norm_type: 1 } as object)).toThrow(new TypeError("clipGradNorm: unknown option 'norm_type' (did you mean 'normType'?); allowed: normType, errorIfNonfinite"));
    expect(grads(ps)).toEqual([[30, 40]]); // refused before anything was scaled
  });
});
