import { parentPort } from 'node:worker_threads';
import {
  keepsModel, runSyntheticJob, syntheticDataSeed, syntheticSplit,
  type SyntheticJob, type SyntheticSettings, type SyntheticSplit,
} from './synthetic.js';
import type { WorkerReply, WorkerRequest } from './synthetic-parallel.js';

/*
 * A worker thread of the parallel synthetic experiment: it trains the jobs the main thread sends,
 * one at a time, and answers each with its result. The last data set is kept, because the pool
 * hands a worker the other models of the data set it just used when it can.
 */

let cached: SyntheticSplit | null = null;

function data(s: SyntheticSettings, job: SyntheticJob): SyntheticSplit {
  if (cached === null || cached.dataSeed !== syntheticDataSeed(s, job.correlationIndex, job.run)) {
    cached = syntheticSplit(s, job.correlationIndex, job.run);
  }
  return cached;
}

const port = parentPort;
if (port === null) throw new Error('synthetic-worker: must run as a worker thread');
port.on('message', (msg: WorkerRequest) => {
  const d = data(msg.settings, msg.job);
  const { run, model } = runSyntheticJob(msg.settings, msg.bottomUnits, msg.job, d);
  const reply: WorkerReply = { index: msg.job.index, run, labelCorrelation: d.labelCorrelation };
  if (keepsModel(msg.job)) {
    // Copies, not views: the buffers move to the main thread, which rebuilds the model from them.
    reply.state = Object.entries(model.stateDict()).map(([name, t]) => ({ name, data: Float32Array.from(t.data), shape: t.shape.slice() }));
    reply.testX = { data: Float32Array.from(d.test.x.data), shape: d.test.x.shape.slice() };
  }
  const transfer = [...(reply.state ?? []).map((e) => e.data.buffer as ArrayBuffer), ...(reply.testX ? [reply.testX.data.buffer as ArrayBuffer] : [])];
  port.postMessage(reply, transfer);
});
