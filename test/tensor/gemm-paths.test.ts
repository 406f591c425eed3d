import { describe, expect, it } from 'vitest';
import { Generator, gemm, gemmDirect, gemmPacked } from '../../src/tensor/index.js';

/*
 * gemm picks between an unpacked kernel (small problems) and the packed GotoBLAS one; each path is
 * checked here on its own, at sizes that straddle its 2×4 / 4×4 tiles, in every transpose layout,
 * with operand offsets and a C that already holds values (gemm accumulates).
 */

type Kernel = typeof gemm;
const gen = new Generator(5);

function filled(n: number, f64: boolean): Float32Array | Float64Array {
  const d = f64 ? new Float64Array(n) : new Float32Array(n);
  gen.fillNormal(d);
  return d;
}

interface Case { M: number; N: number; K: number; transA: boolean; transB: boolean; f64: boolean }

function run(kernel: Kernel, c: Case, A: Float32Array | Float64Array, B: Float32Array | Float64Array, C0: Float32Array | Float64Array) {
  const C = C0.slice();
  // Offsets of 3 / 5 / 7 elements: the kernels must honour aOff, bOff and cOff.
  kernel(c.M, c.N, c.K, A, 3, c.transA, B, 5, c.transB, C, 7);
  return C;
}

/** C0 + op(A)·op(B) by the triple loop, in float64, over the same offsets. */
function naive(c: Case, A: ArrayLike<number>, B: ArrayLike<number>, C0: ArrayLike<number>): Float64Array {
  const out = Float64Array.from(C0);
  for (let i = 0; i < c.M; i++) {
    for (let j = 0; j < c.N; j++) {
      let s = 0;
      for (let k = 0; k < c.K; k++) {
        const a = c.transA ? A[3 + k * c.M + i] : A[3 + i * c.K + k];
        const b = c.transB ? B[5 + j * c.K + k] : B[5 + k * c.N + j];
        s += a * b;
      }
      out[7 + i * c.N + j] += s;
    }
  }
  return out;
}

function setup(c: Case) {
  const A = filled(3 + c.M * c.K, c.f64);
  const B = filled(5 + c.K * c.N, c.f64);
  const C0 = filled(7 + c.M * c.N + 2, c.f64);
  return { A, B, C0 };
}

const layouts: Array<[boolean, boolean]> = [[false, false], [true, false], [false, true], [true, true]];
const tag = (ta: boolean, tb: boolean): string => `${ta ? 'T' : 'N'}${tb ? 'T' : 'N'}`;
// Odd and even M (2-row tiles and the row left over), N around multiples of 4, K from 1 up.
const sizes: Array<[number, number, number]> = [
  [1, 1, 1], [1, 4, 3], [2, 16, 8], [3, 5, 7], [5, 3, 2], [7, 9, 1], [8, 16, 2], [13, 1, 8], [16, 100, 128], [33, 7, 17],
];

describe('gemm kernel paths against a naive triple loop', () => {
  for (const [kernelName, kernel] of [['direct', gemmDirect], ['packed', gemmPacked]] as const) {
    for (const [ta, tb] of layouts) {
      it(`${kernelName} ${tag(ta, tb)} at odd sizes, float64, with offsets and accumulation`, () => {
        for (const [M, N, K] of sizes) {
          const c: Case = { M, N, K, transA: ta, transB: tb, f64: true };
          const { A, B, C0 } = setup(c);
          const got = run(kernel, c, A, B, C0);
          const ref = naive(c, A, B, C0);
          let worst = 0;
          for (let i = 0; i < ref.length; i++) worst = Math.max(worst, Math.abs(got[i] - ref[i]) / Math.max(1, Math.abs(ref[i])));
          expect(worst, `[${M},${N},${K}]`).toBeLessThan(1e-12);
          // Elements of C outside the product (before cOff, after the end) stay untouched.
          for (let i = 0; i < 7; i++) expect(got[i]).toBe(C0[i]);
          expect(got[got.length - 1]).toBe(C0[C0.length - 1]);
        }
      });
    }
  }

  for (const [ta, tb] of layouts) {
    it(`direct and packed agree bit for bit when K fits one block (${tag(ta, tb)}, float32 and float64)`, () => {
      for (const f64 of [false, true]) {
        for (const [M, N, K] of [...sizes, [128, 16, 100], [9, 11, 128]] as Array<[number, number, number]>) {
          const c: Case = { M, N, K, transA: ta, transB: tb, f64 };
          const { A, B, C0 } = setup(c);
          expect(Array.from(run(gemmDirect, c, A, B, C0)), `[${M},${N},${K}] f64=${f64}`).toEqual(Array.from(run(gemmPacked, c, A, B, C0)));
        }
      }
    });
  }

  it('gemm dispatches large or deep problems to the packed path with the same result', () => {
    for (const [M, N, K] of [[64, 40, 300], [200, 160, 96]] as Array<[number, number, number]>) {
      const c: Case = { M, N, K, transA: false, transB: true, f64: true };
      const { A, B, C0 } = setup(c);
      expect(Array.from(run(gemm, c, A, B, C0))).toEqual(Array.from(run(gemmPacked, c, A, B, C0)));
    }
  });
});
