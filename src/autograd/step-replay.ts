import { NDArray, generatorDraws } from '../tensor/index.js';
import { accumulateLeaf, inputGrad, mergeGrad, topoOrder, type GradEntry } from './engine.js';
import type { OpContext } from './graph.js';
import { noGrad } from './mode.js';
import { OpReplay, differences, fixFresh, holdsFloatArray, sameValue, sources } from './replay.js';
import { runsOf } from './stacked/view.js';
import type { Tensor } from './tensor.js';
import { traceOps, type TracedOp } from './trace.js';

/*
 * A training step's forward and backward, traced once and replayed: each traced op's forward
 * kernel is called again in order on new inputs, then each backward rule in the order the engine
 * would run them (runBackward's reverse topological order, its broadcast reductions, its
 * accumulation of several contributions, leaves' gradients into .grad), with no module code,
 * intermediate Tensor objects or graph walk. replay.ts does this for forwards (predict); here the
 * parameters change every step, so they are read live and never make a plan stale.
 *
 * The trace is refused — the caller trains op by op — unless the traced forward is a function of
 * its inputs, the parameters and constants alone:
 * - traces on probes (other values of the same shapes) must apply the same ops to the same
 *   sources with equal attributes (replay.ts's check: no branch on the data in JavaScript);
 * - no randomness (a dropout mask would be frozen into the plan): any generator drawing during
 *   the trace refuses it, before the probes, so the random stream stays that of an op-by-op run;
 * - no parameter or buffer changed in place by the forward (batch norm's running statistics);
 * - gradients flow only to the given leaves, and no intermediate retains its gradient.
 * Last, checkStepPlan compares a replay of the traced step with the engine's own backward on it,
 * bit for bit. What no check sees (as in replay.ts): a value computed in JavaScript from a
 * parameter and passed as a fresh tensor (it is kept as the trace's copy), an in-place write
 * through `.data`.
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

/** What traceStepPlan gives: the real call's outputs (with their graph), and the plan or why there is none. */
export interface StepTrace {
  readonly outputs: Tensor[];
  readonly plan: StepPlan | string;
}

/**
 * Calls `fn(inputs)` as usual (the autograd graph is recorded: the caller runs its own backward on
 * the outputs) and traces it, then traces `fn` on each of `probes` (same shapes and dtypes, other
 * values; their graphs are dropped). The first output is the loss the plan's backward starts from.
 * `leaves`: the tensors that may receive gradients (the trainable parameters); `constants`: every
 * tensor the forward may read besides its inputs (parameters and buffers).
 */
export function traceStepPlan(
  fn: (inputs: readonly Tensor[]) => Tensor[], inputs: readonly Tensor[], probes: ReadonlyArray<readonly Tensor[]>,
  leaves: ReadonlySet<Tensor>, constants: ReadonlySet<Tensor>,
): StepTrace {
  const watched = [...constants];
  const versions = watched.map((t) => t._version);
  const draws = generatorDraws();
  const { result: outputs, ops } = traceOps(() => fn(inputs));
  const refuse = (why: string): StepTrace => ({ outputs, plan: why });
  if (generatorDraws() !== draws) return refuse('the forward draws random numbers (dropout?): a plan would freeze them');
  if (watched.some((t, k) => t._version !== versions[k])) return refuse('the forward changes a parameter or buffer in place (batch norm in training mode?)');
  if (inputs.some((x) => runsOf(x) > 0)) return refuse('the inputs are stacked');
  if (outputs.length === 0) return refuse('the step has no outputs');
  const sa = sources(ops, inputs, constants);
  if (typeof sa === 'string') return refuse(sa);
  const outIndex = outputs.map((o) => ops.findIndex((op) => op.output === o));
  if (outIndex.some((i) => i < 0)) return refuse('the step returned a tensor no op produced');
  const n = Math.max(...outIndex) + 1;
  for (let i = 0; i < n; i++) {
    if (holdsFloatArray(ops[i].attrs, 0)) return refuse(`op ${i} (${ops[i].name}) has floating-point arrays among its attributes: values computed outside the ops`);
  }
  const sameObject = sa.srcs.map((s) => s.map(() => true));
  for (const probe of probes) {
    let b: { result: Tensor[]; ops: TracedOp[] };
    try {
      b = traceOps(() => fn(probe));
    } catch (e) {
      return refuse(`the step threw on a probe: ${(e as Error).message}`);
    }
    if (generatorDraws() !== draws) return refuse('the forward drew random numbers on a probe');
    if (watched.some((t, k) => t._version !== versions[k])) return refuse('the forward changed a parameter or buffer on a probe');
    const why = differences(ops, sa, b.ops, probe, constants, sameObject);
    if (why !== null) return refuse(why);
    if (b.result.length !== outputs.length || b.result.some((o, k) => b.ops.findIndex((op) => op.output === o) !== outIndex[k])) {
      return refuse('the step returned different tensors for two inputs');
    }
  }
  const fixed = fixFresh(ops, sa, sameObject, n, []);
  if (fixed !== null) return refuse(fixed);

  const loss = outputs[0];
  if (loss.size !== 1 || !loss.requiresGrad) return refuse('the first output is not a scalar that requires grad');
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
      if (!leaves.has(t)) return refuse(`gradients flow to a tensor of shape [${t.shape.join(', ')}] that is not a parameter`);
      schedule.push({ slot: slotOf(t), op: -1, inSlots: [] });
      continue;
    }
    if (t.retainsGrad) return refuse('an intermediate retains its gradient (retainGrad)');
    const i = index.get(t);
    if (i === undefined || node.inputs.some((x, j) => x !== ops[i].inputs[j])) return refuse('the graph holds a node the trace did not see');
    schedule.push({ slot: i, op: i, inSlots: node.inputs.map((x, j) => (node.ctx.needsInputGrad[j] ? slotOf(x) : -1)) });
  }
  const plan = new Plan(ops.slice(0, n), sa.srcs.slice(0, n), sa.consts, outIndex, schedule, leafList);
  return { outputs, plan };
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

/**
 * Replays `plan` on the arrays of the step it was traced on (`outputs`, from traceStepPlan) and
 * compares it with the engine: `backward` is the caller's real backward of that step (it must
 * leave in each leaf's .grad what loss.backward() leaves). The leaves' gradients are restored in
 * between, so afterwards they hold the engine's. Returns null when the plan gave the same bits
 * (outputs and every leaf's gradient), else why not.
 */
export function checkStepPlan(plan: StepPlan, outputs: readonly Tensor[], inputs: readonly NDArray[], leaves: readonly Tensor[], backward: () => void): string | null {
  const before = leaves.map((t) => (t.grad === null ? null : t.grad.data.slice()));
  const sparse = leaves.map((t) => t.sparseGrad);
  let mine: Array<ArrayLike<number> | null>;
  let why: string | null = null;
  try {
    const got = plan.forward(inputs);
    got.forEach((a, k) => {
      if (why === null && !sameValue(a.data, outputs[k].data)) why = `a replay's output ${k} differs from the traced step's: the forward does work outside the ops`;
    });
    plan.backward();
    if (leaves.some((t, k) => t.sparseGrad !== sparse[k])) why ??= 'a leaf receives a row-sparse gradient';
    mine = leaves.map((t) => (t.grad === null ? null : t.grad.data.slice()));
  } finally {
    leaves.forEach((t, k) => {
      t.sparseGrad = sparse[k];
      const b = before[k];
      if (b === null) t.grad = null;
      else t.grad!.data.set(b);
    });
  }
  backward();
  if (why !== null) return why;
  for (let k = 0; k < leaves.length; k++) {
    const g = leaves[k].grad, m = mine[k];
    if ((g === null) !== (m === null) || (g !== null && !sameValue(g.data, m))) {
      return `a replay's gradient of parameter ${k} differs from the engine's: the step does work outside the ops`;
    }
  }
  return null;
}
