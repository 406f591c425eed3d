import { Tensor, isAnomalyEnabled, randn, traceStepPlan, type StepPlan } from '../autograd/index.js';
import { Generator, closeStorageScope, openStorageScope, shapesEqual } from '../tensor/index.js';
import { moduleStructureVersion, type Module } from '../nn/module.js';
import { CosineAnnealingLR, ExponentialLR, LinearLR, LRScheduler, SequentialLR, StepLR } from '../nn/optim/lr-scheduler.js';
import type { MultiTaskModel } from '../models/types.js';
import type { FitPlan } from './fit-plan.js';
import { heldArrays } from './held-storage.js';
import { hasMissing } from './label-mask.js';
import { FixedWeighting } from './task-weighting.js';

/*
 * fit's traced steps (Keras's compiled train step; torch.compile): the forward, the loss and the
 * backward of a mini-batch traced once per epoch and replayed (autograd/step-replay.ts) on the
 * following batches of that shape, so a step of a small model pays for its kernels, not for the
 * module code, the Tensor objects and the graph walk around them (the paper-size MMoE: 1.09×
 * faster on a quiet machine). The optimizer, gradient clipping and the schedulers run as always.
 *
 * A fit gets plans only when its step is the plain one: in-memory dense features (a Tensor), the
 * fixed task weighting, no row weights, no missing labels in the whole training set (the loss
 * branches on them in JavaScript), no multiclass task, no auxiliary loss (AITM's), no `onBatchEnd`
 * callback that may change the model between steps (one marked `batchEndReadsOnly`, as
 * ModelCheckpoint is, is fine), no per-step scheduler but the library's own, and epochs of at
 * least MIN_STEPS steps (a trace costs a few steps; a short epoch would not repay it).
 * `runEagerly: true` turns them off, as in Keras.
 *
 * A plan is traced again at every epoch's start (an onEpochEnd callback may change modes, freeze
 * parameters or change what the forward reads), and when a module registers anything or is cast,
 * a module's mode or a parameter's requiresGrad changes, or a task's weight drops to 0. A step the
 * plan cannot take (another batch shape: the ragged last one; anomaly mode) runs op by op; a model
 * whose step cannot be traced (step-replay.ts says why: dropout, batch norm in training mode, a
 * branch on the data, …) runs op by op for the rest of the fit. Plans give the op-by-op bits: a
 * replay of the traced step is compared with it, bit for bit, before the plan is used. Like a
 * compiled Keras step, a replay does not run the model's JavaScript: side effects of a custom
 * forward (a call counter) happen on traced steps only, and a number it reads from JavaScript state
 * that changes within an epoch (other than through the parameters) is read at the trace.
 */

let enabled = true;
/** Steps per epoch from which a fit traces its step. */
export const MIN_STEPS = 24;
let minSteps = MIN_STEPS;

/**
 * Turns fit's traced steps off (false: every step runs op by op) or on, and sets the epoch length
 * from which they are used (default MIN_STEPS) — for tests and benchmarks.
 */
export function setTrainingStepPlans(on: boolean, fromSteps = MIN_STEPS): void {
  enabled = on;
  minSteps = fromSteps;
}

/**
 * Marks a callback, or its onBatchEnd function, as only reading the model between steps (so fit
 * may keep its traced steps): `{ onBatchEnd, [batchEndReadsOnly]: true }`.
 */
export const batchEndReadsOnly: unique symbol = Symbol('batchEndReadsOnly');

type Marked = { [batchEndReadsOnly]?: boolean };
const readsOnly = (c: { onBatchEnd?: unknown }): boolean => (c as Marked)[batchEndReadsOnly] === true || (c.onBatchEnd as Marked)[batchEndReadsOnly] === true;

const LR_ONLY = new Set<unknown>([StepLR, ExponentialLR, LinearLR, CosineAnnealingLR]);

/** Whether a scheduler is the library's own (it changes learning rates, nothing the forward reads). */
function changesOnlyLr(s: unknown): boolean {
  if (!(s instanceof LRScheduler)) return false;
  const kind = Object.getPrototypeOf(s)?.constructor;
  if (kind === SequentialLR) return (s as SequentialLR).schedulers.every(changesOnlyLr);
  return LR_ONLY.has(kind);
}

/** Why `plan`'s steps are not traced, or null. */
export function stepPlanRefusal(plan: FitPlan): string | null {
  const { model, train, weighting, callbacks, scheduler, steps } = plan;
  if (plan.runEagerly) return 'runEagerly';
  if (!enabled) return 'traced steps are off';
  if (train === null) return 'the training data is a stream';
  if (!(train.x instanceof Tensor)) return 'the features are columns, not one dense tensor';
  if (steps < minSteps) return `an epoch has ${steps} steps, fewer than the ${minSteps} a trace pays for`;
  if (!(weighting instanceof FixedWeighting)) return 'the task weighting is learned';
  if (train.w !== null && train.w !== undefined) return 'the rows are weighted';
  if (model.taskTypes.includes('multiclass')) return 'a task is multiclass';
  const t = model.taskTypes.length;
  for (let j = 0; j < t; j++) if (hasMissing(train.y, t, j)) return 'the training labels have missing values';
  if (model.auxiliaryLoss !== undefined) return 'the model adds an auxiliary loss';
  if (callbacks.some((c) => c.onBatchEnd !== undefined && !readsOnly(c))) {
    return 'an onBatchEnd callback may change the model between steps';
  }
  if (scheduler !== null && scheduler.interval === 'step' && !changesOnlyLr(scheduler.scheduler)) {
    return 'a per-step scheduler that is not the library\'s may change what the forward reads';
  }
  return null;
}

/** What a planned step gives: the loss (its value) and the logits. */
export interface PlannedStep {
  value: number;
  logits: Tensor;
}

/** What a fit did with traced steps: steps replayed, traces, and why there were none (null: no refusal). */
export interface StepPlanReport {
  replayed: number;
  traces: number;
  refusal: string | null;
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
    // No task counts (per-task early stopping zeroes weights): the step has no loss to trace.
    if (this.report.refusal !== null || isAnomalyEnabled() || this.weighting.empty) return null;
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

  /** Whether the model is as it was traced: no module registered or cast, same modes and trainable parameters. */
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
      return [loss!, logits];
    };
    const { outputs, plan } = traceStepPlan(step, [x, y], {
      probes,
      leaves: this.params.filter((p) => p.requiresGrad),
      constants: new Set(Object.values(model.stateDict())),
      backward: ([loss]) => {
        check(loss.item());
        loss.backward();
      },
      // A probe's arrays go back when it is judged, unless the model now holds one.
      around: (fn) => {
        openStorageScope();
        try {
          return fn();
        } finally {
          closeStorageScope(heldArrays([model]));
        }
      },
    });
    if (typeof plan === 'string') this.report.refusal = plan;
    else {
      this.plan = plan;
      this.planShape = x.shape;
    }
    return { value: outputs[0].item(), logits: outputs[1] };
  }
}

let last: StepPlanReport = { replayed: 0, traces: 0, refusal: 'no fit yet' };

/** What the last fit (or fitAsync) did with traced steps — for tests and benchmarks. */
export function lastStepPlanReport(): StepPlanReport {
  return { ...last };
}

/** fit's traced steps, or null when its steps are not traced. */
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
