import {
  allocate, checkDType, defaultGenerator, formatShape, isStorage, sizeOf, checkShape, type DType, type Generator,
} from '../tensor/index.js';
import { checkOptions, type OptionKeys } from '../validation/options.js';
import { Tensor, type NestedArray } from './tensor.js';

export interface TensorOptions {
  dtype?: DType;
  requiresGrad?: boolean;
}

export interface RandomOptions extends TensorOptions {
  generator?: Generator;
}

type ShapeArg = number | readonly number[];

type TensorCallOptions = TensorOptions & { shape?: readonly number[] };

// Key lists built once: creation runs per batch, so each call's check is only a few property reads.
const TENSOR_OPTION_KEYS = Object.keys({ dtype: true, requiresGrad: true } satisfies OptionKeys<TensorOptions>);
const TENSOR_CALL_OPTION_KEYS = Object.keys({ dtype: true, requiresGrad: true, shape: true } satisfies OptionKeys<TensorCallOptions>);
const RANDOM_OPTION_KEYS = Object.keys({ dtype: true, requiresGrad: true, generator: true } satisfies OptionKeys<RandomOptions>);

/** The dtype an options object asks for, checked (callers from plain JS get no type check). */
function dtypeOpt(op: string, opts: TensorOptions, fallback: DType = 'float32'): DType {
  return opts.dtype === undefined ? fallback : checkDType(op, opts.dtype);
}

function toShape(op: string, s: ShapeArg): number[] {
  const shape = typeof s === 'number' ? [s] : s.slice();
  checkShape(op, shape);
  return shape;
}

function inferShape(values: NestedArray): number[] {
  const shape: number[] = [];
  let v: NestedArray = values;
  while (Array.isArray(v)) {
    shape.push(v.length);
    if (v.length === 0) break;
    v = v[0];
  }
  return shape;
}

function flatten(values: NestedArray, shape: number[], out: number[], depth: number, path: string): void {
  if (depth === shape.length) {
    if (typeof values !== 'number') throw new TypeError(`tensor: expected a number at ${path || 'top level'}, got ${Array.isArray(values) ? 'an array' : typeof values}`);
    out.push(values);
    return;
  }
  if (!Array.isArray(values) || values.length !== shape[depth]) {
    throw new RangeError(`tensor: ragged nested array at ${path || 'top level'}: expected length ${shape[depth]}, got ${Array.isArray(values) ? values.length : typeof values}`);
  }
  for (let i = 0; i < values.length; i++) flatten(values[i], shape, out, depth + 1, `${path}[${i}]`);
}

/**
 * A tensor from a number, nested arrays or a typed array. A typed array is used as storage without
 * copying when its type matches the dtype; `shape` defaults to the nesting (or 1-D).
 */
export function tensor(
  values: NestedArray | Float32Array | Float64Array | Int32Array | readonly number[],
  opts: TensorCallOptions = {},
): Tensor {
  checkOptions('tensor', opts, TENSOR_CALL_OPTION_KEYS);
  let data: Float32Array | Float64Array;
  let shape: number[];
  if (isStorage(values) || values instanceof Int32Array) {
    const dtype = dtypeOpt('tensor', opts, values instanceof Float64Array ? 'float64' : 'float32');
    if (dtype === 'float64' && values instanceof Float64Array) data = values;
    else if (dtype === 'float32' && values instanceof Float32Array) data = values;
    else { data = allocate(dtype, values.length); data.set(values); }
    shape = opts.shape ? opts.shape.slice() : [values.length];
  } else {
    const nested = values as NestedArray;
    const inferred = inferShape(nested);
    const flat: number[] = [];
    flatten(nested, inferred, flat, 0, '');
    data = allocate(dtypeOpt('tensor', opts), flat.length);
    data.set(flat);
    shape = opts.shape ? opts.shape.slice() : inferred;
  }
  checkShape('tensor', shape);
  if (sizeOf(shape) !== data.length) {
    throw new RangeError(`tensor: shape ${formatShape(shape)} needs ${sizeOf(shape)} values, got ${data.length}`);
  }
  return new Tensor(data, shape, opts.requiresGrad ?? false);
}

export function full(shape: ShapeArg, value: number, opts: TensorOptions = {}): Tensor {
  return filledTensor('full', shape, value, opts);
}

function filledTensor(op: string, shape: ShapeArg, value: number, opts: TensorOptions, dtype: DType = 'float32'): Tensor {
  checkOptions(op, opts, TENSOR_OPTION_KEYS);
  const s = toShape(op, shape);
  const data = allocate(dtypeOpt(op, opts, dtype), sizeOf(s), op, s);
  if (!Object.is(value, 0)) data.fill(value);
  return new Tensor(data, s, opts.requiresGrad ?? false);
}

export const zeros = (shape: ShapeArg, opts: TensorOptions = {}): Tensor => filledTensor('zeros', shape, 0, opts);
export const ones = (shape: ShapeArg, opts: TensorOptions = {}): Tensor => filledTensor('ones', shape, 1, opts);
export const zerosLike = (x: Tensor, opts: TensorOptions = {}): Tensor => filledTensor('zerosLike', x.shape, 0, opts, x.dtype);
export const onesLike = (x: Tensor, opts: TensorOptions = {}): Tensor => filledTensor('onesLike', x.shape, 1, opts, x.dtype);

/** Values start, start+step, … below end; arange(n) is 0..n-1. */
export function arange(start: number, end?: number, step = 1, opts: TensorOptions = {}): Tensor {
  checkOptions('arange', opts, TENSOR_OPTION_KEYS);
  if (end === undefined) { end = start; start = 0; }
  if (step === 0 || !Number.isFinite(step)) throw new RangeError(`arange: step must be a finite non-zero number, got ${step}`);
  const n = Math.max(0, Math.ceil((end - start) / step));
  const data = allocate(dtypeOpt('arange', opts), n, 'arange');
  for (let i = 0; i < n; i++) data[i] = start + i * step;
  return new Tensor(data, [n], opts.requiresGrad ?? false);
}

/** Identity matrix n×m (m defaults to n). */
export function eye(n: number, m = n, opts: TensorOptions = {}): Tensor {
  const t = filledTensor('eye', [n, m], 0, opts);
  for (let i = 0; i < Math.min(n, m); i++) t.data[i * m + i] = 1;
  return t;
}

/** Standard normal samples from the (seeded) generator. */
export function randn(shape: ShapeArg, opts: RandomOptions = {}): Tensor {
  checkOptions('randn', opts, RANDOM_OPTION_KEYS);
  const s = toShape('randn', shape);
  const data = allocate(dtypeOpt('randn', opts), sizeOf(s), 'randn', s);
  (opts.generator ?? defaultGenerator).fillNormal(data);
  return new Tensor(data, s, opts.requiresGrad ?? false);
}

/** Uniform samples in [0, 1) from the (seeded) generator. */
export function rand(shape: ShapeArg, opts: RandomOptions = {}): Tensor {
  checkOptions('rand', opts, RANDOM_OPTION_KEYS);
  const s = toShape('rand', shape);
  const data = allocate(dtypeOpt('rand', opts), sizeOf(s), 'rand', s);
  (opts.generator ?? defaultGenerator).fillUniform(data);
  return new Tensor(data, s, opts.requiresGrad ?? false);
}
