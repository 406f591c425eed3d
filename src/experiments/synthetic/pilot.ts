import {
  LEARNING_RATE_GRID, SYNTHETIC_MODELS, stepsPerEpoch, syntheticJobs,
  type SyntheticJob, type SyntheticModelName, type SyntheticRun, type SyntheticSettings,
} from './experiment.js';

/*
 * The pilot that fixes what the paper leaves to tuning: Adam's learning rate per model from the
 * paper's grid, and one training length for every model. A few runs per (model, ρ, lr) on data
 * sets of their own (never the main runs' data), judged on validation rows only.
 *
 * Learning rate: per model, the grid value whose validation loss — the best the mean-over-runs
 * curve reaches at an epoch boundary, averaged over ρ — is lowest.
 * Training length: the smallest whole number of epochs E at which, for every model at its chosen
 * rate and every ρ, the mean validation curve has flattened — no later epoch of the pilot improves
 * on it by more than FLAT_TOLERANCE (relative) — with at least a quarter of the pilot left after
 * E to show it. If no E qualifies, the pilot's full length, marked not flat.
 */

/** Relative improvement after E under which a validation curve counts as flattened at E. */
export const FLAT_TOLERANCE = 0.05;

/** Pilot runs per (model, ρ, lr). */
export const PILOT_RUNS = 2;

export function pilotJobs(s: SyntheticSettings, grid: readonly number[] = LEARNING_RATE_GRID): SyntheticJob[] {
  const lrs: Partial<Record<SyntheticModelName, readonly number[]>> = {};
  for (const m of SYNTHETIC_MODELS) lrs[m] = grid;
  return syntheticJobs(s, 'pilot', lrs);
}

export interface PilotChoice {
  grid: number[];
  /** Fewest pilot runs in any (model, ρ, lr) cell. */
  runsPerCell: number;
  /** Pilot length (the longest a main run may be), in epochs. */
  pilotEpochs: number;
  /** Per model and lr: the score the choice minimised. */
  scores: Record<string, Record<string, number>>;
  lr: Record<SyntheticModelName, number>;
  epochs: number;
  flat: boolean;
  /**
   * Per model (at its lr) and ρ: how much the mean validation curve still improves after the chosen
   * length (v(E) / min over later epochs − 1), and over the last quarter of the pilot.
   */
  gaps: Array<{ model: SyntheticModelName; correlation: number; atChosen: number; lastQuarter: number; minimum: number }>;
}

/** Mean over runs of the validation curves (all runs of a cell log the same steps). */
function meanCurve(runs: readonly SyntheticRun[]): { steps: number[]; values: number[] } {
  const steps = runs[0].steps;
  return { steps, values: steps.map((_, i) => runs.reduce((a, r) => a + r.curve[i], 0) / runs.length) };
}

export function choosePilot(s: SyntheticSettings, runs: readonly SyntheticRun[], grid: readonly number[] = LEARNING_RATE_GRID): PilotChoice {
  const perEpoch = stepsPerEpoch(s);
  const atEpochs = (c: { steps: number[]; values: number[] }): number[] => {
    const out: number[] = [];
    for (let e = 1; e <= s.epochs; e++) {
      const i = c.steps.indexOf(e * perEpoch);
      if (i < 0) throw new Error(`choosePilot: the pilot curves do not log step ${e * perEpoch} (epoch ${e}); logEvery must divide the steps per epoch`);
      out.push(c.values[i]);
    }
    return out;
  };
  const cell = (m: SyntheticModelName, rho: number, lr: number): SyntheticRun[] => {
    const c = runs.filter((r) => r.phase === 'pilot' && r.model === m && r.correlation === rho && r.lr === lr);
    if (c.length === 0) throw new Error(`choosePilot: no pilot runs for ${m} at correlation ${rho}, lr ${lr}`);
    return c;
  };
  const scores: PilotChoice['scores'] = {};
  const lr = {} as Record<SyntheticModelName, number>;
  for (const m of s.models) {
    scores[m] = {};
    let best = Infinity;
    for (const rate of grid) {
      const score = s.correlations.reduce((a, rho) => a + Math.min(...atEpochs(meanCurve(cell(m, rho, rate)))), 0) / s.correlations.length;
      scores[m][String(rate)] = score;
      if (score < best) { best = score; lr[m] = rate; }
    }
  }
  const curves = s.models.flatMap((m) => s.correlations.map((rho) => ({ model: m, correlation: rho, values: atEpochs(meanCurve(cell(m, rho, lr[m]))) })));
  const gap = (v: number[], e: number): number => v[e - 1] / Math.min(...v.slice(e - 1)) - 1;
  const lastE = Math.floor(0.75 * s.epochs);
  let epochs = s.epochs;
  let flat = false;
  for (let e = 1; e <= lastE; e++) {
    if (curves.every((c) => gap(c.values, e) <= FLAT_TOLERANCE)) { epochs = e; flat = true; break; }
  }
  const runsPerCell = Math.min(...s.models.flatMap((m) => s.correlations.flatMap((rho) => grid.map((rate) => cell(m, rho, rate).length))));
  return {
    grid: [...grid], runsPerCell, pilotEpochs: s.epochs, scores, lr, epochs, flat,
    gaps: curves.map((c) => ({
      model: c.model, correlation: c.correlation, atChosen: gap(c.values, epochs), lastQuarter: gap(c.values, Math.max(1, lastE)), minimum: Math.min(...c.values),
    })),
  };
}
