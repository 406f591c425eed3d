import type { NDArray } from '../tensor/index.js';

/**
 * The dtype a tensor takes in a safetensors file when it is not its in-memory float32 / float64:
 * PyTorch keeps some state in other dtypes (BatchNorm's `num_batches_tracked` is int64, half
 * checkpoints are F16 / BF16). A tensor read from such a file carries its dtype, so that writing
 * it again gives what was read; a module marks such state where it creates it.
 */
export type SavedDType = 'F16' | 'BF16' | 'I32' | 'I64';

const savedDTypes = new WeakMap<NDArray, SavedDType>();

/** Marks `t` to be written as `dtype` (null: as its own float32 / float64). Returns t. */
export function setSavedDType<T extends NDArray>(t: T, dtype: SavedDType | null): T {
  if (dtype === null) savedDTypes.delete(t);
  else if (dtype === 'F16' || dtype === 'BF16' || dtype === 'I32' || dtype === 'I64') savedDTypes.set(t, dtype);
  else throw new Error(`setSavedDType: dtype must be 'F16', 'BF16', 'I32', 'I64' or null, got ${JSON.stringify(dtype)}`);
  return t;
}

/** The dtype `t` is written as, when it is not its own float32 / float64. */
export function savedDType(t: NDArray): SavedDType | null {
  return savedDTypes.get(t) ?? null;
}
