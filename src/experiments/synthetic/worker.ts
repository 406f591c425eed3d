import { parentPort } from 'node:worker_threads';
import { keepsModel, type SyntheticSplit } from './experiment.js';
import type { JobReply, WorkerReply, WorkerRequest } from './parallel.js';
import { groupData, runSyntheticGroup } from './stacked.js';
import { groupCheckpointDir } from './group-checkpoints-node.js';
import { encodeStateDict, stateTransferList } from '../job-runner.js';

/*
 * A worker thread of the parallel synthetic experiment: it trains the groups of jobs the main
 * thread sends (runs of one cell, stacked; stacked.ts), one group at a time, and answers each with
 * its results. The last group's data sets are kept, because the pool hands a worker the other
 * models of the runs it just trained when it can.
 */

const cache = new Map<string, SyntheticSplit>();

const port = parentPort;
if (port === null) throw new Error('synthetic worker: must run as a worker thread');
port.on('message', (msg: WorkerRequest) => {
  const data = groupData(msg.settings, msg.jobs, cache);
  const replies: JobReply[] = runSyntheticGroup(msg.settings, msg.jobs, data, msg.checkpointDir === undefined ? undefined : groupCheckpointDir(msg.checkpointDir)).map(({ run, model }, r) => {
    const reply: JobReply = { index: msg.jobs[r].index, run, labelCorrelation: data[r].labelCorrelation };
    if (keepsModel(msg.jobs[r])) reply.state = encodeStateDict(model.stateDict());
    return reply;
  });
  const reply: WorkerReply = { replies };
  port.postMessage(reply, replies.flatMap((x) => stateTransferList(x.state)));
});
