import { describe, expect, it } from 'vitest';
import { Generator, NDArray } from '../../../src/tensor/index.js';
import { indexSelectArray } from '../../../src/tensor/gather.js';
import { reduce } from '../../../src/tensor/reduce.js';
import { softmaxArray, softmaxBackward } from '../../../src/tensor/softmax.js';
import { wasmFeatures } from '../../../src/tensor/wasm/features.js';
import { glueKernels } from '../../../src/tensor/wasm/glue.js';
import { ArenaLayout, expectSameBits, withSpecials } from './arena-helpers.js';

/*
 * The row kernels (row-kernel.ts) against src/tensor's JavaScript kernels: softmaxGrad, rowSum,
 * colSum, gatherRows, copyBlocks and fill bit for bit; softmax within its stated bound of the
 * float64 softmax, and NaN exactly where the JavaScript softmax gives NaN. Shapes 0, 1, primes and
 * every remainder mod 4 (rows and columns), unaligned pointers, in-place use where allowed, guard
 * words around every block.
 */

const gen = new Generator(4);
const ROWS = [0, 1, 2, 3, 4, 5, 7, 9];
const COLS = [0, 1, 2, 3, 4, 5, 7, 8, 9, 13, 16, 67];
const normal = (n: number, std = 1): Float32Array => gen.fillNormal(new Float32Array(n), 0, std) as Float32Array;

describe.skipIf(!wasmFeatures().simd)('glue row kernels', () => {
  it('softmax: within (2 + |x − max|)·2^−23 relative of float64; NaN exactly where JavaScript has NaN', () => {
    const k = glueKernels()!;
    for (const M of ROWS) for (const N of COLS) for (const [std, mis] of [[1, 0], [30, 4], [0.01, 8]]) {
      const x = normal(M * N, std);
      if (M * N > 0 && std === 30) {
        // a row with −Inf entries, a row of −Inf, a row with NaN, a row with +Inf
        x[0] = -Infinity;
        if (M > 1) x.fill(-Infinity, N, 2 * N);
        if (M > 2) x[2 * N + N - 1] = NaN;
        if (M > 3) x[3 * N] = Infinity;
      }
      const L = new ArenaLayout(mis);
      const px = L.put(x), po = L.alloc(M * N);
      k.softmax(M, N, px, po);
      const got = L.get(po, M * N);
      const js = softmaxArray(new NDArray(x, [M, N]), 1, false).data;
      const ref = softmaxArray(new NDArray(Float64Array.from(x), [M, N]), 1, false).data;
      for (let i = 0; i < M; i++) {
        let m = -Infinity;
        for (let j = 0; j < N; j++) m = Math.max(m, x[i * N + j]);
        for (let j = 0; j < N; j++) {
          const q = i * N + j, tag = `M=${M} N=${N} std=${std} [${i},${j}] x=${x[q]}`;
          expect(Number.isNaN(got[q]), tag).toBe(Number.isNaN(js[q]));
          if (Number.isNaN(js[q]) || got[q] === ref[q]) continue;
          const bound = (2 + Math.abs(x[q] - m)) * 2 ** -23 * ref[q] + 2 ** -149;
          expect(Math.abs(got[q] - ref[q]), tag).toBeLessThanOrEqual(bound);
        }
      }
      // in place gives the same bits
      k.softmax(M, N, px, px);
      expectSameBits(L.get(px, M * N), got, `softmax in place M=${M} N=${N}`);
      L.checkGuards(`softmax M=${M} N=${N}`);
    }
  });

  it('softmaxGrad, rowSum and colSum are bit-identical to the JavaScript kernels', () => {
    const k = glueKernels()!;
    for (const M of ROWS) for (const N of COLS) for (const mis of [0, 4, 12]) {
      const x = withSpecials(M * N, gen), g = normal(M * N);
      const y = softmaxArray(new NDArray(normal(M * N, 3), [M, N]), 1, false).data as Float32Array;
      const L = new ArenaLayout(mis);
      const px = L.put(x), pg = L.put(g), py = L.put(y), po = L.alloc(M * N), prow = L.alloc(Math.max(M, 1)), pcol = L.alloc(N);
      const tag = `M=${M} N=${N} misalign ${mis}`;
      k.softmaxGrad(M, N, py, pg, po);
      const want = softmaxBackward(new NDArray(y, [M, N]), new NDArray(g, [M, N]), 1).data;
      expectSameBits(L.get(po, M * N), want, `softmaxGrad ${tag}`);
      k.softmaxGrad(M, N, py, pg, pg); // in place over g
      expectSameBits(L.get(pg, M * N), want, `softmaxGrad in place ${tag}`);
      for (const data of [x, g]) {
        L.f32().set(data, px / 4);
        k.rowSum(M, N, px, prow);
        expectSameBits(L.get(prow, M), reduce('sum', new NDArray(data, [M, N]), 1).data, `rowSum ${tag}`);
        k.colSum(M, N, px, pcol);
        expectSameBits(L.get(pcol, N), reduce('sum', new NDArray(data, [M, N]), 0).data, `colSum ${tag}`);
      }
      // the whole-array sum is rowSum over one row
      k.rowSum(1, M * N, px, prow);
      expectSameBits(L.get(prow, 1), reduce('sum', new NDArray(g, [M, N])).data, `sum ${tag}`);
      L.checkGuards(tag);
    }
  });

  it('colSum adds the rows in order in float32, independent of what ran before', () => {
    const k = glueKernels()!;
    // 1 + 2^−24 + 2^−24 + 2^−24: in row order float32 gives 1 (each tiny term is a tie, rounded
    // to even); a float64 or pairwise sum would not
    const t = 2 ** -24;
    const x = new Float32Array([1, 1, t, t, t, t, t, t]);
    const L = new ArenaLayout();
    const px = L.put(x), po = L.alloc(2);
    k.colSum(4, 2, px, po);
    const first = L.get(po, 2);
    expect(Array.from(first)).toEqual([1, 1]);
    k.softmax(4, 2, px, L.alloc(8));
    k.colSum(4, 2, px, po);
    expectSameBits(L.get(po, 2), first, 'colSum again');
  });

  it('gatherRows, copyBlocks and fill', () => {
    const k = glueKernels()!;
    for (const rows of [1, 3, 8]) for (const n of COLS) for (const m of [0, 1, 5, 12]) for (const mis of [0, 8]) {
      const src = withSpecials(rows * n, gen);
      const idx = Int32Array.from({ length: m }, (_, i) => (i * 7 + 3) % rows);
      const L = new ArenaLayout(mis);
      const ps = L.put(src), pi = L.put(idx, 'i32'), po = L.alloc(m * n);
      k.gatherRows(m, n, ps, pi, po);
      expectSameBits(L.get(po, m * n), indexSelectArray(new NDArray(src, [rows, n]), 0, idx).data, `gather rows=${rows} n=${n} m=${m}`);
      // narrow columns [1, 1 + w) of every row into a dense block, then concat it back at column 0
      const w = Math.max(0, n - 2), pd = L.alloc(rows * w), pb = L.alloc(rows * n);
      k.copyBlocks(rows, w, ps + 4, n, pd, w);
      const want = new Float32Array(rows * w);
      for (let r = 0; r < rows; r++) for (let j = 0; j < w; j++) want[r * w + j] = src[r * n + 1 + j];
      expectSameBits(L.get(pd, rows * w), want, `copyBlocks narrow n=${n}`);
      k.fill(rows * n, pb, -0);
      expectSameBits(L.get(pb, rows * n), new Float32Array(rows * n).fill(-0), `fill n=${n}`);
      k.copyBlocks(rows, w, pd, w, pb, n);
      const back = new Float32Array(rows * n).fill(-0);
      for (let r = 0; r < rows; r++) for (let j = 0; j < w; j++) back[r * n + j] = want[r * w + j];
      expectSameBits(L.get(pb, rows * n), back, `copyBlocks concat n=${n}`);
      L.checkGuards(`rows=${rows} n=${n} m=${m}`);
    }
  });
});
