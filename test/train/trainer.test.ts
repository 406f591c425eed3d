import { describe, expect, it } from 'vitest';
import { Tensor, randn, tensor } from '../../src/autograd/index.js';
import { Generator, manualSeed } from '../../src/tensor/index.js';
import { MMoE, SharedBottom, SparseFeat, DenseFeat, type MultiTaskModel } from '../../src/models/index.js';
import { ReduceLROnPlateau, SGD } from '../../src/nn/optim/index.js';
import { evaluate, fit, predict } from '../../src/train/trainer.js';
import { multiTaskLoss } from '../../src/train/loss.js';
import { ProgressBar } from '../../src/train/progress.js';
import { smallMMoE, teacherData } from './helpers.js';

const copyWeights = (m: MultiTaskModel): Float32Array[] => m.parameters().map((p) => Float32Array.from(p.data));

describe('fit', () => {
  it('a non-finite loss stops fit before the optimizer steps, leaving the weights as they were', () => {
    const data = teacherData(32, 6, 0);
    const model = smallMMoE();
    // A diverged weight (labels and inputs are checked up front, so NaN must come from the model).
    model.parameters()[0].data[0] = NaN;
    const before = copyWeights(model);
    expect(() => fit(model, data, { epochs: 1, batchSize: 32, shuffle: false, verbose: 0 }))
      .toThrow('fit: the loss became NaN at epoch 1, step 1');
    expect(copyWeights(model)).toEqual(before);
  });

  it('lowers the training and validation loss of a small two-task problem', () => {
    const data = teacherData(256, 6, 0);
    const model = smallMMoE();
    const h = fit(model, data, { epochs: 15, batchSize: 32, lr: 0.02, validationSplit: 0.25, seed: 0, verbose: 0 });
    const loss = h.series('loss'), val = h.series('val_loss');
    expect(loss).toHaveLength(15);
    expect(loss[14]).toBeLessThan(0.5 * loss[0]);
    expect(val[14]).toBeLessThan(val[0]);
    expect(h.last!.logs.val_click_auc).toBeGreaterThan(0.85);
    for (const k of ['value_loss', 'click_loss', 'val_value_mse', 'val_click_logloss', 'val_click_accuracy']) expect(h.last!.logs[k]).toBeTypeOf('number');
  });

  it('accepts an optimizer instance and feature-column inputs given as typed arrays', () => {
    const n = 120;
    const g = new Generator(4);
    const ids = Int32Array.from({ length: n }, () => g.randint(5));
    const dense = Float32Array.from({ length: n }, () => g.normal());
    const y = new Float32Array(n * 2);
    for (let i = 0; i < n; i++) { y[2 * i] = ids[i] >= 3 ? 1 : 0; y[2 * i + 1] = dense[i] > 0 ? 1 : 0; }
    const model = new SharedBottom({
      features: [SparseFeat('cat', 5, { embeddingDim: 3 }), DenseFeat('num', 1)], bottomHiddenUnits: [8],
      taskTypes: ['binary', 'binary'], initStd: 0.3, seed: 2,
    });
    const opt = new SGD(model.parameters(), { lr: 0.5 });
    const h = fit(model, { x: { cat: ids, num: dense }, y }, { epochs: 30, batchSize: 30, optimizer: opt, seed: 1, verbose: 0 });
    expect(h.series('loss')[29]).toBeLessThan(h.series('loss')[0]);
    const ev = evaluate(model, { x: { cat: ids, num: dense }, y });
    expect(ev.tasks.task0.auc).toBeGreaterThan(0.95);
    // predict takes the same record; its row count comes from the one-value-per-row columns.
    const p = predict(model, { cat: ids, num: dense }, { batchSize: 50 });
    expect(p.shape).toEqual([n, 2]);
    expect(() => predict(model, { cat: ids, num: dense.subarray(0, 7) })).toThrow(/cannot tell the row count .*120, 7/);
  });

  it('a task of loss weight 0 sends no gradient to the parameters only it uses', () => {
    const data = teacherData(64, 6, 1);
    const model = smallMMoE(3);
    const before = copyWeights(model);
    fit(model, data, { epochs: 2, batchSize: 16, lossWeights: { click: 0 }, seed: 0, verbose: 0 });
    const names = model.namedParameters().map(([n]) => n);
    const changed = (prefix: string): boolean[] => model.namedParameters()
      .map(([n, p], i) => [n, p.data.some((v, k) => v !== before[i][k])] as const)
      .filter(([n]) => n.startsWith(prefix)).map(([, c]) => c);
    // Task 1 ('click'): its gate, tower and output bias are untouched, and their gradients are absent
    // or exactly zero (the per-task logits are joined into one [B, T] tensor before the loss).
    for (const prefix of ['gate_dnn_final_layer.1', 'tower_dnn.1', 'tower_dnn_final_layer.1', 'out.1']) {
      expect(changed(prefix).length).toBeGreaterThan(0);
      expect(changed(prefix).every((c) => !c)).toBe(true);
      for (const [n, p] of model.namedParameters()) if (n.startsWith(prefix)) expect(p.grad === null || p.grad.data.every((v) => v === 0)).toBe(true);
    }
    for (const prefix of ['gate_dnn_final_layer.0', 'tower_dnn.0', 'expert_dnn.0']) expect(changed(prefix).some(Boolean)).toBe(true);
    expect(names.length).toBeGreaterThan(0);
  });

  it('weights each task loss: Σ w_t · loss_t', () => {
    const logits = tensor([[0.3, -1.2], [2.0, 0.5], [-0.7, 0.1]]);
    const y = tensor([[1, 0], [0, 1], [1, 1]]);
    const bce = (x: number, t: number): number => Math.max(x, 0) - x * t + Math.log1p(Math.exp(-Math.abs(x)));
    const per = [0, 1].map((j) => [0, 1, 2].reduce((s, i) => s + bce(logits.data[2 * i + j], y.data[2 * i + j]), 0) / 3);
    const got = multiTaskLoss(logits, y, ['binary', 'binary'], [2, 0.5])!.item();
    expect(got).toBeCloseTo(2 * per[0] + 0.5 * per[1], 5);
    const mixed = multiTaskLoss(logits, y, ['regression', 'binary'], [1, 3])!.item();
    const mse0 = [0, 1, 2].reduce((s, i) => s + (logits.data[2 * i] - y.data[2 * i]) ** 2, 0) / 3;
    expect(mixed).toBeCloseTo(mse0 + 3 * per[1], 5);
    expect(multiTaskLoss(logits, y, ['binary', 'binary'], [0, 0])).toBeNull();
  });

  it('validationSplit holds out the last rows; validationData is used as given', () => {
    const data = teacherData(40, 6, 2);
    let info: { stepsPerEpoch: number; samples: number } | undefined;
    const h = fit(smallMMoE(), data, { epochs: 1, batchSize: 10, validationSplit: 0.25, seed: 3, verbose: 0, callbacks: { onTrainBegin: (i) => { info = i; } } });
    expect(info).toEqual({ epochs: 1, stepsPerEpoch: 3, samples: 30, initialEpoch: 0 });
    // The held-out rows are rows 30..39: evaluating on them gives the logged validation loss.
    const model = smallMMoE();
    const h2 = fit(model, { x: data.x.slice(0, 0, 30), y: data.y.slice(0, 0, 30) }, {
      epochs: 1, batchSize: 10, seed: 3, validationData: { x: data.x.slice(0, 30, 40), y: data.y.slice(0, 30, 40) }, verbose: 0,
    });
    expect(h2.last!.logs.val_loss).toBe(h.last!.logs.val_loss);
    expect(() => fit(smallMMoE(), data, { validationSplit: 1.5, verbose: 0 })).toThrow(/validationSplit must be in \(0, 1\)/);
  });

  it('an empty validationData is refused up front, not trained past with NaN metrics', () => {
    const data = teacherData(20, 6, 2);
    const empty = { x: data.x.slice(0, 0, 0), y: data.y.slice(0, 0, 0) };
    expect(empty.x.shape).toEqual([0, 6]);
    let epochs = 0;
    expect(() => fit(smallMMoE(), data, {
      epochs: 2, verbose: 0, validationData: empty, lrScheduler: (o) => new ReduceLROnPlateau(o), callbacks: { onEpochEnd: () => { epochs++; } },
    })).toThrow(new RangeError('fit: validationData has no rows'));
    expect(epochs).toBe(0);
    expect(() => fit(smallMMoE(), data, { verbose: 0, validationData: empty, earlyStopping: { monitor: 'val_loss' } }))
      .toThrow('fit: validationData has no rows');
  });

  it('early stopping stops after `patience` epochs without improvement and can restore the best weights', () => {
    const data = teacherData(64, 6, 3);
    const model = smallMMoE();
    let afterEpoch1: Float32Array[] = [];
    // The training loss falls every epoch, so in 'max' mode only epoch 1 is ever the best.
    const h = fit(model, data, {
      epochs: 10, batchSize: 16, lr: 0.01, verbose: 0,
      earlyStopping: { monitor: 'loss', mode: 'max', patience: 2, restoreBestWeights: true },
      callbacks: { onEpochEnd: (log) => { if (log.epoch === 1) afterEpoch1 = copyWeights(model); } },
    });
    // As in Keras: epochs 2 and 3 do not improve, and the second of them (wait = patience = 2) stops it.
    expect(h.epochs).toHaveLength(3);
    expect(h.stoppedEarly).toBe(true);
    expect(h.bestEpoch).toBe(1);
    expect(copyWeights(model)).toEqual(afterEpoch1);
    // Improving every epoch: never stops.
    const h2 = fit(smallMMoE(), data, { epochs: 4, batchSize: 16, lr: 0.01, verbose: 0, earlyStopping: { monitor: 'loss', patience: 0 } });
    expect(h2.epochs).toHaveLength(4);
    expect(h2.stoppedEarly).toBe(false);
    expect(() => fit(smallMMoE(), data, { epochs: 1, verbose: 0, earlyStopping: { monitor: 'val_auc' } })).toThrow(/no validation data/);
    expect(() => fit(smallMMoE(), data, { epochs: 1, verbose: 0, validationSplit: 0.5, earlyStopping: { monitor: 'val_nope' } }))
      .toThrow(/'val_nope', which is not logged; logged keys: loss, value_loss/);
  });

  it('a callback can stop training; clipGradNorm bounds each step', () => {
    const data = teacherData(64, 6, 9);
    const h = fit(smallMMoE(), data, {
      epochs: 5, batchSize: 16, verbose: 0,
      callbacks: [{ onEpochEnd: (log, control) => { if (log.epoch === 2) control.stop(); } }],
    });
    expect(h.epochs).toHaveLength(2);
    expect(h.stoppedEarly).toBe(true);
    // SGD with lr 1: each step moves the weights by the clipped gradient, whose norm is at most 1e-3.
    const model = smallMMoE();
    const before = copyWeights(model);
    fit(model, data, { epochs: 1, batchSize: 16, optimizer: new SGD(model.parameters(), { lr: 1 }), clipGradNorm: 1e-3, verbose: 0 });
    let sq = 0;
    copyWeights(model).forEach((w, i) => w.forEach((v, k) => { sq += (v - before[i][k]) ** 2; }));
    expect(Math.sqrt(sq)).toBeLessThanOrEqual(4 * 1e-3 * 1.0001);
    expect(Math.sqrt(sq)).toBeGreaterThan(0);
  });

  it('manualSeed plus the seed option make a fit bit-for-bit reproducible (dropout and shuffling included)', () => {
    const data = teacherData(96, 6, 4);
    const run = (): { w: Float32Array[]; losses: number[] } => {
      manualSeed(11);
      const model = smallMMoE(5, { dnnDropout: 0.2 });
      const h = fit(model, data, { epochs: 3, batchSize: 16, seed: 7, validationSplit: 0.2, verbose: 0 });
      return { w: copyWeights(model), losses: [...h.series('loss'), ...h.series('val_loss')] };
    };
    const a = run(), b = run();
    expect(b.losses).toEqual(a.losses);
    expect(b.w).toEqual(a.w);
    // A different shuffling seed gives a different run (the test can fail).
    manualSeed(11);
    const m = smallMMoE(5, { dnnDropout: 0.2 });
    fit(m, data, { epochs: 3, batchSize: 16, seed: 8, validationSplit: 0.2, verbose: 0 });
    expect(copyWeights(m)).not.toEqual(a.w);
  });

  it('rejects mismatched labels and loss weights with messages naming the problem', () => {
    const data = teacherData(20, 6, 5);
    expect(() => fit(smallMMoE(), { x: data.x, y: tensor([[1, 2, 3]]) }, { verbose: 0 })).toThrow(/fit: labels must be \[N, 2\].*got \[1, ?3\]/);
    expect(() => fit(smallMMoE(), { x: data.x.slice(0, 0, 10), y: data.y }, { verbose: 0 })).toThrow(/fit: feature 'x' has shape \[10, ?6\], expected 20 rows/);
    expect(() => fit(smallMMoE(), data, { lossWeights: [1], verbose: 0 })).toThrow(/one weight per task \(2: value, click\), got 1/);
    expect(() => fit(smallMMoE(), data, { lossWeights: { clicks: 1 }, verbose: 0 })).toThrow(/unknown task 'clicks'/);
    expect(() => fit(smallMMoE(), data, { batchSize: 0, verbose: 0 })).toThrow(/batchSize must be a positive integer, got 0/);
  });
});

/** AUC by its definition: P(score of a positive > score of a negative) + ½ P(tie). */
function pairAuc(y: number[], p: number[]): number {
  let s = 0, n = 0;
  for (let i = 0; i < y.length; i++) for (let j = 0; j < y.length; j++) {
    if (y[i] === 1 && y[j] === 0) { n++; s += p[i] > p[j] ? 1 : p[i] === p[j] ? 0.5 : 0; }
  }
  return s / n;
}

describe('evaluate and predict', () => {
  it('evaluate on [N, 2] labels matches metrics computed by hand from predict', () => {
    const data = teacherData(50, 6, 6);
    const y = new Float32Array(100);
    for (let i = 0; i < 50; i++) { y[2 * i] = data.y.data[2 * i] > 0 ? 1 : 0; y[2 * i + 1] = data.y.data[2 * i + 1]; }
    const model = new MMoE({ inputDim: 6, numExperts: 2, expertHiddenUnits: [4], taskTypes: ['binary', 'binary'], taskNames: ['a', 'b'], initStd: 0.5, seed: 9 });
    const p = predict(model, data.x, { batchSize: 7 });
    expect(p.shape).toEqual([50, 2]);
    const ev = evaluate(model, { x: data.x, y: new Tensor(y, [50, 2]) }, { batchSize: 16 });
    ['a', 'b'].forEach((task, j) => {
      const yt = Array.from({ length: 50 }, (_, i) => y[2 * i + j]);
      const pt = Array.from({ length: 50 }, (_, i) => p.data[2 * i + j]);
      const ll = -yt.reduce((s, t, i) => s + t * Math.log(pt[i]) + (1 - t) * Math.log(1 - pt[i]), 0) / 50;
      const acc = yt.filter((t, i) => (pt[i] > 0.5 ? 1 : 0) === t).length / 50;
      expect(ev.tasks[task].auc).toBeCloseTo(pairAuc(yt, pt), 10);
      expect(ev.tasks[task].logloss).toBeCloseTo(ll, 5);
      expect(ev.tasks[task].accuracy).toBeCloseTo(acc, 10);
    });
    expect(ev.loss).toBeCloseTo(ev.tasks.a.logloss! + ev.tasks.b.logloss!, 5);
  });

  it('evaluate on 0 rows is an error; predict on 0 rows is an empty [0, T] tensor', () => {
    const data = teacherData(10, 6, 7);
    const model = smallMMoE();
    const x0 = data.x.slice(0, 0, 0), y0 = data.y.slice(0, 0, 0);
    expect(() => evaluate(model, { x: x0, y: y0 })).toThrow(new RangeError('evaluate: the data has no rows (every metric would be NaN)'));
    expect(predict(model, x0).shape).toEqual([0, 2]);
  });

  it('predict runs in eval mode, restores the mode, and does not depend on the batch size', () => {
    const data = teacherData(33, 6, 7);
    const model = smallMMoE(2, { dnnDropout: 0.5 });
    model.train();
    const a = predict(model, data.x, { batchSize: 1 });
    const b = predict(model, data.x, { batchSize: 1000 });
    expect(model.training).toBe(true);
    // Equal up to float32 rounding, not bit for bit: with the WebAssembly backend a batch's size
    // decides whether a product runs there (float32 accumulation) or in JavaScript (float64), and
    // the fused expert product crosses that threshold between 1 and 33 rows. Dropout left on
    // would change the outputs by far more than this.
    for (let i = 0; i < a.size; i++) expect(Math.abs(b.data[i] - a.data[i])).toBeLessThanOrEqual(1e-6 * Math.max(1, Math.abs(a.data[i])));
    for (let i = 0; i < 33; i++) expect(a.data[2 * i + 1]).toBeGreaterThan(0); // sigmoid for the binary task
  });
});

describe('progress output', () => {
  const sink = (isTTY: boolean): { isTTY: boolean; text: string; write(s: string): void } => ({ isTTY, text: '', write(s: string) { this.text += s; } });

  it('prints one line per epoch off a terminal, an in-place bar on one, nothing at verbose 0', () => {
    const data = teacherData(64, 6, 8);
    const plain = sink(false);
    fit(smallMMoE(), data, { epochs: 3, batchSize: 16, validationSplit: 0.25, progressStream: plain, verbose: 1 });
    const lines = plain.text.trim().split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[2]).toMatch(/^epoch 3\/3 - .* samples\/s - loss \d\.\d{4} - .*val_loss/);
    expect(plain.text).not.toContain('\r');

    const tty = sink(true);
    fit(smallMMoE(), data, { epochs: 2, batchSize: 16, progressStream: tty, verbose: 1 });
    expect(tty.text).toContain('\r');
    expect(tty.text).toMatch(/epoch 1\/2 \[[=>.]+\] \d+\/4 - loss .* samples\/s - ETA/);
    expect(tty.text.trim().split('\n')).toHaveLength(2);

    const quiet = sink(true);
    fit(smallMMoE(), data, { epochs: 1, progressStream: quiet, verbose: 0 });
    expect(quiet.text).toBe('');
  });

  it('throttles bar redraws by the clock but always draws the last step', () => {
    let t = 0;
    const s = { isTTY: true, text: '', write(x: string) { this.text += x; } };
    const bar = new ProgressBar({ stream: s, now: () => t, refreshMs: 100 });
    bar.epochBegin(1, 1, 10);
    for (let i = 1; i <= 10; i++) { t += 30; bar.step(i, 1, i * 8); }
    const draws = s.text.split('\r').length - 1;
    expect(draws).toBeGreaterThanOrEqual(3);
    expect(draws).toBeLessThan(10);
    expect(s.text).toContain('10/10');
  });
});
