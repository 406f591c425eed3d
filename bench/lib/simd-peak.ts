import { F32, I32, ModuleBuilder, V128, type Local } from '../../src/tensor/wasm/assembler.js';
import { wasmApi } from '../../src/tensor/wasm/api.js';
import { wasmFeatures } from '../../src/tensor/wasm/features.js';
import { measure, type Timing } from './timing.js';

/*
 * This machine's WebAssembly SIMD peak on one thread: a loop of independent f32x4 multiply-adds
 * on registers only (no memory traffic), FMA (relaxed_madd) or mul+add. ACC accumulators hide the
 * latency (FMA latency × issue width ≤ 12 here); the loop is unrolled so the counter is noise.
 * GEMM rows report their GFLOP/s as a percentage of this.
 */

const ACC = 12;
const UNROLL = 4;

export type PeakMode = 'fma' | 'mul+add';

export function peakLoop(mode: PeakMode): ((iterations: number) => number) | undefined {
  const f = wasmFeatures();
  if (!f.simd || (mode === 'fma' && !f.relaxedSimd)) return undefined;
  const m = new ModuleBuilder({ shared: false });
  const fn = m.func('peak', [I32], [F32], (b, [n]) => {
    const acc: Local[] = Array.from({ length: ACC }, () => b.local(V128));
    const x = b.local(V128), y = b.local(V128);
    b.f32.const(1.0000001); b.f32x4.splat(); b.localSet(x);
    b.f32.const(0.9999999); b.f32x4.splat(); b.localSet(y);
    b.loop(() => {
      for (let u = 0; u < UNROLL; u++) {
        for (const a of acc) {
          if (mode === 'fma') { b.localGet(x); b.localGet(y); b.localGet(a); b.f32x4.relaxedMadd(); }
          else { b.localGet(a); b.localGet(x); b.localGet(y); b.f32x4.mul(); b.f32x4.add(); }
          b.localSet(a);
        }
      }
      b.localGet(n); b.i32.const(-1); b.i32.add(); b.localTee(n); b.brIf(0);
    });
    b.localGet(acc[0]);
    for (let i = 1; i < ACC; i++) { b.localGet(acc[i]); b.f32x4.add(); }
    b.f32x4.extractLane(0); // returned, so the loop cannot be optimised away
  });
  m.export(fn);
  const wa = wasmApi()!;
  const memory = new wa.Memory({ initial: 1 });
  const inst = new wa.Instance(new wa.Module(m.finish()), { env: { memory } });
  const peak = inst.exports.peak as (n: number) => unknown;
  return (iterations: number) => {
    peak(iterations);
    return iterations * UNROLL * ACC * 8; // flops: 4 lanes × (mul + add)
  };
}

export interface PeakRow extends Timing {
  mode: PeakMode;
  /**
   * From the fastest sample, not the median: the peak is what the hardware can do, and on a
   * shared machine other jobs only ever lower a sample. (matmul rows use medians, so their % of
   * this peak errs low.)
   */
  gflops: number;
}

/** Both peak loops where the runtime has them (FMA needs relaxed SIMD). */
export function runPeak(log: (s: string) => void): PeakRow[] {
  const rows: PeakRow[] = [];
  for (const mode of ['fma', 'mul+add'] as const) {
    const loop = peakLoop(mode);
    if (!loop) continue;
    const ITER = 1 << 20;
    const t = measure(`simd peak ${mode}`, () => void loop(ITER), { minSamples: 10, maxTime: 1 });
    const gflops = (ITER * UNROLL * ACC * 8) / (t.minMs * 1e6);
    rows.push({ mode, ...t, gflops });
    log(`simd peak ${mode}: ${gflops.toFixed(1)} GFLOP/s`);
  }
  return rows;
}
