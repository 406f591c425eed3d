import { F32, F64, I32, V128, type FunctionBuilder, type Local, type ModuleBuilder } from './assembler.js';
import { VecMath } from './math-kernel.js';

/*
 * Every elementwise kernel comes from one emitter (tfjs-backend-wasm's and DESIGN.md's "one generic
 * form, specialised by a tiny table"): an op is a few lines that turn f32x4 operands into an f32x4
 * result, and emitMap wraps it in the loops, the broadcast forms and the remainder.
 *
 * Binary ops (arity 2):  name(M, N, a, aRow, aCol, b, bRow, bCol, out, ...params)
 *   out[i·N + j] = op(a[i·aRow + j·aCol], b[i·bRow + j·bCol]) for i < M, j < N; aCol, bCol ∈ {0, 1}.
 *   Same length: M = 1, N = n, both (N, 1). Scalar b: (0, 0). Row vector b [N] across [M, N]:
 *   (0, 1). Column b [M, 1]: (1, 0). Any other broadcast is the caller's loop over contiguous blocks.
 * Unary ops (arity 1):  name(n, x, out, ...params)
 * Pointers in bytes, counts and strides in elements. Per row: an f32x4 loop over N & ~3, then the
 * remainder one element at a time through the same op (the element splatted, lane 0 stored), so the
 * tail computes exactly what the vector loop would. Each output is written after its inputs are
 * read, so out may be a, b or x itself (not a partial overlap, nor an operand smaller than out).
 *
 * Every op here is the same as the JavaScript kernel bit for bit, except exp, sigmoid, tanh and
 * log (ulp bounds in math-kernel.ts). JavaScript computes in doubles and rounds once on store; for a
 * single IEEE operation on two float32 values that is the float32 operation. Where the JavaScript
 * formula has more than one operation or a double-precision constant (scale by 0.1, leaky slope,
 * the sigmoid and tanh backward), the op widens to f64x2 (`viaF64`) and rounds once, as JS does.
 */

export interface MapOp {
  name: string;
  arity: 1 | 2;
  /** Scalar parameters appended to the signature. */
  params?: Array<typeof F32 | typeof F64>;
  /** Uses math-kernel.ts's functions: their constants are loaded into locals before the loops. */
  math?: boolean;
  /** Pushes the f32x4 result; x: the operands (v128 locals), p: the parameter locals. */
  body: (f: FunctionBuilder, x: Local[], p: Local[], math: VecMath) => void;
}

/** Pushes the f32x4 made of `body` evaluated on the widened low and high halves of `xs`. */
function viaF64(f: FunctionBuilder, math: VecMath, xs: Local[], body: (ys: Local[]) => void): void {
  const ys = xs.map((_, i) => math.vec(6 + i));
  for (let half = 0; half < 2; half++) {
    xs.forEach((x, i) => {
      f.localGet(x);
      if (half) { f.localGet(x); f.v128.shuffle32([2, 3, 2, 3]); }
      f.f64x2.promoteLow(); f.localSet(ys[i]);
    });
    body(ys);
    f.f32x4.demote();
  }
  f.v128.shuffle32([0, 1, 4, 5]);
}

const zero = (f: FunctionBuilder): void => void f.v128.splatConst('f32', 0);
const one = (f: FunctionBuilder): void => void f.v128.splatConst('f32', 1);

/** NaN-propagating max/min with JavaScript's tie rule (x >= y → x, so maximum(−0, +0) = −0). */
function pick(cmp: 'ge' | 'le') {
  return (f: FunctionBuilder, [x, y]: Local[]): void => {
    f.localGet(x); f.localGet(y);
    f.localGet(x); f.localGet(y); f.f32x4[cmp]();
    f.localGet(x); f.localGet(x); f.f32x4.ne(); f.v128.or();
    f.v128.bitselect();
  };
}

const bin = (name: string, op: 'add' | 'sub' | 'mul' | 'div'): MapOp => ({
  name, arity: 2, body: (f, [a, b]) => { f.localGet(a); f.localGet(b); f.f32x4[op](); },
});

/** The table: name → body. Export names are these, prefixed with `map_`. */
export const MAP_OPS: readonly MapOp[] = [
  bin('add', 'add'), bin('sub', 'sub'), bin('mul', 'mul'), bin('div', 'div'),
  { name: 'maximum', arity: 2, body: pick('ge') },
  { name: 'minimum', arity: 2, body: pick('le') },
  { name: 'neg', arity: 1, body: (f, [x]) => { f.localGet(x); f.f32x4.neg(); } },
  // c exactly a float32: one f32 multiply is JavaScript's double multiply rounded once.
  { name: 'scale', arity: 1, params: [F32], body: (f, [x], [c]) => { f.localGet(x); f.localGet(c); f.f32x4.splat(); f.f32x4.mul(); } },
  {
    name: 'scale64', arity: 1, params: [F64],
    body: (f, [x], [c], m) => viaF64(f, m, [x], ([y]) => { f.localGet(y); f.localGet(c); f.f64x2.splat(); f.f64x2.mul(); }),
  },
  // max(x, +0): +0 for x ≤ 0 (−0 too, as the JavaScript kernel), NaN stays NaN.
  { name: 'relu', arity: 1, body: (f, [x]) => { f.localGet(x); zero(f); f.f32x4.max(); } },
  {
    name: 'leakyRelu', arity: 1, params: [F64],
    body: (f, [x], [s], m) => {
      f.localGet(x);
      viaF64(f, m, [x], ([y]) => { f.localGet(s); f.f64x2.splat(); f.localGet(y); f.f64x2.mul(); });
      f.localGet(x); zero(f); f.f32x4.gt(); f.v128.bitselect();
    },
  },
  { name: 'exp', arity: 1, math: true, body: (_f, [x], _p, m) => m.exp(x) },
  { name: 'sigmoid', arity: 1, math: true, body: (_f, [x], _p, m) => m.sigmoid(x) },
  { name: 'tanh', arity: 1, math: true, body: (_f, [x], _p, m) => m.tanh(x) },
  { name: 'log', arity: 1, math: true, body: (_f, [x], _p, m) => m.log(x) },
  // Backward: (g, x or y) → gradient. g·[x > 0] with the mask as 1.0/0.0, as reluBackward.
  { name: 'reluGrad', arity: 2, body: (f, [g, x]) => { f.localGet(g); f.localGet(x); zero(f); f.f32x4.gt(); one(f); f.v128.and(); f.f32x4.mul(); } },
  // g·(x > 0 ? 1 : slope), slope rounded to float32 as the JavaScript mask array stores it.
  {
    name: 'leakyReluGrad', arity: 2, params: [F32],
    body: (f, [g, x], [s]) => {
      f.localGet(g); one(f); f.localGet(s); f.f32x4.splat(); f.localGet(x); zero(f); f.f32x4.gt(); f.v128.bitselect(); f.f32x4.mul();
    },
  },
  // (g·y)·(1 − y), y = sigmoid's output
  {
    name: 'sigmoidGrad', arity: 2,
    body: (f, [g, y], _p, m) => viaF64(f, m, [g, y], ([g2, y2]) => {
      f.localGet(g2); f.localGet(y2); f.f64x2.mul(); f.f64.const(1); f.f64x2.splat(); f.localGet(y2); f.f64x2.sub(); f.f64x2.mul();
    }),
  },
  // g·(1 − y·y), y = tanh's output
  {
    name: 'tanhGrad', arity: 2,
    body: (f, [g, y], _p, m) => viaF64(f, m, [g, y], ([g2, y2]) => {
      f.localGet(g2); f.f64.const(1); f.f64x2.splat(); f.localGet(y2); f.localGet(y2); f.f64x2.mul(); f.f64x2.sub(); f.f64x2.mul();
    }),
  },
];

/** Emits one op's kernel into m; returns its function index. */
export function emitMap(m: ModuleBuilder, op: MapOp): number {
  const params = op.params ?? [];
  const head = op.arity === 2 ? [I32, I32, I32, I32, I32, I32, I32, I32, I32] : [I32, I32, I32];
  return m.func(`map_${op.name}`, [...head, ...params], [], (f, args) => {
    const math = new VecMath(f);
    const p = args.slice(head.length);
    const [M, N, a, aRow, aCol, b, bRow, bCol, out] = op.arity === 2
      ? args
      : [null, args[0], args[1], null, null, null, null, null, args[2]];
    const i = f.local(I32), j = f.local(I32), N4 = f.local(I32), pa = f.local(I32), pb = f.local(I32), po = f.local(I32);
    const xa = f.local(V128), xb = f.local(V128);
    const xs = op.arity === 2 ? [xa, xb] : [xa];
    const addr = (base: Local): void => { f.localGet(base); f.localGet(j); f.i32.const(4); f.i32.mul(); f.i32.add(); };
    f.localGet(N!); f.i32.const(~3); f.i32.and(); f.localSet(N4);
    if (op.math) math.preload();
    /** The row loops, with operand k streamed (vector loads) when vecK[k], else splatted once. */
    const row = (vec: boolean[]): void => {
      xs.forEach((x, k) => { if (!vec[k]) { f.localGet(k ? pb : pa); f.f32.load(); f.f32x4.splat(); f.localSet(x); } });
      f.forRange(j, { const: 0 }, N4, 4, () => {
        xs.forEach((x, k) => { if (vec[k]) { addr(k ? pb : pa); f.v128.load({ align: 0 }); f.localSet(x); } });
        addr(po); op.body(f, xs, p, math); f.v128.store({ align: 0 });
      });
      f.forRange(j, N4, N!, 1, () => {
        xs.forEach((x, k) => { if (vec[k]) { addr(k ? pb : pa); f.f32.load(); f.f32x4.splat(); f.localSet(x); } });
        addr(po); op.body(f, xs, p, math); f.f32x4.extractLane(0); f.f32.store();
      });
    };
    if (op.arity === 1) {
      f.localGet(a!); f.localSet(pa); f.localGet(out!); f.localSet(po);
      row([true]);
      return;
    }
    const step = (ptr: Local, base: Local, stride: Local | null): void => {
      f.localGet(base); f.localGet(i);
      if (stride) { f.localGet(stride); f.i32.mul(); }
      f.i32.const(4); f.i32.mul(); f.i32.add(); f.localSet(ptr);
    };
    f.forRange(i, { const: 0 }, M!, 1, () => {
      step(pa, a!, aRow); step(pb, b!, bRow); step(po, out!, N);
      f.localGet(aCol!);
      f.if(() => { f.localGet(bCol!); f.if(() => row([true, true]), () => row([true, false])); },
        () => { f.localGet(bCol!); f.if(() => row([false, true]), () => row([false, false])); });
    });
  });
}

/** Emits and exports every op of MAP_OPS. */
export function emitMapKernels(m: ModuleBuilder): void {
  for (const op of MAP_OPS) m.export(emitMap(m, op));
}
