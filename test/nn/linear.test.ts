import { describe, expect, it } from 'vitest';
import { randn, tensor } from '../../src/autograd/index.js';
import { Generator } from '../../src/tensor/index.js';
import { Linear } from '../../src/nn/linear.js';
import { expectGradcheck } from './helpers.js';

describe('Linear', () => {
  it('has weight [out, in] and bias [out], initialised in U(±1/√in)', () => {
    const l = new Linear(16, 5, { generator: new Generator(1) });
    expect(l.weight.shape).toEqual([5, 16]);
    expect(l.bias!.shape).toEqual([5]);
    expect(Object.keys(l.stateDict())).toEqual(['weight', 'bias']);
    for (const v of [...l.weight.data, ...l.bias!.data]) expect(Math.abs(v)).toBeLessThanOrEqual(0.25);
    expect(new Set(l.weight.data).size).toBe(80);
    expect(new Linear(3, 2, { bias: false }).bias).toBeNull();
    expect(Object.keys(new Linear(3, 2, { bias: false }).stateDict())).toEqual(['weight']);
  });

  it('computes x·Wᵀ + b', () => {
    const l = new Linear(3, 2);
    l.weight.data.set([1, 2, 3, -1, 0, 1]);
    l.bias!.data.set([0.5, -0.5]);
    const y = l.forward(tensor([[1, 1, 1], [2, 0, -1]]));
    expect(y.toArray()).toEqual([[6.5, -0.5], [-0.5, -3.5]]);
    const y3 = l.forward(tensor([[[1, 1, 1]], [[2, 0, -1]]]));
    expect(y3.shape).toEqual([2, 1, 2]);
    expect(Array.from(y3.data)).toEqual(Array.from(y.data));
  });

  it('rejects a wrong input width, naming the module', () => {
    expect(() => new Linear(3, 2).forward(randn([4, 5]))).toThrow('Linear: expected input [..., 3], got [4,5]');
    expect(() => new Linear(0, 2)).toThrow('Linear: inFeatures must be a positive integer, got 0');
  });

  it('gradcheck (float64) through input, weight and bias', () => {
    const l = new Linear(4, 3, { generator: new Generator(2) }).to('float64');
    const x = randn([5, 4], { dtype: 'float64', requiresGrad: true, generator: new Generator(3) });
    expectGradcheck((xx) => l.forward(xx), [x, l.weight, l.bias!]);
    expectGradcheck((xx) => l.forward(xx.reshape([5, 1, 4])), [x, l.weight]);
  });
});
