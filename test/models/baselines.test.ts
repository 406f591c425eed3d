import { describe, expect, it } from 'vitest';
import { SharedBottom, SingleTask, countParameters, widthForParameterCount, MMoE } from '../../src/models/index.js';
import { denseBatch } from './helpers.js';

describe('SharedBottom and SingleTask', () => {
  it('SharedBottom: one bottom DNN, a tower per task; parameter count by hand', () => {
    const m = new SharedBottom({ inputDim: 5, bottomHiddenUnits: [6], towerHiddenUnits: [3], taskTypes: ['binary', 'regression'] });
    expect(Object.keys(m.stateDict())).toEqual([
      'bottom_dnn.linears.0.weight', 'bottom_dnn.linears.0.bias',
      'tower_dnn.0.linears.0.weight', 'tower_dnn.0.linears.0.bias', 'tower_dnn.1.linears.0.weight', 'tower_dnn.1.linears.0.bias',
      'tower_dnn_final_layer.0.weight', 'tower_dnn_final_layer.1.weight', 'out.0.bias', 'out.1.bias',
    ]);
    expect(countParameters(m)).toBe((5 * 6 + 6) + 2 * (6 * 3 + 3) + 2 * 3 + 2);
    expect(() => new SharedBottom({ inputDim: 5, bottomHiddenUnits: [], taskTypes: ['binary'] })).toThrow(/^SharedBottom: bottomHiddenUnits must be a non-empty array/);
  });

  it('SingleTask: task networks are independent (a task loss gives no gradient to the other task)', () => {
    const m = new SingleTask({ inputDim: 5, hiddenUnits: [4], taskTypes: ['binary', 'binary'], initStd: 0.5 });
    m.logits(denseBatch(3)).narrow(1, 0, 1).sum().backward();
    const g0 = m.tower_dnn!.get(0).linears.get(0).weight.grad;
    const g1 = m.tower_dnn!.get(1).linears.get(0).weight.grad;
    expect(Array.from(g0!.data).some((v) => v !== 0)).toBe(true);
    // The engine may still send an all-zero gradient down the unused branch of the concat.
    if (g1) for (const v of g1.data) expect(v).toBe(0);
    const linear = new SingleTask({ inputDim: 5, taskTypes: ['regression'] });
    expect(linear.numParameters()).toBe(5 + 1);
  });
});

describe('widthForParameterCount', () => {
  it("finds the Shared-Bottom width closest to MMoE's parameter count", () => {
    const mmoe = new MMoE({ inputDim: 100, numExperts: 8, expertHiddenUnits: [16], towerHiddenUnits: [8], taskTypes: ['regression', 'regression'] });
    const target = countParameters(mmoe);
    const build = (w: number): SharedBottom => new SharedBottom({ inputDim: 100, bottomHiddenUnits: [w], towerHiddenUnits: [8], taskTypes: ['regression', 'regression'] });
    const { width, parameters } = widthForParameterCount(target, build);
    expect(parameters).toBe(countParameters(build(width)));
    for (const w of [width - 1, width + 1]) {
      expect(Math.abs(countParameters(build(w)) - target)).toBeGreaterThanOrEqual(Math.abs(parameters - target));
    }
    expect(() => widthForParameterCount(0, build)).toThrow(/^widthForParameterCount: target must be a positive number/);
  });
});

describe('createModel and hasGateWeights', () => {
  it('builds each model by name and tells which expose gates', async () => {
    const { createModel, modelNames, hasGateWeights } = await import('../../src/models/index.js');
    expect(modelNames).toEqual(['MMoE', 'OMoE', 'SharedBottom', 'SingleTask', 'DCN', 'DCNMix', 'PLE', 'ESMM', 'AITM']);
    const common = { inputDim: 5, taskTypes: ['binary', 'regression'] as const };
    const m = createModel('MMoE', { ...common, numExperts: 2, expertHiddenUnits: [3] });
    expect(m).toBeInstanceOf(MMoE);
    expect(hasGateWeights(m)).toBe(true);
    expect(hasGateWeights(createModel('SharedBottom', { ...common, bottomHiddenUnits: [3] }))).toBe(false);
    expect(hasGateWeights(createModel('PLE', { ...common, expertHiddenUnits: [3] }))).toBe(true);
    expect(() => createModel('Wide' as never, common as never)).toThrow(/^createModel: unknown model 'Wide', expected one of MMoE, OMoE/);
  });
});
