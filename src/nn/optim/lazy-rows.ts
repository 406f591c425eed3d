import type { RowSparse, Storage } from '../../tensor/index.js';
import { adamFloat32 } from './adam-float32.js';

/*
 * Lazy updates for row-sparse gradients (sparse embeddings): the dense rules of adam.ts,
 * adagrad.ts and sgd.ts applied to the touched rows only, element for element in the same order,
 * so a touched row gets bit for bit what the dense loop would give it. Untouched rows keep their
 * weights and their optimizer state: what differs from the dense rule is only that their moments
 * do not decay and their weight decay does not run (TF's LazyAdam, torch.optim.SparseAdam). The
 * step counter stays per parameter, as in both.
 */

/** Adam/AdamW on the rows of `s` (decayed: λ ≠ 0; shrink = 1 − γλ for AdamW else 1; l2 = λ for Adam else 0; vmax for AMSGrad). */
export function adamRows(
  theta: Storage, s: RowSparse, m: Storage, v: Storage, vmax: Storage | null, b1: number, b2: number,
  decayed: boolean, shrink: number, l2: number, stepSize: number, bc2Sqrt: number, eps: number,
): void {
  const c1 = 1 - b1, c2 = 1 - b2;
  const { rows, values, dim } = s;
  if (theta instanceof Float32Array) {
    // Each touched row as dense Adam updates it (same float32 arithmetic, same bits).
    for (let r = 0; r < rows.length; r++) {
      adamFloat32(theta, values, r * dim, m, v, vmax, rows[r] * dim, (rows[r] + 1) * dim, b1, b2, decayed, shrink, l2, stepSize, bc2Sqrt, eps);
    }
    return;
  }
  for (let r = 0; r < rows.length; r++) {
    const base = rows[r] * dim;
    const src = r * dim;
    for (let j = 0; j < dim; j++) {
      const i = base + j;
      if (shrink !== 1) theta[i] *= shrink;
      const g = values[src + j] + l2 * theta[i];
      const vi = b2 * v[i] + c2 * g * g;
      m[i] = b1 * m[i] + c1 * g;
      v[i] = vi;
      let den = vi;
      if (vmax !== null) {
        if (vi > vmax[i]) vmax[i] = vi;
        den = vmax[i];
      }
      theta[i] -= (stepSize * m[i]) / (Math.sqrt(den) / bc2Sqrt + eps);
    }
  }
}

/** Adagrad on the rows of `s` (clr: this step's decayed learning rate; l2 = λ). */
export function adagradRows(theta: Storage, s: RowSparse, sum: Storage, clr: number, l2: number, eps: number): void {
  const { rows, values, dim } = s;
  for (let r = 0; r < rows.length; r++) {
    const base = rows[r] * dim;
    const src = r * dim;
    for (let j = 0; j < dim; j++) {
      const i = base + j;
      const g = values[src + j] + l2 * theta[i];
      sum[i] += g * g;
      theta[i] -= (clr * g) / (Math.sqrt(sum[i]) + eps);
    }
  }
}

/** Plain SGD (no momentum, no weight decay) on the rows of `s`: exactly the dense rule, as untouched rows have g = 0. */
export function sgdRows(theta: Storage, s: RowSparse, lr: number): void {
  const { rows, values, dim } = s;
  for (let r = 0; r < rows.length; r++) {
    const base = rows[r] * dim;
    const src = r * dim;
    for (let j = 0; j < dim; j++) theta[base + j] -= lr * values[src + j];
  }
}
