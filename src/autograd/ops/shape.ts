import {
  NDArray, castArray, copyStorage, checkDType, checkIndices, concatArrays, expandArray, formatShape, indexSelectArray,
  normalizeAxis, padSliceArray, permuteArray, resolveShape, scatterAddArray, sliceArray, where as whereKernel,
  type DType, type Indices, binary, filled,
} from '../../tensor/index.js';
import { defineOp } from '../function.js';
import { Tensor } from '../tensor.js';

/* Ops that move or select elements without arithmetic. */

const reshapeOp = defineOp<readonly number[]>({
  name: 'reshape',
  forward: (_c, [x], shape) => new NDArray(x.data, shape),
  backward: (_c, g, [x]) => [new NDArray(g.data, x.shape)],
});

/** Zero-copy reshape; one dimension may be -1. Accepts reshape(x, [2, 3]) or reshape(x, 2, 3). */
export function reshape(x: Tensor, ...shape: Array<number | readonly number[]>): Tensor {
  const flat = shape.length === 1 && Array.isArray(shape[0]) ? (shape[0] as readonly number[]) : (shape as number[]);
  return reshapeOp([x], resolveShape('reshape', flat, x.size, x.shape));
}

const permuteOp = defineOp<number[]>({
  name: 'permute',
  forward: (_c, [x], perm) => permuteArray(x, perm),
  backward: (_c, g, _i, perm) => {
    const inv = new Array<number>(perm.length);
    perm.forEach((p, i) => (inv[p] = i));
    return [permuteArray(g, inv)];
  },
});

export function permute(x: Tensor, ...dims: Array<number | readonly number[]>): Tensor {
  const flat = dims.length === 1 && Array.isArray(dims[0]) ? (dims[0] as readonly number[]) : (dims as number[]);
  if (flat.length !== x.ndim) throw new RangeError(`permute: permutation [${flat.join(',')}] does not match rank ${x.ndim} of ${formatShape(x.shape)}`);
  const perm = flat.map((a) => normalizeAxis('permute', a, x.ndim));
  if (new Set(perm).size !== perm.length) throw new RangeError(`permute: [${flat.join(',')}] is not a permutation`);
  return permuteOp([x], perm);
}

/** Swaps two axes (copying, so the result stays contiguous). */
export function transpose(x: Tensor, axis0 = -2, axis1 = -1): Tensor {
  const a = normalizeAxis('transpose', axis0, x.ndim);
  const b = normalizeAxis('transpose', axis1, x.ndim);
  const perm = Array.from({ length: x.ndim }, (_, i) => i);
  perm[a] = b;
  perm[b] = a;
  return permuteOp([x], perm);
}

/** Removes size-1 axes: one (error if its size is not 1) or all when axis is omitted. */
export function squeeze(x: Tensor, axis?: number): Tensor {
  if (axis === undefined) return reshapeOp([x], x.shape.filter((d) => d !== 1));
  const a = normalizeAxis('squeeze', axis, x.ndim);
  if (x.shape[a] !== 1) throw new RangeError(`squeeze: axis ${axis} has size ${x.shape[a]}, not 1, in ${formatShape(x.shape)}`);
  return reshapeOp([x], x.shape.filter((_, i) => i !== a));
}

export function unsqueeze(x: Tensor, axis: number): Tensor {
  const a = normalizeAxis('unsqueeze', axis, x.ndim + 1);
  const shape = x.shape.slice();
  shape.splice(a, 0, 1);
  return reshapeOp([x], shape);
}

const expandOp = defineOp<readonly number[]>({
  name: 'expand',
  forward: (_c, [x], shape) => expandArray(x, shape, 'expand'),
  // The engine sums the gradient back to the input's shape.
  backward: (_c, g) => [g],
});

/** Broadcasts to `shape` (-1 keeps a dimension), materialising the result. */
export function expand(x: Tensor, ...shape: Array<number | readonly number[]>): Tensor {
  const flat = shape.length === 1 && Array.isArray(shape[0]) ? (shape[0] as readonly number[]) : (shape as number[]);
  const off = flat.length - x.ndim;
  const resolved = flat.map((d, i) => (d === -1 && i >= off ? x.shape[i - off] : d));
  return expandOp([x], resolved);
}

const concatOp = defineOp<number>({
  name: 'concat',
  forward: (_c, xs, axis) => concatArrays(xs, axis, 'concat'),
  backward: (c, g, xs, axis) => {
    let start = 0;
    return xs.map((x, i) => {
      const n = x.shape[axis];
      const gi = c.needsInputGrad[i] ? sliceArray(g, axis, start, n) : null;
      start += n;
      return gi;
    });
  },
});

/** Joins tensors along an existing axis. */
export function concat(xs: readonly Tensor[], axis = 0): Tensor {
  if (xs.length === 0) throw new RangeError('concat: needs at least one tensor');
  return concatOp(xs, normalizeAxis('concat', axis, xs[0].ndim));
}

/** Joins tensors along a new axis. */
export function stack(xs: readonly Tensor[], axis = 0): Tensor {
  if (xs.length === 0) throw new RangeError('stack: needs at least one tensor');
  for (const x of xs) {
    if (x.ndim !== xs[0].ndim || x.shape.some((d, i) => d !== xs[0].shape[i])) {
      throw new Error(`stack: all tensors must have the same shape, got ${formatShape(xs[0].shape)} and ${formatShape(x.shape)}`);
    }
  }
  const a = normalizeAxis('stack', axis, xs[0].ndim + 1);
  return concat(xs.map((x) => unsqueeze(x, a)), a);
}

const sliceOp = defineOp<[number, number, number]>({
  name: 'slice',
  forward: (_c, [x], [axis, start, length]) => sliceArray(x, axis, start, length),
  backward: (_c, g, [x], [axis, start]) => [padSliceArray(g, x.shape, axis, start)],
});

/** x[..., start:end, ...] along `axis`, Python slice bounds (negative counts from the end). */
export function slice(x: Tensor, axis: number, start: number, end?: number): Tensor {
  const a = normalizeAxis('slice', axis, x.ndim);
  const n = x.shape[a];
  const clampIdx = (i: number): number => Math.min(Math.max(i < 0 ? i + n : i, 0), n);
  const s = clampIdx(start);
  const e = Math.max(clampIdx(end ?? n), s);
  return sliceOp([x], [a, s, e - s]);
}

/** torch.narrow: `length` elements from `start` along `axis`; out-of-range is an error. */
export function narrow(x: Tensor, axis: number, start: number, length: number): Tensor {
  const a = normalizeAxis('narrow', axis, x.ndim);
  const n = x.shape[a];
  if (!Number.isInteger(start) || !Number.isInteger(length) || start < 0 || length < 0 || start + length > n) {
    throw new RangeError(`narrow: start ${start} + length ${length} exceeds axis ${a} of size ${n} in ${formatShape(x.shape)}`);
  }
  return sliceOp([x], [a, start, length]);
}

const indexSelectOp = defineOp<[number, Indices]>({
  name: 'indexSelect',
  forward: (_c, [x], [axis, idx]) => indexSelectArray(x, axis, idx),
  backward: (_c, g, [x], [axis, idx]) => [scatterAddArray(g, axis, idx, x.shape[axis])],
});

/** Rows of x at `indices` along `axis`; repeated indices accumulate their gradients. */
export function indexSelect(x: Tensor, axis: number, indices: Indices): Tensor {
  const a = normalizeAxis('indexSelect', axis, x.ndim);
  checkIndices('indexSelect', indices, x.shape[a]);
  // A private copy: the caller may reuse its index buffer before backward runs.
  return indexSelectOp([x], [a, Int32Array.from(indices)]);
}

const whereOp = defineOp({
  name: 'where',
  forward: (_c, [cond, a, b]) => whereKernel(cond, a, b),
  backward: (c, g, [cond]) => {
    const zero = filled([], 0, g.dtype);
    return [
      null,
      c.needsInputGrad[1] ? whereKernel(cond, g, zero) : null,
      c.needsInputGrad[2] ? whereKernel(cond, zero, g) : null,
    ];
  },
});

/** Elementwise cond ? a : b (cond nonzero means true), all three broadcast. */
export function where(cond: Tensor | readonly boolean[], a: Tensor | number, b: Tensor | number): Tensor {
  const like = a instanceof Tensor ? a : b instanceof Tensor ? b : undefined;
  const dtype: DType = like?.dtype ?? 'float32';
  const lift = (v: Tensor | number): Tensor => (v instanceof Tensor ? v : new Tensor(filled([], v, dtype).data, []));
  let c: Tensor;
  if (cond instanceof Tensor) c = cond.dtype === dtype ? cond.detach() : new Tensor(castArray(cond, dtype).data, cond.shape);
  else c = new Tensor(dtype === 'float64' ? Float64Array.from(cond, Number) : Float32Array.from(cond, Number), [cond.length]);
  return whereOp([c, lift(a), lift(b)], undefined);
}

/** Elementwise comparisons; results are 0/1 masks and carry no gradient. */
export function eq(a: Tensor, b: Tensor | number): Tensor {
  return compare('eq', a, b);
}
export function gt(a: Tensor, b: Tensor | number): Tensor {
  return compare('gt', a, b);
}
export function lt(a: Tensor, b: Tensor | number): Tensor {
  return compare('lt', a, b);
}
function compare(op: 'eq' | 'gt' | 'lt', a: Tensor, b: Tensor | number): Tensor {
  const bb = b instanceof Tensor ? b : filled([], b, a.dtype);
  const r = binary(op, a, bb, op);
  return new Tensor(r.data, r.shape);
}

const castOp = defineOp<DType, DType>({
  name: 'cast',
  forward: (c, [x], dtype) => {
    c.saved = x.dtype;
    return castArray(x, dtype) === x ? new NDArray(copyStorage(x.data), x.shape) : castArray(x, dtype);
  },
  backward: (c, g) => [castArray(g, c.saved)],
});

/** A copy in another dtype (differentiable; the gradient is cast back). */
export function cast(x: Tensor, dtype: DType): Tensor {
  return castOp([x], checkDType('cast', dtype));
}

const cloneOp = defineOp({
  name: 'clone',
  forward: (_c, [x]) => new NDArray(copyStorage(x.data), x.shape),
  backward: (_c, g) => [g],
});

/** A differentiable copy with its own storage. */
export const clone = (x: Tensor): Tensor => cloneOp([x], undefined);
