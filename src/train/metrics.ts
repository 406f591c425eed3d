/**
 * Evaluation metrics over plain arrays (typed arrays or number[]), accumulated in float64. Per-task
 * metrics read [N, T] row-major label / prediction arrays column by column, so a metric never mixes
 * tasks.
 */

import { checkOptions } from '../validation/options.js';
import { observedCount, resolveMissingLabels } from './label-mask.js';

/** Same union as models' TaskType; restated so metrics stay free of model imports. */
type TaskType = 'binary' | 'regression' | 'multiclass';

/** Every metric a task can report; a metric that does not fit the task's type is left out. */
export interface TaskMetrics {
  auc?: number;
  logloss?: number;
  accuracy?: number;
  mse?: number;
  /** Grouped AUC (see groupAuc); only where groups are given. */
  gauc?: number;
}

export type MetricName = keyof TaskMetrics;

type Values = ArrayLike<number>;

function checkPair(fn: string, labels: Values, preds: Values): void {
  if (labels.length !== preds.length) {
    throw new RangeError(`${fn}: labels and predictions differ in length: ${labels.length} vs ${preds.length}`);
  }
}

/**
 * Area under the ROC curve, exact: the Mann–Whitney U statistic from ranks, with tied scores given
 * their average rank (so a tie between a positive and a negative counts ½, as sklearn's
 * roc_auc_score does). Labels must be 0 or 1. Returns NaN when only one class is present (or the
 * input is empty): AUC is undefined there, and NaN keeps a mean over runs from hiding it.
 */
export function rocAuc(labels: Values, scores: Values): number {
  checkPair('rocAuc', labels, scores);
  const n = labels.length;
  let pos = 0;
  for (let i = 0; i < n; i++) {
    const y = labels[i];
    if (y !== 0 && y !== 1) throw new RangeError(`rocAuc: labels must be 0 or 1 (AUC ranks positives against negatives, so soft labels have no AUC; round them first), got ${y} at index ${i}`);
    if (Number.isNaN(scores[i])) throw new RangeError(`rocAuc: score at index ${i} is NaN`);
    pos += y;
  }
  const neg = n - pos;
  if (pos === 0 || neg === 0) return NaN;
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  const s = Float64Array.from(scores);
  order.sort((a, b) => s[a] - s[b]);
  // Sum of the (1-based, tie-averaged) ranks of the positives.
  let rankSum = 0;
  for (let i = 0; i < n;) {
    let j = i + 1;
    while (j < n && s[order[j]] === s[order[i]]) j++;
    const avgRank = (i + 1 + j) / 2;
    let p = 0;
    for (let k = i; k < j; k++) p += labels[order[k]];
    rankSum += p * avgRank;
    i = j;
  }
  return (rankSum - (pos * (pos + 1)) / 2) / (pos * neg);
}

/**
 * Grouped AUC, as industry CTR work reports it (Zhu et al., "Optimized Cost per Click in Taobao
 * Display Advertising", KDD 2017; DeepCTR's and x-deeplearning's GAUC): the AUC within each group
 * (user), averaged with each group weighted by its number of rows (impressions). Groups whose rows
 * are all of one class have no AUC and are left out of both sums, as in those implementations.
 * A global AUC also rewards ranking one user's items above another user's, which a per-user feed
 * never does; GAUC measures only the ranking each user sees. NaN when no group has both classes.
 * `groups`: one id per row (integers, or any numbers compared exactly).
 */
export function groupAuc(labels: ArrayLike<number>, scores: ArrayLike<number>, groups: ArrayLike<number>): number {
  const n = labels.length;
  if (scores.length !== n || groups.length !== n) {
    throw new RangeError(`groupAuc: labels, scores and groups differ in length: ${n}, ${scores.length}, ${groups.length}`);
  }
  for (let i = 0; i < n; i++) {
    if (Number.isNaN(groups[i])) throw new RangeError(`groupAuc: group id at index ${i} is NaN`);
  }
  // Rows sorted by group (stable), so each group is one contiguous run handed to rocAuc.
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  order.sort((a, b) => (groups[a] - groups[b]) || a - b);
  let weighted = 0, total = 0;
  for (let start = 0; start < n;) {
    let end = start + 1;
    while (end < n && groups[order[end]] === groups[order[start]]) end++;
    const m = end - start;
    const y = new Float64Array(m), s = new Float64Array(m);
    for (let k = 0; k < m; k++) { y[k] = labels[order[start + k]]; s[k] = scores[order[start + k]]; }
    const auc = rocAuc(y, s);
    if (!Number.isNaN(auc)) {
      weighted += m * auc;
      total += m;
    }
    start = end;
  }
  return total === 0 ? NaN : weighted / total;
}

/**
 * Mean binary cross-entropy of probabilities, clipped to [eps, 1 − eps] with eps = 1e-7 (as
 * sklearn's log_loss did), so a confident wrong prediction costs ~16.1 rather than Infinity.
 * Labels may be soft (in [0, 1]). NaN for empty input.
 */
export function logloss(labels: Values, probs: Values, eps = 1e-7): number {
  checkPair('logloss', labels, probs);
  const n = labels.length;
  if (n === 0) return NaN;
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const y = labels[i];
    if (!(y >= 0 && y <= 1)) throw new RangeError(`logloss: labels must lie in [0, 1], got ${y} at index ${i}`);
    const p = Math.min(Math.max(probs[i], eps), 1 - eps);
    sum -= y * Math.log(p) + (1 - y) * Math.log(1 - p);
  }
  return sum / n;
}

/** Mean squared error. NaN for empty input. */
export function mse(labels: Values, preds: Values): number {
  checkPair('mse', labels, preds);
  const n = labels.length;
  if (n === 0) return NaN;
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const d = labels[i] - preds[i];
    sum += d * d;
  }
  return sum / n;
}

/**
 * Fraction of rows whose thresholded prediction matches the label: a prediction above 0.5 means 1
 * (exactly 0.5 means 0, as in Keras' binary_accuracy); labels above 0.5 count as 1. NaN for empty input.
 */
export function accuracy(labels: Values, probs: Values, threshold = 0.5): number {
  checkPair('accuracy', labels, probs);
  const n = labels.length;
  if (n === 0) return NaN;
  let hits = 0;
  for (let i = 0; i < n; i++) if ((probs[i] > threshold) === (labels[i] > 0.5)) hits++;
  return hits / n;
}

/**
 * Accuracy of a K-class task: the fraction of rows whose most probable class (the first, on a tie)
 * is the label. labels: class indices [N]; probs: [N, K] row-major. NaN for empty input.
 */
export function multiclassAccuracy(labels: Values, probs: Values, k: number): number {
  const n = checkClasses('multiclassAccuracy', labels, probs, k);
  if (n === 0) return NaN;
  let hits = 0;
  for (let i = 0; i < n; i++) {
    let best = 0;
    for (let c = 1; c < k; c++) if (probs[i * k + c] > probs[i * k + best]) best = c;
    if (best === labels[i]) hits++;
  }
  return hits / n;
}

/**
 * Mean cross-entropy −log p[label] of class probabilities [N, K], each clipped to [eps, 1 − eps]
 * like binary logloss (so a zero probability costs ~16.1, not Infinity). NaN for empty input.
 */
export function multiclassLogloss(labels: Values, probs: Values, k: number, eps = 1e-7): number {
  const n = checkClasses('multiclassLogloss', labels, probs, k);
  if (n === 0) return NaN;
  let sum = 0;
  for (let i = 0; i < n; i++) sum -= Math.log(Math.min(Math.max(probs[i * k + labels[i]], eps), 1 - eps));
  return sum / n;
}

/**
 * Macro-averaged one-vs-rest AUC (sklearn's roc_auc_score(multi_class='ovr', average='macro')):
 * the unweighted mean over classes c of the AUC of p[:, c] for "label = c" against the rest.
 * A class absent from the labels (or present in every row) has no AUC and is left out of the
 * mean, where sklearn raises; NaN when no class has one.
 */
export function macroAuc(labels: Values, probs: Values, k: number): number {
  const n = checkClasses('macroAuc', labels, probs, k);
  const y = new Float64Array(n), s = new Float64Array(n);
  let total = 0, count = 0;
  for (let c = 0; c < k; c++) {
    for (let i = 0; i < n; i++) { y[i] = labels[i] === c ? 1 : 0; s[i] = probs[i * k + c]; }
    const a = rocAuc(y, s);
    if (!Number.isNaN(a)) { total += a; count++; }
  }
  return count === 0 ? NaN : total / count;
}

/** Checks class-index labels [N] against probabilities [N, K]; returns N. */
function checkClasses(fn: string, labels: Values, probs: Values, k: number): number {
  if (!Number.isInteger(k) || k < 2) throw new RangeError(`${fn}: the number of classes must be an integer ≥ 2, got ${k}`);
  if (probs.length !== labels.length * k) throw new RangeError(`${fn}: expected ${labels.length} × ${k} probabilities for ${labels.length} labels, got ${probs.length}`);
  for (let i = 0; i < labels.length; i++) {
    const c = labels[i];
    if (!(Number.isInteger(c) && c >= 0 && c < k)) throw new RangeError(`${fn}: labels must be class indices 0..${k - 1}, got ${c} at row ${i}`);
  }
  return labels.length;
}

const FITS: Record<MetricName, readonly TaskType[]> = {
  auc: ['binary', 'multiclass'],
  logloss: ['binary', 'multiclass'],
  accuracy: ['binary', 'multiclass'],
  mse: ['binary', 'regression'],
  gauc: ['binary'],
};
const DEFAULTS: Record<TaskType, readonly MetricName[]> = {
  binary: ['auc', 'logloss', 'accuracy'],
  regression: ['mse'],
  multiclass: ['auc', 'logloss', 'accuracy'],
};

export interface PerTaskOptions {
  /**
   * Metrics to compute. Default: auc, logloss and accuracy for binary tasks; mse for regression.
   * A requested metric that does not fit a task (auc on a regression task) is left out for it.
   * AUC needs hard (0/1) labels: with soft labels the default leaves it out, and asking for it
   * is an error naming the task and the row. Logloss takes soft labels; accuracy counts a label
   * above 0.5 as 1.
   */
  metrics?: readonly MetricName[];
  /**
   * One group id per row (user ids): adds grouped AUC ('gauc') to the binary tasks' default
   * metrics. Asking for 'gauc' without groups is an error.
   */
  groups?: ArrayLike<number>;
  /**
   * Which tasks may have missing labels (NaN): 'mask' for all, or their names; their metrics use
   * the observed rows only. Default 'error': a NaN label is an error naming the task and row.
   */
  missingLabels?: 'error' | 'mask' | readonly string[];
  /**
   * Prediction columns per task: K for a multiclass task (its K class probabilities), 1 for the
   * others (the model's numClasses). Needed when a task is multiclass; for those, 'auc' is the
   * macro one-vs-rest AUC, 'logloss' the cross-entropy and 'accuracy' the top-1 accuracy.
   */
  numClasses?: readonly number[];
}

const PER_TASK_KEYS = ['metrics', 'groups', 'missingLabels', 'numClasses'] as const satisfies ReadonlyArray<keyof PerTaskOptions>;

/** The entries of `a` at the rows where `keep` is true. */
function keepRows(a: Float64Array, keep: Uint8Array, count: number): Float64Array {
  const out = new Float64Array(count);
  for (let i = 0, k = 0; i < a.length; i++) if (keep[i]) out[k++] = a[i];
  return out;
}

/** Each task's prediction columns: numClasses checked against the types (1 where there is none). */
function taskWidths(types: readonly TaskType[], names: readonly string[], numClasses: readonly number[] | undefined): number[] {
  if (numClasses !== undefined && (!Array.isArray(numClasses) || numClasses.length !== types.length)) {
    throw new RangeError(`perTaskMetrics: numClasses needs one entry per task (${names.join(', ')}), got ${JSON.stringify(numClasses)}`);
  }
  return types.map((type, j) => {
    if (type !== 'binary' && type !== 'regression' && type !== 'multiclass') {
      throw new RangeError(`perTaskMetrics: task type must be 'binary', 'regression' or 'multiclass', got '${String(type)}' for task ${names[j]}`);
    }
    const k = numClasses?.[j] ?? 1;
    if (type === 'multiclass' ? !(Number.isInteger(k) && k >= 2) : k !== 1) {
      throw new RangeError(`perTaskMetrics: numClasses of ${type} task '${names[j]}' must be ${type === 'multiclass' ? 'an integer ≥ 2 (give numClasses for multiclass tasks)' : '1'}, got ${k}`);
    }
    return k;
  });
}

/** The first row whose label is neither 0 nor 1, or -1. */
function firstSoftLabel(y: Float64Array): number {
  for (let i = 0; i < y.length; i++) if (y[i] !== 0 && y[i] !== 1) return i;
  return -1;
}

/** Column `t` of a row-major [N, T] array. */
export function column(values: Values, numTasks: number, t: number): Float64Array {
  const n = values.length / numTasks;
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = values[i * numTasks + t];
  return out;
}

/** Columns [off, off + k) of a row-major [N, W] array, as [N, k]. */
function block(values: Values, width: number, off: number, k: number): Float64Array {
  const n = values.length / width;
  const out = new Float64Array(n * k);
  for (let i = 0; i < n; i++) for (let c = 0; c < k; c++) out[i * k + c] = values[i * width + off + c];
  return out;
}

/** The rows of a row-major [N, k] array where `keep` is set. */
function keepBlockRows(a: Float64Array, k: number, keep: Uint8Array, count: number): Float64Array {
  const out = new Float64Array(count * k);
  for (let i = 0, r = 0; i < keep.length; i++) if (keep[i]) out.set(a.subarray(i * k, i * k + k), k * r++);
  return out;
}

/**
 * Metrics for each task of row-major labels [N, T] (a class index for a multiclass task) and
 * predictions [N, W] (probabilities for binary tasks, values for regression, the K class
 * probabilities of a multiclass task; W = T without multiclass tasks), keyed by task name.
 */
export function perTaskMetrics(
  labels: Values, preds: Values, taskTypes: readonly TaskType[], taskNames: readonly string[],
  options: PerTaskOptions = {},
): Record<string, TaskMetrics> {
  const t = taskTypes.length;
  if (t === 0) throw new RangeError('perTaskMetrics: expected at least one task, got taskTypes = []');
  if (taskNames.length !== t) {
    throw new RangeError(`perTaskMetrics: ${t} task types but ${taskNames.length} task names (${taskNames.join(', ')})`);
  }
  if (new Set(taskNames).size !== t) throw new RangeError(`perTaskMetrics: task names must be distinct, got ${taskNames.join(', ')}`);
  checkOptions('perTaskMetrics', options, PER_TASK_KEYS);
  if (labels.length % t !== 0) {
    throw new RangeError(`perTaskMetrics: ${labels.length} values are not [N, ${t}] for ${t} tasks`);
  }
  const widths = taskWidths(taskTypes, taskNames, options.numClasses);
  const width = widths.reduce((a, k) => a + k, 0);
  if (width === t) checkPair('perTaskMetrics', labels, preds);
  else if (preds.length !== (labels.length / t) * width) {
    throw new RangeError(`perTaskMetrics: ${labels.length / t} label rows need ${labels.length / t} × ${width} predictions (numClasses ${widths.join(', ')}), got ${preds.length}`);
  }
  for (const m of options.metrics ?? []) {
    if (!(m in FITS)) throw new RangeError(`perTaskMetrics: unknown metric '${m}', expected one of ${Object.keys(FITS).join(', ')}`);
  }
  const n = labels.length / t;
  const groups: Float64Array | null = options.groups === undefined ? null : Float64Array.from(options.groups);
  if (groups !== null && groups.length !== n) throw new RangeError(`perTaskMetrics: groups has ${groups.length} ids for ${n} rows`);
  if (groups === null && options.metrics?.includes('gauc')) {
    throw new RangeError(`perTaskMetrics: metric 'gauc' needs groups (one group id per row, e.g. the user id column)`);
  }
  const maskable = resolveMissingLabels('perTaskMetrics', options.missingLabels, taskNames);
  const out: Record<string, TaskMetrics> = {};
  let off = 0;
  for (let j = 0; j < t; j++) {
    const type = taskTypes[j];
    const k = widths[j];
    let y = column(labels, t, j);
    let p = k === 1 ? column(preds, width, off) : block(preds, width, off, k);
    off += k;
    let g: Float64Array | null = groups;
    const observed = observedCount(y, 1, 0);
    if (observed < n) {
      if (!maskable[j]) {
        const row = y.findIndex((v) => Number.isNaN(v));
        throw new RangeError(`perTaskMetrics: task '${taskNames[j]}' has a missing (NaN) label at row ${row}; pass missingLabels to score its observed rows only`);
      }
      const keep = Uint8Array.from(y, (v) => (Number.isNaN(v) ? 0 : 1));
      y = keepRows(y, keep, observed);
      p = keepBlockRows(p, k, keep, observed);
      if (g !== null) g = keepRows(g, keep, observed);
    }
    const m: TaskMetrics = {};
    if (type === 'multiclass') {
      const bad = y.findIndex((c) => !(Number.isInteger(c) && c >= 0 && c < k));
      if (bad >= 0) throw new RangeError(`perTaskMetrics: labels of multiclass task '${taskNames[j]}' must be class indices 0..${k - 1}; row ${bad} has ${y[bad]}`);
      for (const name of options.metrics ?? DEFAULTS.multiclass) {
        if (name === 'auc') m.auc = macroAuc(y, p, k);
        else if (name === 'logloss') m.logloss = multiclassLogloss(y, p, k);
        else if (name === 'accuracy') m.accuracy = multiclassAccuracy(y, p, k);
      }
      out[taskNames[j]] = m;
      continue;
    }
    const soft = type === 'binary' ? firstSoftLabel(y) : -1;
    const wanted = options.metrics ?? (groups !== null && type === 'binary' ? [...DEFAULTS[type], 'gauc' as const] : DEFAULTS[type]);
    for (const name of wanted) {
      if (!FITS[name].includes(type)) continue;
      if ((name === 'auc' || name === 'gauc') && soft >= 0) {
        if (options.metrics === undefined) continue;
        throw new RangeError(`perTaskMetrics: AUC needs hard labels (0 or 1), but task '${taskNames[j]}' has the soft label ${y[soft]} at row ${soft}; leave 'auc' out of metrics, or round the labels`);
      }
      if (name === 'auc') m.auc = rocAuc(y, p);
      else if (name === 'gauc') m.gauc = groupAuc(y, p, g!);
      else if (name === 'logloss') m.logloss = logloss(y, p);
      else if (name === 'accuracy') m.accuracy = accuracy(y, p);
      else m.mse = mse(y, p);
    }
    out[taskNames[j]] = m;
  }
  return out;
}
