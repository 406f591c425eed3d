import { describe, expect, it } from 'vitest';
import { Tensor, gradcheck, randn } from '../../src/autograd/index.js';
import { Generator } from '../../src/tensor/index.js';
import { DCN, ESMM, MMoE, OMoE, PLE, SharedBottom, SingleTask, type MultiTaskBase, type TaskType } from '../../src/models/index.js';
import { evaluate, fit, predict } from '../../src/train/trainer.js';
import { accumulateTaskLosses, multiTaskLoss, perTaskLosses } from '../../src/train/loss.js';
import { macroAuc, multiclassAccuracy, multiclassLogloss, perTaskMetrics, rocAuc } from '../../src/train/metrics.js';

const TOL = { eps: 1e-6, atol: 1e-5, rtol: 1e-3 };
const TYPES: TaskType[] = ['binary', 'multiclass', 'regression', 'multiclass'];
const WIDTHS = [1, 3, 1, 4];
const bce = (x: number, t: number): number => Math.max(x, 0) - x * t + Math.log1p(Math.exp(-Math.abs(x)));
const ce = (z: number[], c: number): number => Math.log(z.reduce((a, v) => a + Math.exp(v), 0)) - z[c];

/** Σ_t w_t · mean over observed rows of r · loss_t, from the definitions. */
function reference(x: ArrayLike<number>, y: ArrayLike<number>, w: number[], r: ArrayLike<number> | null, b: number): number {
  let total = 0;
  for (let j = 0, off = 0; j < 4; off += WIDTHS[j], j++) {
    let s = 0, n = 0;
    for (let i = 0; i < b; i++) {
      const label = y[i * 4 + j];
      if (Number.isNaN(label)) continue;
      n++;
      const z = Array.from({ length: WIDTHS[j] }, (_, k) => x[i * 9 + off + k]);
      const l = TYPES[j] === 'multiclass' ? ce(z, label) : TYPES[j] === 'binary' ? bce(z[0], label) : (z[0] - label) ** 2;
      s += (r === null ? 1 : r[i * 4 + j]) * l;
    }
    if (n > 0) total += (w[j] * s) / n;
  }
  return total;
}

describe('multiclass: the loss', () => {
  const g = new Generator(3);
  const B = 5;
  const logits = (): Tensor => new Tensor(Float64Array.from({ length: B * 9 }, () => 2 * g.normal()), [B, 9], true);
  const y = new Tensor(Float64Array.from([1, 2, 0.5, 3, 0, 0, -1, NaN, 1, 1, 2, 0, 0, NaN, 0.1, 1, NaN, 2, NaN, 2]), [B, 4]);
  const r = new Tensor(Float64Array.from({ length: B * 4 }, () => 0.5 + g.random()), [B, 4]);

  it('is softmax cross-entropy on each K-column block, beside the binary and regression columns', () => {
    const x = logits();
    for (const rw of [null, r]) {
      const got = multiTaskLoss(x, y, TYPES, [1, 2, 0.5, 1.5], rw, WIDTHS)!.item();
      expect(got).toBeCloseTo(reference(x.data, y.data, [1, 2, 0.5, 1.5], rw?.data ?? null, B), 12);
      const L = perTaskLosses(x, y, TYPES, rw, WIDTHS);
      expect(L.data[0] + 2 * L.data[1] + 0.5 * L.data[2] + 1.5 * L.data[3]).toBeCloseTo(got, 12);
    }
    const sums = new Float64Array(4), counts = new Float64Array(4);
    accumulateTaskLosses(x, y, TYPES, sums, null, counts, WIDTHS);
    const L = perTaskLosses(x, y, TYPES, null, WIDTHS);
    for (let j = 0; j < 4; j++) expect(sums[j] / counts[j]).toBeCloseTo(L.data[j], 12);
    expect(() => multiTaskLoss(x, y, TYPES, [1, 1, 1, 1])).toThrow(/^multiTaskLoss: widths must give each multiclass task its K ≥ 2 columns/);
    expect(() => multiTaskLoss(x, y, TYPES, [1, 1, 1, 1], null, [1, 3, 1, 3])).toThrow(/^multiTaskLoss: expected logits \[B, 8\] and labels \[B, 4\], got \[5,9\] and \[5,4\]$/);
  });

  it('float64 gradcheck of multiTaskLoss and perTaskLosses with multiclass tasks, row weights and missing labels', () => {
    for (const rw of [null, r]) {
      const a = gradcheck((x) => multiTaskLoss(x, y, TYPES, [1, 2, 0.5, 1.5], rw, WIDTHS)!, [logits()], TOL);
      expect(a.ok, a.message).toBe(true);
      const b = gradcheck((x) => perTaskLosses(x, y, TYPES, rw, WIDTHS).mul(new Tensor(Float64Array.from([0.3, 1, 2, 0.7]), [4])).sum(), [logits()], TOL);
      expect(b.ok, b.message).toBe(true);
    }
  });
});

const dense = (opts: { taskTypes: TaskType[]; numClasses: Record<string, number> | number[]; taskNames?: string[] }) => ({ inputDim: 5, initStd: 0.5, seed: 2, ...opts });
const MODELS: Array<[string, (o: ReturnType<typeof dense>) => MultiTaskBase]> = [
  ['MMoE', (o) => new MMoE({ ...o, numExperts: 3, expertHiddenUnits: [6], towerHiddenUnits: [4] })],
  ['OMoE', (o) => new OMoE({ ...o, numExperts: 2, expertHiddenUnits: [6] })],
  ['SharedBottom', (o) => new SharedBottom({ ...o, bottomHiddenUnits: [6], towerHiddenUnits: [3] })],
  ['SingleTask', (o) => new SingleTask({ ...o, hiddenUnits: [4] })],
  ['PLE', (o) => new PLE({ ...o, expertHiddenUnits: [4], numLevels: 2, towerHiddenUnits: [3] })],
  ['DCN', (o) => new DCN({ ...o, crossNum: 1, dnnHiddenUnits: [4] })],
];

describe('multiclass: every multi-task model', () => {
  const opts = dense({ taskTypes: ['binary', 'multiclass', 'regression'], numClasses: { genre: 4 }, taskNames: ['click', 'genre', 'time'] });
  it.each(MODELS)('%s: [B, 6] outputs (a softmax block of 4), the loss gradchecks through the whole model', (_name, make) => {
    const m = make(opts).to('float64');
    expect(m.numClasses).toEqual([1, 4, 1]);
    const x = randn([3, 5], { generator: new Generator(1), dtype: 'float64' });
    const p = m.forward(x);
    expect(p.shape).toEqual([3, 6]);
    for (let i = 0; i < 3; i++) {
      expect(p.data[i * 6 + 1] + p.data[i * 6 + 2] + p.data[i * 6 + 3] + p.data[i * 6 + 4]).toBeCloseTo(1, 12);
      expect(p.data[i * 6]).toBeCloseTo(1 / (1 + Math.exp(-m.logits(x).data[i * 6])), 12);
    }
    const y = new Tensor(Float64Array.from([1, 3, 0.2, 0, 0, -1, 1, 2, 0.5]), [3, 3]);
    const res = gradcheck((xx) => multiTaskLoss(m.logits(xx), y, m.taskTypes, [1, 1, 1], null, m.numClasses)!, [x.detach().requiresGrad_()], TOL);
    expect(res.ok, res.message).toBe(true);
    // And through the parameters (the last layers, where the K-wide blocks live).
    const params = m.parameters().slice(-3);
    const pres = gradcheck(() => multiTaskLoss(m.logits(x), y, m.taskTypes, [1, 1, 1], null, m.numClasses)!, params, TOL);
    expect(pres.ok, pres.message).toBe(true);
  });

  it('options are checked: numClasses missing, unknown task, K < 2, K on a binary task', () => {
    const o = { inputDim: 5, numExperts: 2, expertHiddenUnits: [4], taskTypes: ['binary', 'multiclass'] as TaskType[], taskNames: ['a', 'b'] };
    expect(() => new MMoE(o)).toThrow(/^MMoE: task 'b' is multiclass; give its number of classes in numClasses \(e\.g\. \{ b: 5 \}\)/);
    expect(() => new MMoE({ ...o, numClasses: { c: 3 } })).toThrow(/^MMoE: numClasses names unknown task 'c'; tasks: a, b/);
    expect(() => new MMoE({ ...o, numClasses: { b: 1 } })).toThrow(/^MMoE: numClasses of task 'b' must be an integer ≥ 2, got 1/);
    expect(() => new MMoE({ ...o, numClasses: [3, 3] })).toThrow(/^MMoE: numClasses of binary task 'a' must be 1 \(or left out\), got 3/);
    expect(() => new MMoE({ ...o, numClasses: [1] })).toThrow(/^MMoE: numClasses needs one entry per task \(a, b\), got 1/);
    expect(() => new MMoE({ ...o, numClasses: 3 as never })).toThrow(/^MMoE: numClasses must map multiclass task names/);
    expect(() => new MMoE({ ...o, taskTypes: ['binary', 'multi' as TaskType] })).toThrow(/^MMoE: taskTypes\[1\] must be 'binary', 'regression' or 'multiclass', got "multi"/);
    expect(new MMoE({ ...o, numClasses: [1, 3] }).numClasses).toEqual([1, 3]);
    expect(() => new ESMM({ inputDim: 3, taskTypes: ['binary', 'multiclass'] })).toThrow(/^ESMM: taskTypes must be \['binary', 'binary'\] \(CTR, then CTCVR; multiclass and regression tasks have no CTR × CVR chain\)/);
  });
});

/** Three classes by which of three projections of x is largest; a binary label from the sign of x0. */
function threeClassData(n: number, seed: number): { x: Tensor; y: Tensor } {
  const g = new Generator(seed);
  const x = randn([n, 5], { generator: g });
  const y = new Float32Array(n * 2);
  for (let i = 0; i < n; i++) {
    const v = x.data.subarray(i * 5, i * 5 + 5);
    const s = [v[0] + v[1], v[2] - v[1], v[3] + v[4] - v[0]];
    y[2 * i] = v[0] > 0 ? 1 : 0;
    y[2 * i + 1] = s.indexOf(Math.max(...s));
  }
  return { x, y: new Tensor(y, [n, 2]) };
}

describe('multiclass: fit, evaluate, predict and metrics', () => {
  it('MMoE learns a 3-class task beside a binary one; metrics and validation cover it', () => {
    const train = threeClassData(600, 1), test = threeClassData(300, 2);
    const m = new MMoE({ inputDim: 5, numExperts: 3, expertHiddenUnits: [16], towerHiddenUnits: [8], taskTypes: ['binary', 'multiclass'], taskNames: ['pos', 'cls'], numClasses: { cls: 3 }, seed: 1 });
    const before = evaluate(m, test);
    const h = fit(m, train, { epochs: 12, batchSize: 32, lr: 0.01, seed: 1, verbose: 0, validationData: test, earlyStopping: { monitor: 'val_cls_accuracy', patience: 20 } });
    const e = evaluate(m, test);
    expect(before.tasks.cls.accuracy!).toBeLessThan(0.6);
    expect(e.tasks.cls.accuracy!).toBeGreaterThan(0.8);
    expect(e.tasks.cls.auc!).toBeGreaterThan(0.9);
    expect(e.tasks.cls.logloss!).toBeLessThan(before.tasks.cls.logloss!);
    expect(h.series('cls_loss').every(Number.isFinite)).toBe(true);
    expect(h.epochs.at(-1)!.logs.val_cls_accuracy).toBe(e.tasks.cls.accuracy);
    expect(e.loss).toBeCloseTo(e.tasks.pos.logloss! + e.tasks.cls.logloss!, 5);
    const p = predict(m, test.x);
    expect(p.shape).toEqual([300, 4]);
    const probs = Float64Array.from({ length: 900 }, (_, k) => p.data[Math.floor(k / 3) * 4 + 1 + (k % 3)]);
    const labels = Array.from({ length: 300 }, (_, i) => test.y.data[2 * i + 1]);
    expect(e.tasks.cls.accuracy).toBe(multiclassAccuracy(labels, probs, 3));
    // Bad class labels are named.
    const bad = threeClassData(20, 3);
    bad.y.data[2 * 7 + 1] = 3;
    expect(() => fit(m, bad, { verbose: 0 })).toThrow(/^fit: labels of multiclass task 'cls' must be class indices 0\.\.2; row 7 has 3/);
    bad.y.data[2 * 7 + 1] = NaN;
    expect(fit(m, bad, { verbose: 0, missingLabels: ['cls'] }).series('cls_loss').every(Number.isFinite)).toBe(true);
  });

  it('macroAuc, multiclassAccuracy and multiclassLogloss against their definitions', () => {
    const g = new Generator(9);
    const n = 200, k = 4;
    const labels = Array.from({ length: n }, () => g.randint(3)); // class 3 never occurs: left out of the macro mean
    const probs = Float64Array.from({ length: n * k }, () => Math.round(g.random() * 10) / 10);
    let want = 0;
    for (let c = 0; c < 3; c++) want += rocAuc(labels.map((l) => (l === c ? 1 : 0)), Array.from({ length: n }, (_, i) => probs[i * k + c])) / 3;
    expect(macroAuc(labels, probs, k)).toBeCloseTo(want, 14);
    let hits = 0, ll = 0;
    for (let i = 0; i < n; i++) {
      const row = Array.from(probs.subarray(i * k, i * k + k));
      if (row.indexOf(Math.max(...row)) === labels[i]) hits++;
      ll -= Math.log(Math.min(Math.max(row[labels[i]], 1e-7), 1 - 1e-7));
    }
    expect(multiclassAccuracy(labels, probs, k)).toBe(hits / n);
    expect(multiclassLogloss(labels, probs, k)).toBeCloseTo(ll / n, 12);
    expect(macroAuc([0, 0], [0.5, 0.5, 0.5, 0.5], 2)).toBeNaN();
    expect(() => macroAuc([0, 2], [0.5, 0.5, 0.5, 0.5], 2)).toThrow(/^macroAuc: labels must be class indices 0\.\.1, got 2 at row 1/);
    expect(() => multiclassAccuracy([0], [1, 0, 0], 2)).toThrow(/^multiclassAccuracy: expected 1 × 2 probabilities for 1 labels, got 3/);
    const m = perTaskMetrics([0, 2, 1, 1], [0.1, 0.2, 0.3, 0.5, 0.9, 0.8, 0.1, 0.1], ['binary', 'multiclass'], ['a', 'b'], { numClasses: [1, 3] });
    expect(m.b).toEqual({ auc: macroAuc([2, 1], [0.2, 0.3, 0.5, 0.8, 0.1, 0.1], 3), logloss: multiclassLogloss([2, 1], [0.2, 0.3, 0.5, 0.8, 0.1, 0.1], 3), accuracy: 0.5 });
    expect(() => perTaskMetrics([0, 2], [0.1, 0.2, 0.3, 0.5], ['binary', 'multiclass'], ['a', 'b'])).toThrow(/^perTaskMetrics: numClasses of multiclass task 'b' must be an integer ≥ 2/);
  });
});
