import { describe, expect, it } from 'vitest';
import { Tensor, gradcheck, tensor } from '../../src/autograd/index.js';
import { Generator } from '../../src/tensor/index.js';
import { SGD } from '../../src/nn/optim/index.js';
import { evaluate, fit } from '../../src/train/trainer.js';
import { accumulateTaskLosses, multiTaskLoss, perTaskLosses } from '../../src/train/loss.js';
import { perTaskMetrics, rocAuc } from '../../src/train/metrics.js';
import type { FitOptions } from '../../src/train/fit-plan.js';
import { copyWeights, smallMMoE, teacherData } from './helpers.js';

const TOL = { eps: 1e-6, atol: 1e-5, rtol: 1e-3 };
const bce = (x: number, t: number): number => Math.max(x, 0) - x * t + Math.log1p(Math.exp(-Math.abs(x)));
const loss = (type: string, x: number, y: number): number => (type === 'binary' ? bce(x, y) : (x - y) ** 2);

/** Σ_t w_t (1/n_t) Σ_{observed b} r_bt · loss_t, straight from the definition. */
function reference(logits: number[], y: number[], types: string[], w: number[], r: number[] | null): number {
  const t = types.length, b = logits.length / t;
  let total = 0;
  for (let j = 0; j < t; j++) {
    let s = 0, n = 0;
    for (let i = 0; i < b; i++) {
      const k = i * t + j;
      if (Number.isNaN(y[k])) continue;
      n++;
      s += (r === null ? 1 : r[k]) * loss(types[j], logits[k], y[k]);
    }
    if (n > 0) total += (w[j] * s) / n;
  }
  return total;
}

const N = NaN;
const Y = [1, N, 0.3, 0, N, 1.2, 0, 1, N, N, 0, -0.4, 1, N, N, N, 1, 2];
const TYPES = ['binary', 'binary', 'regression'] as const;

describe('partial labels: the masked loss', () => {
  const g = new Generator(5);
  const logits64 = (): Tensor => new Tensor(Float64Array.from({ length: 18 }, () => g.normal()), [6, 3], true);
  const y64 = new Tensor(Float64Array.from(Y), [6, 3]);
  const r = [2, 0.5, 1, 1, 3, 0.2, 0.7, 1, 1, 1, 1, 4, 0, 2, 1, 1, 1, 1];

  it('is Σ_t w_t · mean over the task’s observed rows of r · loss (normalised by observed rows, not B nor Σ r)', () => {
    const x = logits64();
    for (const rw of [null, r]) {
      const got = multiTaskLoss(x, y64, TYPES, [1, 0.5, 2], rw === null ? null : new Tensor(Float64Array.from(rw), [6, 3]))!.item();
      expect(got).toBeCloseTo(reference(Array.from(x.data), Y, [...TYPES], [1, 0.5, 2], rw), 12);
    }
    // Not the mean over B: the first task has 4 observed rows of 6.
    const only = multiTaskLoss(x, y64, TYPES, [1, 0, 0])!.item();
    const obs = [0, 1, 2, 4].map((i) => bce(x.data[3 * i], Y[3 * i]));
    expect(only).toBeCloseTo(obs.reduce((a, v) => a + v, 0) / 4, 12);
  });

  it('float64 gradcheck of the masked loss, with and without row weights, and of perTaskLosses', () => {
    const rw = new Tensor(Float64Array.from(r), [6, 3]);
    for (const w of [null, rw]) {
      const res = gradcheck((x) => multiTaskLoss(x, y64, TYPES, [1, 0.5, 2], w)!, [logits64()], TOL);
      expect(res.ok, res.message).toBe(true);
      const per = gradcheck((x) => perTaskLosses(x, y64, TYPES, w).sum(), [logits64()], TOL);
      expect(per.ok, per.message).toBe(true);
    }
  });

  it('a missing label gets exactly zero gradient; a task with no observed row in the batch is left out', () => {
    const x = logits64();
    multiTaskLoss(x, y64, TYPES, [1, 1, 1])!.backward();
    for (let k = 0; k < 18; k++) {
      if (Number.isNaN(Y[k])) expect(x.grad!.data[k]).toBe(0);
      else expect(x.grad!.data[k]).not.toBe(0);
    }
    // Column 1 of rows 0..1 is all missing: only the other two tasks remain, as with weight 0.
    const top = new Tensor(Float64Array.from(Y.slice(0, 6)), [2, 3]);
    const x3 = new Tensor(Float64Array.from(x.data.slice(0, 6)), [2, 3]);
    expect(multiTaskLoss(x3, top, TYPES, [1, 1, 1])!.item()).toBe(multiTaskLoss(x3, new Tensor(top.data.map((v) => (Number.isNaN(v) ? 0 : v)), [2, 3]), TYPES, [1, 0, 1])!.item());
    const allMissing = new Tensor(new Float64Array(6).fill(NaN), [2, 3]);
    expect(multiTaskLoss(x3, allMissing, TYPES, [1, 1, 1])).toBeNull();
    // perTaskLosses keeps the task, at L = 0.
    expect(perTaskLosses(x3, top, TYPES).data[1]).toBe(0);
  });

  it('perTaskLosses: Σ w_t L_t is the masked multiTaskLoss; the logged sums skip missing rows', () => {
    const x = logits64();
    const L = perTaskLosses(x, y64, TYPES);
    expect(1 * L.data[0] + 0.5 * L.data[1] + 2 * L.data[2]).toBeCloseTo(multiTaskLoss(x, y64, TYPES, [1, 0.5, 2])!.item(), 12);
    const sums = new Float64Array(3), counts = new Float64Array(3);
    accumulateTaskLosses(x, y64, TYPES, sums, null, counts);
    expect(Array.from(counts)).toEqual([4, 3, 4]);
    for (let j = 0; j < 3; j++) expect(sums[j] / counts[j]).toBeCloseTo(L.data[j], 12);
  });
});

/** Task 1 (click) has a label on every third row only; task 0 on all but every fifth. */
function partialData(n: number, seed: number): { x: Tensor; y: Tensor } {
  const d = teacherData(n, 6, seed);
  const y = Float32Array.from(d.y.data);
  for (let i = 0; i < n; i++) {
    if (i % 3 !== 0) y[2 * i + 1] = NaN;
    if (i % 5 === 0) y[2 * i] = NaN;
  }
  return { x: d.x, y: new Tensor(y, [n, 2]) };
}

function sgdFit(data: { x: Tensor; y: Tensor }, opts: FitOptions) {
  const model = smallMMoE(7);
  const h = fit(model, data, { epochs: 2, batchSize: 16, seed: 3, verbose: 0, optimizer: new SGD(model.parameters(), { lr: 0.1 }), ...opts });
  return { model, w: copyWeights(model), h };
}

describe('partial labels: fit, evaluate and metrics', () => {
  it('NaN labels are an error naming the task and row unless missingLabels allows them', () => {
    const data = partialData(32, 1);
    expect(() => sgdFit(data, {})).toThrow(/^fit: task 'value' has a missing \(NaN\) label at row 0; .*missingLabels/);
    expect(() => sgdFit(data, { missingLabels: ['value'] })).toThrow(/^fit: task 'click' has a missing \(NaN\) label at row 1/);
    expect(() => sgdFit(data, { missingLabels: ['value', 'clicks'] })).toThrow(/^fit: missingLabels names unknown task 'clicks'; tasks: value, click/);
    expect(() => sgdFit(data, { missingLabels: 'yes' as never })).toThrow(/^fit: missingLabels must be 'error', 'mask' or an array of task names/);
    expect(() => evaluate(smallMMoE(1), data)).toThrow(/^evaluate: task 'value' has a missing \(NaN\) label/);
    expect(() => evaluate(smallMMoE(1), data, { missingLabels: 'mask', batchsize: 2 } as never)).toThrow(/^evaluate: unknown option 'batchsize'/);
    expect(sgdFit(data, { missingLabels: 'mask' }).h.series('loss').every(Number.isFinite)).toBe(true);
  });

  it('a task whose labels are all missing trains exactly like a task of loss weight 0', () => {
    const d = teacherData(64, 6, 2);
    const y = Float32Array.from(d.y.data);
    for (let i = 0; i < 64; i++) y[2 * i + 1] = NaN;
    const a = sgdFit({ x: d.x, y: new Tensor(y, [64, 2]) }, { missingLabels: ['click'] });
    const b = sgdFit(d, { lossWeights: { click: 0 } });
    expect(a.w).toEqual(b.w);
    expect(a.h.series('value_loss')).toEqual(b.h.series('value_loss'));
    expect(Number.isNaN(a.h.series('click_loss')[0])).toBe(true); // no observed row: no mean
  });

  it('the logged task loss is the mean over observed rows; classWeight and sampleWeight stay finite and separate', () => {
    const data = partialData(48, 3);
    const { h, model } = sgdFit(data, { missingLabels: 'mask', classWeight: { click: { 0: 1, 1: 3 } }, sampleWeight: new Float32Array(48).fill(2), epochs: 1, shuffle: false });
    expect(h.series('loss').every(Number.isFinite)).toBe(true);
    expect(h.series('click_loss').every(Number.isFinite)).toBe(true);
    expect(model.parameters().every((p) => p.data.every(Number.isFinite))).toBe(true);
  });

  it('metrics use the observed rows only; evaluate and fit validation agree; early stopping watches them', () => {
    const data = partialData(90, 4);
    const model = smallMMoE(3);
    const e = evaluate(model, data, { missingLabels: 'mask' });
    const keep = [...Array(90).keys()].filter((i) => i % 3 === 0);
    const p = model.forward(data.x).data;
    expect(e.tasks.click.auc).toBe(rocAuc(keep.map((i) => data.y.data[2 * i + 1]), keep.map((i) => p[2 * i + 1])));
    expect(Number.isFinite(e.tasks.value.mse!)).toBe(true);
    expect(Number.isFinite(e.loss)).toBe(true);
    // perTaskMetrics refuses NaN labels unless told, and otherwise equals metrics on the subset.
    expect(() => perTaskMetrics(data.y.data, p, ['regression', 'binary'], ['value', 'click'])).toThrow(/^perTaskMetrics: task 'value' has a missing \(NaN\) label at row 0/);

    const m2 = smallMMoE(3);
    const h = fit(m2, { x: data.x, y: data.y }, {
      epochs: 3, batchSize: 16, seed: 1, verbose: 0, missingLabels: 'mask', validationData: data,
      earlyStopping: { monitor: 'val_click_auc', patience: 5 },
    });
    const last = h.epochs[h.epochs.length - 1].logs;
    const ev = evaluate(m2, data, { missingLabels: 'mask' });
    expect(last.val_click_auc).toBe(ev.tasks.click.auc);
    expect(last.val_value_mse).toBe(ev.tasks.value.mse);
    expect(last.val_loss).toBeCloseTo(ev.loss, 12);
    expect(h.series('val_click_auc').every(Number.isFinite)).toBe(true);
    expect(h.bestEpoch).toBeGreaterThan(0);
    // validationSplit carries the mask too.
    const hs = fit(smallMMoE(3), data, { epochs: 1, verbose: 0, missingLabels: 'mask', validationSplit: 0.3 });
    expect(Number.isFinite(hs.epochs[0].logs.val_click_logloss)).toBe(true);
  });
});

describe('partial labels with learned task weighting', () => {
  it("'uncertainty' and 'gradnorm' train on masked losses (finite weights and logs)", () => {
    const data = partialData(64, 6);
    for (const taskWeighting of ['uncertainty', 'gradnorm'] as const) {
      const model = smallMMoE(4);
      const h = fit(model, data, { epochs: 2, batchSize: 8, verbose: 0, seed: 1, missingLabels: 'mask', taskWeighting });
      for (const k of ['loss', 'value_loss', 'click_loss', 'value_weight', 'click_weight']) expect(h.series(k).every(Number.isFinite), `${taskWeighting} ${k}`).toBe(true);
      expect(model.parameters().every((p) => p.data.every(Number.isFinite))).toBe(true);
    }
  });
});

describe('tensor helper', () => {
  it('float32 and float64 masked losses agree', () => {
    const x32 = tensor([[0.3, -1.2], [2.0, 0.5], [-0.7, 0.1]]);
    const y = tensor([[1, NaN], [NaN, 1], [0, 0]]);
    const a = multiTaskLoss(x32, y, ['binary', 'binary'], [1, 1])!.item();
    const b = multiTaskLoss(x32.to('float64'), y.to('float64'), ['binary', 'binary'], [1, 1])!.item();
    expect(Math.abs(a - b) / b).toBeLessThan(1e-6);
  });
});
