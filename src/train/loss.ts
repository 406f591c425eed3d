import { Tensor, stack, tensor } from '../autograd/index.js';
import { formatShape } from '../tensor/index.js';
import { bceWithLogits, mseLoss } from '../nn/losses.js';
import type { TaskType } from '../models/types.js';

/**
 * The multi-task training loss Σ_t w_t · (1/B) Σ_b r[b, t] · loss_t(logits[b, t], y[b, t]): BCE on
 * logits for binary tasks, squared error for regression tasks; r are the optional per-row weights
 * (sampleWeight × classWeight), normalised as Keras does: by the batch size, not by Σ r. Tasks of
 * weight 0 are left out of the graph entirely, so the parameters only they use receive no
 * gradient at all (not a zero gradient).
 */
export function multiTaskLoss(
  logits: Tensor, y: Tensor, taskTypes: readonly TaskType[], weights: readonly number[], rowWeights: Tensor | null = null,
): Tensor | null {
  const t = taskTypes.length;
  if (logits.ndim !== 2 || logits.shape[1] !== t || y.ndim !== 2 || y.shape[0] !== logits.shape[0] || y.shape[1] !== t) {
    throw new RangeError(`multiTaskLoss: expected logits and labels of shape [B, ${t}], got ${formatShape(logits.shape)} and ${formatShape(y.shape)}`);
  }
  const b = logits.shape[0];
  let total: Tensor | null = null;
  for (const type of ['binary', 'regression'] as const) {
    const cols: number[] = [];
    for (let j = 0; j < t; j++) if (taskTypes[j] === type && weights[j] !== 0) cols.push(j);
    if (cols.length === 0) continue;
    const all = cols.length === t;
    const l = all ? logits : logits.indexSelect(1, cols);
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

/** r[:, cols] · w_col / B as a [B, cols] weight tensor of logits' dtype. */
function scaledColumns(r: Tensor, cols: readonly number[], weights: readonly number[], b: number, like: Tensor): Tensor {
  const t = r.shape[1];
  const out = like.dtype === 'float64' ? new Float64Array(b * cols.length) : new Float32Array(b * cols.length);
  for (let i = 0; i < b; i++) for (let k = 0; k < cols.length; k++) out[i * cols.length + k] = r.data[i * t + cols[k]] * (weights[cols[k]] / b);
  return new Tensor(out, [b, cols.length]);
}

function toDtype(y: Tensor, like: Tensor): Tensor {
  return y.dtype === like.dtype ? y : y.detach().to(like.dtype);
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
 * training losses can be logged for every task, including those of weight 0.
 */
export function accumulateTaskLosses(logits: Tensor, y: Tensor, taskTypes: readonly TaskType[], sums: Float64Array, rowWeights: Tensor | null = null): void {
  const t = taskTypes.length;
  const b = logits.shape[0];
  const ld = logits.data, yd = y.data;
  const rd = rowWeights?.data;
  for (let j = 0; j < t; j++) {
    let s = 0;
    if (taskTypes[j] === 'binary') {
      for (let i = 0; i < b; i++) {
        const x = ld[i * t + j], yi = yd[i * t + j];
        const l = (1 - yi) * x + softplusNeg(x);
        s += rd === undefined ? l : rd[i * t + j] * l;
      }
    } else {
      for (let i = 0; i < b; i++) {
        const d = ld[i * t + j] - yd[i * t + j];
        s += rd === undefined ? d * d : rd[i * t + j] * d * d;
      }
    }
    sums[j] += s;
  }
}

/**
 * Each task's batch loss as one [T] tensor, L_t = (1/B) Σ_b r[b, t] · loss_t(logits[b, t], y[b, t])
 * (r: optional per-row weights), not yet weighted across tasks: the input of learned task
 * weighting, which needs every L_t as its own graph node.
 */
export function perTaskLosses(logits: Tensor, y: Tensor, taskTypes: readonly TaskType[], rowWeights: Tensor | null = null): Tensor {
  const t = taskTypes.length;
  const b = logits.shape[0];
  const parts: Tensor[] = [];
  const ones = new Array<number>(t).fill(1);
  for (let j = 0; j < t; j++) {
    const l = t === 1 ? logits : logits.indexSelect(1, [j]);
    const target = takeColumns(y, [j], logits);
    const w = rowWeights === null ? tensor([1 / b], { dtype: logits.dtype }) : scaledColumns(rowWeights, [j], ones, b, logits);
    const opts = { reduction: 'sum' as const, weight: w };
    parts.push(taskTypes[j] === 'binary' ? bceWithLogits(l, target, opts) : mseLoss(l, target, opts));
  }
  return stack(parts);
}
