import { describe, expect, it } from 'vitest';
import { NDArray, Generator, matmulArray, gemm, type DType } from '../../src/tensor/index.js';

const gen = new Generator(11);
function randArray(shape: number[], dtype: DType = 'float64'): NDArray {
  const n = shape.reduce((a, b) => a * b, 1);
  const d = dtype === 'float64' ? new Float64Array(n) : new Float32Array(n);
  gen.fillNormal(d);
  return new NDArray(d, shape);
}

/** The naive triple loop, reading A and B through their transpose flags. */
function naive(a: NDArray, b: NDArray, transA: boolean, transB: boolean): { shape: number[]; data: Float64Array } {
  const ra = a.ndim - 2, rb = b.ndim - 2;
  const M = transA ? a.shape[ra + 1] : a.shape[ra];
  const K = transA ? a.shape[ra] : a.shape[ra + 1];
  const N = transB ? b.shape[rb] : b.shape[rb + 1];
  const batch = Math.max(a.ndim === 3 ? a.shape[0] : 1, b.ndim === 3 ? b.shape[0] : 1);
  const out = new Float64Array(batch * M * N);
  for (let t = 0; t < batch; t++) {
    const ao = a.ndim === 3 ? t * M * K : 0;
    const bo = b.ndim === 3 ? t * K * N : 0;
    for (let i = 0; i < M; i++) {
      for (let j = 0; j < N; j++) {
        let s = 0;
        for (let k = 0; k < K; k++) {
          const av = transA ? a.data[ao + k * M + i] : a.data[ao + i * K + k];
          const bv = transB ? b.data[bo + j * K + k] : b.data[bo + k * N + j];
          s += av * bv;
        }
        out[t * M * N + i * N + j] = s;
      }
    }
  }
  const shape = a.ndim === 3 || b.ndim === 3 ? [batch, M, N] : [M, N];
  return { shape, data: out };
}

function stored(rows: number, cols: number, trans: boolean, batch?: number): number[] {
  const s = trans ? [cols, rows] : [rows, cols];
  return batch === undefined ? s : [batch, ...s];
}

function expectClose(got: NDArray, ref: { shape: number[]; data: Float64Array }, tol: number): void {
  expect(got.shape).toEqual(ref.shape);
  let worst = 0;
  for (let i = 0; i < ref.data.length; i++) {
    worst = Math.max(worst, Math.abs(got.data[i] - ref.data[i]) / Math.max(1, Math.abs(ref.data[i])));
  }
  expect(worst).toBeLessThan(tol);
}

const flagCombos: Array<[boolean, boolean]> = [[false, false], [true, false], [false, true], [true, true]];
const name = (ta: boolean, tb: boolean): string => `${ta ? 'T' : 'N'}${tb ? 'T' : 'N'}`;

describe('matmul (blocked GEMM) against a naive triple loop', () => {
  // Odd sizes straddle the 4×4 micro-tile and the 64/128/512 packing blocks.
  const sizes: Array<[number, number, number]> = [
    [1, 1, 1], [1, 5, 3], [3, 1, 5], [5, 3, 1], [3, 5, 7], [67, 130, 5], [130, 67, 129], [4, 4, 4], [65, 3, 257],
  ];
  for (const [ta, tb] of flagCombos) {
    it(`2-D ${name(ta, tb)} for odd sizes`, () => {
      for (const [M, K, N] of sizes) {
        const a = randArray(stored(M, K, ta));
        const b = randArray(stored(K, N, tb));
        expectClose(matmulArray(a, b, { transA: ta, transB: tb }), naive(a, b, ta, tb), 1e-12);
      }
    });

    it(`batched 3-D ${name(ta, tb)}, and 3-D with a shared 2-D operand`, () => {
      for (const [M, K, N] of [[3, 5, 7], [1, 67, 2], [9, 1, 13]] as const) {
        const B = 3;
        const a3 = randArray(stored(M, K, ta, B)), b3 = randArray(stored(K, N, tb, B));
        const a2 = randArray(stored(M, K, ta)), b2 = randArray(stored(K, N, tb));
        expectClose(matmulArray(a3, b3, { transA: ta, transB: tb }), naive(a3, b3, ta, tb), 1e-12);
        expectClose(matmulArray(a3, b2, { transA: ta, transB: tb }), naive(a3, b2, ta, tb), 1e-12);
        expectClose(matmulArray(a2, b3, { transA: ta, transB: tb }), naive(a2, b3, ta, tb), 1e-12);
      }
    });
  }

  it('float32 agrees with the float64 reference within float32 precision', () => {
    for (const [ta, tb] of flagCombos) {
      const a = randArray(stored(67, 130, ta), 'float32'), b = randArray(stored(130, 33, tb), 'float32');
      const out = matmulArray(a, b, { transA: ta, transB: tb });
      expect(out.dtype).toBe('float32');
      expectClose(out, naive(a, b, ta, tb), 1e-5);
    }
  });

  it('gemm accumulates into C (C += A·B)', () => {
    const a = randArray([3, 4]), b = randArray([4, 5]);
    const C = new Float64Array(15).fill(1);
    gemm(3, 5, 4, a.data, 0, false, b.data, 0, false, C, 0);
    const ref = naive(a, b, false, false);
    for (let i = 0; i < 15; i++) expect(C[i]).toBeCloseTo(ref.data[i] + 1, 12);
  });

  it('K = 0 gives zeros', () => {
    const out = matmulArray(new NDArray(new Float64Array(0), [2, 0]), new NDArray(new Float64Array(0), [0, 3]));
    expect(Array.from(out.data)).toEqual([0, 0, 0, 0, 0, 0]);
  });

  it('errors name both shapes', () => {
    expect(() => matmulArray(randArray([2, 3]), randArray([4, 5]))).toThrow(/^matmul: inner dimensions differ: \[2,3\] @ \[4,5\]/);
    expect(() => matmulArray(randArray([2, 3, 4]), randArray([3, 4, 5]))).toThrow(/^matmul: batch dimensions differ: \[2,3,4\] @ \[3,4,5\]/);
    expect(() => matmulArray(randArray([3]), randArray([3, 4]))).toThrow(/^matmul: expected 2-D or 3-D operands, got \[3\] @ \[3,4\]/);
    expect(() => matmulArray(randArray([2, 3], 'float32'), randArray([3, 4]))).toThrow(/^matmul: dtype mismatch/);
  });
});
