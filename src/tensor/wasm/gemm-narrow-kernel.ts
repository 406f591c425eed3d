import { FunctionBuilder, I32, ModuleBuilder, V128, type Local } from './assembler.js';
import { KC, addToC, exprs, kLoop, tileStep, type GemmModuleOptions } from './gemm-kernel.js';

/*
 * The GEMM for narrow products, where packing costs more than it saves: MMoE's per-row mixes
 * (batches of [T, E]·[E, H] with T, E ≈ 2–8) and their gradients, a tower's [B, 16]·[16, 8]ᵀ. The
 * packed GEMM pays there for copying A into MR-row panels, and for edge tiles it computes a whole
 * MR×NR tile and adds it back element by element.
 *
 *   gemmNarrow(batch, strideA, strideB, strideC, M, N, K, A, transA, B, transB, C, ws, overwrite)
 *
 * has `gemm`'s arguments (less the m0..n1 rectangle: it does the whole product) and meaning (the
 * caller checks that `ws` holds narrowWorkspaceBytes), and gives its bits: K is cut into the same
 * KC-deep blocks, and over each, every element of C is one accumulator from zero through k in
 * order, by the same multiply-add (gemm-kernel.ts `madd`), then added to C (the first block's to
 * +0 with overwrite). A is read where it is; B too when it is [K, N] with N a multiple of 4, else
 * each block is packed into `ws` by the packed GEMM's own panel packer (zero-padded columns). The
 * tile is cut to the rows and vectors that exist: a kernel per (rows ≤ MR, vectors ≤ NR/4), with
 * the lanes of a partial last vector stored one by one — their sums are the same lane arithmetic
 * the packed kernel does.
 */

/** The narrow tile kernel for `rows` rows and `vecs` f32x4 columns; `transA`: A's rows are adjacent floats. */
function emitNarrowTile(m: ModuleBuilder, t: GemmModuleOptions, transA: boolean, rows: number, vecs: number): number {
  const name = `narrow${transA ? 'T' : 'N'}${rows}x${vecs}`;
  // (a, sai, sak, pb, bk, kc, c, ldc, lanes, first): A(i0, 0) at a, rows sai apart, k steps sak;
  // B(0, j0) at pb, k steps bk; C(i0, j0) at c, rows ldc apart; lanes valid in the last vector.
  return m.func(name, [I32, I32, I32, I32, I32, I32, I32, I32, I32, I32], [], (f, [a, sai, sak, pb, bk, kc, c, ldc, lanes, first]) => {
    const { v, k, add, mul, set } = exprs(f);
    const acc: Local[][] = [];
    for (let r = 0; r < rows; r++) acc.push(Array.from({ length: vecs }, () => f.local(V128)));
    const b = Array.from({ length: vecs }, () => f.local(V128));
    const av = f.local(V128);
    const kk = f.local(I32);
    // transA: the rows of a k are adjacent (constant offsets from one pointer); else one pointer per row.
    const ptr = transA ? [a] : Array.from({ length: rows }, () => f.local(I32));
    if (!transA) ptr.forEach((p, r) => set(p, add(v(a), mul(k(r), v(sai)))));
    kLoop(f, kk, kc, () => {
      tileStep(f, t.relaxed, acc, b, av, pb, (r) => { f.localGet(transA ? a : ptr[r]); f.v128.load32Splat({ offset: transA ? 4 * r : 0 }); });
      if (transA) set(a, add(v(a), v(sak)));
      else for (const p of ptr) set(p, add(v(p), v(sak)));
      set(pb, add(v(pb), v(bk)));
    });
    const row = f.local(I32);
    set(row, v(c));
    for (let r = 0; r < rows; r++) {
      for (let q = 0; q < vecs; q++) {
        const whole = (): void => addToC(f, row, 16 * q, acc[r][q], first);
        if (q + 1 < vecs) { whole(); continue; }
        f.localGet(lanes); f.i32.const(4); f.i32.eq();
        f.if(whole, () => {
          for (let l = 0; l < 3; l++) {
            f.localGet(lanes); f.i32.const(l); f.i32.gtS();
            f.if(() => {
              f.localGet(row);
              f.f32.const(0);
              f.localGet(row); f.f32.load({ offset: 16 * q + 4 * l });
              f.localGet(first); f.select();
              f.localGet(acc[r][q]); f.f32x4.extractLane(l);
              f.f32.add();
              f.f32.store({ offset: 16 * q + 4 * l });
            });
          }
        });
      }
      if (r + 1 < rows) set(row, add(v(row), v(ldc)));
    }
  });
}

export function emitNarrowGemm(m: ModuleBuilder, t: GemmModuleOptions, packB: number): number {
  const { mr: MR, nr: NR } = t;
  const NV = NR / 4;
  const tiles: number[][][] = [false, true].map((ta) =>
    Array.from({ length: MR }, (_, r) => Array.from({ length: NV }, (_, q) => emitNarrowTile(m, t, ta, r + 1, q + 1))));
  const params = Array.from({ length: 14 }, () => I32);
  return m.func('gemmNarrow', params, [], (f: FunctionBuilder, args) => {
    const [batch, strideA, strideB, strideC, M, N, K, A, transA, B, transB, C, ws, overwrite] = args;
    const { v, k, add, sub, mul, min, set, sel } = exprs(f);
    const L = (): Local => f.local(I32);
    const sai = L(), sak = L(), sbk = L(), sbj = L(), ldc = L(), direct = L(), bk = L(), panel = L();
    const bt = L(), pc = L(), kc = L(), first = L(), jr = L(), ir = L(), cols = L(), vecs = L(), lanes = L(), rows = L(), pb = L();
    set(sai, sel(transA, k(4), mul(v(K), k(4))));
    set(sak, sel(transA, mul(v(M), k(4)), k(4)));
    set(sbk, sel(transB, k(4), mul(v(N), k(4))));
    set(sbj, sel(transB, mul(v(K), k(4)), k(4)));
    set(ldc, mul(v(N), k(4)));
    // B used in place when it is [K, N] with whole vectors: N % 4 = 0 is what keeps the vector
    // loads of a row's last columns inside B (with N % 4 ≠ 0 the last row's would read past B's
    // end, perhaps past the memory's). Else each K block of B is packed in zero-padded NR-column panels.
    set(direct, () => { f.localGet(transB); f.i32.eqz(); f.localGet(N); f.i32.const(3); f.i32.and(); f.i32.eqz(); f.i32.and(); });
    set(bk, sel(direct, mul(v(N), k(4)), k(4 * NR)));
    f.forRange(bt, { const: 0 }, batch, 1, () => {
      // K blocks as the packed GEMM cuts them: each element's block sums are added to C in order
      // (the first to +0 when overwriting).
      f.forRange(pc, { const: 0 }, K, KC, () => {
        set(kc, min(k(KC), sub(v(K), v(pc))));
        set(first, () => { f.localGet(overwrite); f.localGet(pc); f.i32.eqz(); f.i32.and(); });
        // Packed per block of each product; once in all when B is shared and one block deep.
        f.localGet(direct); f.i32.eqz();
        f.localGet(bt); f.i32.eqz(); f.localGet(strideB); f.i32.const(0); f.i32.ne(); f.i32.or();
        f.localGet(K); f.i32.const(KC); f.i32.gtS(); f.i32.or();
        f.i32.and();
        f.if(() => {
          f.forRange(jr, { const: 0 }, N, NR, () => {
            add(v(B), add(mul(v(jr), v(sbj)), mul(v(pc), v(sbk))))();
            f.localGet(sbj); f.localGet(sbk);
            min(k(NR), sub(v(N), v(jr)))();
            f.localGet(kc);
            add(v(ws), mul(mul(v(jr), v(kc)), k(4)))();
            f.call(packB);
          });
        });
        set(pb, sel(direct, add(v(B), mul(v(pc), v(sbk))), v(ws)));
        set(panel, sel(direct, k(4 * NR), mul(v(kc), k(4 * NR))));
        f.forRange(jr, { const: 0 }, N, NR, () => {
          set(cols, min(k(NR), sub(v(N), v(jr))));
          set(vecs, () => { add(v(cols), k(3))(); f.i32.const(2); f.i32.shrU(); });
          set(lanes, sub(v(cols), mul(sub(v(vecs), k(1)), k(4))));
          f.forRange(ir, { const: 0 }, M, MR, () => {
            set(rows, min(k(MR), sub(v(M), v(ir))));
            const call = (ta: number, r: number, q: number): void => {
              add(v(A), add(mul(v(ir), v(sai)), mul(v(pc), v(sak))))();
              f.localGet(sai); f.localGet(sak); f.localGet(pb); f.localGet(bk); f.localGet(kc);
              add(v(C), mul(add(mul(v(ir), v(N)), v(jr)), k(4)))();
              f.localGet(ldc); f.localGet(lanes); f.localGet(first);
              f.call(tiles[ta][r][q]);
            };
            // Choose the tile kernel by (transA, rows, vectors): a tree of ifs.
            const byVecs = (ta: number, r: number, q: number): void => {
              if (q === NV - 1) { call(ta, r, q); return; }
              f.localGet(vecs); f.i32.const(q + 1); f.i32.eq();
              f.if(() => call(ta, r, q), () => byVecs(ta, r, q + 1));
            };
            const byRows = (ta: number, r: number): void => {
              if (r === MR - 1) { byVecs(ta, r, 0); return; }
              f.localGet(rows); f.i32.const(r + 1); f.i32.eq();
              f.if(() => byVecs(ta, r, 0), () => byRows(ta, r + 1));
            };
            f.localGet(transA);
            f.if(() => byRows(1, 0), () => byRows(0, 0));
          });
          set(pb, add(v(pb), v(panel)));
        });
      });
      set(A, add(v(A), v(strideA)));
      set(B, add(v(B), v(strideB)));
      set(C, add(v(C), v(strideC)));
    });
  });
}

/** Bytes of workspace gemmNarrow needs for a [K, N] B: one K block packed in whole NR-column panels. */
export function narrowWorkspaceBytes(t: { nr: number }, K: number, N: number): number {
  return Math.ceil((4 * Math.min(K, KC) * t.nr * Math.ceil(N / t.nr)) / 64) * 64;
}
