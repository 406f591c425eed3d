import { parentPort } from 'node:worker_threads';
import { keepsModel, type SyntheticSplit } from './synthetic.js';
import type { JobReply, WorkerReply, WorkerRequest } from './synthetic-parallel.js';
import { groupData, runSyntheticGroup } from './synthetic-stacked.js';

/*
 * A worker thread of the parallel synthetic experiment: it trains the groups of jobs the main
 * thread sends (runs of one cell, stacked; synthetic-stacked.ts), one group at a time, and answers
 * each with its results. The last group's data sets are kept, because the pool hands a worker the
 * other models of the runs it just trained when it can.
 */

const cache = new Map<string, SyntheticSplit>();

const port = parentPort;
if (port === null) throw new Error('synthetic-worker: must run as a worker thread');
port.on('message', (msg: WorkerRequest) => {
  const data = groupData(msg.settings, msg.jobs, cache);
  const results = runSyntheticGroup(msg.settings, msg.jobs, data);
  const replies: JobReply[] = results.map(({ run, model }, r) => {
    const reply: JobReply = { index: msg.jobs[r].index, run, labelCorrelation: data[r].labelCorrelation };
    if (keepsModel(msg.jobs[r])) {
      // Copies, not views: the buffers move to the main thread, which rebuilds the model from them.
      reply.state = Object.entries(model.stateDict()).map(([name, t]) => ({ name, data: Float32Array.from(t.data), shape: t.shape.slice() }));
    }
    return reply;
  });
  const reply: WorkerReply = { replies };
  port.postMessage(reply, replies.flatMap((x) => (x.state ?? []).map((e) => e.data.buffer as ArrayBuffer)));
});
