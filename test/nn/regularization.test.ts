import { describe, expect, it } from 'vitest';
import { Tensor, add, gradcheck, matmul, tensor } from '../../src/autograd/index.js';
import { mseLoss } from '../../src/nn/losses.js';
import { l1Penalty, l2Penalty, regularizationLoss } from '../../src/nn/regularization.js';

const TOL = { eps: 1e-6, atol: 1e-5, rtol: 1e-3 };
const f64 = (v: number[][] | number[], requiresGrad = false): Tensor => tensor(v, { dtype: 'float64', requiresGrad });

describe('l1Penalty / l2Penalty', () => {
  it('compute λ·Σ|w| and λ·Σw² over all the listed tensors', () => {
    const a = f64([[1, -2], [0.5, 0]], true);
    const b = f64([-3], true);
    // Σ|w| = 1 + 2 + 0.5 + 0 + 3 = 6.5; Σw² = 1 + 4 + 0.25 + 0 + 9 = 14.25.
    expect(l1Penalty([a, b], 0.1).item()).toBeCloseTo(0.65, 14);
    expect(l2Penalty([a, b], 0.1).item()).toBeCloseTo(1.425, 14);
    expect(l2Penalty([a, b], 0.1).shape).toEqual([]);
  });

  it('have gradients λ·sign(w) and 2λw', () => {
    const a = f64([1, -2, 0], true);
    l1Penalty([a], 0.5).backward();
    expect(Array.from(a.grad!.data)).toEqual([0.5, -0.5, 0]);
    a.grad = null;
    l2Penalty([a], 0.5).backward();
    expect(Array.from(a.grad!.data)).toEqual([1, -2, 0]);
  });

  it('gradcheck (float64)', () => {
    const a = f64([[0.3, -1.2], [2, -0.4]], true);
    const b = f64([0.7, -0.9, 1.5], true);
    for (const pen of [l1Penalty, l2Penalty]) {
      const r = gradcheck((x, y) => pen([x, y], 0.3), [a, b], TOL);
      expect(r.ok, `${pen.name}: ${r.message}`).toBe(true);
    }
  });

  it('give a constant 0 for an empty list, and reject bad lambdas and mixed dtypes', () => {
    expect(l2Penalty([], 1).item()).toBe(0);
    expect(() => l2Penalty([f64([1])], -1)).toThrow('l2Penalty: lambda must be a finite number >= 0, got -1');
    expect(() => l1Penalty([f64([1])], NaN)).toThrow('l1Penalty: lambda must be a finite number >= 0, got NaN');
    expect(() => l1Penalty([f64([1]), tensor([1])], 1)).toThrow('l1Penalty: params[1] is float32 but params[0] is float64');
  });
});

describe('regularizationLoss', () => {
  it('sums l1 and l2 penalties over groups (objects or DeepCTR-style tuples)', () => {
    const emb = f64([[1, -1], [2, 0]], true);
    const w = f64([0.5, -0.5], true);
    const total = regularizationLoss([{ params: [emb], l2: 1e-2 }, [[w], 0.1, 0.2]]);
    // emb: 0.01·(1 + 1 + 4) = 0.06; w: 0.1·1 + 0.2·0.5 = 0.2.
    expect(total.item()).toBeCloseTo(0.26, 14);
    total.backward();
    expect(Array.from(emb.grad!.data)).toEqual([0.02, -0.02, 0.04, 0]);
    // 0.1·sign(w) + 2·0.2·w
    expect(Array.from(w.grad!.data).map((v) => +v.toFixed(12))).toEqual([0.3, -0.3]);
  });

  it('gradchecks through several groups', () => {
    const a = f64([0.3, -1.2, 2], true);
    const b = f64([[0.7], [-0.9]], true);
    const r = gradcheck((x, y) => regularizationLoss([{ params: [x, y], l1: 0.1, l2: 0.2 }, { params: [y], l2: 0.05 }]), [a, b], TOL);
    expect(r.ok, r.message).toBe(true);
  });

  it('is a constant 0 when nothing is penalised', () => {
    const a = f64([1, 2], true);
    const z = regularizationLoss([{ params: [a] }, [[a], 0, 0]]);
    expect(z.item()).toBe(0);
    expect(z.dtype).toBe('float64');
    expect(z.requiresGrad).toBe(false);
  });

  it('rejects bad groups with a message naming the group', () => {
    expect(() => regularizationLoss([{ params: [f64([1])], l2: -0.1 }])).toThrow('regularizationLoss: group 0 l2 must be a finite number >= 0, got -0.1');
    expect(() => regularizationLoss([{ params: [f64([1])] }, { params: [5 as unknown as Tensor] }])).toThrow('regularizationLoss: group 1: params[0] is not a Tensor');
  });

  it('with a mean loss, the objective and its gradient do not depend on the batch size', () => {
    // The same samples twice over (batch 2B) must give exactly the objective of batch B.
    const w = f64([[0.4], [-0.3]], true);
    const x = [[1, 2], [3, -1], [0.5, 0.5]];
    const y = [[1], [0], [2]];
    const objective = (xs: number[][], ys: number[][]): [number, number[]] => {
      w.grad = null;
      const loss = add(mseLoss(matmul(f64(xs), w), f64(ys)), regularizationLoss([{ params: [w], l1: 0.01, l2: 0.1 }]));
      loss.backward();
      return [loss.item(), Array.from(w.grad!.data)];
    };
    const [l1, g1] = objective(x, y);
    const [l2, g2] = objective([...x, ...x], [...y, ...y]);
    expect(l2).toBeCloseTo(l1, 14);
    g2.forEach((g, i) => expect(g).toBeCloseTo(g1[i], 14));
  });
});
