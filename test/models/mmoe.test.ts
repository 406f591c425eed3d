import { describe, expect, it } from 'vitest';
import { noGrad, tensor, type Tensor } from '../../src/autograd/index.js';
import { MMoE, OMoE, type MMoEOptions } from '../../src/models/index.js';
import { denseBatch, featureBatch, features } from './helpers.js';

const small: MMoEOptions = {
  inputDim: 5, numExperts: 3, expertHiddenUnits: [4], taskTypes: ['binary', 'regression'], initStd: 0.5,
};

describe('MMoE', () => {
  it('gate weights are [B, T, E], positive, and sum to 1 over the experts', () => {
    for (const m of [new MMoE(small), new MMoE({ ...small, gateHiddenUnits: [3, 2] }), new OMoE(small)]) {
      for (const B of [1, 6]) {
        const g = m.gateWeights(denseBatch(B));
        expect(g.shape).toEqual([B, 2, 3]);
        for (let r = 0; r < B * 2; r++) {
          const row = Array.from(g.data.subarray(r * 3, r * 3 + 3));
          for (const v of row) expect(v).toBeGreaterThan(0);
          expect(row.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 6);
        }
      }
    }
  });

  it('each task has its own gate in MMoE; OMoE gives every task the same one', () => {
    const x = denseBatch(4);
    const gm = new MMoE(small).gateWeights(x).toArray() as number[][][];
    const go = new OMoE(small).gateWeights(x).toArray() as number[][][];
    expect(gm[0][0]).not.toEqual(gm[0][1]);
    for (const row of go) expect(row[0]).toEqual(row[1]);
  });

  it('different experts get different initial weights; the same seed gives the same model', () => {
    const m = new MMoE({ ...small, numExperts: 4 });
    const w = m.expert_dnn.map((e) => Array.from(e.linears.get(0).weight.data));
    for (let i = 0; i < w.length; i++) for (let j = i + 1; j < w.length; j++) expect(w[i]).not.toEqual(w[j]);
    const gates = m.gate_dnn_final_layer.map((l) => Array.from(l.weight.data));
    expect(gates[0]).not.toEqual(gates[1]);
    const again = new MMoE({ ...small, numExperts: 4 });
    const other = new MMoE({ ...small, numExperts: 4, seed: 7 });
    const a = m.stateDict(), b = again.stateDict(), c = other.stateDict();
    for (const k of Object.keys(a)) expect(Array.from(b[k].data)).toEqual(Array.from(a[k].data));
    expect(Array.from(c['expert_dnn.0.linears.0.weight'].data)).not.toEqual(Array.from(a['expert_dnn.0.linears.0.weight'].data));
  });

  it('logits equal the mixture computed by hand: tower(Σ_e gate_te · expert_e) + bias', () => {
    const m = new MMoE({ ...small, towerHiddenUnits: [2] });
    m.out.get(1).bias.data[0] = 0.25;
    const x = denseBatch(3);
    noGrad(() => {
      const logits = m.logits(x);
      const gates = m.gateWeights(x);
      const experts = m.expert_dnn.map((e) => e.forward(x)); // each [B, H]
      const [B, T, E] = gates.shape;
      const H = experts[0].shape[1];
      for (let t = 0; t < T; t++) {
        const mixed = new Float32Array(B * H);
        for (let b = 0; b < B; b++) {
          for (let e = 0; e < E; e++) {
            const w = gates.data[(b * T + t) * E + e];
            for (let h = 0; h < H; h++) mixed[b * H + h] += w * experts[e].data[b * H + h];
          }
        }
        const z = m.tower_dnn!.get(t).forward(tensor(mixed, { shape: [B, H] }));
        const expected = m.tower_dnn_final_layer.get(t).forward(z);
        for (let b = 0; b < B; b++) {
          expect(logits.data[b * T + t]).toBeCloseTo(expected.data[b] + (t === 1 ? 0.25 : 0), 5);
        }
      }
    });
  });

  it("state-dict keys are DeepCTR-Torch's MMOE keys", () => {
    const m = new MMoE({
      features, numExperts: 2, expertHiddenUnits: [4, 3], gateHiddenUnits: [2], towerHiddenUnits: [2],
      taskTypes: ['binary', 'binary'], dnnUseBn: true,
    });
    const keys = Object.keys(m.stateDict());
    for (const k of [
      'embedding_dict.user.weight', 'embedding_dict.hist.weight',
      'expert_dnn.0.linears.0.weight', 'expert_dnn.0.linears.0.bias', 'expert_dnn.1.linears.1.weight',
      'expert_dnn.0.bn.0.weight', 'expert_dnn.0.bn.1.running_mean', 'expert_dnn.1.bn.0.running_var',
      'gate_dnn.0.linears.0.weight', 'gate_dnn.1.linears.0.bias',
      'gate_dnn_final_layer.0.weight', 'gate_dnn_final_layer.1.weight',
      'tower_dnn.0.linears.0.weight', 'tower_dnn.1.linears.0.bias',
      'tower_dnn_final_layer.0.weight', 'tower_dnn_final_layer.1.weight',
      'out.0.bias', 'out.1.bias',
    ]) expect(keys).toContain(k);
    // The final layers have no bias (nn.Linear(..., bias=False) there).
    expect(keys.some((k) => /final_layer\.\d+\.bias/.test(k))).toBe(false);
    expect(m.stateDict()['gate_dnn_final_layer.0.weight'].shape).toEqual([2, 2]);
    expect(m.stateDict()['tower_dnn_final_layer.1.weight'].shape).toEqual([1, 2]);
    expect(m.stateDict()['expert_dnn.0.linears.0.weight'].shape).toEqual([4, 8]);
    expect(m.stateDict()['out.0.bias'].shape).toEqual([1]);
  });

  it('a state dict round-trips into a fresh model with a different seed, giving identical outputs', () => {
    const a = new MMoE({ ...small, gateHiddenUnits: [2], towerHiddenUnits: [2], dnnUseBn: true });
    const b = new MMoE({ ...small, gateHiddenUnits: [2], towerHiddenUnits: [2], dnnUseBn: true, seed: 99 });
    a.train();
    a.forward(denseBatch(5)); // moves the BatchNorm running statistics
    b.loadStateDict(a.stateDict());
    a.eval(); b.eval();
    const x = denseBatch(3, 5, 4);
    expect(b.forward(x).toArray()).toEqual(a.forward(x).toArray());
  });

  it('feature-column input: the model owns embedding_dict, and l2RegEmbedding / l2RegDnn enter regularizationLoss', () => {
    const m = new MMoE({ features, numExperts: 2, expertHiddenUnits: [3], taskTypes: ['binary'], l2RegEmbedding: 0.5, l2RegDnn: 0.25, initStd: 0.3 });
    const sq = (t: Tensor): number => Array.from(t.data).reduce((s, v) => s + v * v, 0);
    const sd = m.stateDict();
    const expected = 0.5 * (sq(sd['embedding_dict.user.weight']) + sq(sd['embedding_dict.hist.weight']))
      + 0.25 * (sq(sd['expert_dnn.0.linears.0.weight']) + sq(sd['expert_dnn.1.linears.0.weight'])
        + sq(sd['gate_dnn_final_layer.0.weight']) + sq(sd['tower_dnn_final_layer.0.weight']));
    expect(m.regularizationLoss()!.item()).toBeCloseTo(expected, 4);
    expect(m.forward(featureBatch(4)).shape).toEqual([4, 1]);
    expect(new MMoE({ ...small, l2RegDnn: 0 }).regularizationLoss()).toBeNull();
  });

  it('rejects bad options with messages naming the model and the option', () => {
    const bad: Array<[Partial<MMoEOptions>, RegExp]> = [
      [{ taskTypes: [] }, /^MMoE: taskTypes must be a non-empty array/],
      [{ taskTypes: ['binary', 'ranking' as never] }, /^MMoE: taskTypes\[1\] must be 'binary', 'regression' or 'multiclass', got "ranking"/],
      [{ taskNames: ['a'] }, /^MMoE: taskNames must have one name per task \(taskTypes has 2\)/],
      [{ numExperts: 0 }, /^MMoE: numExperts must be an integer ≥ 1, got 0/],
      [{ numExperts: 1.5 }, /^MMoE: numExperts must be an integer ≥ 1, got 1.5/],
      [{ expertHiddenUnits: [] }, /^MMoE: expertHiddenUnits must be a non-empty array of positive integers/],
      [{ towerHiddenUnits: [4, 0] }, /^MMoE: towerHiddenUnits must be an array of positive integers, got \[4,0\]/],
      [{ inputDim: undefined }, /^MMoE: give exactly one of 'features'/],
      [{ features }, /^MMoE: give exactly one of 'features'/],
      [{ dnnDropout: 1 }, /^MMoE: dnnDropout must be in \[0, 1\)/],
      [{ l2RegDnn: -1 }, /^MMoE: l2RegDnn must be a finite number ≥ 0/],
    ];
    for (const [o, re] of bad) expect(() => new MMoE({ ...small, ...o } as MMoEOptions)).toThrow(re);
    expect(() => new OMoE({ ...small, numExperts: 0 })).toThrow(/^OMoE: numExperts/);
  });

  it('rejects input of the wrong kind or width, naming the model', () => {
    const m = new MMoE(small);
    expect(() => m.forward(denseBatch(2, 4))).toThrow(/^MMoE: expected input \[B, 5\], got \[2,4\]/);
    expect(() => m.forward(featureBatch(2))).toThrow(/^MMoE: built with inputDim 5, so it takes a Tensor/);
    const f = new MMoE({ ...small, inputDim: undefined, features });
    expect(() => f.forward(denseBatch(2))).toThrow(/^MMoE: built with feature columns/);
  });
});
