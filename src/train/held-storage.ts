import { closeStorageScope, openStorageScope, scopeCarry, type ScopeBlocks } from '../tensor/index.js';

type Held = Float32Array | Float64Array;

/*
 * What outlives a training step, found by walking the objects that do (the model, the optimizer,
 * the task weighting): every typed array reachable through their fields, Maps and arrays. A
 * module's parameters, buffers and gradients, the optimizer's moment buffers, a custom layer's
 * cached tensor — all are found without any of them registering. A graph node (`gradFn`) is not
 * followed: a step's graph is dead once the step has stepped.
 */
export function heldArrays(roots: readonly unknown[]): Held[] {
  const out: Held[] = [];
  const seen = new Set<object>();
  const stack: unknown[] = roots.slice();
  while (stack.length > 0) {
    const v = stack.pop();
    if (v === null || typeof v !== 'object' || seen.has(v)) continue;
    seen.add(v);
    if (v instanceof Float32Array || v instanceof Float64Array) {
      out.push(v);
      continue;
    }
    if (ArrayBuffer.isView(v)) continue;
    // Collections whose first entry holds no object (a vocabulary, a list of numbers) are taken
    // to hold none: walking a million-entry vocabulary every step would cost more than the step.
    if (v instanceof Map) {
      const first = v.entries().next();
      if (first.done || (!isObject(first.value[0]) && !isObject(first.value[1]))) continue;
      for (const [k, x] of v) { stack.push(k); stack.push(x); }
      continue;
    }
    if (v instanceof Set || Array.isArray(v)) {
      const first = v.values().next();
      if (first.done || !isObject(first.value)) continue;
      for (const x of v) stack.push(x);
      continue;
    }
    for (const key in v) {
      if (key === 'gradFn') continue;
      stack.push((v as Record<string, unknown>)[key]);
    }
  }
  return out;
}

function isObject(x: unknown): boolean {
  return x !== null && typeof x === 'object';
}

/**
 * Runs `fn` in a storage scope: arena blocks it makes are returned at its end, except those the
 * `roots` still reach (they outlive it). The result of `fn` must not hold arena storage made
 * inside (copy numbers out first).
 */
export function inStorageScope<T>(roots: readonly unknown[], fn: () => T, carry: ScopeBlocks | null = null): T {
  openStorageScope();
  try {
    return fn();
  } finally {
    closeStorageScope(heldArrays(roots), carry);
  }
}

/**
 * Scopes for a run of steps over the same roots (fit's training steps): what one step keeps (a
 * gradient, a replaced buffer) is examined again after the next, and returned once dropped.
 */
export class StepScopes {
  private readonly carry = scopeCarry();
  constructor(private readonly roots: readonly unknown[]) {}

  run<T>(fn: () => T): T {
    return inStorageScope(this.roots, fn, this.carry);
  }
}
