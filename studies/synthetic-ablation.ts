/*
 * Why does Shared-Bottom beat both mixtures in the first full `--paper` run (8,192 training rows; docs/paper/first-run-8192-rows/results.md), where
 * the paper finds the reverse? This study changes one thing at a time against the --paper setup
 * and reports, per (condition, model, ρ), the final test and training MSE over paired runs, and
 * how often MMoE beats Shared-Bottom on the same data set and initialisation.
 *
 *   npx tsx --experimental-wasm-relaxed-simd studies/synthetic-ablation.ts --conditions paper,lr1e-3 --out a.jsonl
 *   npx tsx studies/synthetic-ablation.ts --summarize a.jsonl b.jsonl > docs/paper/ablation.md
 *
 * Each condition's rows are one JSON line per run; runs of one index share data and init across
 * models and ρ, as in the experiment itself.
 */
import { appendFileSync, readFileSync } from 'node:fs';
import { Tensor } from '../src/autograd/index.js';
import { syntheticMultiTask } from '../src/data/synthetic.js';
import { mean, median, wilcoxonSignedRank } from '../src/experiments/stats.js';
import {
  buildSyntheticModel, resolveSyntheticSettings, sineParameters, syntheticDataSeed,
  type SyntheticModelName, type SyntheticSettings,
} from '../src/experiments/synthetic/experiment.js';
import { PAPER_SYNTHETIC } from '../src/experiments/synthetic/sizes.js';
import { evaluate, fit } from '../src/train/trainer.js';

interface Condition {
  what: string;
  runs: number;
  trainSize: number;
  epochs: number;
  lr: number;
  sineSeed: number;
  c: number;
  batchSize: number;
}

const PAPER: Condition = { what: 'the first --paper setup (8,192 rows, batch 32, 16 epochs = 4,096 steps, lr 1e-2)', runs: 8, trainSize: 8192, epochs: 16, lr: 1e-2, sineSeed: 0, c: 1, batchSize: 32 };

const CONDITIONS: Record<string, Condition> = {
  paper: PAPER,
  'lr1e-3': { ...PAPER, what: 'Adam lr 1e-3 (the grid\'s middle value)', lr: 1e-3 },
  rows64k: { ...PAPER, what: '65,536 training rows, 2 epochs (same 4,096 steps, 8× the data)', trainSize: 65536, epochs: 2 },
  long: { ...PAPER, what: '65,536 rows, 8 epochs = 16,384 steps at lr 1e-3', runs: 4, trainSize: 65536, epochs: 8, lr: 1e-3 },
  sine1: { ...PAPER, what: 'another draw of α, β (sine seed 1)', sineSeed: 1 },
  sine2: { ...PAPER, what: 'another draw of α, β (sine seed 2)', sineSeed: 2 },
  c3: { ...PAPER, what: 'weight scale c = 3', c: 3 },
  b128: { ...PAPER, what: '65,536 rows, batch 128, 8 epochs = 4,096 steps', runs: 6, trainSize: 65536, epochs: 8, batchSize: 128 },
  'b128-lr1e-3': { ...PAPER, what: '65,536 rows, batch 128, 8 epochs = 4,096 steps at lr 1e-3', runs: 6, trainSize: 65536, epochs: 8, batchSize: 128, lr: 1e-3 },
};

const MODELS: SyntheticModelName[] = ['mmoe', 'omoe', 'shared-bottom'];
const CORRELATIONS = [0.5, 1];

interface Row { condition: string; model: SyntheticModelName; correlation: number; run: number; test: number; train: number; seconds: number }

function rows(t: Tensor, start: number, end: number): Tensor {
  const w = t.size / t.shape[0];
  return new Tensor(t.data.subarray(start * w, end * w), [end - start, ...t.shape.slice(1)]);
}

function meanMse(model: Parameters<typeof evaluate>[0], data: { x: Tensor; y: Tensor }): number {
  const ev = evaluate(model, data, { metrics: ['mse'], batchSize: 2048 });
  return (ev.tasks.task1.mse! + ev.tasks.task2.mse!) / 2;
}

function settingsOf(c: Condition): SyntheticSettings {
  return resolveSyntheticSettings({
    runs: c.runs, trainSize: c.trainSize, validationSize: 1, testSize: PAPER_SYNTHETIC.testSize, batchSize: c.batchSize,
    epochs: c.epochs, lr: c.lr, correlations: CORRELATIONS, sineSeed: c.sineSeed,
  });
}

function runCondition(name: string, out: string): void {
  const c = CONDITIONS[name];
  if (c === undefined) throw new RangeError(`synthetic-ablation: unknown condition '${name}'; expected ${Object.keys(CONDITIONS).join(', ')}`);
  const s = settingsOf(c);
  const { alpha, beta } = sineParameters(s);
  for (const correlation of CORRELATIONS) {
    for (let run = 0; run < c.runs; run++) {
      const seed = syntheticDataSeed(s, 'main', run);
      const d = syntheticMultiTask({ n: c.trainSize + s.testSize, dim: s.dim, correlation, seed, alpha, beta, c: c.c });
      const train = { x: rows(d.x, 0, c.trainSize), y: rows(d.y, 0, c.trainSize) };
      const test = { x: rows(d.x, c.trainSize, c.trainSize + s.testSize), y: rows(d.y, c.trainSize, c.trainSize + s.testSize) };
      for (const model of MODELS) {
        const t0 = performance.now();
        const m = buildSyntheticModel(s, { model, run, phase: 'main' });
        fit(m, train, { epochs: c.epochs, batchSize: s.batchSize, optimizer: 'adam', lr: c.lr, seed: seed + 17, verbose: 0 });
        const row: Row = { condition: name, model, correlation, run, test: meanMse(m, test), train: meanMse(m, train), seconds: (performance.now() - t0) / 1000 };
        appendFileSync(out, JSON.stringify(row) + '\n');
        process.stderr.write(`${name} ${model} ρ=${correlation} run ${run}: test ${row.test.toFixed(4)} train ${row.train.toFixed(4)} (${row.seconds.toFixed(1)} s)\n`);
      }
    }
  }
}

function summarize(files: string[]): void {
  const all: Row[] = files.flatMap((f) => readFileSync(f, 'utf8').split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Row));
  const names = Object.keys(CONDITIONS).filter((n) => all.some((r) => r.condition === n));
  console.log('| condition | ρ | runs | MMoE test | OMoE test | Shared-Bottom test | MMoE train | Shared-Bottom train | MMoE beats SB | Wilcoxon p (MMoE < SB) |');
  console.log('| --- | --: | --: | --: | --: | --: | --: | --: | --: | --: |');
  for (const name of names) {
    for (const correlation of CORRELATIONS) {
      const cell = (model: SyntheticModelName) => all.filter((r) => r.condition === name && r.model === model && r.correlation === correlation).sort((a, b) => a.run - b.run);
      // Only the runs every model finished, so that each column averages the same data sets.
      const all3 = [cell('mmoe'), cell('omoe'), cell('shared-bottom')];
      const paired = new Set(all3[0].map((r) => r.run).filter((run) => all3.every((c) => c.some((r) => r.run === run))));
      const [mm, om, sb] = all3.map((c) => c.filter((r) => paired.has(r.run)));
      const n = paired.size;
      if (n === 0) continue;
      const a = mm.map((r) => r.test), b = sb.map((r) => r.test);
      const wins = a.filter((v, i) => v < b[i]).length;
      const p = n > 1 ? wilcoxonSignedRank(a, b, 'less').pValue : NaN;
      const f = (v: Row[], k: 'test' | 'train') => (v.length ? `${mean(v.map((r) => r[k])).toFixed(4)} (med ${median(v.map((r) => r[k])).toFixed(4)})` : '—');
      console.log(`| ${CONDITIONS[name].what} | ${correlation} | ${n} | ${f(mm, 'test')} | ${f(om, 'test')} | ${f(sb, 'test')} | ${f(mm, 'train')} | ${f(sb, 'train')} | ${wins}/${n} | ${p.toPrecision(2)} |`);
    }
  }
}

const argv = process.argv.slice(2);
if (argv[0] === '--summarize') summarize(argv.slice(1));
else {
  const ci = argv.indexOf('--conditions'), oi = argv.indexOf('--out');
  if (ci < 0 || oi < 0) throw new Error('usage: synthetic-ablation.ts --conditions a,b --out FILE | --summarize FILE…');
  for (const name of argv[ci + 1].split(',')) runCondition(name, argv[oi + 1]);
}
