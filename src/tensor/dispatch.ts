import { wasmEnabled } from './backend.js';
import type { Storage } from './dtype.js';
import { arenaAddress } from './wasm/runtime.js';

/*
 * One table decides where each float32 kernel runs: the JavaScript reference (always there, and
 * the only one for float64) or WebAssembly. Call sites ask `onWasm(kernel, work, ...operands)`
 * and never check the backend, the dtype or a size on their own. The work unit is the kernel's
 * own (multiply-adds for GEMM, elements for the rest).
 *
 * Two thresholds per kernel, because what WebAssembly costs below them is copying: with every
 * operand already in the arena (storage.ts) nothing is copied, so it pays from less work.
 * The measurements behind each number are in bench/README.md (bench:gemm and the kernel
 * sections); until a kernel has one, both thresholds are the copy-in one.
 */
export interface KernelPolicy {
  /** Work from which WebAssembly pays when some operand must be copied into the arena. */
  readonly minWork: number;
  /** Work from which it pays when every operand already lives there. */
  readonly minWorkInPlace: number;
}

export const KERNELS = {
  /** batch·M·N·K multiply-adds; bench:gemm: 16³ 1.5× faster with copies, 8³ 0.9–1.8×. */
  gemm: { minWork: 2048, minWorkInPlace: 2048 },
  /** B·D elements of x0 (fwd+bwd at L = 2: 1.02× at 256, 1.64× at 1024, copies included). */
  crossStack: { minWork: 512, minWorkInPlace: 512 },
  /*
   * The glue kernels (wasm/glue.ts) run only on operands already in the arena (glue-calls.ts), so
   * minWork is never reached: they never copy. Below ~32 elements a call into WebAssembly costs
   * more than the JavaScript loop it replaces.
   */
  /** Elementwise ops (binary in the broadcast forms, relu, neg, scale, activation gradients): elements. */
  map: { minWork: Infinity, minWorkInPlace: 32 },
  /** Row kernels (row/column sums, softmax's backward, block copies): elements. */
  rows: { minWork: Infinity, minWorkInPlace: 32 },
  /** Softmax: not bit-identical to JavaScript's, so chosen by backend alone (work passed as 1). */
  softmax: { minWork: Infinity, minWorkInPlace: 1 },
  /** Fused optimizer steps (bit-identical): elements of one parameter. */
  optim: { minWork: Infinity, minWorkInPlace: 1 },
} as const satisfies Record<string, KernelPolicy>;

export type KernelName = keyof typeof KERNELS;

/**
 * Whether `kernel` should run on WebAssembly for `work` over these float32 operands: the backend
 * is on, every operand is float32, and the work reaches the kernel's threshold (the in-place one
 * when every operand already lives in the arena).
 */
export function onWasm(kernel: KernelName, work: number, ...operands: Storage[]): boolean {
  const policy: KernelPolicy = KERNELS[kernel];
  if (work < policy.minWorkInPlace || !wasmEnabled()) return false;
  let inPlace = true;
  for (let i = 0; i < operands.length; i++) {
    const a = operands[i];
    if (!(a instanceof Float32Array)) return false;
    if (inPlace && arenaAddress(a) < 0) inPlace = false;
  }
  return inPlace || work >= policy.minWork;
}
