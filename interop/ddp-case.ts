/* What the DDP check's two TypeScript steps (ddp-export.ts, ddp-import.ts) share. */
import { cases, width } from './cases.js';

export const DDP_CASE = cases.find((c) => c.name === 'mmoe_features')!;
export const N_TRAIN = 512;
export const N_EVAL = 64;

/** Labels with signal: task a = (age > 0), task b = (user id < 5). */
export function labels(X: Float32Array, n: number): Float32Array {
  const W = width(DDP_CASE.features);
  const Y = new Float32Array(n * 2);
  for (let i = 0; i < n; i++) { Y[i * 2] = X[i * W + 4] > 0 ? 1 : 0; Y[i * 2 + 1] = X[i * W] < 5 ? 1 : 0; }
  return Y;
}

