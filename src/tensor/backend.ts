import { wasmFeatures } from './wasm/features.js';
import {
  relaxedSimdActive, relaxedSimdWanted, setRelaxedSimd, setThreadCount, threadCount, threadsReady, wasmAvailable, wasmReady,
} from './wasm/runtime.js';
import { checkOptionKeys, type OptionKeys } from '../validation/options.js';

/*
 * Which kernels run float32 work: 'wasm' (WebAssembly SIMD, the default wherever the runtime has
 * it) or 'js' (the reference kernels, always there; float64 always runs on them). Nothing above
 * src/tensor asks: the kernels consult this switch themselves.
 *
 * MMOE_TS_BACKEND=js in the environment forces the JavaScript kernels from the start (for
 * comparisons); it is read through globalThis.process, so a browser, which has none, is fine.
 */

export type Backend = 'js' | 'wasm';
const BACKENDS: readonly Backend[] = ['js', 'wasm'];

function fromEnvironment(): Backend {
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env;
  const v = env?.MMOE_TS_BACKEND;
  if (v === undefined || v === '') return 'wasm';
  if (!(BACKENDS as readonly string[]).includes(v)) {
    throw new Error(`mmoe-ts: MMOE_TS_BACKEND must be one of ${BACKENDS.join(', ')}, got '${v}'`);
  }
  return v as Backend;
}

let requested: Backend = fromEnvironment();
let requestedBy: 'default' | 'environment' | 'setBackend' = requested === 'js' ? 'environment' : 'default';
let relaxedEnabledBy: string | null = null;

/** Records who turned the V8 flag on (enableRelaxedSimd), for backendInfo().reason. */
export function noteRelaxedSimdEnabled(by: string): void {
  relaxedEnabledBy = by;
}

export interface BackendOptions {
  /**
   * Use f32x4.relaxed_madd (fused multiply-add) when the runtime accepts it (default true);
   * false forces plain mul+add. Node 20 accepts it only under --experimental-wasm-relaxed-simd.
   */
  relaxedSimd?: boolean;
}

const BACKEND_OPTION_KEYS: OptionKeys<BackendOptions> = { relaxedSimd: true };

/** Chooses the float32 kernels. 'wasm' throws where WebAssembly SIMD is missing. */
export function setBackend(backend: Backend, options: BackendOptions = {}): void {
  if (!(BACKENDS as readonly string[]).includes(backend)) {
    throw new Error(`setBackend: expected one of ${BACKENDS.join(', ')}, got ${JSON.stringify(backend)}`);
  }
  checkOptionKeys('setBackend', options, BACKEND_OPTION_KEYS);
  if (backend === 'wasm' && !wasmFeatures().simd) {
    throw new Error('setBackend: this runtime has no WebAssembly SIMD; only the js backend is available');
  }
  if (options.relaxedSimd !== undefined) setRelaxedSimd(options.relaxedSimd);
  requested = backend;
  requestedBy = 'setBackend';
}

/** The backend float32 kernels use right now ('js' when 'wasm' was asked for but cannot run). */
export function getBackend(): Backend {
  return requested === 'wasm' && wasmAvailable() ? 'wasm' : 'js';
}

/** Hot-path check for kernels. */
export function wasmEnabled(): boolean {
  return requested === 'wasm' && wasmAvailable();
}

/**
 * Threads for large WebAssembly GEMMs, the calling thread included. Default: one per core (1
 * inside a Node worker thread, and 1 wherever shared memory is unavailable, e.g. a page without
 * cross-origin isolation). Results are bit-identical for any count.
 */
export function setNumThreads(n: number): void {
  setThreadCount(n);
}

export function getNumThreads(): number {
  return threadCount();
}

export interface BackendInfo {
  backend: Backend;
  simd: boolean;
  relaxedSimd: boolean;
  sharedMemory: boolean;
  threads: number;
  /** Why this path is the active one, in a sentence (and, on a slow path, how to get the fast one). */
  reason: string;
}

const RELAXED_FLAG = '--experimental-wasm-relaxed-simd';

function reason(): string {
  const f = wasmFeatures();
  if (requested === 'js') {
    return requestedBy === 'environment' ? 'JavaScript kernels: MMOE_TS_BACKEND=js is set in the environment' : "JavaScript kernels: setBackend('js') was called";
  }
  if (!f.simd) return 'JavaScript kernels: this runtime has no WebAssembly SIMD';
  if (!wasmAvailable()) return 'JavaScript kernels for now: the WebAssembly module is still compiling in the background (await backendReady())';
  if (relaxedSimdActive()) {
    const proc = (globalThis as { process?: { execArgv?: string[]; env?: Record<string, string | undefined> } }).process;
    const how = relaxedEnabledBy
      ?? (proc?.execArgv?.includes(RELAXED_FLAG)
        ? (proc.env?.MMOE_TS_REEXEC === '1' ? `the mmoe-ts command re-ran node with ${RELAXED_FLAG}` : `node was started with ${RELAXED_FLAG}`)
        : 'this runtime accepts relaxed SIMD by default');
    return `WebAssembly SIMD with relaxed-SIMD fused multiply-add (the fast path): ${how}`;
  }
  if (!relaxedSimdWanted()) return "WebAssembly SIMD, plain mul+add: setBackend('wasm', { relaxedSimd: false }) was called";
  return `WebAssembly SIMD, plain mul+add: this runtime rejects relaxed SIMD (Node 20: run node with ${RELAXED_FLAG}, or call enableRelaxedSimd() from mmoe-ts/node first)`;
}

export function backendInfo(): BackendInfo {
  const f = wasmFeatures();
  return { backend: getBackend(), simd: f.simd, relaxedSimd: relaxedSimdActive(), sharedMemory: f.threads, threads: threadCount(), reason: reason() };
}

/**
 * Resolves when the WebAssembly module is compiled (in a browser's main thread that happens in
 * the background; until then the JavaScript kernels run) and the worker pool has started.
 */
export async function backendReady(): Promise<BackendInfo> {
  if (await wasmReady()) await threadsReady();
  return backendInfo();
}
