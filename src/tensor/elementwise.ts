import { allocateUninit, type Storage } from './dtype.js';
import { tryActivationGrad, tryBinary, tryReluGrad, tryUnary } from './glue-calls.js';
import { NDArray } from './ndarray.js';
import { broadcastShapes, broadcastStrides, formatShape, sizeOf, shapesEqual, type Shape } from './shape.js';

/*
 * Elementwise kernels. Each op has its own loop (selected by a switch outside the loop) so that V8
 * compiles a monomorphic body per op instead of calling a closure per element.
 */

export type UnaryOp =
  | 'neg' | 'exp' | 'log' | 'log1p' | 'sqrt' | 'abs' | 'sign' | 'tanh' | 'sigmoid' | 'relu'
  | 'step' | 'square' | 'reciprocal' | 'leakyRelu' | 'clamp' | 'powScalar' | 'scale' | 'addScalar'
  | 'clampMask' | 'leakyReluGrad';

/** out = f(x); p and q are the op's scalar parameters (slope, bounds, exponent). */
export function unary(op: UnaryOp, x: NDArray, p = 0, q = 0): NDArray {
  const n = x.size;
  const a = x.data;
  const o = allocateUninit(x.dtype, n);
  if (!tryUnary(op, a, o, n, p)) unaryInto(op, a, o, n, p, q);
  return new NDArray(o, x.shape);
}

export function unaryInto(op: UnaryOp, a: Storage, o: Storage, n: number, p: number, q: number): void {
  switch (op) {
    case 'neg': for (let i = 0; i < n; i++) o[i] = -a[i]; break;
    case 'exp': for (let i = 0; i < n; i++) o[i] = Math.exp(a[i]); break;
    case 'log': for (let i = 0; i < n; i++) o[i] = Math.log(a[i]); break;
    case 'log1p': for (let i = 0; i < n; i++) o[i] = Math.log1p(a[i]); break;
    case 'sqrt': for (let i = 0; i < n; i++) o[i] = Math.sqrt(a[i]); break;
    case 'abs': for (let i = 0; i < n; i++) o[i] = Math.abs(a[i]); break;
    case 'sign': for (let i = 0; i < n; i++) { const v = a[i]; o[i] = v > 0 ? 1 : v < 0 ? -1 : 0; } break;
    case 'tanh': for (let i = 0; i < n; i++) o[i] = Math.tanh(a[i]); break;
    case 'sigmoid':
      for (let i = 0; i < n; i++) {
        const v = a[i];
        // Two branches keep exp's argument non-positive, so neither overflows.
        if (v >= 0) o[i] = 1 / (1 + Math.exp(-v));
        else { const e = Math.exp(v); o[i] = e / (1 + e); }
      }
      break;
    // `v <= 0` rather than `v > 0`: NaN must come out NaN (as torch.relu), not be hidden as 0.
    case 'relu': reluInto(a, o, n); break;
    case 'step': for (let i = 0; i < n; i++) o[i] = +(a[i] > 0); break;
    case 'square': for (let i = 0; i < n; i++) { const v = a[i]; o[i] = v * v; } break;
    case 'reciprocal': for (let i = 0; i < n; i++) o[i] = 1 / a[i]; break;
    case 'leakyRelu': for (let i = 0; i < n; i++) { const v = a[i]; o[i] = v > 0 ? v : p * v; } break;
    case 'leakyReluGrad': for (let i = 0; i < n; i++) o[i] = a[i] > 0 ? 1 : p; break;
    case 'clamp': for (let i = 0; i < n; i++) { const v = a[i]; o[i] = v < p ? p : v > q ? q : v; } break;
    // 1 where clamp passes the gradient through (inside the bounds, PyTorch's convention at ties).
    case 'clampMask': for (let i = 0; i < n; i++) { const v = a[i]; o[i] = v >= p && v <= q ? 1 : 0; } break;
    case 'powScalar':
      if (p === 2) for (let i = 0; i < n; i++) { const v = a[i]; o[i] = v * v; }
      else for (let i = 0; i < n; i++) o[i] = Math.pow(a[i], p);
      break;
    case 'scale': for (let i = 0; i < n; i++) o[i] = a[i] * p; break;
    case 'addScalar': for (let i = 0; i < n; i++) o[i] = a[i] + p; break;
    default: {
      const never: never = op;
      throw new Error(`unary: unknown op ${String(never)}`);
    }
  }
}

/*
 * ReLU's inputs are positive or negative at random, so a `v > 0 ? v : 0` per element mispredicts
 * about every other branch: measured here, 11–19 ns an element against 3–4.5 ns for the form
 * below and 1–2 ns for an add. For float32 values (exact in doubles, far from overflow)
 * (v + |v|)/2 is v or +0 exactly; the only branch left, for −Inf and NaN, is almost never taken.
 * float64 keeps the plain form (v + |v| can overflow there). NaN stays NaN, −0 becomes +0.
 */
function reluInto(a: Storage, o: Storage, n: number): void {
  if (a instanceof Float32Array) {
    for (let i = 0; i < n; i++) {
      const v = a[i];
      o[i] = v > -Infinity ? (v + Math.abs(v)) * 0.5 : v === v ? 0 : v;
    }
  } else {
    for (let i = 0; i < n; i++) { const v = a[i]; o[i] = v <= 0 ? 0 : v; }
  }
}

export type BinaryOp = 'add' | 'sub' | 'mul' | 'div' | 'maximum' | 'minimum' | 'eq' | 'gt' | 'ge' | 'lt' | 'pow';

function binaryRow(
  op: BinaryOp, a: Storage, ia: number, sa: number, b: Storage, ib: number, sb: number,
  o: Storage, io: number, n: number,
): void {
  switch (op) {
    case 'add': for (let j = 0; j < n; j++, ia += sa, ib += sb) o[io + j] = a[ia] + b[ib]; break;
    case 'sub': for (let j = 0; j < n; j++, ia += sa, ib += sb) o[io + j] = a[ia] - b[ib]; break;
    case 'mul': for (let j = 0; j < n; j++, ia += sa, ib += sb) o[io + j] = a[ia] * b[ib]; break;
    case 'div': for (let j = 0; j < n; j++, ia += sa, ib += sb) o[io + j] = a[ia] / b[ib]; break;
    case 'maximum': for (let j = 0; j < n; j++, ia += sa, ib += sb) { const x = a[ia], y = b[ib]; o[io + j] = x >= y || x !== x ? x : y; } break; // NaN propagates, as torch.maximum
    case 'minimum': for (let j = 0; j < n; j++, ia += sa, ib += sb) { const x = a[ia], y = b[ib]; o[io + j] = x <= y || x !== x ? x : y; } break;
    case 'eq': for (let j = 0; j < n; j++, ia += sa, ib += sb) o[io + j] = a[ia] === b[ib] ? 1 : 0; break;
    case 'gt': for (let j = 0; j < n; j++, ia += sa, ib += sb) o[io + j] = a[ia] > b[ib] ? 1 : 0; break;
    case 'ge': for (let j = 0; j < n; j++, ia += sa, ib += sb) o[io + j] = a[ia] >= b[ib] ? 1 : 0; break;
    case 'lt': for (let j = 0; j < n; j++, ia += sa, ib += sb) o[io + j] = a[ia] < b[ib] ? 1 : 0; break;
    case 'pow': for (let j = 0; j < n; j++, ia += sa, ib += sb) o[io + j] = Math.pow(a[ia], b[ib]); break;
    default: {
      const never: never = op;
      throw new Error(`binary: unknown op ${String(never)}`);
    }
  }
}

/** Walks every row (last axis) of `outShape`, giving each operand's row offset and inner stride. */
function forEachBroadcastRow(
  outShape: Shape, strides: number[][], fn: (offsets: number[], inner: number, innerStrides: number[], outOffset: number) => void,
): void {
  const nd = outShape.length;
  const k = strides.length;
  if (nd === 0) {
    fn(new Array<number>(k).fill(0), 1, new Array<number>(k).fill(0), 0);
    return;
  }
  const inner = outShape[nd - 1];
  const innerStrides = strides.map((s) => s[nd - 1]);
  const rows = inner === 0 ? 0 : sizeOf(outShape) / inner;
  const counter = new Array<number>(nd - 1).fill(0);
  const offsets = new Array<number>(k).fill(0);
  for (let r = 0; r < rows; r++) {
    fn(offsets, inner, innerStrides, r * inner);
    // Increment the multi-index over the outer axes and update every operand's offset.
    for (let ax = nd - 2; ax >= 0; ax--) {
      counter[ax]++;
      for (let t = 0; t < k; t++) offsets[t] += strides[t][ax];
      if (counter[ax] < outShape[ax]) break;
      for (let t = 0; t < k; t++) offsets[t] -= strides[t][ax] * counter[ax];
      counter[ax] = 0;
    }
  }
}

/** out = a (op) b with NumPy broadcasting. Both operands must share a dtype (checked by the caller). */
export function binary(op: BinaryOp, a: NDArray, b: NDArray, opName: string = op): NDArray {
  if (a.dtype !== b.dtype) {
    throw new TypeError(`${opName}: dtype mismatch ${a.dtype} vs ${b.dtype}; cast one operand first`);
  }
  if (shapesEqual(a.shape, b.shape)) {
    const n = a.size;
    const o = allocateUninit(a.dtype, n);
    if (!tryBinary(op, 1, n, a.data, 0, n, 1, b.data, 0, n, 1, o, 0)) binaryRow(op, a.data, 0, 1, b.data, 0, 1, o, 0, n);
    return new NDArray(o, a.shape);
  }
  const outShape = broadcastShapes(opName, a.shape, b.shape);
  const n = sizeOf(outShape);
  const o = allocateUninit(a.dtype, n);
  if (b.size === 1) {
    if (!tryBinary(op, 1, n, a.data, 0, n, 1, b.data, 0, 0, 0, o, 0)) binaryRow(op, a.data, 0, 1, b.data, 0, 0, o, 0, n);
    return new NDArray(o, outShape);
  }
  if (a.size === 1) {
    if (!tryBinary(op, 1, n, a.data, 0, 0, 0, b.data, 0, n, 1, o, 0)) binaryRow(op, a.data, 0, 0, b.data, 0, 1, o, 0, n);
    return new NDArray(o, outShape);
  }
  // Row and column broadcasts ([M, N] with [N], or with [M, 1]: bias adds, per-row scales) walk
  // the full operand contiguously and skip the general index bookkeeping.
  if (a.size === n && rowBroadcast(op, a.data, b, outShape, o, false)) return new NDArray(o, outShape);
  if (b.size === n && rowBroadcast(op, b.data, a, outShape, o, true)) return new NDArray(o, outShape);
  const sA = broadcastStrides(a.shape, outShape);
  const sB = broadcastStrides(b.shape, outShape);
  const ad = a.data;
  const bd = b.data;
  if (binaryPlanes(op, ad, sA, bd, sB, outShape, o)) return new NDArray(o, outShape);
  forEachBroadcastRow(outShape, [sA, sB], (off, inner, st, oo) => {
    binaryRow(op, ad, off[0], st[0], bd, off[1], st[1], o, oo, inner);
  });
  return new NDArray(o, outShape);
}

/**
 * Any other broadcast as planes of its last two axes ([..., M, N], e.g. a stacked bias add
 * [R, B, H] + [R, 1, H]): one strided glue call per plane. False, nothing written, where the glue
 * cannot run (the caller's JavaScript loop then does all of it).
 */
function binaryPlanes(op: BinaryOp, ad: Storage, sA: readonly number[], bd: Storage, sB: readonly number[], outShape: Shape, o: Storage): boolean {
  const nd = outShape.length;
  if (nd < 2) return false;
  const M = outShape[nd - 2], N = outShape[nd - 1];
  if (M * N === 0) return false;
  const planes = o.length / (M * N);
  const counter = new Array<number>(nd - 2).fill(0);
  let offA = 0, offB = 0;
  for (let p = 0; p < planes; p++) {
    // The work is the same for every plane, so the first call decides for all of them.
    if (!tryBinary(op, M, N, ad, offA, sA[nd - 2], sA[nd - 1], bd, offB, sB[nd - 2], sB[nd - 1], o, p * M * N)) return false;
    for (let ax = nd - 3; ax >= 0; ax--) {
      counter[ax]++;
      offA += sA[ax];
      offB += sB[ax];
      if (counter[ax] < outShape[ax]) break;
      offA -= sA[ax] * counter[ax];
      offB -= sB[ax] * counter[ax];
      counter[ax] = 0;
    }
  }
  return true;
}

/**
 * o = full (op) small when `small` is the trailing block of `outShape` (`[N]` against `[M, N]`) or
 * one value per row (`[M, 1]` against `[M, N]`); `swapped` puts `small` on the left. Returns false,
 * writing nothing, for any other broadcast.
 */
function rowBroadcast(op: BinaryOp, full: Storage, small: NDArray, outShape: Shape, o: Storage, swapped: boolean): boolean {
  const n = o.length;
  const sd = small.data;
  const w = small.size;
  if (isTrailingBlock(small.shape, outShape)) {
    // [n / w, w] with a row of w: one glue call for the whole block when it can run in place.
    if (w > 0 && (swapped
      ? tryBinary(op, n / w, w, sd, 0, 0, 1, full, 0, w, 1, o, 0)
      : tryBinary(op, n / w, w, full, 0, w, 1, sd, 0, 0, 1, o, 0))) return true;
    if (swapped) for (let r = 0; r < n; r += w) binaryRow(op, sd, 0, 1, full, r, 1, o, r, w);
    else for (let r = 0; r < n; r += w) binaryRow(op, full, r, 1, sd, 0, 1, o, r, w);
    return true;
  }
  if (isRowColumn(small.shape, outShape)) {
    const inner = outShape[outShape.length - 1];
    if (swapped
      ? tryBinary(op, w, inner, sd, 0, 1, 0, full, 0, inner, 1, o, 0)
      : tryBinary(op, w, inner, full, 0, inner, 1, sd, 0, 1, 0, o, 0)) return true;
    if (swapped) for (let r = 0, i = 0; r < w; r++, i += inner) binaryRow(op, sd, r, 0, full, i, 1, o, i, inner);
    else for (let r = 0, i = 0; r < w; r++, i += inner) binaryRow(op, full, i, 1, sd, r, 0, o, i, inner);
    return true;
  }
  return false;
}

/** Whether `s`, without its leading 1s, equals the last dimensions of `out`. */
function isTrailingBlock(s: Shape, out: Shape): boolean {
  let lead = 0;
  while (lead < s.length && s[lead] === 1) lead++;
  const k = s.length - lead;
  if (k > out.length) return false;
  for (let i = 0; i < k; i++) if (s[lead + i] !== out[out.length - k + i]) return false;
  return true;
}

/** Whether `s` (right-aligned, missing leading axes read as 1) equals `out` with its last axis 1. */
function isRowColumn(s: Shape, out: Shape): boolean {
  const nd = out.length;
  if (nd === 0 || s.length === 0 || s[s.length - 1] !== 1) return false;
  const off = nd - s.length;
  if (off < 0) return false;
  for (let i = 0; i < nd - 1; i++) {
    const d = i < off ? 1 : s[i - off];
    if (d !== out[i]) return false;
  }
  return true;
}

/**
 * ReLU's backward in one pass: g·[x > 0], the 0/1 mask as a number rather than a branch (see
 * reluInto), so a NaN or ±Inf upstream gradient stays NaN where x ≤ 0. x and g have the same shape.
 */
export function reluBackward(x: NDArray, g: NDArray): NDArray {
  const xd = x.data, gd = g.data, n = xd.length;
  const o = allocateUninit(g.dtype, n);
  if (!tryReluGrad(gd, xd, o, n)) for (let i = 0; i < n; i++) o[i] = gd[i] * +(xd[i] > 0);
  return new NDArray(o, x.shape);
}

/** Sigmoid's backward from its output y: g·y·(1 − y). */
export function sigmoidBackward(y: NDArray, g: NDArray): NDArray {
  const yd = y.data, gd = g.data, n = yd.length;
  const o = allocateUninit(g.dtype, n);
  if (!tryActivationGrad('sigmoid', gd, yd, o, n)) for (let i = 0; i < n; i++) o[i] = gd[i] * yd[i] * (1 - yd[i]);
  return new NDArray(o, y.shape);
}

/** Tanh's backward from its output y: g·(1 − y²). */
export function tanhBackward(y: NDArray, g: NDArray): NDArray {
  const yd = y.data, gd = g.data, n = yd.length;
  const o = allocateUninit(g.dtype, n);
  if (!tryActivationGrad('tanh', gd, yd, o, n)) for (let i = 0; i < n; i++) { const v = yd[i]; o[i] = gd[i] * (1 - v * v); }
  return new NDArray(o, y.shape);
}

/** out = cond != 0 ? a : b, all three broadcast together. */
export function where(cond: NDArray, a: NDArray, b: NDArray): NDArray {
  if (a.dtype !== b.dtype) throw new TypeError(`where: dtype mismatch ${a.dtype} vs ${b.dtype}; cast one operand first`);
  const outShape = broadcastShapes('where', broadcastShapes('where', cond.shape, a.shape), b.shape);
  const o = allocateUninit(a.dtype, sizeOf(outShape));
  const sC = broadcastStrides(cond.shape, outShape);
  const sA = broadcastStrides(a.shape, outShape);
  const sB = broadcastStrides(b.shape, outShape);
  const cd = cond.data, ad = a.data, bd = b.data;
  forEachBroadcastRow(outShape, [sC, sA, sB], (off, inner, st, oo) => {
    let ic = off[0], ia = off[1], ib = off[2];
    for (let j = 0; j < inner; j++, ic += st[0], ia += st[1], ib += st[2]) o[oo + j] = cd[ic] !== 0 ? ad[ia] : bd[ib];
  });
  return new NDArray(o, outShape);
}

/** Materialises `a` broadcast to `shape`. */
export function expandArray(a: NDArray, shape: Shape, opName = 'expand'): NDArray {
  const outShape = broadcastShapes(opName, a.shape, shape);
  if (!shapesEqual(outShape, shape)) {
    throw new Error(`${opName}: cannot expand ${formatShape(a.shape)} to ${formatShape(shape)}`);
  }
  const o = allocateUninit(a.dtype, sizeOf(outShape));
  const sA = broadcastStrides(a.shape, outShape);
  const ad = a.data;
  forEachBroadcastRow(outShape, [sA], (off, inner, st, oo) => {
    let ia = off[0];
    for (let j = 0; j < inner; j++, ia += st[0]) o[oo + j] = ad[ia];
  });
  return new NDArray(o, outShape);
}

/** In-place a += b (same shape); used to accumulate gradients. */
export function addInto(a: NDArray, b: NDArray): void {
  const ad = a.data, bd = b.data, n = ad.length;
  if (tryBinary('add', 1, n, ad, 0, 0, 1, bd, 0, 0, 1, ad, 0)) return;
  for (let i = 0; i < n; i++) ad[i] += bd[i];
}

/** y[r, :] += b for every row r of y [rows, n] (b [n]), in place: a bias added to a fresh product. */
export function addRowInPlace(y: NDArray, b: Storage): void {
  const yd = y.data, n = b.length;
  if (n === 0) return;
  const rows = yd.length / n;
  if (tryBinary('add', rows, n, yd, 0, n, 1, b, 0, 0, 1, yd, 0)) return;
  for (let r = 0, end = yd.length; r < end; r += n) {
    for (let j = 0; j < n; j++) yd[r + j] += b[j];
  }
}
