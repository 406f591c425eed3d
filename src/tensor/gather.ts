import { copyRange } from './copy.js';
import { allocate, allocateUninit } from './dtype.js';
import { NDArray } from './ndarray.js';
import { axisView } from './shape.js';

export type Indices = readonly number[] | Int32Array;

/** Checks every index against the axis size; the RangeError names the index, position and size. */
export function checkIndices(op: string, indices: Indices, size: number): void {
  for (let i = 0; i < indices.length; i++) {
    const v = indices[i];
    if (!Number.isInteger(v) || v < 0 || v >= size) {
      throw new RangeError(`${op}: index ${v} at position ${i} is out of range for an axis of size ${size}`);
    }
  }
}

/** out = x.index_select(axis, indices); indices must be checked by the caller. */
export function indexSelectArray(x: NDArray, axis: number, indices: Indices): NDArray {
  const [outer, n, inner] = axisView(x.shape, axis);
  const m = indices.length;
  const outShape = x.shape.slice();
  outShape[axis] = m;
  const o = allocateUninit(x.dtype, outer * m * inner);
  const d = x.data;
  for (let a = 0; a < outer; a++) {
    for (let r = 0; r < m; r++) {
      const src = (a * n + indices[r]) * inner;
      const dst = (a * m + r) * inner;
      copyRange(d, src, o, dst, inner);
    }
  }
  return new NDArray(o, outShape);
}

/** The adjoint of indexSelect: rows of g are added back at their indices, repeats accumulating. */
export function scatterAddArray(g: NDArray, axis: number, indices: Indices, size: number): NDArray {
  const [outer, m, inner] = axisView(g.shape, axis);
  const outShape = g.shape.slice();
  outShape[axis] = size;
  const o = allocate(g.dtype, outer * size * inner);
  const gd = g.data;
  for (let a = 0; a < outer; a++) {
    for (let r = 0; r < m; r++) {
      const dst = (a * size + indices[r]) * inner;
      const src = (a * m + r) * inner;
      for (let i = 0; i < inner; i++) o[dst + i] += gd[src + i];
    }
  }
  return new NDArray(o, outShape);
}
