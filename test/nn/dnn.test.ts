import { describe, expect, it } from 'vitest';
import { matmul, noGrad, randn, relu, type Tensor } from '../../src/autograd/index.js';
import { Generator } from '../../src/tensor/index.js';
import { Dice, PReLU, Tanh } from '../../src/nn/activation.js';
import { DNN } from '../../src/nn/dnn.js';
import { expectGradcheck, std } from './helpers.js';

describe('DNN', () => {
  it('names its state like DeepCTR-Torch', () => {
    expect(Object.keys(new DNN(4, [3, 2]).stateDict())).toEqual([
      'linears.0.weight', 'linears.0.bias', 'linears.1.weight', 'linears.1.bias',
    ]);
    const keys = Object.keys(new DNN(4, [3], { useBn: true, activation: 'prelu' }).stateDict());
    expect(keys).toEqual([
      'linears.0.weight', 'linears.0.bias',
      'bn.0.weight', 'bn.0.bias', 'bn.0.running_mean', 'bn.0.running_var', 'bn.0.num_batches_tracked',
      'activation_layers.0.weight',
    ]);
    const dnn = new DNN(4, [3, 2], { useBn: true });
    expect(dnn.linears.get(1).weight.shape).toEqual([2, 3]);
    expect(dnn.bn!.get(1).numFeatures).toBe(2);
  });

  it('rejects empty or invalid hidden units, naming DNN', () => {
    expect(() => new DNN(4, [])).toThrow('DNN: hiddenUnits must list at least one layer width, got []');
    expect(() => new DNN(4, [3, 0])).toThrow('DNN: hiddenUnits[1] must be a positive integer, got 0');
    expect(() => new DNN(4, [3], { dropoutRate: 1 })).toThrow('DNN: dropoutRate must be in [0, 1), got 1');
    expect(() => new DNN(4, [3]).forward(randn([2, 5]))).toThrow('DNN: expected input [B, 4], got [2,5]');
  });

  it('initialises weights N(0, initStd) and is reproducible from a seed', () => {
    const dnn = new DNN(200, [300], { initStd: 0.01, seed: 1 });
    expect(std(dnn.linears.get(0).weight.data)).toBeCloseTo(0.01, 3);
    expect(new DNN(200, [300]).linears.get(0).weight.data.every((v) => Math.abs(v) < 1e-3)).toBe(true);
    const again = new DNN(200, [300], { initStd: 0.01, seed: 1 });
    expect(Array.from(again.linears.get(0).weight.data)).toEqual(Array.from(dnn.linears.get(0).weight.data));
    expect(Array.from(again.linears.get(0).bias!.data)).toEqual(Array.from(dnn.linears.get(0).bias!.data));
  });

  it('computes Linear → activation per layer', () => {
    const dnn = new DNN(3, [4, 2], { initStd: 0.5, seed: 2 });
    const x = randn([5, 3], { generator: new Generator(3) });
    let h: Tensor = x;
    for (const l of dnn.linears) h = relu(matmul(h, l.weight.transpose()).add(l.bias!));
    expect(Array.from(dnn.forward(x).data)).toEqual(Array.from(h.data));
  });

  it('with BatchNorm, [B, L, F] input is normalised per feature over B·L rows (also when L = F)', () => {
    for (const L of [4, 2]) {
      const flat = new DNN(4, [4], { useBn: true, seed: 5 });
      const seq = new DNN(4, [4], { useBn: true, seed: 5 });
      const x = randn([3, L, 4], { generator: new Generator(L) });
      const want = flat.forward(x.reshape([3 * L, 4]));
      const got = seq.forward(x);
      expect(got.shape).toEqual([3, L, 4]);
      expect(Array.from(got.data)).toEqual(Array.from(want.data));
      expect(Array.from(seq.bn!.get(0).runningMean.data)).toEqual(Array.from(flat.bn!.get(0).runningMean.data));
    }
  });

  it('exposes l2Reg and the weights it applies to (Linear weights only)', () => {
    const dnn = new DNN(3, [4, 2], { l2Reg: 1e-3, useBn: true });
    expect(dnn.l2Reg).toBe(1e-3);
    expect(dnn.regularizationWeights()).toEqual([dnn.linears.get(0).weight, dnn.linears.get(1).weight]);
  });

  it('train()/eval() reach dropout, BatchNorm and Dice', () => {
    const dnn = new DNN(3, [4], { useBn: true, dropoutRate: 0.5, activation: 'dice' });
    dnn.eval();
    expect(dnn.modules().every((m) => !m.training)).toBe(true);
    expect((dnn.activation_layers.get(0) as Dice).bn.training).toBe(false);
    const x = randn([6, 3]);
    expect(Array.from(dnn.forward(x).data)).toEqual(Array.from(dnn.forward(x).data));
    dnn.train();
    expect(dnn.modules().every((m) => m.training)).toBe(true);
  });

  it('accepts activation modules and factories', () => {
    const shared = new Tanh();
    const dnn = new DNN(3, [4, 4], { activation: shared });
    expect(dnn.activation_layers.get(0)).toBe(shared);
    const perLayer = new DNN(3, [4, 2], { activation: (n) => new PReLU({ numParameters: n }) });
    expect(perLayer.activation_layers.get(1).parameters()[0].shape).toEqual([2]);
  });

  it('works with batch size 1, also with BatchNorm, dropout and Dice in training', () => {
    const dnn = new DNN(3, [4, 2], { useBn: true, dropoutRate: 0.3, activation: 'dice', seed: 4 });
    dnn.forward(randn([8, 3])).sum().backward();
    const y = dnn.forward(randn([1, 3]));
    expect(y.shape).toEqual([1, 2]);
    y.sum().backward();
    expect(y.data.every(Number.isFinite)).toBe(true);
    expect(dnn.linears.get(0).weight.grad!.data.every(Number.isFinite)).toBe(true);
  });

  it('gradcheck (float64) with BatchNorm and dropout off', () => {
    const dnn = new DNN(3, [4, 2], { initStd: 0.5, seed: 5 }).to('float64');
    const x = randn([3, 3], { dtype: 'float64', requiresGrad: true, generator: new Generator(6) });
    expectGradcheck((xx) => dnn.forward(xx), [x, ...dnn.parameters()], 'relu');
    const tanh = new DNN(3, [4, 2], { initStd: 0.5, seed: 5, activation: 'tanh' }).to('float64');
    expectGradcheck((xx) => tanh.forward(xx), [x, ...tanh.parameters()], 'tanh');
  });

  it('gradcheck (float64) with BatchNorm on, in eval and in training', () => {
    const dnn = new DNN(3, [4, 2], { initStd: 0.5, seed: 7, useBn: true, activation: 'sigmoid' }).to('float64');
    noGrad(() => {
      for (let i = 0; i < 3; i++) dnn.forward(randn([6, 3], { dtype: 'float64', generator: new Generator(i) }));
    });
    const x = randn([3, 3], { dtype: 'float64', requiresGrad: true, generator: new Generator(8) });
    dnn.eval();
    expectGradcheck((xx) => dnn.forward(xx), [x, ...dnn.parameters()], 'eval');
    dnn.train();
    expectGradcheck((xx) => dnn.forward(xx), [x, ...dnn.parameters()], 'train');
  });
});
