import { describe, expect, it } from 'vitest';
import { gradcheck, noGrad, tensor } from '../../src/autograd/index.js';
import { DCN, ESMM, fit, predict } from '../../src/index.js';
import { denseBatch, featureBatch, features } from './helpers.js';

describe('ESMM', () => {
  it("has DeepCTR-Torch's keys: two towers, their final layers without bias, one shared bias", () => {
    const m = new ESMM({ inputDim: 5, towerHiddenUnits: [4, 3] });
    expect(m.taskNames).toEqual(['ctr', 'ctcvr']);
    expect(m.taskTypes).toEqual(['binary', 'binary']);
    expect(Object.keys(m.stateDict())).toEqual([
      'ctr_dnn.linears.0.weight', 'ctr_dnn.linears.0.bias', 'ctr_dnn.linears.1.weight', 'ctr_dnn.linears.1.bias',
      'cvr_dnn.linears.0.weight', 'cvr_dnn.linears.0.bias', 'cvr_dnn.linears.1.weight', 'cvr_dnn.linears.1.bias',
      'ctr_dnn_final_layer.weight', 'cvr_dnn_final_layer.weight', 'out.bias',
    ]);
    expect(m.stateDict()['out.bias'].shape).toEqual([1]);
    expect(m.stateDict()['cvr_dnn_final_layer.weight'].shape).toEqual([1, 3]);
  });

  it('outputs pCTR = σ(a) and pCTCVR = σ(a)·σ(c), a and c each tower logit plus the shared bias', () => {
    const m = new ESMM({ features, towerHiddenUnits: [4], initStd: 0.7 });
    m.out.bias.data[0] = 0.3;
    const x = featureBatch(6);
    noGrad(() => {
      const y = m.forward(x);
      const h = m.inputLayer!.forward(x);
      const a = m.ctr_dnn_final_layer.forward(m.ctr_dnn.forward(h)).add(0.3).sigmoid();
      const c = m.cvr_dnn_final_layer.forward(m.cvr_dnn.forward(h)).add(0.3).sigmoid();
      const pcvr = m.cvr(x);
      for (let b = 0; b < 6; b++) {
        expect(y.data[b * 2]).toBeCloseTo(a.data[b], 6);
        expect(y.data[b * 2 + 1]).toBeCloseTo(a.data[b] * c.data[b], 6);
        expect(pcvr.data[b]).toBeCloseTo(c.data[b], 6);
      }
    });
  });

  it('the CTCVR logit is logit(σ(a)σ(c)), finite where either probability saturates (float64)', () => {
    const m = new ESMM({ inputDim: 1, towerHiddenUnits: [1] }).to('float64');
    // Make a and c depend on the input only through known values: a = c = x (identity-like towers).
    const sd = m.stateDict();
    for (const t of Object.values(sd)) t.data.fill(0);
    for (const k of ['ctr_dnn.linears.0.weight', 'cvr_dnn.linears.0.weight', 'ctr_dnn_final_layer.weight', 'cvr_dnn_final_layer.weight']) sd[k].data[0] = 1;
    const x = tensor([[-60], [-3], [0], [2], [40]], { dtype: 'float64' });
    const l = noGrad(() => m.logits(x));
    // ReLU towers: a = c = max(x, 0).
    [-60, -3, 0, 2, 40].forEach((v, b) => {
      const a = Math.max(v, 0);
      const s = 1 / (1 + Math.exp(-a));
      expect(l.data[b * 2]).toBe(a);
      const want = -Math.log(Math.exp(-a) + Math.exp(-a) + Math.exp(-2 * a));
      expect(Number.isFinite(l.data[b * 2 + 1])).toBe(true);
      expect(l.data[b * 2 + 1]).toBeCloseTo(want, 9);
      if (a < 30) expect(l.data[b * 2 + 1]).toBeCloseTo(Math.log((s * s) / (1 - s * s)), 9);
    });
  });

  it('gradcheck, float64: forward and logits w.r.t. input and every parameter', () => {
    const m = new ESMM({ inputDim: 5, towerHiddenUnits: [4, 3], initStd: 0.5, dnnActivation: 'tanh' }).to('float64');
    m.out.bias.data[0] = -0.4;
    const x = denseBatch(3).to('float64').detach().requiresGrad_();
    for (const f of [() => m.forward(x), () => m.logits(x)]) {
      const r = gradcheck(f, [x, ...m.parameters()], { eps: 1e-6, atol: 1e-5, rtol: 1e-3 });
      expect(r.ok, r.message).toBe(true);
    }
  });

  it('trains with fit on click / conversion labels, and rejects what is not two binary tasks', () => {
    const m = new ESMM({ inputDim: 5, towerHiddenUnits: [8], initStd: 0.3 });
    const x = denseBatch(64, 5, 3);
    const click = Array.from({ length: 64 }, (_, i) => (x.data[i * 5] > 0 ? 1 : 0));
    const y = tensor(click.flatMap((c, i) => [c, c && x.data[i * 5 + 1] > 0 ? 1 : 0]), { shape: [64, 2] });
    const h = fit(m, { x, y }, { epochs: 30, batchSize: 16, lr: 0.02, verbose: 0, seed: 0 });
    const loss = h.series('loss');
    expect(loss[loss.length - 1]).toBeLessThan(loss[0] * 0.8);
    const p = predict(m, x);
    for (let b = 0; b < 64; b++) expect(p.data[b * 2 + 1]).toBeLessThanOrEqual(p.data[b * 2] + 1e-7); // pCTCVR ≤ pCTR
    expect(() => new ESMM({ inputDim: 5, taskTypes: ['binary', 'regression'] })).toThrow(`ESMM: taskTypes must be ['binary', 'binary'] (CTR, then CTCVR; multiclass and regression tasks have no CTR × CVR chain), got ["binary","regression"]`);
    expect(() => new ESMM({ inputDim: 5, towerHiddenUnits: [] })).toThrow(/^ESMM: towerHiddenUnits must be a non-empty array/);
    expect(() => new ESMM({ inputDim: 5, towerHiddenUnit: [3] } as never)).toThrow("ESMM: unknown option 'towerHiddenUnit' (did you mean 'towerHiddenUnits'?)");
    expect(() => new DCN({ inputDim: 5, linaer: false } as never)).toThrow("DCN: unknown option 'linaer' (did you mean 'linear'?)");
  });
});
