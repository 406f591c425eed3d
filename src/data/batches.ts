import { Generator } from '../tensor/index.js';

/** Fractions of the rows for each split; they must add up to 1. */
export interface SplitFractions {
  train: number;
  validation: number;
  test: number;
}

export interface SplitIndices {
  train: Int32Array;
  validation: Int32Array;
  test: Int32Array;
}

/**
 * A seeded random partition of 0..n-1. Sizes are floor(train·n) and floor(validation·n); the
 * test split takes the rest, so no row is lost to rounding. Each split's indices are sorted, so a
 * split reads the file in order and only membership depends on the seed.
 */
export function splitIndices(n: number, fractions: SplitFractions, generator: Generator): SplitIndices {
  const { train, validation, test } = fractions;
  for (const [k, v] of Object.entries(fractions)) {
    if (!(v >= 0 && v <= 1)) throw new RangeError(`splitIndices: fraction ${k} must be in [0, 1], got ${v}`);
  }
  if (Math.abs(train + validation + test - 1) > 1e-9) {
    throw new RangeError(`splitIndices: fractions must add up to 1, got ${train} + ${validation} + ${test} = ${train + validation + test}`);
  }
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`splitIndices: n must be a non-negative integer, got ${n}`);
  const perm = generator.permutation(n);
  const nTrain = Math.floor(train * n);
  const nVal = Math.floor(validation * n);
  const sorted = (a: Int32Array): Int32Array => a.slice().sort();
  return {
    train: sorted(perm.subarray(0, nTrain)),
    validation: sorted(perm.subarray(nTrain, nTrain + nVal)),
    test: sorted(perm.subarray(nTrain + nVal)),
  };
}

export interface BatchOptions {
  /** Visit rows in a fresh random order each call (needs `generator` to be reproducible). */
  shuffle?: boolean;
  /** Source of the shuffle; default a new Generator(0), which makes every epoch the same order. */
  generator?: Generator;
  /** Skip a last batch smaller than batchSize. Default false: every row is visited. */
  dropLast?: boolean;
}

/**
 * Row indices for one epoch of mini-batches over n rows. Each yielded Int32Array is a view into one
 * epoch-wide order array: copy it if you keep it past the next step.
 */
export function* batchIndices(n: number, batchSize: number, options: BatchOptions = {}): IterableIterator<Int32Array> {
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new RangeError(`batchIndices: batchSize must be a positive integer, got ${batchSize}`);
  }
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`batchIndices: n must be a non-negative integer, got ${n}`);
  let order: Int32Array;
  if (options.shuffle) order = (options.generator ?? new Generator(0)).permutation(n);
  else {
    order = new Int32Array(n);
    for (let i = 0; i < n; i++) order[i] = i;
  }
  const end = options.dropLast ? n - (n % batchSize) : n;
  for (let start = 0; start < end; start += batchSize) {
    yield order.subarray(start, Math.min(start + batchSize, end));
  }
}

/** Number of batches batchIndices yields. */
export function numBatches(n: number, batchSize: number, dropLast = false): number {
  return dropLast ? Math.floor(n / batchSize) : Math.ceil(n / batchSize);
}


type RowArray = Float32Array | Float64Array | Int32Array;

/**
 * Copies the rows `indices` of a row-major [N, width] array into a new [indices.length, width]
 * array of the same type (a mini-batch of features or labels).
 */
export function gatherRows<A extends RowArray>(src: A, width: number, indices: ArrayLike<number>): A {
  if (!Number.isInteger(width) || width < 1 || src.length % width !== 0) {
    throw new RangeError(`gatherRows: array of length ${src.length} is not [N, ${width}]`);
  }
  const rows = src.length / width;
  const out = new (src.constructor as new (n: number) => A)(indices.length * width);
  for (let i = 0; i < indices.length; i++) {
    const r = indices[i];
    if (!(r >= 0 && r < rows)) throw new RangeError(`gatherRows: row index ${r} out of range for ${rows} rows`);
    if (width === 1) out[i] = src[r];
    else out.set(src.subarray(r * width, (r + 1) * width), i * width);
  }
  return out;
}
