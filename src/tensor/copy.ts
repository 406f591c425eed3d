import type { Storage } from './dtype.js';

/*
 * Below this many elements a plain loop beats `dst.set(src.subarray(...))`, which allocates a
 * typed-array view per call (stack, narrow and concat copy B short rows at a time). Measured on
 * the 2-core Xeon, Node 20, rows of 4 / 16 / 64 floats: the loop is 8× faster / even / 4× slower.
 */
const SET_MIN = 16;

/** dst[dOff .. dOff+n) = src[sOff .. sOff+n); the ranges must not overlap. */
export function copyRange(src: Storage, sOff: number, dst: Storage, dOff: number, n: number): void {
  if (n < SET_MIN) {
    for (let i = 0; i < n; i++) dst[dOff + i] = src[sOff + i];
  } else {
    dst.set(src.subarray(sOff, sOff + n), dOff);
  }
}
