import { allocateFloat32 } from './storage.js';

/** The element types the engine stores. float64 exists for gradient checks and reference math. */
export type DType = 'float32' | 'float64';
export type Storage = Float32Array | Float64Array;

/**
 * Storage that could not be allocated: a RangeError naming the function and the size (and shape)
 * asked for, instead of V8's bare 'Invalid typed array length' or 'Array buffer allocation failed'.
 */
export class AllocationError extends RangeError {
  constructor(readonly fn: string, readonly dtype: DType, readonly elements: number, readonly shape: readonly number[] | undefined, cause: unknown) {
    const bytes = elements * (dtype === 'float64' ? 8 : 4);
    super(`${fn}: cannot allocate ${elements} ${dtype} elements${shape ? ` for shape [${shape.join(', ')}]` : ''} (${formatBytes(bytes)}): ` +
      `${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  }

  /** The same failure, named after the op that asked for the storage. */
  in(fn: string): AllocationError {
    return this.fn === fn ? this : new AllocationError(fn, this.dtype, this.elements, this.shape, this.cause);
  }
}

function formatBytes(n: number): string {
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let u = 0;
  while (n >= 1024 && u < units.length - 1) { n /= 1024; u++; }
  return `${u === 0 ? n : n.toPrecision(3)} ${units[u]}`;
}

function tryAllocate(dtype: DType, size: number, zero: boolean, fn: string, shape: readonly number[] | undefined): Storage {
  try {
    return dtype === 'float64' ? new Float64Array(size) : allocateFloat32(size, zero);
  } catch (e) {
    if (e instanceof RangeError) throw new AllocationError(fn, dtype, size, shape, e);
    throw e;
  }
}

/**
 * Zero-filled storage (float32 in the WebAssembly arena where it can live there: storage.ts);
 * `fn` and `shape` name the request when it cannot be met.
 */
export function allocate(dtype: DType, size: number, fn = 'allocate', shape?: readonly number[]): Storage {
  return tryAllocate(dtype, size, true, fn, shape);
}

/** Storage whose every element the caller writes before anyone reads it: a reused block is not cleared. */
export function allocateUninit(dtype: DType, size: number, fn = 'allocate', shape?: readonly number[]): Storage {
  return tryAllocate(dtype, size, false, fn, shape);
}

export function dtypeOf(data: Storage): DType {
  return data instanceof Float64Array ? 'float64' : 'float32';
}

export function isStorage(x: unknown): x is Storage {
  return x instanceof Float32Array || x instanceof Float64Array;
}

const DTYPES: readonly DType[] = ['float32', 'float64'];

/**
 * Validates a dtype option that came from user code (plain JS callers get no type check): an
 * unknown name would otherwise fall through `allocate` as float32 without a word.
 */
export function checkDType(fn: string, dtype: unknown): DType {
  if (typeof dtype === 'string' && (DTYPES as readonly string[]).includes(dtype)) return dtype as DType;
  const hint = typeof dtype === 'string' && /^(float|f)?16|bfloat16|int|uint|bool/.test(dtype)
    ? ' (this engine stores float32, and float64 for gradient checks)' : '';
  throw new TypeError(`${fn}: unknown dtype ${typeof dtype === 'string' ? `'${dtype}'` : String(dtype)}; expected 'float32' or 'float64'${hint}`);
}

/** A copy of `data` in storage of its own (for float32, in the arena where storage lives there). */
export function copyStorage(data: Storage): Storage {
  const out = allocateUninit(dtypeOf(data), data.length);
  out.set(data);
  return out;
}
