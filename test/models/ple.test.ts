import { describe, expect, it } from 'vitest';
import { PLE, type PLEOptions } from '../../src/models/index.js';
import { denseBatch } from './helpers.js';

const base: PLEOptions = { inputDim: 5, expertHiddenUnits: [4], taskTypes: ['binary', 'binary'], initStd: 0.5 };

describe('PLE', () => {
  it('builds and runs with sharedExpertNum ≠ specificExpertNum, in both directions', () => {
    for (const [K, S] of [[3, 1], [1, 2], [0, 2], [2, 0]]) {
      for (const numLevels of [1, 2, 3]) {
        const m = new PLE({ ...base, sharedExpertNum: K, specificExpertNum: S, numLevels, gateHiddenUnits: [3], towerHiddenUnits: [2] });
        for (const B of [1, 4]) {
          expect(m.forward(denseBatch(B)).shape).toEqual([B, 2]);
          const g = m.gateWeights(denseBatch(B));
          expect(g.shape).toEqual([B, 2, S + K]);
          for (let r = 0; r < B * 2; r++) {
            expect(Array.from(g.data.subarray(r * (S + K), (r + 1) * (S + K))).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 6);
          }
        }
        expect(m.shared_experts.get(0).length).toBe(K);
        expect(m.specific_experts.get(0).get(1).length).toBe(S);
      }
    }
  });

  it('has the expert and gate counts and widths of the CGC layout', () => {
    const T = 3, K = 2, S = 1, L = 2, F = 5, H = 4;
    const m = new PLE({ ...base, taskTypes: ['binary', 'binary', 'regression'], sharedExpertNum: K, specificExpertNum: S, numLevels: L });
    const sd = m.stateDict();
    // Task gates choose among the task's S experts and the K shared ones; the shared gate among all.
    expect(sd['specific_gate_dnn_final_layer.0.2.weight'].shape).toEqual([S + K, F]);
    expect(sd['specific_gate_dnn_final_layer.1.0.weight'].shape).toEqual([S + K, H]);
    expect(sd['shared_gate_dnn_final_layer.0.weight'].shape).toEqual([T * S + K, F]);
    expect(sd['specific_experts.1.2.0.linears.0.weight'].shape).toEqual([H, H]);
    expect(sd['shared_experts.0.1.linears.0.weight'].shape).toEqual([H, F]);
    expect(sd['tower_dnn_final_layer.2.weight'].shape).toEqual([1, H]);
    expect(sd['out.2.bias'].shape).toEqual([1]);
    // The last level feeds only the towers, so it has no shared gate.
    expect(Object.keys(sd).some((k) => k.startsWith('shared_gate_dnn_final_layer.1'))).toBe(false);
    // Level 0 experts read the input (F), level 1 experts the expert width (H).
    const expertParams = (T * S + K) * (F * H + H) + (T * S + K) * (H * H + H);
    const gateParams = T * (S + K) * F + T * (S + K) * H + (T * S + K) * F;
    expect(m.numParameters()).toBe(expertParams + gateParams + T * H + T);
  });

  it('rejects bad options, naming PLE and the option', () => {
    expect(() => new PLE({ ...base, sharedExpertNum: 0, specificExpertNum: 0 })).toThrow(/^PLE: sharedExpertNum \+ specificExpertNum must be ≥ 1/);
    expect(() => new PLE({ ...base, sharedExpertNum: -1 })).toThrow(/^PLE: sharedExpertNum must be an integer ≥ 0, got -1/);
    expect(() => new PLE({ ...base, numLevels: 0 })).toThrow(/^PLE: numLevels must be an integer ≥ 1, got 0/);
    expect(() => new PLE({ ...base, taskNames: ['a', 'b', 'c'] })).toThrow(/^PLE: taskNames must have one name per task/);
  });
});
