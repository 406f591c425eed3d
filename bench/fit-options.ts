import os from 'node:os';
import { MMoE, fit, fitAsync, manualSeed, optim, syntheticMultiTask, type FitAsyncOptions } from '../src/index.js';
import { fmt, markdownTable, msRange, ratio } from './lib/report.js';

/*
 * `npm run bench:fit`: what fit's options cost, each variant timed against plain `fit` in one
 * process, interleaved round by round (so load drifts hit every variant alike). Same data, model
 * and seeds in every variant; 2 epochs of 64 batches of 64 rows on the synthetic MMoE set-up.
 */

const ROUNDS = 9;
const { x, y } = syntheticMultiTask({ n: 4096, correlation: 0.5, seed: 1 });
const model = (): MMoE => {
  manualSeed(0);
  return new MMoE({
    inputDim: 100, numExperts: 8, expertHiddenUnits: [16], towerHiddenUnits: [8],
    taskTypes: ['regression', 'regression'], taskNames: ['t1', 't2'], initStd: 0.1, seed: 1,
  });
};
const base: FitAsyncOptions = { epochs: 2, batchSize: 64, lr: 1e-3, verbose: 0, seed: 0 };

const variants: Array<[string, () => Promise<unknown>]> = [
  ['fit', async () => fit(model(), { x, y }, base)],
  ["fitAsync yieldEvery 'batch'", () => fitAsync(model(), { x, y }, { ...base, yieldEvery: 'batch' })],
  ["fitAsync yieldEvery 'auto' (16 ms)", () => fitAsync(model(), { x, y }, base)],
  ['fit sampleWeight [N]', async () => fit(model(), { x, y }, { ...base, sampleWeight: new Float32Array(4096).fill(1) })],
  ['fit lrScheduler (StepLR)', async () => fit(model(), { x, y }, { ...base, lrScheduler: (o) => new optim.StepLR(o, 1) })],
  ["fit taskWeighting 'uncertainty'", async () => fit(model(), { x, y }, { ...base, taskWeighting: 'uncertainty' })],
  ["fit taskWeighting 'gradnorm'", async () => fit(model(), { x, y }, { ...base, taskWeighting: 'gradnorm' })],
];

const times = variants.map(() => [] as number[]);
for (let r = 0; r < ROUNDS; r++) {
  for (let v = 0; v < variants.length; v++) {
    const t0 = performance.now();
    await variants[v][1]();
    times[v].push(performance.now() - t0);
  }
}
const stats = (a: number[]): { medianMs: number; minMs: number; maxMs: number } => {
  const s = [...a].sort((p, q) => p - q);
  return { medianMs: s[s.length >> 1], minMs: s[0], maxMs: s[s.length - 1] };
};
const ref = stats(times[0]).medianMs;
process.stdout.write(`CPU: ${os.cpus()[0]?.model ?? 'unknown'} × ${os.cpus().length}; Node ${process.version}; ${ROUNDS} rounds\n\n`);
process.stdout.write(`${markdownTable(
  ['variant', 'ms per fit: median (min–max)', 'vs fit (medians)'],
  variants.map(([name], v) => [name, msRange(stats(times[v])), ratio(stats(times[v]).medianMs / ref)]),
)}\n`);
process.stdout.write(`\nfit: ${fmt((2 * 4096) / (ref / 1000))} samples/s\n`);
