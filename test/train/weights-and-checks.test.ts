import { describe, expect, it } from 'vitest';
import { Tensor, tensor } from '../../src/autograd/index.js';
import { Generator } from '../../src/tensor/index.js';
import { SharedBottom, DenseFeat, SparseFeat } from '../../src/models/index.js';
import { SGD } from '../../src/nn/optim/index.js';
import { evaluate, fit } from '../../src/train/trainer.js';
import { multiTaskLoss } from '../../src/train/loss.js';
import { resolveRowWeights } from '../../src/train/sample-weights.js';
import type { FitOptions } from '../../src/train/fit-plan.js';
import { copyWeights, smallMMoE, teacherData } from './helpers.js';

/** One seeded SGD fit; returns the trained weights and the history. */
function sgdFit(data: { x: Tensor; y: Tensor }, opts: FitOptions, lr = 0.1) {
  const model = smallMMoE(7);
  const h = fit(model, data, { epochs: 2, batchSize: 16, seed: 3, verbose: 0, optimizer: new SGD(model.parameters(), { lr }), ...opts });
  return { w: copyWeights(model), h };
}

const bce = (x: number, t: number): number => Math.max(x, 0) - x * t + Math.log1p(Math.exp(-Math.abs(x)));

describe('sampleWeight and classWeight', () => {
  it('multiTaskLoss: Σ_t w_t · (1/B) Σ_b r_bt · loss_bt (Keras: not divided by Σ r)', () => {
    const logits = tensor([[0.3, -1.2], [2.0, 0.5], [-0.7, 0.1]]);
    const y = tensor([[1, 0], [0, 1], [1, 1]]);
    const r = tensor([[2, 0], [0.5, 1], [1, 3]]);
    const want = [0, 1].reduce((s, j) => s + [2, 0.5][j] * [0, 1, 2].reduce((a, i) => a + r.data[2 * i + j] * bce(logits.data[2 * i + j], y.data[2 * i + j]), 0) / 3, 0);
    expect(multiTaskLoss(logits, y, ['binary', 'binary'], [2, 0.5], r)!.item()).toBeCloseTo(want, 5);
    const mixed = multiTaskLoss(logits, y, ['regression', 'binary'], [1, 1], r)!.item();
    const mse0 = [0, 1, 2].reduce((a, i) => a + r.data[2 * i] * (logits.data[2 * i] - y.data[2 * i]) ** 2, 0) / 3;
    const bce1 = [0, 1, 2].reduce((a, i) => a + r.data[2 * i + 1] * bce(logits.data[2 * i + 1], y.data[2 * i + 1]), 0) / 3;
    expect(mixed).toBeCloseTo(mse0 + bce1, 5);
  });

  it('a weight of 2 on every row trains exactly like loss weights of 2', () => {
    const data = teacherData(64, 6, 0);
    const a = sgdFit(data, { sampleWeight: new Float32Array(64).fill(2) });
    const b = sgdFit(data, { lossWeights: [2, 2] });
    expect(a.w).toEqual(b.w);
    expect(a.h.series('loss')).toEqual(b.h.series('loss'));
  });

  it('rows of weight 0 do not matter: changing their labels changes nothing', () => {
    const data = teacherData(64, 6, 1);
    const sw = Float32Array.from({ length: 64 }, (_, i) => (i % 3 === 0 ? 0 : 1 + (i % 5)));
    const noisy = new Tensor(Float32Array.from(data.y.data), [64, 2]);
    for (let i = 0; i < 64; i += 3) { noisy.data[2 * i] = 40; noisy.data[2 * i + 1] = 1 - noisy.data[2 * i + 1]; }
    const a = sgdFit(data, { sampleWeight: sw });
    const b = sgdFit({ x: data.x, y: noisy }, { sampleWeight: sw });
    expect(a.w).toEqual(b.w);
    // And the weights do act: without them the noisy labels train differently.
    expect(sgdFit({ x: data.x, y: noisy }, {}).w).not.toEqual(a.w);
  });

  it('[N, T] weights weigh each task apart: zero for one task trains like dropping it', () => {
    const data = teacherData(64, 6, 2);
    const sw = new Tensor(Float32Array.from({ length: 128 }, (_, k) => (k % 2 === 1 ? 0 : 1)), [64, 2]);
    const a = sgdFit(data, { sampleWeight: sw });
    const b = sgdFit(data, { lossWeights: { click: 0 } });
    expect(a.w).toEqual(b.w);
    // Its logged loss is the weighted one: 0.
    expect(a.h.series('click_loss')).toEqual([0, 0]);
  });

  it('classWeight {0: w0, 1: w1} equals the sample weights it stands for, and multiplies into sampleWeight', () => {
    const data = teacherData(64, 6, 3);
    const perTask = new Float32Array(128);
    for (let i = 0; i < 64; i++) { perTask[2 * i] = 1; perTask[2 * i + 1] = data.y.data[2 * i + 1] === 1 ? 3 : 0.5; }
    const a = sgdFit(data, { classWeight: { click: { 0: 0.5, 1: 3 } } });
    const b = sgdFit(data, { sampleWeight: perTask });
    expect(a.w).toEqual(b.w);
    const c = sgdFit(data, { classWeight: [null, { 0: 0.5, 1: 3 }], sampleWeight: new Float32Array(64).fill(2) });
    const d = sgdFit(data, { sampleWeight: perTask.map((v) => 2 * v) });
    expect(c.w).toEqual(d.w);
  });

  it('a soft label y weighs (1 − y)·w0 + y·w1', () => {
    const y = Float32Array.from([0, 0.25, 1, 0.5]);
    const w = resolveRowWeights('fit', [1, 1, 1, 2], { t: { 0: 1, 1: 5 } }, y, 4, ['binary'], ['t']);
    expect(Array.from(w!)).toEqual([1, 2, 5, 6]);
  });

  it('the logged per-task losses are the weighted ones', () => {
    const data = teacherData(64, 6, 4);
    // An lr so small that float32 weights do not move: both runs see the same model.
    const a = sgdFit(data, { sampleWeight: new Float32Array(64).fill(2), epochs: 1 }, 1e-30);
    const b = sgdFit(data, { epochs: 1 }, 1e-30);
    expect(a.h.last!.logs.click_loss).toBeCloseTo(2 * b.h.last!.logs.click_loss, 6);
    expect(a.h.last!.logs.value_loss).toBeCloseTo(2 * b.h.last!.logs.value_loss, 6);
  });

  it('bad weights are named with the row and task', () => {
    const data = teacherData(8, 6, 5);
    const run = (o: FitOptions) => () => fit(smallMMoE(), data, { verbose: 0, ...o });
    expect(run({ sampleWeight: [1, 2, 3] })).toThrow('fit: sampleWeight has 3 values; expected 8 (one per row) or 16 (one per row and task, row-major)');
    expect(run({ sampleWeight: tensor([[1, 2, 3]]) })).toThrow('fit: sampleWeight must be [8], [8,1] or [8,2] (one weight per row, or per row and task), got [1,3]');
    expect(run({ sampleWeight: [1, 1, 1, -1, 1, 1, 1, 1] })).toThrow('fit: sampleWeight must be finite and >= 0; row 3 has -1');
    expect(run({ sampleWeight: new Float32Array(16).fill(1).fill(NaN, 5, 6) })).toThrow("fit: sampleWeight must be finite and >= 0; row 2 (task 'click') has NaN");
    expect(run({ sampleWeight: 'all' as unknown as number[] })).toThrow('fit: sampleWeight must be a Tensor, a Float32Array or an array of numbers');
    expect(run({ classWeight: { value: { 0: 1, 1: 2 } } })).toThrow("fit: classWeight is for binary tasks; task 'value' is regression");
    expect(run({ classWeight: { clicks: { 0: 1, 1: 2 } } })).toThrow("fit: classWeight names unknown task 'clicks'; tasks: value, click");
    expect(run({ classWeight: { click: { 1: 2, 2: 1 } as object } })).toThrow("fit: classWeight of task 'click' has class '2'; binary tasks have classes 0 and 1");
    expect(run({ classWeight: { click: { 0: -1 } } })).toThrow("fit: classWeight of task 'click' must be finite and >= 0, got -1");
    expect(run({ classWeight: [{ 0: 1 }] })).toThrow('fit: classWeight needs one entry per task (2: value, click; null for none), got 1');
  });
});

describe('labels and inputs are checked before training', () => {
  const data = (): { x: Tensor; y: Tensor } => teacherData(16, 6, 6);

  it('binary labels must lie in [0, 1]; regression labels must be finite; the task and row are named', () => {
    const d1 = data();
    d1.y.data[2 * 5 + 1] = 2;
    expect(() => fit(smallMMoE(), d1, { verbose: 0 })).toThrow(new RangeError("fit: labels of binary task 'click' must lie in [0, 1] (0/1, or soft labels); row 5 has 2"));
    const d2 = data();
    d2.y.data[2 * 3] = NaN;
    expect(() => fit(smallMMoE(), d2, { verbose: 0 })).toThrow("fit: task 'value' has a missing (NaN) label at row 3; to train on partial labels, pass missingLabels");
    const d3 = data();
    d3.y.data[2 * 7 + 1] = -0.5;
    expect(() => fit(smallMMoE(), data(), { verbose: 0, validationData: d3 })).toThrow("fit (validationData): labels of binary task 'click' must lie in [0, 1] (0/1, or soft labels); row 7 has -0.5");
    expect(() => evaluate(smallMMoE(), d2)).toThrow("evaluate: task 'value' has a missing (NaN) label at row 3");
    d2.y.data[2 * 3] = Infinity;
    expect(() => fit(smallMMoE(), d2, { verbose: 0, missingLabels: 'mask' })).toThrow("fit: labels of regression task 'value' must be finite; row 3 has Infinity");
  });

  it('a non-finite input is reported as such (feature, row, column), not as a NaN loss', () => {
    const d = data();
    d.x.data[4 * 6 + 2] = NaN;
    expect(() => fit(smallMMoE(), d, { verbose: 0 }))
      .toThrow(new RangeError("fit: feature 'x' has a non-finite value NaN at row 4, column 2; fill or drop missing values before training"));
    const n = 10;
    const g = new Generator(1);
    const ids = Int32Array.from({ length: n }, () => g.randint(4));
    const dense = Float32Array.from({ length: 2 * n }, () => g.normal());
    dense[2 * 6 + 1] = Infinity;
    const y = new Float32Array(n * 2);
    const model = new SharedBottom({ features: [SparseFeat('cat', 4, { embeddingDim: 2 }), DenseFeat('num', 2)], bottomHiddenUnits: [4], taskTypes: ['binary', 'binary'], seed: 1 });
    expect(() => fit(model, { x: { cat: ids, num: dense }, y }, { verbose: 0 }))
      .toThrow("fit: feature 'num' has a non-finite value Infinity at row 6, column 1");
    expect(() => evaluate(model, { x: { cat: ids, num: dense }, y })).toThrow("evaluate: feature 'num' has a non-finite value Infinity at row 6, column 1");
  });

  it('soft binary labels train; AUC (hard labels only) is left out by default and refused when asked for', () => {
    const d = teacherData(64, 6, 7);
    for (let i = 0; i < 64; i++) d.y.data[2 * i + 1] = d.y.data[2 * i + 1] === 1 ? 0.9 : 0.1;
    const model = smallMMoE();
    const h = fit(model, d, { epochs: 2, verbose: 0, validationSplit: 0.25 });
    const logs = h.last!.logs;
    expect(logs.val_click_logloss).toBeTypeOf('number');
    expect(logs.val_click_accuracy).toBeTypeOf('number');
    expect('val_click_auc' in logs).toBe(false);
    expect(() => evaluate(model, d, { metrics: ['auc'] }))
      .toThrow("perTaskMetrics: AUC needs hard labels (0 or 1), but task 'click' has the soft label 0.10000000149011612 at row 0; leave 'auc' out of metrics, or round the labels");
  });
});
