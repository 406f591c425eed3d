import { StepScopes } from './held-storage.js';
import { forwardFromInputLayer, inferencePlan, inputLayerOf, mayPlan } from './inference-plan.js';
import { closeStorageScope, openStorageScope } from '../tensor/index.js';
import { Tensor, noGrad } from '../autograd/index.js';
import { checkOptions } from '../validation/options.js';
import { checkPositiveInt } from '../validation/values.js';
import { outputWidths, type MultiTaskModel } from '../models/types.js';
import { type Dataset, type Features, type ResolvedDataset, sliceFeatures } from './dataset.js';
import { checkedDataset } from './checks.js';
import { column, logloss, mse, perTaskMetrics, type TaskMetrics } from './metrics.js';
import { resolveMissingLabels, type MissingLabels } from './label-mask.js';
import { resolveGroups, type GroupBy } from './groups.js';

export interface EvaluateOptions {
  batchSize?: number;
  /** Which metrics to compute; default every one that fits each task's type. */
  metrics?: ReadonlyArray<keyof TaskMetrics>;
  /** Weights for the combined `loss`, as in fit. */
  lossWeights?: readonly number[] | Record<string, number>;
  /** Tasks whose labels may be missing (NaN), as in fit; their metrics and loss use observed rows only. */
  missingLabels?: MissingLabels;
  /**
   * Adds grouped AUC ('gauc') to binary tasks: the name of a feature column holding one group
   * (user) id per row, or the ids themselves (one per row).
   */
  groupBy?: GroupBy;
}

export interface PredictOptions {
  batchSize?: number;
}

const EVALUATE_KEYS = ['batchSize', 'metrics', 'lossWeights', 'missingLabels', 'groupBy'] as const satisfies ReadonlyArray<keyof EvaluateOptions>;
const PREDICT_KEYS = ['batchSize'] as const satisfies ReadonlyArray<keyof PredictOptions>;

/** evaluate's answer: the per-task metrics by task name, and the weighted total loss. */
export interface Evaluation {
  loss: number;
  tasks: Record<string, TaskMetrics>;
}

export function checkModel(fn: string, model: MultiTaskModel): void {
  if (model === null || typeof model !== 'object' || typeof model.logits !== 'function' || !Array.isArray(model.taskNames)) {
    throw new TypeError(`${fn}: model must be a multi-task model (logits, forward, taskNames, taskTypes)`);
  }
}

export function resolveLossWeights(fn: string, model: MultiTaskModel, w: EvaluateOptions['lossWeights']): number[] {
  const names = model.taskNames;
  if (w === undefined) return names.map(() => 1);
  let out: number[];
  if (Array.isArray(w)) {
    if (w.length !== names.length) throw new RangeError(`${fn}: lossWeights needs one weight per task (${names.length}: ${names.join(', ')}), got ${w.length}`);
    out = w.slice();
  } else {
    const rec = w as Record<string, number>;
    for (const k of Object.keys(rec)) if (!names.includes(k)) throw new RangeError(`${fn}: lossWeights names unknown task '${k}'; tasks: ${names.join(', ')}`);
    out = names.map((n) => rec[n] ?? 1);
  }
  for (const v of out) if (!(Number.isFinite(v) && v >= 0)) throw new RangeError(`${fn}: loss weights must be finite and >= 0, got ${v}`);
  return out;
}

/** Forward in eval mode under noGrad, restoring the model's mode afterwards. */
export function inEvalMode<T>(model: MultiTaskModel, fn: () => T): T {
  const wasTraining = model.training;
  model.eval();
  try {
    return noGrad(fn);
  } finally {
    model.train(wasTraining);
  }
}

/**
 * One run of scopes per model for its inference batches: the walk of what the model holds is
 * cached (held-storage.ts), which a batch of one row could not afford every call.
 */
const inferenceScopes = new WeakMap<object, StepScopes>();
function batchScopes(model: MultiTaskModel): StepScopes {
  let s = inferenceScopes.get(model);
  if (s === undefined) inferenceScopes.set(model, (s = new StepScopes([model])));
  return s;
}

export function predictResolved(model: MultiTaskModel, x: Features, n: number, batchSize: number): Float32Array {
  const t = outputWidths(model).reduce((a, k) => a + k, 0);
  const out = new Float32Array(n * t);
  const scopes = batchScopes(model);
  const evalMode = <T>(fn: () => T): T => inEvalMode(model, fn);
  const layer = inputLayerOf(model);
  try {
    for (let start = 0; start < n; start += batchSize) {
      const end = Math.min(n, start + batchSize);
      const xb = x instanceof Tensor && start === 0 && end === n ? x : sliceFeatures(x, start, end, n);
      if (!(xb instanceof Tensor) && layer !== null && mayPlan(end - start)) {
        // Feature columns: the input layer runs op by op, the rest replays its plan where there is one.
        scopes.run(() => {
          const from = { layer, batch: xb };
          const h = noGrad(() => layer.forward(xb));
          const plan = inferencePlan(model, h, evalMode, from);
          if (plan === null) {
            out.set(checkedBatch(evalMode(() => forwardFromInputLayer(model, from, h).y), end - start, t).data, start * t);
            return;
          }
          openStorageScope(plan.recycle);
          try {
            out.set(checkedBatch(plan.replay.run(h), end - start, t).data, start * t);
          } finally {
            closeStorageScope(NOTHING);
          }
        });
        continue;
      }
      // A dense batch replays the forward traced for its shape, where there is a plan; nothing a
      // replay makes outlives the batch (its scope keeps nothing).
      const plan = xb instanceof Tensor ? inferencePlan(model, xb, evalMode) : null;
      if (plan !== null) {
        openStorageScope(plan.recycle);
        try {
          out.set(checkedBatch(plan.replay.run(xb as Tensor), end - start, t).data, start * t);
        } finally {
          closeStorageScope(NOTHING);
        }
        continue;
      }
      evalMode(() => scopes.run(() => {
        out.set(checkedBatch(model.forward(xb), end - start, t).data, start * t);
      }));
    }
  } finally {
    // Whatever a batch kept is the collector's once the call returns; the arrays it returned
    // wait for the next call.
    scopes.finish(true);
  }
  return out;
}

function checkedBatch<A extends { readonly shape: readonly number[] }>(p: A, rows: number, t: number): A {
  if (p.shape.length !== 2 || p.shape[0] !== rows || p.shape[1] !== t) {
    throw new RangeError(`predict: the model returned [${p.shape.join(', ')}] for a batch of ${rows}, expected [${rows}, ${t}]`);
  }
  return p;
}

const NOTHING: Float32Array[] = [];

/**
 * Model outputs [N, W] (probabilities for binary tasks, values for regression, K class
 * probabilities for a K-class task; W = T without multiclass tasks), in eval mode.
 */
export function predict(model: MultiTaskModel, x: Features, opts: PredictOptions = {}): Tensor {
  checkModel('predict', model);
  checkOptions('predict', opts, PREDICT_KEYS);
  const batchSize = checkPositiveInt('predict', 'batchSize', opts.batchSize ?? 1024);
  const n = x instanceof Tensor ? x.shape[0] : rowsOf(x, model);
  const out = predictResolved(model, x, n, batchSize);
  return new Tensor(out, [n, outputWidths(model).reduce((a, k) => a + k, 0)]);
}

/**
 * Rows of a feature record: a Tensor column's first axis, else the length of the shortest typed
 * array (a column with one value per row), which every other column's length must be a multiple of.
 */
function rowsOf(x: Features, model: MultiTaskModel): number {
  const cols = Object.values(x as Record<string, Tensor | Int32Array | Float32Array>);
  const arrays: Array<Int32Array | Float32Array> = [];
  for (const col of cols) {
    if (col instanceof Tensor) return col.shape[0];
    arrays.push(col);
  }
  const n = Math.min(...arrays.map((c) => c.length));
  if (!(n > 0) || arrays.some((c) => c.length % n !== 0)) {
    throw new Error(`predict: cannot tell the row count of this feature record (column lengths ${arrays.map((c) => c.length).join(', ')}); give one dense column as a Tensor [N, dim] (tasks: ${model.taskNames.join(', ')})`);
  }
  return n;
}

export function evaluateResolved(
  model: MultiTaskModel, d: ResolvedDataset, batchSize: number, weights: readonly number[],
  metrics?: ReadonlyArray<keyof TaskMetrics>,
): Evaluation {
  return evaluationOf(model, d, predictResolved(model, d.x, d.n, batchSize), weights, metrics);
}

/** Metrics and the weighted loss of predictions `pred` against the labels (and groups, masks) of `d`. */
export function evaluationOf(
  model: MultiTaskModel, d: Pick<ResolvedDataset, 'y' | 'groups' | 'maskable'>, pred: Float32Array, weights: readonly number[],
  metrics?: ReadonlyArray<keyof TaskMetrics>,
): Evaluation {
  const names = model.taskNames;
  const tasks = perTaskMetrics(d.y, pred, model.taskTypes, names, {
    ...(metrics ? { metrics } : {}),
    ...(d.groups ? { groups: d.groups } : {}),
    ...(d.maskable ? { missingLabels: names.filter((_, j) => d.maskable![j]) } : {}),
    ...(model.taskTypes.includes('multiclass') ? { numClasses: outputWidths(model) } : {}),
  });
  const t = names.length;
  const widths = outputWidths(model);
  const width = widths.reduce((a, k) => a + k, 0);
  let loss = 0;
  model.taskTypes.forEach((type, j) => {
    if (weights[j] === 0) return;
    // A multiclass task's loss is its cross-entropy, already computed as its logloss metric.
    if (type === 'multiclass') {
      const ll = tasks[names[j]].logloss ?? perTaskMetrics(d.y, pred, model.taskTypes, names, {
        metrics: ['logloss'], numClasses: widths, ...(d.maskable ? { missingLabels: 'mask' as const } : {}),
      })[names[j]].logloss!;
      if (!Number.isNaN(ll)) loss += weights[j] * ll;
      return;
    }
    const off = widths.slice(0, j).reduce((a, k) => a + k, 0);
    let y = column(d.y, t, j), p = column(pred, width, off);
    if (d.maskable?.[j]) {
      // The mean over observed rows; a task with none observed adds nothing (as in a training batch).
      const keep = y.map((v) => (Number.isNaN(v) ? 0 : 1));
      p = p.filter((_, i) => keep[i] === 1);
      y = y.filter((_, i) => keep[i] === 1);
      if (y.length === 0) return;
    }
    loss += weights[j] * (type === 'binary' ? logloss(y, p) : mse(y, p));
  });
  return { loss, tasks };
}

/** Per-task metrics on a data set (AUC, logloss and accuracy for binary tasks; MSE for regression). */
export function evaluate(model: MultiTaskModel, data: Dataset, opts: EvaluateOptions = {}): Evaluation {
  checkModel('evaluate', model);
  checkOptions('evaluate', opts, EVALUATE_KEYS);
  const d = checkedDataset('evaluate', data, model, resolveMissingLabels('evaluate', opts.missingLabels, model.taskNames));
  if (opts.groupBy !== undefined) d.groups = resolveGroups('evaluate', opts.groupBy, d);
  if (d.n === 0) throw new RangeError('evaluate: the data has no rows (every metric would be NaN)');
  const batchSize = checkPositiveInt('evaluate', 'batchSize', opts.batchSize ?? 1024);
  return evaluateResolved(model, d, batchSize, resolveLossWeights('evaluate', model, opts.lossWeights), opts.metrics);
}
