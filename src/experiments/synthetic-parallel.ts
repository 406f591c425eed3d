import { availableParallelism } from 'node:os';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { Tensor } from '../autograd/index.js';
import {
  assembleSynthetic, buildSyntheticModel, keepsModel, prepareSynthetic, runSyntheticJob, syntheticDataSeed, syntheticSplit,
  type PreparedSynthetic, type SyntheticExperimentOptions, type SyntheticJob, type SyntheticJobOutcome,
  type SyntheticResult, type SyntheticRun, type SyntheticSettings, type SyntheticSplit,
} from './synthetic.js';

/*
 * The synthetic experiment's jobs are independent and each is fixed by its seeds, so they can run
 * on worker threads in any order and the result is the same, bit for bit, as in one thread.
 */

export interface WorkerRequest {
  settings: SyntheticSettings;
  bottomUnits: number;
  job: SyntheticJob;
}

export interface WorkerReply {
  index: number;
  run: SyntheticRun;
  labelCorrelation: number;
  /** The trained model's state dict, for the jobs whose model the result keeps. */
  state?: Array<{ name: string; data: Float32Array; shape: number[] }>;
  testX?: { data: Float32Array; shape: number[] };
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

function rebuildKept(p: PreparedSynthetic, job: SyntheticJob, reply: WorkerReply): SyntheticJobOutcome['kept'] {
  if (!reply.state || !reply.testX) return undefined;
  const model = buildSyntheticModel(p.settings, p.bottomUnits, job);
  model.loadStateDict(Object.fromEntries(reply.state.map((e) => [e.name, new Tensor(e.data, e.shape)])));
  return { model, testX: new Tensor(reply.testX.data, reply.testX.shape) };
}

/**
 * Runs the jobs not yet in `outcomes` on `count` workers; resolves when all are done, rejects on
 * the first worker that fails (every worker is stopped first). A free worker takes the next job
 * on the data set it just used if there is one, so data sets are rarely generated twice.
 */
function runOnWorkers(p: PreparedSynthetic, count: number, spawn: () => Worker, record: (job: SyntheticJob, o: SyntheticJobOutcome) => void, outcomes: readonly (SyntheticJobOutcome | undefined)[]): Promise<void> {
  const pending = p.jobs.filter((j) => outcomes[j.index] === undefined);
  const workers: Worker[] = [];
  return new Promise<void>((resolve, reject) => {
    let inFlight = 0;
    let failed = false;
    const stopAll = (): Promise<unknown> => Promise.all(workers.map((w) => w.terminate()));
    const fail = (why: string): void => {
      if (failed) return;
      failed = true;
      void stopAll().finally(() => reject(new Error(why)));
    };
    const feed = (w: Worker, lastSeed: number | null): void => {
      if (failed) return;
      if (pending.length === 0) {
        if (inFlight === 0) void stopAll().then(() => resolve(), reject);
        return;
      }
      let at = lastSeed === null ? -1 : pending.findIndex((j) => syntheticDataSeed(p.settings, j.correlationIndex, j.run) === lastSeed);
      if (at < 0) at = 0;
      const job = pending.splice(at, 1)[0];
      inFlight++;
      const request: WorkerRequest = { settings: p.settings, bottomUnits: p.bottomUnits, job };
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
        const job = p.jobs[reply.index];
        try {
          record(job, { run: reply.run, labelCorrelation: reply.labelCorrelation, kept: keepsModel(job) ? rebuildKept(p, job, reply) : undefined });
        } catch (e) {
          fail(e instanceof Error ? e.message : String(e));
          return;
        }
        feed(w, syntheticDataSeed(p.settings, job.correlationIndex, job.run));
      });
      w.on('error', (e) => fail(e.message));
      w.on('messageerror', (e) => fail(e.message));
      w.on('exit', (code) => { if (!failed && (pending.length > 0 || inFlight > 0)) fail(`a worker exited with code ${code}`); });
      feed(w, null);
    }
  });
}

/**
 * The synthetic experiment on worker threads (see syntheticExperiment for what it runs). If the
 * workers cannot start or one fails, the jobs not yet done run in this thread after a one-line
 * note; a job that fails there too throws as it would have in one thread.
 */
export async function syntheticExperimentParallel(options: SyntheticExperimentOptions = {}, parallel: ParallelOptions = {}): Promise<SyntheticResult> {
  const t0 = performance.now();
  const p = prepareSynthetic(options);
  const count = Math.min(parallel.workers ?? defaultWorkerCount(), p.jobs.length);
  const outcomes: Array<SyntheticJobOutcome | undefined> = new Array(p.jobs.length).fill(undefined);
  let done = 0;
  const record = (job: SyntheticJob, o: SyntheticJobOutcome): void => {
    outcomes[job.index] = o;
    done++;
    options.onRun?.(o.run, done, p.jobs.length);
  };
  if (count > 1) {
    try {
      await runOnWorkers(p, count, parallel.spawn ?? startWorker, record, outcomes);
    } catch (e) {
      const left = outcomes.filter((o) => o === undefined).length;
      const why = (e instanceof Error ? e.message : String(e)).replace(/\s*\n\s*/g, ' ');
      parallel.onNote?.(`synthetic: worker threads failed (${why}); running the ${left} remaining jobs in this thread`);
    }
  }
  let data: SyntheticSplit | null = null;
  for (const job of p.jobs) {
    if (outcomes[job.index] !== undefined) continue;
    if (data === null || data.dataSeed !== syntheticDataSeed(p.settings, job.correlationIndex, job.run)) {
      data = syntheticSplit(p.settings, job.correlationIndex, job.run);
    }
    const { run, model } = runSyntheticJob(p.settings, p.bottomUnits, job, data);
    record(job, { run, labelCorrelation: data.labelCorrelation, ...(keepsModel(job) && { kept: { model, testX: data.test.x } }) });
  }
  return assembleSynthetic(p, outcomes as SyntheticJobOutcome[], (performance.now() - t0) / 1000);
}
