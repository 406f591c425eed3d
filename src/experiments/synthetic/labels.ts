import { syntheticMultiTask } from '../../data/synthetic.js';
import { sineParameters, type SyntheticSettings } from './experiment.js';

/*
 * What a generator choice (the sine draw, or none) does to the labels, without training: the
 * variance of a label — the loss of predicting its mean, so the scale a stuck run is judged on —
 * and the label correlation the generator produces at each ρ (the paper's correlation plot). Both
 * depend on the draw of α, β alone: w_kᵀx ~ N(0, c²) with c = 1 whatever the width d.
 */

/** The generator's label noise variance (σ = 0.1). */
const NOISE_VARIANCE = 0.01;

/**
 * Var[z + Σ sin(α_i z + β_i)] + σ² for z ~ N(0, 1), by the trapezoid rule on [−10, 10]: the
 * variance of either task's label, the same for both (|w_k| = 1).
 */
export function labelVariance(s: Pick<SyntheticSettings, 'sineSeed' | 'sineTerms'>): number {
  const { alpha, beta } = sineParameters(s);
  const n = 8000, lo = -10, h = 20 / n;
  let m1 = 0, m2 = 0, mass = 0;
  for (let k = 0; k <= n; k++) {
    const z = lo + k * h;
    let f = z;
    for (let i = 0; i < alpha.length; i++) f += Math.sin(alpha[i] * z + beta[i]);
    const w = (k === 0 || k === n ? 0.5 : 1) * Math.exp(-z * z / 2);
    mass += w; m1 += w * f; m2 += w * f * f;
  }
  const mean = m1 / mass;
  return m2 / mass - mean * mean + NOISE_VARIANCE;
}

export interface LabelCorrelationCurve {
  name: string;
  /** Pairs [ρ, Pearson correlation of the two label columns produced]. */
  points: Array<[number, number]>;
}

/** ρ from −1 to 1 in `count` even steps. */
export function correlationGrid(count = 41): number[] {
  if (!Number.isInteger(count) || count < 2) throw new RangeError(`correlationGrid: count must be an integer >= 2, got ${count}`);
  return Array.from({ length: count }, (_, i) => Number((-1 + (2 * i) / (count - 1)).toFixed(6)));
}

/**
 * The label correlation the generator produces at each ρ, measured on `rows` rows of one seeded
 * data set per ρ (d = 2: the labels depend on x only through w1ᵀx and w2ᵀx, whose law does not
 * depend on d), so the statistical error is about 1/√rows.
 */
export function labelCorrelationCurve(
  name: string, s: Pick<SyntheticSettings, 'sineSeed' | 'sineTerms'>, rhos: readonly number[] = correlationGrid(), rows = 50000,
): LabelCorrelationCurve {
  const { alpha, beta } = sineParameters(s);
  return { name, points: rhos.map((rho) => [rho, syntheticMultiTask({ n: rows, dim: 2, correlation: rho, seed: 1, alpha, beta }).labelCorrelation]) };
}
