import { fmt } from '../lib/report.js';
import type { PeerRow } from './peer-race.js';

/*
 * Issue 15's targets that bench:peers can measure, judged from this run's rows: a ratio is their
 * time ÷ ours within each interleaved round, the median over rounds (> 1: ours faster; pooled
 * medians where a row has no rounds); "% peak" is the row's share of the WASM SIMD peak.
 * (GEMM at 512³ is `npm run bench`'s; the --paper wall time is the CLI's.)
 */

interface Target { what: string; item: string; threads: number; measure: 'ratio' | 'pctPeak' | 'msPerModel'; atLeast?: number; atMost?: number }

const TARGETS: Target[] = [
  { what: 'paper-size step ≥ 2× PyTorch (1 thread)', item: 'paper mmoe step', threads: 1, measure: 'ratio', atLeast: 2 },
  { what: 'paper-size step ≥ 40% of the WASM SIMD peak', item: 'paper mmoe step', threads: 1, measure: 'pctPeak', atLeast: 40 },
  { what: 'stacked R=32 per model-step ≥ 1.2× PyTorch stacked (1 thread)', item: 'stacked paper mmoe step, R=32', threads: 1, measure: 'ratio', atLeast: 1.2 },
  { what: 'stacked R=32 ≥ 60% of the WASM SIMD peak (1 thread)', item: 'stacked paper mmoe step, R=32', threads: 1, measure: 'pctPeak', atLeast: 60 },
  { what: 'stacked R=32 ≤ 0.15 ms per model-step on two threads', item: 'stacked paper mmoe step, R=32', threads: 2, measure: 'msPerModel', atMost: 0.15 },
  { what: 'bench-shape step ≥ 2× PyTorch', item: 'bench-shape mmoe step', threads: 1, measure: 'ratio', atLeast: 2 },
  { what: 'predict batch 1 faster than onnxruntime-node', item: 'predict paper mmoe, batch 1', threads: 1, measure: 'ratio', atLeast: 1 },
  { what: 'predict batch 4096 ≥ 0.5× onnxruntime-node rows/s', item: 'predict paper mmoe, batch 4096', threads: 1, measure: 'ratio', atLeast: 0.5 },
];

export interface TargetResult { what: string; value: number | null; unit: string; met: boolean | null; why?: string }

export function judgeTargets(rows: readonly PeerRow[], peakGflops: number): TargetResult[] {
  return TARGETS.map((t) => {
    const r = rows.find((x) => x.item === t.item && x.threads === t.threads);
    const unit = t.measure === 'ratio' ? '×' : t.measure === 'pctPeak' ? '% of peak' : 'ms';
    if (!r) return { what: t.what, value: null, unit, met: null, why: 'row not run' };
    if (!r.ours || (t.measure === 'ratio' && !r.theirs)) return { what: t.what, value: null, unit, met: null, why: r.note ?? 'a side did not run' };
    const value = t.measure === 'ratio' ? r.paired?.median ?? r.theirs!.medianMs / r.ours.medianMs
      : t.measure === 'pctPeak' ? (100 * (r.flops ?? NaN)) / (r.ours.medianMs * 1e6) / peakGflops
        : r.ours.medianMs / (r.models ?? 1);
    const met = t.atLeast !== undefined ? value >= t.atLeast : value <= t.atMost!;
    return { what: t.what, value, unit, met };
  });
}

export function describeTargets(results: readonly TargetResult[], quick: boolean): string[] {
  return [
    `Issue 15 targets, from this run${quick ? ' (--quick: short samples, not a measurement)' : ''}:`,
    ...results.map((r) => `- ${r.what}: ${r.value === null ? `– (${r.why})` : `${fmt(r.value)}${r.unit === '×' ? '×' : ` ${r.unit}`} — ${r.met ? 'met' : 'not met'}`}`),
  ];
}
