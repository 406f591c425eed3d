import { describe, expect, it } from 'vitest';
import { Tensor, noGrad, tensor } from '../../src/autograd/index.js';
import {
  DCN, ESMM, MMoE, OMoE, PLE, SharedBottom, SingleTask, fromDeepCTRTorch, toDeepCTRTorch, type MultiTaskModel, type PLEOptions,
} from '../../src/models/index.js';
import { deserializeSafetensors, serializeSafetensors } from '../../src/nn/safetensors.js';
import { savedDType } from '../../src/nn/saved-dtype.js';
import { denseBatch, featureBatch, features } from './helpers.js';

const predict = (m: MultiTaskModel, x: Parameters<MultiTaskModel['forward']>[0]): number[] => noGrad(() => Array.from(m.eval().forward(x).data));

/** Seeds every parameter and buffer with distinct values, so that a wrong mapping cannot go unnoticed. */
function scramble(m: MultiTaskModel, seed: number): void {
  let i = 0;
  for (const [k, t] of Object.entries(m.stateDict())) {
    for (let j = 0; j < t.size; j++) t.data[j] = k.endsWith('num_batches_tracked') ? 3 : k.endsWith('running_var') ? 1 + ((i++ * 7 + seed) % 5) / 10 : Math.sin(seed + i++ * 0.7) * 0.8;
  }
}

/** DeepCTR-Torch's DNN keys (layers/core.py: linears, then bn when use_bn). */
function dnnKeys(prefix: string, layers: number, bn: boolean): string[] {
  const out: string[] = [];
  for (let i = 0; i < layers; i++) out.push(`${prefix}.linears.${i}.weight`, `${prefix}.linears.${i}.bias`);
  if (bn) for (let i = 0; i < layers; i++) out.push(...['weight', 'bias', 'running_mean', 'running_var', 'num_batches_tracked'].map((n) => `${prefix}.bn.${i}.${n}`));
  return out;
}

/** The keys DeepCTR-Torch's PLE.__init__ (models/multitask/ple.py) creates, derived from its loops. */
function deepctrPleKeys(T: number, S: number, L: number, expertLayers: number, gate: number, tower: number, bn: boolean): string[] {
  const k: string[] = [];
  for (let l = 0; l < L; l++) for (let t = 0; t < T; t++) for (let j = 0; j < S; j++) k.push(...dnnKeys(`specific_experts.${l}.${t}.${j}`, expertLayers, bn));
  for (let l = 0; l < L; l++) for (let j = 0; j < S; j++) k.push(...dnnKeys(`shared_experts.${l}.0.${j}`, expertLayers, bn)); // built with the specific count
  if (gate) for (let l = 0; l < L; l++) for (let t = 0; t < T; t++) k.push(...dnnKeys(`specific_gate_dnn.${l}.${t}.0`, gate, bn));
  for (let l = 0; l < L; l++) for (let t = 0; t < T; t++) k.push(`specific_gate_dnn_final_layer.${l}.${t}.weight`);
  if (gate) for (let l = 0; l < L; l++) k.push(...dnnKeys(`shared_gate_dnn.${l}`, gate, bn));
  for (let l = 0; l < L; l++) k.push(`shared_gate_dnn_final_layer.${l}.weight`);
  if (tower) for (let t = 0; t < T; t++) k.push(...dnnKeys(`tower_dnn.${t}`, tower, bn));
  for (let t = 0; t < T; t++) k.push(`tower_dnn_final_layer.${t}.weight`, `out.${t}.bias`);
  return k.sort();
}

const pleOpts = (o: Partial<PLEOptions> = {}): PLEOptions => ({
  inputDim: 5, taskTypes: ['binary', 'regression'], sharedExpertNum: 2, specificExpertNum: 2, numLevels: 3,
  expertHiddenUnits: [4, 3], gateHiddenUnits: [3], towerHiddenUnits: [2], dnnUseBn: true, ...o,
});

describe('toDeepCTRTorch / fromDeepCTRTorch', () => {
  it('is the identity for MMoE, SharedBottom, ESMM and DCN (the same keys and tensor objects)', () => {
    const models: MultiTaskModel[] = [
      new MMoE({ inputDim: 5, taskTypes: ['binary', 'binary'], numExperts: 3, expertHiddenUnits: [4], gateHiddenUnits: [3], towerHiddenUnits: [2], dnnUseBn: true }),
      new SharedBottom({ features, taskTypes: ['binary', 'regression'], bottomHiddenUnits: [4], towerHiddenUnits: [3] }),
      new DCN({ features, dnnHiddenUnits: [4] }),
      new DCN({ inputDim: 5, crossParameterization: 'matrix', dnnHiddenUnits: [3], linear: false }),
      new ESMM({ features, towerHiddenUnits: [4], dnnUseBn: true }),
    ];
    for (const m of models) {
      const sd = m.stateDict();
      const out = toDeepCTRTorch(m);
      expect(Object.keys(out)).toEqual(Object.keys(sd));
      for (const k of Object.keys(sd)) expect(out[k]).toBe(sd[k]);
    }
  });

  it('moves weights between two models through DeepCTR-Torch safetensors; predictions equal exactly', () => {
    const build: Array<() => MultiTaskModel> = [
      () => new MMoE({ features, taskTypes: ['binary', 'regression'], numExperts: 3, expertHiddenUnits: [4], gateHiddenUnits: [3], towerHiddenUnits: [2], dnnUseBn: true }),
      () => new SharedBottom({ features, taskTypes: ['binary', 'binary'], bottomHiddenUnits: [4], towerHiddenUnits: [3] }),
      () => new DCN({ features, dnnHiddenUnits: [4], crossNum: 2 }),
      () => new DCN({ features, dnnHiddenUnits: [4], crossNum: 0 }),
      () => new PLE({ ...pleOpts(), inputDim: undefined, features }),
      () => new PLE({ ...pleOpts({ sharedExpertNum: 1, specificExpertNum: 3, numLevels: 1, gateHiddenUnits: [], towerHiddenUnits: [] }), inputDim: undefined, features }),
    ];
    const x = featureBatch(6);
    for (const make of build) {
      const a = make();
      scramble(a, 1);
      const b = make();
      scramble(b, 2);
      expect(predict(b, x)).not.toEqual(predict(a, x));
      const bytes = serializeSafetensors(toDeepCTRTorch(a));
      expect(fromDeepCTRTorch(b, deserializeSafetensors(bytes))).toEqual({ missingKeys: [], unexpectedKeys: [] });
      expect(predict(b, x)).toEqual(predict(a, x));
      for (const [k, t] of Object.entries(a.stateDict())) expect(Array.from(b.stateDict()[k].data), k).toEqual(Array.from(t.data));
    }
  });

  it("PLE: writes exactly the keys of DeepCTR-Torch's PLE, with its nesting, its unused last shared gate and its extra shared experts", () => {
    for (const [o, S, L, gate, tower] of [
      [pleOpts(), 2, 3, 1, 1],
      [pleOpts({ sharedExpertNum: 1, specificExpertNum: 3, numLevels: 2, gateHiddenUnits: [], towerHiddenUnits: [], dnnUseBn: false }), 3, 2, 0, 0],
      [pleOpts({ sharedExpertNum: 0, specificExpertNum: 1, numLevels: 1 }), 1, 1, 1, 1],
    ] as const) {
      const m = new PLE(o);
      const out = toDeepCTRTorch(m);
      expect(Object.keys(out).sort()).toEqual(deepctrPleKeys(2, S, L, 2, gate, tower, o.dnnUseBn!));
      const K = o.sharedExpertNum!;
      const gateIn = gate ? 3 : L === 1 ? 5 : 3;
      // DeepCTR-Torch's shared gate mixes all T·S specific experts and the K shared ones.
      expect(out[`shared_gate_dnn_final_layer.${L - 1}.weight`].shape).toEqual([2 * S + K, gateIn]);
      expect(out[`specific_gate_dnn_final_layer.${L - 1}.1.weight`].shape).toEqual([S + K, gateIn]);
      // Renamed keys are the model's live tensors; placeholders are zeros (running_var ones, num_batches_tracked I64).
      if (K > 0) expect(out['shared_experts.0.0.0.linears.0.weight']).toBe(m.stateDict()['shared_experts.0.0.linears.0.weight']);
      expect(Array.from(out[`shared_gate_dnn_final_layer.${L - 1}.weight`].data).every((v) => v === 0)).toBe(true);
      if (gate && o.dnnUseBn) {
        expect(Array.from(out[`shared_gate_dnn.${L - 1}.bn.0.running_var`].data)).toEqual([1, 1, 1]);
        expect(savedDType(out[`shared_gate_dnn.${L - 1}.bn.0.num_batches_tracked`])).toBe('I64');
      }
      if (S > K) expect(out[`shared_experts.0.0.${S - 1}.linears.0.weight`].shape).toEqual([4, 5]);
    }
  });

  it('PLE: refuses sharedExpertNum > specificExpertNum, which DeepCTR-Torch cannot build, saying why', () => {
    const m = new PLE(pleOpts({ sharedExpertNum: 3, specificExpertNum: 2 }));
    const why = "toDeepCTRTorch: DeepCTR-Torch's PLE builds its shared experts with specific_expert_num (2) instead of shared_expert_num, so it cannot hold sharedExpertNum 3 > specificExpertNum 2";
    expect(() => toDeepCTRTorch(m)).toThrow(why);
    expect(() => fromDeepCTRTorch(m, {})).toThrow(why.replace('toDeepCTRTorch', 'fromDeepCTRTorch'));
    expect(() => toDeepCTRTorch(new PLE(pleOpts({ sharedExpertNum: 1, specificExpertNum: 0 })))).toThrow(/specific_expert_num \(0\)/);
  });

  it('DCN: writes the 0-layer CrossNet DeepCTR-Torch builds for crossNum 0; refuses what its DCN cannot be', () => {
    const m = new DCN({ inputDim: 5, crossNum: 0, dnnHiddenUnits: [3] });
    const out = toDeepCTRTorch(m);
    expect(out['crossnet.kernels'].shape).toEqual([0, 5, 1]);
    expect(out['crossnet.bias'].shape).toEqual([0, 5, 1]);
    expect(toDeepCTRTorch(new DCN({ inputDim: 5, crossNum: 0, crossParameterization: 'matrix', dnnHiddenUnits: [3] }))['crossnet.kernels'].shape).toEqual([0, 5, 5]);
    expect(() => fromDeepCTRTorch(m, { ...out, 'crossnet.bias': tensor([[[1]]]) })).toThrow('fromDeepCTRTorch: wrong shape for crossnet.bias: expected [0,5,1], got [1,1,1]');
    expect(() => toDeepCTRTorch(new DCN({ inputDim: 5, dnnHiddenUnits: [3], taskTypes: ['binary', 'binary'] }))).toThrow(
      "toDeepCTRTorch: DeepCTR-Torch's DCN has one task; this DCN has 2 (task0, task1)",
    );
    expect(() => toDeepCTRTorch(new DCN({ inputDim: 5, dnnHiddenUnits: [] }))).toThrow(
      "toDeepCTRTorch: DeepCTR-Torch's DCN always has a deep part (its DNN rejects empty hidden units); this DCN has dnnHiddenUnits []",
    );
  });

  it('refuses models DeepCTR-Torch does not have', () => {
    expect(() => toDeepCTRTorch(new OMoE({ inputDim: 5, taskTypes: ['binary'], numExperts: 2, expertHiddenUnits: [3] }))).toThrow(
      'toDeepCTRTorch: OMoE has no DeepCTR-Torch counterpart (supported: MMoE, SharedBottom, DCN, DCNMix, PLE, ESMM)',
    );
    expect(() => fromDeepCTRTorch(new SingleTask({ inputDim: 5, taskTypes: ['binary'], hiddenUnits: [3] }), {})).toThrow(TypeError);
  });

  it('fromDeepCTRTorch: strict errors and the non-strict result use DeepCTR-Torch keys; bad values are TypeErrors', () => {
    const m = new PLE(pleOpts({ numLevels: 2 }));
    const sd = toDeepCTRTorch(new PLE(pleOpts({ numLevels: 2, seed: 7 })));
    const before = predict(m, denseBatch(3));
    const partial: Record<string, Tensor> = { ...sd, extra: tensor([1]) };
    delete partial['shared_experts.1.0.1.linears.0.bias'];
    delete partial['shared_gate_dnn_final_layer.1.weight'];
    expect(() => fromDeepCTRTorch(m, partial)).toThrow(
      'fromDeepCTRTorch: missing keys: shared_experts.1.0.1.linears.0.bias, shared_gate_dnn_final_layer.1.weight; unexpected keys: extra',
    );
    expect(predict(m, denseBatch(3))).toEqual(before);
    expect(fromDeepCTRTorch(m, partial, { strict: false })).toEqual({
      missingKeys: ['shared_experts.1.0.1.linears.0.bias', 'shared_gate_dnn_final_layer.1.weight'], unexpectedKeys: ['extra'],
    });
    expect(Array.from(m.stateDict()['shared_experts.0.1.linears.0.weight'].data)).toEqual(Array.from(sd['shared_experts.0.0.1.linears.0.weight'].data));
    expect(() => fromDeepCTRTorch(m, { ...sd, 'specific_gate_dnn.0.1.0.linears.0.weight': tensor([1]) })).toThrow(
      'fromDeepCTRTorch: wrong shape for specific_gate_dnn.0.1.0.linears.0.weight: expected [3,5], got [1]',
    );
    expect(() => fromDeepCTRTorch(m, { ...sd, 'out.0.bias': 0.5 } as never)).toThrow(new TypeError("fromDeepCTRTorch: the value of 'out.0.bias' is not a Tensor (got number)"));
    expect(() => fromDeepCTRTorch(m, sd, { strikt: true } as never)).toThrow("fromDeepCTRTorch: unknown option 'strikt' (did you mean 'strict'?); allowed: strict");
  });

  it('fromDeepCTRTorch casts values to the model dtype (a float64 model from a float32 dict)', () => {
    const a = new MMoE({ inputDim: 5, taskTypes: ['binary', 'binary'], numExperts: 2, expertHiddenUnits: [3] });
    const b = new MMoE({ inputDim: 5, taskTypes: ['binary', 'binary'], numExperts: 2, expertHiddenUnits: [3], seed: 3 }).to('float64');
    fromDeepCTRTorch(b, toDeepCTRTorch(a));
    expect(b.stateDict()['expert_dnn.0.linears.0.weight'].dtype).toBe('float64');
    expect(Array.from(b.stateDict()['expert_dnn.0.linears.0.weight'].data)).toEqual(Array.from(a.stateDict()['expert_dnn.0.linears.0.weight'].data));
  });
});
