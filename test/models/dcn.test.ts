import { describe, expect, it } from 'vitest';
import { Tensor, concat, matmul, noGrad } from '../../src/autograd/index.js';
import { DCN } from '../../src/models/index.js';
import { denseBatch, featureBatch, features } from './helpers.js';

describe('DCN', () => {
  it('defaults to one binary task with DeepCTR-Torch keys', () => {
    const m = new DCN({ inputDim: 5, dnnHiddenUnits: [4, 3] });
    expect(m.taskTypes).toEqual(['binary']);
    expect(Object.keys(m.stateDict())).toEqual([
      'dnn.linears.0.weight', 'dnn.linears.0.bias', 'dnn.linears.1.weight', 'dnn.linears.1.bias',
      'dnn_linear.weight', 'crossnet.kernels', 'crossnet.bias', 'linear_model.weight', 'out.bias',
    ]);
    expect(m.stateDict()['dnn_linear.weight'].shape).toEqual([1, 5 + 3]);
    expect(m.stateDict()['linear_model.weight'].shape).toEqual([5, 1]);
    expect(m.stateDict()['crossnet.kernels'].shape).toEqual([2, 5, 1]);
    expect(m.forward(denseBatch(1)).shape).toEqual([1, 1]);
  });

  it('logits = dnn_linear([crossnet(x), dnn(x)]) + out.bias, for vector and matrix cross layers', () => {
    for (const crossParameterization of ['vector', 'matrix'] as const) {
      const m = new DCN({ inputDim: 5, dnnHiddenUnits: [3], crossParameterization, taskTypes: ['binary', 'regression'], initStd: 0.5 });
      m.out.bias.data.set([0.1, -0.2]);
      const x = denseBatch(4);
      noGrad(() => {
        const linear = matmul(x, m.linear_model!.weight!);
        const want = m.dnn_linear.forward(concat([m.crossnet!.forward(x), m.dnn!.forward(x)], 1)).add(linear).add(m.out.bias);
        const got = m.logits(x);
        expect(got.shape).toEqual([4, 2]);
        got.data.forEach((v, i) => expect(v).toBeCloseTo(want.data[i], 6));
      });
      expect(m.stateDict()['crossnet.kernels'].shape).toEqual(crossParameterization === 'vector' ? [2, 5, 1] : [2, 5, 5]);
    }
  });

  it('runs cross-only and deep-only; rejects neither', () => {
    const crossOnly = new DCN({ inputDim: 5, dnnHiddenUnits: [] });
    expect(crossOnly.dnn).toBeNull();
    expect(crossOnly.stateDict()['dnn_linear.weight'].shape).toEqual([1, 5]);
    const deepOnly = new DCN({ inputDim: 5, crossNum: 0, dnnHiddenUnits: [3] });
    expect(deepOnly.crossnet).toBeNull();
    expect(deepOnly.stateDict()['dnn_linear.weight'].shape).toEqual([1, 3]);
    for (const m of [crossOnly, deepOnly]) expect(m.forward(denseBatch(2)).shape).toEqual([2, 1]);
    expect(() => new DCN({ inputDim: 5, crossNum: 0, dnnHiddenUnits: [] })).toThrow(/^DCN: crossNum is 0 and dnnHiddenUnits is empty/);
    expect(() => new DCN({ inputDim: 5, crossParameterization: 'diag' as never })).toThrow(/^DCN: crossParameterization must be 'vector' or 'matrix'/);
    expect(() => new DCN({ inputDim: 5, crossNum: -1 })).toThrow(/^DCN: crossNum must be an integer ≥ 0/);
    expect(() => new DCN({ inputDim: 5, taskTypes: [] })).toThrow(/^DCN: taskTypes must be a non-empty array/);
  });

  it("regularises cross kernels (l2RegCross), dnn_linear and the linear part (l2RegLinear) with DeepCTR's defaults", () => {
    const m = new DCN({ inputDim: 4, dnnHiddenUnits: [2], l2RegCross: 0.5, l2RegLinear: 0.25, l2RegDnn: 0, initStd: 0.5 });
    const sq = (k: string): number => Array.from(m.stateDict()[k].data).reduce((s, v) => s + v * v, 0);
    expect(m.regularizationLoss()!.item()).toBeCloseTo(0.5 * sq('crossnet.kernels') + 0.25 * (sq('dnn_linear.weight') + sq('linear_model.weight')), 5);
    expect(() => new DCN({ inputDim: 4, l2RegCross: -1 })).toThrow(/^DCN: l2RegCross must be a finite number ≥ 0/);
  });

  it('linear part with feature columns: a width-T table per sparse / var-len feature (pooled as its embedding) and a weight per dense value', () => {
    const m = new DCN({ features, dnnHiddenUnits: [3], taskTypes: ['binary', 'regression'], initStd: 0.5 });
    const sd = m.stateDict();
    expect(Object.keys(sd).filter((k) => k.startsWith('linear_model.'))).toEqual([
      'linear_model.weight', 'linear_model.embedding_dict.user.weight', 'linear_model.embedding_dict.hist.weight',
    ]);
    expect(sd['linear_model.embedding_dict.user.weight'].shape).toEqual([10, 2]);
    expect(sd['linear_model.embedding_dict.hist.weight'].shape).toEqual([8, 2]);
    expect(sd['linear_model.weight'].shape).toEqual([3, 2]); // age (1) + vec (2), dense in declaration order
    const batch = featureBatch(5);
    const user = batch.user as Int32Array, hist = batch.hist as Int32Array;
    const age = batch.age as Tensor, vec = batch.vec as Tensor;
    const U = sd['linear_model.embedding_dict.user.weight'].data, H = sd['linear_model.embedding_dict.hist.weight'].data, W = sd['linear_model.weight'].data;
    const got = noGrad(() => m.linear_model!.forward(batch, null as never));
    for (let b = 0; b < 5; b++) {
      for (let t = 0; t < 2; t++) {
        let want = U[user[b] * 2 + t];
        let n = 0, sum = 0;
        for (let l = 0; l < 3; l++) if (hist[b * 3 + l] !== 0) { n += 1; sum += H[hist[b * 3 + l] * 2 + t]; }
        want += sum / (n + 1e-8);
        want += age.data[b] * W[0 * 2 + t] + vec.data[b * 2] * W[1 * 2 + t] + vec.data[b * 2 + 1] * W[2 * 2 + t];
        expect(got.data[b * 2 + t]).toBeCloseTo(want, 6);
      }
    }
  });

  it('linear: false leaves the linear part out (DeepCTR-Torch with no linear feature columns)', () => {
    const m = new DCN({ inputDim: 5, dnnHiddenUnits: [3], linear: false });
    expect(m.linear_model).toBeNull();
    expect(Object.keys(m.stateDict()).some((k) => k.startsWith('linear_model'))).toBe(false);
    const x = denseBatch(3);
    noGrad(() => {
      const want = m.dnn_linear.forward(concat([m.crossnet!.forward(x), m.dnn!.forward(x)], 1)).add(m.out.bias);
      expect(Array.from(m.logits(x).data)).toEqual(Array.from(want.data));
    });
    expect(() => new DCN({ inputDim: 5, linear: 1 as never })).toThrow('DCN: linear must be a boolean, got 1');
  });
});
