import { describe, expect, it } from 'vitest';
import * as mm from '../../src/index.js';

/*
 * What a user coming from PyTorch does first: build a 2-layer MLP from the package root's ops,
 * call backward(), read the gradients, and check them.
 */

interface Params { w1: mm.Tensor; b1: mm.Tensor; w2: mm.Tensor; b2: mm.Tensor }

function makeParams(dtype: mm.DType, seed: number): Params {
  const g = new mm.Generator(seed);
  const p = (shape: number[], scale: number): mm.Tensor =>
    mm.randn(shape, { dtype, generator: g }).mul(scale).detach().requiresGrad_();
  return { w1: p([4, 8], 0.5), b1: p([8], 0.1), w2: p([8, 3], 0.5), b2: p([3], 0.1) };
}

function mlpLoss(x: mm.Tensor, y: mm.Tensor, w1: mm.Tensor, b1: mm.Tensor, w2: mm.Tensor, b2: mm.Tensor): mm.Tensor {
  const h = mm.relu(mm.add(mm.matmul(x, w1), b1));
  const out = mm.add(mm.matmul(h, w2), b2);
  return mm.mean(mm.sub(out, y).pow(2));
}

function data(dtype: mm.DType): { x: mm.Tensor; y: mm.Tensor } {
  const g = new mm.Generator(99);
  return { x: mm.randn([6, 4], { dtype, generator: g }), y: mm.randn([6, 3], { dtype, generator: g }) };
}

describe('2-layer MLP from the package root', () => {
  it('backward fills every parameter gradient, and the gradients pass gradcheck', () => {
    const { x, y } = data('float64');
    const p = makeParams('float64', 5);
    const loss = mlpLoss(x, y, p.w1, p.b1, p.w2, p.b2);
    expect(loss.shape).toEqual([]);
    loss.backward();
    for (const [k, t] of Object.entries(p)) {
      expect(t.grad, k).not.toBeNull();
      expect(t.grad!.shape, k).toEqual(t.shape);
      expect(t.grad!.dtype).toBe('float64');
    }
    expect(x.grad).toBeNull();

    // The gradients read after backward() match central differences entry by entry.
    const eps = 1e-6;
    for (const t of Object.values(p)) {
      for (let j = 0; j < t.size; j++) {
        const orig = t.data[j];
        t.data[j] = orig + eps;
        const plus = mm.noGrad(() => mlpLoss(x, y, p.w1, p.b1, p.w2, p.b2).item());
        t.data[j] = orig - eps;
        const minus = mm.noGrad(() => mlpLoss(x, y, p.w1, p.b1, p.w2, p.b2).item());
        t.data[j] = orig;
        const numerical = (plus - minus) / (2 * eps);
        expect(Math.abs(t.grad!.data[j] - numerical)).toBeLessThanOrEqual(1e-5 + 1e-3 * Math.abs(numerical));
      }
    }

    const r = mm.gradcheck((w1, b1, w2, b2) => mlpLoss(x, y, w1, b1, w2, b2), [p.w1, p.b1, p.w2, p.b2], { eps: 1e-6, atol: 1e-5, rtol: 1e-3 });
    expect(r.ok, r.message).toBe(true);
    // Checking the input too (per-example outputs, full Jacobian).
    const xr = x.detach().requiresGrad_();
    const perExample = mm.gradcheck(
      (xi, w1) => mm.add(mm.matmul(mm.relu(mm.add(mm.matmul(xi, w1), p.b1)), p.w2), p.b2),
      [xr, p.w1], { eps: 1e-6, atol: 1e-5, rtol: 1e-3 },
    );
    expect(perExample.ok, perExample.message).toBe(true);
  });

  it('float32 gradients agree with float64 ones', () => {
    const d64 = data('float64'), d32 = data('float32');
    const p64 = makeParams('float64', 5), p32 = makeParams('float32', 5);
    mlpLoss(d64.x, d64.y, p64.w1, p64.b1, p64.w2, p64.b2).backward();
    mlpLoss(d32.x, d32.y, p32.w1, p32.b1, p32.w2, p32.b2).backward();
    for (const k of ['w1', 'b1', 'w2', 'b2'] as const) {
      const g32 = p32[k].grad!, g64 = p64[k].grad!;
      expect(g32.dtype).toBe('float32');
      for (let j = 0; j < g64.size; j++) {
        // Inputs differ by float32 rounding, so allow a few float32 ulps of the larger entries.
        expect(Math.abs(g32.data[j] - g64.data[j])).toBeLessThan(1e-5 * Math.max(1, Math.abs(g64.data[j])) + 1e-5);
      }
    }
  });

  it('a few gradient-descent steps make the loss fall', () => {
    const { x, y } = data('float32');
    const p = makeParams('float32', 5);
    const losses: number[] = [];
    for (let step = 0; step < 20; step++) {
      for (const t of Object.values(p)) t.zeroGrad();
      const loss = mlpLoss(x, y, p.w1, p.b1, p.w2, p.b2);
      losses.push(loss.item());
      loss.backward();
      mm.noGrad(() => {
        for (const t of Object.values(p)) for (let j = 0; j < t.size; j++) t.data[j] -= 0.1 * t.grad!.data[j];
      });
    }
    expect(losses[19]).toBeLessThan(losses[0] * 0.8);
  });
});
