import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeFileAtomicSync } from '../io/atomic-write-node.js';
import { checkOptions } from '../validation/options.js';
import { decodeCheckpoint, encodeCheckpoint, type TrainingCheckpoint } from './checkpoint.js';
import type { BatchControl, Callbacks, EpochControl } from './fit-plan.js';
import type { EpochLog } from './history.js';
import { batchEndReadsOnly } from './step-plan.js';

/** Writes a training checkpoint to `file`, atomically (a reader never sees half of one). */
export function saveCheckpoint(file: string, ckpt: TrainingCheckpoint): void {
  writeFileAtomicSync('saveCheckpoint', file, encodeCheckpoint(ckpt));
}

/** Reads a training checkpoint (for fit's resumeFrom, or its `.model` for loadStateDict). */
export function loadCheckpoint(file: string): TrainingCheckpoint {
  let bytes: Uint8Array;
  try {
    bytes = fs.readFileSync(file);
  } catch (e) {
    throw new Error(`loadCheckpoint: cannot read ${file}: ${(e as Error).message}`, { cause: e });
  }
  try {
    return decodeCheckpoint(bytes);
  } catch (e) {
    throw new Error(`loadCheckpoint: ${file}: ${(e as Error).message}`, { cause: e });
  }
}

export interface ModelCheckpointOptions {
  /** Directory of the files (created if missing): `last.ckpt` after every epoch, `best.ckpt` when the monitored value improves. */
  dir: string;
  /** The log key that decides "best"; default 'val_loss' when the fit logs it, else 'loss'. */
  monitor?: string;
  /** 'min' for losses, 'max' for AUC/accuracy; 'auto' (default) decides from the key's name, as earlyStopping does. */
  mode?: 'min' | 'max' | 'auto';
  /** Keep best.ckpt. Default true. */
  saveBest?: boolean;
  /** Keep last.ckpt. Default true. */
  saveLast?: boolean;
  /** Write last.ckpt every this many epochs (best.ckpt is always written when it improves). Default 1. */
  everyEpochs?: number;
  /**
   * Also write last.ckpt after every this many optimizer steps (counted over the whole fit), inside
   * epochs: a resumed fit redraws the epoch's order and skips the batches done. Default: only at
   * epoch ends. Needs saveLast.
   */
  everySteps?: number;
}

const MODEL_CHECKPOINT_KEYS = ['dir', 'monitor', 'mode', 'saveBest', 'saveLast', 'everyEpochs', 'everySteps'] as const satisfies ReadonlyArray<keyof ModelCheckpointOptions>;

interface ModelCheckpointState {
  best: number | null;
  bestEpoch: number;
}

/**
 * Keras's and DeepCTR-Torch's ModelCheckpoint, keeping the whole training state rather than only
 * the weights: each file resumes a fit (`resumeFrom: loadCheckpoint(file)`), and its `.model` is the
 * state dict. Files are written atomically, so a process killed at any moment leaves the previous
 * checkpoint whole. Its best value travels in the checkpoints, so a resumed fit compares against it.
 */
export class ModelCheckpoint implements Callbacks {
  readonly dir: string;
  readonly saveBest: boolean;
  readonly saveLast: boolean;
  readonly everyEpochs: number;
  readonly everySteps: number | null;
  private readonly monitorOption: string | undefined;
  private readonly modeOption: 'min' | 'max' | 'auto';
  best = NaN;
  bestEpoch = 0;

  constructor(opts: ModelCheckpointOptions) {
    checkOptions('ModelCheckpoint', opts, MODEL_CHECKPOINT_KEYS);
    if (typeof opts.dir !== 'string' || opts.dir === '') throw new TypeError(`ModelCheckpoint: dir must be a directory path (a non-empty string), got ${JSON.stringify(opts.dir)}`);
    if (opts.monitor !== undefined && (typeof opts.monitor !== 'string' || opts.monitor === '')) throw new TypeError(`ModelCheckpoint: monitor must be a log key (a non-empty string), got ${JSON.stringify(opts.monitor)}`);
    const mode = opts.mode ?? 'auto';
    if (mode !== 'min' && mode !== 'max' && mode !== 'auto') throw new RangeError(`ModelCheckpoint: mode must be 'min', 'max' or 'auto', got ${String(mode)}`);
    for (const k of ['saveBest', 'saveLast'] as const) {
      if (opts[k] !== undefined && typeof opts[k] !== 'boolean') throw new TypeError(`ModelCheckpoint: ${k} must be true or false, got ${String(opts[k])}`);
    }
    const every = opts.everyEpochs ?? 1;
    if (!Number.isInteger(every) || every < 1) throw new RangeError(`ModelCheckpoint: everyEpochs must be a positive integer, got ${String(opts.everyEpochs)}`);
    const steps = opts.everySteps;
    if (steps !== undefined && (!Number.isInteger(steps) || steps < 1)) throw new RangeError(`ModelCheckpoint: everySteps must be a positive integer, got ${String(steps)}`);
    if (steps !== undefined && opts.saveLast === false) throw new Error('ModelCheckpoint: everySteps writes last.ckpt, but saveLast is false');
    this.everySteps = steps ?? null;
    this.dir = opts.dir;
    this.monitorOption = opts.monitor;
    this.modeOption = mode;
    this.saveBest = opts.saveBest ?? true;
    this.saveLast = opts.saveLast ?? true;
    this.everyEpochs = every;
    if (!this.saveBest && !this.saveLast) throw new Error('ModelCheckpoint: saveBest and saveLast are both false; nothing would be written');
  }

  get lastPath(): string {
    return path.join(this.dir, 'last.ckpt');
  }

  get bestPath(): string {
    return path.join(this.dir, 'best.ckpt');
  }

  onTrainBegin(): void {
    fs.mkdirSync(this.dir, { recursive: true });
  }

  onBatchEnd(_step: number, _logs: unknown, control: BatchControl): void {
    if (this.everySteps !== null && control.totalSteps % this.everySteps === 0) {
      writeFileAtomicSync('ModelCheckpoint', this.lastPath, encodeCheckpoint(control.checkpoint()));
    }
  }

  onEpochEnd(log: EpochLog, control: EpochControl): void {
    const monitor = this.monitorOption ?? ('val_loss' in log.logs ? 'val_loss' : 'loss');
    const v = log.logs[monitor];
    if (v === undefined) throw new Error(`ModelCheckpoint: monitor '${monitor}' is not logged; logged keys: ${Object.keys(log.logs).join(', ')}`);
    const max = this.modeOption === 'auto' ? /(auc|acc|accuracy)$/.test(monitor) : this.modeOption === 'max';
    // A NaN value never counts as best: a diverged epoch must not replace a good checkpoint.
    const improved = !Number.isNaN(v) && (Number.isNaN(this.best) || (max ? v > this.best : v < this.best));
    if (improved) {
      this.best = v;
      this.bestEpoch = log.epoch;
    }
    const writeLast = this.saveLast && log.epoch % this.everyEpochs === 0;
    const writeBest = this.saveBest && improved;
    if (!writeLast && !writeBest) return;
    // One capture after the best is updated, so both files carry this callback's new state.
    const bytes = encodeCheckpoint(control.checkpoint());
    if (writeBest) writeFileAtomicSync('ModelCheckpoint', this.bestPath, bytes);
    if (writeLast) writeFileAtomicSync('ModelCheckpoint', this.lastPath, bytes);
  }

  getState(): ModelCheckpointState {
    return { best: Number.isNaN(this.best) ? null : this.best, bestEpoch: this.bestEpoch };
  }

  setState(state: unknown): void {
    const s = state as Partial<ModelCheckpointState> | null;
    if (s === null || typeof s !== 'object' || !(s.best === null || typeof s.best === 'number') || !Number.isInteger(s.bestEpoch)) {
      throw new TypeError('ModelCheckpoint.setState: expected { best, bestEpoch } (the checkpoint is not from a fit with this callback list)');
    }
    this.best = s.best ?? NaN;
    this.bestEpoch = s.bestEpoch!;
  }
}

// Its onBatchEnd only reads the model, so fit keeps its traced steps; marked on the method, so a
// subclass that overrides onBatchEnd is not taken to be read-only too.
(ModelCheckpoint.prototype.onBatchEnd as { [batchEndReadsOnly]?: boolean })[batchEndReadsOnly] = true;
