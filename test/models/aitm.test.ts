import { describe, expect, it } from 'vitest';
import { gradcheck, tensor, type Tensor } from '../../src/autograd/index.js';
import { SGD } from '../../src/nn/optim/index.js';
import { AITM, createModel } from '../../src/models/index.js';
import { multiTaskLoss } from '../../src/train/loss.js';
import { fit } from '../../src/train/index.js';
import { denseBatch, featureBatch, features } from './helpers.js';

const TOL = { eps: 1e-6, atol: 1e-5, rtol: 1e-3 };
const small = { inputDim: 5, towerHiddenUnits: [4, 3], initStd: 0.5, dnnActivation: 'tanh' as const };

describe('AITM', () => {
  it('builds one tower per step and one transfer (info + attention) per later step, names click/conversion', () => {
    const m = new AITM({ inputDim: 5, towerHiddenUnits: [4, 3] });
    expect(m.taskNames).toEqual(['click', 'conversion']);
    expect(Object.entries(m.stateDict()).map(([k, t]) => `${k} ${t.shape.join('x')}`)).toEqual([
      'tower_dnn.0.linears.0.weight 4x5', 'tower_dnn.0.linears.0.bias 4', 'tower_dnn.0.linears.1.weight 3x4', 'tower_dnn.0.linears.1.bias 3',
      'tower_dnn.1.linears.0.weight 4x5', 'tower_dnn.1.linears.0.bias 4', 'tower_dnn.1.linears.1.weight 3x4', 'tower_dnn.1.linears.1.bias 3',
      'info_dnn.0.linears.0.weight 3x3', 'info_dnn.0.linears.0.bias 3',
      'attention.0.q_layer.weight 3x3', 'attention.0.k_layer.weight 3x3', 'attention.0.v_layer.weight 3x3',
      'tower_dnn_final_layer.0.weight 1x3', 'tower_dnn_final_layer.1.weight 1x3',
      'out.0.bias 1', 'out.1.bias 1',
    ]);
    const three = new AITM({ inputDim: 5, towerHiddenUnits: [2], taskTypes: ['binary', 'binary', 'binary'] });
    expect(three.taskNames).toEqual(['task0', 'task1', 'task2']);
    expect(three.attention.length).toBe(2);
    expect(three.logits(denseBatch(4)).shape).toEqual([4, 3]);
    expect(createModel('AITM', { inputDim: 5 })).toBeInstanceOf(AITM);
  });

  it('the conversion logit depends on the click tower (information flows forward), never the reverse', () => {
    const m = new AITM({ ...small }).to('float64');
    const x = denseBatch(3).to('float64');
    const before = m.logits(x);
    const w = m.tower_dnn.get(0).parameters()[0];
    w.data[0] += 0.5;
    const after = m.logits(x);
    expect(after.data[1]).not.toBe(before.data[1]); // conversion moved
    const w1 = m.tower_dnn.get(1).parameters()[0];
    const click = [after.data[0], after.data[2], after.data[4]];
    w1.data[0] += 0.5;
    const again = m.logits(x);
    expect([again.data[0], again.data[2], again.data[4]]).toEqual(click); // click did not
  });

  it('gradcheck (float64): logits and the calibration loss w.r.t. input and every parameter; feature columns too', () => {
    const m = new AITM({ ...small, taskTypes: ['binary', 'binary', 'binary'] }).to('float64');
    const x = denseBatch(3).to('float64').detach().requiresGrad_();
    let r = gradcheck(() => m.logits(x), [x, ...m.parameters()], TOL);
    expect(r.ok, r.message).toBe(true);
    r = gradcheck(() => m.calibrationLoss(m.logits(x).mul(3)), [x, ...m.parameters()], TOL);
    expect(r.ok, r.message).toBe(true);
    const f = new AITM({ features, towerHiddenUnits: [3], initStd: 0.5, dnnActivation: 'tanh' }).to('float64');
    const batch = featureBatch(4);
    const age = (batch.age as Tensor).to('float64').detach().requiresGrad_();
    r = gradcheck(() => f.forward({ ...batch, age, vec: (batch.vec as Tensor).to('float64') }), [age, ...f.parameters()], TOL);
    expect(r.ok, r.message).toBe(true);
  });

  it('calibrationLoss is α · mean over rows of Σ_t max(ŷ_t − ŷ_{t−1}, 0)', () => {
    const m = new AITM({ inputDim: 2, towerHiddenUnits: [2], taskTypes: ['binary', 'binary', 'binary'], calibrationWeight: 0.7 });
    const logits = tensor([[0, 1, -1], [2, -3, 4], [-1, -1, -1]], { dtype: 'float64' });
    const s = (v: number): number => 1 / (1 + Math.exp(-v));
    const rows = [[0, 1, -1], [2, -3, 4], [-1, -1, -1]];
    const want = 0.7 * rows.reduce((acc, r) => acc + Math.max(s(r[1]) - s(r[0]), 0) + Math.max(s(r[2]) - s(r[1]), 0), 0) / 3;
    expect(m.calibrationLoss(logits).item()).toBeCloseTo(want, 12);
    expect(new AITM({ inputDim: 2, towerHiddenUnits: [2], calibrationWeight: 0 }).auxiliaryLoss(logits.narrow(1, 0, 2))).toBeNull();
  });

  it('fit adds the calibrator to the loss: one full-batch SGD step equals the hand-made one', () => {
    const make = (): AITM => new AITM({ ...small, calibrationWeight: 5, seed: 3 });
    const x = denseBatch(6);
    const y = tensor([[1, 0], [0, 0], [1, 1], [0, 0], [1, 0], [1, 1]]);
    const viaFit = make();
    const opt = new SGD(viaFit.parameters(), { lr: 0.5 });
    fit(viaFit, { x, y }, { epochs: 1, batchSize: 6, optimizer: opt, shuffle: false, verbose: 0 });
    const byHand = make();
    byHand.train();
    const logits = byHand.logits(x);
    multiTaskLoss(logits, y, byHand.taskTypes, [1, 1])!.add(byHand.calibrationLoss(logits)).backward();
    new SGD(byHand.parameters(), { lr: 0.5 }).step();
    const a = viaFit.stateDict();
    for (const [k, t] of Object.entries(byHand.stateDict())) {
      Array.from(t.data).forEach((v, i) => expect(a[k].data[i], `${k}[${i}]`).toBeCloseTo(v, 6));
    }
    // …and the calibrator mattered: without it the step differs.
    const plain = make();
    const l2 = plain.logits(x);
    multiTaskLoss(l2, y, plain.taskTypes, [1, 1])!.backward();
    new SGD(plain.parameters(), { lr: 0.5 }).step();
    const differs = Object.entries(plain.stateDict()).some(([k, t]) => Array.from(t.data).some((v, i) => Math.abs(v - a[k].data[i]) > 1e-6));
    expect(differs).toBe(true);
  });

  it('refuses bad options, naming them', () => {
    expect(() => new AITM({ inputDim: 3, taskTypes: ['binary'] })).toThrow(/^AITM: taskTypes must list at least two 'binary' steps/);
    expect(() => new AITM({ inputDim: 3, taskTypes: ['binary', 'regression'] })).toThrow(/^AITM: taskTypes must list at least two 'binary' steps/);
    expect(() => new AITM({ inputDim: 3, towerHiddenUnits: [] })).toThrow(/^AITM: towerHiddenUnits must be a non-empty array/);
    expect(() => new AITM({ inputDim: 3, calibrationWeight: -1 })).toThrow('AITM: calibrationWeight must be a finite number ≥ 0, got -1');
    expect(() => new AITM({ inputDim: 3, alpha: 1 } as never)).toThrow(/^AITM: unknown option 'alpha'/);
  });
});
