import type { MultiTaskModel } from '../models/types.js';
import type { Dataset } from './dataset.js';
import { FIT_ASYNC_KEYS, FIT_KEYS, planFit, type FitAsyncOptions, type FitOptions, type YieldEvery } from './fit-plan.js';
import { trainingLoop, type LoopPause } from './fit-loop.js';
import type { History } from './history.js';
import { createYielder } from './yield.js';
import { driveAsync, driveSync, type BatchSource } from './stream.js';

export { predict, resolveLossWeights, type EvaluateOptions, type PredictOptions, type Evaluation } from './evaluate.js';
export { evaluateAny as evaluate, evaluateAsync } from './evaluate-stream.js';
export type { Batch, BatchDataset, BatchSource } from './stream.js';
export type { Callbacks, FitOptions, FitAsyncOptions, YieldEvery } from './fit-plan.js';
export type { ModelInput } from '../models/types.js';

/**
 * Trains `model` on `data`, synchronously, and returns the per-epoch history. The loss is
 * Σ_t w_t · loss_t + the model's regularisation, one optimizer step per mini-batch.
 */
export function fit(model: MultiTaskModel, data: Dataset | BatchSource, opts: FitOptions = {}): History {
  return driveSync('fit', trainingLoop(planFit('fit', model, data, opts, FIT_KEYS)));
}

/** Decides at each pause whether to hand the event loop a turn. */
function yieldPolicy(v: YieldEvery | undefined): (pause: LoopPause, msSinceTurn: number) => boolean {
  const mode = v ?? 'auto';
  if (mode === 'batch') return () => true;
  if (mode === 'epoch') return (p) => p === 'epoch';
  if (mode === 'never') return () => false;
  const ms = mode === 'auto' ? 16 : mode;
  if (typeof ms !== 'number' || !(ms >= 0) || !Number.isFinite(ms)) {
    throw new RangeError(`fitAsync: yieldEvery must be 'auto', 'batch', 'epoch', 'never' or a number of milliseconds >= 0, got ${String(v)}`);
  }
  return (_p, since) => since >= ms;
}

/**
 * `fit` that returns a Promise and hands the event loop a turn between batches (see
 * `yieldEvery`), so a page stays responsive and a Web Worker can receive messages while it
 * trains. Same options, callbacks and history as `fit`. With `signal`, an abort ends training at
 * the next batch boundary and the Promise rejects with `signal.reason` (an AbortError
 * DOMException unless you gave one); the weights are those after the last finished step, and
 * onTrainEnd is not called. For a graceful end with a history, call `control.stop()` from
 * onEpochEnd instead.
 */
export async function fitAsync(model: MultiTaskModel, data: Dataset | BatchSource, opts: FitAsyncOptions = {}): Promise<History> {
  const plan = planFit('fitAsync', model, data, opts, FIT_ASYNC_KEYS);
  const shouldYield = yieldPolicy(opts.yieldEvery);
  const loop = trainingLoop(plan);
  const yielder = createYielder();
  try {
    let lastTurn = performance.now();
    return await driveAsync(loop, async (pause: LoopPause) => {
      if (shouldYield(pause, performance.now() - lastTurn)) {
        await yielder.next();
        lastTurn = performance.now();
      }
    });
  } finally {
    yielder.close();
  }
}
