import { Tensor, tensor } from '../autograd/index.js';
import { formatShape } from '../tensor/index.js';
import { bceWithLogits, mseLoss } from '../nn/losses.js';
import type { TaskType } from '../models/types.js';

/**
 * The multi-task training loss Σ_t w_t · mean_b loss_t(logits[b, t], y[b, t]): BCE on logits for
 * binary tasks, squared error for regression tasks. Tasks of weight 0 are left out of the graph
 * entirely, so the parameters only they use receive no gradient at all (not a zero gradient).
 */
export function multiTaskLoss(
  logits: Tensor, y: Tensor, taskTypes: readonly TaskType[], weights: readonly number[],
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
    const w = tensor(cols.map((j) => weights[j] / b), { dtype: logits.dtype });
    const opts = { reduction: 'sum' as const, weight: w };
    const part = type === 'binary' ? bceWithLogits(l, target, opts) : mseLoss(l, target, opts);
    total = total === null ? part : total.add(part);
  }
  return total;
}

function toDtype(y: Tensor, like: Tensor): Tensor {
  return y.dtype === like.dtype ? y : y.detach().to(like.dtype);
}

function takeColumns(y: Tensor, cols: readonly number[], like: Tensor): Tensor {
  const [b, t] = y.shape;
  const out = like.dtype === 'float64' ? new Float64Array(b * cols.length) : new Float32Array(b * cols.length);
  for (let i = 0; i < b; i++) for (let k = 0; k < cols.length; k++) out[i * cols.length + k] = y.data[i * t + cols[k]];
  return new Tensor(out, [b, cols.length]);
}

/** softplus(-x) = -log σ(x), finite for every finite x. */
function softplusNeg(x: number): number {
  return Math.max(-x, 0) + Math.log1p(Math.exp(-Math.abs(x)));
}

/**
 * Adds each task's unweighted summed loss over the batch to `sums` (plain arithmetic on the
 * values, outside the graph), so per-task training losses can be logged for every task,
 * including those of weight 0.
 */
export function accumulateTaskLosses(logits: Tensor, y: Tensor, taskTypes: readonly TaskType[], sums: Float64Array): void {
  const t = taskTypes.length;
  const b = logits.shape[0];
  const ld = logits.data, yd = y.data;
  for (let j = 0; j < t; j++) {
    let s = 0;
    if (taskTypes[j] === 'binary') {
      for (let i = 0; i < b; i++) {
        const x = ld[i * t + j], yi = yd[i * t + j];
        s += (1 - yi) * x + softplusNeg(x);
      }
    } else {
      for (let i = 0; i < b; i++) {
        const d = ld[i * t + j] - yd[i * t + j];
        s += d * d;
      }
    }
    sums[j] += s;
  }
}
