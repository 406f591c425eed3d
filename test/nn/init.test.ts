import { describe, expect, it } from 'vitest';
import { zeros } from '../../src/autograd/index.js';
import { Generator } from '../../src/tensor/index.js';
import {
  calculateGain, computeFans, constant, kaimingNormal, kaimingUniform, normal, ones, uniform, xavierNormal,
  xavierUniform, zeros as zerosInit,
} from '../../src/nn/init.js';
import { std } from './helpers.js';

const maxAbs = (d: ArrayLike<number>): number => Math.max(...Array.from(d, Math.abs));

describe('nn.init', () => {
  it('computes fans as PyTorch: [out, in, ...k] → (in·k, out·k)', () => {
    expect(computeFans('t', [3, 5])).toEqual([5, 3]);
    expect(computeFans('t', [4, 2, 3, 5])).toEqual([30, 60]);
    expect(() => computeFans('xavierNormal', [7])).toThrow('xavierNormal: fan in and fan out need a tensor with at least 2 dimensions, got shape [7]');
  });

  it('gains match torch.nn.init.calculate_gain', () => {
    expect(calculateGain('relu')).toBeCloseTo(Math.SQRT2, 15);
    expect(calculateGain('tanh')).toBeCloseTo(5 / 3, 15);
    expect(calculateGain('leakyRelu', Math.sqrt(5))).toBeCloseTo(Math.sqrt(1 / 3), 15);
    expect(calculateGain('sigmoid')).toBe(1);
  });

  it('xavierNormal / xavierUniform have std √(2/(in+out))', () => {
    const g = new Generator(1);
    const target = Math.sqrt(2 / (200 + 300));
    const n = xavierNormal(zeros([300, 200]), { generator: g });
    expect(std(n.data)).toBeCloseTo(target, 3);
    const u = xavierUniform(zeros([300, 200]), { generator: g, gain: 2 });
    expect(maxAbs(u.data)).toBeLessThanOrEqual(2 * Math.sqrt(3) * target);
    expect(std(u.data)).toBeCloseTo(2 * target, 3);
  });

  it('kaiming: fanIn by default, fanOut on request, a = √5 gives U(±1/√in)', () => {
    const g = new Generator(2);
    const k = kaimingNormal(zeros([100, 400]), { generator: g, nonlinearity: 'relu' });
    expect(std(k.data)).toBeCloseTo(Math.SQRT2 / 20, 3);
    const ko = kaimingNormal(zeros([100, 400]), { generator: g, nonlinearity: 'relu', mode: 'fanOut' });
    expect(std(ko.data)).toBeCloseTo(Math.SQRT2 / 10, 3);
    const u = kaimingUniform(zeros([100, 400]), { generator: g, a: Math.sqrt(5) });
    expect(maxAbs(u.data)).toBeLessThanOrEqual(1 / 20);
    expect(maxAbs(u.data)).toBeGreaterThan(0.049);
  });

  it('normal, uniform, constant, zeros, ones', () => {
    const g = new Generator(3);
    const n = normal(zeros([20000]), { mean: 2, std: 0.5, generator: g });
    expect(std(n.data)).toBeCloseTo(0.5, 2);
    expect(Array.from(n.data).reduce((a, b) => a + b) / 20000).toBeCloseTo(2, 1);
    const u = uniform(zeros([1000]), { low: -3, high: -2, generator: g });
    expect(Math.min(...u.data)).toBeGreaterThanOrEqual(-3);
    expect(Math.max(...u.data)).toBeLessThan(-2);
    expect(Array.from(constant(zeros([3]), 7).data)).toEqual([7, 7, 7]);
    expect(Array.from(zerosInit(ones(zeros([2]))).data)).toEqual([0, 0]);
    expect(() => normal(zeros([2]), { std: -1 })).toThrow('normal: std must be non-negative, got -1');
  });

  it('is reproducible from a seeded generator and returns its argument', () => {
    const t = zeros([4, 3]);
    expect(xavierNormal(t, { generator: new Generator(9) })).toBe(t);
    const again = xavierNormal(zeros([4, 3]), { generator: new Generator(9) });
    expect(Array.from(again.data)).toEqual(Array.from(t.data));
  });
});
