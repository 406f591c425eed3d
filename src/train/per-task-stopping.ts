import type { Tensor } from '../autograd/index.js';
import type { TaskType } from '../models/types.js';
import { EarlyStopping, type EarlyStoppingOptions, type EarlyStoppingState } from './history.js';

/*
 * Early stopping per task: each task watches its own quantity (the monitor with `{task}` put in),
 * and a task whose patience runs out stops contributing to the loss (its weight in the training
 * loss becomes 0; validation losses are unchanged). Training ends when every task has stopped.
 * With restoreBestWeights each task keeps a snapshot of the whole model at its own best epoch, so
 * a task can be served from its best weights while the shared experts went on for the others.
 */

/** What the loop and checkpoints need from a stopper (EarlyStopping and PerTaskEarlyStopping). */
export interface Stopper {
  readonly monitor: string;
  readonly patience: number;
  readonly best: number;
  readonly bestEpoch: number;
  update(epoch: number, logs: Record<string, number>, params: readonly Tensor[]): boolean;
  restore(params: readonly Tensor[]): void;
  getState(): EarlyStoppingState[];
  setState(s: readonly EarlyStoppingState[]): void;
}

export class PerTaskEarlyStopping implements Stopper {
  readonly monitor: string;
  readonly patience: number;
  readonly tasks: EarlyStopping[];
  /** Per task: the epoch it stopped at (1-based), or 0 while it still trains. */
  readonly stoppedAt: number[];
  /** `trainWeights`: the loss weights the training loss reads; a stopped task's entry is set to 0. */
  constructor(
    opts: EarlyStoppingOptions, hasValidation: boolean, fn: string,
    private readonly taskNames: readonly string[], taskTypes: readonly TaskType[],
    private readonly trainWeights: number[],
  ) {
    const { perTask: _p, monitor, ...rest } = opts;
    if (monitor !== undefined && (typeof monitor !== 'string' || !monitor.includes('{task}'))) {
      throw new Error(`${fn}: earlyStopping.monitor with perTask must contain '{task}' (as in 'val_{task}_auc'), got ${JSON.stringify(monitor)}`);
    }
    const keyOf = (t: number): string => monitor !== undefined
      ? monitor.replaceAll('{task}', taskNames[t])
      : hasValidation ? `val_${taskNames[t]}_${taskTypes[t] === 'binary' ? 'logloss' : 'mse'}` : `${taskNames[t]}_loss`;
    this.monitor = monitor ?? (hasValidation ? 'val_{task}_logloss|mse' : '{task}_loss');
    this.tasks = taskNames.map((_, t) => new EarlyStopping({ ...rest, monitor: keyOf(t) }, hasValidation, fn));
    this.patience = this.tasks[0]?.patience ?? 0;
    this.stoppedAt = taskNames.map(() => 0);
  }

  /** The epoch the last task judged best (for the loop's message and history.bestEpoch). */
  get bestEpoch(): number {
    return Math.max(0, ...this.tasks.map((s) => s.bestEpoch));
  }

  get best(): number {
    return NaN;
  }

  /** Per task name: its best epoch. */
  get bestEpochs(): Record<string, number> {
    return Object.fromEntries(this.taskNames.map((n, t) => [n, this.tasks[t].bestEpoch]));
  }

  update(epoch: number, logs: Record<string, number>, params: readonly Tensor[]): boolean {
    this.tasks.forEach((s, t) => {
      if (this.stoppedAt[t] !== 0) return;
      if (s.update(epoch, logs, params)) {
        this.stoppedAt[t] = epoch;
        this.trainWeights[t] = 0;
      }
    });
    return this.stoppedAt.every((e) => e !== 0);
  }

  /** Task `name`'s best weights (a copy per parameter, in params order), or null without restoreBestWeights. */
  bestWeights(name: string): Array<Float32Array | Float64Array> | null {
    const t = this.taskNames.indexOf(name);
    if (t < 0) throw new RangeError(`bestWeights: no task '${name}'; tasks: ${this.taskNames.join(', ')}`);
    return this.tasks[t].getState()[0].snapshot;
  }

  /** The model keeps its final weights: no single best epoch exists for shared weights. */
  restore(): void {}

  getState(): EarlyStoppingState[] {
    return this.tasks.map((s, t) => ({ ...s.getState()[0], stoppedAt: this.stoppedAt[t] }));
  }

  setState(states: readonly EarlyStoppingState[]): void {
    if (states.length !== this.tasks.length) throw new Error(`earlyStopping: the checkpoint watches ${states.length} quantities, this fit ${this.tasks.length} (perTask on one side only?)`);
    states.forEach((s, t) => {
      this.tasks[t].setState([s]);
      this.stoppedAt[t] = s.stoppedAt ?? 0;
      if (this.stoppedAt[t] !== 0) this.trainWeights[t] = 0;
    });
  }
}
