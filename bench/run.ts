import { execSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fmt, markdownTable, msRange, ratio } from './lib/report.js';
import { runCross, runMatmul, type CrossRow } from './lib/suites.js';
import { runTriad } from './lib/triad.js';
import { runMmoe, runPaperMmoe } from './lib/mmoe-suite.js';
import { runSyntheticRuns } from './lib/synthetic-run.js';
import { runPeak } from './lib/simd-peak.js';
import { backendInfo } from '../src/index.js';

/*
 * `npm run bench`: the machine's streaming roofline, the cross layer three ways, matmul in three
 * layouts, the MMoE training step at the bench and the paper's size, and whole synthetic training
 * runs on 1 and 2 cores, all in one process run.
 * Writes bench/results/latest.json and prints Markdown tables.
 */

const here = dirname(fileURLToPath(import.meta.url));
const log = (s: string): void => void process.stderr.write(`${s}\n`);

function gitCommit(): string {
  try {
    return execSync('git rev-parse --short HEAD', { cwd: here, stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
  } catch {
    return 'unknown';
  }
}

const started = Date.now();
const triad = runTriad();
log(`triad: ${triad.gbps.toFixed(2)} GB/s`);
const cross = await runCross(triad.gbps, log);
const info = backendInfo();
log(`backend: ${JSON.stringify(info)}`);
const peak = runPeak(log);
// % of peak against the arithmetic the GEMM really uses: FMA with relaxed SIMD, else mul+add.
const peakRow = peak.find((p) => p.mode === (info.relaxedSimd ? 'fma' : 'mul+add'));
const matmul = await runMatmul(peakRow?.gflops ?? NaN, log);
const mmoe = runMmoe(log);
const paperMmoe = runPaperMmoe(log);
const syntheticRuns = await runSyntheticRuns(log);
const seconds = (Date.now() - started) / 1000;

const meta = {
  date: new Date().toISOString(),
  commit: gitCommit(),
  node: process.version,
  cpu: os.cpus()[0]?.model ?? 'unknown',
  cores: os.cpus().length,
  seconds,
};
const outDir = join(here, 'results');
mkdirSync(outDir, { recursive: true });
writeFileSync(join(outDir, 'latest.json'), `${JSON.stringify({ meta, backend: info, triad, peak, cross, matmul, mmoe, paperMmoe, syntheticRuns }, null, 2)}\n`);

const find = (D: number, mode: string, v: string): CrossRow | undefined => cross.find((r) => r.D === D && r.mode === mode && r.variant === v);
const speedup = (r: CrossRow, other: string): string => {
  const o = find(r.D, r.mode, other);
  return r.variant === 'fused' && o ? ratio(o.medianMs / r.medianMs) : '';
};

const out: string[] = [];
out.push(`Machine: ${meta.cpu}, ${meta.cores} cores, Node ${meta.node}, commit ${meta.commit}, ${meta.date}`);
out.push('', `Triad roofline (64 MiB Float32Arrays, a = b + s·c): **${fmt(triad.gbps)} GB/s** — ${msRange(triad)} ms`);
out.push('', [
  'Cross layer, B = 1024, L = 3 (ms median (min–max); speed-up = other\'s time ÷ fused time).',
  'fused = nn.CrossNet (one crossNetVector op for the whole stack); fused-layer = crossLayer applied L times.',
  'GB/s, % triad: bytes of [B, D] arrays this variant must stream at the least ÷ time — for fused, the stack\'s',
  'own bytes (fwd: x0 in, x_L out; bwd: g, x0 in, gx0 out), for the others L layers\' (3 per layer fwd, 8 fwd+bwd).',
  'layer-eq GB/s: L layers\' bytes ÷ time for every variant — for fused an equivalent rate, not bandwidth reached.',
].join('\n'), '');
out.push(markdownTable(
  ['D', 'pass', 'variant', 'ms', 'GB/s', '% triad', 'layer-eq GB/s', 'layer-eq % triad', 'fused vs fused-layer', 'fused vs composed', 'fused vs naive'],
  cross.map((r) => [
    String(r.D), r.mode, r.variant, msRange(r), fmt(r.gbps), `${fmt(r.pctTriad, 2)}%`, fmt(r.layerEqGbps), `${fmt(r.layerEqPctTriad, 2)}%`,
    speedup(r, 'fused-layer'), speedup(r, 'composed'), speedup(r, 'naive'),
  ]),
));
out.push('', `Backend: ${info.backend}, relaxed SIMD (FMA) ${info.relaxedSimd}, shared memory ${info.sharedMemory}, default threads ${info.threads}`);
out.push('', 'WebAssembly SIMD peak, one thread (independent f32x4 multiply-adds on registers only; GFLOP/s from the fastest sample)', '');
out.push(markdownTable(['arithmetic', 'ms', 'GFLOP/s'], peak.map((p) => [p.mode, msRange(p), fmt(p.gflops)])));
out.push('', `matmul, float32 (ms median (min–max)); % peak: of the ${peakRow?.mode ?? '?'} peak above; vs 1 thread: same race`, '');
out.push(markdownTable(
  ['n', 'layout', 'backend', 'threads', 'ms', 'GFLOP/s', '% peak', 'vs 1 thread'],
  matmul.map((r) => [`${r.n}³`, r.layout, r.backend, String(r.threads), msRange(r), fmt(r.gflops), `${fmt(r.pctPeak)}%`, Number.isNaN(r.vsOneThread) ? '' : ratio(r.vsOneThread)]),
));
if (mmoe) {
  out.push('', 'MMoE training step (input [512, 256], 8 experts 256→64, 2 tasks, Adam; forward + backward + update)', '');
  out.push(markdownTable(['ms/step', 'samples/s'], [[msRange(mmoe), fmt(mmoe.samplesPerSec)]]));
}
out.push('', 'MMoE paper-size training step (MMoE, d = 100, 8 experts × 16, towers 8, 2 regression tasks, MSE, Adam; batch 128; fit\'s inner loop)', '');
out.push(markdownTable(['ms/step', 'samples/s'], [[msRange(paperMmoe), fmt(paperMmoe.samplesPerSec)]]));
out.push('', 'Synthetic training run at the demo settings (MMoE, 20,000 rows × 12 epochs, batch 128, test loss each epoch); s per run median (min–max)', '');
out.push(markdownTable(
  ['cores', 's/run', 'runs/s', 'runs timed'],
  syntheticRuns.map((r) => [String(r.cores), `${fmt(r.run.medianMs / 1000)} (${fmt(r.run.minMs / 1000)}–${fmt(r.run.maxMs / 1000)})`, fmt(r.runsPerSec), String(r.runs)]),
));
out.push('', `Total ${seconds.toFixed(0)} s. Results: bench/results/latest.json`);
console.log(out.join('\n'));
