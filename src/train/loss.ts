import { Tensor, physical, runsOf, stack, tensor } from '../autograd/index.js';
import { formatShape } from '../tensor/index.js';
import { bceWithLogits, mseLoss } from '../nn/losses.js';
import { outputOffsets, type TaskType } from '../models/types.js';
import { hasMissing, maskedTargets, observedCount } from './label-mask.js';
import { crossEntropyOf, multiclassLoss } from './multiclass.js';

/**
 * The multi-task training loss Σ_t w_t · (1/B) Σ_b r[b, t] · loss_t(logits[b, t], y[b, t]): BCE on
 * logits for binary tasks, squared error for regression tasks; r are the optional per-row weights
 * (sampleWeight × classWeight), normalised as Keras does: by the batch size, not by Σ r. Tasks of
 * weight 0 are left out of the graph entirely, so the parameters only they use receive no
 * gradient at all (not a zero gradient). A NaN label is a missing one (see label-mask.ts): a task
 * with missing labels in the batch averages over its n_t observed rows instead of B, and a task
 * with none observed is left out like a task of weight 0. A multiclass task (`widths[t]` = K
 * logit columns, label a class index) adds w_t · mean softmax cross-entropy.
 */
export function multiTaskLoss(
  logits: Tensor, y: Tensor, taskTypes: readonly TaskType[], weights: readonly number[], rowWeights: Tensor | null = null,
  widths: readonly number[] | null = null,
): Tensor | null {
  const t = taskTypes.length;
  const { width, off } = layout('multiTaskLoss', logits, y, taskTypes, widths);
  const b = logits.shape[0];
  let total: Tensor | null = null;
  // Stacked labels (fitStacked) hold every run's values: the mask checks read them all, and the
  // masked and multiclass paths, which read labels outside ops, are refused there.
  const stacked = runsOf(y) > 0;
  const yd = stacked ? physical(y).data : y.data;
  if (stacked && taskTypes.some((type, j) => type === 'multiclass' || hasMissing(yd, t, j))) {
    throw new Error('multiTaskLoss: stacked runs (fitStacked) take no multiclass task and no missing label; train those runs one by one with fit');
  }
  // Logit columns of tasks `cols`, the whole tensor when they are all of it.
  const pick = (cols: readonly number[]): Tensor => (cols.length === width ? logits : logits.indexSelect(1, cols.map((j) => off[j])));
  for (let j = 0; j < t; j++) {
    if (taskTypes[j] !== 'multiclass' || weights[j] === 0) continue;
    const n = observedCount(yd, t, j);
    if (n === 0) continue;
    const part = multiclassLoss(logits, y, j, off[j], widths![j], weights[j] / n, rowWeights);
    total = total === null ? part : total.add(part);
  }
  for (const type of ['binary', 'regression'] as const) {
    let cols: number[] = [];
    for (let j = 0; j < t; j++) if (taskTypes[j] === type && weights[j] !== 0) cols.push(j);
    if (cols.some((j) => hasMissing(yd, t, j))) {
      cols = cols.filter((j) => observedCount(yd, t, j) > 0);
      if (cols.length === 0) continue;
      const l = pick(cols);
      const { target, weight } = maskedTargets(y, cols, weights, rowWeights, logits);
      const opts = { reduction: 'sum' as const, weight };
      const part = type === 'binary' ? bceWithLogits(l, target, opts) : mseLoss(l, target, opts);
      total = total === null ? part : total.add(part);
      continue;
    }
    if (cols.length === 0) continue;
    const all = cols.length === width;
    const l = pick(cols);
    const target = all ? toDtype(y, logits) : takeColumns(y, cols, logits);
    const w = rowWeights === null
      ? tensor(cols.map((j) => weights[j] / b), { dtype: logits.dtype })
      : scaledColumns(rowWeights, cols, weights, b, logits);
    const opts = { reduction: 'sum' as const, weight: w };
    const part = type === 'binary' ? bceWithLogits(l, target, opts) : mseLoss(l, target, opts);
    total = total === null ? part : total.add(part);
  }
  return total;
}

/** Checks logits [B, W] against labels [B, T]; each task's first logit column. */
function layout(fn: string, logits: Tensor, y: Tensor, taskTypes: readonly TaskType[], widths: readonly number[] | null): { width: number; off: number[] } {
  const t = taskTypes.length;
  const ws = widths ?? taskTypes.map(() => 1);
  if (ws.length !== t || taskTypes.some((type, j) => (type === 'multiclass' ? !(ws[j] >= 2) : ws[j] !== 1))) {
    throw new RangeError(`${fn}: widths must give each multiclass task its K ≥ 2 columns and every other task 1, got [${ws.join(', ')}] for [${taskTypes.join(', ')}]`);
  }
  const width = ws.reduce((a, k) => a + k, 0);
  if (logits.ndim !== 2 || logits.shape[1] !== width || y.ndim !== 2 || y.shape[0] !== logits.shape[0] || y.shape[1] !== t) {
    throw new RangeError(`${fn}: expected logits [B, ${width}] and labels [B, ${t}], got ${formatShape(logits.shape)} and ${formatShape(y.shape)}`);
  }
  return { width, off: outputOffsets(ws) };
}

/** r[:, cols] · w_col / B as a [B, cols] weight tensor of logits' dtype. */
function scaledColumns(r: Tensor, cols: readonly number[], weights: readonly number[], b: number, like: Tensor): Tensor {
  const t = r.shape[1];
  const out = like.dtype === 'float64' ? new Float64Array(b * cols.length) : new Float32Array(b * cols.length);
  for (let i = 0; i < b; i++) for (let k = 0; k < cols.length; k++) out[i * cols.length + k] = r.data[i * t + cols[k]] * (weights[cols[k]] / b);
  return new Tensor(out, [b, cols.length]);
}

function toDtype(y: Tensor, like: Tensor): Tensor {
  if (y.dtype === like.dtype) return y;
  // detach() reads .data, which a stacked tensor (fitStacked's labels) refuses; labels rarely need it.
  return (y.requiresGrad ? y.detach() : y).to(like.dtype);
}

/** y[:, cols] in logits' dtype; an op (not a loop over .data), so it also takes stacked labels (fitStacked). */
function takeColumns(y: Tensor, cols: readonly number[], like: Tensor): Tensor {
  return toDtype(y.indexSelect(1, cols), like);
}

/** softplus(-x) = -log σ(x), finite for every finite x. */
function softplusNeg(x: number): number {
  return Math.max(-x, 0) + Math.log1p(Math.exp(-Math.abs(x)));
}

/**
 * Adds each task's summed loss over the batch (row-weighted when `rowWeights` is given, but not
 * by the task weights) to `sums` (plain arithmetic on the values, outside the graph), so per-task
 * training losses can be logged for every task, including those of weight 0. Rows whose label is
 * missing (NaN) are skipped; `counts`, when given, gains each task's number of observed rows (the
 * divisor of its logged mean).
 */
export function accumulateTaskLosses(
  logits: Tensor, y: Tensor, taskTypes: readonly TaskType[], sums: Float64Array, rowWeights: Tensor | null = null, counts: Float64Array | null = null,
  widths: readonly number[] | null = null,
): void {
  const t = taskTypes.length;
  const b = logits.shape[0];
  const { width, off } = layout('accumulateTaskLosses', logits, y, taskTypes, widths);
  const ld = logits.data, yd = y.data;
  const rd = rowWeights?.data;
  for (let j = 0; j < t; j++) {
    let s = 0;
    if (counts !== null) counts[j] += observedCount(yd, t, j);
    const o = off[j];
    if (taskTypes[j] === 'multiclass') {
      for (let i = 0; i < b; i++) {
        const c = yd[i * t + j];
        if (Number.isNaN(c)) continue;
        const l = crossEntropyOf(ld, i * width + o, widths![j], c);
        s += rd === undefined ? l : rd[i * t + j] * l;
      }
    } else if (taskTypes[j] === 'binary') {
      for (let i = 0; i < b; i++) {
        const x = ld[i * width + o], yi = yd[i * t + j];
        if (Number.isNaN(yi)) continue;
        const l = (1 - yi) * x + softplusNeg(x);
        s += rd === undefined ? l : rd[i * t + j] * l;
      }
    } else {
      for (let i = 0; i < b; i++) {
        const d = ld[i * width + o] - yd[i * t + j];
        if (Number.isNaN(d)) continue;
        s += rd === undefined ? d * d : rd[i * t + j] * d * d;
      }
    }
    sums[j] += s;
  }
}

/**
 * Each task's batch loss as one [T] tensor, L_t = (1/B) Σ_b r[b, t] · loss_t(logits[b, t], y[b, t])
 * (r: optional per-row weights), not yet weighted across tasks: the input of learned task
 * weighting, which needs every L_t as its own graph node. With missing (NaN) labels, L_t averages
 * over the task's observed rows; a task with none in the batch gets L_t = 0 (zero gradient).
 */
export function perTaskLosses(
  logits: Tensor, y: Tensor, taskTypes: readonly TaskType[], rowWeights: Tensor | null = null, widths: readonly number[] | null = null,
): Tensor {
  const t = taskTypes.length;
  const b = logits.shape[0];
  const { width, off } = layout('perTaskLosses', logits, y, taskTypes, widths);
  const parts: Tensor[] = [];
  const ones = new Array<number>(t).fill(1);
  for (let j = 0; j < t; j++) {
    if (taskTypes[j] === 'multiclass') {
      // A task with no observed row gets scale 0: L_t = 0 with a zero gradient, like the masked binary path.
      const n = observedCount(y.data, t, j);
      parts.push(multiclassLoss(logits, y, j, off[j], widths![j], n === 0 ? 0 : 1 / n, rowWeights));
      continue;
    }
    const l = width === 1 ? logits : logits.indexSelect(1, [off[j]]);
    if (hasMissing(y.data, t, j)) {
      const { target, weight } = maskedTargets(y, [j], ones, rowWeights, logits);
      const opts = { reduction: 'sum' as const, weight };
      parts.push(taskTypes[j] === 'binary' ? bceWithLogits(l, target, opts) : mseLoss(l, target, opts));
      continue;
    }
    const target = takeColumns(y, [j], logits);
    const w = rowWeights === null ? tensor([1 / b], { dtype: logits.dtype }) : scaledColumns(rowWeights, [j], ones, b, logits);
    const opts = { reduction: 'sum' as const, weight: w };
    parts.push(taskTypes[j] === 'binary' ? bceWithLogits(l, target, opts) : mseLoss(l, target, opts));
  }
  return stack(parts);
}
