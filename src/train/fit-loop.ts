import type { Tensor } from '../autograd/index.js';
import { batchIndices } from '../data/batches.js';
import { clipGradNorm } from '../nn/optim/index.js';
import { takeFeatures, takeLabels } from './dataset.js';
import { evaluateResolved, type Evaluation } from './evaluate.js';
import type { FitPlan, PlannedScheduler } from './fit-plan.js';
import { ReduceLROnPlateau, type LRScheduler } from '../nn/optim/lr-scheduler.js';
import { History, type EpochLog } from './history.js';
import { accumulateTaskLosses } from './loss.js';
import { outputWidths } from '../models/types.js';
import { StepScopes } from './held-storage.js';

/** Where the loop pauses: after a batch, or after an epoch (validation and callbacks done). */
export type LoopPause = 'batch' | 'epoch';

/** What an aborted signal throws: its reason, as fetch and friends do. */
export function abortReason(signal: AbortSignal): unknown {
  if (signal.reason !== undefined) return signal.reason;
  const e = new Error('This operation was aborted');
  e.name = 'AbortError';
  return e;
}

function stepScheduler(fn: string, s: PlannedScheduler, logs: Record<string, number>): void {
  if (!(s.scheduler instanceof ReduceLROnPlateau)) {
    s.scheduler.step();
    return;
  }
  const v = logs[s.monitor!];
  if (v === undefined) throw new Error(`${fn}: ReduceLROnPlateau monitors '${s.monitor}', which is not logged; logged keys: ${Object.keys(logs).join(', ')}`);
  s.scheduler.step(v);
}

function validationLogs(ev: Evaluation, logs: Record<string, number>): void {
  logs.val_loss = ev.loss;
  for (const [task, m] of Object.entries(ev.tasks)) {
    for (const [k, v] of Object.entries(m)) if (typeof v === 'number') logs[`val_${task}_${k}`] = v;
  }
}

/**
 * The training loop, written once and driven two ways: `fit` pulls it to the end in one go,
 * `fitAsync` pulls it too but awaits an event-loop turn at some of the pauses. Each `yield` is a
 * point where the model is consistent (no step half done), so stopping there is safe.
 *
 * Loss: the task weighting's combination of the task losses (Σ_t w_t · loss_t by default) + the
 * model's regularisation, one optimizer step per mini-batch.
 */
export function* trainingLoop(plan: FitPlan): Generator<LoopPause, History, void> {
  const { fn, model, train, val, epochs, batchSize, steps, weights, params, optimizer, bar, callbacks, stopper, signal, weighting } = plan;
  const numTasks = model.taskNames.length;
  const history = new History();
  let stop = false;
  const control = { stop: (): void => { stop = true; } };
  if (signal?.aborted) throw abortReason(signal);
  for (const cb of callbacks) cb.onTrainBegin?.({ epochs, stepsPerEpoch: steps, samples: train.n });
  const stateTensors = Object.values(model.stateDict());
  const taskSums = new Float64Array(numTasks);
  const taskCounts = new Float64Array(numTasks);
  const widths = outputWidths(model);
  const sched = plan.scheduler;
  let lastLr = sched?.group.lr ?? NaN;
  const stepScopes = new StepScopes([model, optimizer, weighting, sched]);
  try {
    for (let epoch = 1; epoch <= epochs && !stop; epoch++) {
      const t0 = performance.now();
      model.train();
      bar?.epochBegin(epoch, epochs, steps);
      taskSums.fill(0);
      taskCounts.fill(0);
      let lossSum = 0;
      let seen = 0;
      let step = 0;
      for (const rows of batchIndices(train.n, batchSize, { shuffle: plan.shuffle, generator: plan.generator })) {
        if (signal?.aborted) throw abortReason(signal);
        // The step's intermediates return to the arena when it ends (held-storage.ts); the
        // scope closes before callbacks and the yield, so user code never runs inside it.
        const value = stepScopes.run(() => {
          const xb = takeFeatures(train.x, rows, train.n);
          const yb = takeLabels(train.y, numTasks, rows);
          const wb = train.w ? takeLabels(train.w, numTasks, rows) : null;
          optimizer.zeroGrad();
          const logits = model.logits(xb);
          const v = weighting.backward(logits, yb, wb, penalties(model.regularizationLoss(), model.auxiliaryLoss?.(logits) ?? null), (loss) => {
            // Checked before any gradient or step: stepping on a NaN loss would leave NaN weights behind the error.
            if (!Number.isFinite(loss)) throw new Error(`${fn}: the loss became ${loss} at epoch ${epoch}, step ${step + 1} (lower the learning rate, or clip gradients with clipGradNorm)`);
          });
          if (plan.clipGradNorm !== undefined) clipGradNorm(params, plan.clipGradNorm);
          optimizer.step();
          weighting.afterStep();
          if (sched !== null) {
            lastLr = sched.group.lr;
            if (sched.interval === 'step') (sched.scheduler as LRScheduler).step();
          }
          accumulateTaskLosses(logits, yb, model.taskTypes, taskSums, wb, taskCounts, widths);
          return v;
        });
        lossSum += value * rows.length;
        seen += rows.length;
        step++;
        bar?.step(step, lossSum / seen, seen);
        for (const cb of callbacks) cb.onBatchEnd?.(step, { loss: value, batchSize: rows.length });
        yield 'batch';
        if (signal?.aborted) throw abortReason(signal);
      }
      const logs: Record<string, number> = { loss: lossSum / seen };
      model.taskNames.forEach((name, j) => { logs[`${name}_loss`] = taskSums[j] / taskCounts[j]; });
      weighting.log(logs);
      const trainSeconds = (performance.now() - t0) / 1000;
      if (val !== null) validationLogs(evaluateResolved(model, val, Math.max(batchSize, 1024), weights), logs);
      if (sched !== null) {
        logs.lr = lastLr;
        if (sched.interval === 'epoch') stepScheduler(fn, sched, logs);
      }
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
      yield 'epoch';
    }
  } finally {
    stepScopes.finish();
    bar?.end();
  }
  if (stopper) {
    history.bestEpoch = stopper.bestEpoch;
    stopper.restore(stateTensors);
  }
  for (const cb of callbacks) cb.onTrainEnd?.(history);
  return history;
}

/** The model's regularisation plus its own loss on its logits (AITM's calibrator), or null for neither. */
function penalties(reg: Tensor | null, aux: Tensor | null): Tensor | null {
  return reg === null ? aux : aux === null ? reg : reg.add(aux);
}
