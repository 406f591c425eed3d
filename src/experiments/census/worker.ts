import { parentPort } from 'node:worker_threads';
import type { CensusTaskGroup } from '../../data/census.js';
import { prepareCensusGroup, runCensusJob, type CensusWorkerReply, type CensusWorkerRequest, type PreparedCensusGroup } from './experiment.js';
import { encodeStateDict, stateTransferList } from '../job-runner.js';

/*
 * A worker thread of the census experiment: it trains the runs the main thread sends, one at a
 * time, and answers each with its result. Each group's data is loaded once per worker.
 */

const port = parentPort;
if (port === null) throw new Error('census worker: must run as a worker thread');
const groups = new Map<CensusTaskGroup, Promise<PreparedCensusGroup>>();
port.on('message', (msg: CensusWorkerRequest) => {
  void (async () => {
    let p = groups.get(msg.job.group);
    if (!p) { p = prepareCensusGroup(msg.ctx, msg.job.group); groups.set(msg.job.group, p); }
    const { run, model } = runCensusJob(msg.ctx, await p, msg.job);
    const reply: CensusWorkerReply = { run };
    if (msg.keep) reply.state = encodeStateDict(model.stateDict());
    port.postMessage(reply, stateTransferList(reply.state));
  })().catch((e: unknown) => {
    // An unhandled rejection would not reach the main thread as an 'error' event; throwing from a
    // timer does, so the pool stops and the remaining runs fall back to the main thread.
    setTimeout(() => { throw e; });
  });
});
