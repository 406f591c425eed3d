import { bumpVersion, type Tensor } from '../autograd/index.js';
import { checkOptions, closestMatch } from '../validation/options.js';

/** What one epoch produced; `logs` uses Keras-style keys (`loss`, `ctr_loss`, `val_loss`, `val_ctr_auc`). */
export interface EpochLog {
  /** 1-based. */
  epoch: number;
  logs: Record<string, number>;
  seconds: number;
  samplesPerSecond: number;
}

/** The record of a `fit`: one entry per epoch, and each logged quantity as a series. */
export class History {
  readonly epochs: EpochLog[] = [];
  /** The epoch early stopping judged best (1-based), or null without early stopping. */
  bestEpoch: number | null = null;
  /** True when early stopping (or a callback) ended training before the last epoch. */
  stoppedEarly = false;
  /** Warnings raised while training (a collapsed gate, see expert-health.ts), in order. */
  readonly warnings: string[] = [];
  /** Per-task early stopping: each task's best epoch and the epoch it stopped at (0: never); else null. */
  taskEarlyStopping: Record<string, { bestEpoch: number; stoppedAt: number }> | null = null;
  /** Per-task early stopping with restoreBestWeights: each task's state dict at its best epoch; else null. */
  taskBestWeights: Record<string, Record<string, Tensor>> | null = null;

  push(log: EpochLog): void {
    this.epochs.push(log);
  }

  /**
   * The values of `key` per epoch (NaN for an epoch that did not log it). A key no epoch logged is
   * an error naming the logged keys: a typo (`val_los`) would otherwise plot a line of NaNs.
   */
  series(key: string): number[] {
    if (this.epochs.length > 0 && !this.epochs.some((e) => key in e.logs)) {
      const logged = this.loggedKeys();
      const near = closestMatch(key, logged);
      throw new RangeError(`History.series: no epoch logged '${key}'${near === undefined ? '' : ` (did you mean '${near}'?)`}; logged: ${logged.join(', ')}`);
    }
    return this.epochs.map((e) => e.logs[key] ?? NaN);
  }

  private loggedKeys(): string[] {
    const keys = new Set<string>();
    for (const e of this.epochs) for (const k of Object.keys(e.logs)) keys.add(k);
    return [...keys];
  }

  /** Every logged key → its series, like Keras's `history.history`. */
  get history(): Record<string, number[]> {
    const out: Record<string, number[]> = {};
    for (const k of this.loggedKeys()) out[k] = this.series(k);
    return out;
  }

  get last(): EpochLog | undefined {
    return this.epochs[this.epochs.length - 1];
  }

  toJSON(): object {
    return { epochs: this.epochs, bestEpoch: this.bestEpoch, stoppedEarly: this.stoppedEarly, ...(this.taskEarlyStopping ? { taskEarlyStopping: this.taskEarlyStopping } : {}), ...(this.warnings.length ? { warnings: this.warnings } : {}) };
  }
}

const EARLY_STOPPING_KEYS = ['monitor', 'patience', 'mode', 'minDelta', 'restoreBestWeights', 'perTask'] as const;

export interface EarlyStoppingOptions {
  /** The log key to watch; default 'val_loss' (or 'loss' when there is no validation data). */
  monitor?: string;
  /** Stop after this many consecutive epochs without improvement (Keras's meaning). Default 0: stop at the first. */
  patience?: number;
  /** 'min' for losses, 'max' for AUC/accuracy; 'auto' decides from the key's name. Default 'auto'. */
  mode?: 'min' | 'max' | 'auto';
  /** The smallest change that counts as an improvement. Default 0. */
  minDelta?: number;
  /** At the end, put back the weights of the best epoch. Default false. With perTask: keep each task's best weights in history.taskBestWeights. */
  restoreBestWeights?: boolean;
  /**
   * Watch each task on its own (per-task-stopping.ts): `monitor` then holds `{task}`
   * ('val_{task}_auc'; default val_<task>_logloss / _mse, or <task>_loss without validation); a
   * task that stops improving stops contributing to the training loss; training ends when all have.
   */
  perTask?: boolean;
}

export interface EarlyStoppingState {
  best: number | null;
  bestEpoch: number;
  wait: number;
  snapshot: Array<Float32Array | Float64Array> | null;
  /** Per-task stopping: the epoch this task stopped at, 0 while it trains. */
  stoppedAt?: number;
}

/** Watches one logged quantity; says when to stop; keeps a copy of the best weights if asked. */
export class EarlyStopping {
  readonly monitor: string;
  readonly patience: number;
  readonly mode: 'min' | 'max';
  readonly minDelta: number;
  readonly restoreBestWeights: boolean;
  best = NaN;
  bestEpoch = 0;
  private wait = 0;
  private snapshot: Array<Float32Array | Float64Array> | null = null;

  constructor(opts: EarlyStoppingOptions, hasValidation: boolean, private readonly fn = 'fit') {
    checkOptions(`${fn}: earlyStopping`, opts, EARLY_STOPPING_KEYS);
    if (opts.perTask !== undefined && typeof opts.perTask !== 'boolean') throw new TypeError(`${fn}: earlyStopping.perTask must be true or false, got ${String(opts.perTask)}`);
    if (opts.restoreBestWeights !== undefined && typeof opts.restoreBestWeights !== 'boolean') throw new TypeError(`${fn}: earlyStopping.restoreBestWeights must be true or false, got ${String(opts.restoreBestWeights)}`);
    if (opts.monitor !== undefined && typeof opts.monitor !== 'string') throw new TypeError(`${fn}: earlyStopping.monitor must be a log key (a string), got ${typeof opts.monitor}`);
    this.monitor = opts.monitor ?? (hasValidation ? 'val_loss' : 'loss');
    this.patience = opts.patience ?? 0;
    if (!Number.isInteger(this.patience) || this.patience < 0) throw new RangeError(`${fn}: earlyStopping.patience must be an integer >= 0, got ${opts.patience}`);
    const mode = opts.mode ?? 'auto';
    if (mode !== 'min' && mode !== 'max' && mode !== 'auto') throw new RangeError(`${fn}: earlyStopping.mode must be 'min', 'max' or 'auto', got ${String(mode)}`);
    this.mode = mode === 'auto' ? (/(auc|acc|accuracy)$/.test(this.monitor) ? 'max' : 'min') : mode;
    this.minDelta = Math.abs(opts.minDelta ?? 0);
    this.restoreBestWeights = opts.restoreBestWeights ?? false;
    if (this.monitor.startsWith('val_') && !hasValidation) {
      throw new Error(`${fn}: earlyStopping monitors '${this.monitor}' but there is no validation data (give validationSplit or validationData)`);
    }
  }

  /** Records this epoch's value; returns true when training should stop. */
  update(epoch: number, logs: Record<string, number>, params: readonly Tensor[]): boolean {
    const v = logs[this.monitor];
    if (v === undefined) {
      throw new Error(`${this.fn}: earlyStopping monitors '${this.monitor}', which is not logged; logged keys: ${Object.keys(logs).join(', ')}`);
    }
    const improved = Number.isNaN(this.best) ||
      (this.mode === 'min' ? v < this.best - this.minDelta : v > this.best + this.minDelta);
    if (improved) {
      this.best = v;
      this.bestEpoch = epoch;
      this.wait = 0;
      if (this.restoreBestWeights) this.snapshot = params.map((p) => p.data.slice());
      return false;
    }
    this.wait++;
    // Keras (and so DeepCTR-Torch) stops once `wait` reaches `patience`; patience 0 behaves like 1.
    return this.wait >= Math.max(this.patience, 1);
  }

  /** What a checkpoint keeps to resume watching: the best value (null for none yet), its epoch, the wait, the best weights. */
  getState(): EarlyStoppingState[] {
    return [{ best: Number.isNaN(this.best) ? null : this.best, bestEpoch: this.bestEpoch, wait: this.wait, snapshot: this.snapshot }];
  }

  setState(states: readonly EarlyStoppingState[]): void {
    if (states.length !== 1) throw new Error(`${this.fn}: earlyStopping: the checkpoint watches ${states.length} quantities, this fit 1 (perTask on one side only?)`);
    const s = states[0];
    this.best = s.best ?? NaN;
    this.bestEpoch = s.bestEpoch;
    this.wait = s.wait;
    this.snapshot = s.snapshot;
  }

  /** Copies the best epoch's weights back into the parameters (when restoreBestWeights). */
  restore(params: readonly Tensor[]): void {
    if (!this.restoreBestWeights || this.snapshot === null) return;
    params.forEach((p, i) => {
      p.data.set(this.snapshot![i]);
      // An in-place change: caches keyed on the version (packed weights, predict's plans) must see it.
      bumpVersion(p);
    });
  }
}
