import { AllocationError, type NDArray } from '../tensor/index.js';
import { checkFinite } from './function.js';
import type { OpContext, OpSpec } from './graph.js';
import { isAnomalyEnabled } from './mode.js';
import { runsOf } from './stacked/view.js';
import { Tensor } from './tensor.js';
import { traceOps, type TracedOp } from './trace.js';

/*
 * A forward of one tensor traced once and then replayed: each traced op's forward kernel is called
 * again in order on the new input, without the module code around the ops, the Tensor objects of
 * the intermediates or defineOp's checks. This is what torch.jit.trace and tf.function do, and
 * what a call that costs a few microseconds per op (predict on one row) needs.
 *
 * A trace records one run, so a forward whose ops or attributes depend on the input's values
 * (ids passed as attributes, a branch taken in JavaScript on the data) would replay the wrong
 * graph. `tracePlan` therefore traces again on probes of the same shape with other values, and
 * refuses unless every trace applies the same ops to the same sources (the same parameters) with
 * equal attributes. A tensor that is neither the input, an op's output nor one of the given
 * constants (a parameter, a buffer) is read live and watched like a constant when every trace
 * read the same object (a tensor the model holds without registering it), and kept as a copy when
 * every trace made one alike inside the forward (a scalar operand, batch norm's eval-mode scale
 * computed from its buffers). The plan reads as stale once any of them changes in place (its
 * version counter moves: an optimizer step, loadStateDict, restored best weights, a batch norm's
 * running statistics), so that the caller traces again. Last, the plan is replayed on every
 * traced input and must give each trace's result bit for bit (a forward that edits an op's
 * output in JavaScript fails here). What no check can see: an in-place write through `.data`
 * that bumps no version (as PyTorch's `.data`), and a registered parameter replaced by another
 * tensor object without registering it.
 */

/** A replayable forward: `run(x)` gives what the traced function gave for x (bit for bit). */
export interface ReplayPlan {
  run(x: NDArray): NDArray;
  /**
   * Whether a constant has changed in place since the trace (its version counter moved): the
   * tensors the forward made from them may be stale, so trace again.
   */
  stale(): boolean;
  /** Ops per run. */
  readonly length: number;
}

/**
 * Where a step's input comes from: an earlier step (≥ 0), input i (INPUT - i, i < MAX_INPUTS),
 * a tensor made inside the forward (FRESH, while tracing), or constant k (CONST - k).
 */
const INPUT = -1;
const MAX_INPUTS = 8;
const FRESH = INPUT - MAX_INPUTS;
const CONST = FRESH - 1;

/**
 * Traces `fn` on `x` and on each of `probes` (same shape and dtype, other values) and returns the
 * plan, or a sentence saying why the forward cannot be replayed. `constants` are the tensors the
 * forward may read besides its input (a model's parameters and buffers). Run it under noGrad, in
 * the mode the plan is for (eval).
 */
export function tracePlan(fn: (x: Tensor) => Tensor, x: Tensor, probes: readonly Tensor[], constants: ReadonlySet<Tensor>): ReplayPlan | string {
  if (runsOf(x) > 0) return 'the input is stacked';
  const traces: Array<{ input: Tensor; ops: TracedOp[]; result: Tensor }> = [];
  for (const input of [x, ...probes]) {
    try {
      traces.push({ input, ...traceOps(() => fn(input)) });
    } catch (e) {
      // A forward that refuses some inputs (validation, anomaly mode) is not replayed.
      return `the forward threw on ${input === x ? 'the input' : 'a probe'}: ${(e as Error).message}`;
    }
  }
  const [a, ...others] = traces;
  const sa = sources(a.ops, [x], constants);
  if (typeof sa === 'string') return sa;
  const last = a.ops.findIndex((op) => op.output === a.result);
  if (last < 0) return 'the forward returned a tensor no op produced';
  for (let i = 0; i <= last; i++) {
    // Float arrays among attributes are values computed outside the ops, which the trace would
    // freeze; index arrays are structure, checked by the probes.
    if (holdsFloatArray(a.ops[i].attrs, 0)) return `op ${i} (${a.ops[i].name}) has floating-point arrays among its attributes: values computed outside the ops`;
  }
  // Which tensors made outside the ops are the same object in every trace (a tensor the model
  // holds without registering it: read live and watched, like a parameter) rather than made anew.
  const sameObject = sa.srcs.map((s) => s.map(() => true));
  for (const b of others) {
    const refusal = differences(a.ops, sa, b.ops, [b.input], constants, sameObject);
    if (refusal !== null) return refusal;
    if (b.ops.findIndex((op) => op.output === b.result) !== last) return 'the forward returned different steps for two inputs';
  }
  // Every given constant, read by an op or only in JavaScript (batch norm's running statistics).
  const watched = [...constants];
  const fixed = fixFresh(a.ops, sa, sameObject, last + 1, watched);
  if (fixed !== null) return fixed;
  const { srcs, consts } = sa;
  const plan = new Plan(a.ops.slice(0, last + 1), srcs.slice(0, last + 1), consts, watched, watched.map((t) => t._version));
  // The plan must give what every trace gave: a forward that changed an op's output in
  // JavaScript, or read anything the checks above missed, is caught here.
  for (const t of traces) {
    const got = plan.run(t.input).data, want = t.result.data;
    if (got.length !== want.length || !sameValue(got, want)) return 'a replay differs from the traced forward: the forward does work outside the ops';
  }
  return plan;
}

export interface Sources {
  srcs: number[][];
  consts: Tensor[];
}

/**
 * Turns the FRESH sources of ops [0, n) into constants: a tensor made inside the forward that
 * every trace made alike (a scalar operand, a scale computed from a buffer) is kept as a copy of
 * its values, good while the constants are unchanged; one that every trace read as the same
 * object is read live and added to `watched`. Returns a refusal, or null.
 */
export function fixFresh(ops: readonly TracedOp[], sa: Sources, sameObject: readonly boolean[][], n: number, watched: Tensor[]): string | null {
  const { srcs, consts } = sa;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < srcs[i].length; j++) {
      if (srcs[i][j] !== FRESH) continue;
      const t = ops[i].inputs[j];
      if (runsOf(t) > 0) return `op ${i} (${ops[i].name}) reads a stacked tensor`;
      srcs[i][j] = CONST - consts.length;
      if (sameObject[i][j]) {
        consts.push(t);
        if (!watched.includes(t)) watched.push(t);
      } else {
        consts.push(new Tensor(t.data.slice(), t.shape));
      }
    }
  }
  return null;
}

/** Why trace `b` (of `probe`) is not trace `a` (sources `sa`) applied to other inputs; null when it is. */
export function differences(
  a: readonly TracedOp[], sa: Sources, b: readonly TracedOp[], probe: readonly Tensor[], constants: ReadonlySet<Tensor>, sameObject: boolean[][],
): string | null {
  const sb = sources(b, probe, constants);
  if (typeof sb === 'string') return sb;
  if (a.length !== b.length) return `the forward applied ${a.length} ops to one input and ${b.length} to another of the same shape`;
  if (!sameList(sa.consts, sb.consts)) {
    return 'the forward reads other parameters or buffers for two inputs of the same shape: it depends on the values outside the ops';
  }
  for (let i = 0; i < a.length; i++) {
    const p = a[i], q = b[i];
    const differs = `op ${i} (${p.name}) differs between two inputs of the same shape: the forward depends on the values outside the ops`;
    if (p.spec !== q.spec || !sameList(sa.srcs[i], sb.srcs[i]) || !sameValue(p.attrs, q.attrs)) return differs;
    for (let j = 0; j < p.inputs.length; j++) {
      if (sa.srcs[i][j] !== FRESH) continue;
      const t = p.inputs[j], u = q.inputs[j];
      if (t !== u) sameObject[i][j] = false;
      if (t.dtype !== u.dtype || !sameList(t.shape, u.shape) || !sameValue(t.data, u.data)) return differs;
    }
  }
  return null;
}

/** Each op's sources (FRESH: a tensor made inside the forward) and the constants read, in order. */
export function sources(ops: readonly TracedOp[], xs: readonly Tensor[], constants: ReadonlySet<Tensor>): Sources | string {
  if (xs.length > MAX_INPUTS) return `a plan takes at most ${MAX_INPUTS} inputs`;
  const made = new Map<Tensor, number>();
  const constIndex = new Map<Tensor, number>();
  const consts: Tensor[] = [];
  const srcs: number[][] = [];
  for (let i = 0; i < ops.length; i++) {
    const op = ops[i];
    const s: number[] = [];
    for (const t of op.inputs) {
      const input = xs.indexOf(t);
      if (input >= 0) { s.push(INPUT - input); continue; }
      const j = made.get(t);
      if (j !== undefined) { s.push(j); continue; }
      if (!constants.has(t)) { s.push(FRESH); continue; }
      if (runsOf(t) > 0) return `op ${i} (${op.name}) reads a stacked tensor`;
      let k = constIndex.get(t);
      if (k === undefined) { k = consts.length; constIndex.set(t, k); consts.push(t); }
      s.push(CONST - k);
    }
    srcs.push(s);
    made.set(op.output, i);
  }
  return { srcs, consts };
}

/** Nesting deeper than this in attributes is refused (a cycle would never end). */
const MAX_DEPTH = 16;

export function holdsFloatArray(v: unknown, depth: number): boolean {
  if (v instanceof Float32Array || v instanceof Float64Array) return true;
  if (v === null || typeof v !== 'object' || ArrayBuffer.isView(v)) return false;
  if (!Array.isArray(v) && Object.getPrototypeOf(v) !== Object.prototype) return false;
  if (depth > MAX_DEPTH) return true;
  return (Array.isArray(v) ? v : Object.values(v)).some((w) => holdsFloatArray(w, depth + 1));
}

export function sameList<T>(a: readonly T[], b: readonly T[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

/** Structural equality of attributes: primitives, arrays, typed arrays, plain records; anything else by identity. */
export function sameValue(a: unknown, b: unknown, depth = 0): boolean {
  if (Object.is(a, b)) return true;
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return false;
  if (Object.getPrototypeOf(a) !== Object.getPrototypeOf(b) || depth > MAX_DEPTH) return false;
  if (ArrayBuffer.isView(a)) {
    const x = a as unknown as ArrayLike<number>, y = b as unknown as ArrayLike<number>;
    if (x.length !== y.length) return false;
    for (let i = 0; i < x.length; i++) if (!Object.is(x[i], y[i])) return false;
    return true;
  }
  if (Array.isArray(a)) {
    const y = b as unknown[];
    return a.length === y.length && a.every((v, i) => sameValue(v, y[i], depth + 1));
  }
  if (Object.getPrototypeOf(a) !== Object.prototype) return false;
  const ka = Object.keys(a), kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  return ka.every((k) => Object.prototype.hasOwnProperty.call(b, k) && sameValue((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], depth + 1));
}

/**
 * The forward kernels of traced ops, called again in order: each op on its sources (an earlier
 * op's output, an input, a constant), with the trace's needsInputGrad and recording flags (or none,
 * for a forward whose backward will not run). Shared by predict's plans and training-step plans.
 */
export class OpReplay {
  private readonly specs: ReadonlyArray<OpSpec<unknown, unknown>>;
  private readonly names: readonly string[];
  private readonly attrs: readonly unknown[];
  readonly needs: ReadonlyArray<readonly boolean[]>;
  readonly recording: readonly boolean[];

  constructor(ops: readonly TracedOp[], private readonly srcs: readonly number[][], private readonly consts: readonly Tensor[], withGrad: boolean) {
    this.specs = ops.map((op) => op.spec);
    this.names = ops.map((op) => op.name);
    this.attrs = ops.map((op) => op.attrs);
    this.needs = ops.map((op) => (withGrad ? op.output.gradFn?.ctx.needsInputGrad.slice() : undefined) ?? op.inputs.map(() => false));
    this.recording = ops.map((op) => withGrad && op.output.gradFn !== null);
  }

  get length(): number {
    return this.specs.length;
  }

  name(i: number): string {
    return this.names[i];
  }

  spec(i: number): OpSpec<unknown, unknown> {
    return this.specs[i];
  }

  attr(i: number): unknown {
    return this.attrs[i];
  }

  /**
   * Runs every op on `xs`, outputs into `values`; `recorded` sees the inputs and context of each
   * recording op (what its backward needs).
   */
  run(xs: readonly NDArray[], values: Array<NDArray | null>, recorded?: (i: number, inputs: NDArray[], ctx: OpContext<unknown>) => void): void {
    const { specs, srcs, consts } = this;
    const anomaly = isAnomalyEnabled();
    for (let i = 0; i < specs.length; i++) {
      const s = srcs[i];
      const inputs = new Array<NDArray>(s.length);
      for (let j = 0; j < s.length; j++) {
        const k = s[j];
        inputs[j] = k >= 0 ? values[k]! : k > CONST ? xs[INPUT - k] : consts[CONST - k];
      }
      const ctx: OpContext<unknown> = { opName: this.names[i], needsInputGrad: this.needs[i], recording: this.recording[i], saved: undefined };
      let out: NDArray;
      try {
        out = specs[i].forward(ctx, inputs, this.attrs[i]);
      } catch (e) {
        throw e instanceof AllocationError ? e.in(this.names[i]) : e;
      }
      if (anomaly) checkFinite(this.names[i], 'output', out);
      values[i] = out;
      if (recorded !== undefined && this.recording[i]) recorded(i, inputs, ctx);
    }
  }
}

class Plan implements ReplayPlan {
  private readonly ops: OpReplay;
  private readonly values: Array<NDArray | null>;

  constructor(
    ops: readonly TracedOp[], srcs: readonly number[][], consts: readonly Tensor[],
    /** The given constants, and their versions at the trace. */
    private readonly watched: readonly Tensor[],
    private readonly versions: readonly number[],
  ) {
    this.ops = new OpReplay(ops, srcs, consts, false);
    this.values = ops.map(() => null);
  }

  get length(): number {
    return this.ops.length;
  }

  stale(): boolean {
    const { watched, versions } = this;
    for (let k = 0; k < versions.length; k++) if (watched[k]._version !== versions[k]) return true;
    return false;
  }

  run(x: NDArray): NDArray {
    const { values } = this;
    try {
      this.ops.run([x], values);
      return values[values.length - 1]!;
    } finally {
      // The plan outlives the call; the intermediates must not.
      values.fill(null);
    }
  }
}
