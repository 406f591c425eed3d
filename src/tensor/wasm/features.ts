import { wasmApi } from './api.js';
import { FunctionBuilder, ModuleBuilder, V128 } from './assembler.js';

/*
 * What this runtime's WebAssembly accepts, probed once by validating tiny modules (no code runs):
 * - simd: 128-bit SIMD (every current browser, Node ≥ 16);
 * - relaxedSimd: f32x4.relaxed_madd (Chrome ≥ 114, Firefox ≥ 120; Node 20 only with
 *   --experimental-wasm-relaxed-simd, on by default from Node 22);
 * - threads: a shared WebAssembly.Memory can be created and posted to workers, which needs
 *   SharedArrayBuffer — in browsers only on cross-origin-isolated pages.
 */

export interface WasmFeatures {
  simd: boolean;
  relaxedSimd: boolean;
  threads: boolean;
}

function validates(body: (f: FunctionBuilder) => void): boolean {
  const wa = wasmApi();
  if (!wa) return false;
  const m = new ModuleBuilder({ shared: false });
  m.func('probe', [], [V128], (f) => body(f));
  try {
    return wa.validate(m.finish());
  } catch {
    return false;
  }
}

function sharedMemoryWorks(): boolean {
  try {
    if (typeof SharedArrayBuffer !== 'function' || typeof Atomics !== 'object') return false;
    const g = globalThis as { crossOriginIsolated?: boolean };
    if (g.crossOriginIsolated === false) return false; // a browser page without COOP/COEP
    const wa = wasmApi();
    if (!wa) return false;
    const mem = new wa.Memory({ initial: 1, maximum: 1, shared: true });
    return mem.buffer instanceof SharedArrayBuffer;
  } catch {
    return false;
  }
}

let probed: WasmFeatures | undefined;

/** Probes again (after a V8 flag changed what WebAssembly accepts: enableRelaxedSimd). */
export function reprobeWasmFeatures(): WasmFeatures {
  probed = undefined;
  return wasmFeatures();
}

export function wasmFeatures(): WasmFeatures {
  if (!probed) {
    const simd = validates((f) => f.v128.zero().v128.zero().f32x4.add());
    const relaxedSimd = simd && validates((f) => f.v128.zero().v128.zero().v128.zero().f32x4.relaxedMadd());
    probed = { simd, relaxedSimd, threads: simd && sharedMemoryWorks() };
  }
  return probed;
}
