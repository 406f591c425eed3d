import { expect } from 'vitest';
import { gradcheck, type Tensor } from '../../src/autograd/index.js';
import type { Storage } from '../../src/tensor/index.js';

export const TOL = { eps: 1e-6, atol: 1e-5, rtol: 1e-3 };

/** Asserts a float64 gradcheck at PyTorch's tolerances passes, printing its message if not. */
export function expectGradcheck(fn: (...xs: Tensor[]) => Tensor, inputs: readonly Tensor[], label = ''): void {
  const r = gradcheck(fn, inputs, TOL);
  expect(r.ok, `${label} ${r.message}`).toBe(true);
}

/** max|a − b| / max|b|: a norm-wise relative error that near-zero entries cannot inflate. */
export function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    num = Math.max(num, Math.abs(a[i] - b[i]));
    den = Math.max(den, Math.abs(b[i]));
  }
  return num / den;
}

export function std(d: Storage): number {
  let m = 0;
  for (const v of d) m += v;
  m /= d.length;
  let s = 0;
  for (const v of d) s += (v - m) ** 2;
  return Math.sqrt(s / d.length);
}
