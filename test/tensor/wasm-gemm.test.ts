import { afterAll, describe, expect, it } from 'vitest';
import { Generator, NDArray, WASM_MIN_WORK, allocateFloat32Persistent, getBackend, matmulArray, setBackend } from '../../src/tensor/index.js';
import { wasmFeatures } from '../../src/tensor/wasm/features.js';
import { KC } from '../../src/tensor/wasm/gemm-kernel.js';
import { TILE, relaxedSimdActive, setGemmPath, setRelaxedSimd, wasmAvailable, wasmGemm, type GemmPath } from '../../src/tensor/wasm/runtime.js';

/*
 * The WebAssembly GEMM against a float64 triple loop over the same float32 inputs, in both
 * arithmetic modes this runtime can run (relaxed-SIMD FMA when accepted — vitest.config.ts passes
 * --experimental-wasm-relaxed-simd — and plain mul+add, forced), and by both its paths (packed,
 * and narrow where that applies: one K block), which must also agree bit for bit. The bound is
 * float32's for a sum: |err| ≤ 1e-5 · Σ_k |a_ik·b_kj| (+ |c| when accumulating into C).
 */

const gen = new Generator(8);
const rand = (n: number): Float32Array => gen.fillNormal(new Float32Array(n));

interface Problem {
  batch: number; M: number; N: number; K: number;
  transA: boolean; transB: boolean;
  /** 0: shared across the batch. */
  aStride: number; bStride: number;
}

/** Reference: C0 + op(A)·op(B) in float64, and Σ|a·b| per element for the bound. */
function reference(p: Problem, A: Float32Array, aOff: number, B: Float32Array, bOff: number, C0: Float32Array | null, cOff: number) {
  const { batch, M, N, K } = p;
  const out = new Float64Array(batch * M * N), mag = new Float64Array(batch * M * N);
  for (let t = 0; t < batch; t++) {
    const ao = aOff + t * p.aStride, bo = bOff + t * p.bStride;
    for (let i = 0; i < M; i++) {
      for (let j = 0; j < N; j++) {
        let s = 0, m = 0;
        for (let k = 0; k < K; k++) {
          const a = p.transA ? A[ao + k * M + i] : A[ao + i * K + k];
          const b = p.transB ? B[bo + j * K + k] : B[bo + k * N + j];
          s += a * b;
          m += Math.abs(a * b);
        }
        const o = t * M * N + i * N + j;
        const c = C0 ? C0[cOff + o] : 0;
        out[o] = s + c;
        mag[o] = m + Math.abs(c);
      }
    }
  }
  return { out, mag };
}

function expectWithinBound(got: Float32Array, cOff: number, ref: { out: Float64Array; mag: Float64Array }, what: string): void {
  let worst = 0, at = -1;
  for (let i = 0; i < ref.out.length; i++) {
    const err = Math.abs(got[cOff + i] - ref.out[i]);
    const bound = 1e-5 * ref.mag[i] + 1e-30;
    if (err / bound > worst) { worst = err / bound; at = i; }
  }
  expect(worst, `${what}: worst err/bound ${worst} at ${at}`).toBeLessThanOrEqual(1);
}

// Forcing 'narrow' where it does not apply (N > 256) runs the packed path again.
const PATHS: GemmPath[] = ['packed', 'narrow'];

/** Runs one problem through wasmGemm by each path with operand offsets, accumulating or not; checks C's edges too. */
function check(p: Problem, accumulate: boolean, what: string): void {
  for (const path of PATHS) {
    setGemmPath(path);
    try {
      checkOne(p, accumulate, `${what} (${path})`);
    } finally {
      setGemmPath('auto');
    }
  }
}

function checkOne(p: Problem, accumulate: boolean, what: string): void {
  const aOff = 3, bOff = 5, cOff = 7;
  const lenA = (p.aStride ? p.batch : 1) * p.M * p.K, lenB = (p.bStride ? p.batch : 1) * p.K * p.N;
  const A = rand(aOff + lenA + 2), B = rand(bOff + lenB + 2);
  const C = rand(cOff + p.batch * p.M * p.N + 2);
  const C0 = C.slice();
  expect(wasmGemm(p.batch, p.M, p.N, p.K, A, aOff, p.aStride, p.transA, B, bOff, p.bStride, p.transB, C, cOff, accumulate)).toBe(true);
  expectWithinBound(C, cOff, reference(p, A, aOff, B, bOff, accumulate ? C0 : null, cOff), what);
  for (let i = 0; i < cOff; i++) expect(C[i]).toBe(C0[i]);
  expect(C[C.length - 1]).toBe(C0[C0.length - 1]);
  expect(C[C.length - 2]).toBe(C0[C0.length - 2]);
}

const layouts: Array<[boolean, boolean]> = [[false, false], [true, false], [false, true], [true, true]];
const tag = (ta: boolean, tb: boolean): string => `${ta ? 'T' : 'N'}${tb ? 'T' : 'N'}`;
const { mr: MR, nr: NR } = TILE;
// 0, 1, primes, one under / at / over the register tile and the KC-deep packing block.
const dims = [0, 1, 2, 3, 7, 13];
const edgeShapes: Array<[number, number, number]> = [
  [MR - 1, NR - 1, 5], [MR, NR, 5], [MR + 1, NR + 1, 5], [2 * MR + 3, 3 * NR - 1, 17],
  [31, 37, KC - 1], [29, 11, KC], [5, 19, KC + 1], [67, 130, 2 * KC + 3], [130, 67, 129], [1, 257, 3], [257, 1, 3],
  // The models' shapes: expert forward NT 128×16×100, its weight gradient TN 16×100×128, the bench's [512,256]·[256,64].
  [128, 16, 100], [16, 100, 128], [512, 64, 256],
];

// MMOE_TS_BACKEND=js (the suite's second run) forces the JavaScript kernels from the start.
const initial = process.env.MMOE_TS_BACKEND === 'js' ? 'js' : 'wasm';

const modes: Array<{ name: string; relaxed: boolean }> = [{ name: 'mul+add', relaxed: false }];
if (wasmFeatures().relaxedSimd) modes.push({ name: 'relaxed FMA', relaxed: true });

describe.skipIf(!wasmFeatures().simd)('WebAssembly GEMM against a float64 reference', () => {
  afterAll(() => setRelaxedSimd(true));

  afterAll(() => setBackend(initial));

  it('is the default float32 backend where SIMD exists, unless MMOE_TS_BACKEND=js', () => {
    expect(wasmAvailable()).toBe(true);
    expect(getBackend()).toBe(initial);
  });

  for (const mode of modes) {
    describe(mode.name, () => {
      it('runs in the mode asked for', () => {
        setRelaxedSimd(mode.relaxed);
        expect(relaxedSimdActive()).toBe(mode.relaxed);
      });

      for (const [ta, tb] of layouts) {
        it(`${tag(ta, tb)}: every M, N, K in {0, 1, 2, 3, 7, 13}, accumulating and not`, () => {
          setRelaxedSimd(mode.relaxed);
          for (const M of dims) for (const N of dims) for (const K of dims) {
            for (const acc of [false, true]) {
              check({ batch: 1, M, N, K, transA: ta, transB: tb, aStride: M * K, bStride: K * N }, acc, `[${M},${N},${K}] acc=${acc}`);
            }
          }
        });

        it(`${tag(ta, tb)}: tile and block edges, the models' shapes`, () => {
          setRelaxedSimd(mode.relaxed);
          for (const [M, N, K] of edgeShapes) {
            check({ batch: 1, M, N, K, transA: ta, transB: tb, aStride: M * K, bStride: K * N }, false, `[${M},${N},${K}]`);
          }
        });

        it(`${tag(ta, tb)}: batched, and one operand shared across the batch`, () => {
          setRelaxedSimd(mode.relaxed);
          for (const [batch, M, N, K] of [[3, 5, 9, 7], [3, 5, 11, 9], [4, 13, 17, 33], [128, 2, 16, 8], [2, 67, 33, 260]]) {
            check({ batch, M, N, K, transA: ta, transB: tb, aStride: M * K, bStride: K * N }, false, `batched ${batch}×[${M},${N},${K}]`);
            check({ batch, M, N, K, transA: ta, transB: tb, aStride: 0, bStride: K * N }, true, `shared A ${batch}×[${M},${N},${K}]`);
            check({ batch, M, N, K, transA: ta, transB: tb, aStride: M * K, bStride: 0 }, false, `shared B ${batch}×[${M},${N},${K}]`);
          }
        });
      }

      it('aliased operands (A === B, the Gram matrices xᵀx and x·xᵀ) and C holding old values', () => {
        setRelaxedSimd(mode.relaxed);
        try {
        for (const [rows, cols] of [[37, 19], [128, 16], [5, 300]]) for (const path of PATHS) {
          setGemmPath(path);
          const x = rand(rows * cols);
          for (const [ta, tb, M, N] of [[true, false, cols, cols], [false, true, rows, rows]] as const) {
            const C = rand(M * N), C0 = C.slice();
            expect(wasmGemm(1, M, N, ta ? rows : cols, x, 0, 0, ta, x, 0, 0, tb, C, 0, true)).toBe(true);
            const p: Problem = { batch: 1, M, N, K: ta ? rows : cols, transA: ta, transB: tb, aStride: 0, bStride: 0 };
            expectWithinBound(C, 0, reference(p, x, 0, x, 0, C0, 0), `alias ${tag(ta, tb)} [${rows},${cols}] (${path})`);
          }
        }
        } finally {
          setGemmPath('auto');
        }
      });
    });
  }

  it('overwriting C (no accumulate) gives the bits of accumulating onto a zeroed C, whatever C held, across KC blocks and tile edges', () => {
    try {
    for (const [M, N, K] of edgeShapes) {
      for (const [ta, tb] of layouts) for (const path of PATHS) {
        setGemmPath(path);
        const A = rand(M * K), B = rand(K * N);
        const zeroed = new Float32Array(2 * M * N);
        const junk = new Float32Array(2 * M * N).fill(Number.NaN);
        expect(wasmGemm(2, M, N, K, A, 0, 0, ta, B, 0, 0, tb, zeroed, 0, true)).toBe(true);
        expect(wasmGemm(2, M, N, K, A, 0, 0, ta, B, 0, 0, tb, junk, 0, false)).toBe(true);
        expect(Buffer.from(junk.buffer).equals(Buffer.from(zeroed.buffer)), `${tag(ta, tb)} ${M}×${N}×${K} (${path})`).toBe(true);
      }
    }
    } finally {
      setGemmPath('auto');
    }
  });

  it('the narrow path gives the packed path\'s bits: every layout, tile and lane edge, batched and shared operands, in the arena or not, special values, accumulating and not', () => {
    const bits = (a: Float32Array): Buffer => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
    // Some entries ±0, ±Inf, huge, subnormal: the two paths must round (and overflow) alike.
    const special = [0, -0, Infinity, -Infinity, 3e38, -3e38, 1e-40, -1e-40];
    const values = (n: number, odd: boolean): Float32Array => {
      const a = rand(n);
      if (odd) for (let i = 0; i < n; i += 7) a[i] = special[(i / 7) % special.length];
      return a;
    };
    const inArena = (a: Float32Array): Float32Array => { const c = allocateFloat32Persistent(a.length, false); c.set(a); return c; };
    try {
      for (const mode of modes) {
        setRelaxedSimd(mode.relaxed);
        for (const [ta, tb] of layouts) {
          for (const [batch, M, N, K, shared] of [
            [1, 1, 1, 1, ''], [1, 3, 5, 7, ''], [2, MR - 1, NR - 1, 9, 'A'], [3, MR + 1, NR + 1, 13, 'B'], [2, 13, 3 * NR + 3, 31, ''],
            [3, 5, 11, 9, ''], [3, 5, 11, 9, 'B'], [2, 6, 4 * NR + 2, 17, 'B'],
            [4, 2, 16, 8, ''], [4, 8, 16, 2, 'A'], [4, 2, 8, 16, 'B'], [2, 17, 256, KC, ''], [1, 64, 100, 128, ''], [1, 129, 24, 100, ''],
            // more than one K block
            [1, 5, 19, KC + 1, ''], [2, 13, 3 * NR + 3, 2 * KC + 3, 'B'], [2, 6, 16, 2 * KC, 'A'],
          ] as const) {
            for (const [where, odd] of [['js', false], ['arena', false], ['arena', true]] as const) {
              const place = where === 'arena' ? inArena : (a: Float32Array): Float32Array => a;
              const A = place(values(batch * M * K, odd)), B = place(values(batch * K * N, odd)), C0 = rand(batch * M * N);
              const sa = shared === 'A' ? 0 : M * K, sb = shared === 'B' ? 0 : K * N;
              for (const acc of [false, true]) {
                const out = PATHS.map((path) => {
                  setGemmPath(path);
                  const C = place(C0.slice());
                  expect(wasmGemm(batch, M, N, K, A, 0, sa, ta, B, 0, sb, tb, C, 0, acc)).toBe(true);
                  return Buffer.from(bits(C));
                });
                expect(out[1].equals(out[0]), `${mode.name} ${tag(ta, tb)} ${batch}×[${M},${N},${K}] shared ${shared || '-'} ${where}${odd ? ' special values' : ''} acc=${acc}`).toBe(true);
              }
            }
          }
        }
      }
    } finally {
      setGemmPath('auto');
      setRelaxedSimd(true);
    }
  });

  it('matmulArray dispatches float32 to it and float64 to the JavaScript kernels', () => {
    const a = new NDArray(rand(67 * 45), [67, 45]), b = new NDArray(rand(45 * 31), [45, 31]);
    setBackend('wasm');
    const wasm = matmulArray(a, b);
    setBackend('js');
    try {
      const js = matmulArray(a, b);
      const ref = reference({ batch: 1, M: 67, N: 31, K: 45, transA: false, transB: false, aStride: 0, bStride: 0 }, a.data as Float32Array, 0, b.data as Float32Array, 0, null, 0);
      expectWithinBound(wasm.data as Float32Array, 0, ref, 'wasm');
      expectWithinBound(js.data as Float32Array, 0, ref, 'js');
      // float32 vs float64 accumulation: the two backends differ in the last bits.
      expect(Array.from(wasm.data)).not.toEqual(Array.from(js.data));
    } finally {
      setBackend(initial);
    }
  });
});

describe('backend switch', () => {
  it('products below WASM_MIN_WORK stay on the JavaScript kernels (same bits with either backend)', () => {
    const a = new NDArray(rand(4 * 5), [4, 5]), b = new NDArray(rand(5 * 6), [5, 6]);
    expect(4 * 5 * 6).toBeLessThan(WASM_MIN_WORK);
    setBackend('wasm');
    const viaDefault = matmulArray(a, b);
    setBackend('js');
    try {
      expect(Array.from(matmulArray(a, b).data)).toEqual(Array.from(viaDefault.data));
    } finally {
      setBackend(initial);
    }
  });

  it('rejects unknown backends and options by name', () => {
    expect(() => setBackend('gpu' as 'js')).toThrow(/setBackend: expected one of js, wasm, got "gpu"/);
    expect(() => setBackend('wasm', { fast: true } as never)).toThrow(/setBackend: unknown option 'fast'/);
  });

  it('js forces the JavaScript kernels and wasm restores the default', () => {
    const before = getBackend();
    setBackend('js');
    expect(getBackend()).toBe('js');
    setBackend(before);
    expect(getBackend()).toBe(before);
  });
});
