import type { WasmMemory } from './api.js';
import { wasmKernelInstance } from './runtime.js';

/*
 * JavaScript entry points of the WebAssembly glue kernels (map-kernel.ts, row-kernel.ts,
 * optim-kernel.ts). `glueKernels()` returns them, or null where WebAssembly cannot run (no SIMD,
 * or a browser's background compile not finished): then use the JavaScript kernels.
 *
 * Conventions, for every entry point:
 * - pointers are BYTE offsets into `memory` (the arena), 4-aligned (16-aligned is faster), of dense
 *   row-major float32 data (gatherRows' idx: int32); counts and strides are in ELEMENTS;
 * - nothing is checked here (no bounds, no shapes, no indices): the caller validates, as the
 *   JavaScript kernels' callers do; an address beyond the memory traps (a RuntimeError);
 * - outputs are fully written (no need to zero them first), except where said;
 * - aliasing: elementwise outputs may be an operand of the same size (out === a, b or x), and
 *   softmax/softmaxGrad's out may be x/g; nothing else may overlap;
 * - every entry point is synchronous, runs on the calling thread, and is deterministic: the same
 *   inputs give the same bits whatever ran before. None uses relaxed SIMD.
 *
 * Bit-identical to the JavaScript kernels: every binary op, neg, scale, relu, leakyRelu, all four
 * backward ops, softmaxGrad, rowSum, colSum, the copies, and every optimizer step. Not
 * bit-identical (float32 SIMD approximations, bounds measured in test/tensor/wasm/glue-math.test.ts):
 * exp, log, sigmoid and tanh ≤ 2 ulp, softmax (its bound: row-kernel.ts).
 *
 * Signatures (n: element count; M×N: rows×columns):
 *   binary[op](M, N, a, aRow, aCol, b, bRow, bCol, out)   op: add sub mul div maximum minimum
 *       out[i·N + j] = a[i·aRow + j·aCol] op b[i·bRow + j·bCol]; aCol, bCol ∈ {0, 1}.
 *       same shape: (1, n, a, n, 1, b, n, 1, out); scalar b: (1, n, a, n, 1, b, 0, 0, out);
 *       scalar a: (1, n, a, 0, 0, b, n, 1, out); row b [N] over a [M,N]: (M, N, a, N, 1, b, 0, 1, out);
 *       column b [M,1] over a [M,N]: (M, N, a, N, 1, b, 1, 0, out); mirror them for a small a.
 *       Other broadcasts: loop over the contiguous [M, N] blocks, offsetting the pointers.
 *   neg(n, x, out)  relu(n, x, out)  exp(n, x, out)  log(n, x, out)  sigmoid(n, x, out)  tanh(n, x, out)
 *   scale(n, x, out, c)             out = x·c (c any double, as unary 'scale')
 *   leakyRelu(n, x, out, slope)     out = x > 0 ? x : slope·x
 *   reluGrad(n, g, x, out)          out = g·[x > 0]                (reluBackward)
 *   leakyReluGrad(n, g, x, out, slope)  out = g·(x > 0 ? 1 : slope)
 *   sigmoidGrad(n, g, y, out)       out = g·y·(1 − y), y = sigmoid(x)
 *   tanhGrad(n, g, y, out)          out = g·(1 − y²), y = tanh(x)
 *   softmax(M, N, x, out)           over the last axis of [M, N]
 *   softmaxGrad(M, N, y, g, out)    out = y ⊙ (g − rowsum(g ⊙ y))
 *   rowSum(M, N, x, out)            [M, N] → [M] (float64 accumulator: reduce.ts's last-axis sum,
 *                                   and its whole-array sum as rowSum(1, size))
 *   colSum(M, N, x, out)            [M, N] → [N] (float32, rows in order: reduce.ts's axis-0 sum)
 *   gatherRows(m, n, src, idx, out) out[i, :] = src[idx[i], :] for i < m, rows of n floats
 *   copyBlocks(M, n, src, srcStride, dst, dstStride)   M blocks of n floats (concat, narrow)
 *   fill(n, out, value)
 *   adam(n, θ, g, m, v, vmax, b1, b2, decayed, shrink, l2, stepSize, bc2Sqrt, eps)
 *       in float32 lanes, as Adam.update on float32 storage (adam-float32.ts): vmax = maxExpAvgSq's pointer with amsgrad, else 0; decayed = weightDecay
 *       !== 0; shrink = AdamW ? 1 − lr·wd : 1; l2 = AdamW ? 0 : wd; stepSize = lr/(1 − β1^t);
 *       bc2Sqrt = √(1 − β2^t) (t: this parameter's step count, already incremented)
 *   sgd(n, θ, g, buf, lr, wd, mu, dampening, nesterov, first)
 *       buf = momentumBuffer's pointer when momentum ≠ 0 (then mu = momentum), else 0;
 *       first: the buffer was created by this step (SGD's `state.momentumBuffer === undefined`)
 *   adagrad(n, θ, g, sum, clr, wd, eps)     clr = lr/(1 + (t − 1)·lrDecay)
 *   rmsprop(n, θ, g, v, gAvg, buf, lr, alpha, eps, wd, mu)
 *       gAvg: pointer when centered, else 0; buf: pointer when momentum > 0, else 0
 * θ, the gradient and every state buffer: n float32 each, updated in place (the gradient is read).
 *   float32.adam / .sgd / .adagrad / .rmsprop: the same signatures, computed in float32 lanes (as
 *       PyTorch does; four lanes per instruction instead of two). float32.adam is adam itself; the
 *       others are not bit-identical to src/nn/optim.
 */

type K = (...args: number[]) => void;

export type GlueBinaryOp = 'add' | 'sub' | 'mul' | 'div' | 'maximum' | 'minimum';
export type BinaryKernel = (M: number, N: number, a: number, aRow: number, aCol: number, b: number, bRow: number, bCol: number, out: number) => void;
export type UnaryKernel = (n: number, x: number, out: number) => void;
export type PairKernel = (n: number, g: number, x: number, out: number) => void;
export type RowKernel = (M: number, N: number, x: number, out: number) => void;

export interface GlueKernels extends GlueOptimizers {
  /** The arena the pointers address. Re-derive typed-array views after it grows. */
  readonly memory: WasmMemory;
  readonly binary: Readonly<Record<GlueBinaryOp, BinaryKernel>>;
  readonly neg: UnaryKernel;
  readonly relu: UnaryKernel;
  readonly exp: UnaryKernel;
  readonly log: UnaryKernel;
  readonly sigmoid: UnaryKernel;
  readonly tanh: UnaryKernel;
  scale(n: number, x: number, out: number, c: number): void;
  leakyRelu(n: number, x: number, out: number, slope: number): void;
  readonly reluGrad: PairKernel;
  leakyReluGrad(n: number, g: number, x: number, out: number, slope: number): void;
  readonly sigmoidGrad: PairKernel;
  readonly tanhGrad: PairKernel;
  readonly softmax: RowKernel;
  softmaxGrad(M: number, N: number, y: number, g: number, out: number): void;
  readonly rowSum: RowKernel;
  readonly colSum: RowKernel;
  gatherRows(m: number, n: number, src: number, idx: number, out: number): void;
  copyBlocks(M: number, n: number, src: number, srcStride: number, dst: number, dstStride: number): void;
  fill(n: number, out: number, value: number): void;
  /** The optimizer steps in float32 lanes: PyTorch-like rounding, not bit-identical to src/nn/optim. */
  readonly float32: GlueOptimizers;
}

/** Fused optimizer steps; the entry points on GlueKernels itself are bit-identical to src/nn/optim. */
export interface GlueOptimizers {
  adam(
    n: number, theta: number, grad: number, m: number, v: number, vmax: number, b1: number, b2: number,
    decayed: boolean, shrink: number, l2: number, stepSize: number, bc2Sqrt: number, eps: number,
  ): void;
  sgd(n: number, theta: number, grad: number, buf: number, lr: number, wd: number, mu: number, dampening: number, nesterov: boolean, first: boolean): void;
  adagrad(n: number, theta: number, grad: number, sum: number, clr: number, wd: number, eps: number): void;
  rmsprop(n: number, theta: number, grad: number, v: number, gAvg: number, buf: number, lr: number, alpha: number, eps: number, wd: number, mu: number): void;
}

let cached: { exports: Record<string, unknown>; kernels: GlueKernels } | undefined;

function build(exports: Record<string, unknown>, memory: WasmMemory): GlueKernels {
  const k = (name: string): K => {
    const fn = exports[name];
    if (typeof fn !== 'function') throw new Error(`glueKernels: the kernel module has no export '${name}'`);
    return fn as K;
  };
  const pair = (name: string): PairKernel => {
    const fn = k(`map_${name}`);
    return (n, g, x, out) => fn(1, n, g, n, 1, x, n, 1, out);
  };
  const binary = {} as Record<GlueBinaryOp, BinaryKernel>;
  for (const op of ['add', 'sub', 'mul', 'div', 'maximum', 'minimum'] as const) binary[op] = k(`map_${op}`);
  const scale32 = k('map_scale'), scale64 = k('map_scale64'), leaky = k('map_leakyRelu'), leakyGrad = k('map_leakyReluGrad');
  const rowSum = k('rowSum'), colSum = k('colSum');
  return {
    memory,
    ...optimizers(k, ''),
    float32: optimizers(k, 'F32'),
    binary,
    neg: k('map_neg'), relu: k('map_relu'), exp: k('map_exp'), log: k('map_log'), sigmoid: k('map_sigmoid'), tanh: k('map_tanh'),
    // A float32 c multiplies in float32 (the same bits, half the work); any other in float64.
    scale: (n, x, out, c) => (Math.fround(c) === c ? scale32 : scale64)(n, x, out, c),
    leakyRelu: (n, x, out, slope) => leaky(n, x, out, slope),
    reluGrad: pair('reluGrad'),
    leakyReluGrad: (n, g, x, out, slope) => leakyGrad(1, n, g, n, 1, x, n, 1, out, slope),
    sigmoidGrad: pair('sigmoidGrad'),
    tanhGrad: pair('tanhGrad'),
    softmax: k('softmax'), softmaxGrad: k('softmaxGrad'), rowSum,
    // [M, 1] → [1]: reduce.ts sums a one-column axis in float64 (its inner = 1 path), as rowSum does.
    colSum: (M, N, x, out) => (N === 1 ? rowSum(1, M, x, out) : colSum(M, N, x, out)),
    gatherRows: k('gatherRows'), copyBlocks: k('copyBlocks'), fill: k('fill'),
  };
}

/** The optimizer entry points over the kernels named with `suffix` ('' exact, 'F32' float32 lanes). */
function optimizers(k: (name: string) => K, suffix: string): GlueOptimizers {
  // Adam has float32 lanes only: its JavaScript loop on float32 storage computes in float32 too.
  const adam = k('adamF32'), adamDecay = k('adamDecayF32'), adamAmsgrad = k('adamAmsgradF32'), adamAmsgradPlain = k('adamAmsgradPlainF32');
  const sgd = k(`sgd${suffix}`), sgdM = k(`sgdMomentum${suffix}`), sgdMF = k(`sgdMomentumFirst${suffix}`);
  const sgdN = k(`sgdMomentumNesterov${suffix}`), sgdNF = k(`sgdMomentumFirstNesterov${suffix}`);
  const rms = k(`rmsprop${suffix}`), rmsC = k(`rmspropCentered${suffix}`), rmsM = k(`rmspropMomentum${suffix}`);
  const rmsCM = k(`rmspropCenteredMomentum${suffix}`);
  return {
    adam: (n, theta, grad, m, v, vmax, b1, b2, decayed, shrink, l2, stepSize, bc2Sqrt, eps) => {
      if (vmax !== 0 && decayed) adamAmsgrad(n, theta, grad, m, v, vmax, b1, b2, shrink, l2, stepSize, bc2Sqrt, eps);
      else if (vmax !== 0) adamAmsgradPlain(n, theta, grad, m, v, vmax, b1, b2, stepSize, bc2Sqrt, eps);
      else if (decayed) adamDecay(n, theta, grad, m, v, b1, b2, shrink, l2, stepSize, bc2Sqrt, eps);
      else adam(n, theta, grad, m, v, b1, b2, stepSize, bc2Sqrt, eps);
    },
    sgd: (n, theta, grad, buf, lr, wd, mu, dampening, nesterov, first) => {
      if (buf === 0) sgd(n, theta, grad, lr, wd);
      else (nesterov ? (first ? sgdNF : sgdN) : (first ? sgdMF : sgdM))(n, theta, grad, buf, lr, wd, mu, dampening);
    },
    adagrad: k(`adagrad${suffix}`),
    rmsprop: (n, theta, grad, v, gAvg, buf, lr, alpha, eps, wd, mu) => {
      if (gAvg !== 0 && buf !== 0) rmsCM(n, theta, grad, v, gAvg, buf, lr, alpha, eps, wd, mu);
      else if (gAvg !== 0) rmsC(n, theta, grad, v, gAvg, lr, alpha, eps, wd);
      else if (buf !== 0) rmsM(n, theta, grad, v, buf, lr, alpha, eps, wd, mu);
      else rms(n, theta, grad, v, lr, alpha, eps, wd);
    },
  };
}

/** The glue kernels over the current kernel instance, or null where WebAssembly cannot run now. */
export function glueKernels(): GlueKernels | null {
  const inst = wasmKernelInstance();
  if (!inst) return null;
  // setRelaxedSimd re-instantiates the module (same arena): rebuild the entry points then.
  if (cached?.exports !== inst.exports) cached = { exports: inst.exports, kernels: build(inst.exports, inst.arena.memory) };
  return cached.kernels;
}
