import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { leastSquaresLine, type LineFit } from '../src/experiments/cross-claims.js';
import { nn, tensor } from '../src/index.js';
import { Generator } from '../src/tensor/index.js';
import { crossData } from './lib/data.js';
import { ourCross } from './lib/cross.js';
import { fmt, markdownTable, msRange } from './lib/report.js';
import { measure, type Timing } from './lib/timing.js';

/*
 * `npm run bench:cross-scaling`: the DCN claim that a cross network's time and memory grow
 * linearly in the input width d. nn.CrossNet (vector, L = 3), forward + backward at B = 256 for a
 * range of d: median time (benchmark.js samples) and the peak extra typed-array memory (where tensor
 * storage lives) seen while one forward + backward is alive; then a least-squares line through each
 * against d, its slope and R², and the exponent k of a power law t ∝ d^k (slope in log-log).
 * The matrix parameterization (DCN-V2, W_l is d×d) runs beside it at the smaller d, for contrast.
 * Writes bench/results/cross-scaling.json. Needs --expose-gc (the npm script passes it).
 */

const here = dirname(fileURLToPath(import.meta.url));
const log = (s: string): void => void process.stderr.write(`${s}\n`);
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('bench/cross-scaling: run with node --expose-gc (npm run bench:cross-scaling does)');

const B = 256, L = 3;
const VECTOR_D = [256, 512, 1024, 2048, 4096, 8192];
const MATRIX_D = [64, 128, 256, 512];
const MiB = 1024 * 1024;
// Typed-array buffers only: tensor storage lives there; the JS heap's graph objects are small and
// their garbage would add noise of a few MiB that does not depend on d.
const used = (): number => process.memoryUsage().arrayBuffers;

interface Row { parameterization: 'vector' | 'matrix'; d: number; time: Timing; peakMiB: number }

/**
 * Peak extra typed-array bytes over a gc-settled baseline while one forward + backward is alive: sampled after
 * forward (graph and saved tensors held) and after backward (gradients held), no gc in between,
 * so garbage counts too — an upper bound on what the pass needs.
 */
function peakMiB(d: number, parameterization: 'vector' | 'matrix'): number {
  const net = new nn.CrossNet(d, { layerNum: L, parameterization, generator: new Generator(1) });
  const x0 = tensor(crossData(B, d, L, 2).x0, { shape: [B, d], requiresGrad: true });
  gc!(); gc!();
  const base = used();
  let peak = 0;
  const y = net.forward(x0);
  peak = Math.max(peak, used() - base);
  y.sum().backward();
  peak = Math.max(peak, used() - base);
  if (!x0.grad) throw new Error('bench/cross-scaling: no gradient for x0');
  return peak / MiB;
}

function vectorRow(d: number): Row {
  const c = ourCross(crossData(B, d, L), 'fused');
  c.forwardBackward(); // warm-up
  const time = measure(`cross vector d=${d}`, () => { c.forwardBackward(); }, { minSamples: 10, maxTime: 1 });
  return { parameterization: 'vector', d, time, peakMiB: peakMiB(d, 'vector') };
}

function matrixRow(d: number): Row {
  const net = new nn.CrossNet(d, { layerNum: L, parameterization: 'matrix', generator: new Generator(1) });
  const x0 = tensor(crossData(B, d, L, 2).x0, { shape: [B, d], requiresGrad: true });
  const step = (): void => { net.zeroGrad(); x0.grad = null; net.forward(x0).sum().backward(); };
  step();
  const time = measure(`cross matrix d=${d}`, step, { minSamples: 10, maxTime: 1 });
  return { parameterization: 'matrix', d, time, peakMiB: peakMiB(d, 'matrix') };
}

function fits(rows: Row[]): { time: LineFit; memory: LineFit; timeExponent: number; memoryExponent: number } {
  const ds = rows.map((r) => r.d);
  const ln = (v: number[]): number[] => v.map(Math.log);
  return {
    time: leastSquaresLine(ds, rows.map((r) => r.time.medianMs)),
    memory: leastSquaresLine(ds, rows.map((r) => r.peakMiB)),
    timeExponent: leastSquaresLine(ln(ds), ln(rows.map((r) => r.time.medianMs))).slope,
    memoryExponent: leastSquaresLine(ln(ds), ln(rows.map((r) => r.peakMiB))).slope,
  };
}

const started = Date.now();
const vector = VECTOR_D.map((d) => { const r = vectorRow(d); log(`vector d=${d}: ${fmt(r.time.medianMs)} ms, ${fmt(r.peakMiB)} MiB`); return r; });
const matrix = MATRIX_D.map((d) => { const r = matrixRow(d); log(`matrix d=${d}: ${fmt(r.time.medianMs)} ms, ${fmt(r.peakMiB)} MiB`); return r; });
const result = {
  meta: { date: new Date().toISOString(), node: process.version, cpu: os.cpus()[0]?.model ?? 'unknown', cores: os.cpus().length, B, L, seconds: (Date.now() - started) / 1000 },
  vector: { rows: vector, fit: fits(vector) },
  matrix: { rows: matrix, fit: fits(matrix) },
};
mkdirSync(join(here, 'results'), { recursive: true });
const file = join(here, 'results', 'cross-scaling.json');
writeFileSync(`${file}.tmp`, `${JSON.stringify(result, null, 2)}\n`);
renameSync(`${file}.tmp`, file);

const out: string[] = [];
out.push(`Machine: ${result.meta.cpu}, ${result.meta.cores} cores, Node ${result.meta.node}, ${result.meta.date}`);
out.push(`CrossNet forward + backward, B = ${B}, L = ${L}: median ms (min–max) and peak extra typed-array memory while one pass is alive.`);
out.push('');
out.push(markdownTable(['parameterization', 'd', 'time ms', 'peak MiB'],
  [...vector, ...matrix].map((r) => [r.parameterization, String(r.d), msRange(r.time), fmt(r.peakMiB)])));
out.push('');
for (const [name, f] of [['vector', result.vector.fit], ['matrix', result.matrix.fit]] as const) {
  out.push(`${name}: time ≈ ${fmt(f.time.intercept)} + ${f.time.slope.toExponential(3)}·d ms (R² ${f.time.r2.toFixed(4)}), power-law exponent ${f.timeExponent.toFixed(2)}; ` +
    `memory ≈ ${fmt(f.memory.intercept)} + ${f.memory.slope.toExponential(3)}·d MiB (R² ${f.memory.r2.toFixed(4)}), exponent ${f.memoryExponent.toFixed(2)}`);
}
out.push('', `wrote ${file} (${result.meta.seconds.toFixed(0)} s)`);
process.stdout.write(`${out.join('\n')}\n`);
