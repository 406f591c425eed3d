/*
 * Quick GEMM throughput check: 512×512×512 float32 in NN, TN and NT layouts through the same
 * blocked kernel the autograd matmul uses. Prints the median GFLOP/s of several timed runs (after
 * warm-up, so V8 has optimised the kernel) with min/max. Run: npx tsx bench/quick-matmul.ts
 */
import { NDArray, Generator, matmulArray } from '../src/tensor/index.js';

const SIZE = 512;
const RUNS = 7;
const WARMUP = 2;

function randomMatrix(gen: Generator, rows: number, cols: number): NDArray {
  return new NDArray(gen.fillNormal(new Float32Array(rows * cols)), [rows, cols]);
}

function median(xs: number[]): number {
  const s = xs.slice().sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

const gen = new Generator(0);
const a = randomMatrix(gen, SIZE, SIZE);
const b = randomMatrix(gen, SIZE, SIZE);
const flops = 2 * SIZE * SIZE * SIZE;
const layouts = [
  { name: 'NN', transA: false, transB: false },
  { name: 'TN', transA: true, transB: false },
  { name: 'NT', transA: false, transB: true },
];

console.log(`matmul ${SIZE}×${SIZE}×${SIZE} float32, ${RUNS} runs after ${WARMUP} warm-up (node ${process.version})`);
for (const { name, transA, transB } of layouts) {
  for (let i = 0; i < WARMUP; i++) matmulArray(a, b, { transA, transB });
  const rates: number[] = [];
  let checksum = 0;
  for (let i = 0; i < RUNS; i++) {
    const t0 = process.hrtime.bigint();
    const c = matmulArray(a, b, { transA, transB });
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    checksum += c.data[0];
    rates.push(flops / seconds / 1e9);
  }
  const fmt = (x: number): string => x.toFixed(2);
  console.log(`${name}: median ${fmt(median(rates))} GFLOP/s (min ${fmt(Math.min(...rates))}, max ${fmt(Math.max(...rates))})  [checksum ${checksum.toFixed(3)}]`);
}
