import { describe, expect, it } from 'vitest';
import { gradcheck, type Tensor } from '../../src/autograd/index.js';
import { CrossNetMix } from '../../src/nn/crossnet-mix.js';
import { DCN, DCNMix, createModel, toDeepCTRTorch } from '../../src/models/index.js';
import { denseBatch, featureBatch, features } from './helpers.js';

const TOL = { eps: 1e-6, atol: 1e-5, rtol: 1e-3 };

describe('DCNMix', () => {
  it("has DeepCTR-Torch's DCNMix keys and shapes (the strict load itself is checked against PyTorch files)", () => {
    const m = new DCNMix({ inputDim: 5, crossNum: 2, lowRank: 3, numExperts: 2, dnnHiddenUnits: [4] });
    const sd = toDeepCTRTorch(m);
    expect(sd['crossnet.U_list'].shape).toEqual([2, 2, 5, 3]);
    expect(sd['crossnet.V_list'].shape).toEqual([2, 2, 5, 3]);
    expect(sd['crossnet.C_list'].shape).toEqual([2, 2, 3, 3]);
    expect(sd['crossnet.bias'].shape).toEqual([2, 5, 1]);
    expect(sd['crossnet.gating.1.weight'].shape).toEqual([1, 5]);
    expect(sd['dnn_linear.weight'].shape).toEqual([1, 5 + 4]);
    expect(m.crossnet).toBeInstanceOf(CrossNetMix);
    expect(createModel('DCNMix', { inputDim: 5, dnnHiddenUnits: [2] })).toBeInstanceOf(DCNMix);
  });

  it('gradcheck (float64) w.r.t. input and every parameter, dense input and feature columns', () => {
    const dense = new DCNMix({ inputDim: 5, taskTypes: ['binary', 'regression'], crossNum: 2, lowRank: 2, numExperts: 3, dnnHiddenUnits: [3], initStd: 0.5, dnnActivation: 'tanh' }).to('float64');
    const x = denseBatch(3).to('float64').detach().requiresGrad_();
    let r = gradcheck(() => dense.forward(x), [x, ...dense.parameters()], TOL);
    expect(r.ok, r.message).toBe(true);
    const withFeatures = new DCNMix({ features, crossNum: 1, lowRank: 2, numExperts: 2, dnnHiddenUnits: [3], initStd: 0.5, dnnActivation: 'tanh' }).to('float64');
    const batch = featureBatch(4);
    const age = (batch.age as Tensor).to('float64').detach().requiresGrad_();
    r = gradcheck(() => withFeatures.forward({ ...batch, age, vec: (batch.vec as Tensor).to('float64') }), [age, ...withFeatures.parameters()], TOL);
    expect(r.ok, r.message).toBe(true);
    // regularizationLoss: l2RegCross covers U, V and C (not the gating or bias), as DeepCTR-Torch.
    const reg = new DCNMix({ inputDim: 4, crossNum: 1, lowRank: 2, numExperts: 2, dnnHiddenUnits: [2], l2RegCross: 0.3, l2RegLinear: 0, l2RegEmbedding: 0 });
    const c = reg.crossnet!;
    const want = 0.3 * [c.U_list, c.V_list, c.C_list].reduce((s, t) => s + Array.from(t.data).reduce((a, v) => a + v * v, 0), 0);
    expect(reg.regularizationLoss()!.item()).toBeCloseTo(want, 5);
  });

  it('refuses bad options, naming them', () => {
    expect(() => new DCNMix({ inputDim: 4, crossNum: 0 })).toThrow('DCNMix: crossNum must be an integer ≥ 1, got 0');
    expect(() => new DCNMix({ inputDim: 4, lowRank: 0 })).toThrow('DCNMix: lowRank must be a positive integer, got 0');
    expect(() => new DCNMix({ inputDim: 4, numExperts: 1.5 })).toThrow('DCNMix: numExperts must be a positive integer, got 1.5');
    expect(() => new DCNMix({ inputDim: 4, crossParameterization: 'matrix' } as never)).toThrow(/^DCNMix: unknown option 'crossParameterization'/);
    expect(() => toDeepCTRTorch(new DCNMix({ inputDim: 4, dnnHiddenUnits: [], taskTypes: ['binary'] })))
      .toThrow("toDeepCTRTorch: DeepCTR-Torch's DCNMix always has a deep part");
    // DCN keeps its own behaviour after the shared base: crossNum 0 allowed, its name in errors.
    expect(new DCN({ inputDim: 4, crossNum: 0, dnnHiddenUnits: [2] }).crossnet).toBeNull();
    expect(() => new DCN({ inputDim: 4, crossNum: 0, dnnHiddenUnits: [] })).toThrow(/^DCN: crossNum is 0 and dnnHiddenUnits is empty/);
  });
});
