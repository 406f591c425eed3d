import { stackModels, unstackModels } from '../../nn/stacked.js';
import { fitStacked, type FitStackedOptions } from '../../train/fit-stacked.js';
import { decodeStackedCheckpoint, encodeStackedCheckpoint, type StackedCheckpoint } from '../../train/stacked-checkpoint.js';
import {
  buildSyntheticModel, gapRows, meanTaskLoss, runSyntheticJob, splitKey, stepsPerEpoch, syntheticSplit, totalSteps, keepsModel,
  type SyntheticJob, type SyntheticJobOutcome, type SyntheticRun, type SyntheticSettings, type SyntheticSplit,
} from './experiment.js';
import type { MultiTaskModel } from '../../models/index.js';

/*
 * The synthetic experiment's runs trained R at a time as one stacked computation (nn/stacked.ts):
 * the runs of one (phase, model, lr) differ only in their seeds and data (ρ changes the labels),
 * which is what stacking takes. Stacked training is bit-identical to training alone, so a group gives each job
 * the outcome runSyntheticJob gives it, and the results table does not depend on the width.
 */

/** Width of a stack by default (runs of one cell trained as one computation). */
export const DEFAULT_STACK = 8;

/**
 * Jobs in groups of at most `stack` runs of one (phase, model, lr), in the order they first appear.
 * A group may hold runs of several ρ (only the data differs, which stacking takes): the pilot's
 * cells have 2 runs each, and a group across its 3 ρ trains 6 at once instead of 2.
 */
export function groupJobs(jobs: readonly SyntheticJob[], stack: number): SyntheticJob[][] {
  if (!Number.isInteger(stack) || stack < 1) throw new RangeError(`groupJobs: stack must be an integer ≥ 1, got ${stack}`);
  const cells = new Map<string, SyntheticJob[][]>();
  const groups: SyntheticJob[][] = [];
  for (const job of jobs) {
    const key = `${job.phase}/${job.model}/${job.lr}`;
    let list = cells.get(key);
    if (list === undefined) cells.set(key, (list = []));
    let last = list[list.length - 1];
    if (last === undefined || last.length === stack) {
      last = [];
      list.push(last);
      groups.push(last);
    }
    last.push(job);
  }
  return groups;
}

/**
 * Where a group's checkpoint is kept while it trains (a directory on Node:
 * group-checkpoints-node.ts), under the key groupKey gives it.
 */
export interface GroupCheckpointStore {
  load(key: string): Uint8Array | null;
  save(key: string, bytes: Uint8Array): void;
  remove(key: string): void;
  /** Where the key's checkpoint is (a file name), for messages. */
  where(key: string): string;
}

/** What names a group: its settings and its jobs (a checkpoint under another key is not this group's). */
export function groupKey(s: SyntheticSettings, jobs: readonly SyntheticJob[]): string {
  return JSON.stringify({ settings: s, jobs: jobs.map((j) => [j.phase, j.model, j.correlationIndex, j.run, j.lr]) });
}

/** A group's own progress, saved in its checkpoint's `extra` beside fitStacked's state. */
interface GroupProgress {
  key: string;
  steps: number[][];
  curves: number[][];
  taskLoss: Array<[number, number]>;
  seconds: number;
}

/**
 * Trains a group of jobs (runs of one cell) as one stack, logging each run's loss on its watched
 * rows at the steps runSyntheticJob logs at, from a copy of that run's weights. With a `store`,
 * a group of two or more jobs saves a checkpoint at every epoch's end but the last and goes on
 * from one it finds, with the same bits as a group that never stopped. The checkpoint stays until
 * the caller has recorded the group's results and removes it (a group of one is not checkpointed).
 */
export function runSyntheticGroup(
  s: SyntheticSettings, jobs: readonly SyntheticJob[], data: readonly SyntheticSplit[], store?: GroupCheckpointStore,
): Array<{ run: SyntheticRun; model: MultiTaskModel }> {
  if (jobs.length === 1) return [runSyntheticJob(s, jobs[0], data[0])];
  jobs.forEach((job, r) => {
    if (data[r].key !== splitKey(s, job)) throw new Error(`runSyntheticGroup: data set ${data[r].key} given for job ${splitKey(s, job)}`);
    if (job.model !== jobs[0].model || job.lr !== jobs[0].lr || job.phase !== jobs[0].phase) throw new Error('runSyntheticGroup: a group holds runs of one model, phase and learning rate');
  });
  const t0 = performance.now();
  const R = jobs.length;
  const stacked = stackModels(jobs.map((job) => buildSyntheticModel(s, job)));
  const copy = buildSyntheticModel(s, jobs[0]);
  const watched = data.map((d) => (jobs[0].phase === 'main' ? d.test : d.validation));
  const perEpoch = stepsPerEpoch(s);
  const last = totalSteps(s);
  const steps: number[][] = jobs.map(() => []);
  const curves: number[][] = jobs.map(() => []);
  const taskLoss: Array<[number, number]> = jobs.map(() => [NaN, NaN]);
  const trainLoss: number[] = jobs.map(() => NaN);
  const key = store && groupKey(s, jobs);
  let resumeFrom: StackedCheckpoint | undefined;
  let before = 0;
  const saved = key === undefined ? null : store!.load(key);
  const unusable = (e: unknown): Error => new Error(
    `runSyntheticGroup: the group's checkpoint ${store!.where(key!)} cannot be used (${(e as Error).message}); delete it to train the group from its start`, { cause: e });
  if (saved !== null) {
    let c: StackedCheckpoint;
    try {
      c = decodeStackedCheckpoint(saved);
    } catch (e) {
      throw unusable(e);
    }
    const progress = c.extra as GroupProgress | undefined;
    if (progress !== undefined && progress.key === key) {
      resumeFrom = c;
      progress.steps.forEach((v, r) => steps[r].push(...v));
      progress.curves.forEach((v, r) => curves[r].push(...v));
      progress.taskLoss.forEach((v, r) => (taskLoss[r] = v));
      before = progress.seconds;
    }
  }
  const options: FitStackedOptions = {
    epochs: s.epochs, batchSize: s.batchSize, optimizer: 'adam', lr: jobs[0].lr, seeds: data.map((d) => d.dataSeed + 17),
    ...(resumeFrom && { resumeFrom }),
    ...(key !== undefined && {
      onEpochEnd: (epoch, take) => {
        if (epoch === s.epochs) return;
        const c = take();
        const progress: GroupProgress = { key, steps, curves, taskLoss, seconds: before + (performance.now() - t0) / 1000 };
        c.extra = progress;
        store!.save(key, encodeStackedCheckpoint(c));
      },
    }),
    onStep: (epoch: number, step: number) => {
      const at = (epoch - 1) * perEpoch + step;
      if (at % s.logEvery !== 0 && at !== last) return;
      for (let r = 0; r < R; r++) {
        copy.loadStateDict(stacked.runStateDict(r));
        const [mean, a, b] = meanTaskLoss(copy, watched[r]);
        steps[r].push(at);
        curves[r].push(mean);
        taskLoss[r] = [a, b];
        if (at === last) trainLoss[r] = meanTaskLoss(copy, gapRows(s, data[r].train))[0];
      }
    },
  };
  try {
    fitStacked(stacked, data.map((d) => d.train), options);
  } catch (e) {
    // A checkpoint of this key that does not fit (the code changed the model) is named, not trained past.
    if (resumeFrom !== undefined && (e as Error).message.includes('resumeFrom')) throw unusable(e);
    throw e;
  }
  const models = unstackModels(stacked);
  const seconds = (before + (performance.now() - t0) / 1000) / R;
  return jobs.map((job, r) => ({
    model: models[r],
    run: {
      phase: job.phase, model: job.model, correlation: s.correlations[job.correlationIndex], run: job.run, lr: job.lr,
      steps: steps[r], curve: curves[r], finalLoss: curves[r][curves[r].length - 1], taskLoss: taskLoss[r], trainLoss: trainLoss[r], seconds,
    },
  }));
}

/** The data sets of a group's jobs, reusing those `cache` holds (the cache keeps the latest ones). */
export function groupData(s: SyntheticSettings, jobs: readonly SyntheticJob[], cache: Map<string, SyntheticSplit>): SyntheticSplit[] {
  const out = jobs.map((job) => cache.get(splitKey(s, job)) ?? syntheticSplit(s, job));
  // Consecutive groups are other models of the same runs: keep this group's data sets only.
  cache.clear();
  for (const d of out) cache.set(d.key, d);
  return out;
}

/** Runs groups in this thread; `record` sees each job's outcome. */
export function runGroupsHere(
  s: SyntheticSettings, groups: readonly SyntheticJob[][], record: (job: SyntheticJob, o: SyntheticJobOutcome) => void, store?: GroupCheckpointStore,
): void {
  const cache = new Map<string, SyntheticSplit>();
  for (const jobs of groups) {
    const data = groupData(s, jobs, cache);
    runSyntheticGroup(s, jobs, data, store).forEach(({ run, model }, r) => {
      record(jobs[r], { run, labelCorrelation: data[r].labelCorrelation, ...(keepsModel(jobs[r]) && { state: model.stateDict() }) });
    });
    // Recorded: the group's checkpoint has served.
    store?.remove(groupKey(s, jobs));
  }
}
