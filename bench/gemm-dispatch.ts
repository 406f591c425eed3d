import { NDArray, Generator, matmulArray, setBackend, setNumThreads } from '../src/tensor/index.js';
import { setGemmPath, threadsReady } from '../src/tensor/wasm/runtime.js';
import { fmt, markdownTable, msRange } from './lib/report.js';
import { interleave } from './lib/timing.js';

/*
 * Where each float32 GEMM path pays, for the thresholds in src/tensor: the JavaScript kernels
 * (direct below DIRECT_MAX_WORK, packed above), WebAssembly on one thread (by the path it chooses,
 * and forced to the packed path: where the narrow one applies, it must be the faster), and
 * WebAssembly on the pool. Shapes: small cubes around the crossovers, the models' own products, and the batched tiny
 * products of a gate mix. One process, interleaved round by round.
 *   npx tsx --experimental-wasm-relaxed-simd bench/gemm-dispatch.ts   (or: npm run bench:gemm)
 */

interface Shape { name: string; batch: number; M: number; N: number; K: number; ta: boolean; tb: boolean }
const cube = (n: number): Shape => ({ name: `${n}³ NN`, batch: 1, M: n, N: n, K: n, ta: false, tb: false });
const shapes: Shape[] = [
  ...[4, 8, 16, 24, 32, 48, 64, 96, 128, 192].map(cube),
  { name: 'expert fwd NT 128×16×100', batch: 1, M: 128, N: 16, K: 100, ta: false, tb: true },
  { name: 'expert wgrad TN 16×100×128', batch: 1, M: 16, N: 100, K: 128, ta: true, tb: false },
  { name: 'bench NN [512,256]·[256,64]', batch: 1, M: 512, N: 64, K: 256, ta: false, tb: false },
  { name: 'gate mix 128×[2,8]·[8,16]', batch: 128, M: 2, N: 16, K: 8, ta: false, tb: false },
  { name: 'stacked gates 32×128×16×100 NT', batch: 32, M: 128, N: 16, K: 100, ta: false, tb: true },
  { name: 'stacked tower 32×128×8×16 NT', batch: 32, M: 128, N: 8, K: 16, ta: false, tb: true },
  { name: 'stacked experts 32×128×128×100 NT', batch: 32, M: 128, N: 128, K: 100, ta: false, tb: true },
];

const gen = new Generator(3);
function operand(batch: number, rows: number, cols: number): NDArray {
  const shape = batch > 1 ? [batch, rows, cols] : [rows, cols];
  return new NDArray(gen.fillNormal(new Float32Array(batch * rows * cols)), shape);
}

setNumThreads(2);
const ready = await threadsReady();
const rows: string[][] = [];
for (const s of shapes) {
  const a = operand(s.batch, s.ta ? s.K : s.M, s.ta ? s.M : s.K);
  const b = operand(s.batch, s.tb ? s.N : s.K, s.tb ? s.K : s.N);
  const flags = { transA: s.ta, transB: s.tb };
  const f = (): void => void matmulArray(a, b, flags);
  const t = await interleave(s.name, [
    { name: 'js', before: () => setBackend('js'), fn: f },
    { name: 'wasm-1', before: () => { setBackend('wasm'); setNumThreads(1); setGemmPath('auto'); }, fn: f },
    { name: 'wasm-1 packed', before: () => { setNumThreads(1); setGemmPath('packed'); }, fn: f },
    { name: `wasm-${ready}`, before: () => { setNumThreads(ready); setGemmPath('auto'); }, fn: f },
  ], 3, { minSamples: 5, maxTime: 0.3 });
  const js = t.get('js')!, w1 = t.get('wasm-1')!, packed = t.get('wasm-1 packed')!, wn = t.get(`wasm-${ready}`)!;
  const gflops = (ms: number): string => fmt((2 * s.batch * s.M * s.N * s.K) / (ms * 1e6));
  rows.push([s.name, String(s.batch * s.M * s.N * s.K), msRange(js), msRange(w1), msRange(wn),
    gflops(js.medianMs), gflops(w1.medianMs), gflops(wn.medianMs), fmt(js.medianMs / w1.medianMs), fmt(packed.medianMs / w1.medianMs), fmt(w1.medianMs / wn.medianMs)]);
  process.stderr.write(`${s.name} done\n`);
}
setBackend('wasm');
console.log(markdownTable(
  ['shape', 'MACs', 'js ms', 'wasm 1 thr ms', `wasm ${ready} thr ms`, 'js GF/s', 'wasm-1 GF/s', `wasm-${ready} GF/s`, 'wasm-1 vs js', 'wasm-1 vs packed only', `${ready} thr vs 1`],
  rows,
));
