import { F64, V128, type FunctionBuilder, type Local } from './assembler.js';

/*
 * Transcendental functions on f32x4, for the elementwise kernels (map-kernel.ts) and softmax
 * (row-kernel.ts). Written the way XNNPACK writes its f32 exp: Cody–Waite range reduction
 * x = n·ln2 + r (|r| ≤ ln2/2, ln2 split in a 15-bit head, so n·ln2_hi is exact, and a tail), a
 * polynomial for e^r, and 2^n built in the exponent bits. No relaxed-SIMD FMA: the results are
 * the same bits whether relaxed SIMD is on or off, and on every host.
 *
 * exp: x is clamped to [−104, 89] first (NaN passes through), so n ∈ [−150, 128]; 2^n is
 * applied as 2^(n>>1)·2^(n−(n>>1)), both factors normal, the first product exact, so a result that
 * overflows becomes +Inf and one in the subnormal range is rounded once, correctly for the
 * polynomial's value. e^r − 1 = r + r²·q(r) (Taylor to r^7: truncation < 0.05 ulp) keeps the small
 * part apart from the 1 until the last add. Measured bound (test/tensor/wasm/glue-math.test.ts): ≤ 2 ulp
 * against Math.exp rounded to float32 over the whole float32 range, with exact +Inf above
 * 88.7228394, +0 below −103.972076, NaN for NaN, exp(±0) = 1.
 *
 * sigmoid(x) = 1/(1 + e) for x ≥ 0, e/(1 + e) for x < 0, with e = exp(−|x|) ∈ (0, 1] (no overflow,
 * like the JavaScript kernel's two branches). tanh(|x|) = −m/(m + 2) with m = expm1(−2|x|), expm1 by
 * the same reduction as (2^n − 1) + 2^n·(e^r − 1), which keeps relative accuracy for small |x|
 * (no 1 − 2/(e + 1) cancellation); the sign of x is copied on, so tanh(−0) = −0.
 */

const LOG2E = Math.fround(Math.LOG2E);
const LN2_HI = 0.693145751953125; // 0x3F317200: 15 significant bits
const LN2_LO = Math.fround(Math.LN2 - LN2_HI);
/** 1/k! for k = 2..7: e^r − 1 − r = r²·(C[0] + r·(C[1] + …)). */
const C = [1 / 2, 1 / 6, 1 / 24, 1 / 120, 1 / 720, 1 / 5040];

/** Per-function scratch locals for the expansions below, created on first use. */
export class VecMath {
  private readonly v: Local[] = [];
  private readonly d: Local[] = [];

  constructor(readonly f: FunctionBuilder) {}

  /** The i-th v128 scratch local (stable across calls within one function). */
  vec(i: number): Local {
    while (this.v.length <= i) this.v.push(this.f.local(V128));
    return this.v[i];
  }

  /** The i-th f64 scratch local. */
  f64(i: number): Local {
    while (this.d.length <= i) this.d.push(this.f.local(F64));
    return this.d[i];
  }

  private readonly consts = new Map<number, Local>();

  /**
   * Materialises the constants of exp, sigmoid, tanh and log in locals, once, where this is
   * called (before the loops): the functions below then read locals instead of rebuilding
   * each v128 constant per vector.
   */
  preload(): void {
    const all = [LOG2E, LN2_HI, LN2_LO, ...C, 1, 2, -2, -20, -104, 89, 0, 2 ** 23, 2 ** -126, 0.5,
      0.66666662693, 0.28498786688, 0.40000972152, 0.24279078841, 6.9313812256e-01, 9.0580006145e-06];
    for (const v of all) {
      const key = Math.fround(v);
      if (this.consts.has(key)) continue;
      const l = this.f.local(V128);
      this.f.v128.splatConst('f32', v); this.f.localSet(l);
      this.consts.set(key, l);
    }
  }

  private k(v: number): void {
    const l = this.consts.get(Math.fround(v));
    if (l !== undefined) this.f.localGet(l); else this.f.v128.splatConst('f32', v);
  }

  /**
   * Leaves r (in scratch 1) and n (scratch 2, f32 lanes) for x in local `x`, already clamped,
   * using scratch 1–2; pushes nothing.
   */
  private reduce(x: Local): void {
    const f = this.f, r = this.vec(1), n = this.vec(2);
    f.localGet(x); this.k(LOG2E); f.f32x4.mul(); f.f32x4.nearest(); f.localSet(n);
    f.localGet(x); f.localGet(n); this.k(LN2_HI); f.f32x4.mul(); f.f32x4.sub();
    f.localGet(n); this.k(LN2_LO); f.f32x4.mul(); f.f32x4.sub(); f.localSet(r);
  }

  /** Pushes e^r − 1 for r in scratch 1 (uses scratch 3). */
  private expm1Poly(): void {
    const f = this.f, r = this.vec(1), q = this.vec(3);
    this.k(C[C.length - 1]);
    for (let i = C.length - 2; i >= 0; i--) { f.localGet(r); f.f32x4.mul(); this.k(C[i]); f.f32x4.add(); }
    f.localSet(q);
    f.localGet(r); f.localGet(r); f.localGet(r); f.f32x4.mul(); f.localGet(q); f.f32x4.mul(); f.f32x4.add();
  }

  /** Pushes 2^k as f32 lanes for integer-valued f32 lanes k on the stack, k ∈ [−126, 127]. */
  private pow2(): void {
    const f = this.f;
    f.i32x4.fromF32x4(); f.v128.splatConst('i32', 127); f.i32x4.add(); f.i32.const(23); f.i32x4.shl();
  }

  /** Pushes exp(x) for the f32x4 in local `x` (uses scratch 0–4). */
  exp(x: Local): void {
    const f = this.f, xc = this.vec(0), n = this.vec(2), h = this.vec(4);
    // pmax/pmin with x first: a NaN x passes through (one instruction each, unlike max/min)
    f.localGet(x); this.k(-104); f.f32x4.pmax(); this.k(89); f.f32x4.pmin(); f.localSet(xc);
    this.reduce(xc);
    // h = n >> 1 (as f32, exact), the rest n − h: two normal factors.
    f.localGet(n); f.i32x4.fromF32x4(); f.i32.const(1); f.i32x4.shrS(); f.f32x4.fromI32x4(); f.localSet(h);
    this.expm1Poly(); this.k(1); f.f32x4.add();
    f.localGet(h); this.pow2(); f.f32x4.mul();
    f.localGet(n); f.localGet(h); f.f32x4.sub(); this.pow2(); f.f32x4.mul();
  }

  /** Pushes sigmoid(x) for the f32x4 in local `x` (uses scratch 0–5). */
  sigmoid(x: Local): void {
    const f = this.f, e = this.vec(5);
    f.localGet(x); f.f32x4.abs(); f.f32x4.neg(); f.localSet(e);
    this.exp(e); f.localSet(e);
    // numerator: 1 where x ≥ 0, else e (NaN x: e is NaN, and so is the result)
    this.k(1); f.localGet(e); f.localGet(x); f.v128.splatConst('f32', 0); f.f32x4.ge(); f.v128.bitselect();
    this.k(1); f.localGet(e); f.f32x4.add(); f.f32x4.div();
  }

  /** Pushes tanh(x) for the f32x4 in local `x` (uses scratch 0–5). */
  tanh(x: Local): void {
    const f = this.f, z = this.vec(0), n = this.vec(2), s = this.vec(4), m = this.vec(5);
    // z = −2|x| ∈ [−20, 0]: below −20, m rounds to −1 and tanh to 1 anyway.
    f.localGet(x); f.f32x4.abs(); this.k(-2); f.f32x4.mul(); this.k(-20); f.f32x4.pmax(); f.localSet(z);
    this.reduce(z);
    f.localGet(n); this.pow2(); f.localSet(s);
    // m = (2^n − 1) + 2^n·(e^r − 1)
    f.localGet(s); this.k(1); f.f32x4.sub();
    this.expm1Poly(); f.localGet(s); f.f32x4.mul(); f.f32x4.add(); f.localSet(m);
    f.localGet(m); f.localGet(m); this.k(2); f.f32x4.add(); f.f32x4.div(); f.f32x4.abs();
    f.localGet(x); f.v128.splatConst('i32', -0x80000000); f.v128.and(); f.v128.or();
  }

  /**
   * Pushes log(x) for the f32x4 in local `x` (uses scratch 0–5): fdlibm's logf on four lanes.
   * x = 2^k·m with m ∈ [√2/2, √2) (subnormal x scaled by 2^23 first), f = m − 1, s = f/(2 + f),
   * log(1 + f) = f − f²/2 + s·(f²/2 + R(s²)) with fdlibm's Lg1–Lg4, k·ln2 split in head and tail.
   * Then log(±0) = −Inf, log(x < 0) = NaN, log(+Inf) = +Inf, NaN stays NaN.
   */
  log(x: Local): void {
    const f = this.f, xs = this.vec(0), k = this.vec(1), fm = this.vec(2), sv = this.vec(3), z = this.vec(4), t = this.vec(5);
    const small = (): void => { f.localGet(x); this.k(2 ** -126); f.f32x4.lt(); };
    f.localGet(x); this.k(2 ** 23); f.f32x4.mul(); f.localGet(x); small(); f.v128.bitselect(); f.localSet(xs);
    // ix = bits + (0x3f800000 − 0x3f3504f3): the exponent of m ∈ [√2/2, √2) lands in k
    f.localGet(xs); f.v128.splatConst('i32', 0x3f800000 - 0x3f3504f3); f.i32x4.add(); f.localSet(t);
    f.localGet(t); f.i32.const(23); f.i32x4.shrS(); f.v128.splatConst('i32', 127); f.i32x4.sub();
    f.v128.splatConst('i32', -23); f.v128.zero(); small(); f.v128.bitselect(); f.i32x4.add(); f.f32x4.fromI32x4(); f.localSet(k);
    f.localGet(t); f.v128.splatConst('i32', 0x007fffff); f.v128.and(); f.v128.splatConst('i32', 0x3f3504f3); f.i32x4.add();
    this.k(1); f.f32x4.sub(); f.localSet(fm);
    f.localGet(fm); this.k(2); f.localGet(fm); f.f32x4.add(); f.f32x4.div(); f.localSet(sv);
    f.localGet(sv); f.localGet(sv); f.f32x4.mul(); f.localSet(z);
    // R = z·(Lg1 + w·Lg3) + w·(Lg2 + w·Lg4), w = z²
    f.localGet(z); f.localGet(z); f.f32x4.mul(); f.localSet(t);
    f.localGet(z); this.k(0.66666662693); f.localGet(t); this.k(0.28498786688); f.f32x4.mul(); f.f32x4.add(); f.f32x4.mul();
    f.localGet(t); this.k(0.40000972152); f.localGet(t); this.k(0.24279078841); f.f32x4.mul(); f.f32x4.add(); f.f32x4.mul();
    f.f32x4.add(); f.localSet(z); // z ← R
    this.k(0.5); f.localGet(fm); f.f32x4.mul(); f.localGet(fm); f.f32x4.mul(); f.localSet(t); // t ← hfsq
    // k·ln2_hi − ((hfsq − (s·(hfsq + R) + k·ln2_lo)) − f)
    f.localGet(k); this.k(6.9313812256e-01); f.f32x4.mul();
    f.localGet(t);
    f.localGet(sv); f.localGet(t); f.localGet(z); f.f32x4.add(); f.f32x4.mul(); f.localGet(k); this.k(9.0580006145e-06); f.f32x4.mul(); f.f32x4.add();
    f.f32x4.sub(); f.localGet(fm); f.f32x4.sub(); f.f32x4.sub();
    // specials
    this.k(NaN); f.localSet(t); f.localSet(z); // t ← NaN, z ← r
    f.localGet(t); f.localGet(z); f.localGet(x); this.k(0); f.f32x4.lt(); f.localGet(x); f.localGet(x); f.f32x4.ne(); f.v128.or(); f.v128.bitselect();
    f.localSet(z);
    this.k(-Infinity); f.localGet(z); f.localGet(x); this.k(0); f.f32x4.eq(); f.v128.bitselect();
    f.localSet(z);
    this.k(Infinity); f.localGet(z); f.localGet(x); this.k(Infinity); f.f32x4.eq(); f.v128.bitselect();
  }
}
