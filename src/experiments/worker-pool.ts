import { availableParallelism } from 'node:os';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';

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

/**
 * Sends every request to one of `count` workers (each gets the next request when it replies) and
 * calls `onReply` with each reply and its request. Resolves when every request has its reply;
 * rejects on the first failure (a worker error, an early exit, or `onReply` throwing), after
 * stopping every worker. Requests answered before a failure have had their onReply.
 */
export function runOnWorkers<Req, Rep>(requests: readonly Req[], count: number, spawn: () => Worker, onReply: (reply: Rep, request: Req) => void): Promise<void> {
  const pending = requests.slice();
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
    const feed = (w: Worker, current: { req?: Req }): void => {
      if (failed) return;
      const next = pending.shift();
      if (next === undefined) {
        if (inFlight === 0) void stopAll().then(() => resolve(), reject);
        return;
      }
      inFlight++;
      current.req = next;
      w.postMessage(next);
    };
    const starting = Math.min(count, pending.length);
    if (starting === 0) { resolve(); return; }
    for (let i = 0; i < starting; i++) {
      let w: Worker;
      try {
        w = spawn();
      } catch (e) {
        fail(e instanceof Error ? e.message : String(e));
        return;
      }
      workers.push(w);
      const current: { req?: Req } = {};
      w.on('message', (reply: Rep) => {
        if (failed) return;
        inFlight--;
        try {
          onReply(reply, current.req as Req);
        } catch (e) {
          fail(e instanceof Error ? e.message : String(e));
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
