import { wasmApi, type WasmModule } from './api.js';
import { Arena, CONTROL_BYTES, align64 } from './arena.js';
import { wasmFeatures } from './features.js';
import { buildGemmModule, workspaceBytes, type TileShape } from './gemm-kernel.js';
import { GEMM_ARGS, MAX_WORKERS, Pool, defaultThreadCount } from './pool.js';

/*
 * The WebAssembly float32 GEMM as the rest of src/tensor sees it: `wasmGemm` copies the operands
 * into the arena, runs the module's `gemm` on one or more threads, and copies C back. It answers
 * false when it cannot run (no SIMD, the module could not compile synchronously, operands beyond
 * what the arena can hold) and the caller uses the JavaScript kernel instead.
 */

/**
 * Register tile, chosen by measurement (bench-style, 512³ single thread, this repo's
 * Zen-class EPYC with AVX2, Node 20, best of 6 runs; machine shared, so best-of, not medians):
 *   relaxed FMA: 4×8 47.2–47.3, 5×8 47.2–47.7, 6×8 47.3–47.9, 8×8 30.0, 4×16 30.3, 3×16 23.2
 *                GFLOP/s (8×8 and 4×16 need 16 accumulators: V8 has 16 xmm registers, so they spill);
 *   mul+add:     4×8 23.5–36.0, 5×8 26.9–39.1, 6×8 17.6–24.4 (the product needs a temporary
 *                register, so 6×8 spills).
 * 4×8 is within a percent of the best with FMA and near the best without, and it divides the
 * models' power-of-two shapes (128×16, 16×100) with no edge tiles, so both modes use it.
 */
export const TILE: TileShape = { mr: 4, nr: 8 };

/**
 * Work (batch·M·N·K multiply-adds) from which a product is split over the pool. Measured with
 * bench/thread-threshold.ts: see THREAD_MIN_WORK's note there.
 */
export const THREAD_MIN_WORK = 64 * 64 * 64;

interface Exports {
  gemm: (...args: number[]) => void;
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
  return buildGemmModule({ ...TILE, relaxed, shared: arena.shared, maximumPages: arena.maximumPages });
}

let arenaSingleton: Arena | undefined;

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

const args = new Int32Array(GEMM_ARGS);

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
  let ids: number[] = [];
  const want = threadCount() - 1;
  if (want > 0 && work >= THREAD_MIN_WORK && rt.arena.shared) {
    rt.pool ??= new Pool(rt.arena.memory, rt.module);
    if (rt.pool.usable) {
      rt.pool.grow(want);
      ids = rt.pool.readyIds(want);
      parts = 1 + ids.length;
    }
  }
  const ws = workspaceBytes(TILE);
  const base = CONTROL_BYTES;
  const pA = base + parts * ws, pB = pA + align64(4 * lenA), pC = pB + align64(4 * lenB);
  const end = pC + align64(4 * lenC);
  if (!rt.arena.ensure(end)) {
    if (batch === 1) return false;
    // Too big for the arena at once: halve the batch (results are per product, so the same).
    const h = batch >> 1;
    return wasmGemm(h, M, N, K, A, aOff, aStride, transA, B, bOff, bStride, transB, C, cOff, accumulate)
      && wasmGemm(batch - h, M, N, K, A, aOff + h * aStride, aStride, transA, B, bOff + h * bStride, bStride, transB, C, cOff + h * M * N, accumulate);
  }
  const mem = rt.arena.f32();
  mem.set(lenA === A.length && aOff === 0 ? A : A.subarray(aOff, aOff + lenA), pA / 4);
  if (B === A && bOff === aOff && lenB === lenA) {
    mem.copyWithin(pB / 4, pA / 4, (pA / 4) + lenA);
  } else {
    mem.set(lenB === B.length && bOff === 0 ? B : B.subarray(bOff, bOff + lenB), pB / 4);
  }
  if (accumulate) mem.set(C.subarray(cOff, cOff + lenC), pC / 4);
  else mem.fill(0, pC / 4, (pC / 4) + lenC);

  const sA = 4 * (aStride ? M * K : 0), sB = 4 * (bStride ? K * N : 0), sC = 4 * M * N;
  const g = rt.exports.gemm;
  if (parts === 1) {
    g(batch, sA, sB, sC, M, N, K, pA, +transA, pB, +transB, pC, 0, M, 0, N, base);
  } else {
    // Split over whole products when there are enough of them, else over output rows or columns
    // (in whole register tiles) — never over K, so the sums are the same for any split.
    const jobs: Array<{ id: number; args: Int32Array }> = [];
    const share = (p: number): Int32Array => {
      const a = p === 0 ? args : new Int32Array(GEMM_ARGS);
      a.set([batch, sA, sB, sC, M, N, K, pA, +transA, pB, +transB, pC, 0, M, 0, N, base + p * ws]);
      if (batch >= parts) {
        const b0 = Math.floor((batch * p) / parts), b1 = Math.floor((batch * (p + 1)) / parts);
        a[0] = b1 - b0;
        a[7] = pA + b0 * sA; a[9] = pB + b0 * sB; a[11] = pC + b0 * sC;
      } else if (Math.ceil(M / TILE.mr) >= Math.ceil(N / TILE.nr)) {
        const tiles = Math.ceil(M / TILE.mr);
        a[12] = Math.min(M, TILE.mr * Math.floor((tiles * p) / parts));
        a[13] = Math.min(M, TILE.mr * Math.floor((tiles * (p + 1)) / parts));
      } else {
        const tiles = Math.ceil(N / TILE.nr);
        a[14] = Math.min(N, TILE.nr * Math.floor((tiles * p) / parts));
        a[15] = Math.min(N, TILE.nr * Math.floor((tiles * (p + 1)) / parts));
      }
      return a;
    };
    for (let p = 1; p < parts; p++) jobs.push({ id: ids[p - 1], args: share(p) });
    const own = share(0);
    rt.pool!.run(jobs, () => g(own[0], own[1], own[2], own[3], own[4], own[5], own[6], own[7], own[8], own[9], own[10], own[11], own[12], own[13], own[14], own[15], own[16]));
  }
  C.set(mem.subarray(pC / 4, (pC / 4) + lenC), cOff);
  return true;
}
