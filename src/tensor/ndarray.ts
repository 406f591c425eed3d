import { allocate, dtypeOf, type DType, type Storage } from './dtype.js';
import { checkShape, formatShape, sizeOf, type Shape } from './shape.js';

/**
 * A contiguous row-major array: typed storage plus a shape. Kernels read and write these; the
 * autograd Tensor extends it with gradient bookkeeping.
 */
export class NDArray {
  readonly data: Storage;
  readonly shape: readonly number[];

  constructor(data: Storage, shape: Shape) {
    checkShape('NDArray', shape);
    if (sizeOf(shape) !== data.length) {
      throw new RangeError(`NDArray: shape ${formatShape(shape)} needs ${sizeOf(shape)} elements, storage holds ${data.length}`);
    }
    this.data = data;
    // A frozen shape (another array's) is shared as is: it cannot change, and copying a frozen
    // array takes V8's slow path (~0.5 µs, paid by every kernel output and every op's Tensor).
    this.shape = Object.isFrozen(shape) ? shape : Object.freeze(shape.slice());
  }

  get dtype(): DType {
    return dtypeOf(this.data);
  }

  get size(): number {
    return this.data.length;
  }

  get ndim(): number {
    return this.shape.length;
  }
}

export function empty(shape: Shape, dtype: DType = 'float32'): NDArray {
  return new NDArray(allocate(dtype, sizeOf(shape), 'empty', shape), shape);
}

export function filled(shape: Shape, value: number, dtype: DType = 'float32'): NDArray {
  const a = empty(shape, dtype);
  a.data.fill(value);
  return a;
}

export function castArray(a: NDArray, dtype: DType): NDArray {
  if (a.dtype === dtype) return a;
  const out = allocate(dtype, a.size);
  out.set(a.data);
  return new NDArray(out, a.shape);
}

/** Zero-copy view with another shape of the same size. */
export function reshapeArray(op: string, a: NDArray, shape: Shape): NDArray {
  const resolved = resolveShape(op, shape, a.size, a.shape);
  return new NDArray(a.data, resolved);
}

/** Resolves a single -1 entry and checks the element count. */
export function resolveShape(op: string, shape: Shape, size: number, from: Shape): number[] {
  let infer = -1;
  let known = 1;
  for (let i = 0; i < shape.length; i++) {
    const d = shape[i];
    if (d === -1) {
      if (infer >= 0) throw new RangeError(`${op}: only one dimension can be -1, got ${formatShape(shape)}`);
      infer = i;
    } else {
      if (!Number.isInteger(d) || d < 0) throw new RangeError(`${op}: invalid dimension ${d} in ${formatShape(shape)}`);
      known *= d;
    }
  }
  const out = shape.slice();
  if (infer >= 0) {
    if (known === 0 || size % known !== 0) {
      throw new RangeError(`${op}: cannot reshape ${formatShape(from)} (${size} elements) to ${formatShape(shape)}`);
    }
    out[infer] = size / known;
  } else if (known !== size) {
    throw new RangeError(`${op}: cannot reshape ${formatShape(from)} (${size} elements) to ${formatShape(shape)} (${known} elements)`);
  }
  return out;
}
