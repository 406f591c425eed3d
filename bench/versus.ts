import { existsSync } from 'node:fs';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { fmt, markdownTable, msRange, ratio } from './lib/report.js';
import { interleave, summarize, type Timing } from './lib/timing.js';

/*
 * `tsx bench/versus.ts <other-checkout> [--synthetic-runs N]`: this tree's engine against another
 * checkout's (say main before a change), in one process, interleaved round by round, on the same
 * workloads built from each tree's own public modules: the MMoE step at the bench shape, the
 * paper-size MMoE step through fit's inner loop, an Adam step over the paper model's parameters,
 * and (N > 0) whole synthetic training runs at the demo settings, alternating trees. Ratios are
 * other ÷ this (> 1: this tree is faster). The other checkout needs its node_modules (or a link).
 * Two trees with the WebAssembly backend each start their own worker pool in this one process,
 * and the pools contend on products large enough to be split (the bench-shape step), so both run
 * single-threaded here unless `--threads N` says otherwise (trees without setNumThreads ignore it).
 */

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const otherRoot = args[0] && !args[0].startsWith('--') ? resolve(args[0]) : null;
if (!otherRoot || !existsSync(join(otherRoot, 'src', 'index.ts'))) {
  console.error('usage: tsx bench/versus.ts <other-checkout> [--synthetic-runs N] [--threads N]   (a tree with src/index.ts)');
  process.exit(2);
}
const runsFlag = args.indexOf('--synthetic-runs');
const syntheticRuns = runsFlag >= 0 ? Number(args[runsFlag + 1]) : 2;
const threadsFlag = args.indexOf('--threads');
const threads = threadsFlag >= 0 ? Number(args[threadsFlag + 1]) : 1;
const thisRoot = resolve(here, '..');

/* eslint-disable @typescript-eslint/no-explicit-any */
type Lib = Record<string, any>;
async function load(root: string): Promise<Lib> {
  const m = (p: string): Promise<Lib> => import(pathToFileURL(join(root, p)).href);
  const [index, losses, optim, models, data, dataset, loss, synthetic] = await Promise.all([
    m('src/index.ts'), m('src/nn/losses.ts'), m('src/nn/optim/index.ts'), m('src/models/index.ts'),
    m('src/data/synthetic.ts'), m('src/train/dataset.ts'), m('src/train/loss.ts'), m(existsSync(join(root, 'src/experiments/synthetic/experiment.ts')) ? 'src/experiments/synthetic/experiment.ts' : 'src/experiments/synthetic.ts'),
  ]);
  return { ...index, ...losses, ...optim, ...models, ...data, ...dataset, ...loss, synthetic };
}

/** The bench-shape step: [512, 256], 8 experts Linear(256→64)+ReLU, 2 softmax gates, towers 64→16→1, BCE, Adam. */
function benchStep(L: Lib): () => void {
  const B = 512, F = 256, E = 8, H = 64, T = 2, Tw = 16;
  const gen = new L.Generator(5);
  const lin = (i: number, o: number): any => new L.nn.Linear(i, o, { generator: gen });
  const experts = Array.from({ length: E }, () => lin(F, H));
  const gates = Array.from({ length: T }, () => lin(F, E));
  const towers = Array.from({ length: T }, () => lin(H, Tw));
  const outs = Array.from({ length: T }, () => lin(Tw, 1));
  const params = [...experts, ...gates, ...towers, ...outs].flatMap((l) => l.parameters());
  const opt = new L.Adam(params, { lr: 1e-3 });
  const x = L.randn([B, F], { generator: new L.Generator(3) });
  const ys = Array.from({ length: T }, (_, t) => L.tensor(Float32Array.from({ length: B }, (_, i) => ((i * 7 + t) % 10 < 3 ? 1 : 0)), { shape: [B, 1] }));
  return () => {
    opt.zeroGrad();
    const e = L.stack(experts.map((l) => l.forward(x).relu()), 1);
    const g = L.stack(gates.map((l) => l.forward(x).softmax(-1)), 1);
    const mixed = L.matmul(g, e);
    let loss: any = null;
    for (let t = 0; t < T; t++) {
      const z = mixed.narrow(1, t, 1).reshape([B, H]);
      const l = L.bceWithLogits(outs[t].forward(towers[t].forward(z).relu()), ys[t]);
      loss = loss === null ? l : loss.add(l);
    }
    loss.backward();
    opt.step();
  };
}

function paperModel(L: Lib): any {
  return new L.MMoE({
    inputDim: 100, numExperts: 8, expertHiddenUnits: [16], towerHiddenUnits: [8],
    taskTypes: ['regression', 'regression'], initStd: 0.1, seed: 5,
  });
}

/** fit's inner loop on the paper-size MMoE (batch 128 of 1024 rows, cycling). */
function paperStep(L: Lib): () => void {
  const model = paperModel(L);
  const opt = new L.Adam(model.parameters(), { lr: 5e-3 });
  const n = 1024;
  const d = L.syntheticMultiTask({ n, dim: 100, correlation: 0.5, seed: 3 });
  const order = Int32Array.from({ length: n }, (_, i) => (i * 389) % n);
  const sums = new Float64Array(2);
  let k = 0;
  return () => {
    const rows = order.subarray((k % 8) * 128, (k % 8 + 1) * 128);
    k++;
    const xb = L.takeFeatures(d.x, rows, n);
    const yb = L.takeLabels(d.y.data, 2, rows);
    opt.zeroGrad();
    const logits = model.logits(xb);
    const loss = L.multiTaskLoss(logits, yb, model.taskTypes, [1, 1]);
    loss.item();
    loss.backward();
    opt.step();
    L.accumulateTaskLosses(logits, yb, model.taskTypes, sums);
  };
}

/** Adam alone over the paper model's parameters (fixed random gradients). */
function adamStep(L: Lib): () => void {
  const model = paperModel(L);
  const params = model.parameters();
  const gen = new L.Generator(1);
  for (const p of params) p.grad = L.randn(p.shape, { generator: gen });
  const opt = new L.Adam(params, { lr: 5e-3 });
  return () => opt.step();
}

/** The fixed synthetic workload of bench/lib/synthetic-run.ts, through either checkout's API. */
function syntheticRun(L: Lib): () => number {
  const S = L.synthetic;
  const base = { models: ['mmoe'], runs: 1, correlations: [0.5] };
  let once: () => { finalLoss: number };
  if (typeof S.prepareSynthetic === 'function') {
    // Before the paper-protocol rewrite: its defaults were this workload.
    const p = S.prepareSynthetic(base);
    const data = S.syntheticSplit(p.settings, 0, 0);
    once = () => S.runSyntheticJob(p.settings, p.bottomUnits, p.jobs[0], data).run;
  } else {
    const settings = S.resolveSyntheticSettings({ ...base, trainSize: 20_000, epochs: 12, batchSize: 128 });
    const job = S.syntheticJobs(settings)[0];
    const data = S.syntheticSplit(settings, job);
    once = () => S.runSyntheticJob(settings, job, data).run;
  }
  return () => {
    const t0 = performance.now();
    const run = once();
    return (performance.now() - t0) + 0 * run.finalLoss;
  };
}

const log = (s: string): void => void process.stderr.write(`${s}\n`);
const ours = await load(thisRoot);
const other = await load(otherRoot);
for (const L of [ours, other]) if (typeof L.setNumThreads === 'function') L.setNumThreads(threads);
const rows: Array<{ item: string; other: Timing; ours: Timing }> = [];
for (const [item, make, rounds, maxTime] of [
  ['MMoE step, bench shape [512,256], 8×64 experts', benchStep, 3, 1.5],
  ['MMoE step, paper size (B 128, d 100, 8×16, towers 8), fit inner loop', paperStep, 4, 1],
  ['Adam step over the paper model (15k parameters)', adamStep, 4, 0.5],
] as const) {
  const t = await interleave(item, [{ name: 'other', fn: make(other) }, { name: 'ours', fn: make(ours) }], rounds, { minSamples: 5, maxTime });
  rows.push({ item, other: t.get('other')!, ours: t.get('ours')! });
  log(`${item}: other ${fmt(t.get('other')!.medianMs)} ms, ours ${fmt(t.get('ours')!.medianMs)} ms`);
}
if (syntheticRuns > 0) {
  const a = syntheticRun(other), b = syntheticRun(ours);
  const ta: number[] = [], tb: number[] = [];
  for (let i = 0; i < syntheticRuns; i++) {
    ta.push(a());
    tb.push(b());
    log(`synthetic run ${i + 1}: other ${(ta[i] / 1000).toFixed(2)} s, ours ${(tb[i] / 1000).toFixed(2)} s`);
  }
  rows.push({ item: 'synthetic training run (MMoE, demo settings), 1 core', other: summarize(ta), ours: summarize(tb) });
}
console.log([
  `Machine: ${os.cpus()[0]?.model ?? 'unknown'}, ${os.cpus().length} cores, Node ${process.version}, load ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`,
  `ours = ${thisRoot}, other = ${otherRoot}; ms median (min–max), interleaved; speed-up = other ÷ ours; threads ${threads} where settable`,
  '',
  markdownTable(['item', 'other ms', 'ours ms', 'speed-up'], rows.map((r) => [r.item, msRange(r.other), msRange(r.ours), ratio(r.other.medianMs / r.ours.medianMs)])),
].join('\n'));
