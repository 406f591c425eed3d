import type { Module } from '../nn/module.js';

/** Learnable scalars in a module (every parameter tensor's size, shared tensors once). */
export function countParameters(m: Module): number {
  return m.numParameters();
}

export interface WidthSearchOptions {
  /** Smallest width tried (default 1). */
  min?: number;
  /** Largest width tried (default 4096). */
  max?: number;
}

export interface WidthSearchResult {
  width: number;
  parameters: number;
}

/**
 * The width w in [min, max] whose model `build(w)` has the parameter count closest to `target`
 * (the smaller width on a tie), by bisection — the count must grow with w, as a layer width does.
 * The MMoE paper sizes its Shared-Bottom baseline this way:
 * `widthForParameterCount(countParameters(mmoe), (w) => new SharedBottom({ ..., bottomHiddenUnits: [w] }))`.
 */
export function widthForParameterCount(target: number, build: (width: number) => Module, opts: WidthSearchOptions = {}): WidthSearchResult {
  const min = opts.min ?? 1;
  const max = opts.max ?? 4096;
  if (!(Number.isFinite(target) && target > 0)) throw new RangeError(`widthForParameterCount: target must be a positive number, got ${target}`);
  if (!Number.isInteger(min) || !Number.isInteger(max) || min < 1 || max < min) {
    throw new RangeError(`widthForParameterCount: need integers 1 ≤ min ≤ max, got min ${min}, max ${max}`);
  }
  const count = (w: number): number => build(w).numParameters();
  // Smallest width whose count reaches the target; the answer is it or the width below.
  let lo = min, hi = max;
  while (lo < hi) {
    const mid = Math.floor((lo + hi) / 2);
    if (count(mid) >= target) hi = mid;
    else lo = mid + 1;
  }
  const above = { width: lo, parameters: count(lo) };
  if (lo === min) return above;
  const below = { width: lo - 1, parameters: count(lo - 1) };
  return Math.abs(below.parameters - target) <= Math.abs(above.parameters - target) ? below : above;
}
