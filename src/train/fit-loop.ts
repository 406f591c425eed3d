import { clipGradNorm } from '../nn/optim/index.js';
import { evaluateResolved, type Evaluation } from './evaluate.js';
import { evaluateStream } from './evaluate-stream.js';
import { isPromise, memoryFeed, streamFeed, type PendingPull, type PulledBatch } from './stream.js';
import type { FitPlan, PlannedScheduler } from './fit-plan.js';
import { ReduceLROnPlateau, type LRScheduler } from '../nn/optim/lr-scheduler.js';
import { History, type EpochLog } from './history.js';
import { accumulateTaskLosses } from './loss.js';
import { captureCheckpoint, restoreCheckpoint, type EpochProgress } from './checkpoint.js';
import { PerTaskEarlyStopping } from './per-task-stopping.js';
import { logExpertHealth } from './expert-health.js';
import { sliceFeatures } from './dataset.js';
import type { ModelInput } from '../models/types.js';
import { Tensor } from '../autograd/index.js';
import type { MultiTaskModel } from '../models/types.js';
import { outputWidths } from '../models/types.js';
import { StepScopes } from './held-storage.js';
import { trainingStepPlans } from './step-plan.js';

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

function perTaskResults(stopper: PerTaskEarlyStopping, model: MultiTaskModel, history: History): void {
  const dict = model.stateDict();
  const names = Object.keys(dict);
  history.taskEarlyStopping = {};
  model.taskNames.forEach((task, t) => {
    history.taskEarlyStopping![task] = { bestEpoch: stopper.tasks[t].bestEpoch, stoppedAt: stopper.stoppedAt[t] };
    const snap = stopper.bestWeights(task);
    if (snap === null) return;
    history.taskBestWeights ??= {};
    history.taskBestWeights[task] = Object.fromEntries(names.map((k, i) => [k, new Tensor(snap[i].slice(), dict[k].shape)]));
  });
}

/**
 * The training loop, written once and driven two ways: `fit` pulls it to the end in one go,
 * `fitAsync` pulls it too but awaits an event-loop turn at some of the pauses. Each `yield` is a
 * point where the model is consistent (no step half done), so stopping there is safe.
 *
 * Loss: the task weighting's combination of the task losses (Σ_t w_t · loss_t by default) + the
 * model's regularisation, one optimizer step per mini-batch.
 */
export function* trainingLoop(plan: FitPlan): Generator<LoopPause | PendingPull, History, unknown> {
  const { fn, model, train, val, epochs, batchSize, steps, weights, params, optimizer, bar, callbacks, stopper, signal, weighting } = plan;
  const numTasks = model.taskNames.length;
  let stop = false;
  if (signal?.aborted) throw abortReason(signal);
  const partial = plan.resume?.partial ?? null;
  if (plan.resume && Number.isFinite(steps) && plan.resume.step !== plan.resume.epoch * steps + (partial?.batch ?? 0)) {
    // Another row count or batch size would visit other rows in other batches: no longer the same run.
    throw new Error(`${fn}: resumeFrom: the checkpoint took ${plan.resume.step} steps in ${plan.resume.epoch} epoch(s)${partial ? ` and ${partial.batch} batch(es)` : ''}; this fit takes ${steps} per epoch (same data and batchSize as the interrupted fit?)`);
  }
  const history = plan.resume ? restoreCheckpoint(plan, plan.resume) : new History();
  const initialEpoch = plan.resume?.epoch ?? 0;
  let totalSteps = plan.resume?.step ?? 0;
  if (plan.resume?.stopped) {
    stop = true;
    history.stoppedEarly = initialEpoch < epochs;
  }
  for (const cb of callbacks) cb.onTrainBegin?.({ epochs, stepsPerEpoch: steps, samples: train?.n ?? NaN, initialEpoch });
  const stateTensors = Object.values(model.stateDict());
  const taskSums = new Float64Array(numTasks);
  const taskCounts = new Float64Array(numTasks);
  const widths = outputWidths(model);
  const sched = plan.scheduler;
  const health = plan.health;
  // The rows the gates are read on: fixed for in-memory data; a stream's first batch of each epoch.
  const probeFrom = val ?? train;
  const fixedProbe: ModelInput | null = health && probeFrom ? sliceFeatures(probeFrom.x, 0, Math.min(health.rows, probeFrom.n), probeFrom.n) : null;
  let lastLr = sched?.group.lr ?? NaN;
  const stepScopes = new StepScopes([model, optimizer, weighting, sched]);
  const stepPlans = trainingStepPlans(plan);
  try {
    for (let epoch = initialEpoch + 1; epoch <= epochs && !stop; epoch++) {
      const t0 = performance.now();
      model.train();
      stepPlans?.reset();
      bar?.epochBegin(epoch, epochs, steps);
      taskSums.fill(0);
      taskCounts.fill(0);
      let lossSum = 0;
      let seen = 0;
      let step = 0;
      let probe = fixedProbe;
      // Read before the feed draws the epoch's order, for checkpoints taken inside this epoch.
      const resumeHere = partial !== null && epoch === initialEpoch + 1;
      const shuffleAtEpochStart = resumeHere ? partial.shuffleAtEpochStart : plan.generator.getState();
      const feed = train !== null ? memoryFeed(train, batchSize, plan.shuffle, plan.generator) : streamFeed(plan.streamChecks, plan.stream!, epoch);
      try {
        if (resumeHere) {
          // The epoch's order again from its start, the batches done skipped, then the generators as they were at the checkpoint.
          const now = plan.generator.getState();
          plan.generator.setState(partial.shuffleAtEpochStart);
          for (; step < partial.batch; step++) {
            let pulled = feed.next();
            if (isPromise(pulled)) pulled = (yield { pending: pulled }) as IteratorResult<PulledBatch, undefined>;
            if (pulled.done) throw new Error(`${fn}: resumeFrom: the checkpoint was taken after batch ${partial.batch} of epoch ${epoch}, but the data gives only ${step} (the same data as the interrupted fit?)`);
            if (probe === null && health !== null && train === null) probe = pulled.value.load().x;
          }
          plan.generator.setState(now);
          lossSum = partial.lossSum;
          seen = partial.seen;
          taskSums.set(partial.taskSums);
          taskCounts.set(partial.taskCounts);
        }
        for (;;) {
          if (signal?.aborted) throw abortReason(signal);
          let pulled = feed.next();
          if (isPromise(pulled)) pulled = (yield { pending: pulled }) as IteratorResult<PulledBatch, undefined>;
          if (pulled.done) break;
          const batch = pulled.value;
          const rowsInBatch = batch.n;
          // A stream's batch was built outside the scope, so it may outlive the step as the gate probe.
          if (probe === null && health !== null && train === null) probe = batch.load().x;
          // The step's intermediates return to the arena when it ends (held-storage.ts); the
          // scope closes before callbacks and the yield, so user code never runs inside it.
          const value = stepScopes.run(() => {
            const { x: xb, y: yb, w: wb } = batch.load();
            optimizer.zeroGrad(false);
            const checkLoss = (loss: number): void => {
              // Checked before any gradient or step: stepping on a NaN loss would leave NaN weights behind the error.
              if (!Number.isFinite(loss)) throw new Error(`${fn}: the loss became ${loss} at epoch ${epoch}, step ${step + 1} (lower the learning rate, or clip gradients with clipGradNorm)`);
            };
            // The traced step (step-plan.ts) where there is one: the same bits, without the module code.
            const planned = stepPlans !== null && wb === null && xb instanceof Tensor ? stepPlans.step(xb, yb, checkLoss) : null;
            const logits = planned !== null ? planned.logits : model.logits(xb);
            const v = planned !== null
              ? planned.value
              : weighting.backward(logits, yb, wb, penalties(model.regularizationLoss(), model.auxiliaryLoss?.(logits) ?? null), checkLoss);
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
          lossSum += value * rowsInBatch;
          seen += rowsInBatch;
          step++;
          totalSteps++;
          bar?.step(step, lossSum / seen, seen);
          const progress = (): EpochProgress => ({ batch: step, lossSum, seen, taskSums: Array.from(taskSums), taskCounts: Array.from(taskCounts), shuffleAtEpochStart });
          const batchControl = { totalSteps, checkpoint: () => captureCheckpoint(plan, epoch - 1, totalSteps, false, history, progress()) };
          for (const cb of callbacks) cb.onBatchEnd?.(step, { loss: value, batchSize: rowsInBatch }, batchControl);
          yield 'batch';
          if (signal?.aborted) throw abortReason(signal);
        }
      } finally {
        feed.close();
      }
      const logs: Record<string, number> = { loss: lossSum / seen };
      model.taskNames.forEach((name, j) => { logs[`${name}_loss`] = taskSums[j] / taskCounts[j]; });
      weighting.log(logs);
      const trainSeconds = (performance.now() - t0) / 1000;
      if (val !== null) validationLogs(evaluateResolved(model, val, Math.max(batchSize, 1024), weights), logs);
      else if (plan.valStream !== null) validationLogs(yield* evaluateStream(`${fn} (validationData)`, model, plan.valStream, weights, undefined, plan.valScoring), logs);
      if (health !== null && probe !== null) {
        for (const w of logExpertHealth(health, model, probe, epoch, logs)) {
          history.warnings.push(w);
          bar?.message(w);
        }
      }
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
        bar?.message(stopper instanceof PerTaskEarlyStopping
          ? `early stopping: every task stopped improving; best epochs: ${Object.entries(stopper.bestEpochs).map(([t, e]) => `${t} ${e}`).join(', ')}`
          : `early stopping: '${stopper.monitor}' has not improved for ${stopper.patience + 1} epoch(s); best ${stopper.best} at epoch ${stopper.bestEpoch}`);
      }
      const control = { stop: (): void => { stop = true; }, checkpoint: () => captureCheckpoint(plan, epoch, totalSteps, stop, history) };
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
    if (stopper instanceof PerTaskEarlyStopping) perTaskResults(stopper, model, history);
  }
  for (const cb of callbacks) cb.onTrainEnd?.(history);
  return history;
}

/** The model's regularisation plus its own loss on its logits (AITM's calibrator), or null for neither. */
function penalties(reg: Tensor | null, aux: Tensor | null): Tensor | null {
  return reg === null ? aux : aux === null ? reg : reg.add(aux);
}
