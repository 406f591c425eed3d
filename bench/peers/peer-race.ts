import { setNumThreads } from '../../src/index.js';
import { threadsReady } from '../../src/tensor/wasm/runtime.js';
import { fmt } from '../lib/report.js';
import { interleave, pairedRatio, type RatioStats, type Timing, type TimingOptions } from '../lib/timing.js';
import type { Plan } from './plan.js';

/*
 * One row of the PyTorch / onnxruntime-node table and the interleaved race that fills it: ours
 * (on `threads` threads of our pool) and the peer (told the same thread count) take turns, round
 * by round, so a slow patch on a shared machine hits both.
 */

export type Peer = 'pytorch' | 'onnxruntime-node';

export interface PeerRow {
  item: string;
  peer: Peer;
  threads: number;
  ours: Timing | null;
  theirs: Timing | null;
  /** What one call does: a step ('ms'), or `rows` rows of predict (shown as calls/s or rows/s). */
  unit: 'ms' | 'calls/s' | 'rows/s';
  rows?: number;
  /** Flops of the matrix products one of our calls does (bench/lib/step-flops.ts), for % of the SIMD peak. */
  flops?: number;
  /** Models per call (stacked rows): per-model time = time ÷ models. */
  models?: number;
  /**
   * Their time ÷ ours within each interleaved round, over the rounds (> 1: ours faster): on a host
   * whose speed drifts it is the steadier ratio, and the one the targets judge.
   */
  paired?: RatioStats | null;
  /** Why a side did not run ('skipped: …'), or the error that failed the row. */
  note?: string;
  failed?: boolean;
}

export async function useThreads(n: number): Promise<void> {
  setNumThreads(n);
  if (n > 1) {
    const got = await threadsReady();
    if (got < n) throw new Error(`bench:peers: asked for ${n} threads, our pool has ${got}`);
  }
}

/** Races ours against the peer's own sampler on `threads` threads; either side may be absent. */
export async function racePeer(
  plan: Plan, label: string, threads: number,
  ours: (() => void) | null, theirs: ((o: TimingOptions) => Promise<number[]>) | null,
  full: { rounds: number; minSamples: number; maxTime: number }, log: (s: string) => void,
): Promise<{ ours: Timing | null; theirs: Timing | null; paired: RatioStats | null }> {
  const contenders = [];
  if (ours) contenders.push({ name: 'ours', before: () => useThreads(threads), fn: ours });
  if (theirs) contenders.push({ name: 'theirs', samples: theirs });
  const t = await interleave(`${label} ×${threads}`, contenders, plan.rounds(full.rounds), plan.sampling(full));
  const ours1 = t.get('ours') ?? null, theirs1 = t.get('theirs') ?? null;
  const r = { ours: ours1, theirs: theirs1, paired: ours1 && theirs1 ? pairedRatio(ours1, theirs1) : null };
  log(`${label}, ${threads} thread(s): ours ${r.ours ? fmt(r.ours.medianMs) : '-'} ms, theirs ${r.theirs ? fmt(r.theirs.medianMs) : '-'} ms${r.paired ? `, per-round ratio ${fmt(r.paired.median)} (${fmt(r.paired.min)}–${fmt(r.paired.max)})` : ''}`);
  return r;
}
