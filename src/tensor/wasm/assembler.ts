/*
 * A small WebAssembly assembler: kernels are written in TypeScript as calls named after the
 * instructions (`f.f32x4.add()`, `f.localGet(x)`), and `ModuleBuilder.finish()` encodes the binary
 * module at load time.
 *
 * Why emit at runtime instead of committing a module assembled from .wat sources:
 * - the kernels are generated: a GEMM micro-kernel is MR×NR accumulators unrolled, and the same
 *   generator emits the relaxed-SIMD (fused multiply-add) or the plain mul+add variant, or another
 *   register tile, from one parameter — a .wat file per variant would be copies of one another;
 * - no build step, no binary blob in git that must be checked against its source, and nothing to
 *   install: the TypeScript below *is* the source a reviewer reads, and tsc compiles it like the
 *   rest of the package, for Node and browsers alike;
 * - the cost is small: encoding the GEMM module takes well under a millisecond.
 * (jax-js's wasmblr takes the same route; this one is written from the WebAssembly spec.)
 *
 * Deliberately minimal: one imported memory, functions, exports, the instructions the kernels use.
 * The operand stack is not type-checked here — WebAssembly validation does that when the module
 * is compiled, and reports the function and byte offset of a mistake.
 *
 * Usage:
 *   const m = new ModuleBuilder({ shared: true, maximumPages: 65536 });
 *   const add = m.func('add', [I32, I32], [I32], (f, [a, b]) => {
 *     f.localGet(a); f.localGet(b); f.i32.add();
 *   });
 *   m.export(add);
 *   const bytes = m.finish();
 */

export type ValType = 0x7f | 0x7d | 0x7c | 0x7b; // i32, f32, f64, v128
export const I32: ValType = 0x7f;
export const F32: ValType = 0x7d;
export const F64: ValType = 0x7c;
export const V128: ValType = 0x7b;

/** A local or parameter, by index. */
export type Local = number & { readonly __local: unique symbol };

function uleb(n: number, out: number[]): void {
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`assembler: unsigned LEB128 of ${n}`);
  do {
    let byte = n & 0x7f;
    n = Math.floor(n / 128);
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
}

function sleb(n: number, out: number[]): void {
  if (!Number.isInteger(n) || n < -(2 ** 31) || n >= 2 ** 32) throw new RangeError(`assembler: signed LEB128 of ${n}`);
  n |= 0; // i32 semantics: 2^31..2^32-1 wrap to negatives
  for (;;) {
    const byte = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (byte & 0x40) === 0) || (n === -1 && (byte & 0x40) !== 0)) {
      out.push(byte);
      return;
    }
    out.push(byte | 0x80);
  }
}

function name(s: string, out: number[]): void {
  const bytes = new TextEncoder().encode(s);
  uleb(bytes.length, out);
  for (const b of bytes) out.push(b);
}

function section(id: number, body: number[], out: number[]): void {
  out.push(id);
  uleb(body.length, out);
  for (const b of body) out.push(b);
}

/** Byte offset and log2 alignment of a memory access; offset must be a constant ≥ 0. */
export interface MemArg {
  offset?: number;
  align?: number;
}

/** The body of one function under construction. */
export class FunctionBuilder {
  readonly bytes: number[] = [];
  private readonly locals: ValType[] = [];

  constructor(readonly params: readonly ValType[], readonly results: readonly ValType[]) {}

  /** A fresh local of the given type (zero-initialised, as WebAssembly guarantees). */
  local(type: ValType): Local {
    this.locals.push(type);
    return (this.params.length + this.locals.length - 1) as Local;
  }

  emit(...b: number[]): this {
    for (const x of b) this.bytes.push(x);
    return this;
  }

  // ---- variables
  localGet(l: Local): this { this.bytes.push(0x20); uleb(l, this.bytes); return this; }
  localSet(l: Local): this { this.bytes.push(0x21); uleb(l, this.bytes); return this; }
  localTee(l: Local): this { this.bytes.push(0x22); uleb(l, this.bytes); return this; }

  // ---- control: structured blocks take their body as a callback, so nesting cannot go wrong
  /** `block … end`; `br(0)` inside jumps to its end. */
  block(body: () => void): this {
    this.bytes.push(0x02, 0x40);
    body();
    this.bytes.push(0x0b);
    return this;
  }
  /** `loop … end`; `br(0)` / `brIf(0)` inside jumps back to its start. */
  loop(body: () => void): this {
    this.bytes.push(0x03, 0x40);
    body();
    this.bytes.push(0x0b);
    return this;
  }
  /** `if … else … end` on the i32 at the top of the stack. */
  if(then: () => void, otherwise?: () => void): this {
    this.bytes.push(0x04, 0x40);
    then();
    if (otherwise) {
      this.bytes.push(0x05);
      otherwise();
    }
    this.bytes.push(0x0b);
    return this;
  }
  br(label: number): this { this.bytes.push(0x0c); uleb(label, this.bytes); return this; }
  brIf(label: number): this { this.bytes.push(0x0d); uleb(label, this.bytes); return this; }
  return(): this { this.bytes.push(0x0f); return this; }
  call(fn: number): this { this.bytes.push(0x10); uleb(fn, this.bytes); return this; }
  drop(): this { this.bytes.push(0x1a); return this; }
  select(): this { this.bytes.push(0x1b); return this; }

  /**
   * `for (i = from; i < to; i += step) body()` over i32 locals (`to` a local or a constant,
   * evaluated before every iteration). The loop test sits in front, so zero iterations are fine.
   */
  forRange(i: Local, from: Local | { const: number }, to: Local | { const: number }, step: number | Local, body: () => void): this {
    const push = (v: Local | { const: number }): void => void (typeof v === 'number' ? this.localGet(v) : this.i32.const(v.const));
    push(from);
    this.localSet(i);
    this.block(() => {
      this.loop(() => {
        this.localGet(i); push(to); this.i32.geS(); this.brIf(1);
        body();
        this.localGet(i);
        if (typeof step === 'number') this.i32.const(step); else this.localGet(step);
        this.i32.add(); this.localSet(i);
        this.br(0);
      });
    });
    return this;
  }

  private mem(op: number[], m: MemArg, naturalAlign: number): this {
    for (const b of op) this.bytes.push(b);
    uleb(m.align ?? naturalAlign, this.bytes);
    uleb(m.offset ?? 0, this.bytes);
    return this;
  }

  readonly i32 = {
    const: (v: number): this => { this.bytes.push(0x41); sleb(v, this.bytes); return this; },
    load: (m: MemArg = {}): this => this.mem([0x28], m, 2),
    store: (m: MemArg = {}): this => this.mem([0x36], m, 2),
    eqz: (): this => this.emit(0x45),
    eq: (): this => this.emit(0x46),
    ne: (): this => this.emit(0x47),
    ltS: (): this => this.emit(0x48),
    ltU: (): this => this.emit(0x49),
    gtS: (): this => this.emit(0x4a),
    leS: (): this => this.emit(0x4c),
    geS: (): this => this.emit(0x4e),
    add: (): this => this.emit(0x6a),
    sub: (): this => this.emit(0x6b),
    mul: (): this => this.emit(0x6c),
    and: (): this => this.emit(0x71),
    or: (): this => this.emit(0x72),
    shl: (): this => this.emit(0x74),
    shrS: (): this => this.emit(0x75),
    shrU: (): this => this.emit(0x76),
  };

  readonly f32 = {
    const: (v: number): this => {
      const b = new Uint8Array(new Float32Array([v]).buffer);
      return this.emit(0x43, b[0], b[1], b[2], b[3]);
    },
    load: (m: MemArg = {}): this => this.mem([0x2a], m, 2),
    store: (m: MemArg = {}): this => this.mem([0x38], m, 2),
    add: (): this => this.emit(0x92),
    sub: (): this => this.emit(0x93),
    mul: (): this => this.emit(0x94),
    div: (): this => this.emit(0x95),
    max: (): this => this.emit(0x97),
    eq: (): this => this.emit(0x5b),
    /** f32.demote_f64 */
    fromF64: (): this => this.emit(0xb6),
  };

  readonly f64 = {
    const: (v: number): this => {
      const b = new Uint8Array(new Float64Array([v]).buffer);
      return this.emit(0x44, ...b);
    },
    load: (m: MemArg = {}): this => this.mem([0x2b], m, 3),
    store: (m: MemArg = {}): this => this.mem([0x39], m, 3),
    add: (): this => this.emit(0xa0),
    mul: (): this => this.emit(0xa2),
    div: (): this => this.emit(0xa3),
    ne: (): this => this.emit(0x62),
    /** f64.promote_f32 */
    fromF32: (): this => this.emit(0xbb),
  };

  private simd(op: number): this {
    this.bytes.push(0xfd);
    uleb(op, this.bytes);
    return this;
  }

  private simdMem(op: number, m: MemArg, naturalAlign: number): this {
    this.simd(op);
    uleb(m.align ?? naturalAlign, this.bytes);
    uleb(m.offset ?? 0, this.bytes);
    return this;
  }

  readonly v128 = {
    load: (m: MemArg = {}): this => this.simdMem(0x00, m, 4),
    load32Splat: (m: MemArg = {}): this => this.simdMem(0x09, m, 2),
    store: (m: MemArg = {}): this => this.simdMem(0x0b, m, 4),
    /**
     * i8x16.shuffle by 32-bit lanes: lane i of the result is lane lanes[i] of the concatenation
     * (first operand lanes 0–3, second 4–7).
     */
    shuffle32: (lanes: [number, number, number, number]): this => {
      this.simd(0x0d);
      for (const l of lanes) {
        if (!Number.isInteger(l) || l < 0 || l > 7) throw new RangeError(`assembler: shuffle lane ${l}`);
        for (let b = 0; b < 4; b++) this.bytes.push(4 * l + b);
      }
      return this;
    },
    /** A v128 constant with all four f32 lanes zero. */
    zero: (): this => {
      this.simd(0x0c);
      for (let i = 0; i < 16; i++) this.bytes.push(0);
      return this;
    },
    /** A v128 constant: four f32 lanes of `v` ('f32'), or four i32 lanes ('i32'). */
    splatConst: (type: 'f32' | 'i32', v: number): this => {
      const lane = new Uint8Array((type === 'f32' ? new Float32Array([v]) : new Int32Array([v])).buffer);
      this.simd(0x0c);
      for (let i = 0; i < 4; i++) for (const b of lane) this.bytes.push(b);
      return this;
    },
    and: (): this => this.simd(0x4e),
    /** a & ~b (stack: a, b) */
    andnot: (): this => this.simd(0x4f),
    or: (): this => this.simd(0x50),
    /** Lanes of a where the mask's bits are 1, else of b (stack: a, b, mask). */
    bitselect: (): this => this.simd(0x52),
  };

  readonly i32x4 = {
    shl: (): this => this.simd(0xab),
    shrS: (): this => this.simd(0xac),
    add: (): this => this.simd(0xae),
    sub: (): this => this.simd(0xb1),
    /** i32x4.trunc_sat_f32x4_s */
    fromF32x4: (): this => this.simd(0xf8),
  };

  readonly f64x2 = {
    splat: (): this => this.simd(0x14),
    gt: (): this => this.simd(0x4a),
    sqrt: (): this => this.simd(0xef),
    add: (): this => this.simd(0xf0),
    sub: (): this => this.simd(0xf1),
    mul: (): this => this.simd(0xf2),
    div: (): this => this.simd(0xf3),
    /** f64x2.promote_low_f32x4: f32 lanes 0 and 1, widened. */
    promoteLow: (): this => this.simd(0x5f),
    extractLane: (lane: number): this => this.simd(0x21).emit(lane),
  };

  readonly f32x4 = {
    splat: (): this => this.simd(0x13),
    extractLane: (lane: number): this => this.simd(0x1f).emit(lane),
    eq: (): this => this.simd(0x41),
    ne: (): this => this.simd(0x42),
    lt: (): this => this.simd(0x43),
    gt: (): this => this.simd(0x44),
    le: (): this => this.simd(0x45),
    ge: (): this => this.simd(0x46),
    nearest: (): this => this.simd(0x6a),
    abs: (): this => this.simd(0xe0),
    neg: (): this => this.simd(0xe1),
    sqrt: (): this => this.simd(0xe3),
    add: (): this => this.simd(0xe4),
    sub: (): this => this.simd(0xe5),
    mul: (): this => this.simd(0xe6),
    div: (): this => this.simd(0xe7),
    /** NaN if either lane is NaN (unlike pmin/pmax). */
    min: (): this => this.simd(0xe8),
    max: (): this => this.simd(0xe9),
    /** b < a ? b : a (one x86 minps; NaN in a passes through, NaN in b is ignored) */
    pmin: (): this => this.simd(0xea),
    /** a < b ? b : a */
    pmax: (): this => this.simd(0xeb),
    /** f32x4.demote_f64x2_zero: two f64 lanes narrowed into lanes 0 and 1, lanes 2 and 3 zero. */
    demote: (): this => this.simd(0x5e),
    fromI32x4: (): this => this.simd(0xfa),
    /** Relaxed SIMD: a·b + c, fused or not as the hardware does it (stack: a, b, c). */
    relaxedMadd: (): this => this.simd(0x105),
  };

  /** Locals declaration + body + end, as the code section wants it. */
  encode(): number[] {
    const out: number[] = [];
    // Runs of equal types compress the local declarations.
    const runs: Array<[number, ValType]> = [];
    for (const t of this.locals) {
      const last = runs[runs.length - 1];
      if (last && last[1] === t) last[0]++;
      else runs.push([1, t]);
    }
    uleb(runs.length, out);
    for (const [n, t] of runs) {
      uleb(n, out);
      out.push(t);
    }
    for (const b of this.bytes) out.push(b);
    out.push(0x0b);
    const sized: number[] = [];
    uleb(out.length, sized);
    return sized.concat(out);
  }
}

export interface MemoryImport {
  /** Shared memories (for threads) need a maximum; see WebAssembly.Memory. */
  shared: boolean;
  initialPages?: number;
  maximumPages?: number;
}

/** A module that imports one memory (`env.memory`) and defines functions. */
export class ModuleBuilder {
  private readonly funcs: Array<{ name: string; fb: FunctionBuilder }> = [];
  private readonly exports: number[] = [];

  constructor(private readonly memory: MemoryImport) {}

  /**
   * Declares a function and emits its body; returns its index (for `call` and `export`). The body
   * callback receives the builder and the parameters as locals.
   */
  func(fnName: string, params: ValType[], results: ValType[], body: (f: FunctionBuilder, args: Local[]) => void): number {
    const fb = new FunctionBuilder(params, results);
    body(fb, params.map((_, i) => i as Local));
    this.funcs.push({ name: fnName, fb });
    return this.funcs.length - 1;
  }

  export(fn: number): void {
    if (!this.exports.includes(fn)) this.exports.push(fn);
  }

  finish(): Uint8Array {
    const out = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
    const types: number[] = [];
    uleb(this.funcs.length, types); // one type per function: simple, and the count is small
    for (const { fb } of this.funcs) {
      types.push(0x60);
      uleb(fb.params.length, types);
      types.push(...fb.params);
      uleb(fb.results.length, types);
      types.push(...fb.results);
    }
    section(1, types, out);

    const imports: number[] = [];
    uleb(1, imports);
    name('env', imports);
    name('memory', imports);
    imports.push(0x02);
    const { shared, initialPages = 1, maximumPages } = this.memory;
    if (shared && maximumPages === undefined) throw new Error('assembler: a shared memory needs maximumPages');
    imports.push(maximumPages === undefined ? 0x00 : shared ? 0x03 : 0x01);
    uleb(initialPages, imports);
    if (maximumPages !== undefined) uleb(maximumPages, imports);
    section(2, imports, out);

    const fsec: number[] = [];
    uleb(this.funcs.length, fsec);
    this.funcs.forEach((_, i) => uleb(i, fsec));
    section(3, fsec, out);

    const exp: number[] = [];
    uleb(this.exports.length, exp);
    for (const i of this.exports) {
      name(this.funcs[i].name, exp);
      exp.push(0x00);
      uleb(i, exp);
    }
    section(7, exp, out);

    const code: number[] = [];
    uleb(this.funcs.length, code);
    for (const { fb } of this.funcs) for (const b of fb.encode()) code.push(b);
    section(10, code, out);

    // The custom "name" section: profilers (V8's --cpu-prof, DevTools) then show kernel names
    // instead of wasm-function[N]. It has no effect on execution.
    const fnNames: number[] = [];
    uleb(this.funcs.length, fnNames);
    this.funcs.forEach(({ name: fnName }, i) => {
      uleb(i, fnNames);
      name(fnName, fnNames);
    });
    const names: number[] = [];
    name('name', names);
    names.push(0x01); // subsection 1: function names
    uleb(fnNames.length, names);
    for (const b of fnNames) names.push(b);
    section(0, names, out);
    return new Uint8Array(out);
  }
}
