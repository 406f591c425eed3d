import { expect } from 'vitest';
import type { Generator } from '../../../src/tensor/index.js';
import { CONTROL_BYTES } from '../../../src/tensor/wasm/arena.js';
import * as runtime from '../../../src/tensor/wasm/runtime.js';

/*
 * Test plumbing for the glue kernels: operands placed in the arena (the kernels take byte
 * pointers), guard words around every block to catch a write past either end, and float32
 * comparisons by bits (NaN equal to NaN) or by ulps.
 *
 * Blocks come from the arena's storage heap where runtime.ts has one (`storageHeap()`, the arena
 * allocator, which also holds tensor storage: writing anywhere else would corrupt it); without it
 * they are laid out from CONTROL_BYTES on, where nothing else lives.
 */

interface Heap { alloc(bytes: number): number; release(ptr: number, bytes: number): void }

function storageHeap(): Heap | null {
  const f = (runtime as unknown as Record<string, unknown>).storageHeap;
  return typeof f === 'function' ? (f as () => Heap | null)() : null;
}

const GUARD = 4; // floats of guard pattern before and after each block
const GUARD_BITS = 0x7fa5a5a5; // a signalling-NaN pattern no kernel produces

export class ArenaLayout {
  private next = CONTROL_BYTES;
  private readonly blocks: Array<{ ptr: number; n: number }> = [];

  /** misalign: bytes (0, 4, 8, 12) added to every block, to run the unaligned paths. */
  constructor(private readonly misalign = 0) {}

  private readonly held: Array<{ ptr: number; bytes: number }> = [];

  private get inst() {
    const i = runtime.wasmKernelInstance();
    if (!i) throw new Error('ArenaLayout: WebAssembly unavailable');
    return i;
  }

  /** Room for n 4-byte elements; returns its byte pointer. */
  alloc(n: number): number {
    const bytes = 4 * (n + 2 * GUARD) + 16;
    const heap = storageHeap();
    let start: number;
    if (heap) {
      const p = heap.alloc(bytes);
      if (p < 0) throw new Error('ArenaLayout: the storage heap refused a block');
      this.held.push({ ptr: p, bytes });
      start = Math.ceil(p / 16) * 16 + 4 * GUARD + this.misalign;
    } else {
      start = Math.ceil(this.next / 16) * 16 + 4 * GUARD + this.misalign;
      this.next = start + 4 * (n + GUARD);
      if (!this.inst.arena.ensure(this.next + 64)) throw new Error('ArenaLayout: arena too small');
    }
    const u = this.u32();
    u.fill(GUARD_BITS, start / 4 - GUARD, start / 4);
    u.fill(GUARD_BITS, start / 4 + n, start / 4 + n + GUARD);
    this.blocks.push({ ptr: start, n });
    return start;
  }

  /** Copies data into a fresh block; returns its pointer. */
  put(data: ArrayLike<number>, kind: 'f32' | 'i32' = 'f32'): number {
    const p = this.alloc(data.length);
    (kind === 'f32' ? this.f32() : new Int32Array(this.inst.arena.memory.buffer)).set(data, p / 4);
    return p;
  }

  /** A copy of n floats at ptr. */
  get(ptr: number, n: number): Float32Array {
    return this.f32().slice(ptr / 4, ptr / 4 + n);
  }

  /** Every guard word is intact (no kernel wrote outside its block); then the blocks are returned. */
  checkGuards(tag: string): void {
    const u = this.u32();
    for (const { ptr, n } of this.blocks) {
      for (let k = 1; k <= GUARD; k++) {
        if (u[ptr / 4 - k] !== GUARD_BITS) expect(u[ptr / 4 - k], `${tag}: guard before block @${ptr}`).toBe(GUARD_BITS);
        if (u[ptr / 4 + n + k - 1] !== GUARD_BITS) expect(u[ptr / 4 + n + k - 1], `${tag}: guard after block @${ptr} (n ${n})`).toBe(GUARD_BITS);
      }
    }
    const heap = storageHeap();
    for (const { ptr, bytes } of this.held.splice(0)) heap?.release(ptr, bytes);
  }

  f32(): Float32Array { return new Float32Array(this.inst.arena.memory.buffer); }
  private u32(): Uint32Array { return new Uint32Array(this.inst.arena.memory.buffer); }
}

const f1 = new Float32Array(1), u1 = new Uint32Array(f1.buffer);
const bitsOf = (x: number): number => { f1[0] = x; return u1[0]; };

/** Same float32 bits everywhere (any NaN equals any NaN); the message names the first mismatch. */
export function expectSameBits(got: ArrayLike<number>, want: ArrayLike<number>, tag: string): void {
  if (got.length !== want.length) expect(got.length, `${tag}: length`).toBe(want.length);
  for (let i = 0; i < want.length; i++) {
    const g = got[i], w = want[i];
    if (Number.isNaN(g) && Number.isNaN(w)) continue;
    if (bitsOf(g) !== bitsOf(w)) expect(`${tag}[${i}]: got ${g} (0x${bitsOf(g).toString(16)})`).toBe(`${tag}[${i}]: want ${w} (0x${bitsOf(w).toString(16)})`);
  }
}

/** Distance in float32 steps (0 for ±0 against each other and NaN against NaN; Infinity if only one is NaN). */
export function ulpDiff(a: number, b: number): number {
  if (Number.isNaN(a) || Number.isNaN(b)) return Number.isNaN(a) && Number.isNaN(b) ? 0 : Infinity;
  const ord = (x: number): number => { const u = bitsOf(x); return u & 0x80000000 ? -(u & 0x7fffffff) : u; };
  return Math.abs(ord(a) - ord(b));
}

/** Normal values, with ±0, ±Inf, NaN, subnormals and large magnitudes mixed in at random places. */
export function withSpecials(n: number, gen: Generator, scale = 3): Float32Array {
  const rand = (): number => gen.random();
  const specials = [0, -0, Infinity, -Infinity, NaN, 1e-40, -1e-40, 3e38, -3e38, 1, -1, 1e-30];
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const r = rand();
    out[i] = r < 0.15 ? specials[Math.floor(rand() * specials.length)] : (rand() * 2 - 1) * scale;
  }
  return out;
}
