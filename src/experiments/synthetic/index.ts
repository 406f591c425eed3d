/*
 * The MMoE paper's synthetic experiment (§3 and Figs. 4–5), one folder, entered here:
 * experiment.ts  the protocol: settings, jobs, one job's training, the single-thread run
 * sizes.ts       the sizes of the demo, --full and --paper
 * parallel.ts    the same jobs on worker threads (worker.ts), bit-identical results
 * pilot.ts       the learning-rate pilot and its choice; pilot-record.json, the recorded one
 * paper.ts       --paper end to end: pilot, then the main runs, resumable through results-file.ts
 * stacked.ts     runs of one cell trained as one stack; group-checkpoints-node.ts keeps groups in flight
 * findings.ts    cells and the paper's claims tested on them; paper-findings.ts, the converged run's, recorded
 * checkpoints.ts one result read at several lengths: checkpoints, stuck runs, train–test gap
 * labels.ts      the generator's label variance and label correlation against ρ
 * record-json.ts the opening of the recorded-data parsers (pilot and findings records)
 */
export * from './experiment.js';
export * from './sizes.js';
export * from './parallel.js';
export * from './pilot.js';
export * from './pilot-record.js';
export * from './paper.js';
export * from './findings.js';
export * from './paper-findings.js';
export * from './checkpoints.js';
export * from './labels.js';
export { SyntheticResultsFile } from './results-file.js';
export * from './stacked.js';
