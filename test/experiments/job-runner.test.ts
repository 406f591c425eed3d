import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { ReplyHandlerError, decodeStateDict, encodeStateDict, runJobs, runOnWorkers } from '../../src/experiments/job-runner.js';
import { tensor } from '../../src/autograd/index.js';

/** A worker that answers each number n with { n, worker: its thread id }. */
const echo = (): Worker => new Worker(
  "const { parentPort, threadId } = require('node:worker_threads'); parentPort.on('message', (n) => parentPort.postMessage({ n, worker: threadId }));",
  { eval: true },
);

describe('runOnWorkers', () => {
  it('answers every request once, whatever the worker count', async () => {
    for (const count of [1, 2, 3]) {
      const seen: number[] = [];
      await runOnWorkers<number, { n: number }>([1, 2, 3, 4, 5], count, echo, (r, req) => { expect(r.n).toBe(req); seen.push(r.n); });
      expect(seen.sort()).toEqual([1, 2, 3, 4, 5]);
    }
  });

  it('an error thrown by onReply rejects as a ReplyHandlerError carrying it, not as a worker failure', async () => {
    const boom = new RangeError('disk full');
    const p = runOnWorkers<number, { n: number }>([1, 2, 3], 2, echo, () => { throw boom; });
    const e = await p.catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ReplyHandlerError);
    expect((e as ReplyHandlerError).cause).toBe(boom);
  });

  it('an error thrown by pick rejects as a ReplyHandlerError carrying it, and starts no more workers', async () => {
    const boom = new TypeError('bad pick');
    let spawned = 0;
    const spawn = (): Worker => { spawned++; return echo(); };
    const e = await runOnWorkers<number, { n: number }>([1, 2, 3], 3, spawn, () => undefined, { pick: () => { throw boom; } }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ReplyHandlerError);
    expect((e as ReplyHandlerError).cause).toBe(boom);
    expect(spawned).toBe(1);
  });

  it('a worker that dies rejects with a plain Error', async () => {
    const e = await runOnWorkers([1], 1, () => new Worker('process.exit(3)', { eval: true }), () => undefined).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(Error);
    expect(e).not.toBeInstanceOf(ReplyHandlerError);
    expect((e as Error).message).toMatch(/exited with code 3/);
  });

  it('pick keeps a worker on requests like its last one', async () => {
    // Requests are [group, i]; with one worker, pick must serve each group's requests together.
    const reqs: Array<[string, number]> = [['a', 0], ['b', 0], ['a', 1], ['b', 1], ['a', 2]];
    const order: string[] = [];
    await runOnWorkers<[string, number], { n: [string, number] }>(reqs, 1, echo, (r) => order.push(r.n[0]), {
      pick: (pending, last) => pending.findIndex((q) => q[0] === last?.[0]),
    });
    expect(order).toEqual(['a', 'a', 'a', 'b', 'b']);
  });

  it('pick sees what the other workers hold, so two workers start on different groups', async () => {
    const reqs: Array<[string, number]> = [['a', 0], ['a', 1], ['b', 0], ['b', 1]];
    const byWorker = new Map<number, string[]>();
    const firsts: Array<[string, number] | undefined> = [];
    await runOnWorkers<[string, number], { n: [string, number]; worker: number }>(reqs, 2, echo,
      (r) => byWorker.set(r.worker, [...(byWorker.get(r.worker) ?? []), r.n[0]]), {
        pick: (pending, last, running) => {
          if (last === undefined) firsts.push(running[0]);
          const same = pending.findIndex((q) => q[0] === last?.[0]);
          return same >= 0 ? same : pending.findIndex((q) => !running.some((h) => h[0] === q[0]));
        },
      });
    expect(firsts).toEqual([undefined, ['a', 0]]);
    // Which worker then takes a1 and b1 depends on timing; where each started does not.
    expect([...byWorker.values()].map((g) => g[0]).sort()).toEqual(['a', 'b']);
  });
});

describe('runJobs', () => {
  const base = { name: 'demo', noun: 'jobs', request: (j: number) => j };
  it('sends the jobs not done to workers and runs none here when they all answer', async () => {
    const done = new Set<number>([2]);
    const here: number[][] = [];
    await runJobs<number, number, { n: number }>([1, 2, 3, 4], {
      ...base, workers: 2, spawn: echo, isDone: (j) => done.has(j), onReply: (r) => done.add(r.n), runHere: (l) => here.push(l),
    });
    expect([...done].sort()).toEqual([1, 2, 3, 4]);
    expect(here).toEqual([[]]);
  });
  it('falls back to this thread with one note naming the experiment when workers fail', async () => {
    const notes: string[] = [];
    const here: number[][] = [];
    await runJobs<number, number, unknown>([1, 2, 3], {
      ...base, workers: 2, spawn: () => { throw new Error('no threads'); }, isDone: () => false, onReply: () => undefined,
      runHere: (l) => here.push(l), onNote: (l) => notes.push(l),
    });
    expect(notes).toEqual(['demo: worker threads failed (no threads); running the 3 remaining jobs in this thread']);
    expect(here).toEqual([[1, 2, 3]]);
  });
  it('rethrows what onReply throws, as itself', async () => {
    const boom = new RangeError('disk full');
    const e = await runJobs<number, number, unknown>([1, 2], {
      ...base, workers: 2, spawn: echo, isDone: () => false, onReply: () => { throw boom; }, runHere: () => undefined,
    }).catch((x: unknown) => x);
    expect(e).toBe(boom);
  });
});

describe('encodeStateDict / decodeStateDict', () => {
  it('round-trips names, shapes and values through copies', () => {
    const w = tensor([[1, 2, 3], [4, 5, 6]]);
    const enc = encodeStateDict({ 'linears.0.weight': w });
    expect(enc[0].data.buffer).not.toBe(w.data.buffer);
    const dec = decodeStateDict(enc);
    expect(dec['linears.0.weight'].shape).toEqual([2, 3]);
    expect(Array.from(dec['linears.0.weight'].data)).toEqual([1, 2, 3, 4, 5, 6]);
  });
});
