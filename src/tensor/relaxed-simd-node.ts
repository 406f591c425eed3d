import { setFlagsFromString } from 'node:v8';
import { noteRelaxedSimdEnabled } from './backend.js';
import { reprobeWasmFeatures, wasmFeatures } from './wasm/features.js';
import { rebuildKernels } from './wasm/runtime.js';

/*
 * Node 20 validates relaxed-SIMD WebAssembly (f32x4.relaxed_madd, the GEMM's fused multiply-add)
 * only behind --experimental-wasm-relaxed-simd, which NODE_OPTIONS does not accept; Node 22 has it
 * on by default. V8 reads wasm feature flags when it validates a module, so turning the flag on
 * from code works; the kernels are rebuilt if they were compiled without it. Node only (node:v8),
 * so it lives here and not in the package root.
 */

/**
 * Turns on relaxed SIMD where the runtime has it behind a flag (Node 20) and returns whether it is
 * now available: `enableRelaxedSimd()` from mmoe-ts/node, once, before training.
 */
export function enableRelaxedSimd(): boolean {
  if (wasmFeatures().relaxedSimd) return true;
  if (!wasmFeatures().simd) return false;
  try {
    setFlagsFromString('--experimental-wasm-relaxed-simd');
  } catch {
    return false;
  }
  if (!reprobeWasmFeatures().relaxedSimd) return false;
  rebuildKernels();
  noteRelaxedSimdEnabled('enableRelaxedSimd() turned on the V8 flag --experimental-wasm-relaxed-simd');
  return true;
}
