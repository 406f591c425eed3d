import { MMoE, fit, setNumThreads, storageStats, syntheticMultiTask } from '../src/index.js';
import { lastStepPlanReport } from '../src/train/step-plan.js';

/*
 * Issue 15's "heap and arena flat over 100k steps": one `fit` of the paper-size MMoE (d 100, 8
 * experts × 16, towers 8, batch 128, Adam) for 100,000 steps (100 epochs of 1,000), its steps
 * traced and replayed as fit does by default. Every 10 epochs it prints the arena's live and top
 * bytes and the JavaScript heap (after a full collection when node runs with --expose-gc).
 *
 *   node --expose-gc --experimental-wasm-relaxed-simd --import tsx bench/memory-flat.ts [steps]
 */

setNumThreads(1);
const steps = Number(process.argv[2] ?? 100_000);
const batch = 128, perEpoch = 1000;
const epochs = Math.ceil(steps / perEpoch);
const d = syntheticMultiTask({ n: batch * perEpoch, dim: 100, correlation: 0.5, seed: 3 });
const model = new MMoE({
  inputDim: 100, numExperts: 8, expertHiddenUnits: [16], towerHiddenUnits: [8],
  taskTypes: ['regression', 'regression'], taskNames: ['t1', 't2'], initStd: 0.1, seed: 5,
});
const gc = (globalThis as { gc?: () => void }).gc;
const mib = (b: number): string => (b / 2 ** 20).toFixed(2);
const rows: string[] = [];
const sample = (epoch: number): void => {
  gc?.();
  const s = storageStats();
  rows.push(`| ${epoch * perEpoch} | ${s ? mib(s.liveBytes) : '–'} | ${s ? mib(s.topBytes) : '–'} | ${mib(process.memoryUsage().heapUsed)} |`);
  console.log(rows[rows.length - 1]);
};
console.log(`fit: ${epochs} epochs × ${perEpoch} steps, batch ${batch}${gc ? '' : ' (no --expose-gc: heap figures include garbage)'}`);
console.log('| steps | arena live MiB | arena top MiB | JS heap used MiB |\n|---|---|---|---|');
const t0 = performance.now();
fit(model, d, {
  epochs, batchSize: batch, lr: 1e-3, seed: 1, verbose: 0,
  callbacks: [{ onTrainBegin: () => sample(0), onEpochEnd: (log) => { if (log.epoch % 10 === 0 || log.epoch === 1) sample(log.epoch); } }],
});
const seconds = (performance.now() - t0) / 1000;
console.log(`${epochs * perEpoch} steps in ${seconds.toFixed(0)} s (${(1000 * seconds / (epochs * perEpoch)).toFixed(3)} ms per step); traced steps: ${JSON.stringify(lastStepPlanReport())}`);
