import { allocate, type Storage } from './dtype.js';
import { trySum } from './glue-calls.js';
import { NDArray } from './ndarray.js';
import { axisView, formatShape, normalizeAxes, sizeOf, type Shape } from './shape.js';

export type ReduceOp = 'sum' | 'max' | 'min';

/** Reduces one axis, viewing the array as [outer, n, inner]; the reduced axis is kept with size 1. */
function reduceAxis(op: ReduceOp, x: NDArray, axis: number): NDArray {
  const shape = x.shape;
  const [outer, n, inner] = axisView(shape, axis);
  const outShape = shape.slice();
  outShape[axis] = 1;
  const o = allocate(x.dtype, outer * inner);
  const d = x.data;
  if (n === 0) {
    if (op !== 'sum') throw new RangeError(`${op}: cannot reduce an empty axis ${axis} of shape ${formatShape(shape)}`);
    return new NDArray(o, outShape);
  }
  if (op === 'sum' && sumOnGlue(d, o, outer, n, inner)) return new NDArray(o, outShape);
  for (let a = 0; a < outer; a++) {
    const base = a * n * inner;
    const ob = a * inner;
    if (op === 'sum') {
      if (inner === 1) {
        let s = 0;
        for (let k = 0; k < n; k++) s += d[base + k];
        o[ob] = s;
      } else {
        for (let k = 0; k < n; k++) {
          const row = base + k * inner;
          for (let i = 0; i < inner; i++) o[ob + i] += d[row + i];
        }
      }
    } else {
      const isMax = op === 'max';
      for (let i = 0; i < inner; i++) o[ob + i] = d[base + i];
      for (let k = 1; k < n; k++) {
        const row = base + k * inner;
        for (let i = 0; i < inner; i++) {
          const v = d[row + i];
          const cur = o[ob + i];
          // NaN propagates, as in PyTorch.
          if (isMax ? v > cur || v !== v : v < cur || v !== v) o[ob + i] = v;
        }
      }
    }
  }
  return new NDArray(o, outShape);
}

/**
 * The sum kernels of the glue (bit-identical to the loops above): a last-axis sum is row sums
 * over [outer, n]; an inner axis is column sums of each [n, inner] block. Offsets go through
 * subarrays, which share the arena block and so its address.
 */
function sumOnGlue(d: Storage, o: Storage, outer: number, n: number, inner: number): boolean {
  if (inner === 1) return trySum('rows', d, o, outer, n);
  if (outer === 1) return trySum('columns', d, o, n, inner);
  // [outer, n, inner] (a stacked run axis in front): column sums block by block, each in the
  // order a lone block's would be; all or none, so a partial run never mixes paths.
  if (!trySum('columns', d.subarray(0, n * inner), o.subarray(0, inner), n, inner)) return false;
  for (let a = 1; a < outer; a++) {
    trySum('columns', d.subarray(a * n * inner, (a + 1) * n * inner), o.subarray(a * inner, (a + 1) * inner), n, inner);
  }
  return true;
}

/**
 * Reduces over `axis` (a number, a list, or undefined for all) with PyTorch's keepdim meaning.
 * Sums accumulate in doubles for whole-array reductions (JS numbers), row by row otherwise.
 */
export function reduce(op: ReduceOp, x: NDArray, axis?: number | readonly number[], keepdim = false): NDArray {
  const axes = normalizeAxes(op, axis, x.ndim);
  if (axes.length === x.ndim && x.ndim > 0 && op === 'sum') {
    const d = x.data;
    const o = allocate(x.dtype, 1);
    if (!trySum('rows', d, o, 1, d.length)) {
      let s = 0;
      for (let i = 0; i < d.length; i++) s += d[i];
      o[0] = s;
    }
    return new NDArray(o, keepdim ? x.shape.map(() => 1) : []);
  }
  let r = x;
  for (const ax of axes) r = reduceAxis(op, r, ax);
  if (keepdim) return r;
  const outShape = x.shape.filter((_, i) => !axes.includes(i));
  return new NDArray(r.data, outShape);
}

/** The shape a reduction produces with keepdim = true. */
export function keptShape(shape: Shape, axes: readonly number[]): number[] {
  return shape.map((d, i) => (axes.includes(i) ? 1 : d));
}

/**
 * Sums `g` down to `shape`, undoing NumPy broadcasting: this is the single place where the
 * gradients of broadcast operands are reduced.
 */
export function sumToShape(g: NDArray, shape: Shape): NDArray {
  if (g.shape.length === shape.length && g.shape.every((d, i) => d === shape[i])) return g;
  const lead = g.ndim - shape.length;
  if (lead < 0) throw new Error(`sumToShape: cannot reduce ${formatShape(g.shape)} to ${formatShape(shape)}`);
  const axes: number[] = [];
  for (let i = 0; i < g.ndim; i++) {
    if (i < lead) axes.push(i);
    else if (shape[i - lead] === 1 && g.shape[i] !== 1) axes.push(i);
    else if (shape[i - lead] !== g.shape[i]) {
      throw new Error(`sumToShape: cannot reduce ${formatShape(g.shape)} to ${formatShape(shape)}`);
    }
  }
  const r = axes.length ? reduce('sum', g, axes, true) : g;
  if (sizeOf(shape) !== r.size) throw new Error(`sumToShape: cannot reduce ${formatShape(g.shape)} to ${formatShape(shape)}`);
  return new NDArray(r.data, shape);
}
