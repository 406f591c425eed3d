import { allocate, allocateUninit, type Storage } from './dtype.js';
import { NDArray } from './ndarray.js';
import { formatShape } from './shape.js';
import { KERNELS, onWasm } from './dispatch.js';
import { wasmGemm } from './wasm/runtime.js';

/*
 * Cache-blocked GEMM in the GotoBLAS shape: the operands are packed block by block into contiguous
 * panels of 4 rows (A) and 4 columns (B), and a 4×4 register-blocked micro-kernel walks the shared
 * K dimension. Transposed layouts are handled while packing, so NN, TN and NT all run the same
 * kernel and no transpose is ever materialised.
 *
 * float32 products run on the WebAssembly SIMD backend (src/tensor/wasm: the same loops, an f32x4
 * micro-kernel, float32 accumulators) when it is enabled, except those too small to pay for
 * copying the operands into WebAssembly memory (WASM_MIN_WORK); float64 always runs here, and
 * these JavaScript kernels, which accumulate in float64, are the reference.
 */

/**
 * Below this many multiply-adds (per call: a batch counts whole) the JavaScript direct kernel
 * wins, because the WebAssembly path copies operands in and C out (measured: bench/results/gemm-tuning.md).
 */
export const WASM_MIN_WORK = KERNELS.gemm.minWork;

const KC = 128; // depth of a packed block
const MC = 64; // rows of A per packed block
const NC = 512; // columns of B per packed block

let packA = new Float64Array(MC * KC);
let packB = new Float64Array(KC * NC);

function ensurePacks(): void {
  if (packA.length < MC * KC) packA = new Float64Array(MC * KC);
  if (packB.length < KC * NC) packB = new Float64Array(KC * NC);
}

/**
 * C[M,N] += op(A)[M,K] · op(B)[K,N] for one matrix of a batch.
 * A is stored [M,K] (or [K,M] when transA), B is stored [K,N] (or [N,K] when transB).
 */
export function gemm(
  M: number, N: number, K: number,
  A: Storage, aOff: number, transA: boolean,
  B: Storage, bOff: number, transB: boolean,
  C: Storage, cOff: number,
): void {
  if (onWasm('gemm', M * N * K, A, B, C)
    && wasmGemm(1, M, N, K, A as Float32Array, aOff, 0, transA, B as Float32Array, bOff, 0, transB, C as Float32Array, cOff, true)) {
    return;
  }
  gemmJs(M, N, K, A, aOff, transA, B, bOff, transB, C, cOff);
}

/** The JavaScript kernels: direct for small problems, packed otherwise. Exported for tests. */
export function gemmJs(
  M: number, N: number, K: number,
  A: Storage, aOff: number, transA: boolean,
  B: Storage, bOff: number, transB: boolean,
  C: Storage, cOff: number,
): void {
  if (K <= KC && M * N * K <= DIRECT_MAX_WORK) {
    gemmDirect(M, N, K, A, aOff, transA, B, bOff, transB, C, cOff);
    return;
  }
  gemmPacked(M, N, K, A, aOff, transA, B, bOff, transB, C, cOff);
}

/*
 * Below this many multiply-adds (and with K within one packed block) packing costs more than it
 * saves: the operands sit in L1/L2 anyway (measured: bench/results/gemm-tuning.md). With K ≤ KC
 * both paths sum each output in float64 over k in order and add it to C once, so they agree bit for bit.
 */
const DIRECT_MAX_WORK = 1 << 21;

/**
 * gemm without packing: 2×4 blocks of C accumulated in locals, reading A and B in place through
 * strides (so every transpose layout is the same loop), then rows left over in 1×4 and columns
 * left over one at a time. Exported for tests.
 */
export function gemmDirect(
  M: number, N: number, K: number,
  A: Storage, aOff: number, transA: boolean,
  B: Storage, bOff: number, transB: boolean,
  C: Storage, cOff: number,
): void {
  const sai = transA ? 1 : K, sak = transA ? M : 1;
  const sbk = transB ? 1 : N, sbj = transB ? K : 1;
  const M2 = M & ~1, N4 = N & ~3;
  for (let j = 0; j < N4; j += 4) {
    const bj = bOff + j * sbj;
    for (let i = 0; i < M2; i += 2) {
      let c00 = 0, c01 = 0, c02 = 0, c03 = 0;
      let c10 = 0, c11 = 0, c12 = 0, c13 = 0;
      let pa = aOff + i * sai, pb = bj;
      for (let k = 0; k < K; k++, pa += sak, pb += sbk) {
        const a0 = A[pa], a1 = A[pa + sai];
        const b0 = B[pb], b1 = B[pb + sbj], b2 = B[pb + 2 * sbj], b3 = B[pb + 3 * sbj];
        c00 += a0 * b0; c01 += a0 * b1; c02 += a0 * b2; c03 += a0 * b3;
        c10 += a1 * b0; c11 += a1 * b1; c12 += a1 * b2; c13 += a1 * b3;
      }
      const o = cOff + i * N + j;
      C[o] += c00; C[o + 1] += c01; C[o + 2] += c02; C[o + 3] += c03;
      C[o + N] += c10; C[o + N + 1] += c11; C[o + N + 2] += c12; C[o + N + 3] += c13;
    }
    if (M2 < M) {
      let c0 = 0, c1 = 0, c2 = 0, c3 = 0;
      let pa = aOff + M2 * sai, pb = bj;
      for (let k = 0; k < K; k++, pa += sak, pb += sbk) {
        const a = A[pa];
        c0 += a * B[pb]; c1 += a * B[pb + sbj]; c2 += a * B[pb + 2 * sbj]; c3 += a * B[pb + 3 * sbj];
      }
      const o = cOff + M2 * N + j;
      C[o] += c0; C[o + 1] += c1; C[o + 2] += c2; C[o + 3] += c3;
    }
  }
  for (let j = N4; j < N; j++) {
    for (let i = 0; i < M; i++) {
      let c = 0;
      let pa = aOff + i * sai, pb = bOff + j * sbj;
      for (let k = 0; k < K; k++, pa += sak, pb += sbk) c += A[pa] * B[pb];
      C[cOff + i * N + j] += c;
    }
  }
}

/** The packed GotoBLAS path (see the file comment). Exported for tests. */
export function gemmPacked(
  M: number, N: number, K: number,
  A: Storage, aOff: number, transA: boolean,
  B: Storage, bOff: number, transB: boolean,
  C: Storage, cOff: number,
): void {
  ensurePacks();
  const pa = packA;
  const pb = packB;
  for (let j0 = 0; j0 < N; j0 += NC) {
    const nc = Math.min(NC, N - j0);
    const nPanels = (nc + 3) >> 2;
    for (let k0 = 0; k0 < K; k0 += KC) {
      const kc = Math.min(KC, K - k0);
      // Pack B[k0:k0+kc, j0:j0+nc] into panels of 4 columns: pb[(q*kc + k)*4 + c].
      for (let q = 0; q < nPanels; q++) {
        const jb = j0 + q * 4;
        const base = q * kc * 4;
        for (let c = 0; c < 4; c++) {
          const j = jb + c;
          if (j >= j0 + nc) {
            for (let k = 0; k < kc; k++) pb[base + k * 4 + c] = 0;
          } else if (transB) {
            const src = bOff + j * K + k0;
            for (let k = 0; k < kc; k++) pb[base + k * 4 + c] = B[src + k];
          } else {
            let src = bOff + k0 * N + j;
            for (let k = 0; k < kc; k++, src += N) pb[base + k * 4 + c] = B[src];
          }
        }
      }
      for (let i0 = 0; i0 < M; i0 += MC) {
        const mc = Math.min(MC, M - i0);
        const mPanels = (mc + 3) >> 2;
        // Pack A[i0:i0+mc, k0:k0+kc] into panels of 4 rows: pa[(p*kc + k)*4 + r].
        for (let p = 0; p < mPanels; p++) {
          const ib = i0 + p * 4;
          const base = p * kc * 4;
          for (let r = 0; r < 4; r++) {
            const i = ib + r;
            if (i >= i0 + mc) {
              for (let k = 0; k < kc; k++) pa[base + k * 4 + r] = 0;
            } else if (transA) {
              let src = aOff + k0 * M + i;
              for (let k = 0; k < kc; k++, src += M) pa[base + k * 4 + r] = A[src];
            } else {
              const src = aOff + i * K + k0;
              for (let k = 0; k < kc; k++) pa[base + k * 4 + r] = A[src + k];
            }
          }
        }
        for (let p = 0; p < mPanels; p++) {
          const rows = Math.min(4, mc - p * 4);
          for (let q = 0; q < nPanels; q++) {
            const cols = Math.min(4, nc - q * 4);
            microKernel(pa, p * kc * 4, pb, q * kc * 4, kc, C, cOff + (i0 + p * 4) * N + j0 + q * 4, N, rows, cols);
          }
        }
      }
    }
  }
}

/** 4×4 block of C += (packed A panel) · (packed B panel), accumulators held in locals. */
function microKernel(
  pa: Float64Array, ao: number, pb: Float64Array, bo: number, kc: number,
  C: Storage, co: number, ldc: number, rows: number, cols: number,
): void {
  let c00 = 0, c01 = 0, c02 = 0, c03 = 0;
  let c10 = 0, c11 = 0, c12 = 0, c13 = 0;
  let c20 = 0, c21 = 0, c22 = 0, c23 = 0;
  let c30 = 0, c31 = 0, c32 = 0, c33 = 0;
  const end = ao + kc * 4;
  for (let a = ao, b = bo; a < end; a += 4, b += 4) {
    const a0 = pa[a], a1 = pa[a + 1], a2 = pa[a + 2], a3 = pa[a + 3];
    const b0 = pb[b], b1 = pb[b + 1], b2 = pb[b + 2], b3 = pb[b + 3];
    c00 += a0 * b0; c01 += a0 * b1; c02 += a0 * b2; c03 += a0 * b3;
    c10 += a1 * b0; c11 += a1 * b1; c12 += a1 * b2; c13 += a1 * b3;
    c20 += a2 * b0; c21 += a2 * b1; c22 += a2 * b2; c23 += a2 * b3;
    c30 += a3 * b0; c31 += a3 * b1; c32 += a3 * b2; c33 += a3 * b3;
  }
  if (rows === 4 && cols === 4) {
    let o = co;
    C[o] += c00; C[o + 1] += c01; C[o + 2] += c02; C[o + 3] += c03; o += ldc;
    C[o] += c10; C[o + 1] += c11; C[o + 2] += c12; C[o + 3] += c13; o += ldc;
    C[o] += c20; C[o + 1] += c21; C[o + 2] += c22; C[o + 3] += c23; o += ldc;
    C[o] += c30; C[o + 1] += c31; C[o + 2] += c32; C[o + 3] += c33;
    return;
  }
  const acc = [c00, c01, c02, c03, c10, c11, c12, c13, c20, c21, c22, c23, c30, c31, c32, c33];
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) C[co + r * ldc + c] += acc[r * 4 + c];
}

export interface MatmulOptions {
  transA?: boolean;
  transB?: boolean;
  /**
   * The batch is this many independent runs stacked (stacked training): the WebAssembly-or-JS
   * choice is made on one run's work, as that run alone would make it, so each run's product goes
   * through the same kernel (same summation order) as when trained alone. Must divide the batch.
   */
  runs?: number;
}

/**
 * op(a) · op(b) for 2-D operands, or batched for 3-D ones ([batch, ., .]); a 2-D operand is
 * shared across the other's batch. The error names both shapes.
 */
export function matmulArray(a: NDArray, b: NDArray, opts: MatmulOptions = {}, opName = 'matmul'): NDArray {
  const transA = opts.transA ?? false;
  const transB = opts.transB ?? false;
  const runs = opts.runs ?? 1;
  if (a.dtype !== b.dtype) throw new TypeError(`${opName}: dtype mismatch ${a.dtype} vs ${b.dtype}; cast one operand first`);
  if (a.ndim < 2 || a.ndim > 3 || b.ndim < 2 || b.ndim > 3) {
    throw new Error(`${opName}: expected 2-D or 3-D operands, got ${formatShape(a.shape)} @ ${formatShape(b.shape)}`);
  }
  const ra = a.ndim - 2, rb = b.ndim - 2;
  const M = transA ? a.shape[ra + 1] : a.shape[ra];
  const Ka = transA ? a.shape[ra] : a.shape[ra + 1];
  const Kb = transB ? b.shape[rb + 1] : b.shape[rb];
  const N = transB ? b.shape[rb] : b.shape[rb + 1];
  const ta = transA ? 'ᵀ' : '', tb = transB ? 'ᵀ' : '';
  if (Ka !== Kb) {
    throw new Error(`${opName}: inner dimensions differ: ${formatShape(a.shape)}${ta} @ ${formatShape(b.shape)}${tb} (${Ka} vs ${Kb})`);
  }
  const batchA = a.ndim === 3 ? a.shape[0] : 1;
  const batchB = b.ndim === 3 ? b.shape[0] : 1;
  if (a.ndim === 3 && b.ndim === 3 && batchA !== batchB) {
    throw new Error(`${opName}: batch dimensions differ: ${formatShape(a.shape)} @ ${formatShape(b.shape)}`);
  }
  const batch = Math.max(batchA, batchB);
  if (!Number.isInteger(runs) || runs < 1 || batch % runs !== 0) {
    throw new RangeError(`${opName}: runs ${runs} does not divide the batch ${batch} of ${formatShape(a.shape)} @ ${formatShape(b.shape)}`);
  }
  const outShape = a.ndim === 3 || b.ndim === 3 ? [batch, M, N] : [M, N];
  const sa = a.ndim === 3 ? M * Ka : 0;
  const sb = b.ndim === 3 ? Kb * N : 0;
  // The WebAssembly GEMM writes every element of C (it does not accumulate); the JavaScript one adds into zeros.
  const wasm = onWasm('gemm', (batch / runs) * M * N * Ka, a.data, b.data);
  const C = wasm ? allocateUninit(a.dtype, batch * M * N) : allocate(a.dtype, batch * M * N);
  if (wasm) {
    if (onWasm('gemm', (batch / runs) * M * N * Ka, C)
      && wasmGemm(batch, M, N, Ka, a.data as Float32Array, 0, sa, transA, b.data as Float32Array, 0, sb, transB, C as Float32Array, 0, false)) {
      return new NDArray(C, outShape);
    }
    C.fill(0);
  }
  for (let t = 0; t < batch; t++) {
    gemmJs(M, N, Ka, a.data, t * sa, transA, b.data, t * sb, transB, C, t * M * N);
  }
  return new NDArray(C, outShape);
}
