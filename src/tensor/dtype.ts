import { allocateFloat32 } from './storage.js';

/** The element types the engine stores. float64 exists for gradient checks and reference math. */
export type DType = 'float32' | 'float64';
export type Storage = Float32Array | Float64Array;

/** Zero-filled storage (float32 in the WebAssembly arena where it can live there: storage.ts). */
export function allocate(dtype: DType, size: number): Storage {
  return dtype === 'float64' ? new Float64Array(size) : allocateFloat32(size);
}

/** Storage whose every element the caller writes before anyone reads it: a reused block is not cleared. */
export function allocateUninit(dtype: DType, size: number): Storage {
  return dtype === 'float64' ? new Float64Array(size) : allocateFloat32(size, false);
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
