import type { Worker } from 'node:worker_threads';
import { DEFAULT_STACK, groupJobs, groupKey, runGroupsHere } from './stacked.js';
import { checkOptionKeys, type OptionKeys } from '../../validation/options.js';
import { groupCheckpointDir } from './group-checkpoints-node.js';
import {
  assembleSynthetic, resolveSyntheticSettings, splitKey, syntheticJobs,
  type SyntheticExperimentOptions, type SyntheticJob, type SyntheticJobOutcome,
  type SyntheticResult, type SyntheticRun, type SyntheticSettings,
} from './experiment.js';
import { decodeStateDict, defaultWorkers, runJobs, startModuleWorker, type EncodedStateDict } from '../job-runner.js';

/*
 * The synthetic experiment's jobs are independent and each is fixed by its seeds, so they can run
 * on worker threads in any order and the result is the same, bit for bit, as in one thread.
 */

/** A group of jobs: runs of one cell, trained as one stack (one job when not stacking). */
export interface WorkerRequest {
  settings: SyntheticSettings;
  jobs: SyntheticJob[];
  /** ParallelOptions.checkpointDir. */
  checkpointDir?: string;
}

export interface WorkerReply {
  replies: JobReply[];
}

export interface JobReply {
  index: number;
  run: SyntheticRun;
  labelCorrelation: number;
  /** The trained model's state dict, for the jobs whose model the result keeps. */
  state?: EncodedStateDict;
}

export interface ParallelOptions {
  /** Worker threads; 1 runs every job in this thread. Default: one per CPU core, at most 8. */
  workers?: number;
  /** One-line notes for the user (a fallback to one thread). */
  onNote?(line: string): void;
  /**
   * Runs of one cell trained as one stacked computation (stacked.ts); 1 trains one at a time.
   * Default DEFAULT_STACK. The results are the same, bit for bit, for any width.
   */
  stack?: number;
  /**
   * A directory for the checkpoints of stacked groups in flight (group-checkpoints-node.ts): a run
   * stopped mid-group goes on from its group's last finished epoch, with the same bits (groups of
   * two or more jobs; a group's checkpoint is removed once its results are recorded). Default: none.
   */
  checkpointDir?: string;
  /** Starts one worker; tests replace it to exercise the fallback. Default: the synthetic worker. */
  spawn?(): Worker;
}

const PARALLEL_KEYS: OptionKeys<ParallelOptions> = { workers: true, onNote: true, stack: true, checkpointDir: true, spawn: true };

export const MAX_DEFAULT_WORKERS = 8;

export function defaultWorkerCount(): number {
  return defaultWorkers(MAX_DEFAULT_WORKERS);
}

const startWorker = (): Worker => startModuleWorker(import.meta.url, 'worker');

function outcomeOf(reply: JobReply): SyntheticJobOutcome {
  return {
    run: reply.run, labelCorrelation: reply.labelCorrelation,
    ...(reply.state && { state: decodeStateDict(reply.state) }),
  };
}

/**
 * Runs the jobs that `done` has no outcome for, on worker threads, and returns every outcome in job
 * order. If the workers cannot start or one fails, the jobs not yet done run in this thread after a
 * one-line note; a job that fails there too throws as it would have in one thread. `record` sees
 * each new outcome as it arrives (in completion order); an error it throws stops the run.
 */
export async function runSyntheticJobs(
  s: SyntheticSettings, jobs: readonly SyntheticJob[], parallel: ParallelOptions = {},
  done: ReadonlyMap<number, SyntheticJobOutcome> = new Map(), record?: (job: SyntheticJob, o: SyntheticJobOutcome) => void,
): Promise<SyntheticJobOutcome[]> {
  const outcomes: Array<SyntheticJobOutcome | undefined> = jobs.map((j) => done.get(j.index));
  const keep = (job: SyntheticJob, o: SyntheticJobOutcome): void => {
    record?.(job, o);
    outcomes[job.index] = o;
  };
  checkOptionKeys('runSyntheticJobs', parallel, PARALLEL_KEYS);
  const store = parallel.checkpointDir === undefined ? undefined : groupCheckpointDir(parallel.checkpointDir);
  // Groups of the jobs not yet done (a resumed run keeps its finished jobs). A free worker takes
  // the next group on the data sets it just used, if any, else one on data sets no other worker
  // holds now, so data sets are rarely generated twice.
  const groups = groupJobs(jobs.filter((j) => outcomes[j.index] === undefined), parallel.stack ?? DEFAULT_STACK);
  await runJobs<SyntheticJob[], WorkerRequest, WorkerReply>(groups, {
    workers: parallel.workers ?? defaultWorkerCount(), name: 'synthetic', noun: 'job groups', onNote: parallel.onNote,
    isDone: (g) => g.every((j) => outcomes[j.index] !== undefined),
    request: (g) => ({ settings: s, jobs: g, ...(parallel.checkpointDir !== undefined && { checkpointDir: parallel.checkpointDir }) }),
    spawn: parallel.spawn ?? startWorker,
    onReply: (reply, req) => {
      reply.replies.forEach((r, i) => keep(req.jobs[i], outcomeOf(r)));
      // Recorded: the group's checkpoint has served (a worker leaves it until then).
      store?.remove(groupKey(s, req.jobs));
    },
    runHere: (left) => runGroupsHere(s, left, keep, store),
    pick: (pending, last, running) => {
      const data = (r: WorkerRequest): string => splitKey(s, r.jobs[0]);
      const same = last === undefined ? -1 : pending.findIndex((r) => data(r) === data(last));
      if (same >= 0) return same;
      const held = new Set(running.map(data));
      return pending.findIndex((r) => !held.has(data(r)));
    },
  });
  return outcomes as SyntheticJobOutcome[];
}

/** The synthetic experiment on worker threads (see syntheticExperiment for what it runs). */
export async function syntheticExperimentParallel(options: SyntheticExperimentOptions = {}, parallel: ParallelOptions = {}): Promise<SyntheticResult> {
  const t0 = performance.now();
  const s = resolveSyntheticSettings(options);
  const jobs = syntheticJobs(s);
  let n = 0;
  const outcomes = await runSyntheticJobs(s, jobs, parallel, new Map(), (_job, o) => { n++; options.onRun?.(o.run, n, jobs.length); });
  return assembleSynthetic(s, jobs, outcomes, (performance.now() - t0) / 1000);
}
