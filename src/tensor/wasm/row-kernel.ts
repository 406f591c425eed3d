import { F32, F64, I32, V128, type FunctionBuilder, type Local, type ModuleBuilder } from './assembler.js';
import { VecMath } from './math-kernel.js';

/*
 * Row-wise glue kernels over dense row-major float32 [M, N] in the arena (byte pointers, element
 * counts and strides):
 *
 *   softmax(M, N, x, out)          out = softmax over each row, max-subtracted
 *   softmaxGrad(M, N, y, g, out)   out = y ⊙ (g − Σ_k g_k·y_k) per row (y: softmax's output)
 *   rowSum(M, N, x, out)           out[i] = Σ_j x[i, j]        ([M, N] → [M])
 *   colSum(M, N, x, out)           out[j] = Σ_i x[i, j]        ([M, N] → [N], bias gradients)
 *   gatherRows(m, n, src, idx, out)  out[i, :] = src[idx[i], :], idx int32 (checked by the caller)
 *   copyBlocks(M, n, src, srcStride, dst, dstStride)  M blocks of n floats (concat, narrow)
 *   fill(n, out, value)
 *
 * Summation orders are fixed (no dependence on anything but the inputs' shape), chosen to give the
 * JavaScript kernels' bits where that is cheap:
 * - colSum: out starts at +0 and each row is added in order, in float32 — src/tensor/reduce.ts's
 *   loop exactly, so bit-identical to it.
 * - rowSum and the Σ g·y of softmaxGrad: one float64 accumulator per row from +0, j in order,
 *   rounded once — reduce.ts's and softmax.ts's loops exactly, so bit-identical too (rowSum runs
 *   four rows' chains side by side to hide the add latency; each chain is still sequential).
 *   softmaxGrad's output y·(g − dot) is evaluated in float64 and rounded once, as JavaScript does.
 * - softmax: the max as softmax.ts takes it (pmax lane by lane, order-free), e_k = exp(x_k − max) in float32
 *   (math-kernel.ts), Σ e_k in float64 as four lane sums over j < N & ~3 combined as
 *   (l0 + l2) + (l1 + l3), then the remaining j in order; out = e_k · (1/Σ) in float64, rounded
 *   once. A row of −Inf only gives NaN, as in JavaScript (max −Inf is taken as 0).
 * out must not overlap the inputs, except softmax/softmaxGrad's out, which may be x / g itself.
 */

const at = (f: FunctionBuilder, base: Local, j: Local): void => {
  f.localGet(base); f.localGet(j); f.i32.const(4); f.i32.mul(); f.i32.add();
};
const advance = (f: FunctionBuilder, p: Local, n: Local): void => {
  f.localGet(p); f.localGet(n); f.i32.const(4); f.i32.mul(); f.i32.add(); f.localSet(p);
};

/** dst[0..n) = src[0..n) (floats; j, n4 scratch locals; n4 must hold n & ~3). */
function copyRow(f: FunctionBuilder, src: Local, dst: Local, n: Local, n4: Local, j: Local): void {
  f.forRange(j, { const: 0 }, n4, 4, () => { at(f, dst, j); at(f, src, j); f.v128.load({ align: 0 }); f.v128.store({ align: 0 }); });
  f.forRange(j, n4, n, 1, () => { at(f, dst, j); at(f, src, j); f.f32.load(); f.f32.store(); });
}

function and4(f: FunctionBuilder, n: Local, to: Local): void {
  f.localGet(n); f.i32.const(~3); f.i32.and(); f.localSet(to);
}

export function emitRowKernels(m: ModuleBuilder): void {
  m.export(m.func('softmax', [I32, I32, I32, I32], [], (f, [M, N, x, out]) => {
    const math = new VecMath(f);
    const i = f.local(I32), j = f.local(I32), N4 = f.local(I32), xr = f.local(I32), orow = f.local(I32);
    const v = f.local(V128), mx = f.local(V128), e = f.local(V128), acc0 = f.local(V128), acc1 = f.local(V128);
    const mxs = f.local(F32), s = f.local(F64);
    and4(f, N, N4);
    f.localGet(x); f.localSet(xr); f.localGet(out); f.localSet(orow);
    f.forRange(i, { const: 0 }, M, 1, () => {
      f.v128.splatConst('f32', -Infinity); f.localSet(mx);
      // pmax(m, v) = m < v ? v : m, softmax.ts's `if (v > m) m = v` lane by lane
      f.forRange(j, { const: 0 }, N4, 4, () => { f.localGet(mx); at(f, xr, j); f.v128.load({ align: 0 }); f.f32x4.pmax(); f.localSet(mx); });
      f.localGet(mx); f.f32x4.extractLane(0); f.localGet(mx); f.f32x4.extractLane(1); f.f32.max();
      f.localGet(mx); f.f32x4.extractLane(2); f.localGet(mx); f.f32x4.extractLane(3); f.f32.max(); f.f32.max(); f.localSet(mxs);
      f.forRange(j, N4, N, 1, () => { f.localGet(mxs); at(f, xr, j); f.f32.load(); f.f32.max(); f.localSet(mxs); });
      f.f32.const(0); f.localGet(mxs); f.localGet(mxs); f.f32.const(-Infinity); f.f32.eq(); f.select(); f.f32x4.splat(); f.localSet(mx);
      // e = exp(x − max) into out, Σ e in float64
      f.v128.zero(); f.localSet(acc0); f.v128.zero(); f.localSet(acc1);
      f.forRange(j, { const: 0 }, N4, 4, () => {
        at(f, xr, j); f.v128.load({ align: 0 }); f.localGet(mx); f.f32x4.sub(); f.localSet(v);
        math.exp(v); f.localSet(e);
        at(f, orow, j); f.localGet(e); f.v128.store({ align: 0 });
        f.localGet(acc0); f.localGet(e); f.f64x2.promoteLow(); f.f64x2.add(); f.localSet(acc0);
        f.localGet(acc1); f.localGet(e); f.localGet(e); f.v128.shuffle32([2, 3, 2, 3]); f.f64x2.promoteLow(); f.f64x2.add(); f.localSet(acc1);
      });
      f.localGet(acc0); f.localGet(acc1); f.f64x2.add(); f.localSet(acc0);
      f.localGet(acc0); f.f64x2.extractLane(0); f.localGet(acc0); f.f64x2.extractLane(1); f.f64.add(); f.localSet(s);
      f.forRange(j, N4, N, 1, () => {
        at(f, xr, j); f.f32.load(); f.f32x4.splat(); f.localGet(mx); f.f32x4.sub(); f.localSet(v);
        math.exp(v); f.localSet(e);
        at(f, orow, j); f.localGet(e); f.f32x4.extractLane(0); f.f32.store();
        f.localGet(s); f.localGet(e); f.f32x4.extractLane(0); f.f64.fromF32(); f.f64.add(); f.localSet(s);
      });
      // out = e · (1/Σ), in float64
      f.f64.const(1); f.localGet(s); f.f64.div(); f.f64x2.splat(); f.localSet(acc1);
      const scale = (): void => {
        f.localGet(e); f.f64x2.promoteLow(); f.localGet(acc1); f.f64x2.mul(); f.f32x4.demote();
        f.localGet(e); f.localGet(e); f.v128.shuffle32([2, 3, 2, 3]); f.f64x2.promoteLow(); f.localGet(acc1); f.f64x2.mul(); f.f32x4.demote();
        f.v128.shuffle32([0, 1, 4, 5]);
      };
      f.forRange(j, { const: 0 }, N4, 4, () => { at(f, orow, j); f.v128.load({ align: 0 }); f.localSet(e); at(f, orow, j); scale(); f.v128.store({ align: 0 }); });
      f.forRange(j, N4, N, 1, () => { at(f, orow, j); f.f32.load(); f.f32x4.splat(); f.localSet(e); at(f, orow, j); scale(); f.f32x4.extractLane(0); f.f32.store(); });
      advance(f, xr, N); advance(f, orow, N);
    });
  }));

  m.export(m.func('softmaxGrad', [I32, I32, I32, I32, I32], [], (f, [M, N, y, g, out]) => {
    const i = f.local(I32), j = f.local(I32), N4 = f.local(I32), yr = f.local(I32), gr = f.local(I32), orow = f.local(I32);
    const dot = f.local(F64), dv = f.local(V128), yv = f.local(V128), gv = f.local(V128);
    and4(f, N, N4);
    f.localGet(y); f.localSet(yr); f.localGet(g); f.localSet(gr); f.localGet(out); f.localSet(orow);
    const half = (hi: boolean): void => {
      for (const x of [gv, yv]) {
        f.localGet(x); if (hi) { f.localGet(x); f.v128.shuffle32([2, 3, 2, 3]); } f.f64x2.promoteLow();
      }
      // stack: g64, y64 → y64·(g64 − dot)
      f.localSet(dv); f.localGet(dot); f.f64x2.splat(); f.f64x2.sub(); f.localGet(dv); f.f64x2.mul(); f.f32x4.demote();
    };
    const body = (): void => { half(false); half(true); f.v128.shuffle32([0, 1, 4, 5]); };
    f.forRange(i, { const: 0 }, M, 1, () => {
      f.f64.const(0); f.localSet(dot);
      f.forRange(j, { const: 0 }, N, 1, () => {
        f.localGet(dot); at(f, gr, j); f.f32.load(); f.f64.fromF32(); at(f, yr, j); f.f32.load(); f.f64.fromF32(); f.f64.mul(); f.f64.add(); f.localSet(dot);
      });
      f.forRange(j, { const: 0 }, N4, 4, () => {
        at(f, gr, j); f.v128.load({ align: 0 }); f.localSet(gv); at(f, yr, j); f.v128.load({ align: 0 }); f.localSet(yv);
        at(f, orow, j); body(); f.v128.store({ align: 0 });
      });
      f.forRange(j, N4, N, 1, () => {
        at(f, gr, j); f.f32.load(); f.f32x4.splat(); f.localSet(gv); at(f, yr, j); f.f32.load(); f.f32x4.splat(); f.localSet(yv);
        at(f, orow, j); body(); f.f32x4.extractLane(0); f.f32.store();
      });
      advance(f, yr, N); advance(f, gr, N); advance(f, orow, N);
    });
  }));

  m.export(m.func('rowSum', [I32, I32, I32, I32], [], (f, [M, N, x, out]) => {
    const i = f.local(I32), j = f.local(I32), M4 = f.local(I32), stride = f.local(I32), p = f.local(I32);
    const s = [f.local(F64), f.local(F64), f.local(F64), f.local(F64)];
    f.localGet(N); f.i32.const(4); f.i32.mul(); f.localSet(stride);
    f.localGet(M); f.i32.const(~3); f.i32.and(); f.localSet(M4);
    const rows = (k: number, from: Local | { const: number }, to: Local): void => {
      f.forRange(i, from, to, k, () => {
        for (let q = 0; q < k; q++) { f.f64.const(0); f.localSet(s[q]); }
        // p = x + (i·N + j)·4 walks row i; row i + q is q·stride further
        f.localGet(x); f.localGet(i); f.localGet(stride); f.i32.mul(); f.i32.add(); f.localSet(p);
        f.forRange(j, { const: 0 }, N, 1, () => {
          for (let q = 0; q < k; q++) {
            f.localGet(s[q]); f.localGet(p);
            if (q) { f.localGet(stride); f.i32.const(q); f.i32.mul(); f.i32.add(); }
            f.f32.load(); f.f64.fromF32(); f.f64.add(); f.localSet(s[q]);
          }
          f.localGet(p); f.i32.const(4); f.i32.add(); f.localSet(p);
        });
        for (let q = 0; q < k; q++) { at(f, out, i); f.localGet(s[q]); f.f32.fromF64(); f.f32.store({ offset: 4 * q }); }
      });
    };
    rows(4, { const: 0 }, M4);
    rows(1, M4, M);
  }));

  m.export(m.func('colSum', [I32, I32, I32, I32], [], (f, [M, N, x, out]) => {
    const i = f.local(I32), j = f.local(I32), N4 = f.local(I32), xr = f.local(I32);
    and4(f, N, N4);
    f.forRange(j, { const: 0 }, N4, 4, () => { at(f, out, j); f.v128.zero(); f.v128.store({ align: 0 }); });
    f.forRange(j, N4, N, 1, () => { at(f, out, j); f.f32.const(0); f.f32.store(); });
    f.localGet(x); f.localSet(xr);
    f.forRange(i, { const: 0 }, M, 1, () => {
      f.forRange(j, { const: 0 }, N4, 4, () => {
        at(f, out, j); at(f, out, j); f.v128.load({ align: 0 }); at(f, xr, j); f.v128.load({ align: 0 }); f.f32x4.add(); f.v128.store({ align: 0 });
      });
      f.forRange(j, N4, N, 1, () => { at(f, out, j); at(f, out, j); f.f32.load(); at(f, xr, j); f.f32.load(); f.f32.add(); f.f32.store(); });
      advance(f, xr, N);
    });
  }));

  m.export(m.func('gatherRows', [I32, I32, I32, I32, I32], [], (f, [rows, n, src, idx, out]) => {
    const i = f.local(I32), j = f.local(I32), n4 = f.local(I32), s = f.local(I32), d = f.local(I32);
    and4(f, n, n4);
    f.localGet(out); f.localSet(d);
    f.forRange(i, { const: 0 }, rows, 1, () => {
      f.localGet(src); at(f, idx, i); f.i32.load(); f.localGet(n); f.i32.mul(); f.i32.const(4); f.i32.mul(); f.i32.add(); f.localSet(s);
      copyRow(f, s, d, n, n4, j);
      advance(f, d, n);
    });
  }));

  m.export(m.func('copyBlocks', [I32, I32, I32, I32, I32, I32], [], (f, [M, n, src, srcStride, dst, dstStride]) => {
    const i = f.local(I32), j = f.local(I32), n4 = f.local(I32), s = f.local(I32), d = f.local(I32);
    and4(f, n, n4);
    f.localGet(src); f.localSet(s); f.localGet(dst); f.localSet(d);
    f.forRange(i, { const: 0 }, M, 1, () => {
      copyRow(f, s, d, n, n4, j);
      advance(f, s, srcStride); advance(f, d, dstStride);
    });
  }));

  m.export(m.func('fill', [I32, I32, F32], [], (f, [n, out, value]) => {
    const j = f.local(I32), n4 = f.local(I32), v = f.local(V128);
    and4(f, n, n4);
    f.localGet(value); f.f32x4.splat(); f.localSet(v);
    f.forRange(j, { const: 0 }, n4, 4, () => { at(f, out, j); f.localGet(v); f.v128.store({ align: 0 }); });
    f.forRange(j, n4, n, 1, () => { at(f, out, j); f.localGet(value); f.f32.store(); });
  }));
}
