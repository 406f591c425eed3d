import { Tensor, physical, stackedView } from '../autograd/index.js';
import { batchIndices } from '../data/batches.js';
import type { FeatureBatch, ModelInput, MultiTaskModel } from '../models/types.js';
import { Adagrad, Adam, AdamW, RMSprop, SGD, type Optimizer } from '../nn/optim/index.js';
import type { StackedModules } from '../nn/stacked.js';
import { Generator, allocateUninit, dtypeOf, gatherRows, type Storage } from '../tensor/index.js';
import { checkOptionKeys, type OptionKeys } from '../validation/options.js';
import { checkPositiveInt } from '../validation/values.js';
import { checkedDataset } from './checks.js';
import type { Dataset, ResolvedDataset } from './dataset.js';
import { checkModel, resolveLossWeights } from './evaluate.js';
import { History } from './history.js';
import { StepScopes } from './held-storage.js';
import { accumulateTaskLosses, multiTaskLoss } from './loss.js';
import { makeOptimizer, type OptimizerLike, type OptimizerName } from './optimizer-registry.js';
import { stackedCheckpointFrom, type StackedCheckpoint } from './stacked-checkpoint.js';

/*
 * `fit` for R stacked models (nn/stacked.ts): every run draws its batches in its own seeded order
 * exactly as `fit` with `seed: seeds[r]` would, and each step is one stacked forward, backward and
 * optimizer step. The optimizers are elementwise, so each run keeps its own state; fit's options
 * that couple runs or need per-run control flow (global-norm clipping, early stopping,
 * schedulers, learned task weights, validation) are refused. onEpochEnd can take a checkpoint
 * (stacked-checkpoint.ts) that resumeFrom continues from, giving the bits of an uninterrupted fit.
 */

export interface FitStackedOptions {
  epochs?: number;
  batchSize?: number;
  /** A name (with `lr`), or an elementwise optimizer over `stacked.parameters()`. Default 'adam'. */
  optimizer?: OptimizerLike | OptimizerName;
  lr?: number;
  lossWeights?: readonly number[] | Record<string, number>;
  shuffle?: boolean;
  /** Run r shuffles with `new Generator(seeds[r])`, as `fit(model, data, { seed })` does. Needed when shuffling. */
  seeds?: readonly number[];
  /** Called after every optimizer step with the epoch (1-based) and the step within it (1-based), as fit's onBatchEnd. */
  onStep?: (epoch: number, step: number) => void;
  /**
   * Called after every epoch with the epoch (1-based) and a function that copies the training
   * state into a checkpoint: call it inside onEpochEnd, when one is wanted (later it throws).
   */
  onEpochEnd?: (epoch: number, checkpoint: () => StackedCheckpoint) => void;
  /**
   * A checkpoint (or its bytes) from an earlier fitStacked of the same stack, data, seeds and
   * options: training goes on from its epoch as if it had never stopped. `epochs` stays the total.
   */
  resumeFrom?: StackedCheckpoint | Uint8Array;
}

const KEYS: OptionKeys<FitStackedOptions> = {
  epochs: true, batchSize: true, optimizer: true, lr: true, lossWeights: true, shuffle: true, seeds: true, onStep: true, onEpochEnd: true, resumeFrom: true,
};

const REFUSED: Record<string, string> = {
  clipGradNorm: 'global-norm clipping couples every run through one norm',
  earlyStopping: 'runs would stop at different epochs',
  lrScheduler: 'a scheduler steps one learning rate for every run',
  taskWeighting: 'learned task weights are not per run',
  validationSplit: 'validation is per model: evaluate each unstacked model',
  validationData: 'validation is per model: evaluate each unstacked model',
  sampleWeight: 'not supported for stacked training',
  classWeight: 'not supported for stacked training',
  seed: "give one seed per run as 'seeds'",
  callbacks: 'not supported for stacked training',
  signal: 'not supported for stacked training',
  verbose: 'stacked training is silent',
  progressStream: 'stacked training is silent',
};

const ELEMENTWISE = [Adam, AdamW, SGD, Adagrad, RMSprop];

/**
 * Run r's rows rowsR[r] of columns[r], gathered straight into one stacked tensor (physical
 * [R, B, ...tail]): one copy per value, into storage the step's kernels read in place.
 */
function gatherRuns(columns: ReadonlyArray<Tensor | Float32Array>, rowsR: readonly Int32Array[], n: number, tail: readonly number[]): Tensor {
  const R = columns.length;
  const b = rowsR[0].length;
  const first = columns[0];
  const w = n === 0 ? 0 : (first instanceof Tensor ? first.size : first.length) / n;
  const data = allocateUninit(first instanceof Tensor ? first.dtype : dtypeOf(first), R * b * w);
  for (let r = 0; r < R; r++) {
    const c = columns[r];
    gatherRows(c instanceof Tensor ? c.data : c, rowsR[r], w, data, r * b * w);
  }
  return stackedView(new Tensor(data, [R, b, ...tail]));
}

/** Every feature's batch rows of every run, stacked ([R, B, ...] behind each tensor). */
function stackedBatch(fn: string, train: readonly ResolvedDataset[], rowsR: readonly Int32Array[]): ModelInput {
  const n = train[0].n;
  const x0 = train[0].x;
  if (x0 instanceof Tensor) return gatherRuns(train.map((t) => t.x as Tensor), rowsR, n, x0.shape.slice(1));
  const out: FeatureBatch = {};
  for (const [name, v] of Object.entries(x0)) {
    if (v instanceof Int32Array) {
      throw new Error(`${fn}: feature '${name}' is sparse ids (Int32Array): the input layer reads ids as values, which differ per run; stacked training takes dense features only`);
    }
    const cols = train.map((t) => (t.x as Record<string, Tensor | Float32Array>)[name]);
    out[name] = gatherRuns(cols, rowsR, n, v instanceof Tensor ? v.shape.slice(1) : [v.length / Math.max(n, 1)]);
  }
  return out;
}

/**
 * Trains the R models of `stacked` at once, run r on `data[r]`; returns one History per run, with
 * the same `loss` and `<task>_loss` logs `fit` would give that run alone.
 */
export function fitStacked(stacked: StackedModules<MultiTaskModel>, data: readonly Dataset[], opts: FitStackedOptions = {}): History[] {
  const fn = 'fitStacked';
  if (opts !== null && typeof opts === 'object') {
    for (const k of Object.keys(opts)) if (k in REFUSED) throw new Error(`${fn}: option '${k}' is not available: ${REFUSED[k]}`);
  }
  checkOptionKeys(fn, opts, KEYS);
  const model = stacked.module;
  checkModel(fn, model);
  const R = stacked.runs;
  if (!Array.isArray(data) || data.length !== R) throw new RangeError(`${fn}: expected ${R} data sets (one per run), got ${Array.isArray(data) ? data.length : typeof data}`);
  const train: ResolvedDataset[] = data.map((d, r) => checkedDataset(`${fn} (data[${r}])`, d, model));
  train.forEach((t, r) => {
    if (t.n !== train[0].n) throw new RangeError(`${fn}: data[${r}] has ${t.n} rows, data[0] has ${train[0].n}; every run needs the same number of rows`);
  });
  if (train[0].n === 0) throw new RangeError(`${fn}: no training rows`);
  const epochs = checkPositiveInt(fn, 'epochs', opts.epochs ?? 1);
  const batchSize = checkPositiveInt(fn, 'batchSize', opts.batchSize ?? 256);
  const weights = resolveLossWeights(fn, model, opts.lossWeights);
  const shuffle = opts.shuffle ?? true;
  const seeds = opts.seeds;
  if (seeds !== undefined && (!Array.isArray(seeds) || seeds.length !== R || !seeds.every((s) => Number.isInteger(s)))) {
    throw new RangeError(`${fn}: seeds must be ${R} integers (one per run)`);
  }
  if (shuffle && seeds === undefined) throw new Error(`${fn}: shuffling needs seeds (one per run), or shuffle: false`);
  if (opts.onStep !== undefined && typeof opts.onStep !== 'function') throw new TypeError(`${fn}: onStep must be a function`);
  if (opts.onEpochEnd !== undefined && typeof opts.onEpochEnd !== 'function') throw new TypeError(`${fn}: onEpochEnd must be a function`);
  const resume = opts.resumeFrom === undefined ? null : stackedCheckpointFrom(fn, opts.resumeFrom);
  const opt = opts.optimizer ?? 'adam';
  if (typeof opt !== 'string' && !ELEMENTWISE.some((C) => opt instanceof C)) {
    throw new TypeError(`${fn}: optimizer must be a name or an Adam, AdamW, SGD, Adagrad or RMSprop over stacked.parameters() (elementwise, so per run)`);
  }
  // Every optimizer fitStacked takes (ELEMENTWISE, or one made by name) is an Optimizer: it has state dicts.
  const optimizer = makeOptimizer(fn, opt, stacked.parameters(), opts.lr ?? 1e-3) as OptimizerLike & Optimizer;
  const gens = Array.from({ length: R }, (_, r) => new Generator(seeds?.[r] ?? 0));
  const numTasks = model.taskNames.length;
  const histories = Array.from({ length: R }, () => new History());
  let totalSteps = 0;
  if (resume !== null) totalSteps = restoreStacked(fn, resume, { stacked, optimizer, gens, histories, epochs });
  // The stack's physical parameters (and through them their gradients) outlive each step; the
  // R models it stands for do not change while stacked, so their trees are not walked.
  const scopes = new StepScopes([model, optimizer, stacked.parameters()]);
  try {
  for (let epoch = (resume?.epoch ?? 0) + 1; epoch <= epochs; epoch++) {
    const t0 = performance.now();
    model.train();
    const its = train.map((t, r) => batchIndices(t.n, batchSize, { shuffle, generator: gens[r] }));
    const taskSums = Array.from({ length: R }, () => new Float64Array(numTasks));
    const lossSum = new Float64Array(R);
    let seen = 0;
    let step = 0;
    for (;;) {
      const rows = its.map((it) => it.next());
      if (rows[0].done) break;
      const rowsR = rows.map((x) => x.value as Int32Array);
      const b = rowsR[0].length;
      // The step's intermediates return to the arena when it ends, as in fit (held-storage.ts);
      // numbers are copied out inside, and onStep runs outside.
      scopes.run(() => {
        const xb = stackedBatch(fn, train, rowsR);
        const yb = gatherRuns(train.map((t) => t.y), rowsR, train[0].n, [numTasks]);
        const yAll = physical(yb).data;
        optimizer.zeroGrad(false);
        const logits = model.logits(xb);
        const reg = model.regularizationLoss();
        let loss = multiTaskLoss(logits, yb, model.taskTypes, weights, null);
        if (reg !== null) loss = loss === null ? reg : loss.add(reg);
        const values = loss === null ? new Float64Array(R) : Float64Array.from(physical(loss).data);
        for (let r = 0; r < R; r++) {
          if (!Number.isFinite(values[r])) throw new Error(`${fn}: run ${r}'s loss became ${values[r]} at epoch ${epoch}, step ${step + 1} (lower the learning rate)`);
        }
        if (loss !== null) {
          const p = physical(loss);
          const seed = new Tensor(p.dtype === 'float64' ? new Float64Array(R).fill(1) : new Float32Array(R).fill(1), [R]);
          p.backward(seed);
        }
        optimizer.step();
        const lp = physical(logits);
        const logitsAll = lp.data;
        const logitsWidth = lp.size / (R * b);
        for (let r = 0; r < R; r++) {
          const part = (t: Storage, w: number): Tensor => new Tensor(t.subarray(r * b * w, (r + 1) * b * w), [b, w]);
          accumulateTaskLosses(part(logitsAll, logitsWidth), part(yAll, numTasks), model.taskTypes, taskSums[r], null);
          lossSum[r] += values[r] * b;
        }
      });
      seen += b;
      step++;
      totalSteps++;
      opts.onStep?.(epoch, step);
    }
    const seconds = (performance.now() - t0) / 1000;
    for (let r = 0; r < R; r++) {
      const logs: Record<string, number> = { loss: lossSum[r] / seen };
      model.taskNames.forEach((name, j) => { logs[`${name}_loss`] = taskSums[r][j] / seen; });
      histories[r].push({ epoch, logs, seconds, samplesPerSecond: seen / seconds });
    }
    if (opts.onEpochEnd !== undefined) {
      // The state is read when checkpoint() is called: only while it is still this epoch's end.
      let open = true;
      const at = epoch, done = totalSteps;
      opts.onEpochEnd(epoch, () => {
        if (!open) throw new Error(`${fn}: onEpochEnd's checkpoint() was called after onEpochEnd returned (epoch ${at}); call it inside onEpochEnd`);
        return {
          epoch: at, step: done, runs: R,
          model: copiedState(stacked),
          optimizer: optimizer.stateDict(), optimizerName: optimizer.name,
          shuffle: gens.map((g) => g.getState()), histories: histories.map((h) => structuredClone(h.epochs)),
        };
      });
      open = false;
    }
  }
  } finally {
    // What the steps kept (gradients, optimizer state) is the collector's from here on.
    scopes.finish();
  }
  return histories;
}

/**
 * Puts a checkpoint's state into the fit about to run, all or nothing; returns its step count. A
 * mismatch is an error naming resumeFrom.
 */
function restoreStacked(
  fn: string, ckpt: StackedCheckpoint,
  to: { stacked: StackedModules<MultiTaskModel>; optimizer: Optimizer; gens: Generator[]; histories: History[]; epochs: number },
): number {
  const R = to.stacked.runs;
  if (ckpt.runs !== R) throw new Error(`${fn}: resumeFrom: the checkpoint holds ${ckpt.runs} runs, this stack ${R}`);
  if (ckpt.shuffle.length !== R || ckpt.histories.length !== R) {
    throw new Error(`${fn}: resumeFrom: the checkpoint holds ${ckpt.shuffle.length} shuffle states and ${ckpt.histories.length} histories for its ${R} runs`);
  }
  if (ckpt.optimizerName !== to.optimizer.name) {
    throw new Error(`${fn}: resumeFrom: the checkpoint holds ${ckpt.optimizerName} state, this fit's optimizer is ${to.optimizer.name}`);
  }
  if (ckpt.epoch < 0 || ckpt.step < 0) throw new Error(`${fn}: resumeFrom: the checkpoint's epoch ${ckpt.epoch} and step ${ckpt.step} must be ≥ 0`);
  if (ckpt.epoch > to.epochs) throw new Error(`${fn}: resumeFrom: the checkpoint is at epoch ${ckpt.epoch}, past this fit's ${to.epochs} epochs`);
  const bad = ckpt.histories.findIndex((h) => !Array.isArray(h) || h.length !== ckpt.epoch);
  if (bad >= 0) throw new Error(`${fn}: resumeFrom: run ${bad}'s history has ${Array.isArray(ckpt.histories[bad]) ? ckpt.histories[bad].length : 'no'} epochs, the checkpoint is at epoch ${ckpt.epoch}`);
  // All or nothing: the generator states are checked on spares, and the weights put back if the
  // optimizer's strict load refuses its state.
  const weights = copiedState(to.stacked);
  try {
    ckpt.shuffle.forEach((st) => new Generator(0).setState(st));
    to.stacked.loadStateDict(ckpt.model);
    try {
      to.optimizer.loadStateDict(ckpt.optimizer);
    } catch (e) {
      to.stacked.loadStateDict(weights);
      throw e;
    }
  } catch (e) {
    throw new Error(`${fn}: resumeFrom: the checkpoint does not fit this stack and optimizer: ${(e as Error).message}`, { cause: e });
  }
  ckpt.shuffle.forEach((st, r) => to.gens[r].setState(st));
  ckpt.histories.forEach((h, r) => { for (const e of structuredClone(h)) to.histories[r].push(e); });
  return ckpt.step;
}

/** The stack's parameters [R, ...] by name, copied. */
function copiedState(stacked: StackedModules<MultiTaskModel>): Record<string, Tensor> {
  return Object.fromEntries(Object.entries(stacked.stateDict()).map(([k, t]) => [k, new Tensor(t.data.slice(), t.shape)]));
}
