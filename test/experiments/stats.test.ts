import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  bootstrapMeanInterval, mean, median, normalUpperTail, quantile, standardDeviation, wilcoxonSignedRank, type Alternative,
} from '../../src/experiments/stats.js';

interface Case { name: string; x: number[]; y: number[] | null; alternative: Alternative; method: 'exact' | 'approx'; statistic: number; pvalue: number }
const fixture = JSON.parse(readFileSync(new URL('./fixtures/wilcoxon-scipy.json', import.meta.url), 'utf8')) as { cases: Case[] };

describe('wilcoxonSignedRank against SciPy 1.17 (fixtures/wilcoxon-scipy.json)', () => {
  it.each(fixture.cases.map((c) => [`${c.name}, ${c.alternative}`, c] as const))('%s', (_name, c) => {
    const r = wilcoxonSignedRank(c.x, c.y ?? undefined, c.alternative);
    expect(r.method).toBe(c.method === 'exact' ? 'exact' : 'normal');
    // SciPy reports min(T+, T−) for two-sided tests and T+ otherwise.
    const max = (r.n * (r.n + 1)) / 2;
    expect(c.alternative === 'two-sided' ? Math.min(r.statistic, max - r.statistic) : r.statistic).toBe(c.statistic);
    // Exact p-values are sums of k / 2^n; the normal tail here is accurate to ~1e-7 relative.
    if (r.method === 'exact') expect(r.pValue).toBeCloseTo(c.pvalue, 14);
    else expect(Math.abs(r.pValue - c.pvalue) / c.pvalue).toBeLessThan(1e-6);
  });

  it('counts zeros and drops them, as zero_method "wilcox" does', () => {
    const r = wilcoxonSignedRank([0, 0, 1, 2, 3], undefined, 'greater');
    expect(r.zeros).toBe(2);
    expect(r.n).toBe(3);
    expect(r.statistic).toBe(6);
  });

  it('exact tails by hand: n = 3, all positive → P(T+ ≥ 6) = 1/8; two-sided 1/4', () => {
    expect(wilcoxonSignedRank([1, 2, 3], undefined, 'greater').pValue).toBeCloseTo(0.125, 15);
    expect(wilcoxonSignedRank([1, 2, 3], undefined, 'less').pValue).toBeCloseTo(1, 15);
    expect(wilcoxonSignedRank([1, 2, 3]).pValue).toBeCloseTo(0.25, 15);
    // Paired form: x − y.
    expect(wilcoxonSignedRank([2, 4, 6], [1, 2, 3], 'greater').pValue).toBeCloseTo(0.125, 15);
  });

  it('all differences zero: p = 1, n = 0', () => {
    expect(wilcoxonSignedRank([1, 2], [1, 2])).toMatchObject({ pValue: 1, n: 0, zeros: 2 });
  });

  it('rejects bad input by name', () => {
    expect(() => wilcoxonSignedRank([1, 2], [1])).toThrow('wilcoxonSignedRank: paired samples differ in length: 2 vs 1');
    expect(() => wilcoxonSignedRank([1, NaN])).toThrow('wilcoxonSignedRank: value 1 is NaN, expected a finite number');
    expect(() => wilcoxonSignedRank([])).toThrow('wilcoxonSignedRank: empty sample');
    expect(() => wilcoxonSignedRank([1], undefined, 'bigger' as Alternative)).toThrow(/alternative must be/);
  });
});

describe('location and spread', () => {
  it('mean, median, sample standard deviation', () => {
    expect(mean([1, 2, 3, 4])).toBe(2.5);
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(standardDeviation([2, 4, 4, 4, 5, 5, 7, 9])).toBeCloseTo(Math.sqrt(32 / 7), 14);
    expect(standardDeviation([5])).toBe(0);
  });

  it('quantile interpolates linearly like numpy.quantile', () => {
    // numpy.quantile([0.3, 0.1, 0.7, 0.2, 0.9, 0.4], q) for q = 0, .25, .5, .75, 1, .1
    const v = [0.3, 0.1, 0.7, 0.2, 0.9, 0.4];
    const want = [0.1, 0.225, 0.35, 0.625, 0.9, 0.15000000000000002];
    [0, 0.25, 0.5, 0.75, 1, 0.1].forEach((q, i) => expect(quantile(v, q)).toBeCloseTo(want[i], 15));
    expect(() => quantile(v, 1.5)).toThrow('quantile: q must be in [0, 1], got 1.5');
  });

  it('normal upper tail matches scipy.stats.norm.sf', () => {
    const z = [0, 0.5, 1.96, 3, -1.2, 5];
    const sf = [0.5, 0.3085375387259869, 0.024997895148220435, 0.0013498980316300933, 0.8849303297782918, 2.866515718791933e-07];
    z.forEach((v, i) => expect(Math.abs(normalUpperTail(v) - sf[i]) / sf[i]).toBeLessThan(2e-7));
  });
});

describe('bootstrapMeanInterval', () => {
  const v = Array.from({ length: 40 }, (_, i) => Math.sin(i * 1.7) + i / 40);

  it('is seeded: the same sample and seed give the same interval, another seed another', () => {
    expect(bootstrapMeanInterval(v)).toEqual(bootstrapMeanInterval(v));
    expect(bootstrapMeanInterval(v, { seed: 1 })).not.toEqual(bootstrapMeanInterval(v));
  });

  it('brackets the mean with about the normal-theory width', () => {
    const [lo, hi] = bootstrapMeanInterval(v, { resamples: 4000 });
    const m = mean(v), se = standardDeviation(v) / Math.sqrt(v.length);
    expect(lo).toBeLessThan(m);
    expect(hi).toBeGreaterThan(m);
    // Percentile bootstrap ≈ mean ± 1.96·se·√((n−1)/n) for a sample this regular; within 15%.
    expect((hi - lo) / (2 * 1.96 * se)).toBeGreaterThan(0.85);
    expect((hi - lo) / (2 * 1.96 * se)).toBeLessThan(1.15);
  });

  it('a constant sample gives a zero-width interval; bad options are errors', () => {
    expect(bootstrapMeanInterval([2, 2, 2])).toEqual([2, 2]);
    expect(() => bootstrapMeanInterval(v, { level: 1 })).toThrow(/level must be in \(0, 1\)/);
    expect(() => bootstrapMeanInterval(v, { resamples: 0 })).toThrow(/resamples must be a positive integer/);
  });
});
