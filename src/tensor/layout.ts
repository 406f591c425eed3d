import { copyBlocks, copyRange } from './copy.js';
import { allocate, allocateUninit } from './dtype.js';
import { NDArray } from './ndarray.js';
import { axisView, formatShape, normalizeAxis, stridesOf } from './shape.js';

/** Copies x with its axes reordered: out.shape[i] = x.shape[perm[i]]. */
export function permuteArray(x: NDArray, perm: readonly number[], opName = 'permute'): NDArray {
  const nd = x.ndim;
  if (perm.length !== nd) throw new RangeError(`${opName}: permutation [${perm.join(',')}] does not match rank ${nd} of ${formatShape(x.shape)}`);
  const p = perm.map((a) => normalizeAxis(opName, a, nd));
  if (new Set(p).size !== nd) throw new RangeError(`${opName}: [${perm.join(',')}] is not a permutation`);
  const outShape = p.map((a) => x.shape[a]);
  const inStrides = stridesOf(x.shape);
  const st = p.map((a) => inStrides[a]);
  const o = allocateUninit(x.dtype, x.size);
  const d = x.data;
  if (nd === 0 || x.size === 0) { o.set(d); return new NDArray(o, outShape); }
  const inner = outShape[nd - 1];
  const sIn = st[nd - 1];
  const counter = new Array<number>(nd).fill(0);
  let src = 0;
  for (let dst = 0; dst < o.length; dst += inner) {
    let s = src;
    for (let j = 0; j < inner; j++, s += sIn) o[dst + j] = d[s];
    for (let ax = nd - 2; ax >= 0; ax--) {
      counter[ax]++;
      src += st[ax];
      if (counter[ax] < outShape[ax]) break;
      src -= st[ax] * counter[ax];
      counter[ax] = 0;
    }
  }
  return new NDArray(o, outShape);
}

/** Joins arrays along an existing axis; all other dimensions must match. */
export function concatArrays(xs: readonly NDArray[], axis: number, opName = 'concat'): NDArray {
  if (xs.length === 0) throw new RangeError(`${opName}: needs at least one tensor`);
  const first = xs[0];
  const nd = first.ndim;
  const ax = normalizeAxis(opName, axis, nd);
  let total = 0;
  for (const x of xs) {
    if (x.dtype !== first.dtype) throw new TypeError(`${opName}: dtype mismatch ${first.dtype} vs ${x.dtype}; cast first`);
    if (x.ndim !== nd || x.shape.some((d, i) => i !== ax && d !== first.shape[i])) {
      throw new Error(`${opName}: shapes ${formatShape(first.shape)} and ${formatShape(x.shape)} differ outside axis ${ax}`);
    }
    total += x.shape[ax];
  }
  const outShape = first.shape.slice();
  outShape[ax] = total;
  const [outer, , inner] = axisView(outShape, ax);
  const o = allocateUninit(first.dtype, outer * total * inner);
  let offset = 0;
  for (const x of xs) {
    const w = x.shape[ax] * inner;
    const xd = x.data;
    copyBlocks(outer, w, xd, 0, w, o, offset, total * inner);
    offset += w;
  }
  return new NDArray(o, outShape);
}

/** Copies x[..., start:start+length, ...] along one axis. */
export function sliceArray(x: NDArray, axis: number, start: number, length: number): NDArray {
  const [outer, n, inner] = axisView(x.shape, axis);
  const outShape = x.shape.slice();
  outShape[axis] = length;
  const o = allocateUninit(x.dtype, outer * length * inner);
  const w = length * inner;
  const d = x.data;
  if (outer === 1 || w === n * inner) {
    // One contiguous run (the leading axis, or the whole axis): a single copy.
    copyRange(d, start * inner, o, 0, outer * w);
  } else copyBlocks(outer, w, d, start * inner, n * inner, o, 0, w);
  return new NDArray(o, outShape);
}

/** Writes g into a zero array of `shape` at [start, start+length) along `axis`: the adjoint of slice. */
export function padSliceArray(g: NDArray, shape: readonly number[], axis: number, start: number): NDArray {
  const [outer, n, inner] = axisView(shape, axis);
  const length = g.shape[axis];
  const o = allocate(g.dtype, outer * n * inner);
  const w = length * inner;
  const gd = g.data;
  if (outer === 1 || w === n * inner) copyRange(gd, 0, o, start * inner, outer * w);
  else copyBlocks(outer, w, gd, 0, w, o, start * inner, n * inner);
  return new NDArray(o, shape);
}
