import * as lib from '../../src/index.js';
import { Tensor } from '../../src/index.js';
import type { MMoE } from '../../src/models/index.js';
import { Adam } from '../../src/nn/optim/index.js';
import { takeFeatures, takeLabels } from '../../src/train/dataset.js';
import { StepScopes } from '../../src/train/held-storage.js';
import { accumulateTaskLosses, multiTaskLoss } from '../../src/train/loss.js';
import { PAPER, type PaperData } from '../lib/paper-mmoe.js';

/*
 * Our side of the stacked row: R paper-size MMoEs trained as one computation through the
 * library's stacked-training API (stackModels, stackTensors, physical, runSlice), found by
 * feature detection so this bench runs on builds with and without it (it was written in parallel,
 * issue 15). `step()` is fit's inner loop as bench/lib/paper-mmoe.ts runs it for one model, done
 * for all R at once the way fitStacked does it: gather every run's batch rows, stack them, zero,
 * logits, multi-task loss (one per run), backward from the per-run losses, one Adam over the
 * stacked parameters (elementwise, so per run), per-task loss sums per run.
 */

export interface OurStacked {
  /** One stacked training step: every run one step on its own next batch. */
  step(): void;
  /** Each run's parameter values (namedParameters order) as they stand. */
  runParameters(): Float32Array[][];
}

interface StackedModulesLike {
  readonly runs: number;
  readonly module: MMoE;
  parameters(): Tensor[];
}
interface StackedApi {
  stackModels(models: readonly MMoE[]): StackedModulesLike;
  stackTensors(parts: readonly Tensor[]): Tensor;
  runSlice(t: Tensor, r: number): Tensor;
  physical(t: Tensor, fn?: string): Tensor;
}

const NEEDED = ['stackModels', 'stackTensors', 'runSlice', 'physical'] as const;

/** The stacked-training API of this build, or what it lacks. */
export function stackedApi(): StackedApi | { missing: string[] } {
  const api = lib as unknown as Record<string, unknown>;
  const missing = NEEDED.filter((n) => typeof api[n] !== 'function');
  return missing.length ? { missing } : (api as unknown as StackedApi);
}

/** Stacks `models` (they are the stack's from now on) to train on `data[r]`, batches in data order. */
export function ourStackedPaper(models: readonly MMoE[], data: readonly PaperData[], lr: number): OurStacked | { skipped: string } {
  const api = stackedApi();
  if ('missing' in api) {
    return { skipped: api.missing.length === NEEDED.length ? 'skipped: no stacked API in this build' : `skipped: the stacked API lacks ${api.missing.join(', ')}` };
  }
  const R = models.length;
  const stacked = api.stackModels(models);
  const model = stacked.module;
  const params = stacked.parameters();
  const optimizer = new Adam(params, { lr });
  const weights = [1, 1];
  const taskSums = Array.from({ length: R }, () => new Float64Array(PAPER.tasks));
  const ones = new Tensor(new Float32Array(R).fill(1), [R]);
  let k = 0;
  // fit's step scope, as bench/lib/paper-mmoe.ts uses for one model. Its root is the optimizer,
  // which holds the physical [R, …] parameters, their gradients and Adam's state: the stacked
  // module's own parameters are logical views whose values cannot be read.
  const scopes = new StepScopes([optimizer]);
  return {
    step: () => scopes.run(() => {
      const b = k++ % data[0].batchRows.length;
      const ys = data.map((d) => takeLabels(d.y, PAPER.tasks, d.batchRows[b]));
      const xb = api.stackTensors(data.map((d) => takeFeatures(d.x, d.batchRows[b], d.x.shape[0]) as Tensor));
      const yb = api.stackTensors(ys);
      optimizer.zeroGrad();
      const logits = model.logits(xb);
      const loss = multiTaskLoss(logits, yb, model.taskTypes, weights)!;
      api.physical(loss).backward(ones);
      optimizer.step();
      for (let r = 0; r < R; r++) accumulateTaskLosses(api.runSlice(logits, r), ys[r], model.taskTypes, taskSums[r]);
    }),
    runParameters: () => Array.from({ length: R }, (_, r) => params.map((p) => {
      const n = p.size / R;
      return Float32Array.from(p.data.subarray(r * n, (r + 1) * n));
    })),
  };
}
