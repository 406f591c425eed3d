import { availableParallelism } from 'node:os';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { Tensor } from '../autograd/index.js';

/*
 * A pool of worker threads for experiments made of independent jobs, each fixed by its seeds: the
 * main thread hands out requests one at a time to whichever worker is free and gets one reply per
 * request, so the results do not depend on the number of workers or the order they finish in.
 */

/** One worker per core, at most `max`. */
export function defaultWorkers(max = 8): number {
  return Math.max(1, Math.min(availableParallelism(), max));
}

/**
 * Starts the worker module `name` (no extension) next to `here` (an import.meta.url). Built (.js),
 * it starts directly; under tsx or vitest (.ts) Node 20 cannot start a .ts worker itself, so a
 * CommonJS bootstrap registers tsx's require hook and then loads it.
 */
export function startModuleWorker(here: string, name: string): Worker {
  if (here.endsWith('.js')) return new Worker(new URL(`./${name}.js`, here));
  const file = fileURLToPath(new URL(`./${name}.ts`, here));
  const tsx = createRequire(here).resolve('tsx/cjs/api');
  return new Worker(`require(${JSON.stringify(tsx)}).register();\nrequire(${JSON.stringify(file)});`, { eval: true });
}

/** An error thrown by the caller's `onReply` or `pick`: passed through as such, not taken for a worker failure. */
export class ReplyHandlerError extends Error {
  constructor(cause: unknown) {
    super(cause instanceof Error ? cause.message : String(cause), { cause });
  }
}

export interface RunOnWorkersOptions<Req> {
  /**
   * Which pending request a worker takes next (an index into `pending`; out of range takes the
   * first): `last` is the one it just answered (undefined at its first), `running` those the other
   * workers hold now. Lets a worker stay on the data it already built, and workers start on
   * different data instead of each building the same.
   */
  pick?(pending: readonly Req[], last: Req | undefined, running: readonly Req[]): number;
}

/**
 * Sends every request to one of `count` workers (each gets the next request when it replies) and
 * calls `onReply` with each reply and its request. Resolves when every request has its reply;
 * rejects on the first failure after stopping every worker: a worker error or early exit with an
 * Error, `onReply` throwing with a ReplyHandlerError whose cause is what it threw. Requests
 * answered before a failure have had their onReply.
 */
export function runOnWorkers<Req, Rep>(
  requests: readonly Req[], count: number, spawn: () => Worker, onReply: (reply: Rep, request: Req) => void,
  opts: RunOnWorkersOptions<Req> = {},
): Promise<void> {
  const pending = requests.slice();
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
    // Each worker's request: the one in flight while busy, else the last it answered.
    const slots: Array<{ req?: Req; busy: boolean }> = [];
    const feed = (w: Worker, current: { req?: Req; busy: boolean }): void => {
      if (failed) return;
      if (pending.length === 0) {
        if (inFlight === 0) void stopAll().then(() => resolve(), reject);
        return;
      }
      const running = slots.filter((c) => c.busy).map((c) => c.req as Req);
      let at = 0;
      try {
        if (opts.pick) at = opts.pick(pending, current.req, running);
      } catch (e) {
        fail(new ReplyHandlerError(e));
        return;
      }
      if (!(at >= 0 && at < pending.length)) at = 0;
      const next = pending.splice(at, 1)[0];
      inFlight++;
      current.req = next;
      current.busy = true;
      w.postMessage(next);
    };
    // Fixed before the loop: feed() takes a request off `pending` for each worker started.
    const starting = Math.min(count, pending.length);
    if (starting === 0) { resolve(); return; }
    for (let i = 0; i < starting; i++) {
      if (failed) return;
      let w: Worker;
      try {
        w = spawn();
      } catch (e) {
        fail(e instanceof Error ? e.message : String(e));
        return;
      }
      workers.push(w);
      const current: { req?: Req; busy: boolean } = { busy: false };
      slots.push(current);
      w.on('message', (reply: Rep) => {
        if (failed) return; // the caller's fallback reruns whatever was in flight
        inFlight--;
        current.busy = false;
        try {
          onReply(reply, current.req as Req);
        } catch (e) {
          fail(new ReplyHandlerError(e));
          return;
        }
        feed(w, current);
      });
      w.on('error', (e) => fail(e.message));
      w.on('messageerror', (e) => fail(e.message));
      w.on('exit', (code) => { if (!failed && (pending.length > 0 || inFlight > 0)) fail(`a worker exited with code ${code}`); });
      feed(w, current);
    }
  });
}

/** A state dict as a worker posts it: plain copies whose buffers move to the main thread. */
export type EncodedStateDict = Array<{ name: string; data: Float32Array; shape: number[] }>;

/** Copies, not views: the buffers are transferred, and a view's buffer may be shared with others. */
export function encodeStateDict(state: Record<string, Tensor>): EncodedStateDict {
  return Object.entries(state).map(([name, t]) => ({ name, data: Float32Array.from(t.data), shape: t.shape.slice() }));
}

/** The buffers to transfer with postMessage, so the weights are moved rather than cloned. */
export function stateTransferList(state: EncodedStateDict | undefined): ArrayBuffer[] {
  return (state ?? []).map((e) => e.data.buffer as ArrayBuffer);
}

export function decodeStateDict(state: EncodedStateDict): Record<string, Tensor> {
  return Object.fromEntries(state.map((e) => [e.name, new Tensor(e.data, e.shape)]));
}

export interface RunJobsOptions<Job, Req, Rep> {
  /** Worker threads; 1 or fewer runs every job in this thread. */
  workers: number;
  /** Whether a job already has its result (it is neither sent nor run here). */
  isDone(job: Job): boolean;
  request(job: Job): Req;
  spawn(): Worker;
  /** Records a worker's reply; what it throws stops the run and is rethrown as is. */
  onReply(reply: Rep, request: Req): void;
  /** Runs, in this thread and in order, the jobs still without a result. */
  runHere(jobs: Job[]): void;
  pick?: RunOnWorkersOptions<Req>['pick'];
  /** Names the experiment and its jobs in the fallback note: `census: … the 3 remaining runs …`. */
  name: string;
  noun: string;
  onNote?(line: string): void;
}

/**
 * The experiments' one job runner: the jobs not yet done go to `workers` worker threads; if the
 * workers cannot start or one fails, the jobs still without a result run in this thread after a
 * one-line note. A job fixed by its seeds gives the same result in any thread, so the fallback
 * changes the time, never the result.
 */
export async function runJobs<Job, Req, Rep>(jobs: readonly Job[], o: RunJobsOptions<Job, Req, Rep>): Promise<void> {
  const left = (): Job[] => jobs.filter((j) => !o.isDone(j));
  const count = Math.min(o.workers, left().length);
  if (count > 1) {
    try {
      await runOnWorkers<Req, Rep>(left().map((j) => o.request(j)), count, o.spawn, o.onReply, { pick: o.pick });
    } catch (e) {
      if (e instanceof ReplyHandlerError) throw e.cause;
      const why = (e instanceof Error ? e.message : String(e)).replace(/\s*\n\s*/g, ' ');
      o.onNote?.(`${o.name}: worker threads failed (${why}); running the ${left().length} remaining ${o.noun} in this thread`);
    }
  }
  o.runHere(left());
}
