import { describe, expect, it } from 'vitest';
import { ones, randn, tensor } from '../../src/autograd/index.js';
import { Generator } from '../../src/tensor/index.js';
import { Dropout, dropout } from '../../src/nn/dropout.js';
import { expectGradcheck } from './helpers.js';

describe('Dropout', () => {
  it('is the identity in eval and for p = 0', () => {
    const x = randn([3, 4]);
    expect(new Dropout(0.5).eval().forward(x)).toBe(x);
    expect(new Dropout(0).forward(x)).toBe(x);
    expect(dropout(x, 0.5, { training: false })).toBe(x);
  });

  it('drops about p of the elements and scales the survivors by 1/(1−p)', () => {
    const d = new Dropout(0.3, { generator: new Generator(1) });
    const y = d.forward(ones([100, 100]));
    let dropped = 0;
    for (const v of y.data) {
      if (v === 0) dropped++;
      else expect(v).toBeCloseTo(1 / 0.7, 6);
    }
    expect(dropped / 10000).toBeGreaterThan(0.28);
    expect(dropped / 10000).toBeLessThan(0.32);
    expect(Array.from(dropout(ones([5]), 1).data)).toEqual([0, 0, 0, 0, 0]);
  });

  it('is reproducible from a seeded generator', () => {
    const a = new Dropout(0.5, { generator: new Generator(7) }).forward(ones([50]));
    const b = new Dropout(0.5, { generator: new Generator(7) }).forward(ones([50]));
    expect(Array.from(a.data)).toEqual(Array.from(b.data));
  });

  it('uses a fixed mask when given one', () => {
    const d = new Dropout(0.5).setMask(tensor([[1, 0], [0, 1]]));
    expect(d.forward(tensor([[1, 2], [3, 4]])).toArray()).toEqual([[2, 0], [0, 8]]);
    expect(() => d.forward(ones([3]))).toThrow('Dropout: fixed mask [2,2] does not match input [3]');
    expect(() => d.setMask(tensor([0.5]))).toThrow('Dropout.setMask: mask entries must be 0 or 1, got 0.5');
    d.setMask(null);
    expect(() => new Dropout(1.5)).toThrow('Dropout: p must be in [0, 1], got 1.5');
  });

  it('gradcheck (float64) with p = 0 and with a fixed mask', () => {
    const x = randn([3, 4], { dtype: 'float64', requiresGrad: true, generator: new Generator(2) });
    expectGradcheck((xx) => new Dropout(0).forward(xx).mul(xx), [x], 'p = 0');
    const mask = tensor([[1, 0, 1, 1], [0, 0, 1, 0], [1, 1, 1, 0]]);
    const d = new Dropout(0.4).setMask(mask);
    expectGradcheck((xx) => d.forward(xx.mul(xx)), [x], 'fixed mask');
  });
});
