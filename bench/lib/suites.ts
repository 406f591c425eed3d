import { matmul, randn, Generator, type Tensor } from '../../src/index.js';
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

export type Layout = 'NN' | 'TN' | 'NT';
export const LAYOUTS: readonly Layout[] = ['NN', 'TN', 'NT'];
export const MATMUL_SIZES = [512, 1024] as const;

export interface MatmulRow extends Timing {
  n: number;
  layout: Layout;
  gflops: number;
}

export function layoutFlags(layout: Layout): { transA: boolean; transB: boolean } {
  return { transA: layout === 'TN', transB: layout === 'NT' };
}

export function matmulOperands(n: number, seed = 7): [Tensor, Tensor] {
  const gen = new Generator(seed);
  return [randn([n, n], { generator: gen }), randn([n, n], { generator: gen })];
}

export function runMatmul(log: (s: string) => void): MatmulRow[] {
  const rows: MatmulRow[] = [];
  for (const n of MATMUL_SIZES) {
    const [a, b] = matmulOperands(n);
    for (const layout of LAYOUTS) {
      const flags = layoutFlags(layout);
      const t = measure(`matmul ${n} ${layout}`, () => void matmul(a, b, flags), { minSamples: 5, maxTime: n > 512 ? 3 : 1.5 });
      const gflops = (2 * n ** 3) / (t.medianMs * 1e6);
      rows.push({ n, layout, ...t, gflops });
      log(`matmul ${n}³ ${layout}: ${gflops.toFixed(2)} GFLOP/s`);
    }
  }
  return rows;
}
