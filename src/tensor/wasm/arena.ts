import { wasmApi, type WasmMemory } from './api.js';

/*
 * The one WebAssembly.Memory every kernel, and every worker of the pool, works in. It is an
 * internal arena: nothing the user holds points into it, so it needs no freeing. A call lays out
 * its operands from `scratchBase` on (the first bytes are the pool's control block), copies them
 * in, runs, and copies the result out; the next call reuses the same bytes. The memory only
 * grows, to the largest call seen.
 *
 * Shared (SharedArrayBuffer-backed, so workers see it) when the runtime allows it; a shared
 * memory must declare a maximum, so we ask for the largest the engine grants.
 */

export const PAGE = 65536;
/** Bytes at the start reserved for the worker pool's control blocks (see pool.ts). */
export const CONTROL_BYTES = 16384;
/** One control block per pool generation, in a ring inside CONTROL_BYTES. */
export const CONTROL_SLOT_BYTES = 1024;

export class Arena {
  readonly memory: WasmMemory;
  readonly shared: boolean;
  readonly maximumPages: number;
  private f32View: Float32Array;

  constructor(shared: boolean) {
    let memory: WasmMemory | undefined;
    const wa = wasmApi();
    let maximumPages = 0;
    // 4 GiB is the most wasm32 can address; engines on 32-bit hosts may refuse to reserve it.
    for (const max of [65536, 16384, 4096]) {
      try {
        if (!wa) break;
        memory = new wa.Memory({ initial: 64, maximum: max, shared });
        maximumPages = max;
        break;
      } catch {
        // try a smaller reservation
      }
    }
    if (!memory) throw new Error('wasm arena: cannot create a WebAssembly.Memory');
    this.memory = memory;
    this.shared = shared;
    this.maximumPages = maximumPages;
    this.f32View = new Float32Array(memory.buffer);
  }

  get byteLength(): number {
    return this.memory.buffer.byteLength;
  }

  get maxBytes(): number {
    return this.maximumPages * PAGE;
  }

  /**
   * Grows the memory to hold at least `bytes`; false if that is beyond its maximum. It grows by at
   * least a quarter of its size at a time: each growth of a shared memory shows a new buffer
   * object, and tensor storage checks its buffer against every one (heap.ts), so they must stay few.
   */
  ensure(bytes: number): boolean {
    if (bytes > this.maxBytes) return false;
    const have = this.memory.buffer.byteLength;
    if (bytes > have) {
      const want = Math.min(this.maxBytes, Math.max(bytes, have + (have >> 2)));
      try {
        this.memory.grow(Math.ceil((want - have) / PAGE));
      } catch {
        try {
          this.memory.grow(Math.ceil((bytes - have) / PAGE));
        } catch {
          return false; // the host refused the pages
        }
      }
    }
    return true;
  }

  /** A Float32Array over the whole memory, renewed after growth (growing detaches/replaces it). */
  f32(): Float32Array {
    if (this.f32View.buffer !== this.memory.buffer || this.f32View.length * 4 !== this.memory.buffer.byteLength) {
      this.f32View = new Float32Array(this.memory.buffer);
    }
    return this.f32View;
  }

}

/** Rounds a byte count up to a cache line. */
export function align64(bytes: number): number {
  return Math.ceil(bytes / 64) * 64;
}
