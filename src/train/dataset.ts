import { Tensor } from '../autograd/index.js';
import { allocateUninit, dtypeOf, formatShape, gatherRows } from '../tensor/index.js';
import type { FeatureBatch, ModelInput } from '../models/types.js';

/**
 * The whole-data-set form of a model input, rows along the first axis:
 * - a dense Tensor [N, F], or
 * - feature columns by name: sparse ids as Int32Array [N] (variable-length ids as [N · maxLen],
 *   0 = padding), dense values as a Tensor [N, dim] or a Float32Array [N · dim] (row-major).
 * Batches cut from it are `ModelInput`s (typed arrays stay typed arrays, Float32Arrays become
 * Tensors [B, dim]), which is what every model's `logits` takes.
 */
export type Features = Tensor | Record<string, Tensor | Int32Array | Float32Array>;

/** Inputs and labels: `y` is [N, T] (one column per task, in the model's task order). */
export interface Dataset {
  x: Features;
  y: Tensor | Float32Array;
  /**
   * One group (user) id per row, optional: adds grouped AUC ('gauc') to the binary tasks' metrics
   * wherever this data set is evaluated (evaluate, fit's validation). evaluate's groupBy overrides it.
   */
  groups?: Int32Array | Float64Array | readonly number[];
}

/** A data set resolved once for fast batching: labels as a flat row-major [N, T] array. */
export interface ResolvedDataset {
  x: Features;
  y: Float32Array;
  n: number;
  numTasks: number;
  /** Per row and task weights [N, T] (fit's sampleWeight × classWeight), or absent for weight 1. */
  w?: Float32Array | null;
  /** Per task: may its labels be missing (NaN)? Absent: none may (checked by checkLabels). */
  maskable?: readonly boolean[];
  /** Per row: the group (user id) of the row, for grouped AUC; absent when no grouping was asked for. */
  groups?: Int32Array | Float64Array | null;
}

function columnWidth(fn: string, name: string, col: Tensor | Int32Array | Float32Array, n: number): number {
  if (col instanceof Tensor) {
    if (col.ndim < 1 || col.shape[0] !== n) throw new RangeError(`${fn}: feature '${name}' has shape ${formatShape(col.shape)}, expected ${n} rows (the number of label rows)`);
    return col.size / n;
  }
  if (!(col instanceof Int32Array) && !(col instanceof Float32Array)) {
    throw new TypeError(`${fn}: feature '${name}' must be a Tensor, Int32Array or Float32Array`);
  }
  if (n === 0 ? col.length !== 0 : col.length % n !== 0 || col.length === 0) {
    throw new RangeError(`${fn}: feature '${name}' has ${col.length} values, expected a positive multiple of ${n} (the number of label rows)`);
  }
  return n === 0 ? 0 : col.length / n;
}

/** Checks that every feature and the labels agree on the row count; flattens the labels. */
export function resolveDataset(fn: string, data: Dataset, numTasks: number): ResolvedDataset {
  if (data === null || typeof data !== 'object' || data.x === undefined || data.y === undefined) {
    throw new TypeError(`${fn}: data must be { x, y }`);
  }
  const { x, y } = data;
  let labels: Float32Array;
  if (y instanceof Tensor) {
    if (y.ndim !== 2 || y.shape[1] !== numTasks) throw new RangeError(`${fn}: labels must be [N, ${numTasks}] (one column per task), got ${formatShape(y.shape)}`);
    labels = y.data instanceof Float32Array ? y.data : Float32Array.from(y.data);
  } else if (y instanceof Float32Array) {
    if (y.length % numTasks !== 0) throw new RangeError(`${fn}: labels hold ${y.length} values, not a multiple of the ${numTasks} tasks`);
    labels = y;
  } else {
    throw new TypeError(`${fn}: labels must be a Tensor [N, T] or a Float32Array`);
  }
  const n = labels.length / numTasks;
  if (x instanceof Tensor) columnWidth(fn, 'x', x, n);
  else if (x !== null && typeof x === 'object') {
    const names = Object.keys(x);
    if (names.length === 0) throw new RangeError(`${fn}: the feature record is empty`);
    for (const name of names) columnWidth(fn, name, x[name], n);
  } else throw new TypeError(`${fn}: x must be a Tensor [N, F] or a record of feature columns`);
  return { x, y: labels, n, numTasks };
}

function takeTensorRows(t: Tensor, rows: Int32Array): Tensor {
  const n = t.shape[0];
  return new Tensor(takeTypedRows(t.data, rows, n === 0 ? 0 : t.size / n), [rows.length, ...t.shape.slice(1)]);
}

/**
 * Rows `rows` (each `w` wide) of a: float storage where the step's kernels read it in place (an
 * arena block inside fit's step scope, written whole), ids on the JavaScript heap.
 */
function takeTypedRows<A extends Int32Array | Float32Array | Float64Array>(a: A, rows: Int32Array, w: number): A {
  const out = (a instanceof Int32Array ? new Int32Array(rows.length * w) : allocateUninit(dtypeOf(a), rows.length * w)) as A;
  gatherRows(a, rows, w, out, 0);
  return out;
}

/** The rows `rows` of x as one model batch. */
export function takeFeatures(x: Features, rows: Int32Array, n: number): ModelInput {
  if (x instanceof Tensor) return takeTensorRows(x, rows);
  const batch: FeatureBatch = {};
  for (const [name, col] of Object.entries(x)) {
    if (col instanceof Tensor) batch[name] = takeTensorRows(col, rows);
    else {
      const w = col.length / n;
      if (col instanceof Int32Array) batch[name] = takeTypedRows(col, rows, w);
      else batch[name] = new Tensor(takeTypedRows(col, rows, w), [rows.length, w]);
    }
  }
  return batch;
}

/** Rows [start, end) of x without copying (views over the same storage). */
export function sliceFeatures(x: Features, start: number, end: number, n: number): ModelInput {
  const view = (t: Tensor): Tensor => {
    const w = t.size / t.shape[0];
    return new Tensor(t.data.subarray(start * w, end * w), [end - start, ...t.shape.slice(1)]);
  };
  if (x instanceof Tensor) return view(x);
  const batch: FeatureBatch = {};
  for (const [name, col] of Object.entries(x)) {
    if (col instanceof Tensor) batch[name] = view(col);
    else {
      const w = col.length / n;
      const part = col.subarray(start * w, end * w);
      batch[name] = part instanceof Int32Array ? part : new Tensor(part, [end - start, w]);
    }
  }
  return batch;
}

/** The label rows `rows` as a Tensor [B, T]. */
export function takeLabels(y: Float32Array, numTasks: number, rows: Int32Array): Tensor {
  return new Tensor(takeTypedRows(y, rows, numTasks), [rows.length, numTasks]);
}

/** The features of the rows `rows` as a stand-alone Features value (used to split off validation). */
export function subsetFeatures(x: Features, rows: Int32Array, n: number): Features {
  if (x instanceof Tensor) return takeTensorRows(x, rows);
  const out: Record<string, Tensor | Int32Array | Float32Array> = {};
  for (const [name, col] of Object.entries(x)) {
    out[name] = col instanceof Tensor ? takeTensorRows(col, rows) : takeTypedRows(col, rows, col.length / n);
  }
  return out;
}

/** The subset `rows` of a resolved data set. */
export function subsetDataset(d: ResolvedDataset, rows: Int32Array): ResolvedDataset {
  const w = d.w ? takeTypedRows(d.w, rows, d.numTasks) : null;
  const groups = d.groups ? takeTypedRows(d.groups, rows, 1) : null;
  return { x: subsetFeatures(d.x, rows, d.n), y: takeTypedRows(d.y, rows, d.numTasks), n: rows.length, numTasks: d.numTasks, w, maskable: d.maskable, groups };
}

/** 0..n-1 from `start`, as row indices. */
export function rangeRows(start: number, end: number): Int32Array {
  const r = new Int32Array(end - start);
  for (let i = 0; i < r.length; i++) r[i] = start + i;
  return r;
}
