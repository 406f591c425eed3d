import type { WasmMemory, WasmModule } from './api.js';
import { CONTROL_BYTES, CONTROL_SLOT_BYTES } from './arena.js';

/*
 * Worker threads over the shared arena, for GEMMs large enough to pay for splitting.
 *
 * The kernel API is synchronous, so the pool is driven through shared memory alone, never
 * through messages: the main thread writes each worker's argument list into the control block,
 * bumps a generation counter and wakes the workers (Atomics.notify), does its own share, then
 * waits until the pending count is back to zero (spinning first — a spin round trip is well under
 * a microsecond, a futex wake several — then Atomics.wait where the host allows it; a browser's
 * main thread does not, and keeps spinning). Workers spin briefly after each job, then sleep in
 * Atomics.wait. Each runs the same compiled module over the same memory, so a worker's share is
 * one call of the exported `gemm` on its own rectangle of C.
 *
 * Workers start lazily (at the first GEMM that would use them) and asynchronously; until one has
 * instantiated the module it is simply not given work, so no call ever waits for startup.
 * Everything Node-specific is in `spawnNode` and reached through `process.getBuiltinModule`
 * (Node ≥ 20.16): no `node:` import exists for a browser bundler to follow. Node workers are
 * unref'd, so an idle pool never keeps a process alive. Pages that are not cross-origin isolated
 * have no SharedArrayBuffer; there the arena is not shared and the pool is never created.
 */

/** Control words (Int32 indices into the arena's first bytes). */
const GEN = 0; // job generation: bumped to publish a job, the futex workers sleep on
const NEXT = 1; // (generation tag << 16) | next unclaimed chunk
const DONE = 2; // chunks finished
const TOTAL = 3; // chunks in the job
const KIND = 4; // how a chunk is cut: 0 whole products, 1 rows of C, 2 columns of C
const CHUNK = 5; // products / rows / columns per chunk
const WS = 6; // workspace bytes per participant
const READY = 16; // READY + id: worker id has instantiated the module
const ARGS = 96; // the gemm arguments of the whole job
export const GEMM_ARGS = 18;
/** Worker ids 1..MAX_WORKERS (the main thread is participant 0). */
export const MAX_WORKERS = 63;
const STATS = ARGS + GEMM_ARGS; // STATS + id: chunks participant id has run (tests read it)
const CONTROL_INTS = STATS + MAX_WORKERS + 1;
if (CONTROL_INTS * 4 > CONTROL_SLOT_BYTES) throw new Error('pool: control block larger than its slot');
/** Atomics.load polls before sleeping (≈ 50–100 µs). */
const SPIN = 20000;

export type ChunkKind = 0 | 1 | 2;
export interface Layout {
  GEN: number; NEXT: number; DONE: number; TOTAL: number; KIND: number; CHUNK: number; WS: number;
  READY: number; ARGS: number; STATS: number; SPIN: number; CONTROL_INTS: number;
}
const LAYOUT: Layout = { GEN, NEXT, DONE, TOTAL, KIND, CHUNK, WS, READY, ARGS, STATS, SPIN, CONTROL_INTS };

const tagOf = (gen: number): number => (gen & 0x7fff) << 16;

/**
 * Claims chunks of the current job until none is left, running gemm on each — the same function
 * on the main thread and, as source text, in every worker (so it must stay self-contained: no
 * inner functions, nothing from the module scope). A chunk is claimed by compare-and-swap on
 * NEXT, whose high bits tag the job: a claim can only succeed while that job still has chunks,
 * and the job's arguments are read after the claim, when they cannot be overwritten yet (the
 * next job is only published once every chunk is done). Which thread runs a chunk does not
 * change its arithmetic, so late or sleeping workers never change the result: the others claim
 * their chunks instead.
 */
export function runChunks(gemm: (...args: number[]) => void, c: Int32Array, L: Layout, id: number, tag: number): void {
  for (;;) {
    const v = Atomics.load(c, L.NEXT);
    if ((v & ~0xffff) !== tag) return;
    const chunk = v & 0xffff;
    if (chunk >= c[L.TOTAL]) return;
    if (Atomics.compareExchange(c, L.NEXT, v, v + 1) !== v) continue;
    const o = L.ARGS, size = c[L.CHUNK], kind = c[L.KIND], first = chunk * size;
    let batch = c[o], A = c[o + 7], B = c[o + 9], C = c[o + 11];
    let m0 = c[o + 12], m1 = c[o + 13], n0 = c[o + 14], n1 = c[o + 15];
    if (kind === 0) {
      batch = Math.min(size, batch - first);
      A += first * c[o + 1];
      B += first * c[o + 2];
      C += first * c[o + 3];
    } else if (kind === 1) {
      m0 = first;
      m1 = Math.min(m1, first + size);
    } else {
      n0 = first;
      n1 = Math.min(n1, first + size);
    }
    gemm(batch, c[o + 1], c[o + 2], c[o + 3], c[o + 4], c[o + 5], c[o + 6], A, c[o + 8], B, c[o + 10], C, m0, m1, n0, n1,
      c[o + 16] + id * c[L.WS], c[o + 17]);
    c[L.STATS + id]++;
    if (Atomics.add(c, L.DONE, 1) + 1 === c[L.TOTAL]) Atomics.notify(c, L.DONE);
  }
}

/** The worker's whole program (plain JavaScript: it runs as a Node eval worker or a Blob URL worker). */
function workerSource(prologue: string): string {
  return `"use strict";
const runChunks = ${runChunks.toString()};
const start = ({ module, memory, control, id, layout }) => {
  const gemm = new WebAssembly.Instance(module, { env: { memory } }).exports.gemm;
  const ctrl = new Int32Array(memory.buffer, control, layout.CONTROL_INTS);
  let seen = Atomics.load(ctrl, layout.GEN);
  Atomics.store(ctrl, layout.READY + id, 1);
  for (;;) {
    let spins = 0;
    while (Atomics.load(ctrl, layout.GEN) === seen) {
      if (++spins >= layout.SPIN) { Atomics.wait(ctrl, layout.GEN, seen); spins = 0; }
    }
    seen = Atomics.load(ctrl, layout.GEN);
    runChunks(gemm, ctrl, layout, id, (seen & 0x7fff) << 16);
  }
};
${prologue}
`;
}

interface WorkerHandle {
  terminate(): void;
}

interface NodeWorkerThreads {
  Worker: new (src: string, opts: { eval: boolean }) => WorkerHandle & {
    unref(): void;
    postMessage(m: unknown): void;
    on(ev: string, fn: (e: unknown) => void): void;
  };
  isMainThread: boolean;
}

type GetBuiltin = (id: string) => unknown;

function nodeWorkerThreads(): NodeWorkerThreads | undefined {
  const proc = (globalThis as { process?: { getBuiltinModule?: GetBuiltin; versions?: { node?: string } } }).process;
  if (!proc?.versions?.node || typeof proc.getBuiltinModule !== 'function') return undefined;
  try {
    return proc.getBuiltinModule('node:worker_threads') as NodeWorkerThreads;
  } catch {
    return undefined;
  }
}

let defaultThreads = 0;

/** Hardware threads, or 1 inside a Node worker thread; asked once (every GEMM call wants it). */
export function defaultThreadCount(): number {
  if (defaultThreads === 0) defaultThreads = countDefaultThreads();
  return defaultThreads;
}

/** Hardware threads, and whether this is a thread where a default pool makes sense. */
function countDefaultThreads(): number {
  const nav = (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator;
  const proc = (globalThis as { process?: { getBuiltinModule?: GetBuiltin; versions?: { node?: string } } }).process;
  let cores = nav?.hardwareConcurrency ?? 1;
  if (proc?.versions?.node && typeof proc.getBuiltinModule === 'function') {
    try {
      const os = proc.getBuiltinModule('node:os') as { availableParallelism?: () => number; cpus: () => unknown[] };
      cores = os.availableParallelism ? os.availableParallelism() : os.cpus().length;
    } catch {
      // keep navigator's count
    }
    // Inside a Node worker thread (e.g. one of the synthetic experiment's job workers, which
    // already run one per core) a pool per worker would oversubscribe the cores.
    if (nodeWorkerThreads()?.isMainThread === false) return 1;
  }
  return Math.max(1, Math.min(cores, MAX_WORKERS + 1));
}

function spawnNode(wt: NodeWorkerThreads, init: unknown, onError: () => void): WorkerHandle {
  // getBuiltinModule, not require: an eval worker runs as an ES module when the parent process
  // was started with --input-type=module (its execArgv is inherited), and ESM has no require.
  const src = workerSource(`process.getBuiltinModule('node:worker_threads').parentPort.once('message', start);`);
  const w = new wt.Worker(src, { eval: true });
  w.unref();
  w.on('error', onError);
  w.postMessage(init);
  return w;
}

interface BrowserWorker extends WorkerHandle {
  postMessage(m: unknown): void;
  addEventListener(ev: string, fn: () => void): void;
}

function spawnBrowser(init: unknown, onError: () => void): WorkerHandle | undefined {
  const g = globalThis as {
    Worker?: new (url: string) => BrowserWorker;
    Blob?: new (parts: string[], opts: { type: string }) => unknown;
    URL?: { createObjectURL?: (b: unknown) => string };
  };
  if (!g.Worker || !g.Blob || !g.URL?.createObjectURL) return undefined;
  const src = workerSource(`self.onmessage = (e) => start(e.data);`);
  const w = new g.Worker(g.URL.createObjectURL(new g.Blob([src], { type: 'text/javascript' })));
  w.addEventListener('error', onError);
  w.postMessage(init);
  return w;
}

/*
 * Each pool (a new one after the module changes, e.g. relaxed SIMD switched off) gets its own
 * control block: terminating a worker is asynchronous, and one that is still alive must never
 * see, let alone claim, the new pool's jobs (its module and workspace would be the old ones).
 */
let poolsMade = 0;

export class Pool {
  private readonly control: number;
  private workers: Array<WorkerHandle | undefined> = [];
  private readonly ctrl: Int32Array;
  private readonly canWait: boolean;
  private broken = false;

  constructor(private readonly memory: WasmMemory, private readonly module: WasmModule) {
    this.control = ((poolsMade++) % (CONTROL_BYTES / CONTROL_SLOT_BYTES)) * CONTROL_SLOT_BYTES;
    this.ctrl = new Int32Array(memory.buffer, this.control, CONTROL_INTS);
    for (let i = 0; i < CONTROL_INTS; i++) this.ctrl[i] = 0;
    this.canWait = mainThreadCanWait();
  }

  /** Starts workers 1..count (those not started yet); returns how many are ready now. */
  grow(count: number): number {
    count = Math.min(count, MAX_WORKERS);
    if (this.broken) return 0;
    const wt = nodeWorkerThreads();
    for (let id = 1; id <= count; id++) {
      if (this.workers[id]) continue;
      const init = { module: this.module, memory: this.memory, control: this.control, id, layout: LAYOUT };
      const onError = (): void => { this.broken = true; };
      try {
        this.workers[id] = wt ? spawnNode(wt, init, onError) : spawnBrowser(init, onError);
      } catch {
        this.broken = true;
      }
      if (!this.workers[id]) { this.broken = true; return 0; }
    }
    return this.readyCount(count);
  }

  /** Ready workers among ids 1..count. */
  readyCount(count: number): number {
    let n = 0;
    for (let id = 1; id <= count; id++) if (Atomics.load(this.ctrl, READY + id) === 1) n++;
    return n;
  }

  /** Chunks each participant (0: this thread) has run since the pool started. */
  chunkCounts(): number[] {
    return Array.from({ length: MAX_WORKERS + 1 }, (_, id) => this.ctrl[STATS + id]);
  }

  get usable(): boolean {
    return !this.broken;
  }

  /**
   * Runs one job: gemm with `args`, cut into `total` chunks of `size` (products, rows or columns
   * by `kind`), on this thread and whichever workers are awake; returns when every chunk is done.
   * Participant p works in `args[16] + p·wsBytes`.
   */
  run(gemm: (...args: number[]) => void, args: ArrayLike<number>, kind: ChunkKind, size: number, total: number, wsBytes: number): void {
    const c = this.ctrl;
    Atomics.store(c, NEXT, -1); // no job's tag: nobody can claim while the job is written
    for (let i = 0; i < GEMM_ARGS; i++) c[ARGS + i] = args[i];
    c[KIND] = kind;
    c[CHUNK] = size;
    c[TOTAL] = total;
    c[WS] = wsBytes;
    Atomics.store(c, DONE, 0);
    const gen = (c[GEN] + 1) | 0;
    Atomics.store(c, NEXT, tagOf(gen));
    Atomics.store(c, GEN, gen);
    Atomics.notify(c, GEN);
    runChunks(gemm, c, LAYOUT, 0, tagOf(gen));
    let spins = 0;
    for (;;) {
      const done = Atomics.load(c, DONE);
      if (done === total) break;
      if (++spins >= SPIN && this.canWait) Atomics.wait(c, DONE, done, 20);
    }
  }

  terminate(): void {
    for (const w of this.workers) w?.terminate();
    this.workers = [];
    for (let id = 1; id <= MAX_WORKERS; id++) Atomics.store(this.ctrl, READY + id, 0);
  }
}

function mainThreadCanWait(): boolean {
  try {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 1, 0);
    return true;
  } catch {
    return false; // a browser's main thread
  }
}
