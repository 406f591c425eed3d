import { parentPort } from 'node:worker_threads';
import { runSyntheticJob, splitKey, syntheticSplit, keepsModel, type SyntheticSplit } from './experiment.js';
import type { WorkerReply, WorkerRequest } from './parallel.js';
import { encodeStateDict, stateTransferList } from '../job-runner.js';

/*
 * A worker thread of the parallel synthetic experiment: it trains the jobs the main thread sends,
 * one at a time, and answers each with its result. The last data set is kept, because the pool
 * hands a worker the other models of the data set it just used when it can.
 */

let cached: SyntheticSplit | null = null;

const port = parentPort;
if (port === null) throw new Error('synthetic worker: must run as a worker thread');
port.on('message', (msg: WorkerRequest) => {
  if (cached === null || cached.key !== splitKey(msg.settings, msg.job)) cached = syntheticSplit(msg.settings, msg.job);
  const { run, model } = runSyntheticJob(msg.settings, msg.job, cached);
  const reply: WorkerReply = { index: msg.job.index, run, labelCorrelation: cached.labelCorrelation };
  if (keepsModel(msg.job)) reply.state = encodeStateDict(model.stateDict());
  port.postMessage(reply, stateTransferList(reply.state));
});
