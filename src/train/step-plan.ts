import { Tensor, checkStepPlan, isAnomalyEnabled, randn, traceStepPlan, type StepPlan } from '../autograd/index.js';
import { Generator, shapesEqual } from '../tensor/index.js';
import { moduleStructureVersion, type Module } from '../nn/module.js';
import type { MultiTaskModel } from '../models/types.js';
import type { FitPlan } from './fit-plan.js';
import { hasMissing } from './label-mask.js';
import { FixedWeighting } from './task-weighting.js';

/*
 * fit's traced steps: the forward, the loss and the backward of a mini-batch traced once and
 * replayed (autograd/step-replay.ts) on the following batches of the same shape, so a step of a
 * small model pays for its kernels, not for the module code, the Tensor objects and the graph
 * walk around them (the paper-size MMoE: about an eighth of a step). The optimizer, gradient
 * clipping and the schedulers run as always.
 *
 * A fit gets plans only when its step is the plain one: in-memory dense features (a Tensor), the
 * fixed task weighting, no row weights, no missing labels in the whole training set (the loss
 * branches on them in JavaScript), no multiclass task, no auxiliary loss (AITM's), and no
 * onBatchEnd callback that may change the model between steps (one marked with
 * `batchEndReadsOnly`, as ModelCheckpoint is, is fine). Plans are traced again at every epoch's
 * start (an onEpochEnd callback may have changed modes or frozen parameters), when a module
 * registers anything or is cast, and when a parameter's requiresGrad or a module's mode changes.
 * A step the plan cannot take (another batch shape, anomaly mode) runs op by op; a model whose
 * step cannot be traced (step-replay.ts says why: dropout, batch norm in training mode, …) runs op
 * by op for the rest of the fit. The bits are those of the op-by-op step: the trace's own step
 * is compared with a replay of it, bit for bit, before the plan is used.
 */

let enabled = true;

/** Turns fit's traced steps off (false: every step runs op by op) — for tests and benchmarks. */
export function setTrainingStepPlans(on: boolean): void {
  enabled = on;
}

/** Marks a callback whose onBatchEnd only reads the model (so fit may keep its traced steps). */
export const batchEndReadsOnly: unique symbol = Symbol('batchEndReadsOnly');

/** Why `plan`'s steps cannot be traced at all, or null. */
export function stepPlanRefusal(plan: FitPlan): string | null {
  const { model, train, weighting, callbacks } = plan;
  if (!enabled) return 'traced steps are off';
  if (train === null) return 'the training data is a stream';
  if (!(train.x instanceof Tensor)) return 'the features are columns, not one dense tensor';
  if (!(weighting instanceof FixedWeighting)) return 'the task weighting is learned';
  if (train.w !== null && train.w !== undefined) return 'the rows are weighted';
  if (model.taskTypes.includes('multiclass')) return 'a task is multiclass';
  if (weighting.empty) return 'every task weight is 0';
  const t = model.taskTypes.length;
  for (let j = 0; j < t; j++) if (hasMissing(train.y, t, j)) return 'the training labels have missing values';
  if (model.auxiliaryLoss !== undefined) return 'the model adds an auxiliary loss';
  if (callbacks.some((c) => c.onBatchEnd !== undefined && !(c as { [batchEndReadsOnly]?: boolean })[batchEndReadsOnly])) {
    return 'an onBatchEnd callback may change the model between steps';
  }
  return null;
}

/** What a planned step gives: the loss (its value) and the logits. */
export interface PlannedStep {
  value: number;
  logits: Tensor;
}

/** The traced steps of one fit. */
export class TrainingStepPlans {
  private plan: StepPlan | null = null;
  /** Steps replayed, traces taken (each also a step), and why the model's steps cannot be traced (they run op by op for the rest of the fit). */
  readonly report: StepPlanReport = { replayed: 0, traces: 0, refusal: null };
  /** The batch shape of the last op-by-op step: a shape is traced the second time in a row it comes. */
  private lastShape: readonly number[] | null = null;
  private planShape: readonly number[] = [];
  private structure = -1;
  private modules: Module[] = [];
  private modes: boolean[] = [];
  private params: Tensor[] = [];
  private trainable: boolean[] = [];
  constructor(private readonly model: MultiTaskModel, private readonly weighting: FixedWeighting) {}

  /** At an epoch's start: the plan is traced again. */
  reset(): void {
    this.plan = null;
    this.lastShape = null;
  }

  /**
   * One step's forward, loss and backward on (x, y): through the plan when there is one (or after
   * tracing it), else null and the caller runs the step op by op. `check` sees the loss before any
   * gradient is made (it throws to stop).
   */
  step(x: Tensor, y: Tensor, check: (loss: number) => void): PlannedStep | null {
    if (this.report.refusal !== null || isAnomalyEnabled()) return null;
    if (this.plan !== null && this.fresh() && shapesEqual(x.shape, this.planShape)) {
      const outs = this.plan.forward([x, y]);
      const value = outs[0].data[0];
      try {
        check(value);
      } catch (e) {
        this.plan.discard();
        throw e;
      }
      this.plan.backward();
      this.report.replayed++;
      return { value, logits: new Tensor(outs[1].data, outs[1].shape) };
    }
    const again = this.lastShape !== null && shapesEqual(this.lastShape, x.shape);
    this.lastShape = x.shape;
    if (!again) return null;
    return this.trace(x, y, check);
  }

  /** Whether the model is as it was traced: no module registered or cast, same modes, same trainable parameters. */
  private fresh(): boolean {
    if (moduleStructureVersion() !== this.structure) return false;
    const { modules, modes, params, trainable } = this;
    for (let i = 0; i < modules.length; i++) if (modules[i].training !== modes[i]) return false;
    for (let i = 0; i < params.length; i++) if (params[i].requiresGrad !== trainable[i]) return false;
    return true;
  }

  private trace(x: Tensor, y: Tensor, check: (loss: number) => void): PlannedStep {
    const { model } = this;
    this.plan = null;
    this.report.traces++;
    this.structure = moduleStructureVersion();
    this.modules = model.modules();
    this.modes = this.modules.map((m) => m.training);
    this.params = model.parameters();
    this.trainable = this.params.map((p) => p.requiresGrad);
    // Probes are made first: drawing them is not the forward drawing random numbers.
    const g = new Generator(0x85ebca6b);
    const probes = [
      [x.neg(), y.neg().add(1)],
      [randn(x.shape, { dtype: x.dtype, generator: g }), randn(y.shape, { dtype: y.dtype, generator: g }).sigmoid()],
    ];
    const step = ([xx, yy]: readonly Tensor[]): Tensor[] => {
      const logits = model.logits(xx);
      // What fit's op-by-op step adds up (fit-loop.ts), in its order.
      const loss = this.weighting.total(logits, yy, null, model.regularizationLoss());
      return loss === null ? [] : [loss, logits];
    };
    const constants = new Set(Object.values(model.stateDict()));
    const leaves = new Set(this.params.filter((p) => p.requiresGrad));
    const { outputs, plan } = traceStepPlan(step, [x, y], probes, leaves, constants);
    const [loss, logits] = outputs;
    const value = loss.item();
    check(value);
    if (typeof plan === 'string') {
      this.report.refusal = plan;
      loss.backward();
    } else {
      const why = checkStepPlan(plan, outputs, [x, y], this.params, () => loss.backward());
      if (why === null) {
        this.plan = plan;
        this.planShape = x.shape;
      } else {
        this.report.refusal = why;
      }
    }
    return { value, logits };
  }
}

/** What the last fit did with traced steps: steps replayed, traces, and why there were none (null: no refusal). */
export interface StepPlanReport {
  replayed: number;
  traces: number;
  refusal: string | null;
}

let last: StepPlanReport = { replayed: 0, traces: 0, refusal: 'no fit yet' };

/** What the last fit (or fitAsync) did with traced steps — for tests and benchmarks. */
export function lastStepPlanReport(): StepPlanReport {
  return { ...last };
}

/** fit's traced steps, or null when its steps cannot be traced. */
export function trainingStepPlans(plan: FitPlan): TrainingStepPlans | null {
  const refusal = stepPlanRefusal(plan);
  if (refusal !== null) {
    last = { replayed: 0, traces: 0, refusal };
    return null;
  }
  const plans = new TrainingStepPlans(plan.model, plan.weighting as FixedWeighting);
  last = plans.report;
  return plans;
}
