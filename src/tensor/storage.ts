import { wasmEnabled } from './backend.js';
import { storageHeap } from './wasm/runtime.js';
import type { ArenaHeap, HeapStats } from './wasm/heap.js';

/*
 * Where float32 storage lives. On the WebAssembly backend with a shared memory, a new array is a
 * view of an arena block, so kernels use it in place (no copies in or out of WebAssembly memory);
 * elsewhere it is an ordinary Float32Array. Readers see a Float32Array either way.
 *
 * Users never free. A block comes back two ways:
 * - the garbage collector: a FinalizationRegistry on the view returns its block. Finalizers run
 *   only between tasks, so a long synchronous loop would hold every block it made until it ends;
 * - a storage scope: `fit` opens one around each training step and, at its end, returns every
 *   block made inside it except those still held by what outlives the step (the model's
 *   parameters, buffers and gradients, the optimizer's state: `keep`). This is what keeps the
 *   arena flat over a long synchronous fit.
 * When the arena's live bytes pass the heap's limit (code allocating in a long synchronous loop
 * outside any scope), new arrays go to the JavaScript heap again: slower, never wrong.
 */

interface Block {
  readonly heap: ArenaHeap;
  readonly ptr: number;
  readonly bytes: number;
  /** Whether the FinalizationRegistry watches its view (blocks made in a scope join it only when kept). */
  registered: boolean;
}

const registry = new FinalizationRegistry<Block>((b) => b.heap.release(b.ptr, b.bytes));

/** Arena blocks made inside a scope (a view and its block, index for index). */
export interface ScopeBlocks {
  views: Float32Array[];
  blocks: Block[];
}

/**
 * The blocks a scope returned, by the order they were made in, for the next scope of the same
 * work (the next training step, the next replay of a plan) to take again: its k-th array, if of
 * the same size, is the block the last one's k-th array was, view and all, so a step repeated
 * makes no new blocks or views. Blocks waiting here are watched by the FinalizationRegistry, so a
 * dropped recycle list gives them back once finalizers run (between tasks); code that drops one
 * in a loop calls releaseRecycle.
 */
export interface ScopeRecycle {
  views: Array<Float32Array | null>;
  blocks: Array<Block | null>;
}

interface Scope extends ScopeBlocks {
  recycle: ScopeRecycle | null;
}

const scopes: Scope[] = [];

/** An arena block of `size` floats and its view, or null where storage cannot live in the arena. */
function arenaBlock(size: number, zero: boolean, scoped: boolean): { view: Float32Array; block: Block } | null {
  if (size === 0 || !wasmEnabled()) return null;
  const heap = storageHeap();
  if (heap === null) return null;
  const bytes = 4 * size;
  const ptr = heap.alloc(bytes, scoped);
  if (ptr < 0) return null;
  const view = heap.view(ptr, size);
  // Memory the bump pointer just reached is zero already; filling it would also touch every page.
  if (zero && !heap.lastFresh) view.fill(0);
  return { view, block: { heap, ptr, bytes, registered: false } };
}

/**
 * A float32 array of `size` elements, zero-filled unless `zero` is false (for kernels that write
 * every element). Inside a storage scope it is an arena block the scope returns; outside one it is
 * an ordinary JavaScript array, which the collector reclaims at its own pace (an arena block made
 * outside a scope could only come back through a finalizer, which a synchronous loop never lets
 * run, and a user's own training loop grew the arena by its every intermediate).
 */
export function allocateFloat32(size: number, zero = true): Float32Array {
  if (scopes.length > 0) {
    const s = scopes[scopes.length - 1];
    const r = s.recycle;
    if (r !== null && size > 0) {
      const k = s.views.length;
      const v = r.views[k];
      if (v !== undefined && v !== null && v.length === size) {
        s.views.push(v);
        s.blocks.push(r.blocks[k]!);
        r.views[k] = null;
        r.blocks[k] = null;
        if (zero) v.fill(0);
        return v;
      }
    }
    const b = arenaBlock(size, zero, true);
    if (b !== null) {
      s.views.push(b.view);
      s.blocks.push(b.block);
      return b.view;
    }
  }
  return new Float32Array(size);
}

/**
 * A float32 array that lives as long as its owner, wherever a scope is open: a parameter, a
 * buffer, an optimizer's state, an op's cache. In the arena where storage lives there (so kernels
 * use it in place), returned by the garbage collector; else an ordinary array.
 */
export function allocateFloat32Persistent(size: number, zero = true): Float32Array {
  const b = arenaBlock(size, zero, false);
  if (b === null) return new Float32Array(size);
  b.block.registered = true;
  registry.register(b.view, b.block, b.view);
  return b.view;
}

/** `data` itself when it already lives in the arena (or cannot), else a persistent arena copy of it. */
export function toArenaStorage<S extends Float32Array | Float64Array>(data: S): S {
  if (!(data instanceof Float32Array) || data.length === 0 || !wasmEnabled()) return data;
  const heap = storageHeap();
  if (heap === null || heap.owns(data.buffer)) return data;
  const copy = allocateFloat32Persistent(data.length, false);
  if (!heap.owns(copy.buffer)) return data;
  copy.set(data);
  return copy as S;
}

/**
 * Opens a storage scope (see above); scopes nest. With `recycle`, the scope takes its arrays from
 * what the last scope given it returned (see ScopeRecycle), and returns its own there.
 */
export function openStorageScope(recycle: ScopeRecycle | null = null): void {
  scopes.push({ views: [], blocks: [], recycle });
}

export function scopeRecycle(): ScopeRecycle {
  return { views: [], blocks: [] };
}

/** Gives every block waiting in `r` back to the heap (the work it was kept for has ended). */
export function releaseRecycle(r: ScopeRecycle): void {
  for (let i = 0; i < r.blocks.length; i++) {
    const b = r.blocks[i];
    if (b === null || b === undefined) continue; // taken, or a place that had none
    registry.unregister(r.views[i]!);
    b.registered = false;
    b.heap.release(b.ptr, b.bytes);
  }
  r.views.length = 0;
  r.blocks.length = 0;
}

/** An empty carry list for `closeStorageScope`: blocks a run of scopes kept, re-examined at each close. */
export function scopeCarry(): ScopeBlocks {
  return { views: [], blocks: [] };
}

/**
 * Closes the innermost scope: every arena block made inside it returns to the heap unless one of
 * `keep`'s arrays lies in it (a view, or any subarray of one). Blocks kept move to the enclosing
 * scope if there is one, else to `carry`, whose blocks are examined again at the next close that
 * passes it (a gradient the next step drops is returned then). Returns the number returned (to the heap, or to the scope's recycle list).
 */
export function closeStorageScope(
  keep: Iterable<ArrayLike<number> & { buffer: ArrayBufferLike; byteOffset: number; byteLength: number }>,
  carry: ScopeBlocks | null = null,
): number {
  const inner = scopes.pop();
  if (inner === undefined) throw new Error('closeStorageScope: no storage scope is open');
  const outer = scopes.length > 0 ? scopes[scopes.length - 1] : carry;
  const recycle = inner.recycle;
  // What the last scope returned and this one did not take goes back to the heap.
  if (recycle !== null) releaseRecycle(recycle);
  const made = inner.views.length;
  let s: ScopeBlocks = inner;
  if (carry !== null && carry.blocks.length > 0) {
    s = { views: inner.views.concat(carry.views), blocks: inner.blocks.concat(carry.blocks) };
    carry.views = [];
    carry.blocks = [];
  }
  if (s.blocks.length === 0) return 0;
  const heap = s.blocks[0].heap;
  const kept = keptBlocks(s.blocks, heap, keep);
  let released = 0;
  for (let i = 0; i < s.blocks.length; i++) {
    const b = s.blocks[i];
    if (kept[i] === 1) {
      if (outer !== null) { outer.views.push(s.views[i]); outer.blocks.push(b); }
      if (!b.registered && outer === null) {
        // Kept past the outermost scope with no carry to hold it: the collector returns it now.
        registry.register(s.views[i], b, s.views[i]);
        b.registered = true;
      }
      continue;
    }
    released++;
    if (recycle !== null && i < made) {
      recycle.views[i] = s.views[i];
      recycle.blocks[i] = b;
      if (!b.registered) {
        registry.register(s.views[i], b, s.views[i]);
        b.registered = true;
      }
      continue;
    }
    if (b.registered) registry.unregister(s.views[i]);
    heap.release(b.ptr, b.bytes);
  }
  return released;
}

/**
 * Which of `blocks` (1 = kept) an array of `keep` lies in, a view or any subarray of one. Most
 * kept arrays (parameters, optimizer state: blocks of their own) lie outside the span of the
 * scope's blocks and are passed over with two comparisons; the rest are looked up by address.
 */
function keptBlocks(
  blocks: readonly Block[], heap: ArenaHeap,
  keep: Iterable<ArrayLike<number> & { buffer: ArrayBufferLike; byteOffset: number; byteLength: number }>,
): Uint8Array {
  const kept = new Uint8Array(blocks.length);
  let lo = Infinity, hi = -Infinity;
  for (let i = 0; i < blocks.length; i++) {
    const b = blocks[i];
    if (b.ptr < lo) lo = b.ptr;
    if (b.ptr + b.bytes > hi) hi = b.ptr + b.bytes;
  }
  let inside: number[] | null = null;
  for (const a of keep) {
    const off = a.byteOffset;
    if (off < lo || off >= hi || a.byteLength === 0 || !heap.owns(a.buffer)) continue;
    (inside ??= []).push(off);
  }
  if (inside === null) return kept;
  if (inside.length * blocks.length <= SCAN_MAX) {
    for (const off of inside) {
      for (let i = 0; i < blocks.length; i++) {
        const b = blocks[i];
        if (off >= b.ptr && off < b.ptr + b.bytes) { kept[i] = 1; break; }
      }
    }
    return kept;
  }
  // The blocks by address: sorted as address·2^16 + index in one float64 (a native numeric
  // sort), or by a comparator in a scope of more blocks than that.
  const n = blocks.length;
  const ptrs = new Float64Array(n), ids = new Int32Array(n);
  if (n < INDEX_SPAN) {
    const keys = new Float64Array(n);
    for (let i = 0; i < n; i++) keys[i] = blocks[i].ptr * INDEX_SPAN + i;
    keys.sort();
    for (let k = 0; k < n; k++) ids[k] = keys[k] % INDEX_SPAN;
  } else {
    blocks.map((_, i) => i).sort((x, y) => blocks[x].ptr - blocks[y].ptr).forEach((i, k) => { ids[k] = i; });
  }
  for (let k = 0; k < n; k++) ptrs[k] = blocks[ids[k]].ptr;
  for (const off of inside) {
    // The last block starting at or before off: it holds off if off lies before its end.
    let l = 0, h = n;
    while (l < h) {
      const mid = (l + h) >> 1;
      if (ptrs[mid] <= off) l = mid + 1; else h = mid;
    }
    if (l > 0) {
      const i = ids[l - 1];
      if (off < blocks[i].ptr + blocks[i].bytes) kept[i] = 1;
    }
  }
  return kept;
}

/** Candidate × block comparisons below which a plain scan beats sorting the blocks. */
const SCAN_MAX = 2048;
/** Blocks per scope the packed sort keys allow (addresses < 2^32: keys stay exact below 2^53). */
const INDEX_SPAN = 2 ** 16;

/**
 * Hands a carry's blocks to the garbage collector (a run of scopes has ended: whatever they kept is
 * returned once unreachable, like any other storage).
 */
export function releaseCarry(carry: ScopeBlocks): void {
  for (let i = 0; i < carry.blocks.length; i++) {
    const b = carry.blocks[i];
    if (!b.registered) {
      registry.register(carry.views[i], b, carry.views[i]);
      b.registered = true;
    }
  }
  carry.views = [];
  carry.blocks = [];
}

/** The arena heap's counters (null where storage stays on the JavaScript heap): for tests and benches. */
export function storageStats(): HeapStats | null {
  return storageHeap()?.stats() ?? null;
}
