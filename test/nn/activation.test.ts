import { describe, expect, it } from 'vitest';
import { randn, tensor, type Tensor } from '../../src/autograd/index.js';
import { Generator } from '../../src/tensor/index.js';
import {
  Dice, Identity, LeakyReLU, PReLU, ReLU, Sigmoid, Tanh, activationLayer, prelu,
} from '../../src/nn/activation.js';
import { Module } from '../../src/nn/module.js';
import { expectGradcheck } from './helpers.js';

/** Inputs kept away from 0, where relu-like functions have a kink. */
function awayFromZero(shape: number[], seed: number): Tensor {
  const x = randn(shape, { dtype: 'float64', requiresGrad: true, generator: new Generator(seed) });
  for (let i = 0; i < x.size; i++) if (Math.abs(x.data[i]) < 0.1) x.data[i] += x.data[i] < 0 ? -0.2 : 0.2;
  return x;
}

describe('activations', () => {
  it('compute their formulas', () => {
    const x = tensor([-2, 0.5]);
    expect(Array.from(new ReLU().forward(x).data)).toEqual([0, 0.5]);
    expect(new Sigmoid().forward(x).data[1]).toBeCloseTo(1 / (1 + Math.exp(-0.5)), 6);
    expect(new Tanh().forward(x).data[0]).toBeCloseTo(Math.tanh(-2), 6);
    expect(new Identity().forward(x)).toBe(x);
    expect(new LeakyReLU(0.1).forward(x).data[0]).toBeCloseTo(-0.2, 6);
    expect(Array.from(new PReLU().forward(x).data)).toEqual([-0.5, 0.5]);
    const perChannel = new PReLU({ numParameters: 2, init: 0.5 });
    perChannel.weight.data.set([0.5, 2]);
    expect(perChannel.forward(tensor([[-2, -2], [1, 1]])).toArray()).toEqual([[-1, -4], [1, 1]]);
    expect(perChannel.forward(tensor([[[-2], [-2]]])).toArray()).toEqual([[[-1], [-4]]]);
    expect(() => prelu(tensor([[1, 2, 3]]), perChannel.weight)).toThrow('prelu: 2 slopes need input [B, 2, ...], got [1,3]');
  });

  it('activationLayer builds by name (case-insensitive), passes modules through and calls factories', () => {
    expect(activationLayer('relu')).toBeInstanceOf(ReLU);
    expect(activationLayer('Sigmoid')).toBeInstanceOf(Sigmoid);
    expect(activationLayer('tanh')).toBeInstanceOf(Tanh);
    expect(activationLayer('linear')).toBeInstanceOf(Identity);
    expect(activationLayer('leakyRelu')).toBeInstanceOf(LeakyReLU);
    expect(activationLayer('prelu')).toBeInstanceOf(PReLU);
    expect(activationLayer('dice', 8)).toBeInstanceOf(Dice);
    const m = new Tanh();
    expect(activationLayer(m)).toBe(m);
    expect(activationLayer((n) => new PReLU({ numParameters: n }), 3).parameters()[0].shape).toEqual([3]);
    expect(() => activationLayer('swish')).toThrow("activationLayer: unknown activation 'swish'");
    expect(() => activationLayer('dice')).toThrow('activationLayer: dice needs the layer width (hiddenSize)');
  });

  it('gradcheck (float64): relu, sigmoid, tanh, linear, leakyRelu', () => {
    const x = awayFromZero([3, 4], 1);
    for (const name of ['relu', 'sigmoid', 'tanh', 'linear', 'leakyRelu']) {
      const m = activationLayer(name);
      expectGradcheck((xx) => m.forward(xx), [x], name);
    }
  });

  it('gradcheck (float64): PReLU through input and slope, shared and per channel', () => {
    const x = awayFromZero([4, 3], 2);
    const shared = new PReLU().to('float64');
    expectGradcheck((xx) => shared.forward(xx), [x, shared.weight], 'shared');
    const pc = new PReLU({ numParameters: 3 }).to('float64');
    pc.weight.data.set([0.1, -0.3, 0.7]);
    expectGradcheck((xx) => pc.forward(xx), [x, pc.weight], 'per channel');
  });

  it('Dice: state dict, formula p·x + (1−p)·α·x, [B, L, C] input', () => {
    const d = new Dice(2);
    expect(Object.keys(d.stateDict())).toEqual(['alpha', 'bn.weight', 'bn.bias', 'bn.running_mean', 'bn.running_var', 'bn.num_batches_tracked']);
    d.to('float64').eval();
    d.alpha.data.set([0.5, -1]);
    d.bn.runningMean.data.set([1, 0]);
    const y = d.forward(tensor([[3, -2]], { dtype: 'float64' }));
    const p0 = 1 / (1 + Math.exp(-2 / Math.sqrt(1 + 1e-8)));
    const p1 = 1 / (1 + Math.exp(2 / Math.sqrt(1 + 1e-8)));
    expect(y.data[0]).toBeCloseTo(p0 * 3 + (1 - p0) * 0.5 * 3, 12);
    expect(y.data[1]).toBeCloseTo(p1 * -2 + (1 - p1) * -1 * -2, 12);
    const y3 = d.forward(tensor([[[3, -2], [3, -2]]], { dtype: 'float64' }));
    expect(y3.shape).toEqual([1, 2, 2]);
    expect(y3.data[2]).toBeCloseTo(y.data[0], 14);
    expect(() => d.forward(tensor([[1, 2, 3]], { dtype: 'float64' }))).toThrow('Dice: expected input [B, 2] or [B, L, 2], got [1,3]');
  });

  it('gradcheck (float64): Dice in train and eval (input, alpha, bn weight and bias)', () => {
    const g = new Generator(3);
    const d = new Dice(3).to('float64');
    d.alpha.data.set([0.2, -0.4, 0.9]);
    d.bn.weight!.data.set([1.2, 0.8, -0.5]);
    const x = randn([5, 3], { dtype: 'float64', requiresGrad: true, generator: g });
    const params = [d.alpha, d.bn.weight!, d.bn.bias!];
    expectGradcheck((xx) => d.forward(xx), [x, ...params], 'train');
    d.eval();
    d.bn.runningMean.data.set([0.1, -0.2, 0.3]);
    d.bn.runningVar.data.set([0.6, 1.3, 2]);
    expectGradcheck((xx) => d.forward(xx), [x, ...params], 'eval');
    expect(d.bn.training).toBe(false);
    expect(d.train()).toBeInstanceOf(Module);
    expect(d.bn.training).toBe(true);
  });
});
