import type { Tensor } from '../autograd/index.js';
import { Generator, defaultGenerator } from '../tensor/index.js';
import { checkOptions } from '../validation/options.js';
import { checkOptionTypes, checkPositiveInt, type ValueKind } from '../validation/values.js';
import { numBatches } from '../data/batches.js';
import type { MultiTaskModel } from '../models/types.js';
import { type Dataset, type ResolvedDataset, rangeRows, subsetDataset } from './dataset.js';
import { checkModel, resolveLossWeights } from './evaluate.js';
import { EarlyStopping, type EarlyStoppingOptions, type EpochLog, type History } from './history.js';
import { PerTaskEarlyStopping, type Stopper } from './per-task-stopping.js';
import { ProgressBar, type ProgressStream } from './progress.js';
import { checkedDataset } from './checks.js';
import { checkpointFrom, type TrainingCheckpoint } from './checkpoint.js';
import { resolveExpertHealth, type ExpertHealth, type ExpertHealthOptions } from './expert-health.js';
import { isBatchSource, type BatchSource, type StreamChecks } from './stream.js';
import type { StreamScoring } from './evaluate-stream.js';
import { resolveMissingLabels, type MissingLabels } from './label-mask.js';
import { resolveGroups, type GroupBy } from './groups.js';
import { resolveRowWeights, type ClassWeight, type SampleWeight } from './sample-weights.js';
import { resolveTaskWeighting, type TaskWeighting, type TaskWeightingOption } from './task-weighting.js';
import { makeOptimizer, type OptimizerLike, type OptimizerName } from './optimizer-registry.js';
import { LRScheduler, ReduceLROnPlateau, type AnyLRScheduler, type SchedulableOptimizer } from '../nn/optim/lr-scheduler.js';

/** What onEpochEnd can do: end training after this epoch, or take a checkpoint of the whole training state. */
export interface EpochControl {
  stop(): void;
  /** The training state at this epoch's end (see checkpoint.ts); resume with fit's `resumeFrom`. */
  checkpoint(): TrainingCheckpoint;
}

/** What onBatchEnd can do: take a checkpoint inside the epoch (resumed, the fit skips the batches done). */
export interface BatchControl {
  /** Optimizer steps taken in all (the step of onBatchEnd counts within the epoch). */
  totalSteps: number;
  checkpoint(): TrainingCheckpoint;
}

/**
 * Hooks into the training loop; `control.stop()` ends training after the current epoch. A callback
 * with state of its own (ModelCheckpoint's best value) gives getState/setState, so checkpoints carry
 * it and a resumed fit hands it back before onTrainBegin.
 */
export interface Callbacks {
  /** `initialEpoch`: epochs already done (from resumeFrom), else 0. `stepsPerEpoch` and `samples` are NaN for a streamed data set. */
  onTrainBegin?(info: { epochs: number; stepsPerEpoch: number; samples: number; initialEpoch: number }): void;
  onBatchEnd?(step: number, logs: { loss: number; batchSize: number }, control: BatchControl): void;
  onEpochEnd?(log: EpochLog, control: EpochControl): void;
  onTrainEnd?(history: History): void;
  getState?(): unknown;
  setState?(state: unknown): void;
}

const CALLBACK_KEYS = ['onTrainBegin', 'onBatchEnd', 'onEpochEnd', 'onTrainEnd', 'getState', 'setState'] as const satisfies ReadonlyArray<keyof Callbacks>;

export interface FitOptions {
  epochs?: number;
  batchSize?: number;
  /** An optimizer over the model's parameters, or a name (with `lr`). Default 'adam'. */
  optimizer?: OptimizerLike | OptimizerName;
  /** Learning rate when `optimizer` is a name. Default 1e-3. */
  lr?: number;
  /** Weight of each task's loss (by task order, or by task name). Default 1 for every task. */
  lossWeights?: readonly number[] | Record<string, number>;
  /**
   * Per-row weights, Keras's sample_weight: [N] for all tasks, or [N, T] per row and task. A task's
   * loss is (1/B) Σ_b r_b · loss_b over each batch of B rows (Keras: the mean of the weighted
   * losses, not divided by Σ r); with missingLabels, B is the task's observed rows in the batch. Rows held out by validationSplit take their weights with them;
   * validation metrics are unweighted.
   */
  sampleWeight?: SampleWeight;
  /**
   * Per binary task, Keras's class_weight `{ 0: w0, 1: w1 }` (by task name, or in task order with
   * null for none), multiplied into sampleWeight. A soft label y weighs (1 − y)·w0 + y·w1.
   */
  classWeight?: ClassWeight;
  /**
   * Learned task weights instead of lossWeights: 'uncertainty' (Kendall et al., CVPR 2018) or
   * 'gradnorm' (Chen et al., ICML 2018), or their options (see task-weighting.ts). The learned
   * weights are logged per epoch as `<task>_weight` (and `<task>_log_var`, `gradnorm_loss`).
   * `loss` is then the minimised objective (for 'uncertainty' it includes the ½ s_t terms and can
   * be negative); `val_loss` stays the plain sum of the task losses.
   */
  taskWeighting?: TaskWeightingOption;
  /**
   * Partial labels: a NaN label is a missing one, and this says where that is allowed: 'mask' (every
   * task) or the names of the tasks that may miss labels. A missing label takes no part in its task's
   * loss (each task's loss is the mean over its observed rows in the batch, sampleWeight still
   * applied inside it) nor in its validation metrics. Default 'error': a NaN label is an error.
   */
  missingLabels?: MissingLabels;
  /**
   * Adds grouped AUC (`val_<task>_gauc`) to the validation metrics of binary tasks: the name of a
   * feature column holding a group (user) id per row, or the ids of fit's rows (with validationSplit).
   */
  groupBy?: GroupBy;
  /** Fraction of the rows, taken from the end (before shuffling, as Keras does), held out for validation. */
  validationSplit?: number;
  /** Rows to validate on after each epoch: a Dataset, or a batch source (read once per epoch). */
  validationData?: Dataset | BatchSource;
  /** Reshuffle the training rows every epoch. Default true. */
  shuffle?: boolean;
  earlyStopping?: EarlyStoppingOptions;
  /** Seeds the shuffling order; with `manualSeed` (for init and dropout) a fit is bit-for-bit reproducible. */
  seed?: number;
  /** Clip the global gradient norm to this value before each step. */
  clipGradNorm?: number;
  /**
   * Train op by op (Keras's run_eagerly). By default a fit whose step is the plain one (dense
   * features in memory, fixed task weights, …) traces its step once per epoch and replays it, with
   * the same bits; a custom model whose forward has side effects in JavaScript, or reads JavaScript
   * state that changes between steps, wants this (docs/architecture.md, "Traced training steps").
   */
  runEagerly?: boolean;
  callbacks?: Callbacks | readonly Callbacks[];
  /** 0 silent, 1 progress bar on a TTY (one line per epoch otherwise), 2 one line per epoch. Default 1. */
  verbose?: 0 | 1 | 2;
  /** Where progress goes. Default process.stderr in Node, console.log elsewhere. */
  progressStream?: ProgressStream;
  /**
   * A learning-rate scheduler (optim.StepLR, ExponentialLR, CosineAnnealingLR, LinearLR,
   * ReduceLROnPlateau), stepped once per epoch after validation as in PyTorch's loop; or a function
   * optimizer => scheduler (needed when `optimizer` is a name); or Lightning's form
   * `{ scheduler, interval: 'epoch' | 'step', monitor }`: 'step' steps it after every batch, and
   * `monitor` is the logged value ReduceLROnPlateau watches (default 'val_loss', or 'loss' without
   * validation data). With a scheduler, each epoch logs `lr`: the lr of the first parameter group
   * at the epoch's last step.
   */
  lrScheduler?: SchedulerInput | LRSchedulerConfig;
  /**
   * Aborts training: checked before every batch, so it ends at the next batch boundary and the
   * weights are those of the last finished step. `fit` (which never yields) can only see an abort
   * made by a callback; `fitAsync` also sees one from a timer, a button or a message.
   */
  signal?: AbortSignal;
  /**
   * Continue an interrupted fit from a checkpoint (ModelCheckpoint's file through loadCheckpoint,
   * its bytes, or control.checkpoint()): weights, optimizer and scheduler state, epoch, step, both
   * random streams, history, early stopping and callbacks' state are restored, so with the same
   * data and options the result is bit-identical to a fit that was never interrupted. `epochs` is
   * the total, as in the interrupted fit.
   */
  resumeFrom?: TrainingCheckpoint | Uint8Array;
  /**
   * Gate entropy and per-expert load per task after each epoch (expert-health.ts), logged as
   * `<task>_gate_entropy` and `<task>_expert_<e>_load`, with a warning when a gate collapses. On by
   * default for models with gates (MMoE, OMoE, PLE); false turns it off.
   */
  expertHealth?: boolean | ExpertHealthOptions;
}

/** The function form gets fit's optimizer (an optim optimizer when fit built it from a name). */
export type SchedulerInput = AnyLRScheduler | ((optimizer: OptimizerLike & SchedulableOptimizer) => AnyLRScheduler);

/** PyTorch Lightning's lr_scheduler config. */
export interface LRSchedulerConfig {
  scheduler: SchedulerInput;
  /** 'epoch' (default): step after each epoch; 'step': after each batch. */
  interval?: 'epoch' | 'step';
  /** ReduceLROnPlateau only: the log key it watches. */
  monitor?: string;
}

/** A scheduler resolved for the loop. */
export interface PlannedScheduler {
  scheduler: AnyLRScheduler;
  interval: 'epoch' | 'step';
  /** The log key given to ReduceLROnPlateau.step; null for the others. */
  monitor: string | null;
  /** The group whose lr is logged. */
  group: { lr: number };
}

/** When fitAsync hands the event loop a turn. */
export type YieldEvery = 'auto' | 'batch' | 'epoch' | 'never' | number;

export interface FitAsyncOptions extends FitOptions {
  /**
   * TF.js's option and meanings: 'batch' after every batch, 'epoch' after every epoch, 'never',
   * a number: at the first batch end at least that many milliseconds after the last turn. 'auto'
   * (the default) is 16 ms, one frame at 60 Hz (TF.js waits 125 ms, because its yield waits for
   * the next animation frame; ours is a posted message and costs microseconds).
   */
  yieldEvery?: YieldEvery;
}

export const FIT_KEYS = [
  'epochs', 'batchSize', 'optimizer', 'lr', 'lossWeights', 'sampleWeight', 'classWeight', 'taskWeighting', 'validationSplit', 'validationData', 'shuffle',
  'earlyStopping', 'seed', 'clipGradNorm', 'callbacks', 'verbose', 'progressStream', 'lrScheduler', 'signal',
  'missingLabels', 'groupBy', 'resumeFrom', 'expertHealth', 'runEagerly',
] as const satisfies ReadonlyArray<keyof FitOptions>;
/** The options whose value has one kind: a value of another kind is a TypeError, not a truthy default. */
const FIT_VALUE_KINDS: Partial<Record<keyof FitOptions, ValueKind>> = {
  epochs: 'number', batchSize: 'number', lr: 'number', validationSplit: 'number', shuffle: 'boolean', seed: 'number', clipGradNorm: 'number', runEagerly: 'boolean',
  validationData: 'object', earlyStopping: 'object', progressStream: 'object',
};
export const FIT_ASYNC_KEYS = [...FIT_KEYS, 'yieldEvery'] as const satisfies ReadonlyArray<keyof FitAsyncOptions>;

/** Everything the training loop needs, resolved and checked before the first step. */
export interface FitPlan {
  fn: string;
  model: MultiTaskModel;
  /** In-memory training rows, or null for a stream. */
  train: ResolvedDataset | null;
  /** The training stream, or null for in-memory rows. */
  stream: BatchSource | null;
  streamChecks: StreamChecks;
  val: ResolvedDataset | null;
  valStream: BatchSource | null;
  /** How valStream is scored: partial labels, and the groupBy column. */
  valScoring: StreamScoring;
  epochs: number;
  batchSize: number;
  steps: number;
  weights: number[];
  params: Tensor[];
  optimizer: OptimizerLike;
  shuffle: boolean;
  generator: Generator;
  stopper: Stopper | null;
  callbacks: Callbacks[];
  bar: ProgressBar | null;
  clipGradNorm: number | undefined;
  runEagerly: boolean;
  signal: AbortSignal | undefined;
  scheduler: PlannedScheduler | null;
  weighting: TaskWeighting;
  /** The checkpoint to continue from, or null. */
  resume: TrainingCheckpoint | null;
  /** Why checkpoints cannot capture this fit, or null. */
  notResumable: string | null;
  health: ExpertHealth | null;
}

const isScheduler = (s: unknown): s is AnyLRScheduler => s instanceof LRScheduler || s instanceof ReduceLROnPlateau;

function resolveScheduler(fn: string, input: FitOptions['lrScheduler'], optimizer: OptimizerLike, hasValidation: boolean): PlannedScheduler | null {
  if (input === undefined) return null;
  const config: LRSchedulerConfig = isScheduler(input) || typeof input === 'function' ? { scheduler: input } : input;
  if (config === null || typeof config !== 'object') {
    throw new TypeError(`${fn}: lrScheduler must be a scheduler, a function optimizer => scheduler, or { scheduler, interval, monitor }`);
  }
  checkOptions(`${fn}: lrScheduler`, config, ['scheduler', 'interval', 'monitor']);
  const given = config.scheduler;
  const scheduler = typeof given === 'function' ? given(optimizer as OptimizerLike & SchedulableOptimizer) : given;
  if (!isScheduler(scheduler)) {
    throw new TypeError(`${fn}: lrScheduler${typeof given === 'function' ? ' function returned' : ' is'} ${scheduler === null ? 'null' : typeof scheduler}, not a scheduler (optim.StepLR, ExponentialLR, CosineAnnealingLR, LinearLR, ReduceLROnPlateau)`);
  }
  if ((scheduler.optimizer as unknown) !== optimizer) {
    throw new Error(`${fn}: lrScheduler (${scheduler.name}) schedules another optimizer than the one fit steps; build it over the optimizer you pass as \`optimizer\`, or give a function optimizer => scheduler`);
  }
  const interval = config.interval ?? 'epoch';
  if (interval !== 'epoch' && interval !== 'step') throw new RangeError(`${fn}: lrScheduler.interval must be 'epoch' or 'step', got ${String(interval)}`);
  let monitor: string | null = null;
  if (scheduler instanceof ReduceLROnPlateau) {
    if (interval === 'step') throw new Error(`${fn}: ReduceLROnPlateau watches a per-epoch value; it cannot step every batch (interval 'step')`);
    monitor = config.monitor ?? (hasValidation ? 'val_loss' : 'loss');
    if (typeof monitor !== 'string') throw new TypeError(`${fn}: lrScheduler.monitor must be a log key (a string), got ${typeof monitor}`);
    if (monitor.startsWith('val_') && !hasValidation) {
      throw new Error(`${fn}: ReduceLROnPlateau monitors '${monitor}' but there is no validation data (give validationSplit or validationData)`);
    }
  } else if (config.monitor !== undefined) {
    throw new Error(`${fn}: lrScheduler.monitor is for ReduceLROnPlateau; ${scheduler.name} does not watch a value`);
  }
  // Looked up each time: an optimizer's loadStateDict (resumeFrom) replaces its group objects.
  return { scheduler, interval, monitor, get group() { return scheduler.optimizer.paramGroups[0]; } };
}

function resolveCallbacks(fn: string, c: FitOptions['callbacks']): Callbacks[] {
  if (c === undefined) return [];
  const list = (Array.isArray(c) ? c : [c]) as Callbacks[];
  list.forEach((cb, i) => {
    const where = Array.isArray(c) ? `${fn}: callbacks[${i}]` : `${fn}: callbacks`;
    if (cb === null || typeof cb !== 'object') throw new TypeError(`${where} must be an object of hooks (${CALLBACK_KEYS.join(', ')})`);
    // A class instance may carry its own state; only a literal's keys can only be hooks.
    if (Object.getPrototypeOf(cb) === Object.prototype) checkOptions(where, cb, CALLBACK_KEYS);
    for (const k of CALLBACK_KEYS) {
      if (cb[k] !== undefined && typeof cb[k] !== 'function') throw new TypeError(`${where}.${k} must be a function, got ${typeof cb[k]}`);
    }
  });
  return list;
}

function resolveStopper(fn: string, opts: FitOptions, model: MultiTaskModel, hasValidation: boolean, trainWeights: number[]): Stopper | null {
  const es = opts.earlyStopping;
  if (es === undefined) return null;
  if (es === null || typeof es !== 'object') throw new TypeError(`${fn}: earlyStopping must be an options object ({ monitor, patience, ... })`);
  const single = new EarlyStopping({ ...es, monitor: es.perTask ? undefined : es.monitor }, hasValidation, fn);
  if (!es.perTask) return single;
  if (opts.taskWeighting !== undefined) throw new Error(`${fn}: earlyStopping.perTask stops a task by zeroing its fixed loss weight; it cannot be combined with taskWeighting`);
  return new PerTaskEarlyStopping(es, hasValidation, fn, model.taskNames, model.taskTypes, trainWeights);
}

function checkSignal(fn: string, s: unknown): AbortSignal | undefined {
  if (s === undefined) return undefined;
  if (s === null || typeof s !== 'object' || typeof (s as AbortSignal).aborted !== 'boolean') {
    throw new TypeError(`${fn}: signal must be an AbortSignal (from new AbortController().signal)`);
  }
  return s as AbortSignal;
}

/** The checks a batch source makes of fit's options, which assume in-memory rows. */
function checkStreamOptions(fn: string, data: BatchSource, opts: FitOptions): void {
  const refuse = (key: string, why: string): never => { throw new Error(`${fn}: ${key}: ${why}`); };
  if (opts.validationSplit !== undefined) refuse('validationSplit', 'a stream cannot be split; give validationData (a Dataset or another batch source)');
  if (opts.sampleWeight !== undefined) refuse('sampleWeight', "a stream's weights come with its batches ({ x, y, sampleWeight })");
  if (opts.batchSize !== undefined) refuse('batchSize', 'a stream is cut into batches by its source (csvDataset has batchSize)');
  if (opts.shuffle !== undefined) refuse('shuffle', "a stream is shuffled by its source (csvDataset's shuffleBuffer)");
  if (opts.groupBy !== undefined && typeof opts.groupBy !== 'string') refuse('groupBy', 'ids (one per row) follow in-memory rows; with a stream, name a feature column (or give validation batches their groups)');
  if (fn === 'fit' && typeof (data as { [Symbol.asyncIterator]?: unknown })[Symbol.asyncIterator] === 'function') {
    refuse('data', 'an async iterable is read with fitAsync (fit cannot wait)');
  }
}

export function planFit(fn: string, model: MultiTaskModel, data: Dataset | BatchSource, opts: FitOptions, allowed: readonly string[]): FitPlan {
  checkModel(fn, model);
  if (fn === 'fit' && opts !== null && typeof opts === 'object' && 'yieldEvery' in opts) {
    throw new TypeError('fit: yieldEvery is an option of fitAsync (fit runs to the end without yielding)');
  }
  checkOptions(fn, opts, allowed);
  checkOptionTypes(fn, opts, FIT_VALUE_KINDS);
  if (isBatchSource(data)) checkStreamOptions(fn, data, opts);
  const epochs = checkPositiveInt(fn, 'epochs', opts.epochs ?? 1);
  const batchSize = checkPositiveInt(fn, 'batchSize', opts.batchSize ?? 256);
  const weights = resolveLossWeights(fn, model, opts.lossWeights);
  const numTasks = model.taskNames.length;
  const maskable = resolveMissingLabels(fn, opts.missingLabels, model.taskNames);
  const stream = isBatchSource(data) ? data : null;
  let train: ResolvedDataset | null = null;
  if (!isBatchSource(data)) {
    train = checkedDataset(fn, data, model, maskable);
    train.w = resolveRowWeights(fn, opts.sampleWeight, opts.classWeight, train.y, train.n, model.taskTypes, model.taskNames);
  }
  const valStream = opts.validationData !== undefined && isBatchSource(opts.validationData) ? opts.validationData : null;
  let val: ResolvedDataset | null = null;
  if (opts.validationData !== undefined && opts.validationSplit !== undefined) {
    throw new Error(`${fn}: give validationSplit or validationData, not both`);
  }
  if (opts.validationData !== undefined && valStream === null) {
    val = checkedDataset(`${fn} (validationData)`, opts.validationData as Dataset, model, maskable);
    // Its metrics would be NaN every epoch, which early stopping and ReduceLROnPlateau misread.
    if (val.n === 0) throw new RangeError(`${fn}: validationData has no rows`);
  } else if (opts.validationSplit !== undefined && train !== null) {
    // Ids given per row travel with their rows into the split.
    if (opts.groupBy !== undefined && typeof opts.groupBy !== 'string') train.groups = resolveGroups(fn, opts.groupBy, train);
    const s = opts.validationSplit;
    if (!(s > 0 && s < 1)) throw new RangeError(`${fn}: validationSplit must be in (0, 1), got ${s}`);
    const nTrain = Math.floor(train.n * (1 - s));
    if (nTrain < 1 || nTrain >= train.n) throw new RangeError(`${fn}: validationSplit ${s} of ${train.n} rows leaves an empty split`);
    val = { ...subsetDataset(train, rangeRows(nTrain, train.n)), w: null };
    train = subsetDataset(train, rangeRows(0, nTrain));
  }
  if (train !== null && train.n === 0) throw new RangeError(`${fn}: no training rows`);
  const hasValidation = val !== null || valStream !== null;
  if (opts.groupBy !== undefined) {
    if (val === null && valStream === null) throw new Error(`${fn}: groupBy adds grouped AUC to the validation metrics; give validationSplit or validationData`);
    if (val === null) {
      if (typeof opts.groupBy !== 'string') throw new TypeError(`${fn}: groupBy ids (one per row) cannot follow a validationData stream; name a feature column instead`);
    } else if (typeof opts.groupBy === 'string') val.groups = resolveGroups(`${fn} (validation data)`, opts.groupBy, val);
    else if (opts.validationData !== undefined) throw new TypeError(`${fn}: groupBy ids (one per row) follow fit's data rows; with validationData, name a feature column instead`);
  }
  const params = model.parameters();
  const verbose = opts.verbose ?? 1;
  if (verbose !== 0 && verbose !== 1 && verbose !== 2) throw new RangeError(`${fn}: verbose must be 0, 1 or 2, got ${String(verbose)}`);
  const optimizer = makeOptimizer(fn, opts.optimizer ?? 'adam', params, opts.lr ?? 1e-3);
  // The training loss's own copy: per-task early stopping zeroes a stopped task's entry, while validation keeps `weights`.
  const trainWeights = weights.slice();
  return {
    fn, model, train, val, stream, valStream, epochs, batchSize, weights, params, optimizer,
    streamChecks: { fn, model, classWeight: opts.classWeight, weighted: true, maskable },
    valScoring: { maskable, ...(valStream !== null && typeof opts.groupBy === 'string' ? { groupBy: opts.groupBy } : {}) },
    steps: train === null ? NaN : numBatches(train.n, batchSize),
    scheduler: resolveScheduler(fn, opts.lrScheduler, optimizer, hasValidation),
    weighting: resolveTaskWeighting(fn, opts.taskWeighting, model, trainWeights, opts.lossWeights !== undefined, opts.lr),
    shuffle: opts.shuffle ?? true,
    generator: opts.seed !== undefined ? new Generator(opts.seed) : defaultGenerator,
    stopper: resolveStopper(fn, opts, model, hasValidation, trainWeights),
    callbacks: resolveCallbacks(fn, opts.callbacks),
    bar: verbose === 0 ? null : new ProgressBar({ stream: opts.progressStream, tty: verbose === 2 ? false : undefined }),
    clipGradNorm: opts.clipGradNorm,
    runEagerly: opts.runEagerly ?? false,
    signal: checkSignal(fn, opts.signal),
    health: resolveExpertHealth(fn, model, opts.expertHealth),
    resume: opts.resumeFrom === undefined ? null : checkpointFrom(fn, opts.resumeFrom),
    notResumable: null,
  };
}
