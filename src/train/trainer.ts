import { Tensor, noGrad } from '../autograd/index.js';
import { Generator, defaultGenerator } from '../tensor/index.js';
import { batchIndices, numBatches } from '../data/batches.js';
import type { ModelInput, MultiTaskModel } from '../models/types.js';
import {
  type Dataset, type Features, type ResolvedDataset,
  rangeRows, resolveDataset, sliceFeatures, subsetDataset, takeFeatures, takeLabels,
} from './dataset.js';
import { EarlyStopping, History, type EarlyStoppingOptions, type EpochLog } from './history.js';
import { accumulateTaskLosses, multiTaskLoss } from './loss.js';
import { column, logloss, mse, perTaskMetrics, type TaskMetrics } from './metrics.js';
import { ProgressBar, type ProgressStream } from './progress.js';
import { makeOptimizer, type OptimizerLike, type OptimizerName } from './optimizer.js';
import { clipGradNorm } from '../nn/optim/index.js';

/** Hooks into the training loop; `control.stop()` ends training after the current epoch. */
export interface Callbacks {
  onTrainBegin?(info: { epochs: number; stepsPerEpoch: number; samples: number }): void;
  onBatchEnd?(step: number, logs: { loss: number; batchSize: number }): void;
  onEpochEnd?(log: EpochLog, control: { stop(): void }): void;
  onTrainEnd?(history: History): void;
}

export interface FitOptions {
  epochs?: number;
  batchSize?: number;
  /** An optimizer over the model's parameters, or a name (with `lr`). Default 'adam'. */
  optimizer?: OptimizerLike | OptimizerName;
  /** Learning rate when `optimizer` is a name. Default 1e-3. */
  lr?: number;
  /** Weight of each task's loss (by task order, or by task name). Default 1 for every task. */
  lossWeights?: readonly number[] | Record<string, number>;
  /** Fraction of the rows, taken from the end (before shuffling, as Keras does), held out for validation. */
  validationSplit?: number;
  validationData?: Dataset;
  /** Reshuffle the training rows every epoch. Default true. */
  shuffle?: boolean;
  earlyStopping?: EarlyStoppingOptions;
  /** Seeds the shuffling order; with `manualSeed` (for init and dropout) a fit is bit-for-bit reproducible. */
  seed?: number;
  /** Clip the global gradient norm to this value before each step. */
  clipGradNorm?: number;
  callbacks?: Callbacks | readonly Callbacks[];
  /** 0 silent, 1 progress bar on a TTY (one line per epoch otherwise), 2 one line per epoch. Default 1. */
  verbose?: 0 | 1 | 2;
  /** Where progress goes. Default process.stderr. */
  progressStream?: ProgressStream;
}

export interface EvaluateOptions {
  batchSize?: number;
  /** Which metrics to compute; default every one that fits each task's type. */
  metrics?: ReadonlyArray<keyof TaskMetrics>;
  /** Weights for the combined `loss`, as in fit. */
  lossWeights?: readonly number[] | Record<string, number>;
}

export interface PredictOptions {
  batchSize?: number;
}

/** evaluate's answer: the per-task metrics by task name, and the weighted total loss. */
export interface Evaluation {
  loss: number;
  tasks: Record<string, TaskMetrics>;
}

function checkModel(fn: string, model: MultiTaskModel): void {
  if (model === null || typeof model !== 'object' || typeof model.logits !== 'function' || !Array.isArray(model.taskNames)) {
    throw new TypeError(`${fn}: model must be a multi-task model (logits, forward, taskNames, taskTypes)`);
  }
}

function positiveInt(fn: string, name: string, v: number): number {
  if (!Number.isInteger(v) || v < 1) throw new RangeError(`${fn}: ${name} must be a positive integer, got ${v}`);
  return v;
}

export function resolveLossWeights(fn: string, model: MultiTaskModel, w: FitOptions['lossWeights']): number[] {
  const names = model.taskNames;
  if (w === undefined) return names.map(() => 1);
  let out: number[];
  if (Array.isArray(w)) {
    if (w.length !== names.length) throw new RangeError(`${fn}: lossWeights needs one weight per task (${names.length}: ${names.join(', ')}), got ${w.length}`);
    out = w.slice();
  } else {
    const rec = w as Record<string, number>;
    for (const k of Object.keys(rec)) if (!names.includes(k)) throw new RangeError(`${fn}: lossWeights names unknown task '${k}'; tasks: ${names.join(', ')}`);
    out = names.map((n) => rec[n] ?? 1);
  }
  for (const v of out) if (!(Number.isFinite(v) && v >= 0)) throw new RangeError(`${fn}: loss weights must be finite and >= 0, got ${v}`);
  return out;
}

/** Forward in eval mode under noGrad, restoring the model's mode afterwards. */
function inEvalMode<T>(model: MultiTaskModel, fn: () => T): T {
  const wasTraining = model.training;
  model.eval();
  try {
    return noGrad(fn);
  } finally {
    model.train(wasTraining);
  }
}

function predictResolved(model: MultiTaskModel, x: Features, n: number, batchSize: number): Float32Array {
  const t = model.taskNames.length;
  const out = new Float32Array(n * t);
  inEvalMode(model, () => {
    for (let start = 0; start < n; start += batchSize) {
      const end = Math.min(n, start + batchSize);
      const p = model.forward(sliceFeatures(x, start, end, n));
      if (p.ndim !== 2 || p.shape[0] !== end - start || p.shape[1] !== t) {
        throw new RangeError(`predict: the model returned [${p.shape.join(', ')}] for a batch of ${end - start}, expected [${end - start}, ${t}]`);
      }
      out.set(p.data, start * t);
    }
  });
  return out;
}

/** Model outputs [N, T] (probabilities for binary tasks, values for regression), in eval mode. */
export function predict(model: MultiTaskModel, x: Features, opts: PredictOptions = {}): Tensor {
  checkModel('predict', model);
  const batchSize = positiveInt('predict', 'batchSize', opts.batchSize ?? 1024);
  const n = x instanceof Tensor ? x.shape[0] : rowsOf(x, model);
  const out = predictResolved(model, x, n, batchSize);
  return new Tensor(out, [n, model.taskNames.length]);
}

/**
 * Rows of a feature record: a Tensor column's first axis, else the length of the shortest typed
 * array (a column with one value per row), which every other column's length must be a multiple of.
 */
function rowsOf(x: Features, model: MultiTaskModel): number {
  const cols = Object.values(x as Record<string, Tensor | Int32Array | Float32Array>);
  const arrays: Array<Int32Array | Float32Array> = [];
  for (const col of cols) {
    if (col instanceof Tensor) return col.shape[0];
    arrays.push(col);
  }
  const n = Math.min(...arrays.map((c) => c.length));
  if (!(n > 0) || arrays.some((c) => c.length % n !== 0)) {
    throw new Error(`predict: cannot tell the row count of this feature record (column lengths ${arrays.map((c) => c.length).join(', ')}); give one dense column as a Tensor [N, dim] (tasks: ${model.taskNames.join(', ')})`);
  }
  return n;
}

function evaluateResolved(
  model: MultiTaskModel, d: ResolvedDataset, batchSize: number, weights: readonly number[],
  metrics?: ReadonlyArray<keyof TaskMetrics>,
): Evaluation {
  const pred = predictResolved(model, d.x, d.n, batchSize);
  const tasks = perTaskMetrics(d.y, pred, model.taskTypes, model.taskNames, metrics ? { metrics } : {});
  const t = model.taskNames.length;
  let loss = 0;
  model.taskTypes.forEach((type, j) => {
    if (weights[j] === 0) return;
    const y = column(d.y, t, j), p = column(pred, t, j);
    loss += weights[j] * (type === 'binary' ? logloss(y, p) : mse(y, p));
  });
  return { loss, tasks };
}

/** Per-task metrics on a data set (AUC, logloss and accuracy for binary tasks; MSE for regression). */
export function evaluate(model: MultiTaskModel, data: Dataset, opts: EvaluateOptions = {}): Evaluation {
  checkModel('evaluate', model);
  const d = resolveDataset('evaluate', data, model.taskNames.length);
  const batchSize = positiveInt('evaluate', 'batchSize', opts.batchSize ?? 1024);
  return evaluateResolved(model, d, batchSize, resolveLossWeights('evaluate', model, opts.lossWeights), opts.metrics);
}

function validationLogs(ev: Evaluation, logs: Record<string, number>): void {
  logs.val_loss = ev.loss;
  for (const [task, m] of Object.entries(ev.tasks)) {
    for (const [k, v] of Object.entries(m)) if (typeof v === 'number') logs[`val_${task}_${k}`] = v;
  }
}

/**
 * Trains `model` on `data` with loss Σ_t w_t · loss_t + the model's regularisation, one optimizer
 * step per mini-batch. Returns the per-epoch history.
 */
export function fit(model: MultiTaskModel, data: Dataset, opts: FitOptions = {}): History {
  checkModel('fit', model);
  const epochs = positiveInt('fit', 'epochs', opts.epochs ?? 1);
  const batchSize = positiveInt('fit', 'batchSize', opts.batchSize ?? 256);
  const weights = resolveLossWeights('fit', model, opts.lossWeights);
  const numTasks = model.taskNames.length;
  let train = resolveDataset('fit', data, numTasks);
  let val: ResolvedDataset | null = null;
  if (opts.validationData !== undefined && opts.validationSplit !== undefined) {
    throw new Error('fit: give validationSplit or validationData, not both');
  }
  if (opts.validationData !== undefined) val = resolveDataset('fit (validationData)', opts.validationData, numTasks);
  else if (opts.validationSplit !== undefined) {
    const s = opts.validationSplit;
    if (!(s > 0 && s < 1)) throw new RangeError(`fit: validationSplit must be in (0, 1), got ${s}`);
    const nTrain = Math.floor(train.n * (1 - s));
    if (nTrain < 1 || nTrain >= train.n) throw new RangeError(`fit: validationSplit ${s} of ${train.n} rows leaves an empty split`);
    val = subsetDataset(train, rangeRows(nTrain, train.n));
    train = subsetDataset(train, rangeRows(0, nTrain));
  }
  if (train.n === 0) throw new RangeError('fit: no training rows');
  const params = model.parameters();
  const optimizer = makeOptimizer('fit', opts.optimizer ?? 'adam', params, opts.lr ?? 1e-3);
  const shuffle = opts.shuffle ?? true;
  const generator = opts.seed !== undefined ? new Generator(opts.seed) : defaultGenerator;
  const stopper = opts.earlyStopping ? new EarlyStopping(opts.earlyStopping, val !== null) : null;
  const callbacks = opts.callbacks === undefined ? [] : Array.isArray(opts.callbacks) ? opts.callbacks as Callbacks[] : [opts.callbacks as Callbacks];
  const verbose = opts.verbose ?? 1;
  const bar = verbose === 0 ? null : new ProgressBar({ stream: opts.progressStream, tty: verbose === 2 ? false : undefined });
  const steps = numBatches(train.n, batchSize);
  const history = new History();
  let stop = false;
  const control = { stop: (): void => { stop = true; } };
  for (const cb of callbacks) cb.onTrainBegin?.({ epochs, stepsPerEpoch: steps, samples: train.n });
  const stateTensors = Object.values(model.stateDict());
  const taskSums = new Float64Array(numTasks);

  for (let epoch = 1; epoch <= epochs && !stop; epoch++) {
    const t0 = performance.now();
    model.train();
    bar?.epochBegin(epoch, epochs, steps);
    taskSums.fill(0);
    let lossSum = 0;
    let seen = 0;
    let step = 0;
    for (const rows of batchIndices(train.n, batchSize, { shuffle, generator })) {
      const xb = takeFeatures(train.x, rows, train.n);
      const yb = takeLabels(train.y, numTasks, rows);
      optimizer.zeroGrad();
      const logits = model.logits(xb);
      let loss = multiTaskLoss(logits, yb, model.taskTypes, weights);
      const reg = model.regularizationLoss();
      if (reg !== null) loss = loss === null ? reg : loss.add(reg);
      const value = loss === null ? 0 : loss.item();
      // Checked before the step: stepping on a NaN loss would leave NaN weights behind the error.
      if (!Number.isFinite(value)) throw new Error(`fit: the loss became ${value} at epoch ${epoch}, step ${step + 1} (lower the learning rate, or clip gradients with clipGradNorm)`);
      if (loss !== null) {
        loss.backward();
        if (opts.clipGradNorm !== undefined) clipGradNorm(params, opts.clipGradNorm);
        optimizer.step();
      }
      accumulateTaskLosses(logits, yb, model.taskTypes, taskSums);
      lossSum += value * rows.length;
      seen += rows.length;
      step++;
      bar?.step(step, lossSum / seen, seen);
      for (const cb of callbacks) cb.onBatchEnd?.(step, { loss: value, batchSize: rows.length });
    }
    const logs: Record<string, number> = { loss: lossSum / seen };
    model.taskNames.forEach((name, j) => { logs[`${name}_loss`] = taskSums[j] / seen; });
    const trainSeconds = (performance.now() - t0) / 1000;
    if (val !== null) validationLogs(evaluateResolved(model, val, Math.max(batchSize, 1024), weights), logs);
    const seconds = (performance.now() - t0) / 1000;
    const log: EpochLog = { epoch, logs, seconds, samplesPerSecond: seen / trainSeconds };
    history.push(log);
    bar?.epochEnd(logs, seconds, log.samplesPerSecond);
    if (stopper?.update(epoch, logs, stateTensors)) {
      stop = true;
      bar?.message(`early stopping: '${stopper.monitor}' has not improved for ${stopper.patience + 1} epoch(s); best ${stopper.best} at epoch ${stopper.bestEpoch}`);
    }
    for (const cb of callbacks) cb.onEpochEnd?.(log, control);
    if (stop && epoch < epochs) history.stoppedEarly = true;
  }
  if (stopper) {
    history.bestEpoch = stopper.bestEpoch;
    stopper.restore(stateTensors);
  }
  for (const cb of callbacks) cb.onTrainEnd?.(history);
  return history;
}

export type { ModelInput };
