import { checkOptions } from '../../validation/options.js';

/*
 * Learning-rate schedulers with torch.optim.lr_scheduler's names and semantics: the constructor
 * takes the optimizer's current lr of each group as its base and performs step 0; each `step()`
 * (once per epoch, after the optimizer's steps) moves to the next epoch and writes the new lr
 * into every parameter group; `getLastLr()` reads them back.
 *
 * The update rules are PyTorch's chainable ones (the new lr derived from the group's current lr),
 * not the closed forms, so that two schedulers stepping the same optimizer compose the way they do
 * in PyTorch (e.g. a LinearLR warm-up multiplied into an ExponentialLR decay). On their own, each
 * follows its closed form (checked in the tests against the formulas in PyTorch's documentation).
 */

/** What a scheduler needs from an optimizer: its parameter groups, each with an lr it may set. */
export interface SchedulableOptimizer {
  paramGroups: Array<{ lr: number }>;
}

/** Plain data: safe to JSON-encode, restored by loadStateDict. */
export type SchedulerStateDict = Record<string, number | string | number[] | null>;

function checkOptimizer(name: string, optimizer: unknown): SchedulableOptimizer {
  const groups = (optimizer as SchedulableOptimizer | null)?.paramGroups;
  if (!Array.isArray(groups) || groups.length === 0 || groups.some((g) => typeof g?.lr !== 'number')) {
    throw new TypeError(`${name}: optimizer must be an optimizer with parameter groups (SGD, Adam, AdamW, Adagrad, RMSprop from optim)`);
  }
  return optimizer as SchedulableOptimizer;
}

function checkNumber(name: string, key: string, v: unknown, ok: (v: number) => boolean, expected: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || !ok(v)) throw new RangeError(`${name}: ${key} must be ${expected}, got ${String(v)}`);
  return v;
}

const positiveInt = (name: string, key: string, v: unknown): number =>
  checkNumber(name, key, v, (x) => Number.isInteger(x) && x >= 1, 'a positive integer');

/**
 * Each parameter group's lr when the first scheduler saw it: PyTorch keeps it in the group as
 * `initial_lr` (set once), so a second scheduler on the same optimizer (SequentialLR's next phase)
 * starts from the original lr, not from the first one's epoch-0 value. Held here instead, so the
 * optimizer's groups and state dicts stay as they are.
 */
const initialLrs = new WeakMap<object, number>();

/** The base of every epoch-indexed scheduler (PyTorch's LRScheduler). */
export abstract class LRScheduler {
  readonly optimizer: SchedulableOptimizer;
  /** Each group's lr when the scheduler was built (PyTorch's base_lrs). */
  readonly baseLrs: number[];
  /** The epoch the current lr belongs to: 0 after construction, +1 per step (PyTorch's last_epoch). */
  lastEpoch = -1;
  protected lastLr: number[] = [];

  constructor(readonly name: string, optimizer: SchedulableOptimizer) {
    this.optimizer = checkOptimizer(name, optimizer);
    this.baseLrs = this.optimizer.paramGroups.map((g) => {
      if (!initialLrs.has(g)) initialLrs.set(g, g.lr);
      return initialLrs.get(g)!;
    });
  }

  /** The lr of each group for epoch `lastEpoch`, from the groups' current lrs. */
  protected abstract nextLr(groupLr: number, base: number): number;

  /** Call at the end of the subclass constructor: epoch 0, as PyTorch's constructor does. */
  protected initialStep(): void {
    this.step();
  }

  /** Advances one epoch and sets every group's lr. */
  step(): void {
    this.lastEpoch++;
    const groups = this.optimizer.paramGroups;
    if (groups.length !== this.baseLrs.length) {
      throw new Error(`${this.name}.step: the optimizer has ${groups.length} parameter groups, ${this.baseLrs.length} when the scheduler was built`);
    }
    groups.forEach((g, i) => { g.lr = this.nextLr(g.lr, this.baseLrs[i]); });
    this.lastLr = groups.map((g) => g.lr);
  }

  /** Back to epoch 0 with the groups at their epoch-0 lr from the base lrs (SequentialLR's switch). */
  restart(): void {
    this.lastEpoch = 0;
    const groups = this.optimizer.paramGroups;
    groups.forEach((g, i) => { g.lr = this.nextLr(this.baseLrs[i], this.baseLrs[i]); });
    this.lastLr = groups.map((g) => g.lr);
  }

  /** Undoes the constructor's step 0, for SequentialLR, which takes over the schedule. */
  rewind(): void {
    this.lastEpoch--;
  }

  /** The lr of each parameter group set by the last step (PyTorch's get_last_lr). */
  getLastLr(): number[] {
    return this.lastLr.slice();
  }

  stateDict(): SchedulerStateDict {
    return { lastEpoch: this.lastEpoch, baseLrs: this.baseLrs.slice(), lastLr: this.lastLr.slice() };
  }

  /** Restores a stateDict() of a scheduler of the same kind; the optimizer's lrs come from its own state dict. */
  loadStateDict(sd: SchedulerStateDict): void {
    const { lastEpoch, baseLrs, lastLr } = sd ?? {};
    const nums = (v: unknown): v is number[] => Array.isArray(v) && v.length === this.baseLrs.length && v.every((x) => typeof x === 'number');
    if (typeof lastEpoch !== 'number' || !nums(baseLrs) || !nums(lastLr)) {
      throw new TypeError(`${this.name}.loadStateDict: expected { lastEpoch, baseLrs, lastLr } for ${this.baseLrs.length} parameter group(s)`);
    }
    this.lastEpoch = lastEpoch;
    this.baseLrs.splice(0, this.baseLrs.length, ...baseLrs);
    this.lastLr = lastLr.slice();
  }
}

export interface StepLROptions {
  /** Multiplicative decay (default 0.1). */
  gamma?: number;
}

/** lr = base · γ^⌊epoch / stepSize⌋. */
export class StepLR extends LRScheduler {
  readonly stepSize: number;
  readonly gamma: number;

  constructor(optimizer: SchedulableOptimizer, stepSize: number, opts: StepLROptions = {}) {
    super('StepLR', optimizer);
    checkOptions('StepLR', opts, ['gamma']);
    this.stepSize = positiveInt('StepLR', 'stepSize', stepSize);
    this.gamma = checkNumber('StepLR', 'gamma', opts.gamma ?? 0.1, (x) => x > 0, 'a positive number');
    this.initialStep();
  }

  protected nextLr(lr: number): number {
    return this.lastEpoch === 0 || this.lastEpoch % this.stepSize !== 0 ? lr : lr * this.gamma;
  }
}

/** lr = base · γ^epoch. */
export class ExponentialLR extends LRScheduler {
  readonly gamma: number;

  constructor(optimizer: SchedulableOptimizer, gamma: number) {
    super('ExponentialLR', optimizer);
    this.gamma = checkNumber('ExponentialLR', 'gamma', gamma, (x) => x > 0, 'a positive number');
    this.initialStep();
  }

  protected nextLr(lr: number): number {
    return this.lastEpoch === 0 ? lr : lr * this.gamma;
  }
}

export interface LinearLROptions {
  /** Factor of the base lr at epoch 0, in (0, 1] (default 1/3). */
  startFactor?: number;
  /** Factor reached at epoch totalIters and kept after, in [0, 1] (default 1). */
  endFactor?: number;
  /** Epochs of the linear change (default 5). */
  totalIters?: number;
}

/** lr = base · (start + (end − start) · min(epoch, totalIters) / totalIters): a warm-up with the defaults. */
export class LinearLR extends LRScheduler {
  readonly startFactor: number;
  readonly endFactor: number;
  readonly totalIters: number;

  constructor(optimizer: SchedulableOptimizer, opts: LinearLROptions = {}) {
    super('LinearLR', optimizer);
    checkOptions('LinearLR', opts, ['startFactor', 'endFactor', 'totalIters']);
    this.startFactor = checkNumber('LinearLR', 'startFactor', opts.startFactor ?? 1 / 3, (x) => x > 0 && x <= 1, 'in (0, 1]');
    this.endFactor = checkNumber('LinearLR', 'endFactor', opts.endFactor ?? 1, (x) => x >= 0 && x <= 1, 'in [0, 1]');
    this.totalIters = positiveInt('LinearLR', 'totalIters', opts.totalIters ?? 5);
    this.initialStep();
  }

  protected nextLr(lr: number): number {
    const e = this.lastEpoch, s = this.startFactor, d = this.endFactor - this.startFactor;
    if (e === 0) return lr * s;
    if (e > this.totalIters) return lr;
    return lr * (1 + d / (this.totalIters * s + (e - 1) * d));
  }
}

export interface CosineAnnealingLROptions {
  /** The lowest lr (default 0). */
  etaMin?: number;
}

/**
 * lr = ηmin + (base − ηmin) · (1 + cos(π · epoch / tMax)) / 2: down to ηmin at tMax, then (as in
 * PyTorch, which has no restarts here) back up along the same cosine.
 */
export class CosineAnnealingLR extends LRScheduler {
  readonly tMax: number;
  readonly etaMin: number;

  constructor(optimizer: SchedulableOptimizer, tMax: number, opts: CosineAnnealingLROptions = {}) {
    super('CosineAnnealingLR', optimizer);
    checkOptions('CosineAnnealingLR', opts, ['etaMin']);
    this.tMax = positiveInt('CosineAnnealingLR', 'tMax', tMax);
    this.etaMin = checkNumber('CosineAnnealingLR', 'etaMin', opts.etaMin ?? 0, (x) => x >= 0, 'a number >= 0');
    this.initialStep();
  }

  protected nextLr(lr: number, base: number): number {
    const e = this.lastEpoch, T = this.tMax, min = this.etaMin;
    if (e === 0) return lr;
    // At the bottom of a half-period the ratio below is 0/0; PyTorch steps off it by the closed form's increment.
    // (e ≥ 1 keeps e − 1 − T above −2T, so JavaScript's signed % finds the same zeros as Python's.)
    if ((e - 1 - T) % (2 * T) === 0) return lr + ((base - min) * (1 - Math.cos(Math.PI / T))) / 2;
    return ((1 + Math.cos((Math.PI * e) / T)) / (1 + Math.cos((Math.PI * (e - 1)) / T))) * (lr - min) + min;
  }
}

/**
 * Runs `schedulers` one after another: the first until epoch milestones[0], where the second
 * restarts from its epoch 0, and so on (PyTorch's SequentialLR), e.g. a LinearLR warm-up, then
 * CosineAnnealingLR. Every scheduler must be built over `optimizer`.
 */
export class SequentialLR extends LRScheduler {
  readonly schedulers: LRScheduler[];
  readonly milestones: number[];

  constructor(optimizer: SchedulableOptimizer, schedulers: readonly LRScheduler[], milestones: readonly number[]) {
    super('SequentialLR', optimizer);
    if (!Array.isArray(schedulers) || schedulers.length === 0) throw new RangeError('SequentialLR: expects at least one scheduler');
    schedulers.forEach((s, i) => {
      if (!(s instanceof LRScheduler)) throw new TypeError(`SequentialLR: schedulers[${i}] is not an epoch scheduler (ReduceLROnPlateau needs a metric and cannot be sequenced)`);
      if (s.optimizer !== optimizer) throw new Error(`SequentialLR: schedulers[${i}] (${s.name}) is built over another optimizer`);
    });
    if (!Array.isArray(milestones) || milestones.length !== schedulers.length - 1) {
      throw new RangeError(`SequentialLR: expects ${schedulers.length - 1} milestone(s) for ${schedulers.length} schedulers, got ${Array.isArray(milestones) ? milestones.length : String(milestones)}`);
    }
    milestones.forEach((m, i) => {
      if (!Number.isInteger(m) || m < 1 || (i > 0 && m <= milestones[i - 1])) throw new RangeError(`SequentialLR: milestones must be increasing positive integers, got ${milestones.join(', ')}`);
    });
    this.schedulers = [...schedulers];
    this.milestones = [...milestones];
    // Every scheduler's constructor took a step 0; start over from the base lrs with the first.
    this.optimizer.paramGroups.forEach((g, i) => { g.lr = this.baseLrs[i]; });
    for (const s of this.schedulers) s.rewind();
    this.schedulers[0].step();
    this.lastEpoch = 0;
    this.syncLastLr();
  }

  private syncLastLr(): void {
    this.lastLr = this.optimizer.paramGroups.map((g) => g.lr);
  }

  /** Unused: step() hands each epoch to one of the schedulers. */
  protected nextLr(lr: number): number {
    return lr;
  }

  override step(): void {
    this.lastEpoch++;
    let idx = 0;
    while (idx < this.milestones.length && this.milestones[idx] <= this.lastEpoch) idx++;
    const s = this.schedulers[idx];
    if (idx > 0 && this.milestones[idx - 1] === this.lastEpoch) s.restart();
    else s.step();
    this.syncLastLr();
  }

  override stateDict(): SchedulerStateDict {
    return { lastEpoch: this.lastEpoch, schedulers: JSON.stringify(this.schedulers.map((s) => s.stateDict())) };
  }

  override loadStateDict(sd: SchedulerStateDict): void {
    const inner = typeof sd?.schedulers === 'string' ? JSON.parse(sd.schedulers) as SchedulerStateDict[] : null;
    if (typeof sd?.lastEpoch !== 'number' || !Array.isArray(inner) || inner.length !== this.schedulers.length) {
      throw new TypeError(`SequentialLR.loadStateDict: expected { lastEpoch, schedulers } for ${this.schedulers.length} schedulers`);
    }
    this.schedulers.forEach((s, i) => s.loadStateDict(inner[i]));
    this.lastEpoch = sd.lastEpoch;
    this.syncLastLr();
  }
}

export interface ReduceLROnPlateauOptions {
  /** 'min': reduce when the metric stops falling (losses); 'max': when it stops rising (AUC). Default 'min'. */
  mode?: 'min' | 'max';
  /** new lr = lr · factor, factor < 1 (default 0.1). */
  factor?: number;
  /** Epochs without improvement tolerated before reducing (default 10). */
  patience?: number;
  /** How much better counts as better (default 1e-4), relative or absolute per thresholdMode. */
  threshold?: number;
  /** 'rel': better than best · (1 ∓ threshold); 'abs': better than best ∓ threshold. Default 'rel'. */
  thresholdMode?: 'rel' | 'abs';
  /** Epochs to wait after a reduction before counting bad epochs again (default 0). */
  cooldown?: number;
  /** Lower bound of the lr, one for all groups or one per group (default 0). */
  minLr?: number | readonly number[];
  /** A reduction smaller than this is skipped (default 1e-8). */
  eps?: number;
}

const PLATEAU_KEYS = ['mode', 'factor', 'patience', 'threshold', 'thresholdMode', 'cooldown', 'minLr', 'eps'] as const;

/** Reduces the lr by `factor` once the metric given to `step(metric)` has not improved for more than `patience` epochs. */
export class ReduceLROnPlateau {
  readonly name = 'ReduceLROnPlateau';
  readonly optimizer: SchedulableOptimizer;
  readonly mode: 'min' | 'max';
  readonly factor: number;
  readonly patience: number;
  readonly threshold: number;
  readonly thresholdMode: 'rel' | 'abs';
  readonly cooldown: number;
  readonly minLrs: number[];
  readonly eps: number;
  best: number;
  numBadEpochs = 0;
  cooldownCounter = 0;
  lastEpoch = 0;
  private lastLr: number[];

  constructor(optimizer: SchedulableOptimizer, opts: ReduceLROnPlateauOptions = {}) {
    const name = this.name;
    this.optimizer = checkOptimizer(name, optimizer);
    checkOptions(name, opts, PLATEAU_KEYS);
    const mode = opts.mode ?? 'min';
    if (mode !== 'min' && mode !== 'max') throw new RangeError(`${name}: mode must be 'min' or 'max', got ${String(mode)}`);
    const tm = opts.thresholdMode ?? 'rel';
    if (tm !== 'rel' && tm !== 'abs') throw new RangeError(`${name}: thresholdMode must be 'rel' or 'abs', got ${String(tm)}`);
    this.mode = mode;
    this.thresholdMode = tm;
    this.factor = checkNumber(name, 'factor', opts.factor ?? 0.1, (x) => x >= 0 && x < 1, 'in [0, 1)');
    this.patience = checkNumber(name, 'patience', opts.patience ?? 10, (x) => Number.isInteger(x) && x >= 0, 'an integer >= 0');
    this.threshold = checkNumber(name, 'threshold', opts.threshold ?? 1e-4, (x) => x >= 0, 'a number >= 0');
    this.cooldown = checkNumber(name, 'cooldown', opts.cooldown ?? 0, (x) => Number.isInteger(x) && x >= 0, 'an integer >= 0');
    this.eps = checkNumber(name, 'eps', opts.eps ?? 1e-8, (x) => x >= 0, 'a number >= 0');
    const groups = this.optimizer.paramGroups.length;
    const minLr = opts.minLr ?? 0;
    if (Array.isArray(minLr)) {
      if (minLr.length !== groups) throw new RangeError(`${name}: minLr has ${minLr.length} values for ${groups} parameter group(s)`);
      this.minLrs = minLr.map((v, i) => checkNumber(name, `minLr[${i}]`, v, (x) => x >= 0, 'a number >= 0'));
    } else {
      const v = checkNumber(name, 'minLr', minLr, (x) => x >= 0, 'a number >= 0');
      this.minLrs = new Array<number>(groups).fill(v);
    }
    this.best = mode === 'min' ? Infinity : -Infinity;
    this.lastLr = this.optimizer.paramGroups.map((g) => g.lr);
  }

  private isBetter(a: number): boolean {
    const { best, threshold: t } = this;
    if (this.mode === 'min') return this.thresholdMode === 'rel' ? a < best * (1 - t) : a < best - t;
    return this.thresholdMode === 'rel' ? a > best * (1 + t) : a > best + t;
  }

  /** Call once per epoch with the monitored value (e.g. the validation loss). */
  step(metric: number): void {
    if (typeof metric !== 'number' || Number.isNaN(metric)) {
      throw new RangeError(`${this.name}.step: metric must be a number, got ${String(metric)}`);
    }
    this.lastEpoch++;
    if (this.isBetter(metric)) {
      this.best = metric;
      this.numBadEpochs = 0;
    } else {
      this.numBadEpochs++;
    }
    if (this.cooldownCounter > 0) {
      this.cooldownCounter--;
      this.numBadEpochs = 0;
    }
    if (this.numBadEpochs > this.patience) {
      this.optimizer.paramGroups.forEach((g, i) => {
        const next = Math.max(g.lr * this.factor, this.minLrs[i]);
        if (g.lr - next > this.eps) g.lr = next;
      });
      this.cooldownCounter = this.cooldown;
      this.numBadEpochs = 0;
    }
    this.lastLr = this.optimizer.paramGroups.map((g) => g.lr);
  }

  getLastLr(): number[] {
    return this.lastLr.slice();
  }

  stateDict(): SchedulerStateDict {
    // ±Infinity (no value seen yet) is not JSON: stored as null.
    return {
      best: Number.isFinite(this.best) ? this.best : null, numBadEpochs: this.numBadEpochs,
      cooldownCounter: this.cooldownCounter, lastEpoch: this.lastEpoch, lastLr: this.lastLr.slice(),
    };
  }

  loadStateDict(sd: SchedulerStateDict): void {
    const { best, numBadEpochs, cooldownCounter, lastEpoch, lastLr } = sd ?? {};
    if ((best !== null && typeof best !== 'number') || typeof numBadEpochs !== 'number' || typeof cooldownCounter !== 'number'
      || typeof lastEpoch !== 'number' || !Array.isArray(lastLr)) {
      throw new TypeError(`${this.name}.loadStateDict: expected { best, numBadEpochs, cooldownCounter, lastEpoch, lastLr }`);
    }
    this.best = best === null ? (this.mode === 'min' ? Infinity : -Infinity) : best;
    this.numBadEpochs = numBadEpochs;
    this.cooldownCounter = cooldownCounter;
    this.lastEpoch = lastEpoch;
    this.lastLr = lastLr.slice();
  }
}

/** Any scheduler here: the epoch-indexed ones step without an argument, ReduceLROnPlateau with the metric. */
export type AnyLRScheduler = LRScheduler | ReduceLROnPlateau;
