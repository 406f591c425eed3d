import { NDArray, closeStorageScope, openStorageScope, releaseCarry, releaseRecycle, scopeCarry, scopeRecycle, type ScopeBlocks } from '../tensor/index.js';

import { Tensor, physical, runsOf } from '../autograd/index.js';

type Held = Float32Array | Float64Array;

/** Where an array's values live: a stacked tensor's are in its physical [R, ...] tensor (fitStacked). */
function real(v: NDArray): NDArray {
  return v instanceof Tensor && runsOf(v) > 0 ? physical(v) : v;
}

/*
 * What outlives a training step, found by walking the objects that do (the model, the optimizer,
 * the task weighting): every typed array reachable through their fields, Maps and arrays. A
 * module's parameters, buffers and gradients, the optimizer's moment buffers, a custom layer's
 * cached tensor — all are found without any of them registering. A tensor's graph node is not
 * followed: a step's graph is dead once the step has stepped.
 */
export function heldArrays(roots: readonly unknown[], slots: Slots | null = null): Held[] {
  const out: Held[] = [];
  const seen = new Set<object>();
  const stack: unknown[] = roots.slice();
  const push = (x: unknown): void => { if (x !== null && typeof x === 'object') stack.push(x); };
  while (stack.length > 0) {
    const v = stack.pop() as object;
    if (seen.has(v)) continue;
    seen.add(v);
    if (v instanceof NDArray) {
      // A tensor holds its storage and its gradient's; its shape and graph node hold none.
      slots?.tensors.push(v);
      const r = real(v);
      out.push(r.data);
      const g = gradientStorage(r as Tensor);
      if (g !== null) out.push(g);
      continue;
    }
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
      v.forEach((x, k) => { push(k); push(x); });
      continue;
    }
    if (Array.isArray(v)) {
      if (v.length === 0 || !isObject(v[0])) continue;
      for (let i = 0; i < v.length; i++) push(v[i]);
      continue;
    }
    if (v instanceof Set) {
      const first = v.values().next();
      if (first.done || !isObject(first.value)) continue;
      v.forEach(push);
      continue;
    }
    for (const key in v) {
      const x = (v as Record<string, unknown>)[key];
      if (slots !== null && holdsArrays(x)) { slots.objects.push(v); slots.keys.push(key); }
      push(x);
    }
  }
  return out;
}

/**
 * The places a full walk found arrays in: tensors (storage and gradient), and the object fields
 * that held a tensor, a typed array or a collection with one in it. The steps between walks
 * re-read exactly these places.
 */
interface Slots {
  tensors: NDArray[];
  objects: object[];
  keys: string[];
}

/** A tensor or float array, or a collection with one among its values (a list of sizes, a map of submodules: no). */
function holdsArrays(x: unknown): boolean {
  if (isArray(x)) return true;
  if (Array.isArray(x)) return x.some(isArray);
  if (x instanceof Map || x instanceof Set) {
    for (const y of x.values()) if (isArray(y)) return true;
  }
  return false;
}

function isArray(x: unknown): boolean {
  return x instanceof NDArray || x instanceof Float32Array || x instanceof Float64Array;
}

/**
 * A tensor's gradient storage: a row-sparse gradient's values (read as they are: `.grad` would
 * densify a sparse embedding's gradient, a [V, D] array per step), else the dense gradient's.
 */
function gradientStorage(t: Tensor): Held | null {
  const s = t.sparseGrad;
  if (s !== undefined && s !== null) return s.values;
  const g = t.grad;
  return g instanceof NDArray ? g.data : null;
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

/** A tensor's storage and its gradient's (a tensor put in a field since the last walk keeps both). */
function pushTensor(out: Held[], t: NDArray): void {
  const r = real(t);
  out.push(r.data);
  const g = gradientStorage(r as Tensor);
  if (g !== null) out.push(g);
}

/** Re-reads what the slots reference now: their tensors' storage and gradients, their fields' arrays. */
function heldInSlots(slots: Slots): Held[] {
  const out: Held[] = [];
  for (const t of slots.tensors) pushTensor(out, t);
  const { objects, keys } = slots;
  for (let i = 0; i < objects.length; i++) {
    const x = (objects[i] as Record<string, unknown>)[keys[i]];
    if (x === null || typeof x !== 'object') continue;
    if (x instanceof NDArray) pushTensor(out, x);
    else if (x instanceof Float32Array || x instanceof Float64Array) out.push(x);
    else if (Array.isArray(x) || x instanceof Map || x instanceof Set) {
      for (const y of (x instanceof Map ? x.values() : x)) {
        if (y instanceof NDArray) pushTensor(out, y);
        else if (y instanceof Float32Array || y instanceof Float64Array) out.push(y);
      }
    }
  }
  return out;
}

/** Steps between full walks of the roots (see StepScopes). */
const FULL_WALK_EVERY = 16;

/**
 * Scopes for a run of steps over the same roots (fit's training steps): what one step keeps (a
 * gradient, a replaced buffer) is examined again after the next, and returned once dropped.
 *
 * Walking the whole object graph of a model every step costs more than a small step, so the walk
 * runs at the first step and every FULL_WALK_EVERY steps, and records where it found arrays
 * (tensors, and the fields of optimizer state records and modules that held a tensor, an array or a
 * collection); the steps in between re-read only those fields. A custom module that starts caching
 * a step's tensor in a field that held none at the last walk can lose that tensor's storage until
 * the next walk: cache with `.clone()` under noGrad, or keep the tensor in a field that held one
 * from the start.
 */
export class StepScopes {
  private readonly carry = scopeCarry();
  /** What a step returned, for the next to take again (steps repeat the same arrays). */
  private readonly recycle = scopeRecycle();
  private slots: Slots = { tensors: [], objects: [], keys: [] };
  private step = 0;
  constructor(private readonly roots: readonly unknown[]) {}

  run<T>(fn: () => T): T {
    openStorageScope(this.recycle);
    try {
      return fn();
    } finally {
      let keep: Held[];
      if (this.step++ % FULL_WALK_EVERY === 0) {
        this.slots = { tensors: [], objects: [], keys: [] };
        keep = heldArrays(this.roots, this.slots);
      } else {
        keep = heldInSlots(this.slots);
      }
      closeStorageScope(keep, this.carry);
    }
  }

  /**
   * Ends the run: what the steps kept is left to the garbage collector from here on, and what they
   * returned goes back to the heap (unless `keepRecycled`: the next run takes it again).
   */
  finish(keepRecycled = false): void {
    // predict's runs of scopes (one per call) keep their arrays for the next call.
    if (!keepRecycled) releaseRecycle(this.recycle);
    releaseCarry(this.carry);
  }
}
