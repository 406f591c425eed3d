import { describe, expect, it } from 'vitest';
import { concat, noGrad } from '../../src/autograd/index.js';
import { DCN } from '../../src/models/index.js';
import { denseBatch } from './helpers.js';

describe('DCN', () => {
  it('defaults to one binary task with DeepCTR-Torch keys', () => {
    const m = new DCN({ inputDim: 5, dnnHiddenUnits: [4, 3] });
    expect(m.taskTypes).toEqual(['binary']);
    expect(Object.keys(m.stateDict())).toEqual([
      'dnn.linears.0.weight', 'dnn.linears.0.bias', 'dnn.linears.1.weight', 'dnn.linears.1.bias',
      'dnn_linear.weight', 'crossnet.kernels', 'crossnet.bias', 'out.bias',
    ]);
    expect(m.stateDict()['dnn_linear.weight'].shape).toEqual([1, 5 + 3]);
    expect(m.stateDict()['crossnet.kernels'].shape).toEqual([2, 5, 1]);
    expect(m.forward(denseBatch(1)).shape).toEqual([1, 1]);
  });

  it('logits = dnn_linear([crossnet(x), dnn(x)]) + out.bias, for vector and matrix cross layers', () => {
    for (const crossParameterization of ['vector', 'matrix'] as const) {
      const m = new DCN({ inputDim: 5, dnnHiddenUnits: [3], crossParameterization, taskTypes: ['binary', 'regression'], initStd: 0.5 });
      m.out.bias.data.set([0.1, -0.2]);
      const x = denseBatch(4);
      noGrad(() => {
        const want = m.dnn_linear.forward(concat([m.crossnet!.forward(x), m.dnn!.forward(x)], 1)).add(m.out.bias);
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

  it("regularises cross kernels (l2RegCross) and dnn_linear (l2RegLinear) with DeepCTR's defaults", () => {
    const m = new DCN({ inputDim: 4, dnnHiddenUnits: [2], l2RegCross: 0.5, l2RegLinear: 0.25, l2RegDnn: 0 });
    const sq = (k: string): number => Array.from(m.stateDict()[k].data).reduce((s, v) => s + v * v, 0);
    expect(m.regularizationLoss()!.item()).toBeCloseTo(0.5 * sq('crossnet.kernels') + 0.25 * sq('dnn_linear.weight'), 5);
    expect(() => new DCN({ inputDim: 4, l2RegCross: -1 })).toThrow(/^DCN: l2RegCross must be a finite number ≥ 0/);
  });
});
