import { expect } from 'vitest';
import { Tensor, tensor } from '../../../src/autograd/index.js';
import type { Optimizer } from '../../../src/nn/optim/index.js';

/** A float64 leaf requiring grad. */
export const param = (v: number[]): Tensor => tensor(v, { dtype: 'float64', requiresGrad: true });

/** Sets the gradient by hand and takes one step. */
export function stepWith(opt: Optimizer<any>, p: Tensor, grad: number[]): void {
  p.grad = tensor(grad, { dtype: 'float64' });
  opt.step();
}

export function expectValues(p: Tensor, expected: number[], digits = 12): void {
  const got = Array.from(p.data);
  expect(got.length).toBe(expected.length);
  got.forEach((v, i) => expect(v, `element ${i}: got ${v}, expected ${expected[i]}`).toBeCloseTo(expected[i], digits));
}

// The fixture every optimizer test uses: θ0 = [1, -2], g1 = [0.5, -1], g2 = [0.3, 0.2].
export const THETA0 = [1, -2];
export const G1 = [0.5, -1];
export const G2 = [0.3, 0.2];
