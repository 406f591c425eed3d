import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DenseFeat, MMoE, SparseFeat, nn, optim, tensor, type FeatureBatch } from '../src/index.js';
import { Generator } from '../src/tensor/index.js';
import { StepScopes } from '../src/train/held-storage.js';
import { fmt, markdownTable, msRange, ratio } from './lib/report.js';
import { interleave, type Contender } from './lib/timing.js';

/*
 * `npm run bench:sparse-embedding [-- --quick]`: issue 18's large-vocabulary claim — one training
 * step (zeroGrad, forward, loss, backward, Adam step) of an MMoE whose item table has 1M rows costs
 * within 1.5× of the same model with a 1k-row table, at batch 512, once embedding gradients are
 * row-sparse and Adam is lazy. The dense 1M case (today's default: a [V, D] gradient and an Adam
 * sweep over the whole table) runs beside it for contrast. Contenders are interleaved round by
 * round (bench/lib/timing.ts), so a slow patch on a shared machine hits all of them.
 * Writes bench/results/sparse-embedding.json. --quick: 1 round, short samples (a smoke run only).
 */

const here = dirname(fileURLToPath(import.meta.url));
const quick = process.argv.includes('--quick');
const B = 512;
const DIM = 16;
const log = (s: string): void => void process.stderr.write(`${s}\n`);

function step(vocab: number, sparse: boolean): () => void {
  const features = [
    SparseFeat('item', vocab, { embeddingDim: DIM }),
    SparseFeat('user_bucket', 1000, { embeddingDim: DIM }),
    SparseFeat('category', 100, { embeddingDim: 8 }),
    DenseFeat('price'),
  ];
  const model = new MMoE({
    features, taskTypes: ['binary', 'binary'], numExperts: 4, expertHiddenUnits: [64, 32], towerHiddenUnits: [16],
    sparseEmbedding: sparse, l2RegEmbedding: 0, seed: 1,
  });
  const opt = new optim.Adam(model.parameters(), { lr: 1e-3 });
  const g = new Generator(7);
  // Fresh ids every call: a step touches ≤ 512 item rows wherever they are in the table.
  const batch = (): FeatureBatch => ({
    item: new Int32Array(B).map(() => g.randint(vocab)),
    user_bucket: new Int32Array(B).map(() => g.randint(1000)),
    category: new Int32Array(B).map(() => g.randint(100)),
    price: tensor(new Float32Array(B).map(() => g.random()), { shape: [B, 1] }),
  });
  const y = tensor(new Float32Array(B * 2).map((_, i) => (i % 3 === 0 ? 1 : 0)), { shape: [B, 2] });
  // fit's step scope (src/train/held-storage.ts): the step's arena blocks return at its end.
  const scopes = new StepScopes([model, opt]);
  return () => scopes.run(() => {
    opt.zeroGrad();
    nn.bceWithLogits(model.logits(batch()), y).backward();
    opt.step();
  });
}

const contenders: Contender[] = [
  { name: 'sparse 1k', fn: step(1_000, true) },
  { name: 'sparse 1M', fn: step(1_000_000, true) },
  { name: 'dense 1k', fn: step(1_000, false) },
  { name: 'dense 1M', fn: step(1_000_000, false) },
];
// Warm-up outside the timing: the first calls compile and allocate the optimizer state.
for (const c of contenders) for (let i = 0; i < 2; i++) c.fn?.();
log(`sparse-embedding: batch ${B}, item table [V, ${DIM}], MMoE 4 experts [64, 32], Adam; ${quick ? 'quick (1 round)' : '3 rounds'}`);
const t = await interleave('step', contenders, quick ? 1 : 3, quick ? { minSamples: 3, maxTime: 0.5 } : { minSamples: 5, maxTime: 2 });
const get = (n: string) => t.get(n)!;
const rows = [...t].map(([name, x]) => [name, msRange(x), String(x.samplesMs.length)]);
const sparseRatio = get('sparse 1M').medianMs / get('sparse 1k').medianMs;
const denseRatio = get('dense 1M').medianMs / get('dense 1k').medianMs;
console.log(markdownTable(['step', 'ms median (min–max)', 'samples'], rows));
console.log(`\n1M ÷ 1k, sparse + lazy Adam: ${ratio(sparseRatio)} (claim: ≤ 1.5×); dense: ${ratio(denseRatio)}`);
const out = {
  when: new Date().toISOString(), quick, batch: B, dim: DIM, cpus: os.cpus().length, loadavg: os.loadavg().map((x) => Number(fmt(x))),
  timings: Object.fromEntries(t), sparseRatio, denseRatio,
};
const file = join(here, 'results', quick ? 'sparse-embedding-quick.json' : 'sparse-embedding.json');
mkdirSync(dirname(file), { recursive: true });
writeFileSync(`${file}.tmp`, `${JSON.stringify(out, null, 2)}\n`);
renameSync(`${file}.tmp`, file);
log(`wrote ${file}`);
