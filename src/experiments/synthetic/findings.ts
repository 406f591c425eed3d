import { bootstrapMeanInterval, mean, median, quantile, wilcoxonSignedRank, type Alternative } from '../stats.js';
import { cellLosses, type SyntheticModelName, type SyntheticResult } from './experiment.js';

/*
 * The paper's claims about the synthetic experiment, each as a paired test over the runs: a run
 * index names one data set (x, ε, u1, u2 and the initialisation), shared by every model and every
 * ρ, so two cells compare run by run (Wilcoxon signed-rank on the per-run differences).
 *   F1  every model does better as ρ rises;
 *   F2  MMoE is robust across ρ, OMoE degrades as ρ falls, and the two meet at ρ = 1;
 *   F3  both mixtures beat Shared-Bottom at every ρ;
 *   T   trainability: Shared-Bottom's final loss varies more over runs than a mixture's — tested
 *       on each run's distance to its cell's median, |loss − median| (a paired Brown–Forsythe
 *       form), the effect shown as the ratio of interquartile ranges.
 * A claim holds when its one-sided test rejects at SIGNIFICANCE (no correction for the number of
 * rows); "they meet" holds when the two-sided test does not reject, which is weak evidence.
 */

export const SIGNIFICANCE = 0.05;

const LABEL: Record<SyntheticModelName, string> = { mmoe: 'MMoE', omoe: 'OMoE', 'shared-bottom': 'Shared-Bottom' };

export interface CellSummary {
  model: SyntheticModelName;
  correlation: number;
  runs: number;
  mean: number;
  /** 95% percentile bootstrap interval of the mean (seeded). */
  ci: [number, number];
  median: number;
  q25: number;
  q75: number;
  min: number;
  max: number;
}

export function summarizeCells(result: SyntheticResult): CellSummary[] {
  const out: CellSummary[] = [];
  for (const correlation of [...result.settings.correlations].sort((a, b) => a - b)) {
    for (const model of result.settings.models) {
      const v = cellLosses(result.runs, model, correlation);
      if (v.length === 0) continue;
      out.push({
        model, correlation, runs: v.length, mean: mean(v), ci: bootstrapMeanInterval(v, { seed: 0 }), median: median(v),
        q25: quantile(v, 0.25), q75: quantile(v, 0.75), min: Math.min(...v), max: Math.max(...v),
      });
    }
  }
  return out;
}

export interface Finding {
  id: 'F1' | 'F2' | 'F3' | 'T';
  claim: string;
  /** What the effect is, e.g. "median Δ". */
  effectName: string;
  effect: number;
  /** Effect in relative terms where that reads better (fraction), else NaN. */
  relative: number;
  pValue: number;
  alternative: Alternative;
  n: number;
  holds: boolean;
}

function paired(a: number[], b: number[], what: string): void {
  if (a.length !== b.length) throw new Error(`syntheticFindings: ${what}: ${a.length} runs against ${b.length}; paired tests need the same runs`);
}

function diff(a: number[], b: number[]): number[] {
  return a.map((v, i) => v - b[i]);
}

function absDeviation(v: number[]): number[] {
  const m = median(v);
  return v.map((x) => Math.abs(x - m));
}

export function syntheticFindings(result: SyntheticResult): Finding[] {
  const { models } = result.settings;
  const rhos = [...result.settings.correlations].sort((a, b) => a - b);
  const has = (m: SyntheticModelName): boolean => models.includes(m);
  const loss = (m: SyntheticModelName, rho: number): number[] => cellLosses(result.runs, m, rho);
  const out: Finding[] = [];
  const test = (id: Finding['id'], claim: string, d: number[], alternative: Alternative, base: number[] | null, effectName = 'median Δ'): void => {
    const w = wilcoxonSignedRank(d, undefined, alternative);
    const effect = median(d);
    const holds = alternative === 'two-sided' ? w.pValue >= SIGNIFICANCE : w.pValue < SIGNIFICANCE && (alternative === 'greater' ? effect > 0 : effect < 0);
    out.push({ id, claim, effectName, effect, relative: base ? effect / median(base) : NaN, pValue: w.pValue, alternative, n: d.length, holds });
  };
  const lo = rhos[0], hi = rhos[rhos.length - 1];
  for (const m of models) {
    for (let i = 0; i + 1 < rhos.length; i++) {
      const a = loss(m, rhos[i]), b = loss(m, rhos[i + 1]);
      paired(a, b, `${m} at ${rhos[i]} and ${rhos[i + 1]}`);
      test('F1', `${LABEL[m]}: loss at ρ=${rhos[i]} > at ρ=${rhos[i + 1]}`, diff(a, b), 'greater', b);
    }
  }
  if (has('mmoe') && has('omoe') && rhos.length >= 2) {
    const oLo = loss('omoe', lo), oHi = loss('omoe', hi), mLo = loss('mmoe', lo), mHi = loss('mmoe', hi);
    paired(oLo, mLo, 'OMoE and MMoE');
    test('F2', `OMoE degrades as ρ falls: loss at ρ=${lo} > at ρ=${hi}`, diff(oLo, oHi), 'greater', oHi);
    test('F2', `MMoE degrades less than OMoE from ρ=${hi} to ρ=${lo}`, diff(diff(oLo, oHi), diff(mLo, mHi)), 'greater', null);
    test('F2', `MMoE beats OMoE at ρ=${lo}`, diff(oLo, mLo), 'greater', mLo);
    test('F2', `MMoE and OMoE meet at ρ=${hi} (no significant difference)`, diff(oHi, mHi), 'two-sided', mHi);
  }
  if (has('shared-bottom')) {
    for (const rho of rhos) {
      const sb = loss('shared-bottom', rho);
      for (const m of ['mmoe', 'omoe'] as const) {
        if (!has(m)) continue;
        const v = loss(m, rho);
        paired(sb, v, `Shared-Bottom and ${m}`);
        test('F3', `${LABEL[m]} beats Shared-Bottom at ρ=${rho}`, diff(sb, v), 'greater', v);
      }
    }
    for (const rho of rhos) {
      const sb = loss('shared-bottom', rho);
      for (const m of ['mmoe', 'omoe'] as const) {
        if (!has(m)) continue;
        const v = loss(m, rho);
        const iqr = (x: number[]): number => quantile(x, 0.75) - quantile(x, 0.25);
        const w = wilcoxonSignedRank(diff(absDeviation(sb), absDeviation(v)), undefined, 'greater');
        const ratio = iqr(v) > 0 ? iqr(sb) / iqr(v) : NaN;
        out.push({
          id: 'T', claim: `Shared-Bottom's final loss varies more than ${LABEL[m]}'s at ρ=${rho}`, effectName: 'IQR ratio',
          effect: ratio, relative: NaN, pValue: w.pValue, alternative: 'greater', n: sb.length, holds: w.pValue < SIGNIFICANCE && ratio > 1,
        });
      }
    }
  }
  return out;
}
