import { Generator } from '../tensor/index.js';

/*
 * The few statistics the paper's experiments are judged by: location (mean, median, quantiles),
 * a seeded percentile bootstrap interval of the mean, and the Wilcoxon signed-rank test for
 * paired samples (the same data sets trained by two models). Conventions follow SciPy's
 * `scipy.stats.wilcoxon` defaults (zero_method 'wilcox', no continuity correction, exact null
 * distribution for small samples without ties or zeros), so its outputs are reference values.
 */

function finiteSample(fn: string, v: ArrayLike<number>): number[] {
  const a = Array.from(v);
  if (a.length === 0) throw new RangeError(`${fn}: empty sample`);
  a.forEach((x, i) => { if (!Number.isFinite(x)) throw new RangeError(`${fn}: value ${i} is ${x}, expected a finite number`); });
  return a;
}

export function mean(v: ArrayLike<number>): number {
  const a = finiteSample('mean', v);
  let s = 0;
  for (const x of a) s += x;
  return s / a.length;
}

/** Sample standard deviation (n − 1 in the denominator; 0 for one value). */
export function standardDeviation(v: ArrayLike<number>): number {
  const a = finiteSample('standardDeviation', v);
  if (a.length < 2) return 0;
  const m = mean(a);
  let s = 0;
  for (const x of a) s += (x - m) * (x - m);
  return Math.sqrt(s / (a.length - 1));
}

/** The q-quantile by linear interpolation between order statistics (NumPy's default, 'linear'). */
export function quantile(v: ArrayLike<number>, q: number): number {
  if (!(q >= 0 && q <= 1)) throw new RangeError(`quantile: q must be in [0, 1], got ${q}`);
  const a = finiteSample('quantile', v).sort((x, y) => x - y);
  const h = (a.length - 1) * q;
  const lo = Math.floor(h);
  return lo + 1 < a.length ? a[lo] + (h - lo) * (a[lo + 1] - a[lo]) : a[lo];
}

export function median(v: ArrayLike<number>): number {
  return quantile(v, 0.5);
}

export interface BootstrapOptions {
  /** Resamples. Default 2000. */
  resamples?: number;
  /** Coverage of the interval. Default 0.95. */
  level?: number;
  /** Seed of the resampling. Default 0: the same sample always gives the same interval. */
  seed?: number;
}

/** Percentile bootstrap interval of the mean: resample with replacement, take the mean's quantiles. */
export function bootstrapMeanInterval(v: ArrayLike<number>, o: BootstrapOptions = {}): [number, number] {
  const a = finiteSample('bootstrapMeanInterval', v);
  const resamples = o.resamples ?? 2000;
  const level = o.level ?? 0.95;
  if (!Number.isInteger(resamples) || resamples < 1) throw new RangeError(`bootstrapMeanInterval: resamples must be a positive integer, got ${resamples}`);
  if (!(level > 0 && level < 1)) throw new RangeError(`bootstrapMeanInterval: level must be in (0, 1), got ${level}`);
  const g = new Generator(o.seed ?? 0);
  const means = new Float64Array(resamples);
  const n = a.length;
  for (let b = 0; b < resamples; b++) {
    let s = 0;
    for (let i = 0; i < n; i++) s += a[g.randint(n)];
    means[b] = s / n;
  }
  const tail = (1 - level) / 2;
  return [quantile(means, tail), quantile(means, 1 - tail)];
}

export type Alternative = 'two-sided' | 'greater' | 'less';

export interface WilcoxonResult {
  /** T+, the sum of the ranks of the positive differences. */
  statistic: number;
  pValue: number;
  /** Non-zero differences (the zeros are dropped, SciPy's zero_method 'wilcox'). */
  n: number;
  /** Differences that were exactly zero. */
  zeros: number;
  method: 'exact' | 'normal';
  /** The standardised statistic of the normal approximation (NaN for the exact test). */
  z: number;
}

/** Samples up to this size without ties or zeros get the exact null distribution (SciPy's rule). */
export const WILCOXON_EXACT_MAX_N = 50;

/** Average ranks (1-based) of |d|, ties sharing their mean rank; also Σ(t³ − t) over tie groups. */
function signedRanks(d: readonly number[]): { ranks: Float64Array; tieTerm: number } {
  const order = d.map((_, i) => i).sort((i, j) => Math.abs(d[i]) - Math.abs(d[j]));
  const ranks = new Float64Array(d.length);
  let tieTerm = 0;
  for (let i = 0; i < order.length;) {
    let j = i;
    while (j + 1 < order.length && Math.abs(d[order[j + 1]]) === Math.abs(d[order[i]])) j++;
    const t = j - i + 1;
    const rank = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) ranks[order[k]] = rank;
    tieTerm += t * t * t - t;
    i = j + 1;
  }
  return { ranks, tieTerm };
}

/** P(T+ = k), k = 0..n(n+1)/2, under H0: each rank 1..n is positive with probability ½. */
function exactNullDistribution(n: number): Float64Array {
  const max = (n * (n + 1)) / 2;
  let counts = new Float64Array(max + 1);
  counts[0] = 1;
  for (let r = 1; r <= n; r++) {
    const next = counts.slice();
    for (let k = r; k <= max; k++) next[k] += counts[k - r];
    counts = next;
  }
  const total = 2 ** n;
  for (let k = 0; k <= max; k++) counts[k] /= total;
  return counts;
}

/** Upper tail of the standard normal, Q(z) = P(Z ≥ z) = erfc(z / √2) / 2. */
export function normalUpperTail(z: number): number {
  return 0.5 * erfc(z / Math.SQRT2);
}

/** Complementary error function, |relative error| < 1.2e-7 (Numerical Recipes' Chebyshev fit, erfcc). */
function erfc(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const r = t * Math.exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806
    + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))));
  return x >= 0 ? r : 2 - r;
}

/**
 * Wilcoxon signed-rank test of the paired differences x − y (or of x alone, as differences).
 * 'greater' tests whether the differences tend to be positive (x larger than y), 'less' negative.
 * Zero differences are dropped; tied |d| get average ranks. Exact when n ≤ 50 with no ties and
 * no zeros; otherwise the normal approximation of T+ with the tie-corrected variance
 * n(n+1)(2n+1)/24 − Σ(t³ − t)/48 and no continuity correction.
 */
export function wilcoxonSignedRank(x: ArrayLike<number>, y?: ArrayLike<number>, alternative: Alternative = 'two-sided'): WilcoxonResult {
  const a = finiteSample('wilcoxonSignedRank', x);
  let d = a;
  if (y !== undefined) {
    const b = finiteSample('wilcoxonSignedRank', y);
    if (b.length !== a.length) throw new RangeError(`wilcoxonSignedRank: paired samples differ in length: ${a.length} vs ${b.length}`);
    d = a.map((v, i) => v - b[i]);
  }
  if (!['two-sided', 'greater', 'less'].includes(alternative)) throw new RangeError(`wilcoxonSignedRank: alternative must be 'two-sided', 'greater' or 'less', got '${alternative}'`);
  const nonzero = d.filter((v) => v !== 0);
  const zeros = d.length - nonzero.length;
  const n = nonzero.length;
  if (n === 0) return { statistic: 0, pValue: 1, n: 0, zeros, method: 'exact', z: NaN };
  const { ranks, tieTerm } = signedRanks(nonzero);
  let tPlus = 0;
  for (let i = 0; i < n; i++) if (nonzero[i] > 0) tPlus += ranks[i];
  const max = (n * (n + 1)) / 2;
  if (n <= WILCOXON_EXACT_MAX_N && tieTerm === 0 && zeros === 0) {
    const p = exactNullDistribution(n);
    // T+ is an integer here (no ties); upper = P(T+ ≥ t), lower = P(T+ ≤ t).
    let upper = 0, lower = 0;
    for (let k = 0; k <= max; k++) {
      if (k >= tPlus) upper += p[k];
      if (k <= tPlus) lower += p[k];
    }
    const pValue = alternative === 'greater' ? upper : alternative === 'less' ? lower : Math.min(1, 2 * Math.min(upper, lower));
    return { statistic: tPlus, pValue, n, zeros, method: 'exact', z: NaN };
  }
  const mu = max / 2;
  const variance = (n * (n + 1) * (2 * n + 1)) / 24 - tieTerm / 48;
  const z = variance > 0 ? (tPlus - mu) / Math.sqrt(variance) : 0;
  const pValue = alternative === 'greater' ? normalUpperTail(z) : alternative === 'less' ? normalUpperTail(-z) : Math.min(1, 2 * normalUpperTail(Math.abs(z)));
  return { statistic: tPlus, pValue, n, zeros, method: 'normal', z };
}
