/*
 * The projected wall time of the full `mmoe-ts synthetic --paper` run (docs/paper/protocol.md),
 * from a small measured run: one stack of 8 runs per model trained for one epoch (2,048 steps) at
 * the --paper sizes in this thread, then the protocol's run-steps divided by those rates, spread
 * over two workers, for each length the stopping rule can pick.
 *
 *   npx tsx --experimental-wasm-relaxed-simd studies/paper-projection.ts
 *
 * Say whether the machine was idle: on a shared machine the rates (and so the projection) are
 * the loaded ones.
 */
import { PILOT_RUNS, ROBUSTNESS_DRAWS, ROBUSTNESS_RUNS, SECTION_33_BOTTOM_UNITS, candidateLengths } from '../src/experiments/synthetic/index.js';
import {
  LEARNING_RATE_GRID, PAPER_FIRST_EPOCHS, PAPER_SYNTHETIC, groupData, resolveSyntheticSettings, runSyntheticGroup, stepsPerEpoch, syntheticJobs,
  type SyntheticSettings,
} from '../src/experiments/synthetic/index.js';

const WORKERS = 2;
const base = resolveSyntheticSettings({ ...PAPER_SYNTHETIC, runs: 8, epochs: 1, correlations: [0.5], lr: 1e-3 });
const steps = stepsPerEpoch(base);
const rate: Record<string, number> = {};
let generate = 0;
const kinds: Array<[string, SyntheticSettings]> = [
  ['mmoe', { ...base, models: ['mmoe'] }], ['omoe', { ...base, models: ['omoe'] }], ['shared-bottom', { ...base, models: ['shared-bottom'] }],
  ['shared-bottom-16', { ...base, models: ['shared-bottom'], bottomUnits: SECTION_33_BOTTOM_UNITS, bottomRule: 'given' }],
];
for (const [name, s] of kinds) {
  const jobs = syntheticJobs(s);
  const t0 = performance.now();
  const data = groupData(s, jobs, new Map());
  const t1 = performance.now();
  runSyntheticGroup(s, jobs, data);
  const t2 = performance.now();
  generate += (t1 - t0) / 1000 / jobs.length;
  rate[name] = (jobs.length * steps) / ((t2 - t1) / 1000);
  console.log(`${name}: ${rate[name].toFixed(0)} run-steps/s, ${((t1 - t0) / 1000 / jobs.length).toFixed(2)} s per data set`);
}
generate /= kinds.length;

const rhos = 3, models = 3, runs = PAPER_SYNTHETIC.runs;
const perModelStep = 1 / rate.mmoe + 1 / rate.omoe + 1 / rate['shared-bottom'];
const cap = PAPER_SYNTHETIC.epochs * steps;
const pilot = PILOT_RUNS * rhos * LEARNING_RATE_GRID.length * cap * perModelStep;
// Data sets: the pilots' per (ρ, run) for each (model, rate) group (§3.3's included), then one per (ρ, run) per table.
const dataSets = PILOT_RUNS * rhos * (models + 1) * LEARNING_RATE_GRID.length + rhos * (runs + ROBUSTNESS_DRAWS.length * ROBUSTNESS_RUNS + runs);
const h = (s: number): string => `${(s / 3600).toFixed(1)} h`;
console.log('\n| length L | pilot | main | robustness | §3.3 | data | CPU time | wall, 2 workers |');
console.log('| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
for (const e of candidateLengths(PAPER_FIRST_EPOCHS, PAPER_SYNTHETIC.epochs)) {
  const L = e * steps;
  const main = runs * rhos * L * perModelStep;
  const robust = ROBUSTNESS_DRAWS.length * ROBUSTNESS_RUNS * rhos * L * perModelStep;
  // §3.3: its own pilot (to the cap), then its runs.
  const s33 = (PILOT_RUNS * rhos * LEARNING_RATE_GRID.length * cap + runs * rhos * L) / rate['shared-bottom-16'];
  const data = dataSets * generate;
  const cpu = pilot + main + robust + s33 + data;
  console.log(`| ${L} | ${h(pilot)} | ${h(main)} | ${h(robust)} | ${h(s33)} | ${h(data)} | ${h(cpu)} | **${h(cpu / WORKERS)}** |`);
}
