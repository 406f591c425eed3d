import { describe, expect, it } from 'vitest';
import * as ops from '../../src/autograd/ops/index.js';
import { defineOp, gradcheck, randn, tensor, Generator, type Tensor } from '../../src/index.js';
import { unary } from '../../src/tensor/index.js';
import { cases, makeInputs, nonDifferentiable } from './op-cases.js';

// PyTorch's gradcheck tolerances.
const tol = { eps: 1e-6, atol: 1e-5, rtol: 1e-3 };

describe('float64 gradcheck of every differentiable op', () => {
  it('the case table covers every op exported from src/autograd/ops', () => {
    const exported = Object.entries(ops).filter(([, v]) => typeof v === 'function').map(([k]) => k);
    const covered = new Set(cases.map((c) => c.op));
    const missing = exported.filter((k) => !covered.has(k) && !nonDifferentiable.has(k));
    expect(missing).toEqual([]);
  });

  cases.forEach((c, i) => {
    it(c.name, () => {
      const inputs = makeInputs(c, 1000 + i, 'float64', true);
      const r = gradcheck(c.fn, inputs, tol);
      expect(r.ok, r.message).toBe(true);
      expect(r.mode).toBe('full');
      expect(r.checked).toBeGreaterThan(0);
    });
  });
});

describe('gradcheck itself', () => {
  const wrongDouble = defineOp({
    name: 'wrongDouble',
    forward: (_c, [x]) => unary('scale', x, 2),
    backward: (_c, g) => [g], // should be 2g
  });

  it('fails, naming the worst entry, when a backward rule is wrong', () => {
    const x = randn([3], { dtype: 'float64', requiresGrad: true, generator: new Generator(1) });
    const r = gradcheck((a) => wrongDouble([a], undefined), [x], tol);
    expect(r.ok).toBe(false);
    expect(r.worst).not.toBeNull();
    expect(r.worst!.analytical).toBeCloseTo(1, 9);
    expect(r.worst!.numerical).toBeCloseTo(2, 6);
    expect(r.message).toMatch(/^gradcheck failed .*analytical 1, numerical/);
    expect(() => gradcheck((a) => wrongDouble([a], undefined), [x], { ...tol, raiseException: true })).toThrow(/gradcheck failed/);
  });

  it('unknown option keys are errors (a typo would silently check at the default tolerance)', () => {
    const x = randn([3], { dtype: 'float64', requiresGrad: true, generator: new Generator(1) });
    expect(() => gradcheck((a) => a.mul(2), [x], { ...tol, rtl: 1e-2 } as object))
      .toThrow(new TypeError("gradcheck: unknown option 'rtl' (did you mean 'rtol'?); allowed: eps, atol, rtol, maxJacobianEntries, projections, seed, raiseException"));
  });

  it('checks large inputs by random projections vᵀJu', () => {
    const g = new Generator(2);
    const a = randn([40, 30], { dtype: 'float64', requiresGrad: true, generator: g });
    const b = randn([30, 50], { dtype: 'float64', requiresGrad: true, generator: g });
    const ok = gradcheck((x, y) => x.matmul(y).tanh(), [a, b], tol);
    expect(ok.mode).toBe('projection');
    expect(ok.ok, ok.message).toBe(true);
    const bad = gradcheck((x) => wrongDouble([x], undefined).sum(), [randn([300, 200], { dtype: 'float64', requiresGrad: true, generator: g })], tol);
    expect(bad.mode).toBe('projection');
    expect(bad.ok).toBe(false);
  });

  it('only checks inputs that require grad, and restores their grads and values', () => {
    const a = tensor([[1, 2], [3, 4]], { dtype: 'float64', requiresGrad: true });
    const c = tensor([[0.5, -1], [2, 3]], { dtype: 'float64' });
    const before = Float64Array.from(a.data);
    const r = gradcheck((x, y) => x.mul(y).sum(), [a, c], tol);
    expect(r.ok).toBe(true);
    expect(r.checked).toBe(4);
    expect(a.grad).toBeNull();
    expect(Array.from(a.data)).toEqual(Array.from(before));
    expect(() => gradcheck((x: Tensor) => x.sum(), [c], tol)).toThrow(/^gradcheck: no input requires grad/);
  });

  it('promotes float32 inputs and rejects float32 outputs', () => {
    const x32 = tensor([0.5, 1.5, -2], { requiresGrad: true });
    expect(gradcheck((x) => x.mul(x).sum(), [x32], tol).ok).toBe(true);
    const w32 = tensor([1, 2, 3]);
    expect(() => gradcheck((x) => x.add(w32), [x32], tol)).toThrow(/dtype mismatch/);
  });
});
