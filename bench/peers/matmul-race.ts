import { matmul, setNumThreads } from '../../src/index.js';
import { threadsReady } from '../../src/tensor/wasm/runtime.js';
import { fmt, markdownTable, msRange } from '../lib/report.js';
import { LAYOUTS, layoutFlags, matmulOperands } from '../lib/suites.js';
import { interleave } from '../lib/timing.js';
import { initTf, tf } from './tf.js';

/*
 * matmul alone, ours on 1 and 2 threads against tfjs-wasm (SIMD, no threads), interleaved round
 * by round: the quick side-by-side ratio for the GEMM targets without bench:peers' full run
 * (whose tfjs-cpu rows at 1024³ take most of its time).
 *   npx tsx --experimental-wasm-relaxed-simd bench/peers/matmul-race.ts [n ...]   (default 512)
 */

await initTf();
await tf.setBackend('wasm');
setNumThreads(2);
const threads = await threadsReady();
const sizes = process.argv.slice(2).map(Number).filter((n) => n > 0);
const rows: string[][] = [];
for (const n of sizes.length ? sizes : [512]) {
  const [a, b] = matmulOperands(n);
  const ta = tf.tensor2d(a.data as Float32Array, [n, n]), tb = tf.tensor2d(b.data as Float32Array, [n, n]);
  for (const layout of LAYOUTS) {
    const f = layoutFlags(layout);
    const ours = (): void => void matmul(a, b, f);
    const t = await interleave(`matmul ${n} ${layout}`, [
      { name: 'ours-1', before: () => setNumThreads(1), fn: ours },
      { name: `ours-${threads}`, before: () => setNumThreads(threads), fn: ours },
      { name: 'tfjs-wasm', fn: () => tf.tidy(() => void tf.matMul(ta, tb, f.transA, f.transB).dataSync()) },
    ], 3, { minSamples: 5, maxTime: 0.6 });
    const o1 = t.get('ours-1')!, on = t.get(`ours-${threads}`)!, w = t.get('tfjs-wasm')!;
    const gf = (ms: number): string => fmt((2 * n ** 3) / (ms * 1e6));
    rows.push([`${n}³ ${layout}`, msRange(o1), msRange(on), msRange(w), gf(o1.medianMs), gf(on.medianMs), gf(w.medianMs),
      `${fmt(w.medianMs / o1.medianMs)}×`, `${fmt(w.medianMs / on.medianMs)}×`]);
    process.stderr.write(`${n}³ ${layout} done\n`);
  }
}
console.log(markdownTable(
  ['matmul', 'ours 1 thr ms', `ours ${threads} thr ms`, 'tfjs-wasm ms', 'ours-1 GF/s', `ours-${threads} GF/s`, 'tfjs-wasm GF/s', 'ours-1 vs tfjs-wasm', `ours-${threads} vs tfjs-wasm`],
  rows,
));
