import { wasmApi, type WasmModule } from './api.js';
import { Arena, align64 } from './arena.js';
import { ArenaHeap } from './heap.js';
import { wasmFeatures } from './features.js';
import { workspaceBytes, type TileShape } from './gemm-kernel.js';
import { narrowWorkspaceBytes } from './gemm-narrow-kernel.js';
import { buildKernelModule } from './kernel-module.js';
import { GEMM_ARGS, MAX_WORKERS, Pool, defaultThreadCount } from './pool.js';

/*
 * The WebAssembly float32 GEMM as the rest of src/tensor sees it: `wasmGemm` copies the operands
 * into the arena, runs the module's `gemm` on one or more threads, and copies C back. It answers
 * false when it cannot run (no SIMD, the module could not compile synchronously, operands beyond
 * what the arena can hold) and the caller uses the JavaScript kernel instead.
 */

/**
 * Register tile: 4×8 is within a percent of the best with FMA and near it without, spills in
 * neither mode and divides the models' shapes with no edge tiles (measured: bench/results/gemm-tuning.md).
 */
export const TILE: TileShape = { mr: 4, nr: 8 };

/**
 * Work (batch·M·N·K multiply-adds) from which a product is split over the pool: 2^22 (≈ 160³) lies
 * between the last loss and the first gain of 2 threads over 1, so the models' per-step products
 * (≈ 2·10^5) stay on one thread (measured: bench/results/gemm-tuning.md).
 */
export const THREAD_MIN_WORK = 1 << 22;

/**
 * The narrow GEMM serves products up to this many columns, and with A transposed only up to
 * NARROW_MAX_M_TRANS_A rows: there a k step jumps a whole row of A, which packing hides
 * (measured: bench/results/gemm-tuning.md).
 */
const NARROW_MAX_N = 256;
const NARROW_MAX_M_TRANS_A = 64;

interface Exports {
  gemm: (...args: number[]) => void;
  gemmNarrow: (...args: number[]) => void;
  crossForward: (...args: number[]) => void;
  crossBackward: (...args: number[]) => void;
}

interface Runtime {
  arena: Arena;
  module: WasmModule;
  exports: Exports;
  relaxed: boolean;
  pool?: Pool;
}

let runtime: Runtime | null | undefined; // undefined: not tried yet; null: unavailable
let pendingCompile: Promise<void> | undefined;
let wantRelaxed = true;
let threads = 0; // 0: the default, one per core

function instantiate(arena: Arena, module: WasmModule, relaxed: boolean): Runtime {
  const instance = new (wasmApi()!).Instance(module, { env: { memory: arena.memory } });
  return { arena, module, exports: instance.exports as unknown as Exports, relaxed };
}

function moduleBytes(arena: Arena, relaxed: boolean): Uint8Array {
  return buildKernelModule({ ...TILE, relaxed, shared: arena.shared, maximumPages: arena.maximumPages });
}

let arenaSingleton: Arena | undefined;
let heapSingleton: ArenaHeap | undefined;

/**
 * The heap tensor storage is allocated from, or null where storage stays on the JavaScript heap:
 * no WebAssembly SIMD, or a memory that is not shared (growing it would detach every view).
 */
export function storageHeap(): ArenaHeap | null {
  const rt = getRuntime();
  return rt === null || !rt.arena.shared ? null : heapOf(rt);
}

function heapOf(rt: Runtime): ArenaHeap {
  return (heapSingleton ??= new ArenaHeap(rt.arena));
}

/**
 * The byte address of `a` in the arena when its storage lives there (so a kernel can use it in
 * place), else -1. Views made before the memory grew hold an older SharedArrayBuffer object over
 * the same memory, so every buffer object the memory has shown counts.
 */
export function arenaAddress(a: Float32Array): number {
  const heap = heapSingleton;
  if (heap === undefined) return -1;
  return heap.owns(a.buffer) ? a.byteOffset : -1;
}

/** Scratch bytes for one call, from the heap (valid until the next call); -1 if unavailable. */
function scratch(rt: Runtime, bytes: number): number {
  return heapOf(rt).scratch(bytes);
}

function getRuntime(): Runtime | null {
  if (runtime !== undefined) return runtime;
  const f = wasmFeatures();
  if (!f.simd) return (runtime = null);
  const arena = (arenaSingleton ??= new Arena(f.threads));
  const relaxed = wantRelaxed && f.relaxedSimd;
  const bytes = moduleBytes(arena, relaxed);
  try {
    runtime = instantiate(arena, new (wasmApi()!).Module(bytes), relaxed);
  } catch {
    // A browser's main thread refuses synchronous compiles of more than a few KiB: compile in
    // the background and use the JavaScript kernels until it is done.
    runtime = null;
    pendingCompile ??= wasmApi()!.compile(bytes).then((module) => {
      runtime = instantiate(arena, module, relaxed);
    }, () => undefined).finally(() => { pendingCompile = undefined; });
  }
  return runtime;
}

function reset(): void {
  runtime?.pool?.terminate();
  runtime = undefined;
}

/** Whether the WebAssembly kernels can run now (compiling the module on first use). */
export function wasmAvailable(): boolean {
  return getRuntime() !== null;
}

/**
 * The kernel module's exports and the arena memory they address, or null where WebAssembly cannot
 * run now: glue.ts builds its typed entry points from these.
 */
export function wasmKernelInstance(): { exports: Record<string, unknown>; arena: Arena } | null {
  const rt = getRuntime();
  return rt ? { exports: rt.exports as unknown as Record<string, unknown>, arena: rt.arena } : null;
}

/** Resolves once a background compile (browsers' main thread) has finished. */
export async function wasmReady(): Promise<boolean> {
  getRuntime();
  if (pendingCompile) await pendingCompile;
  return getRuntime() !== null;
}

/** Use relaxed-SIMD FMA when the runtime has it (default), or force plain mul+add. */
export function setRelaxedSimd(on: boolean): void {
  if (on !== wantRelaxed) {
    wantRelaxed = on;
    reset();
  }
}

/** Whether relaxed SIMD is wanted (false after setBackend('wasm', { relaxedSimd: false })). */
export function relaxedSimdWanted(): boolean {
  return wantRelaxed;
}

/** Rebuilds the kernel module at its next use (after the features changed: enableRelaxedSimd). */
export function rebuildKernels(): void {
  reset();
}

export function relaxedSimdActive(): boolean {
  return getRuntime()?.relaxed ?? false;
}

export function setThreadCount(n: number): void {
  if (!Number.isInteger(n) || n < 1 || n > MAX_WORKERS + 1) {
    throw new RangeError(`setNumThreads: expected an integer from 1 to ${MAX_WORKERS + 1}, got ${n}`);
  }
  threads = n;
}

export function threadCount(): number {
  if (!wasmFeatures().threads) return 1;
  return threads || defaultThreadCount();
}

/** Resolves when the pool's workers for the current thread count have started (tests, benches). */
export async function threadsReady(timeoutMs = 10_000): Promise<number> {
  const rt = getRuntime();
  const want = threadCount() - 1;
  if (!rt || want === 0 || !rt.arena.shared) return 1;
  rt.pool ??= new Pool(rt.arena.memory, rt.module);
  const end = Date.now() + timeoutMs;
  while (rt.pool.usable && rt.pool.grow(want) < want && Date.now() < end) await new Promise((r) => setTimeout(r, 5));
  return 1 + rt.pool.readyCount(want);
}

/** Chunks run per participant (index 0: this thread) — for tests that workers really took part. */
export function poolChunkCounts(): number[] {
  return runtime?.pool?.chunkCounts() ?? [];
}

const args = new Int32Array(GEMM_ARGS);

export type GemmPath = 'auto' | 'packed' | 'narrow';
let gemmPath: GemmPath = 'auto';

/** Forces one GEMM path where both apply (tests compare their bits); 'auto' chooses by shape. */
export function setGemmPath(p: GemmPath): void {
  gemmPath = p;
}

/**
 * The narrow GEMM (gemm-narrow-kernel.ts) where packing A does not pay: up to NARROW_MAX_N
 * columns, and with A transposed up to NARROW_MAX_M_TRANS_A rows. It gives the packed GEMM's bits,
 * so the choice is only one of speed.
 */
function useNarrow(M: number, N: number, K: number, transA: boolean): boolean {
  if (N > NARROW_MAX_N || narrowWorkspaceBytes(TILE, K, N) > workspaceBytes(TILE)) return false;
  if (gemmPath !== 'auto') return gemmPath === 'narrow';
  return !transA || M <= NARROW_MAX_M_TRANS_A;
}

/**
 * C[b] (+)= op(A[b])·op(B[b]) for b < batch, float32. Offsets and strides are in elements; a
 * stride of 0 shares that operand across the batch. With `accumulate` false, C's old values are
 * ignored (the result overwrites them). Returns false when it did not run.
 */
export function wasmGemm(
  batch: number, M: number, N: number, K: number,
  A: Float32Array, aOff: number, aStride: number, transA: boolean,
  B: Float32Array, bOff: number, bStride: number, transB: boolean,
  C: Float32Array, cOff: number, accumulate: boolean,
): boolean {
  const rt = getRuntime();
  if (!rt) return false;
  if (batch === 0 || M === 0 || N === 0) return true;
  if (K === 0) {
    if (!accumulate) C.fill(0, cOff, cOff + batch * M * N);
    return true;
  }
  const work = batch * M * N * K;
  const lenA = (aStride ? batch : 1) * M * K, lenB = (bStride ? batch : 1) * K * N, lenC = batch * M * N;
  let parts = 1;
  const want = threadCount() - 1;
  if (want > 0 && work >= THREAD_MIN_WORK && rt.arena.shared) {
    rt.pool ??= new Pool(rt.arena.memory, rt.module);
    if (rt.pool.usable) parts = 1 + rt.pool.grow(want);
  }
  // Operands whose storage lives in the arena are used where they are; the rest are copied into
  // scratch after the workspaces.
  const inA = arenaAddress(A), inB = arenaAddress(B), inC = arenaAddress(C);
  const ws = workspaceBytes(TILE);
  // Every started worker may join (by id), so each gets a workspace, ready or not.
  const slots = parts > 1 ? want + 1 : 1;
  const wsBytes = slots * ws;
  const cpA = inA < 0 ? align64(4 * lenA) : 0;
  const sameAB = B === A && bOff === aOff && lenB === lenA;
  const cpB = inB < 0 && !(sameAB && inA < 0) ? align64(4 * lenB) : 0;
  const cpC = inC < 0 ? align64(4 * lenC) : 0;
  const base = scratch(rt, wsBytes + cpA + cpB + cpC);
  if (base < 0) {
    if (batch === 1) return false;
    // Too big for the arena at once: halve the batch (results are per product, so the same).
    const h = batch >> 1;
    return wasmGemm(h, M, N, K, A, aOff, aStride, transA, B, bOff, bStride, transB, C, cOff, accumulate)
      && wasmGemm(batch - h, M, N, K, A, aOff + h * aStride, aStride, transA, B, bOff + h * bStride, bStride, transB, C, cOff + h * M * N, accumulate);
  }
  const mem = rt.arena.f32();
  const pA = inA >= 0 ? inA + 4 * aOff : base + wsBytes;
  if (inA < 0) mem.set(lenA === A.length && aOff === 0 ? A : A.subarray(aOff, aOff + lenA), pA / 4);
  let pB: number;
  if (inB >= 0) pB = inB + 4 * bOff;
  else if (sameAB) pB = pA;
  else {
    pB = base + wsBytes + cpA;
    mem.set(lenB === B.length && bOff === 0 ? B : B.subarray(bOff, bOff + lenB), pB / 4);
  }
  const pC = inC >= 0 ? inC + 4 * cOff : base + wsBytes + cpA + cpB;
  // Without accumulate the kernel overwrites C (its first K block adds to zero): C is not read.
  if (inC < 0 && accumulate) mem.set(C.subarray(cOff, cOff + lenC), pC / 4);
  const overwrite = accumulate ? 0 : 1;

  const sA = 4 * (aStride ? M * K : 0), sB = 4 * (bStride ? K * N : 0), sC = 4 * M * N;
  const g = rt.exports.gemm;
  if (parts === 1 && useNarrow(M, N, K, transA)) {
    rt.exports.gemmNarrow(batch, sA, sB, sC, M, N, K, pA, +transA, pB, +transB, pC, base, overwrite);
  } else if (parts === 1) {
    g(batch, sA, sB, sC, M, N, K, pA, +transA, pB, +transB, pC, 0, M, 0, N, base, overwrite);
  } else {
    // One chunk per thread, of whole products when there are enough of them, else of output rows
    // or columns in whole register tiles — never of K, so the sums are the same for any split.
    args.set([batch, sA, sB, sC, M, N, K, pA, +transA, pB, +transB, pC, 0, M, 0, N, base, overwrite]);
    const tilesM = Math.ceil(M / TILE.mr), tilesN = Math.ceil(N / TILE.nr);
    if (batch >= parts) {
      const size = Math.ceil(batch / parts);
      rt.pool!.run(g, args, 0, size, Math.ceil(batch / size), ws);
    } else if (tilesM >= tilesN) {
      const size = TILE.mr * Math.ceil(tilesM / parts);
      rt.pool!.run(g, args, 1, size, Math.ceil(M / size), ws);
    } else {
      const size = TILE.nr * Math.ceil(tilesN / parts);
      rt.pool!.run(g, args, 2, size, Math.ceil(N / size), ws);
    }
  }
  if (inC < 0) C.set(mem.subarray(pC / 4, (pC / 4) + lenC), cOff);
  return true;
}

/**
 * The vector cross stack's forward on one thread (see cross-kernel.ts for the arguments):
 * x0 [B, D], w [L, D], q [L], betaL [D] in; out [B, D] and p [B, L] written. False: not run.
 */
export function wasmCrossForward(
  B: number, D: number, L: number, x0: Float32Array, w: Float32Array, q: Float64Array, betaL: Float32Array,
  out: Float32Array, p: Float64Array,
): boolean {
  const rt = getRuntime();
  if (!rt) return false;
  const bytes = align64(4 * B * D) * 2 + align64(4 * L * D) + align64(8 * L) + align64(4 * D) + align64(8 * B * L);
  const px0 = scratch(rt, bytes);
  if (px0 < 0) return false;
  const pw = px0 + align64(4 * B * D), pq = pw + align64(4 * L * D), pb = pq + align64(8 * L);
  const po = pb + align64(4 * D), pp = po + align64(4 * B * D), end = pp + align64(8 * B * L);
  const mem = rt.arena.f32();
  mem.set(x0, px0 / 4);
  mem.set(w, pw / 4);
  mem.set(betaL, pb / 4);
  const m64 = new Float64Array(mem.buffer, 0, end / 8);
  m64.set(q, pq / 8);
  rt.exports.crossForward(B, D, L, px0, pw, pq, pb, po, pp);
  out.set(mem.subarray(po / 4, po / 4 + B * D));
  p.set(m64.subarray(pp / 8, pp / 8 + B * L));
  return true;
}

/**
 * The per-row part of the vector cross stack's backward on one thread (cross-kernel.ts): fills
 * gx0 (if given), gw and colG (if given; written, not added to — they come in zeroed) and adds
 * into Q. False: not run, nothing written.
 */
export function wasmCrossBackward(
  B: number, D: number, L: number, g: Float32Array, x0: Float32Array, w: Float32Array, p: Float64Array, q: Float64Array,
  gx0: Float32Array | null, gw: Float64Array | null, colG: Float64Array | null, Q: Float64Array,
): boolean {
  const rt = getRuntime();
  if (!rt) return false;
  const rowBytes = align64(4 * B * D), ldBytes = align64(4 * L * D);
  const bytes = 2 * rowBytes + ldBytes + align64(8 * B * L) + 2 * align64(8 * L) + (gx0 ? rowBytes : 0)
    + (gw ? ldBytes : 0) + (colG ? align64(4 * D) : 0) + align64(16 * (L + 1));
  const pg = scratch(rt, bytes);
  if (pg < 0) return false;
  const px = pg + rowBytes, pw = px + rowBytes, pp = pw + ldBytes, pq = pp + align64(8 * B * L);
  const pQ = pq + align64(8 * L), pgx = pQ + align64(8 * L), pgw = pgx + (gx0 ? rowBytes : 0);
  const pcol = pgw + (gw ? ldBytes : 0), pscr = pcol + (colG ? align64(4 * D) : 0), end = pscr + align64(16 * (L + 1));
  const mem = rt.arena.f32();
  const m64 = new Float64Array(mem.buffer, 0, end / 8);
  mem.set(g, pg / 4);
  mem.set(x0, px / 4);
  mem.set(w, pw / 4);
  m64.set(p, pp / 8);
  m64.set(q, pq / 8);
  m64.fill(0, pQ / 8, pQ / 8 + L);
  if (gw) mem.fill(0, pgw / 4, pgw / 4 + L * D);
  if (colG) mem.fill(0, pcol / 4, pcol / 4 + D);
  rt.exports.crossBackward(B, D, L, pg, px, pw, pp, pq, gx0 ? pgx : 0, gw ? pgw : 0, colG ? pcol : 0, pQ, pscr);
  if (gx0) gx0.set(mem.subarray(pgx / 4, pgx / 4 + B * D));
  if (gw) gw.set(mem.subarray(pgw / 4, pgw / 4 + L * D));
  if (colG) colG.set(mem.subarray(pcol / 4, pcol / 4 + D));
  for (let l = 0; l < L; l++) Q[l] += m64[pQ / 8 + l];
  return true;
}
