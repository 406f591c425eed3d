import { F64, I32, V128, type FunctionBuilder, type Local, type ModuleBuilder } from './assembler.js';

/*
 * Fused optimizer steps over one flat float32 range: parameters, gradients and state buffers are
 * byte pointers into the arena, n elements each, updated in place.
 *
 * Bit-identical to src/nn/optim/*.ts, by construction: those loops compute in doubles and round
 * only where they store into a Float32Array (and read the rounded value back where the code reads
 * the array again). Each kernel below evaluates the same expression tree, in the same order, in
 * f64x2 lanes (4 elements = two halves, widened), rounds with `r32` exactly where JavaScript stores
 * and re-reads, and rounds every output once on its final store. A step is therefore the same bits
 * on the JavaScript or the WebAssembly path, whatever size decides between them.
 *
 * One kernel per code path of the JavaScript optimizers (the caller picks the same path):
 *   adamF32(n, θ, g, m, v, b1, b2, stepSize, bc2Sqrt, eps)                 adam-float32.ts
 *   adamDecayF32(n, θ, g, m, v, b1, b2, shrink, l2, stepSize, bc2Sqrt, eps)  (decayed)
 *   adamAmsgradF32(n, θ, g, m, v, vmax, b1, b2, shrink, l2, stepSize, bc2Sqrt, eps)
 *   adamAmsgradPlainF32(n, θ, g, m, v, vmax, b1, b2, stepSize, bc2Sqrt, eps)   (no decay: θ·1 and
 *       g + 0·θ would turn an infinite θ into NaN where PyTorch and the JavaScript loop skip them)
 *   sgd(n, θ, g, lr, wd)                                                   SGD, momentum 0
 *   sgdMomentum{,First}{,Nesterov}(n, θ, g, buf, lr, wd, mu, dampening)     SGD, momentum > 0
 *   adagrad(n, θ, g, sum, clr, wd, eps)
 *   rmsprop{,Centered}{,Momentum}(n, θ, g, v, [gAvg], [buf], lr, alpha, eps, wd, [mu])
 * Scalars are float64 arguments, computed by the caller as the JavaScript optimizer does
 * (stepSize = lr/(1 − β1^t), bc2Sqrt = √(1 − β2^t), clr = lr/(1 + (t − 1)·lrDecay), …).
 *
 * Each also comes as `<name>F32`: the same expression tree in f32x4 lanes (scalars, and the
 * derived 1 − β etc., computed in float64 and rounded once to float32), as PyTorch evaluates its
 * float32 optimizers; four lanes instead of two. Adam on float32 storage computes in float32 in
 * JavaScript too (adam-float32.ts), so Adam comes in this form only, bit-identical to that loop:
 * its two divisions and square root per element made it a tenth of a stacked training step in
 * float64 lanes. The other optimizers' F32 forms are not bit-identical to their JavaScript loops
 * (a few float32 roundings per step, see glue-optim.test.ts).
 */

type E = () => void;

interface Ctx {
  /** The current value of a stream (f64x2: its widened half), or of a scalar (splatted). */
  s: Record<string, E>;
  /** Assigns a stream's current value (stored, rounded, at the end of the element). */
  set: (stream: string, e: E) => void;
  /** Evaluates e once into a temporary. */
  let: (e: E) => E;
  add: (a: E, b: E) => E; sub: (a: E, b: E) => E; mul: (a: E, b: E) => E; div: (a: E, b: E) => E;
  sqrt: (a: E) => E;
  /** Rounds to float32 and back: what a store into a Float32Array and a read back give. */
  r32: (a: E) => E;
  /** max-update as `if (x > y) y = x`: x where x > y, else y. */
  maxOf: (x: E, y: E) => E;
}

interface OptimSpec {
  name: string;
  /** Emitted in f32x4 lanes only (its JavaScript loop computes in float32). */
  float32Only?: boolean;
  streams: string[];
  scalars: string[];
  /** Scalars derived once from the arguments (1 − β1, …), by name. */
  derived?: Record<string, (c: Ctx) => E>;
  body: (c: Ctx) => void;
}

function emitOptim(m: ModuleBuilder, spec: OptimSpec, wide: boolean): number {
  const params = [I32, ...spec.streams.map(() => I32), ...spec.scalars.map(() => F64)];
  return m.func(wide ? spec.name : `${spec.name}F32`, params, [], (f: FunctionBuilder, args) => {
    const n = args[0];
    const ptr = Object.fromEntries(spec.streams.map((s, i) => [s, args[1 + i]]));
    const j = f.local(I32), n4 = f.local(I32), off = f.local(I32);
    const raw: Record<string, Local> = {}, cur: Record<string, Local> = {}, half: Record<string, Local> = {};
    for (const s of spec.streams) { raw[s] = f.local(V128); cur[s] = f.local(V128); half[s] = f.local(V128); }
    const scal: Record<string, Local> = {};
    const temps: Local[] = [];
    let used = 0;
    // f64x2 lanes (wide) or f32x4; the scalars are always derived in float64 first
    let w = true;
    const written = new Set<string>();
    const op = (d: () => void, s: () => void) => (a: E, b: E): E => () => { a(); b(); if (w) d(); else s(); };
    const c: Ctx = {
      s: {},
      set: (s, e) => { e(); f.localSet(cur[s]); written.add(s); },
      let: (e) => {
        if (used === temps.length) temps.push(f.local(V128));
        const t = temps[used++];
        e(); f.localSet(t);
        return () => void f.localGet(t);
      },
      add: op(() => f.f64x2.add(), () => f.f32x4.add()), sub: op(() => f.f64x2.sub(), () => f.f32x4.sub()),
      mul: op(() => f.f64x2.mul(), () => f.f32x4.mul()), div: op(() => f.f64x2.div(), () => f.f32x4.div()),
      sqrt: (a) => () => { a(); if (w) f.f64x2.sqrt(); else f.f32x4.sqrt(); },
      r32: (a) => () => { a(); if (w) { f.f32x4.demote(); f.f64x2.promoteLow(); } },
      maxOf: (x, y) => () => { x(); y(); x(); y(); if (w) f.f64x2.gt(); else f.f32x4.gt(); f.v128.bitselect(); },
    };
    for (const s of spec.streams) c.s[s] = () => void f.localGet(cur[s]);
    spec.scalars.forEach((name, i) => {
      scal[name] = f.local(V128);
      f.localGet(args[1 + spec.streams.length + i]); f.f64x2.splat(); f.localSet(scal[name]);
      c.s[name] = () => void f.localGet(scal[name]);
    });
    c.s.one = () => { f.f64.const(1); f.f64x2.splat(); };
    for (const [name, e] of Object.entries(spec.derived ?? {})) {
      scal[name] = f.local(V128);
      e(c)(); f.localSet(scal[name]);
      c.s[name] = () => void f.localGet(scal[name]);
    }
    if (!wide) {
      for (const l of Object.values(scal)) { f.localGet(l); f.f32x4.demote(); f.f32x4.extractLane(0); f.f32x4.splat(); f.localSet(l); }
      w = false;
    }
    const store = (s: string, vector: boolean, value: () => void): void => {
      f.localGet(ptr[s]); f.localGet(off); f.i32.add(); value();
      if (vector) f.v128.store({ align: 0 }); else { f.f32x4.extractLane(0); f.f32.store(); }
    };
    /** One group of four elements (or one, splatted): load, compute (two widened halves), store. */
    const element = (vector: boolean): void => {
      for (const s of spec.streams) {
        f.localGet(ptr[s]); f.localGet(off); f.i32.add();
        if (vector) f.v128.load({ align: 0 }); else { f.f32.load(); f.f32x4.splat(); }
        f.localSet(wide ? raw[s] : cur[s]);
      }
      if (!wide) {
        used = 0;
        spec.body(c);
        for (const s of written) store(s, vector, () => void f.localGet(cur[s]));
        return;
      }
      for (let h = 0; h < 2; h++) {
        for (const s of spec.streams) {
          f.localGet(raw[s]); if (h) { f.localGet(raw[s]); f.v128.shuffle32([2, 3, 2, 3]); }
          f.f64x2.promoteLow(); f.localSet(cur[s]);
        }
        used = 0;
        spec.body(c);
        for (const s of written) {
          if (!vector) store(s, false, () => { f.localGet(cur[s]); f.f32x4.demote(); });
          else if (h === 0) { f.localGet(cur[s]); f.f32x4.demote(); f.localSet(half[s]); } else {
            store(s, true, () => { f.localGet(half[s]); f.localGet(cur[s]); f.f32x4.demote(); f.v128.shuffle32([0, 1, 4, 5]); });
          }
        }
        if (!vector) break; // one element: lane 0 of the low half is all there is
      }
    };
    f.localGet(n); f.i32.const(~3); f.i32.and(); f.localSet(n4);
    f.forRange(j, { const: 0 }, n4, 4, () => { f.localGet(j); f.i32.const(4); f.i32.mul(); f.localSet(off); element(true); });
    f.forRange(j, n4, n, 1, () => { f.localGet(j); f.i32.const(4); f.i32.mul(); f.localSet(off); element(false); });
  });
}

/** Adam's three paths: the L2 term / decoupled shrink and AMSGrad as adam.ts has them. */
function adamSpec(name: string, decay: boolean, amsgrad: boolean): OptimSpec {
  const streams = ['theta', 'grad', 'm', 'v', ...(amsgrad ? ['vmax'] : [])];
  const scalars = ['b1', 'b2', ...(decay ? ['shrink', 'l2'] : []), 'stepSize', 'bc2Sqrt', 'eps'];
  return {
    name, streams, scalars, float32Only: true,
    derived: { c1: (c) => c.sub(c.s.one, c.s.b1), c2: (c) => c.sub(c.s.one, c.s.b2) },
    body: (c) => {
      const { s, add, sub, mul, div, sqrt, r32 } = c;
      if (decay) c.set('theta', r32(mul(s.theta, s.shrink)));
      const g = decay ? c.let(add(s.grad, mul(s.l2, s.theta))) : s.grad;
      const vi = c.let(add(mul(s.b2, s.v), mul(mul(s.c2, g), g)));
      c.set('m', r32(add(mul(s.b1, s.m), mul(s.c1, g))));
      c.set('v', vi);
      if (amsgrad) c.set('vmax', c.maxOf(r32(vi), s.vmax));
      const denomV = amsgrad ? s.vmax : vi;
      c.set('theta', sub(s.theta, div(mul(s.stepSize, s.m), add(div(sqrt(denomV), s.bc2Sqrt), s.eps))));
    },
  };
}

function sgdMomentumSpec(name: string, first: boolean, nesterov: boolean): OptimSpec {
  return {
    name, streams: ['theta', 'grad', 'buf'], scalars: ['lr', 'wd', 'mu', 'dampening'],
    derived: { keep: (c) => c.sub(c.s.one, c.s.dampening) },
    body: (c) => {
      const { s, add, sub, mul } = c;
      const g = c.let(add(s.grad, mul(s.wd, s.theta)));
      // b unrounded: the JavaScript loop keeps it in a local after storing it
      const b = first ? g : c.let(add(mul(s.mu, s.buf), mul(s.keep, g)));
      c.set('buf', b);
      c.set('theta', sub(s.theta, mul(s.lr, nesterov ? add(g, mul(s.mu, b)) : b)));
    },
  };
}

function rmspropSpec(name: string, centered: boolean, momentum: boolean): OptimSpec {
  return {
    name,
    streams: ['theta', 'grad', 'v', ...(centered ? ['gAvg'] : []), ...(momentum ? ['buf'] : [])],
    scalars: ['lr', 'alpha', 'eps', 'wd', ...(momentum ? ['mu'] : [])],
    derived: { a1: (c) => c.sub(c.s.one, c.s.alpha) },
    body: (c) => {
      const { s, add, sub, mul, div, sqrt, r32 } = c;
      const g = c.let(add(s.grad, mul(s.wd, s.theta)));
      c.set('v', r32(add(mul(s.alpha, s.v), mul(mul(s.a1, g), g))));
      let vt: E = s.v;
      if (centered) {
        c.set('gAvg', r32(add(mul(s.alpha, s.gAvg), mul(s.a1, g))));
        vt = sub(s.v, mul(s.gAvg, s.gAvg));
      }
      const step = div(g, add(sqrt(vt), s.eps));
      if (momentum) {
        c.set('buf', r32(add(mul(s.mu, s.buf), step)));
        c.set('theta', sub(s.theta, mul(s.lr, s.buf)));
      } else {
        c.set('theta', sub(s.theta, mul(s.lr, step)));
      }
    },
  };
}

export const OPTIM_SPECS: readonly OptimSpec[] = [
  adamSpec('adam', false, false), adamSpec('adamDecay', true, false), adamSpec('adamAmsgrad', true, true),
  adamSpec('adamAmsgradPlain', false, true),
  {
    name: 'sgd', streams: ['theta', 'grad'], scalars: ['lr', 'wd'],
    body: (c) => c.set('theta', c.sub(c.s.theta, c.mul(c.s.lr, c.add(c.s.grad, c.mul(c.s.wd, c.s.theta))))),
  },
  sgdMomentumSpec('sgdMomentum', false, false), sgdMomentumSpec('sgdMomentumFirst', true, false),
  sgdMomentumSpec('sgdMomentumNesterov', false, true), sgdMomentumSpec('sgdMomentumFirstNesterov', true, true),
  {
    name: 'adagrad', streams: ['theta', 'grad', 'sum'], scalars: ['clr', 'wd', 'eps'],
    body: (c) => {
      const { s, add, sub, mul, div, sqrt, r32 } = c;
      const g = c.let(add(s.grad, mul(s.wd, s.theta)));
      c.set('sum', r32(add(s.sum, mul(g, g))));
      c.set('theta', sub(s.theta, div(mul(s.clr, g), add(sqrt(s.sum), s.eps))));
    },
  },
  rmspropSpec('rmsprop', false, false), rmspropSpec('rmspropCentered', true, false),
  rmspropSpec('rmspropMomentum', false, true), rmspropSpec('rmspropCenteredMomentum', true, true),
];

/** Emits and exports every spec in float32 lanes (name + 'F32') and, unless float32-only, exact (f64x2, by its name). */
export function emitOptimKernels(m: ModuleBuilder): void {
  for (const spec of OPTIM_SPECS) {
    if (!spec.float32Only) m.export(emitOptim(m, spec, true));
    m.export(emitOptim(m, spec, false));
  }
}
