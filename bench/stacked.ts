import os from 'node:os';
import { MMoE, fit, fitStacked, stackModels, syntheticMultiTask, unstackModels } from '../src/index.js';
import { msRange, markdownTable, ratio } from './lib/report.js';

/*
 * `npm run bench:stacked`: R paper-size MMoE models trained one by one with `fit` against the same
 * R trained as one stack with `fitStacked` (bit-identical results), per model-step, interleaved
 * round by round in one process. Usage: bench/stacked.ts [R ...] (default 1 8 32).
 */

const ROUNDS = 5;
const STEPS = 16;
const B = 128;
const widths = process.argv.slice(2).map(Number).filter((n) => Number.isInteger(n) && n > 0);
const Rs = widths.length ? widths : [1, 8, 32];
const data = (r: number): { x: ReturnType<typeof syntheticMultiTask>['x']; y: ReturnType<typeof syntheticMultiTask>['y'] } => {
  const d = syntheticMultiTask({ n: STEPS * B, correlation: 0.5, seed: 10 + r });
  return { x: d.x, y: d.y };
};
const build = (seed: number): MMoE => new MMoE({
  inputDim: 100, numExperts: 8, expertHiddenUnits: [16], towerHiddenUnits: [8],
  taskTypes: ['regression', 'regression'], taskNames: ['t1', 't2'], initStd: 0.1, seed,
});
const opts = { epochs: 1, batchSize: B, lr: 1e-3 };

const rows: string[][] = [];
for (const R of Rs) {
  const sets = Array.from({ length: R }, (_, r) => data(r));
  const alone: number[] = [], stacked: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    let t0 = performance.now();
    sets.forEach((d, r) => fit(build(r + 1), d, { ...opts, seed: r, verbose: 0 }));
    alone.push((performance.now() - t0) / (R * STEPS));
    t0 = performance.now();
    const s = stackModels(sets.map((_, r) => build(r + 1)));
    fitStacked(s, sets, { ...opts, seeds: sets.map((_, r) => r) });
    unstackModels(s);
    stacked.push((performance.now() - t0) / (R * STEPS));
  }
  const st = (a: number[]): { medianMs: number; minMs: number; maxMs: number } => {
    const v = [...a].sort((p, q) => p - q);
    return { medianMs: v[v.length >> 1], minMs: v[0], maxMs: v[v.length - 1] };
  };
  rows.push([String(R), msRange(st(alone)), msRange(st(stacked)), ratio(st(alone).medianMs / st(stacked).medianMs)]);
}
process.stdout.write(`CPU: ${os.cpus()[0]?.model ?? 'unknown'} × ${os.cpus().length}; Node ${process.version}; ${ROUNDS} rounds of ${STEPS} steps, batch ${B}\n\n`);
process.stdout.write(`${markdownTable(['R', 'fit, ms per model-step', 'fitStacked, ms per model-step', 'stacked speed-up (medians)'], rows)}\n`);
