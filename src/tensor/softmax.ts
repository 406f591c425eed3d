import { allocateUninit, type Storage } from './dtype.js';
import { trySoftmaxGradRows, trySoftmaxRows } from './glue-calls.js';
import { NDArray } from './ndarray.js';
import { axisView } from './shape.js';

/** exp(x − max) of one row, kept in float64 between the sum and the scaling (reused, grown on demand). */
let rowExp = new Float64Array(64);

/** Softmax (or log-softmax) along `axis`, max-subtracted so large logits do not overflow. */
export function softmaxArray(x: NDArray, axis: number, log: boolean): NDArray {
  const [outer, n, inner] = axisView(x.shape, axis);
  const d = x.data;
  const o = allocateUninit(x.dtype, x.size);
  if (inner === 1 && !log) {
    if (!trySoftmaxRows(d, o, outer, n)) softmaxRows(d, o, outer, n);
    return new NDArray(o, x.shape);
  }
  for (let a = 0; a < outer; a++) {
    for (let i = 0; i < inner; i++) {
      const base = a * n * inner + i;
      let m = -Infinity;
      for (let k = 0; k < n; k++) { const v = d[base + k * inner]; if (v > m) m = v; }
      if (m === -Infinity) m = 0;
      let s = 0;
      for (let k = 0; k < n; k++) s += Math.exp(d[base + k * inner] - m);
      if (log) {
        const lse = m + Math.log(s);
        for (let k = 0; k < n; k++) o[base + k * inner] = d[base + k * inner] - lse;
      } else {
        const inv = 1 / s;
        for (let k = 0; k < n; k++) o[base + k * inner] = Math.exp(d[base + k * inner] - m) * inv;
      }
    }
  }
  return new NDArray(o, x.shape);
}

/**
 * Softmax over contiguous rows (the last axis): each exponential is computed once and kept in
 * float64, so the result is bit-identical to the strided loop, which computes it twice.
 */
function softmaxRows(d: Storage, o: Storage, rows: number, n: number): void {
  if (rowExp.length < n) rowExp = new Float64Array(n);
  const e = rowExp;
  for (let r = 0, base = 0; r < rows; r++, base += n) {
    let m = -Infinity;
    for (let k = 0; k < n; k++) { const v = d[base + k]; if (v > m) m = v; }
    if (m === -Infinity) m = 0;
    let s = 0;
    for (let k = 0; k < n; k++) { const v = Math.exp(d[base + k] - m); e[k] = v; s += v; }
    const inv = 1 / s;
    for (let k = 0; k < n; k++) o[base + k] = e[k] * inv;
  }
}

export function logSoftmaxArray(x: NDArray, axis: number): NDArray {
  return softmaxArray(x, axis, true);
}

/** Gradient of softmax given its output y: gx = y ⊙ (g − Σ g⊙y). */
export function softmaxBackward(y: NDArray, g: NDArray, axis: number): NDArray {
  const [outer, n, inner] = axisView(y.shape, axis);
  const yd = y.data, gd = g.data;
  const o = allocateUninit(y.dtype, y.size);
  if (inner === 1) {
    if (trySoftmaxGradRows(yd, gd, o, outer, n)) return new NDArray(o, y.shape);
    for (let base = 0, end = outer * n; base < end; base += n) {
      let dot = 0;
      for (let k = 0; k < n; k++) dot += gd[base + k] * yd[base + k];
      for (let k = 0; k < n; k++) { const j = base + k; o[j] = yd[j] * (gd[j] - dot); }
    }
    return new NDArray(o, y.shape);
  }
  for (let a = 0; a < outer; a++) {
    for (let i = 0; i < inner; i++) {
      const base = a * n * inner + i;
      let dot = 0;
      for (let k = 0; k < n; k++) dot += gd[base + k * inner] * yd[base + k * inner];
      for (let k = 0; k < n; k++) { const j = base + k * inner; o[j] = yd[j] * (gd[j] - dot); }
    }
  }
  return new NDArray(o, y.shape);
}

/** Gradient of log-softmax given its output y: gx = g − softmax ⊙ Σ g. */
export function logSoftmaxBackward(y: NDArray, g: NDArray, axis: number): NDArray {
  const [outer, n, inner] = axisView(y.shape, axis);
  const yd = y.data, gd = g.data;
  const o = allocateUninit(y.dtype, y.size);
  for (let a = 0; a < outer; a++) {
    for (let i = 0; i < inner; i++) {
      const base = a * n * inner + i;
      let s = 0;
      for (let k = 0; k < n; k++) s += gd[base + k * inner];
      for (let k = 0; k < n; k++) { const j = base + k * inner; o[j] = gd[j] - Math.exp(yd[j]) * s; }
    }
  }
  return new NDArray(o, y.shape);
}
