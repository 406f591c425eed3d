import { NDArray, generatorDraws } from '../tensor/index.js';
import { accumulateLeaf, inputGrad, mergeGrad, topoOrder, type GradEntry } from './engine.js';
import type { OpContext } from './graph.js';
import { noGrad } from './mode.js';
import { OpReplay, differences, fixFresh, holdsFloatArray, sameValue, sources } from './replay.js';
import { runsOf } from './stacked/view.js';
import { bumpVersion, type Tensor } from './tensor.js';
import { traceOps, type TracedOp } from './trace.js';

/*
 * A training step's forward and backward, traced once and replayed: each traced op's forward
 * kernel is called again in order on new inputs, then each backward rule in the order the engine
 * would run them (runBackward's reverse topological order, its reductions of broadcast gradients,
 * its accumulation of several contributions, leaves' gradients into .grad), with no module code,
 * intermediate Tensor objects or graph walk. replay.ts does this for forwards (predict); here the
 * parameters change every step, so they are read live.
 *
 * The step traced is a real one: its forward is traced, its loss checked and its backward run by
 * the engine (the caller's), and only then is the plan built and judged. It is refused — the
 * caller trains op by op — unless the traced forward is a function of its inputs, the parameters
 * and constants alone:
 * - traces on probes (other values of the same shapes) must apply the same ops to the same
 *   sources with equal attributes, and make equal tensors outside the ops (replay.ts's check: no
 *   branch on the data in JavaScript); so must a trace with every parameter changed, so that a
 *   value the forward computes in JavaScript from a parameter (a norm read through .data) is not
 *   frozen into the plan;
 * - no randomness (a dropout mask would be frozen): any generator drawing during the forward
 *   refuses the plan before the probes, so the random stream stays that of an op-by-op run;
 * - no parameter or buffer changed in place by the forward (batch norm's running statistics);
 * - gradients flow only to the given leaves, and no intermediate retains its gradient;
 * - a replay of the traced step gives its outputs and every leaf's gradient bit for bit.
 * What no check sees (as with tf.function and torch.jit.trace): JavaScript state other than the
 * parameters that the forward reads as a number (a field a callback changes between steps: the
 * caller re-traces where such code may run), side effects of the forward in JavaScript (they
 * happen on the traced step and the probes only), an in-place write through `.data`.
 */

/** A replayable training step. */
export interface StepPlan {
  /** The forward on new inputs shaped as the traced ones: the traced outputs' values. Keeps what backward needs. */
  forward(inputs: readonly NDArray[]): NDArray[];
  /**
   * The backward of the last forward from its first output (a scalar loss, seeded with 1): each
   * leaf's gradient accumulated into its `.grad` as `loss.backward()` does. Then the forward's
   * arrays are dropped.
   */
  backward(): void;
  /** Drops what the last forward kept (when its backward will not run). */
  discard(): void;
  /** Ops per step. */
  readonly length: number;
}

/** What traceStepPlan gives: the real step's outputs (its backward done), and the plan or why there is none. */
export interface StepTrace {
  readonly outputs: Tensor[];
  readonly plan: StepPlan | string;
}

export interface StepTraceOptions {
  /** Other values of the inputs (same shapes and dtypes) the step is traced on too. */
  probes: ReadonlyArray<readonly Tensor[]>;
  /** The tensors that may receive gradients (the trainable parameters). */
  leaves: readonly Tensor[];
  /** Every tensor the forward may read besides its inputs (parameters and buffers). */
  constants: ReadonlySet<Tensor>;
  /**
   * The real step's backward of the outputs (the loss's check, then loss.backward()); it may
   * throw, and then nothing else is done.
   */
  backward(outputs: readonly Tensor[]): void;
  /** Runs each probe's trace, and the replay that checks the plan (a storage scope that returns their arrays, say). */
  around?<T>(fn: () => T): T;
}

/**
 * One real training step `fn(inputs)` (first output: the scalar loss), traced, with its backward
 * run by `o.backward`; then traced again on the probes and with the parameters changed (each
 * restored exactly), and the plan built and compared with the real step. The leaves' gradients
 * are left as the real backward made them.
 */
export function traceStepPlan(fn: (inputs: readonly Tensor[]) => Tensor[], inputs: readonly Tensor[], o: StepTraceOptions): StepTrace {
  const { constants, leaves } = o;
  const around = o.around ?? (<T>(f: () => T): T => f());
  const watched = [...constants];
  const versions = watched.map((t) => t._version);
  const before = leaves.map((t) => (t.grad === null ? null : t.grad.data.slice()));
  const sparse = leaves.map((t) => t.sparseGrad);
  const draws = generatorDraws();
  const { result: outputs, ops } = traceOps(() => fn(inputs));
  const drew = generatorDraws() !== draws;
  const changed = watched.some((t, k) => t._version !== versions[k]);
  o.backward(outputs);
  const refuse = (why: string): StepTrace => ({ outputs, plan: why });
  if (drew) return refuse('the forward draws random numbers (dropout?): a plan would freeze them');
  if (changed) return refuse('the forward changes a parameter or buffer in place (batch norm in training mode?)');
  if (inputs.some((x) => runsOf(x) > 0)) return refuse('the inputs are stacked');
  if (outputs.length === 0) return refuse('the step has no outputs');
  if (leaves.some((t, k) => t.sparseGrad !== sparse[k])) return refuse('a parameter receives a row-sparse gradient');
  const sa = sources(ops, inputs, constants);
  if (typeof sa === 'string') return refuse(sa);
  const outIndex = outputs.map((out) => ops.findIndex((op) => op.output === out));
  if (outIndex.some((i) => i < 0)) return refuse('the step returned a tensor no op produced');
  const n = Math.max(...outIndex) + 1;
  for (let i = 0; i < n; i++) {
    if (holdsFloatArray(ops[i].attrs, 0)) return refuse(`op ${i} (${ops[i].name}) has floating-point arrays among its attributes: values computed outside the ops`);
  }
  const sameObject = sa.srcs.map((row) => row.map(() => true));
  const probe = (xs: readonly Tensor[], what: string): string | null => around(() => {
    let b: { result: Tensor[]; ops: TracedOp[] };
    try {
      b = traceOps(() => fn(xs));
    } catch (e) {
      return `the step threw on ${what}: ${(e as Error).message}`;
    }
    if (generatorDraws() !== draws) return `the forward drew random numbers on ${what}`;
    const why = differences(ops, sa, b.ops, xs, constants, sameObject);
    if (why !== null) return why;
    if (b.result.length !== outputs.length || b.result.some((out, k) => b.ops.findIndex((op) => op.output === out) !== outIndex[k])) {
      return `the step returned other tensors on ${what}`;
    }
    return null;
  });
  for (const xs of o.probes) {
    const why = probe(xs, 'a probe');
    if (why !== null) return refuse(why);
  }
  // The parameters changed (and restored bit for bit): a value computed from them outside the
  // ops differs, and refuses the plan. Versions move, so caches keyed by them are rebuilt.
  const params = watched.filter((t) => leaves.includes(t));
  const saved = params.map((t) => t.data.slice());
  let why: string | null;
  try {
    for (const t of params) {
      const d = t.data;
      for (let i = 0; i < d.length; i++) d[i] = d[i] * 1.5 + 0.25;
      bumpVersion(t);
    }
    why = probe(inputs, 'changed parameters');
  } finally {
    params.forEach((t, k) => {
      t.data.set(saved[k]);
      bumpVersion(t);
    });
  }
  if (why !== null) return refuse(why);
  const fixed = fixFresh(ops, sa, sameObject, n, []);
  if (fixed !== null) return refuse(fixed);

  const plan = compile(ops, sa.srcs, sa.consts, n, outIndex, outputs[0], new Set(leaves));
  if (typeof plan === 'string') return refuse(plan);
  why = around(() => sameStep(plan, outputs, inputs, leaves, before));
  return why === null ? { outputs, plan } : refuse(why);
}

/** The plan of ops [0, n): the backward's schedule from the loss, in the engine's order. */
function compile(
  ops: readonly TracedOp[], srcs: readonly number[][], consts: readonly Tensor[], n: number, outIndex: readonly number[], loss: Tensor, leaves: ReadonlySet<Tensor>,
): Plan | string {
  if (loss.size !== 1 || !loss.requiresGrad) return 'the first output is not a scalar that requires grad';
  const index = new Map<Tensor, number>();
  for (let i = 0; i < n; i++) index.set(ops[i].output, i);
  const leafList: Tensor[] = [];
  const slotOf = (t: Tensor): number => {
    const i = index.get(t);
    if (i !== undefined) return i;
    let k = leafList.indexOf(t);
    if (k < 0) k = leafList.push(t) - 1;
    return n + k;
  };
  // The engine's order, fixed: an op's backward (its output's slot), or a leaf's accumulation.
  const schedule: Step[] = [];
  const order = topoOrder(loss);
  for (let k = order.length - 1; k >= 0; k--) {
    const t = order[k];
    const node = t.gradFn;
    if (node === null) {
      if (!leaves.has(t)) return `gradients flow to a tensor of shape [${t.shape.join(', ')}] that is not a parameter`;
      schedule.push({ slot: slotOf(t), op: -1, inSlots: [] });
      continue;
    }
    if (t.retainsGrad) return 'an intermediate retains its gradient (retainGrad)';
    const i = index.get(t);
    if (i === undefined || node.inputs.some((x, j) => x !== ops[i].inputs[j])) return 'the graph holds a node the trace did not see';
    schedule.push({ slot: i, op: i, inSlots: node.inputs.map((x, j) => (node.ctx.needsInputGrad[j] ? slotOf(x) : -1)) });
  }
  return new Plan(ops.slice(0, n), srcs.slice(0, n), consts, outIndex, schedule, leafList);
}

/**
 * Whether a replay of the traced step gives its outputs and, from the leaves' gradients as they
 * were before it (`before`), the gradients its real backward left; null when it does, else why
 * not. The real backward's gradients are in place afterwards either way.
 */
function sameStep(plan: StepPlan, outputs: readonly Tensor[], inputs: readonly NDArray[], leaves: readonly Tensor[], before: ReadonlyArray<ArrayLike<number> | null>): string | null {
  const engine = leaves.map((t) => t.grad);
  const engineData = engine.map((g) => (g === null ? null : g.data.slice()));
  let why: string | null = null;
  try {
    leaves.forEach((t, k) => {
      const b = before[k];
      if (b === null) t.grad = null;
      else {
        t.grad = engine[k];
        t.grad!.data.set(b);
      }
    });
    const got = plan.forward(inputs);
    got.forEach((a, k) => {
      if (why === null && !sameValue(a.data, outputs[k].data)) why = `a replay's output ${k} differs from the traced step's: the forward does work outside the ops`;
    });
    plan.backward();
    for (let k = 0; k < leaves.length && why === null; k++) {
      const g = leaves[k].grad, e = engineData[k];
      if ((g === null) !== (e === null) || (g !== null && !sameValue(g.data, e))) {
        why = `a replay's gradient of parameter ${k} differs from the engine's: the step does work outside the ops`;
      }
    }
  } finally {
    leaves.forEach((t, k) => {
      t.grad = engine[k];
      if (engine[k] !== null) engine[k]!.data.set(engineData[k]!);
    });
  }
  return why;
}

/** One step of the backward: op `op`'s rule (-1: `slot` is a leaf's, accumulated into its .grad). */
interface Step {
  slot: number;
  op: number;
  inSlots: number[];
}

class Plan implements StepPlan {
  private readonly ops: OpReplay;
  /** The traced inputs of each op (shapes and leaf-ness for inputGrad; a leaf's own tensor). */
  private readonly traced: ReadonlyArray<readonly Tensor[]>;
  private readonly values: Array<NDArray | null>;
  private readonly inputs: Array<NDArray[] | null>;
  private readonly ctxs: Array<OpContext<unknown> | null>;
  private outs: NDArray[] | null = null;
  private readonly keep = (i: number, ins: NDArray[], ctx: OpContext<unknown>): void => {
    this.inputs[i] = ins;
    this.ctxs[i] = ctx;
  };

  constructor(
    ops: readonly TracedOp[], srcs: readonly number[][], consts: readonly Tensor[],
    private readonly outIndex: readonly number[], private readonly schedule: readonly Step[], private readonly leaves: readonly Tensor[],
  ) {
    this.ops = new OpReplay(ops, srcs, consts, true);
    this.traced = ops.map((op) => op.inputs);
    this.values = ops.map(() => null);
    this.inputs = ops.map(() => null);
    this.ctxs = ops.map(() => null);
  }

  get length(): number {
    return this.ops.length;
  }

  forward(xs: readonly NDArray[]): NDArray[] {
    try {
      this.ops.run(xs, this.values, this.keep);
    } catch (e) {
      this.discard();
      throw e;
    }
    this.outs = this.outIndex.map((i) => this.values[i]!);
    return this.outs;
  }

  backward(): void {
    const outs = this.outs;
    if (outs === null) throw new Error('StepPlan.backward: no forward to go back through');
    const { ops, schedule, inputs, ctxs, traced, leaves } = this;
    const n = ops.length;
    const loss = outs[0];
    const grads = new Array<GradEntry | undefined>(n + leaves.length);
    grads[this.outIndex[0]] = { g: new NDArray(loss.dtype === 'float64' ? new Float64Array([1]) : new Float32Array([1]), loss.shape), owned: false };
    try {
      noGrad(() => {
        for (const { slot, op, inSlots } of schedule) {
          const entry = grads[slot];
          if (entry === undefined) continue;
          grads[slot] = undefined;
          if (op < 0) {
            accumulateLeaf(leaves[slot - n], entry.g, entry.owned);
            continue;
          }
          const inGrads = ops.spec(op).backward(ctxs[op]!, entry.g, inputs[op]!, ops.attr(op));
          const need = ops.needs[op];
          for (let j = 0; j < inSlots.length; j++) {
            if (!need[j]) continue;
            const gi = inGrads[j];
            if (gi === null || gi === undefined) continue;
            const reduced = inputGrad(ops.name(op), j, gi, traced[op][j]);
            if (reduced === null) continue;
            const target = inSlots[j];
            const prev = grads[target];
            if (prev === undefined) grads[target] = { g: reduced, owned: false };
            else mergeGrad(prev, reduced);
          }
        }
      });
    } finally {
      this.discard();
    }
  }

  discard(): void {
    this.values.fill(null);
    this.inputs.fill(null);
    this.ctxs.fill(null);
    this.outs = null;
  }
}
