import { describe, expect, it } from 'vitest';
import { noGrad, randn, tensor } from '../../src/autograd/index.js';
import { Generator } from '../../src/tensor/index.js';
import { BatchNorm1d } from '../../src/nn/batchnorm.js';
import { expectGradcheck } from './helpers.js';

const X = [[1, 2], [3, 6], [5, 1]];

describe('BatchNorm1d', () => {
  it('has PyTorch state-dict entries', () => {
    const bn = new BatchNorm1d(3);
    expect(Object.keys(bn.stateDict())).toEqual(['weight', 'bias', 'running_mean', 'running_var', 'num_batches_tracked']);
    expect(bn.parameters().length).toBe(2);
    expect(Object.keys(new BatchNorm1d(3, { affine: false }).stateDict())).toEqual(['running_mean', 'running_var', 'num_batches_tracked']);
  });

  it('training normalises with batch mean and biased variance', () => {
    const bn = new BatchNorm1d(2).to('float64');
    bn.weight!.data.set([2, 1]);
    bn.bias!.data.set([0, 10]);
    const y = bn.forward(tensor(X, { dtype: 'float64' }));
    // Column 0: mean 3, biased var 8/3; column 1: mean 3, biased var 14/3.
    const s0 = Math.sqrt(8 / 3 + 1e-5), s1 = Math.sqrt(14 / 3 + 1e-5);
    const want = X.map(([a, b]) => [2 * (a - 3) / s0, (b - 3) / s1 + 10]);
    (y.toArray() as number[][]).forEach((row, i) => row.forEach((v, j) => expect(v).toBeCloseTo(want[i][j], 12)));
  });

  it('updates running stats as PyTorch (unbiased variance, momentum 0.1)', () => {
    const bn = new BatchNorm1d(2).to('float64');
    bn.forward(tensor(X, { dtype: 'float64' }));
    // Unbiased variances 4 and 7: running_var = 0.9·1 + 0.1·var, running_mean = 0.1·3.
    expect(Array.from(bn.runningMean.data)).toEqual([0.30000000000000004, 0.30000000000000004]);
    expect(bn.runningVar.data[0]).toBeCloseTo(1.3, 14);
    expect(bn.runningVar.data[1]).toBeCloseTo(1.6, 14);
    expect(bn.numBatchesTracked.item()).toBe(1);
    // Second batch [[0, 0], [2, 4]]: mean [1, 2], unbiased var [2, 8].
    noGrad(() => bn.forward(tensor([[0, 0], [2, 4]], { dtype: 'float64' })));
    expect(bn.runningMean.data[0]).toBeCloseTo(0.9 * 0.3 + 0.1, 14);
    expect(bn.runningMean.data[1]).toBeCloseTo(0.9 * 0.3 + 0.2, 14);
    expect(bn.runningVar.data[0]).toBeCloseTo(0.9 * 1.3 + 0.2, 14);
    expect(bn.runningVar.data[1]).toBeCloseTo(0.9 * 1.6 + 0.8, 14);
    expect(bn.numBatchesTracked.item()).toBe(2);
  });

  it('momentum null keeps a cumulative average', () => {
    const bn = new BatchNorm1d(1, { momentum: null }).to('float64');
    bn.forward(tensor([[1], [3]], { dtype: 'float64' }));
    bn.forward(tensor([[5], [9]], { dtype: 'float64' }));
    expect(bn.runningMean.data[0]).toBeCloseTo((2 + 7) / 2, 14);
    expect(bn.runningVar.data[0]).toBeCloseTo((2 + 8) / 2, 14);
  });

  it('eval normalises with the running stats and leaves them alone', () => {
    const bn = new BatchNorm1d(2).to('float64');
    bn.runningMean.data.set([1, -1]);
    bn.runningVar.data.set([4, 0.25]);
    bn.weight!.data.set([3, 1]);
    bn.bias!.data.set([1, 0]);
    bn.eval();
    const y = bn.forward(tensor([[3, 0]], { dtype: 'float64' }));
    expect(y.data[0]).toBeCloseTo(3 * 2 / Math.sqrt(4 + 1e-5) + 1, 12);
    expect(y.data[1]).toBeCloseTo(1 / Math.sqrt(0.25 + 1e-5), 12);
    expect(Array.from(bn.runningMean.data)).toEqual([1, -1]);
    expect(bn.numBatchesTracked.item()).toBe(0);
  });

  it('a training batch of one row uses the running stats instead of failing, and updates nothing', () => {
    const bn = new BatchNorm1d(2).to('float64');
    bn.runningMean.data.set([1, 2]);
    const y = bn.forward(tensor([[3, 2]], { dtype: 'float64', requiresGrad: true }));
    expect(y.data[0]).toBeCloseTo(2 / Math.sqrt(1 + 1e-5), 12);
    expect(y.data[1]).toBeCloseTo(0, 12);
    expect(Array.from(bn.runningMean.data)).toEqual([1, 2]);
    expect(bn.numBatchesTracked.item()).toBe(0);
  });

  it('[B, C, L] input: per-channel statistics over B and L', () => {
    const g = new Generator(4);
    const bn = new BatchNorm1d(3).to('float64');
    const x = randn([2, 3, 4], { dtype: 'float64', generator: g });
    const y = bn.forward(x);
    expect(y.shape).toEqual([2, 3, 4]);
    for (let c = 0; c < 3; c++) {
      let s = 0, s2 = 0;
      for (let b = 0; b < 2; b++) for (let l = 0; l < 4; l++) { const v = y.data[b * 12 + c * 4 + l]; s += v; s2 += v * v; }
      expect(s / 8).toBeCloseTo(0, 12);
      expect(s2 / 8).toBeCloseTo(1, 4);
    }
  });

  it('rejects a wrong shape and a dtype mismatch, naming the module', () => {
    expect(() => new BatchNorm1d(3).forward(randn([4, 5]))).toThrow('BatchNorm1d: expected input [B, 3] or [B, 3, L], got [4,5]');
    expect(() => new BatchNorm1d(3).forward(randn([4, 3], { dtype: 'float64' }))).toThrow("BatchNorm1d: input is float64 but the module is float32; call module.to('float64')");
  });

  it('gradcheck (float64) in training mode: input, weight, bias', () => {
    const g = new Generator(5);
    const bn = new BatchNorm1d(3).to('float64');
    bn.weight!.data.set([1.5, -0.7, 0.9]);
    bn.bias!.data.set([0.1, 0.2, -0.3]);
    const x = randn([5, 3], { dtype: 'float64', requiresGrad: true, generator: g });
    // Weight the outputs so the loss is not invariant to the normalisation (Σ x̂ = 0 per column).
    const v = randn([5, 3], { dtype: 'float64', generator: g });
    expectGradcheck((xx) => bn.forward(xx), [x, bn.weight!, bn.bias!], 'train 2-D');
    expectGradcheck((xx) => bn.forward(xx).mul(v).sum(), [x, bn.weight!, bn.bias!], 'train 2-D weighted sum');
    const x3 = randn([2, 3, 2], { dtype: 'float64', requiresGrad: true, generator: g });
    expectGradcheck((xx) => bn.forward(xx), [x3, bn.weight!, bn.bias!], 'train 3-D');
    const nonAffine = new BatchNorm1d(3, { affine: false }).to('float64');
    expectGradcheck((xx) => nonAffine.forward(xx), [x], 'train, affine false');
  });

  it('gradcheck (float64) in eval mode', () => {
    const g = new Generator(6);
    const bn = new BatchNorm1d(3).to('float64');
    bn.runningMean.data.set([0.3, -0.2, 1]);
    bn.runningVar.data.set([0.5, 2, 1.5]);
    bn.weight!.data.set([1.5, -0.7, 0.9]);
    bn.eval();
    const x = randn([4, 3], { dtype: 'float64', requiresGrad: true, generator: g });
    expectGradcheck((xx) => bn.forward(xx), [x, bn.weight!, bn.bias!], 'eval');
  });
});
