import {
  matmul, randn, Generator, getNumThreads, setBackend, setNumThreads, type Backend, type Tensor,
} from '../../src/index.js';
import { threadsReady } from '../../src/tensor/wasm/runtime.js';
import { crossBytes, crossData } from './data.js';
import { CROSS_VARIANTS, ourCross, type CrossVariant } from './cross.js';
import { interleave, measure, type Timing } from './timing.js';

/* The cross-layer and matmul suites of `npm run bench` (our engine only). */

export const CROSS_B = 1024;
export const CROSS_L = 3;
export const CROSS_DIMS = [64, 256, 1024] as const;
/** The naive form materialises [B, D, D]; beyond this D it takes seconds and gigabytes. */
export const NAIVE_MAX_D = 256;

export type CrossMode = 'forward' | 'forward+backward';

export interface CrossRow extends Timing {
  D: number;
  mode: CrossMode;
  variant: CrossVariant;
  /** Bytes under this variant's own model: 'stack' for fused (one op), 'layer' for the rest. */
  bytes: number;
  gbps: number;
  pctTriad: number;
  /**
   * The layer-by-layer-equivalent figure: the bytes L separate layers would stream ÷ this time.
   * For fused it is NOT a bandwidth the machine reached (it can exceed the triad); it says how fast
   * the same work goes compared with the layer-by-layer minimum. Equal to gbps for the others.
   */
  layerEqGbps: number;
  layerEqPctTriad: number;
}

export async function runCross(triadGbps: number, log: (s: string) => void): Promise<CrossRow[]> {
  const rows: CrossRow[] = [];
  for (const D of CROSS_DIMS) {
    const d = crossData(CROSS_B, D, CROSS_L);
    const variants = CROSS_VARIANTS.filter((v) => v !== 'naive' || D <= NAIVE_MAX_D);
    const impls = variants.map((v) => ({ v, c: ourCross(d, v) }));
    for (const mode of ['forward', 'forward+backward'] as const) {
      const contenders = impls.map(({ v, c }) => ({
        name: v,
        fn: mode === 'forward' ? () => void c.forward() : () => void c.forwardBackward(),
      }));
      const timings = await interleave(`cross D=${D} ${mode}`, contenders, 2, { minSamples: 3, maxTime: 0.6 });
      const backward = mode === 'forward+backward';
      const layerBytes = crossBytes(d, backward, 'layer');
      for (const v of variants) {
        const t = timings.get(v)!;
        const bytes = crossBytes(d, backward, v === 'fused' ? 'stack' : 'layer');
        const gbps = bytes / (t.medianMs * 1e6);
        const layerEqGbps = layerBytes / (t.medianMs * 1e6);
        rows.push({
          D, mode, variant: v, ...t, bytes, gbps, pctTriad: (100 * gbps) / triadGbps,
          layerEqGbps, layerEqPctTriad: (100 * layerEqGbps) / triadGbps,
        });
        log(`cross D=${D} ${mode} ${v}: ${t.medianMs.toFixed(3)} ms`);
      }
    }
  }
  return rows;
}

export type Layout = 'NN' | 'TN' | 'NT' | 'TT';
/** The layouts bench:peers races against TF.js (those a forward and a backward pass use). */
export const LAYOUTS: readonly Layout[] = ['NN', 'TN', 'NT'];
export const ALL_LAYOUTS: readonly Layout[] = ['NN', 'TN', 'NT', 'TT'];
export const MATMUL_SIZES = [512, 1024] as const;

export interface MatmulRow extends Timing {
  n: number;
  layout: Layout;
  /** 'wasm' (the default float32 backend) or 'js' (the reference kernels, forced). */
  backend: Backend;
  threads: number;
  gflops: number;
  /** gflops ÷ the single-thread SIMD peak of the arithmetic in use (FMA or mul+add), in %. */
  pctPeak: number;
  /** This row's speed over the same layout on one thread (same interleaved race). */
  vsOneThread: number;
}

export function layoutFlags(layout: Layout): { transA: boolean; transB: boolean } {
  return { transA: layout === 'TN' || layout === 'TT', transB: layout === 'NT' || layout === 'TT' };
}

export function matmulOperands(n: number, seed = 7): [Tensor, Tensor] {
  const gen = new Generator(seed);
  return [randn([n, n], { generator: gen }), randn([n, n], { generator: gen })];
}

/**
 * matmul at n³ in every layout on the default backend with 1 and 2 threads (interleaved, so the
 * ratio is side by side), plus the JavaScript kernels at 512³ NN for reference.
 */
export async function runMatmul(peakGflops: number, log: (s: string) => void): Promise<MatmulRow[]> {
  const rows: MatmulRow[] = [];
  const before = getNumThreads();
  setNumThreads(Math.min(2, Math.max(1, before)));
  const maxThreads = await threadsReady();
  const threadCounts = maxThreads >= 2 ? [1, 2] : [1];
  for (const n of MATMUL_SIZES) {
    const [a, b] = matmulOperands(n);
    for (const layout of ALL_LAYOUTS) {
      const flags = layoutFlags(layout);
      const fn = (): void => void matmul(a, b, flags);
      const contenders = threadCounts.map((t) => ({ name: `wasm-${t}`, before: () => { setBackend('wasm'); setNumThreads(t); }, fn }));
      if (n === 512 && layout === 'NN') contenders.push({ name: 'js-1', before: () => { setBackend('js'); setNumThreads(1); }, fn });
      const timings = await interleave(`matmul ${n} ${layout}`, contenders, 2, { minSamples: 5, maxTime: n > 512 ? 1.5 : 0.75 });
      const one = timings.get('wasm-1')!;
      for (const c of contenders) {
        const t = timings.get(c.name)!;
        const [backend, threads] = c.name.split('-') as [Backend, string];
        const gflops = (2 * n ** 3) / (t.medianMs * 1e6);
        rows.push({
          n, layout, backend, threads: Number(threads), ...t, gflops, pctPeak: (100 * gflops) / peakGflops,
          vsOneThread: backend === 'wasm' ? one.medianMs / t.medianMs : NaN,
        });
        log(`matmul ${n}³ ${layout} ${c.name}: ${gflops.toFixed(2)} GFLOP/s`);
      }
    }
  }
  setBackend('wasm');
  setNumThreads(before);
  return rows;
}
