import { F32, F64, I32, ModuleBuilder, V128, type FunctionBuilder, type Local } from './assembler.js';

/*
 * The vector cross network's forward pass (src/tensor/cross.ts has the math and the JavaScript
 * reference) as an f32x4 kernel, emitted into the same module as the GEMM:
 *
 *   crossForward(B, D, L, x0, w, q, betaL, out, p)
 *
 * per row r: p_l = x0_r·w_l for l < L (f32x4 dot, two accumulators), c = 1, c += c·p_l + q_l in
 * float64 (the scalar recursion, as in JavaScript), then out_r = x0_r·c + β_L. x0, out: [B, D]
 * f32; w: [L, D] f32; q: [L] f64; betaL: [D] f32; p: [B, L] f64 (backward reads it). Byte pointers.
 */

/** Emits crossForward into m; returns its index. */
export function emitCrossForward(m: ModuleBuilder, relaxed: boolean): number {
  const params = [I32, I32, I32, I32, I32, I32, I32, I32, I32];
  return m.func('crossForward', params, [], (f, [B, D, L, x0, w, q, betaL, out, p]) => {
    const r = f.local(I32), l = f.local(I32), j = f.local(I32), D8 = f.local(I32), D4 = f.local(I32);
    const xr = f.local(I32), wl = f.local(I32), orow = f.local(I32), pr = f.local(I32);
    const acc0 = f.local(V128), acc1 = f.local(V128), cv = f.local(V128);
    const c = f.local(F64), pl = f.local(F64);
    const s = f.local(F32);
    const get = (x: Local): void => void f.localGet(x);
    const addTo = (x: Local, n: number | Local): void => {
      f.localGet(x); if (typeof n === 'number') f.i32.const(n); else f.localGet(n); f.i32.add(); f.localSet(x);
    };
    const madd = (acc: Local, a: () => void, b: () => void): void => {
      if (relaxed) { a(); b(); f.localGet(acc); f.f32x4.relaxedMadd(); } else { f.localGet(acc); a(); b(); f.f32x4.mul(); f.f32x4.add(); }
      f.localSet(acc);
    };
    get(D); f.i32.const(~7); f.i32.and(); f.localSet(D8);
    get(D); f.i32.const(~3); f.i32.and(); f.localSet(D4);
    f.localGet(x0); f.localSet(xr);
    f.localGet(out); f.localSet(orow);
    f.localGet(p); f.localSet(pr);
    f.forRange(r, { const: 0 }, B, 1, () => {
      f.f64.const(1); f.localSet(c);
      f.localGet(w); f.localSet(wl);
      f.forRange(l, { const: 0 }, L, 1, () => {
        f.v128.zero(); f.localSet(acc0);
        f.v128.zero(); f.localSet(acc1);
        const at = (base: Local, off: number) => (): void => {
          f.localGet(base); f.localGet(j); f.i32.const(4); f.i32.mul(); f.i32.add(); f.v128.load({ offset: off, align: 0 });
        };
        f.forRange(j, { const: 0 }, D8, 8, () => {
          madd(acc0, at(xr, 0), at(wl, 0));
          madd(acc1, at(xr, 16), at(wl, 16));
        });
        f.forRange(j, D8, D4, 4, () => madd(acc0, at(xr, 0), at(wl, 0)));
        f.localGet(acc0); f.localGet(acc1); f.f32x4.add(); f.localSet(acc0);
        f.localGet(acc0); f.f32x4.extractLane(0); f.localGet(acc0); f.f32x4.extractLane(1); f.f32.add();
        f.localGet(acc0); f.f32x4.extractLane(2); f.localGet(acc0); f.f32x4.extractLane(3); f.f32.add();
        f.f32.add(); f.localSet(s);
        scalarTail(f, j, D4, D, () => {
          f.localGet(s);
          f.localGet(xr); f.localGet(j); f.i32.const(4); f.i32.mul(); f.i32.add(); f.f32.load();
          f.localGet(wl); f.localGet(j); f.i32.const(4); f.i32.mul(); f.i32.add(); f.f32.load();
          f.f32.mul(); f.f32.add(); f.localSet(s);
        });
        f.localGet(s); f.f64.fromF32(); f.localSet(pl);
        f.localGet(pr); f.localGet(pl); f.f64.store();
        addTo(pr, 8);
        // c += c·p_l + q_l
        f.localGet(c); f.localGet(c); f.localGet(pl); f.f64.mul();
        f.localGet(q); f.localGet(l); f.i32.const(8); f.i32.mul(); f.i32.add(); f.f64.load();
        f.f64.add(); f.f64.add(); f.localSet(c);
        f.localGet(wl); f.localGet(D); f.i32.const(4); f.i32.mul(); f.i32.add(); f.localSet(wl);
      });
      f.localGet(c); f.f32.fromF64(); f.f32x4.splat(); f.localSet(cv);
      f.forRange(j, { const: 0 }, D4, 4, () => {
        f.localGet(orow); f.localGet(j); f.i32.const(4); f.i32.mul(); f.i32.add();
        const x = (): void => { f.localGet(xr); f.localGet(j); f.i32.const(4); f.i32.mul(); f.i32.add(); f.v128.load({ align: 0 }); };
        const bt = (): void => { f.localGet(betaL); f.localGet(j); f.i32.const(4); f.i32.mul(); f.i32.add(); f.v128.load({ align: 0 }); };
        if (relaxed) { x(); f.localGet(cv); bt(); f.f32x4.relaxedMadd(); } else { x(); f.localGet(cv); f.f32x4.mul(); bt(); f.f32x4.add(); }
        f.v128.store({ align: 0 });
      });
      scalarTail(f, j, D4, D, () => {
        f.localGet(orow); f.localGet(j); f.i32.const(4); f.i32.mul(); f.i32.add();
        f.localGet(xr); f.localGet(j); f.i32.const(4); f.i32.mul(); f.i32.add(); f.f32.load();
        f.localGet(c); f.f32.fromF64(); f.f32.mul();
        f.localGet(betaL); f.localGet(j); f.i32.const(4); f.i32.mul(); f.i32.add(); f.f32.load();
        f.f32.add(); f.f32.store();
      });
      f.localGet(xr); f.localGet(D); f.i32.const(4); f.i32.mul(); f.i32.add(); f.localSet(xr);
      f.localGet(orow); f.localGet(D); f.i32.const(4); f.i32.mul(); f.i32.add(); f.localSet(orow);
    });
  });
}

function scalarTail(f: FunctionBuilder, j: Local, from: Local, to: Local, body: () => void): void {
  f.forRange(j, from, to, 1, body);
}


/*
 *   crossBackward(B, D, L, g, x0, w, p, q, gx0, gw, colG, Q, scratch)
 *
 * the per-row part of the stack's backward (cross.ts, crossStackBackward): per row, c_0..c_L
 * from p and q (float64), one pass over g and x0 for gc_L = g·x0 (f32x4), colG += g and
 * gx0 = c_L·g, the reverse scalar recursion gp_l = gc·c_l, Q_l += gc, gc += gc·p_l (float64), then
 * per layer gx0 += gp_l·w_l and gw_l += gp_l·x0. A pointer of 0 skips that output (gx0, gw,
 * colG). g, x0, gx0: [B, D] f32; w, gw: [L, D] f32; colG: [D] f32; p: [B, L] f64; q, Q: [L] f64;
 * scratch: 16·(L + 1) bytes. The O(L·D) rank-one terms (Q·β, Q·w) stay in JavaScript.
 */
export function emitCrossBackward(m: ModuleBuilder, relaxed: boolean): number {
  const params = Array.from({ length: 13 }, () => I32);
  return m.func('crossBackward', params, [], (f, [B, D, L, g, x0, w, p, q, gx0, gw, colG, Q, scratch]) => {
    const r = f.local(I32), l = f.local(I32), j = f.local(I32), D8 = f.local(I32), D4 = f.local(I32);
    const gr = f.local(I32), xr = f.local(I32), or = f.local(I32), pr = f.local(I32), cb = f.local(I32), gpb = f.local(I32);
    const wl = f.local(I32), gwl = f.local(I32);
    const acc0 = f.local(V128), acc1 = f.local(V128), cv = f.local(V128), gv = f.local(V128);
    const cc = f.local(F64), gc = f.local(F64), pl = f.local(F64);
    const s = f.local(F32), gs = f.local(F32);
    const at = (base: Local): void => { f.localGet(base); f.localGet(j); f.i32.const(4); f.i32.mul(); f.i32.add(); };
    const vload = (base: Local, off = 0) => (): void => { at(base); f.v128.load({ offset: off, align: 0 }); };
    const f64at = (base: Local, idx: Local): void => { f.localGet(base); f.localGet(idx); f.i32.const(8); f.i32.mul(); f.i32.add(); };
    const madd = (acc: Local, a: () => void, b: () => void): void => {
      if (relaxed) { a(); b(); f.localGet(acc); f.f32x4.relaxedMadd(); } else { f.localGet(acc); a(); b(); f.f32x4.mul(); f.f32x4.add(); }
      f.localSet(acc);
    };
    /** dst[j..] = dst[j..] + a·src[j..] over the row (a: v128 local, scalar copy in lane 0). */
    const axpy = (dst: Local, src: Local, a: Local, aScalar: Local): void => {
      f.forRange(j, { const: 0 }, D4, 4, () => {
        at(dst);
        if (relaxed) { f.localGet(a); vload(src)(); vload(dst)(); f.f32x4.relaxedMadd(); } else { vload(dst)(); f.localGet(a); vload(src)(); f.f32x4.mul(); f.f32x4.add(); }
        f.v128.store({ align: 0 });
      });
      f.forRange(j, D4, D, 1, () => {
        at(dst); at(dst); f.f32.load(); f.localGet(aScalar); at(src); f.f32.load(); f.f32.mul(); f.f32.add(); f.f32.store();
      });
    };
    f.localGet(D); f.i32.const(~7); f.i32.and(); f.localSet(D8);
    f.localGet(D); f.i32.const(~3); f.i32.and(); f.localSet(D4);
    f.localGet(scratch); f.localSet(cb);
    f.localGet(scratch); f.localGet(L); f.i32.const(1); f.i32.add(); f.i32.const(8); f.i32.mul(); f.i32.add(); f.localSet(gpb);
    f.localGet(g); f.localSet(gr); f.localGet(x0); f.localSet(xr); f.localGet(gx0); f.localSet(or); f.localGet(p); f.localSet(pr);
    f.forRange(r, { const: 0 }, B, 1, () => {
      // c_0..c_L, exactly as forward computed them.
      f.f64.const(1); f.localSet(cc);
      f.forRange(l, { const: 0 }, L, 1, () => {
        f64at(cb, l); f.localGet(cc); f.f64.store();
        f.localGet(cc); f.localGet(cc); f64at(pr, l); f.f64.load(); f.f64.mul(); f.f64.add();
        f64at(q, l); f.f64.load(); f.f64.add(); f.localSet(cc);
      });
      // gc_L = g·x0; colG += g; gx0 = c_L·g.
      f.v128.zero(); f.localSet(acc0); f.v128.zero(); f.localSet(acc1);
      f.forRange(j, { const: 0 }, D8, 8, () => { madd(acc0, vload(gr), vload(xr)); madd(acc1, vload(gr, 16), vload(xr, 16)); });
      f.forRange(j, D8, D4, 4, () => madd(acc0, vload(gr), vload(xr)));
      f.localGet(acc0); f.localGet(acc1); f.f32x4.add(); f.localSet(acc0);
      f.localGet(acc0); f.f32x4.extractLane(0); f.localGet(acc0); f.f32x4.extractLane(1); f.f32.add();
      f.localGet(acc0); f.f32x4.extractLane(2); f.localGet(acc0); f.f32x4.extractLane(3); f.f32.add();
      f.f32.add(); f.localSet(s);
      f.forRange(j, D4, D, 1, () => { f.localGet(s); at(gr); f.f32.load(); at(xr); f.f32.load(); f.f32.mul(); f.f32.add(); f.localSet(s); });
      f.localGet(colG);
      f.if(() => {
        f.forRange(j, { const: 0 }, D4, 4, () => { at(colG); vload(colG)(); vload(gr)(); f.f32x4.add(); f.v128.store({ align: 0 }); });
        f.forRange(j, D4, D, 1, () => { at(colG); at(colG); f.f32.load(); at(gr); f.f32.load(); f.f32.add(); f.f32.store(); });
      });
      f.localGet(gx0);
      f.if(() => {
        f.localGet(cc); f.f32.fromF64(); f.localTee(gs); f.f32x4.splat(); f.localSet(cv);
        f.forRange(j, { const: 0 }, D4, 4, () => { at(or); vload(gr)(); f.localGet(cv); f.f32x4.mul(); f.v128.store({ align: 0 }); });
        f.forRange(j, D4, D, 1, () => { at(or); at(gr); f.f32.load(); f.localGet(gs); f.f32.mul(); f.f32.store(); });
      });
      // Reverse recursion: gp_l = gc·c_l, Q_l += gc, gc += gc·p_l.
      f.localGet(s); f.f64.fromF32(); f.localSet(gc);
      f.localGet(L); f.localSet(l);
      f.block(() => {
        f.loop(() => {
          f.localGet(l); f.i32.eqz(); f.brIf(1);
          f.localGet(l); f.i32.const(1); f.i32.sub(); f.localSet(l);
          f64at(gpb, l); f.localGet(gc); f64at(cb, l); f.f64.load(); f.f64.mul(); f.f64.store();
          f64at(Q, l); f64at(Q, l); f.f64.load(); f.localGet(gc); f.f64.add(); f.f64.store();
          f64at(pr, l); f.f64.load(); f.localSet(pl);
          f.localGet(gc); f.localGet(gc); f.localGet(pl); f.f64.mul(); f.f64.add(); f.localSet(gc);
          f.br(0);
        });
      });
      // Per layer: gx0 += gp_l·w_l, gw_l += gp_l·x0.
      f.localGet(w); f.localSet(wl); f.localGet(gw); f.localSet(gwl);
      f.forRange(l, { const: 0 }, L, 1, () => {
        f64at(gpb, l); f.f64.load(); f.f32.fromF64(); f.localTee(gs); f.f32x4.splat(); f.localSet(gv);
        f.localGet(gx0); f.if(() => axpy(or, wl, gv, gs));
        f.localGet(gw); f.if(() => axpy(gwl, xr, gv, gs));
        f.localGet(wl); f.localGet(D); f.i32.const(4); f.i32.mul(); f.i32.add(); f.localSet(wl);
        f.localGet(gwl); f.localGet(D); f.i32.const(4); f.i32.mul(); f.i32.add(); f.localSet(gwl);
      });
      const step = (x: Local, bytes: number | 'row'): void => {
        f.localGet(x);
        if (bytes === 'row') { f.localGet(D); f.i32.const(4); f.i32.mul(); } else f.i32.const(bytes);
        f.i32.add(); f.localSet(x);
      };
      step(gr, 'row'); step(xr, 'row'); step(or, 'row');
      f.localGet(pr); f.localGet(L); f.i32.const(8); f.i32.mul(); f.i32.add(); f.localSet(pr);
    });
  });
}
