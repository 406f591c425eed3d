import Benchmark from 'benchmark';

/*
 * benchmark.js does the timing: it calibrates how many calls make one sample long enough for the
 * timer, and collects per-call times per sample. We keep its samples and report their median, min
 * and max (the mean is easily dragged by one GC pause or a neighbour process on a shared machine).
 */

export interface TimingOptions {
  /** Samples benchmark.js must collect, whatever maxTime says. */
  minSamples?: number;
  /** Seconds after which benchmark.js stops sampling (once minSamples are in). */
  maxTime?: number;
}

export interface Timing {
  /** Per-call times in milliseconds, one per benchmark.js sample. */
  samplesMs: number[];
  medianMs: number;
  minMs: number;
  maxMs: number;
  /** From `interleave`: the median of each round's samples, in round order (for paired ratios). */
  roundMediansMs?: number[];
}

export function summarize(samplesMs: number[]): Timing {
  if (samplesMs.length === 0) throw new Error('summarize: no samples');
  const s = samplesMs.slice().sort((a, b) => a - b);
  const mid = s.length >> 1;
  const medianMs = s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
  return { samplesMs, medianMs, minMs: s[0], maxMs: s[s.length - 1] };
}

/** Times fn with benchmark.js and returns the per-call sample times in ms. */
export function sample(name: string, fn: () => void, opts: TimingOptions = {}): number[] {
  const bench = new Benchmark(name, fn, {
    minSamples: opts.minSamples ?? 5,
    maxTime: opts.maxTime ?? 1,
    initCount: 1,
  });
  bench.run({ async: false });
  if (bench.error) throw new Error(`bench ${name}: ${bench.error.message ?? String(bench.error)}`);
  return bench.stats.sample.map((sec) => sec * 1000);
}

/** One benchmark on its own. */
export function measure(name: string, fn: () => void, opts: TimingOptions = {}): Timing {
  return summarize(sample(name, fn, opts));
}

export interface Contender {
  name: string;
  /** Called right before this contender's turn (switches a TF.js backend, for instance). */
  before?: () => void | Promise<void>;
  /** Timed by benchmark.js; give this or `samples`. */
  fn?: () => void;
  /**
   * Takes this contender's samples itself (per-call ms), for work benchmark.js cannot time: an
   * async call (sampleAsync) or another process (the PyTorch peer times itself the same way).
   */
  samples?: (opts: TimingOptions) => Promise<number[]>;
}

/** benchmark.js's shortest sample on any timer this precise: a sample repeats the call until it lasts this long. */
export const MIN_SAMPLE_SECONDS = 0.05;

/**
 * benchmark.js's sampling for an async function: calls are repeated (awaited one after another)
 * until a sample lasts MIN_SAMPLE_SECONDS; samples are taken until `minSamples` are in and
 * `maxTime` seconds have passed. Returns per-call ms per sample.
 */
export async function sampleAsync(fn: () => Promise<unknown>, opts: TimingOptions = {}): Promise<number[]> {
  const minSamples = opts.minSamples ?? 5, maxTime = opts.maxTime ?? 1;
  const run = async (n: number): Promise<number> => {
    const t0 = performance.now();
    for (let i = 0; i < n; i++) await fn();
    return performance.now() - t0;
  };
  await run(1);
  let n = 1;
  for (let ms = await run(n); ms < MIN_SAMPLE_SECONDS * 1000; ms = await run(n)) {
    n = Math.max(n * 2, Math.ceil((n * MIN_SAMPLE_SECONDS * 1000 * 1.1) / Math.max(ms, 1e-3)));
  }
  const out: number[] = [];
  const start = performance.now();
  while (out.length < minSamples || performance.now() - start < maxTime * 1000) out.push((await run(n)) / n);
  return out;
}

/**
 * Runs the contenders in turn, `rounds` times (A B C A B C ...), and pools each one's samples, so
 * that a slow patch on the shared machine hits every contender rather than whichever ran then.
 * Each round's median is kept too: ratios of the same round's medians (pairedRatio) cancel a
 * machine whose speed drifts between rounds, which pooled medians do not.
 */
export async function interleave(
  label: string, contenders: readonly Contender[], rounds: number, opts: TimingOptions = {},
): Promise<Map<string, Timing>> {
  const pooled = new Map<string, number[]>(contenders.map((c) => [c.name, []]));
  const perRound = new Map<string, number[]>(contenders.map((c) => [c.name, []]));
  for (let r = 0; r < rounds; r++) {
    for (const c of contenders) {
      if (c.before) await c.before();
      const got = c.samples ? await c.samples(opts) : c.fn ? sample(`${label} ${c.name}`, c.fn, opts) : [];
      if (got.length === 0) throw new Error(`interleave: ${label} ${c.name} has neither fn nor samples, or gave no samples`);
      pooled.get(c.name)!.push(...got);
      perRound.get(c.name)!.push(summarize(got).medianMs);
    }
  }
  return new Map([...pooled].map(([k, v]) => [k, { ...summarize(v), roundMediansMs: perRound.get(k)! }]));
}

export interface RatioStats {
  median: number;
  min: number;
  max: number;
  rounds: number;
}

/**
 * `slow`'s time ÷ `fast`'s, round by round (each round's medians, from interleave): the median,
 * min and max over rounds. > 1: `fast` is faster. Null without per-round medians on both sides.
 */
export function pairedRatio(fast: Timing, slow: Timing): RatioStats | null {
  const a = fast.roundMediansMs, b = slow.roundMediansMs;
  if (!a || !b || a.length === 0 || a.length !== b.length) return null;
  const r = summarize(a.map((t, i) => b[i] / t));
  return { median: r.medianMs, min: r.minMs, max: r.maxMs, rounds: a.length };
}
