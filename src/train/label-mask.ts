import { Tensor } from '../autograd/index.js';

/*
 * Partial labels: a NaN label means "not observed" for that row and task (LibMTL #11: a click log
 * where conversions are only known for some rows). A missing label takes no part in its task's
 * loss or metrics, and each task's loss is the mean over its observed rows only, so a task
 * observed on a tenth of a batch is not shrunk ten-fold. Row weights (sampleWeight ×
 * classWeight) stay a separate factor inside that mean.
 */

/** fit's and evaluate's `missingLabels`: 'error' (NaN labels are errors), 'mask' (every task), or the task names that may have them. */
export type MissingLabels = 'error' | 'mask' | readonly string[];

/** Which tasks may have missing labels, one flag per task; checks the option. */
export function resolveMissingLabels(fn: string, v: MissingLabels | undefined, taskNames: readonly string[]): boolean[] {
  if (v === undefined || v === 'error') return taskNames.map(() => false);
  if (v === 'mask') return taskNames.map(() => true);
  if (!Array.isArray(v)) {
    throw new TypeError(`${fn}: missingLabels must be 'error', 'mask' or an array of task names (${taskNames.join(', ')}), got ${JSON.stringify(v)}`);
  }
  for (const name of v) {
    if (!taskNames.includes(name)) throw new RangeError(`${fn}: missingLabels names unknown task '${String(name)}'; tasks: ${taskNames.join(', ')}`);
  }
  return taskNames.map((n) => v.includes(n));
}

/** Whether column j of a row-major [B, T] label array has a missing (NaN) label. */
export function hasMissing(y: ArrayLike<number>, t: number, j: number): boolean {
  for (let k = j; k < y.length; k += t) if (Number.isNaN(y[k])) return true;
  return false;
}

/** The number of observed (non-NaN) labels in column j of a row-major [B, T] array. */
export function observedCount(y: ArrayLike<number>, t: number, j: number): number {
  let c = 0;
  for (let k = j; k < y.length; k += t) if (!Number.isNaN(y[k])) c++;
  return c;
}

/**
 * For the label columns `cols` of y [B, T] (some labels missing): targets [B, cols] with missing
 * labels at 0 (any finite value would do; 0 keeps the loss finite so its zero weight zeroes the
 * gradient, where a NaN target would make it NaN), and the weights [B, cols]
 * w_col · r[b, col] / n_col on observed rows and exactly 0 on missing ones (n_col: the column's
 * observed rows; r: optional row weights, whose value on a missing row is never read).
 */
export function maskedTargets(
  y: Tensor, cols: readonly number[], weights: readonly number[], r: Tensor | null, like: Tensor,
): { target: Tensor; weight: Tensor } {
  const [b, t] = y.shape;
  const c = cols.length;
  const f64 = like.dtype === 'float64';
  const target = f64 ? new Float64Array(b * c) : new Float32Array(b * c);
  const weight = f64 ? new Float64Array(b * c) : new Float32Array(b * c);
  const yd = y.data, rd = r?.data;
  for (let k = 0; k < c; k++) {
    const j = cols[k];
    const n = observedCount(yd, t, j);
    const scale = n === 0 ? 0 : weights[j] / n;
    for (let i = 0; i < b; i++) {
      const v = yd[i * t + j];
      if (Number.isNaN(v)) continue;
      target[i * c + k] = v;
      weight[i * c + k] = rd === undefined ? scale : rd[i * t + j] * scale;
    }
  }
  return { target: new Tensor(target, [b, c]), weight: new Tensor(weight, [b, c]) };
}
