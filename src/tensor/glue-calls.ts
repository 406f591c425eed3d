import type { Storage } from './dtype.js';
import { onWasm } from './dispatch.js';
import { glueKernels, type GlueBinaryOp } from './wasm/glue.js';
import { arenaAddress } from './wasm/runtime.js';

/*
 * The tensor kernels' way into the WebAssembly glue kernels (wasm/glue.ts) for operands that live
 * in the arena: each `try…` runs the kernel in place and returns true, or returns false (nothing
 * written) and the caller runs its JavaScript loop. Only kernels bit-identical to their JavaScript
 * reference are chosen by size (the dispatch table's threshold); softmax, whose SIMD exponential
 * differs in the last bits, is chosen by backend alone, so a model gives the same bits alone and
 * inside a stacked run.
 */

/** Whether all three are float32 arrays living in the arena. */
function inArena(a: Storage, b: Storage, c: Storage): boolean {
  return a instanceof Float32Array && b instanceof Float32Array && c instanceof Float32Array
    && arenaAddress(a) >= 0 && arenaAddress(b) >= 0 && arenaAddress(c) >= 0;
}

const GLUE_BINARY: ReadonlySet<string> = new Set<GlueBinaryOp>(['add', 'sub', 'mul', 'div', 'maximum', 'minimum']);

/**
 * out[i·N + j] = a[i·aRow + j·aCol] (op) b[i·bRow + j·bCol] over [M, N] (offsets in elements into
 * each storage), as wasm/glue.ts's binary form.
 */
export function tryBinary(
  op: string, M: number, N: number,
  a: Storage, aOff: number, aRow: number, aCol: number,
  b: Storage, bOff: number, bRow: number, bCol: number,
  o: Storage, oOff: number,
): boolean {
  if (!GLUE_BINARY.has(op) || !onWasm('map', M * N, a, b, o) || !inArena(a, b, o)) return false;
  const k = glueKernels();
  if (k === null) return false;
  k.binary[op as GlueBinaryOp](M, N, arenaAddress(a as Float32Array) + 4 * aOff, aRow, aCol,
    arenaAddress(b as Float32Array) + 4 * bOff, bRow, bCol, arenaAddress(o as Float32Array) + 4 * oOff);
  return true;
}

/** relu / neg / scale(p) / leakyRelu(p) over n elements: the unary ops the glue computes bit for bit. */
export function tryUnary(op: string, x: Storage, o: Storage, n: number, p: number): boolean {
  if (!(op === 'relu' || op === 'neg' || op === 'scale' || op === 'leakyRelu')) return false;
  if (!onWasm('map', n, x, o) || !inArena(x, o, o)) return false;
  const k = glueKernels();
  if (k === null) return false;
  const px = arenaAddress(x as Float32Array), po = arenaAddress(o as Float32Array);
  if (op === 'relu') k.relu(n, px, po);
  else if (op === 'neg') k.neg(n, px, po);
  else if (op === 'scale') k.scale(n, px, po, p);
  else k.leakyRelu(n, px, po, p);
  return true;
}

/** out = g·[x > 0] (relu's backward). */
export function tryReluGrad(g: Storage, x: Storage, o: Storage, n: number): boolean {
  if (!onWasm('map', n, g, x, o) || !inArena(g, x, o)) return false;
  const k = glueKernels();
  if (k === null) return false;
  k.reluGrad(n, arenaAddress(g as Float32Array), arenaAddress(x as Float32Array), arenaAddress(o as Float32Array));
  return true;
}

/** out = g·y·(1 − y) or g·(1 − y²) from the saved output y (sigmoid's / tanh's backward). */
export function tryActivationGrad(kind: 'sigmoid' | 'tanh', g: Storage, y: Storage, o: Storage, n: number): boolean {
  if (!onWasm('map', n, g, y, o) || !inArena(g, y, o)) return false;
  const k = glueKernels();
  if (k === null) return false;
  (kind === 'sigmoid' ? k.sigmoidGrad : k.tanhGrad)(n, arenaAddress(g as Float32Array), arenaAddress(y as Float32Array), arenaAddress(o as Float32Array));
  return true;
}

/** Softmax over the last axis of [M, N]; by backend, never by size (see above). */
export function trySoftmaxRows(x: Storage, o: Storage, M: number, N: number): boolean {
  if (M * N === 0 || !onWasm('softmax', 1, x, o) || !inArena(x, o, o)) return false;
  const k = glueKernels();
  if (k === null) return false;
  k.softmax(M, N, arenaAddress(x as Float32Array), arenaAddress(o as Float32Array));
  return true;
}

/** y ⊙ (g − rowsum(g ⊙ y)) over rows of [M, N]. */
export function trySoftmaxGradRows(y: Storage, g: Storage, o: Storage, M: number, N: number): boolean {
  if (!onWasm('rows', M * N, y, g, o) || !inArena(y, g, o)) return false;
  const k = glueKernels();
  if (k === null) return false;
  k.softmaxGrad(M, N, arenaAddress(y as Float32Array), arenaAddress(g as Float32Array), arenaAddress(o as Float32Array));
  return true;
}

/** [M, N] → [N] (axis-0 sum, rows in order) or [M, N] → [M] (last-axis sum, float64 accumulator). */
export function trySum(axis: 'rows' | 'columns', x: Storage, o: Storage, M: number, N: number): boolean {
  if (M * N === 0 || !onWasm('rows', M * N, x, o) || !inArena(x, o, o)) return false;
  const k = glueKernels();
  if (k === null) return false;
  (axis === 'columns' ? k.colSum : k.rowSum)(M, N, arenaAddress(x as Float32Array), arenaAddress(o as Float32Array));
  return true;
}

/** M blocks of n floats from src (stride sStride) to dst (stride dStride), offsets in elements. */
export function tryCopyBlocks(M: number, n: number, src: Storage, sOff: number, sStride: number, dst: Storage, dOff: number, dStride: number): boolean {
  if (!onWasm('rows', M * n, src, dst) || !inArena(src, dst, dst)) return false;
  const k = glueKernels();
  if (k === null) return false;
  k.copyBlocks(M, n, arenaAddress(src as Float32Array) + 4 * sOff, sStride, arenaAddress(dst as Float32Array) + 4 * dOff, dStride);
  return true;
}

/** The arena address of each array (float32, in the arena) or null if any is not there. */
export function arenaAddresses(arrays: readonly (Storage | null)[]): number[] | null {
  const out: number[] = [];
  for (const a of arrays) {
    if (a === null) { out.push(0); continue; }
    if (!(a instanceof Float32Array)) return null;
    const p = arenaAddress(a);
    if (p < 0) return null;
    out.push(p);
  }
  return out;
}

/*
 * Fused optimizer steps over one parameter, bit-identical to src/nn/optim's loops (wasm/glue.ts):
 * θ, its gradient and every state buffer must live in the arena. Arguments as glue.ts documents.
 */

export function tryAdam(
  theta: Storage, grad: Storage, m: Storage, v: Storage, vmax: Storage | null, b1: number, b2: number,
  decayed: boolean, shrink: number, l2: number, stepSize: number, bc2Sqrt: number, eps: number,
): boolean {
  const n = theta.length;
  if (!onWasm('optim', n, theta, grad)) return false;
  const p = arenaAddresses([theta, grad, m, v, vmax]);
  const k = p === null ? null : glueKernels();
  if (p === null || k === null) return false;
  k.adam(n, p[0], p[1], p[2], p[3], p[4], b1, b2, decayed, shrink, l2, stepSize, bc2Sqrt, eps);
  return true;
}

export function trySgd(theta: Storage, grad: Storage, buf: Storage | null, lr: number, wd: number, mu: number, dampening: number, nesterov: boolean, first: boolean): boolean {
  const n = theta.length;
  if (!onWasm('optim', n, theta, grad)) return false;
  const p = arenaAddresses([theta, grad, buf]);
  const k = p === null ? null : glueKernels();
  if (p === null || k === null) return false;
  k.sgd(n, p[0], p[1], p[2], lr, wd, mu, dampening, nesterov, first);
  return true;
}

export function tryAdagrad(theta: Storage, grad: Storage, sum: Storage, clr: number, wd: number, eps: number): boolean {
  const n = theta.length;
  if (!onWasm('optim', n, theta, grad)) return false;
  const p = arenaAddresses([theta, grad, sum]);
  const k = p === null ? null : glueKernels();
  if (p === null || k === null) return false;
  k.adagrad(n, p[0], p[1], p[2], clr, wd, eps);
  return true;
}

export function tryRmsprop(
  theta: Storage, grad: Storage, v: Storage, gAvg: Storage | null, buf: Storage | null,
  lr: number, alpha: number, eps: number, wd: number, mu: number,
): boolean {
  const n = theta.length;
  if (!onWasm('optim', n, theta, grad)) return false;
  const p = arenaAddresses([theta, grad, v, gAvg, buf]);
  const k = p === null ? null : glueKernels();
  if (p === null || k === null) return false;
  k.rmsprop(n, p[0], p[1], p[2], p[3], p[4], lr, alpha, eps, wd, mu);
  return true;
}
