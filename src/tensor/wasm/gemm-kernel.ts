import { FunctionBuilder, I32, ModuleBuilder, V128, type Local } from './assembler.js';

/*
 * The float32 GEMM, generated into the kernel module (kernel-module.ts): GotoBLAS's five loops
 * around an MR×NR f32x4 micro-kernel, with the packing, all inside WebAssembly so that a worker
 * runs a whole sub-problem with one call.
 *
 *   gemm(batch, strideA, strideB, strideC, M, N, K, A, transA, B, transB, C, m0, m1, n0, n1, ws, overwrite)
 *
 * computes C[m0:m1, n0:n1] += op(A)·op(B) for `batch` products (C = op(A)·op(B) with overwrite = 1:
 * the first KC block adds its sums to a zero instead of to C, the same bits as zeroing C first
 * without the pass over C) (byte pointers advanced by the
 * strides after each; a stride of 0 shares that operand). A is [M,K] ([K,M] when transA), B is
 * [K,N] ([N,K] when transB), C is [M,N], all dense row-major float32 in the imported memory. `ws` is
 * this thread's workspace of `workspaceBytes(tile)` bytes (packed panels and one spill tile).
 *
 * Every element of C is summed the same way wherever its tile lies and whichever rectangle a
 * thread owns: over each KC-deep block, one accumulator from zero through k in order, then added to
 * C. So splitting m0:m1 / n0:n1 across threads cannot change a bit of the result.
 */

export interface TileShape {
  /** Rows of the register tile (A broadcasts). */
  mr: number;
  /** Columns of the register tile, a multiple of 4 (f32x4 vectors of B). */
  nr: number;
}

/** Depth of a packed block, and rows / columns per packed block (multiples of mr / nr). */
export const KC = 256;
export function blocking(t: TileShape): { mc: number; nc: number } {
  return { mc: t.mr * Math.ceil(128 / t.mr), nc: t.nr * Math.ceil(1024 / t.nr) };
}

export function workspaceBytes(t: TileShape): number {
  const { mc, nc } = blocking(t);
  const bytes = 4 * (mc * KC + KC * nc + t.mr * t.nr);
  return Math.ceil(bytes / 64) * 64;
}

export interface GemmModuleOptions extends TileShape {
  /** f32x4.relaxed_madd (fused where the hardware has FMA) instead of mul then add. */
  relaxed: boolean;
  shared: boolean;
  maximumPages?: number;
}

type Expr = () => void;

/** A few expression helpers over i32 locals, so the loop nests below read like the math. */
export function exprs(f: FunctionBuilder) {
  const v = (l: Local): Expr => () => void f.localGet(l);
  const k = (n: number): Expr => () => void f.i32.const(n);
  const bin = (op: () => void) => (a: Expr, b: Expr): Expr => () => { a(); b(); op(); };
  const add = bin(() => f.i32.add()), sub = bin(() => f.i32.sub()), mul = bin(() => f.i32.mul());
  const min = (a: Expr, b: Expr): Expr => () => { a(); b(); a(); b(); f.i32.ltS(); f.select(); };
  const set = (l: Local, e: Expr): void => { e(); f.localSet(l); };
  /** cond ? yes : no (both evaluated). */
  const sel = (cond: Local, yes: Expr, no: Expr): Expr => () => { yes(); no(); f.localGet(cond); f.select(); };
  return { v, k, add, sub, mul, min, set, sel };
}

/**
 * pack(src, sc, sk, cols, kc, dst): dst[k·W + c] = src[c·sc + k·sk] for c < cols, zero for the
 * padding columns cols ≤ c < W (strides in bytes). Three ways, by layout:
 * - contiguous across the panel (sc = 4, full panel): whole vectors copied per k;
 * - contiguous along k (sk = 4, full panel, W a multiple of 4): 4 source lines × 4 k loaded as
 *   vectors and transposed 4×4 with shuffles (this is NN's A and NT's A and B);
 * - otherwise (edge panels) element by element, down each source line.
 */
export function emitPack(m: ModuleBuilder, fnName: string, W: number): number {
  return m.func(fnName, [I32, I32, I32, I32, I32, I32], [], (f, [src, sc, sk, cols, kc, dst]) => {
    const { v, k, add, mul, set } = exprs(f);
    const kk = f.local(I32), c = f.local(I32), s = f.local(I32), d = f.local(I32), k4 = f.local(I32);
    const line = [f.local(I32), f.local(I32), f.local(I32), f.local(I32)];
    const x = [f.local(V128), f.local(V128), f.local(V128), f.local(V128)];
    const u = [f.local(V128), f.local(V128), f.local(V128), f.local(V128)];
    const full = (): void => { f.localGet(cols); f.i32.const(W); f.i32.eq(); };
    const elementwise = (): void => {
      f.forRange(c, { const: 0 }, { const: W }, 1, () => {
        set(d, add(v(dst), mul(v(c), k(4))));
        f.localGet(c); f.localGet(cols); f.i32.ltS();
        f.if(() => {
          set(s, add(v(src), mul(v(c), v(sc))));
          f.forRange(kk, { const: 0 }, kc, 1, () => {
            f.localGet(d); f.localGet(s); f.f32.load(); f.f32.store();
            set(s, add(v(s), v(sk)));
            set(d, add(v(d), k(4 * W)));
          });
        }, () => {
          f.forRange(kk, { const: 0 }, kc, 1, () => {
            f.localGet(d); f.f32.const(0); f.f32.store();
            set(d, add(v(d), k(4 * W)));
          });
        });
      });
    };
    const transposing = (): void => {
      set(k4, () => { f.localGet(kc); f.i32.const(~3); f.i32.and(); });
      for (let c0 = 0; c0 < W; c0 += 4) {
        for (let i = 0; i < 4; i++) set(line[i], add(v(src), mul(k(c0 + i), v(sc))));
        set(d, add(v(dst), k(4 * c0)));
        f.forRange(kk, { const: 0 }, k4, 4, () => {
          for (let i = 0; i < 4; i++) {
            f.localGet(line[i]); f.v128.load({ align: 0 }); f.localSet(x[i]);
            set(line[i], add(v(line[i]), k(16)));
          }
          // x_i = line i at k..k+3  →  t_q = (x_0q, x_1q, x_2q, x_3q), the panel row of k+q.
          const shuf = (to: Local, a: Local, b: Local, lanes: [number, number, number, number]): void => {
            f.localGet(a); f.localGet(b); f.v128.shuffle32(lanes); f.localSet(to);
          };
          shuf(u[0], x[0], x[1], [0, 4, 1, 5]);
          shuf(u[1], x[0], x[1], [2, 6, 3, 7]);
          shuf(u[2], x[2], x[3], [0, 4, 1, 5]);
          shuf(u[3], x[2], x[3], [2, 6, 3, 7]);
          const out = (q: number, a: Local, b: Local, lanes: [number, number, number, number]): void => {
            f.localGet(d); f.localGet(a); f.localGet(b); f.v128.shuffle32(lanes);
            f.v128.store({ offset: 4 * W * q, align: 0 });
          };
          out(0, u[0], u[2], [0, 1, 4, 5]);
          out(1, u[0], u[2], [2, 3, 6, 7]);
          out(2, u[1], u[3], [0, 1, 4, 5]);
          out(3, u[1], u[3], [2, 3, 6, 7]);
          set(d, add(v(d), k(16 * W)));
        });
        // k left over after the groups of 4 (line pointers already stand at k4)
        f.forRange(kk, k4, kc, 1, () => {
          for (let i = 0; i < 4; i++) {
            f.localGet(d); f.localGet(line[i]); f.f32.load(); f.f32.store({ offset: 4 * i });
            set(line[i], add(v(line[i]), k(4)));
          }
          set(d, add(v(d), k(4 * W)));
        });
      }
    };
    f.localGet(sc); f.i32.const(4); f.i32.eq(); full(); f.i32.and();
    f.if(() => {
      set(s, v(src)); set(d, v(dst));
      f.forRange(kk, { const: 0 }, kc, 1, () => {
        let lane = 0;
        for (; lane + 4 <= W; lane += 4) {
          f.localGet(d); f.localGet(s); f.v128.load({ offset: 4 * lane, align: 0 }); f.v128.store({ offset: 4 * lane, align: 0 });
        }
        for (; lane < W; lane++) {
          f.localGet(d); f.localGet(s); f.f32.load({ offset: 4 * lane }); f.f32.store({ offset: 4 * lane });
        }
        set(s, add(v(s), v(sk)));
        set(d, add(v(d), k(4 * W)));
      });
    }, () => {
      if (W % 4 !== 0) { elementwise(); return; }
      f.localGet(sk); f.i32.const(4); f.i32.eq(); full(); f.i32.and();
      f.if(transposing, elementwise);
    });
  });
}

/**
 * acc += a·b in f32x4 lanes: fused where relaxed (and the hardware has FMA), else mul then add.
 * Every kernel that must give the packed GEMM's bits accumulates through this one expression.
 */
export function madd(f: FunctionBuilder, relaxed: boolean, acc: Local, a: Local, b: Local): void {
  if (relaxed) {
    f.localGet(a); f.localGet(b); f.localGet(acc); f.f32x4.relaxedMadd();
  } else {
    f.localGet(acc); f.localGet(a); f.localGet(b); f.f32x4.mul(); f.f32x4.add();
  }
  f.localSet(acc);
}

/**
 * One k step of a register tile (acc[row][vector]): the vectors of B at pb loaded once, each row's
 * element of A broadcast by `splatA(row)` (which leaves it on the stack) and multiply-added. Both
 * GEMM kernels step through k with it.
 */
export function tileStep(f: FunctionBuilder, relaxed: boolean, acc: Local[][], b: Local[], av: Local, pb: Local, splatA: (row: number) => void): void {
  for (let q = 0; q < b.length; q++) { f.localGet(pb); f.v128.load({ offset: 16 * q, align: 0 }); f.localSet(b[q]); }
  for (let r = 0; r < acc.length; r++) {
    splatA(r); f.localSet(av);
    for (let q = 0; q < b.length; q++) madd(f, relaxed, acc[r][q], av, b[q]);
  }
}

/** body() kc times, counting kk down (not at all when kc is 0): both GEMM kernels' k loop. */
export function kLoop(f: FunctionBuilder, kk: Local, kc: Local, body: () => void): void {
  f.localGet(kc); f.localSet(kk);
  f.block(() => {
    f.localGet(kk); f.i32.eqz(); f.brIf(0);
    f.loop(() => {
      body();
      f.localGet(kk); f.i32.const(-1); f.i32.add(); f.localTee(kk); f.brIf(0);
    });
  });
}

/**
 * The 4 lanes of C at row + offset = (first ? +0 : C) + acc: both kernels end a K block with this
 * add, so a block's sums round the same way onto C, or onto a zeroed C when overwriting.
 */
export function addToC(f: FunctionBuilder, row: Local, offset: number, acc: Local, first: Local): void {
  f.localGet(row);
  f.v128.zero();
  f.localGet(row); f.v128.load({ offset, align: 0 });
  f.localGet(first); f.select();
  f.localGet(acc); f.f32x4.add();
  f.v128.store({ offset, align: 0 });
}

/**
 * kernel(pa, pb, kc, c, ldc, mr, nr, tile, first): the MR×NR block of C at byte address c (row
 * pitch ldc bytes) += packed A panel · packed B panel over kc (first = 1: written as 0 + the sums,
 * C not read). The accumulators are MR·NR/4 v128 locals;
 * per k, NR/4 vectors of B are loaded once and each of the MR elements of A is broadcast
 * (load32_splat) against them. A partial block (mr < MR or nr < NR, at the edges) is spilled to
 * `tile` and added element by element.
 */
export function emitKernel(m: ModuleBuilder, t: GemmModuleOptions): number {
  const { mr: MR, nr: NR } = t;
  const NV = NR / 4;
  return m.func('kernel', [I32, I32, I32, I32, I32, I32, I32, I32, I32], [], (f, [pa, pb, kc, c, ldc, mr, nr, tile, first]) => {
    const { v, k, add, mul, set } = exprs(f);
    const acc: Local[][] = [];
    for (let r = 0; r < MR; r++) acc.push(Array.from({ length: NV }, () => f.local(V128)));
    const b = Array.from({ length: NV }, () => f.local(V128));
    const a = f.local(V128);
    const kk = f.local(I32), row = f.local(I32), i = f.local(I32), j = f.local(I32);
    // Locals start at zero: the accumulators need no initialisation.
    kLoop(f, kk, kc, () => {
      tileStep(f, t.relaxed, acc, b, a, pb, (r) => { f.localGet(pa); f.v128.load32Splat({ offset: 4 * r }); });
      set(pa, add(v(pa), k(4 * MR)));
      set(pb, add(v(pb), k(4 * NR)));
    });
    f.localGet(mr); f.i32.const(MR); f.i32.eq(); f.localGet(nr); f.i32.const(NR); f.i32.eq(); f.i32.and();
    f.if(() => {
      set(row, v(c));
      for (let r = 0; r < MR; r++) {
        for (let q = 0; q < NV; q++) addToC(f, row, 16 * q, acc[r][q], first);
        if (r + 1 < MR) set(row, add(v(row), v(ldc)));
      }
    }, () => {
      for (let r = 0; r < MR; r++) {
        for (let q = 0; q < NV; q++) {
          f.localGet(tile); f.localGet(acc[r][q]); f.v128.store({ offset: 4 * (r * NR + 4 * q) });
        }
      }
      f.forRange(i, { const: 0 }, mr, 1, () => {
        set(row, add(v(c), mul(v(i), v(ldc))));
        f.forRange(j, { const: 0 }, nr, 1, () => {
          // C[row + 4j] += tile[i·NR + j]
          add(v(row), mul(v(j), k(4)))();
          f.f32.const(0);
          add(v(row), mul(v(j), k(4)))(); f.f32.load();
          f.localGet(first); f.select();
          add(v(tile), mul(add(mul(v(i), k(NR)), v(j)), k(4)))(); f.f32.load();
          f.f32.add(); f.f32.store();
        });
      });
    });
  });
}

export function emitGemm(m: ModuleBuilder, t: GemmModuleOptions, packA: number, packB: number, kernel: number): number {
  const { mr: MR, nr: NR } = t;
  const { mc: MC, nc: NC } = blocking(t);
  const params = Array.from({ length: 18 }, () => I32);
  return m.func('gemm', params, [], (f, args) => {
    const [batch, strideA, strideB, strideC, M, N, K, A, transA, B, transB, C, m0, m1, n0, n1, ws, overwrite] = args;
    const { v, k, add, sub, mul, min, set, sel } = exprs(f);
    const L = (): Local => f.local(I32);
    const sai = L(), sak = L(), sbk = L(), sbj = L(), ldc = L();
    const pA = L(), pB = L(), tile = L();
    const bt = L(), jc = L(), nc = L(), pc = L(), kc = L(), ic = L(), mc = L(), jr = L(), ir = L();
    set(sai, sel(transA, k(4), mul(v(K), k(4))));
    set(sak, sel(transA, mul(v(M), k(4)), k(4)));
    set(sbk, sel(transB, k(4), mul(v(N), k(4))));
    set(sbj, sel(transB, mul(v(K), k(4)), k(4)));
    set(ldc, mul(v(N), k(4)));
    set(pA, v(ws));
    set(pB, add(v(ws), k(4 * MC * KC)));
    set(tile, add(v(pB), k(4 * KC * NC)));
    f.forRange(bt, { const: 0 }, batch, 1, () => {
      f.forRange(jc, n0, n1, NC, () => {
        set(nc, min(k(NC), sub(v(n1), v(jc))));
        f.forRange(pc, { const: 0 }, K, KC, () => {
          set(kc, min(k(KC), sub(v(K), v(pc))));
          f.forRange(jr, { const: 0 }, nc, NR, () => {
            add(v(B), add(mul(add(v(jc), v(jr)), v(sbj)), mul(v(pc), v(sbk))))();
            f.localGet(sbj); f.localGet(sbk);
            min(k(NR), sub(v(nc), v(jr)))();
            f.localGet(kc);
            add(v(pB), mul(mul(v(jr), v(kc)), k(4)))();
            f.call(packB);
          });
          f.forRange(ic, m0, m1, MC, () => {
            set(mc, min(k(MC), sub(v(m1), v(ic))));
            f.forRange(ir, { const: 0 }, mc, MR, () => {
              add(v(A), add(mul(add(v(ic), v(ir)), v(sai)), mul(v(pc), v(sak))))();
              f.localGet(sai); f.localGet(sak);
              min(k(MR), sub(v(mc), v(ir)))();
              f.localGet(kc);
              add(v(pA), mul(mul(v(ir), v(kc)), k(4)))();
              f.call(packA);
            });
            f.forRange(jr, { const: 0 }, nc, NR, () => {
              f.forRange(ir, { const: 0 }, mc, MR, () => {
                add(v(pA), mul(mul(v(ir), v(kc)), k(4)))();
                add(v(pB), mul(mul(v(jr), v(kc)), k(4)))();
                f.localGet(kc);
                add(v(C), mul(add(mul(add(v(ic), v(ir)), v(N)), add(v(jc), v(jr))), k(4)))();
                f.localGet(ldc);
                min(k(MR), sub(v(mc), v(ir)))();
                min(k(NR), sub(v(nc), v(jr)))();
                f.localGet(tile);
                // Only the first KC block overwrites; later ones add to it.
                f.localGet(overwrite); f.localGet(pc); f.i32.eqz(); f.i32.and();
                f.call(kernel);
              });
            });
          });
        });
      });
      set(A, add(v(A), v(strideA)));
      set(B, add(v(B), v(strideB)));
      set(C, add(v(C), v(strideC)));
    });
  });
}
