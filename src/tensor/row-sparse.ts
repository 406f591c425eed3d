import { allocate, type DType, type Storage } from './dtype.js';
import { NDArray } from './ndarray.js';

/*
 * A row-sparse [numRows, dim] array: the rows listed in `rows` (distinct, ascending) hold
 * `values` (row-major, rows.length × dim); every other row is zero. This is the gradient of an
 * embedding lookup — PyTorch's sparse COO gradient of nn.Embedding(sparse=True), coalesced — so a
 * step over a 1M-row table costs O(touched rows · dim), not O(numRows · dim).
 */
export class RowSparse {
  constructor(
    /** Distinct row indices in ascending order. */
    readonly rows: Int32Array,
    /** rows.length × dim values, row-major, in the order of `rows`. */
    readonly values: Storage,
    readonly numRows: number,
    readonly dim: number,
  ) {
    if (values.length !== rows.length * dim) {
      throw new RangeError(`RowSparse: ${rows.length} rows of width ${dim} need ${rows.length * dim} values, got ${values.length}`);
    }
  }

  get dtype(): DType {
    return this.values instanceof Float64Array ? 'float64' : 'float32';
  }

  /** The dense shape [numRows, dim]. */
  get shape(): number[] {
    return [this.numRows, this.dim];
  }

  /** The dense [numRows, dim] array. */
  toDense(): NDArray {
    const out = allocate(this.dtype, this.numRows * this.dim);
    addRowSparseInto(out, this);
    return new NDArray(out, [this.numRows, this.dim]);
  }
}

/**
 * Coalesces the gradient of a row lookup: g holds one [dim] row per entry of `ids`; rows of equal
 * ids are summed (in the order they appear, as a dense scatter-add sums them), and `skip` (the
 * padding row, or -1) gets none.
 */
export function rowSparseFromLookup(g: Storage, ids: Int32Array, numRows: number, dim: number, skip = -1): RowSparse {
  const sorted = Int32Array.from(ids).sort();
  let n = 0;
  for (let i = 0; i < sorted.length; i++) {
    const id = sorted[i];
    if (id !== skip && (n === 0 || sorted[n - 1] !== id)) sorted[n++] = id;
  }
  const rows = sorted.slice(0, n);
  const values = allocate(g instanceof Float64Array ? 'float64' : 'float32', n * dim);
  for (let k = 0; k < ids.length; k++) {
    const id = ids[k];
    if (id === skip) continue;
    const dst = findRow(rows, id) * dim;
    const src = k * dim;
    for (let j = 0; j < dim; j++) values[dst + j] += g[src + j];
  }
  return new RowSparse(rows, values, numRows, dim);
}

/** Position of `id` in the ascending `rows` (binary search); -1 when absent. */
export function findRow(rows: Int32Array, id: number): number {
  let lo = 0;
  let hi = rows.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const r = rows[mid];
    if (r === id) return mid;
    if (r < id) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
}

/** a + b as one coalesced RowSparse (a merge of the two ascending row lists). */
export function addRowSparse(a: RowSparse, b: RowSparse): RowSparse {
  if (a.numRows !== b.numRows || a.dim !== b.dim || a.dtype !== b.dtype) {
    throw new RangeError(`addRowSparse: [${a.numRows},${a.dim}] ${a.dtype} vs [${b.numRows},${b.dim}] ${b.dtype}`);
  }
  const dim = a.dim;
  const rows = new Int32Array(a.rows.length + b.rows.length);
  const values = allocate(a.dtype, rows.length * dim);
  let i = 0, j = 0, n = 0;
  while (i < a.rows.length || j < b.rows.length) {
    const ra = i < a.rows.length ? a.rows[i] : Infinity;
    const rb = j < b.rows.length ? b.rows[j] : Infinity;
    const o = n * dim;
    if (ra <= rb) {
      for (let k = 0; k < dim; k++) values[o + k] = a.values[i * dim + k];
      i++;
    }
    if (rb <= ra) {
      for (let k = 0; k < dim; k++) values[o + k] += b.values[j * dim + k];
      j++;
    }
    rows[n++] = Math.min(ra, rb);
  }
  return new RowSparse(rows.slice(0, n), values.slice(0, n * dim), a.numRows, dim);
}

/** dense[row] += values of that row, for every stored row (dense is [numRows, dim] row-major). */
export function addRowSparseInto(dense: Storage, s: RowSparse): void {
  const dim = s.dim;
  for (let r = 0; r < s.rows.length; r++) {
    const dst = s.rows[r] * dim;
    const src = r * dim;
    for (let j = 0; j < dim; j++) dense[dst + j] += s.values[src + j];
  }
}
