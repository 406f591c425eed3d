import type { WasmMemory, WasmModule } from './api.js';

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
const GEN = 0;
const PENDING = 1;
const READY = 16; // READY + id: worker id has instantiated the module
const ARGS = 128; // ARGS + id·STRIDE: [assigned, 17 gemm arguments]
const STRIDE = 32;
export const GEMM_ARGS = 17;
/** Worker ids 1..MAX_WORKERS (the main thread is participant 0). */
export const MAX_WORKERS = 63;
const CONTROL_INTS = ARGS + (MAX_WORKERS + 1) * STRIDE;
/** Atomics.load polls before sleeping (≈ 50–100 µs). */
const SPIN = 20000;

const LAYOUT = { GEN, PENDING, READY, ARGS, STRIDE, SPIN, CONTROL_INTS };

/** The worker's whole program (plain JavaScript: it runs as a Node eval worker or a Blob URL worker). */
function workerSource(prologue: string): string {
  return `"use strict";
const start = ({ module, memory, id, layout }) => {
  const { GEN, PENDING, READY, ARGS, STRIDE, SPIN, CONTROL_INTS } = layout;
  const gemm = new WebAssembly.Instance(module, { env: { memory } }).exports.gemm;
  const ctrl = new Int32Array(memory.buffer, 0, CONTROL_INTS);
  const o = ARGS + id * STRIDE;
  let seen = Atomics.load(ctrl, GEN);
  Atomics.store(ctrl, READY + id, 1);
  for (;;) {
    let spins = 0;
    while (Atomics.load(ctrl, GEN) === seen) {
      if (++spins >= SPIN) { Atomics.wait(ctrl, GEN, seen); spins = 0; }
    }
    seen = Atomics.load(ctrl, GEN);
    if (ctrl[o] !== 1) continue;
    ctrl[o] = 0;
    try {
      gemm(ctrl[o + 1], ctrl[o + 2], ctrl[o + 3], ctrl[o + 4], ctrl[o + 5], ctrl[o + 6], ctrl[o + 7], ctrl[o + 8],
        ctrl[o + 9], ctrl[o + 10], ctrl[o + 11], ctrl[o + 12], ctrl[o + 13], ctrl[o + 14], ctrl[o + 15], ctrl[o + 16], ctrl[o + 17]);
    } finally {
      if (Atomics.sub(ctrl, PENDING, 1) === 1) Atomics.notify(ctrl, PENDING);
    }
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

/** Hardware threads, and whether this is a thread where a default pool makes sense. */
export function defaultThreadCount(): number {
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
  const src = workerSource(`require('node:worker_threads').parentPort.once('message', start);`);
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

export class Pool {
  private workers: Array<WorkerHandle | undefined> = [];
  private readonly ctrl: Int32Array;
  private readonly canWait: boolean;
  private broken = false;

  constructor(private readonly memory: WasmMemory, private readonly module: WasmModule) {
    this.ctrl = new Int32Array(memory.buffer, 0, CONTROL_INTS);
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
      const init = { module: this.module, memory: this.memory, id, layout: LAYOUT };
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

  readyIds(count: number): number[] {
    const ids: number[] = [];
    for (let id = 1; id <= Math.min(count, MAX_WORKERS); id++) if (Atomics.load(this.ctrl, READY + id) === 1) ids.push(id);
    return ids;
  }

  get usable(): boolean {
    return !this.broken;
  }

  /**
   * Runs `own` (the main thread's share) while the given workers each run gemm on their argument
   * list, and returns when all are done.
   */
  run(jobs: Array<{ id: number; args: ArrayLike<number> }>, own: () => void): void {
    const c = this.ctrl;
    for (const { id, args } of jobs) {
      const o = ARGS + id * STRIDE;
      for (let i = 0; i < GEMM_ARGS; i++) c[o + 1 + i] = args[i];
      c[o] = 1;
    }
    Atomics.store(c, PENDING, jobs.length);
    Atomics.add(c, GEN, 1);
    Atomics.notify(c, GEN);
    try {
      own();
    } finally {
      let spins = 0;
      for (;;) {
        const left = Atomics.load(c, PENDING);
        if (left === 0) break;
        if (++spins >= SPIN && this.canWait) Atomics.wait(c, PENDING, left, 20);
      }
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
