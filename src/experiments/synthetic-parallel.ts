import { availableParallelism } from 'node:os';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { Tensor } from '../autograd/index.js';
import {
  assembleSynthetic, resolveSyntheticSettings, runJobsHere, splitKey, syntheticJobs,
  type SyntheticExperimentOptions, type SyntheticJob, type SyntheticJobOutcome,
  type SyntheticResult, type SyntheticRun, type SyntheticSettings,
} from './synthetic.js';

/*
 * The synthetic experiment's jobs are independent and each is fixed by its seeds, so they can run
 * on worker threads in any order and the result is the same, bit for bit, as in one thread.
 */

export interface WorkerRequest {
  settings: SyntheticSettings;
  job: SyntheticJob;
}

export interface WorkerReply {
  index: number;
  run: SyntheticRun;
  labelCorrelation: number;
  /** The trained model's state dict, for the jobs whose model the result keeps. */
  state?: Array<{ name: string; data: Float32Array; shape: number[] }>;
}

export interface ParallelOptions {
  /** Worker threads; 1 runs every job in this thread. Default: one per CPU core, at most 8. */
  workers?: number;
  /** One-line notes for the user (a fallback to one thread). */
  onNote?(line: string): void;
  /** Starts one worker; tests replace it to exercise the fallback. Default: the synthetic worker. */
  spawn?(): Worker;
}

export const MAX_DEFAULT_WORKERS = 8;

export function defaultWorkerCount(): number {
  return Math.max(1, Math.min(availableParallelism(), MAX_DEFAULT_WORKERS));
}

/**
 * Under tsx (or vitest) this module is a .ts file and so is the worker's; Node 20 cannot start a
 * .ts worker on its own, and ESM loader hooks given by --import do not reach a worker's entry
 * there, so a small CommonJS bootstrap registers tsx's require hook and then loads the worker. The
 * built copy (.js) starts the worker file directly.
 */
function startWorker(): Worker {
  const here = import.meta.url;
  if (here.endsWith('.js')) return new Worker(new URL('./synthetic-worker.js', here));
  const file = fileURLToPath(new URL('./synthetic-worker.ts', here));
  const tsx = createRequire(here).resolve('tsx/cjs/api');
  return new Worker(`require(${JSON.stringify(tsx)}).register();\nrequire(${JSON.stringify(file)});`, { eval: true });
}

function outcomeOf(reply: WorkerReply): SyntheticJobOutcome {
  return {
    run: reply.run, labelCorrelation: reply.labelCorrelation,
    ...(reply.state && { state: Object.fromEntries(reply.state.map((e) => [e.name, new Tensor(e.data, e.shape)])) }),
  };
}

/**
 * Runs `pending` on `count` workers; resolves when all are done, rejects on the first worker that
 * fails (every worker is stopped first). A free worker takes the next job on the data set it just
 * used if there is one, so data sets are rarely generated twice.
 */
function runOnWorkers(s: SyntheticSettings, pendingJobs: readonly SyntheticJob[], count: number, spawn: () => Worker, record: (job: SyntheticJob, o: SyntheticJobOutcome) => void): Promise<void> {
  const pending = pendingJobs.slice();
  const byIndex = new Map(pendingJobs.map((j) => [j.index, j]));
  const workers: Worker[] = [];
  return new Promise<void>((resolve, reject) => {
    let inFlight = 0;
    let failed = false;
    const stopAll = (): Promise<unknown> => Promise.all(workers.map((w) => w.terminate()));
    const fail = (why: string | Error): void => {
      if (failed) return;
      failed = true;
      void stopAll().finally(() => reject(typeof why === 'string' ? new Error(why) : why));
    };
    const feed = (w: Worker, lastKey: string | null): void => {
      if (failed) return;
      if (pending.length === 0) {
        if (inFlight === 0) void stopAll().then(() => resolve(), reject);
        return;
      }
      let at = lastKey === null ? -1 : pending.findIndex((j) => splitKey(s, j) === lastKey);
      if (at < 0) at = 0;
      const job = pending.splice(at, 1)[0];
      inFlight++;
      const request: WorkerRequest = { settings: s, job };
      w.postMessage(request);
    };
    // Fixed before the loop: feed() takes a job off `pending` for each worker started.
    const starting = Math.min(count, pending.length);
    for (let i = 0; i < starting; i++) {
      let w: Worker;
      try {
        w = spawn();
      } catch (e) {
        fail(e instanceof Error ? e.message : String(e));
        return;
      }
      workers.push(w);
      w.on('message', (reply: WorkerReply) => {
        if (failed) return; // the fallback reruns whatever was in flight
        inFlight--;
        const job = byIndex.get(reply.index)!;
        try {
          record(job, outcomeOf(reply));
        } catch (e) {
          fail(new RecordError(e));
          return;
        }
        feed(w, splitKey(s, job));
      });
      w.on('error', (e) => fail(e.message));
      w.on('messageerror', (e) => fail(e.message));
      w.on('exit', (code) => { if (!failed && (pending.length > 0 || inFlight > 0)) fail(`a worker exited with code ${code}`); });
      feed(w, null);
    }
  });
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
  const left = (): SyntheticJob[] => jobs.filter((j) => outcomes[j.index] === undefined);
  const count = Math.min(parallel.workers ?? defaultWorkerCount(), left().length);
  if (count > 1) {
    try {
      await runOnWorkers(s, left(), count, parallel.spawn ?? startWorker, keep);
    } catch (e) {
      if (e instanceof RecordError) throw e.cause;
      const why = (e instanceof Error ? e.message : String(e)).replace(/\s*\n\s*/g, ' ');
      parallel.onNote?.(`synthetic: worker threads failed (${why}); running the ${left().length} remaining jobs in this thread`);
    }
  }
  runJobsHere(s, left(), keep);
  return outcomes as SyntheticJobOutcome[];
}

/** An error thrown by the caller's `record`: passed through, not taken for a worker failure. */
class RecordError extends Error {
  constructor(cause: unknown) {
    super(cause instanceof Error ? cause.message : String(cause), { cause });
  }
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
