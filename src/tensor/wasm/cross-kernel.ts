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

