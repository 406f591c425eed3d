import { Tensor } from '../autograd/index.js';

/*
 * Multiclass tasks: K logits per task (a block of the model's output columns), softmax
 * cross-entropy against a class index label 0..K-1 (NaN: missing), and its metrics. The loss is
 * composed from logSoftmax and a product with a constant weight matrix, so it needs no op of its
 * own: W[b, k] = [k = y_b] · r_b · scale, and loss = −Σ_{b,k} W[b, k] · log softmax(z_b)_k.
 */

/**
 * The summed, weighted cross-entropy of task j over the batch: −Σ_b r[b, j] · scale ·
 * log softmax(logits[b, off : off + K])[y[b, j]], rows with a missing (NaN) label left out.
 * `scale` is the task weight over the normaliser (B, or the observed rows).
 */
export function multiclassLoss(
  logits: Tensor, y: Tensor, j: number, off: number, k: number, scale: number, rowWeights: Tensor | null,
): Tensor {
  const [b, t] = y.shape;
  const w = logits.dtype === 'float64' ? new Float64Array(b * k) : new Float32Array(b * k);
  const yd = y.data, rd = rowWeights?.data;
  for (let i = 0; i < b; i++) {
    const c = yd[i * t + j];
    if (Number.isNaN(c)) continue;
    w[i * k + c] = rd === undefined ? scale : rd[i * t + j] * scale;
  }
  const block = logits.shape[1] === k ? logits : logits.narrow(1, off, k);
  return block.logSoftmax(-1).mul(new Tensor(w, [b, k])).sum().neg();
}

/** −log softmax(z)[c] for the K logits z = values[at : at + K], in float64 (log-sum-exp, shifted). */
export function crossEntropyOf(values: ArrayLike<number>, at: number, k: number, c: number): number {
  let m = -Infinity;
  for (let q = 0; q < k; q++) m = Math.max(m, values[at + q]);
  let s = 0;
  for (let q = 0; q < k; q++) s += Math.exp(values[at + q] - m);
  return m + Math.log(s) - values[at + c];
}

/** The class indices must be integers in [0, K); returns the first bad row, or -1. */
export function firstBadClass(labels: ArrayLike<number>, k: number): number {
  for (let i = 0; i < labels.length; i++) {
    const c = labels[i];
    if (!(Number.isInteger(c) && c >= 0 && c < k)) return i;
  }
  return -1;
}
