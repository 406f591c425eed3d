/*
 * Streaming versus in-memory training on the same CSV rows (issue 18's target: a 2 GB file trains
 * under 400 MB RSS, at a throughput within 1.5× of in-memory training).
 *
 *   npx tsx --experimental-wasm-relaxed-simd bench/stream-csv.ts [--bytes 2e9] [--memory-rows 1000000] [--dir DIR] [--keep]
 *
 * Generates a CSV of about --bytes (4 categorical, 4 numeric columns, a binary and a regression
 * label), then runs each mode in its own child process so that each peak RSS is its own:
 * - stream: scanCsv (vocabularies, dense stats) + one epoch of fitAsync over csvDataset
 *   (batch 512, shuffle buffer 10,000); rows/s of the epoch and of scan + epoch;
 * - memory: the first --memory-rows rows read into typed arrays, then one epoch of fit (batch 512,
 *   shuffled); rows/s of the epoch (the load is reported apart).
 * Peak RSS is process.resourceUsage().maxRSS. Throughput ratios compare rows per second, so the
 * in-memory run may use fewer rows than a file that does not fit in memory. Reports, never asserts.
 */
import { spawnSync } from 'node:child_process';
import { createWriteStream, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Generator, manualSeed } from '../src/tensor/index.js';
import { csvDataset, scanCsv, type CsvBatch } from '../src/data/csv-dataset.js';
import { readCsvChunks } from '../src/data/csv-node.js';
import { MMoE, SparseFeat, DenseFeat } from '../src/models/index.js';
import { fit, fitAsync } from '../src/train/trainer.js';

const SPARSE = ['c0', 'c1', 'c2', 'c3'];
const DENSE = ['d0', 'd1', 'd2', 'd3'];
const spec = { labels: [{ column: 'click', type: 'binary' as const }, { column: 'spend', type: 'regression' as const }], sparse: SPARSE, dense: DENSE };
const BATCH = 512;

const arg = (name: string, dflt: string): string => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : dflt;
};

async function generate(file: string, bytes: number): Promise<number> {
  const out = createWriteStream(file);
  const g = new Generator(1);
  out.write(`${[...SPARSE, ...DENSE, 'click', 'spend'].join(',')}\n`);
  let written = 0, rows = 0;
  while (written < bytes) {
    let chunk = '';
    for (let i = 0; i < 2000; i++, rows++) {
      const c = SPARSE.map((_, k) => `v${g.randint(k === 0 ? 10_000 : 100)}`);
      const d = DENSE.map(() => (g.normal() * 3).toFixed(4));
      chunk += `${c.join(',')},${d.join(',')},${g.random() < 0.3 ? 1 : 0},${(g.random() * 20).toFixed(3)}\n`;
    }
    written += chunk.length;
    if (!out.write(chunk)) await new Promise<void>((r) => out.once('drain', () => r()));
  }
  await new Promise<void>((r) => out.end(() => r()));
  return rows;
}

function model(vocab: Record<string, string[]>): MMoE {
  manualSeed(0);
  return new MMoE({
    features: [...SPARSE.map((c) => SparseFeat(c, vocab[c].length + 1, { embeddingDim: 8 })), ...DENSE.map((c) => DenseFeat(c, 1))],
    numExperts: 4, expertHiddenUnits: [32], towerHiddenUnits: [16], taskTypes: ['binary', 'regression'], taskNames: ['click', 'spend'], seed: 1,
  });
}

async function child(mode: string, file: string, memoryRows: number): Promise<void> {
  const t0 = performance.now();
  const scan = await scanCsv(readCsvChunks(file), spec);
  const tScan = (performance.now() - t0) / 1000;
  const m = model(scan.vocabularies);
  const ds = (bs: number, buffer: number) => csvDataset({ ...spec, open: () => readCsvChunks(file), vocabularies: scan.vocabularies, denseStats: scan.dense, batchSize: bs, shuffleBuffer: buffer, seed: 0 });
  let rows: number, seconds: number, loadSeconds = 0;
  if (mode === 'stream') {
    const h = await fitAsync(m, ds(BATCH, 10_000), { epochs: 1, verbose: 0, yieldEvery: 'never' });
    seconds = h.epochs[0].seconds;
    rows = scan.rows;
  } else {
    const t1 = performance.now();
    const n = Math.min(memoryRows, scan.rows);
    const x: Record<string, Int32Array | Float32Array> = {};
    for (const c of SPARSE) x[c] = new Int32Array(n);
    for (const c of DENSE) x[c] = new Float32Array(n);
    const y = new Float32Array(n * 2);
    let at = 0;
    for await (const b of ds(65_536, 0).iterator(1) as AsyncIterable<CsvBatch>) {
      const k = Math.min(b.y.length / 2, n - at);
      for (const c of [...SPARSE, ...DENSE]) (x[c] as Float32Array).set((b.x[c] as Float32Array).subarray(0, k), at);
      y.set(b.y.subarray(0, 2 * k), 2 * at);
      at += k;
      if (at === n) break;
    }
    loadSeconds = (performance.now() - t1) / 1000;
    const h = fit(m, { x, y }, { epochs: 1, batchSize: BATCH, verbose: 0, seed: 0 });
    seconds = h.epochs[0].seconds;
    rows = n;
  }
  const maxRssMB = process.resourceUsage().maxRSS / 1024;
  process.stdout.write(`${JSON.stringify({ mode, rows, scanSeconds: tScan, loadSeconds, epochSeconds: seconds, rowsPerSecond: rows / seconds, maxRssMB })}\n`);
}

async function main(): Promise<void> {
  if (process.argv[2] === '--child') return child(process.argv[3], process.argv[4], Number(process.argv[5]));
  const bytes = Number(arg('bytes', '2e9'));
  const memoryRows = Number(arg('memory-rows', '1000000'));
  const dir = arg('dir', '') || mkdtempSync(join(tmpdir(), 'mmoe-stream-bench-'));
  mkdirSync(dir, { recursive: true }); // a --dir that does not exist yet
  const file = join(dir, 'rows.csv');
  const nRows = await generate(file, bytes);
  console.log(`generated ${file}: ${(statSync(file).size / 1e6).toFixed(1)} MB, ${nRows} rows`);
  const results = [];
  for (const mode of ['stream', 'memory']) {
    const r = spawnSync(process.execPath, [...process.execArgv, process.argv[1], '--child', mode, file, String(memoryRows)], { encoding: 'utf8', maxBuffer: 1 << 24 });
    if (r.status !== 0) throw new Error(`${mode} run failed: ${r.stderr}`);
    results.push(JSON.parse(r.stdout.trim().split('\n').pop()!));
  }
  console.table(results);
  const [s, m] = results;
  console.log(`stream / memory throughput: ${(s.rowsPerSecond / m.rowsPerSecond).toFixed(3)}; stream peak RSS ${s.maxRssMB.toFixed(0)} MB, memory peak RSS ${m.maxRssMB.toFixed(0)} MB`);
  if (!process.argv.includes('--keep') && !process.argv.includes('--dir')) rmSync(dir, { recursive: true, force: true });
}

await main();
