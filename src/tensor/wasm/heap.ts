import { CONTROL_BYTES, align64, type Arena } from './arena.js';

/*
 * Blocks of the arena handed out as tensor storage, so a chain of kernels reads and writes its
 * operands where they already are instead of copying them in and out of WebAssembly memory.
 *
 * Size classes keep reuse cheap and fragmentation bounded (as jax-js's wasm allocator does):
 * up to 1 KiB in 64-byte steps, above that four classes per power of two (at most 25% slack).
 * Freed blocks go to their class's free list; new ones come from a bump pointer that only grows
 * the memory. A block is returned either explicitly (a storage scope ending, see storage.ts) or by
 * the garbage collector through a FinalizationRegistry on its view. Nothing here is exposed to
 * users: they never free.
 *
 * Only a shared memory (SharedArrayBuffer-backed) may hold storage: growing a shared memory leaves
 * old views valid, while growing an unshared one detaches every view, which a tensor's `data` must
 * never suffer. Where memory is not shared, callers keep storage on the JavaScript heap.
 */

/** Bytes of the size class a request of `bytes` falls into. */
export function classBytes(bytes: number): number {
  if (bytes <= 1024) return align64(Math.max(bytes, 1));
  const hi = 31 - Math.clz32(bytes - 1); // 2^hi < bytes ≤ 2^(hi+1)
  const step = 2 ** (hi - 2);
  return Math.ceil(bytes / step) * step;
}

export interface HeapStats {
  /** Bytes in blocks handed out and not yet returned. */
  liveBytes: number;
  /** Bytes sitting in free lists. */
  freeBytes: number;
  /** The bump pointer: every byte below it has been handed out at least once. */
  topBytes: number;
  /** Blocks handed out / returned since the heap was made. */
  allocations: number;
  releases: number;
}

export class ArenaHeap {
  private readonly free = new Map<number, number[]>();
  private top: number;
  private live = 0;
  private freeTotal = 0;
  private allocs = 0;
  private releasesCount = 0;
  /** Whether the last `alloc` came from never-used memory (zero, as WebAssembly memory grows). */
  lastFresh = false;
  private scratchPtr = -1;
  private scratchSize = 0;
  // A shared memory shows a new buffer object after each growth; older views keep the older
  // objects, over the same memory. One entry per growth, so the list stays short.
  private lastBuffer: ArrayBufferLike | null = null;
  private readonly buffers: ArrayBufferLike[] = [];

  /**
   * Live bytes beyond which `alloc` refuses long-lived blocks (parameters, caches: callers then use
   * the JavaScript heap), which only the garbage collector returns; blocks inside a storage scope,
   * which come back at its end, are not limited.
   */
  limitBytes: number;

  constructor(readonly arena: Arena) {
    this.top = CONTROL_BYTES;
    this.limitBytes = Math.min(arena.maxBytes / 4, 1024 * 1024 * 1024);
  }

  /** A block of at least `bytes` (64-byte aligned), or -1 when the arena cannot give one. */
  alloc(bytes: number, scoped = false): number {
    const size = classBytes(bytes);
    if (!scoped && this.live + size > this.limitBytes) return -1;
    const list = this.free.get(size);
    let ptr: number;
    if (list !== undefined && list.length > 0) {
      ptr = list.pop()!;
      this.freeTotal -= size;
      this.lastFresh = false;
    } else {
      if (!this.arena.ensure(this.top + size)) return -1;
      ptr = this.top;
      this.top += size;
      this.lastFresh = true;
    }
    this.live += size;
    this.allocs++;
    return ptr;
  }

  /** Returns a block from `alloc(bytes)` with the same byte count. */
  release(ptr: number, bytes: number): void {
    const size = classBytes(bytes);
    let list = this.free.get(size);
    if (list === undefined) this.free.set(size, (list = []));
    list.push(ptr);
    this.live -= size;
    this.freeTotal += size;
    this.releasesCount++;
  }

  /**
   * A scratch region of at least `bytes` for one kernel call's copied operands and workspaces
   * (valid until the next call of `scratch`). It only grows, like the arena.
   */
  scratch(bytes: number): number {
    if (bytes <= this.scratchSize) return this.scratchPtr;
    if (this.scratchPtr >= 0) this.release(this.scratchPtr, this.scratchSize);
    // Bypass the live limit: a call that cannot get its scratch cannot run at all.
    const size = classBytes(Math.max(bytes, 2 * this.scratchSize));
    const list = this.free.get(size);
    if (list !== undefined && list.length > 0) {
      this.scratchPtr = list.pop()!;
      this.freeTotal -= size;
    } else {
      if (!this.arena.ensure(this.top + size)) {
        this.scratchPtr = -1;
        this.scratchSize = 0;
        return -1;
      }
      this.scratchPtr = this.top;
      this.top += size;
    }
    this.live += size;
    this.scratchSize = size;
    return this.scratchPtr;
  }

  /** A Float32Array over `length` floats at `ptr` (the buffer object current now: it spans the block). */
  view(ptr: number, length: number): Float32Array {
    const buffer = this.arena.memory.buffer;
    if (buffer !== this.lastBuffer) {
      this.lastBuffer = buffer;
      this.buffers.push(buffer);
    }
    return new Float32Array(buffer, ptr, length);
  }

  /** Whether `buffer` is one of the objects this arena's memory has shown (views made here). */
  owns(buffer: ArrayBufferLike): boolean {
    if (buffer === this.lastBuffer) return true;
    const list = this.buffers;
    for (let i = list.length - 2; i >= 0; i--) if (list[i] === buffer) return true;
    return false;
  }

  stats(): HeapStats {
    return { liveBytes: this.live, freeBytes: this.freeTotal, topBytes: this.top, allocations: this.allocs, releases: this.releasesCount };
  }
}
