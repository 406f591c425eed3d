import {
  LEARNING_RATE_GRID, SYNTHETIC_MODELS, stepsPerEpoch, syntheticJobs,
  type SyntheticJob, type SyntheticModelName, type SyntheticRun, type SyntheticSettings,
} from './experiment.js';

/*
 * The pilot that fixes what the paper leaves to tuning: Adam's learning rate per model from the
 * paper's grid, and one training length for every model. A few runs per (model, ρ, lr) on data
 * sets of their own (never the main runs' data), judged on validation rows only.
 *
 * The pilot trains once, to the longest length allowed (its `epochs`, the cap). The candidate
 * lengths double from `firstEpochs` up to the cap; at each, in order:
 * - rate: per model, the grid value whose *final* validation loss at that length (the mean-over-runs
 *   curve at its last step, averaged over ρ) is lowest — chosen at the length the main runs train;
 * - the stopping rule: for every model at that rate and every ρ, the mean validation curve improves
 *   by less than LENGTH_TOLERANCE over the length's last quarter (v(¾L) / v(L) − 1).
 * The first candidate that meets the rule is the length; none does: the cap, marked not met.
 * Training to the cap once is the same as rerunning the pilot at each doubled length: a run is
 * fixed by its seeds and trains at a constant rate, so its first L steps are the run of length L.
 */

/** Relative improvement over the last quarter under which a validation curve counts as flat. */
export const LENGTH_TOLERANCE = 0.02;

/** Pilot runs per (model, ρ, lr). */
export const PILOT_RUNS = 2;

export function pilotJobs(s: SyntheticSettings, grid: readonly number[] = LEARNING_RATE_GRID): SyntheticJob[] {
  const lrs: Partial<Record<SyntheticModelName, readonly number[]>> = {};
  for (const m of SYNTHETIC_MODELS) lrs[m] = grid;
  return syntheticJobs(s, 'pilot', lrs);
}

/** The doubling lengths (in epochs) from `first` to `cap`; `cap` must be `first` times a power of two. */
export function candidateLengths(first: number, cap: number): number[] {
  if (!Number.isInteger(first) || first < 1) throw new RangeError(`candidateLengths: first must be a positive integer, got ${first}`);
  const out: number[] = [];
  for (let e = first; e <= cap; e *= 2) out.push(e);
  if (out[out.length - 1] !== cap) throw new RangeError(`candidateLengths: the cap ${cap} epochs is not ${first} epochs doubled a whole number of times`);
  return out;
}

/** One candidate length as the rule saw it. */
export interface PilotLength {
  epochs: number;
  steps: number;
  /** The rates chosen at this length. */
  lr: Record<SyntheticModelName, number>;
  /** Per model and rate: the final validation loss at this length, averaged over ρ (what the choice minimised). */
  scores: Record<string, Record<string, number>>;
  /** Per model (at its rate) and ρ: v(¾L) / v(L) − 1 of the mean validation curve. */
  improvements: Array<{ model: SyntheticModelName; correlation: number; lastQuarter: number; final: number }>;
  /** Whether every improvement is under LENGTH_TOLERANCE. */
  met: boolean;
}

export interface PilotChoice {
  grid: number[];
  /** Fewest pilot runs in any (model, ρ, lr) cell. */
  runsPerCell: number;
  /** Pilot length (the cap: the longest a main run may be), in epochs. */
  pilotEpochs: number;
  /** Every candidate length up to the chosen one, in order. */
  lengths: PilotLength[];
  /** Per model and lr: final validation loss at the chosen length, averaged over ρ (what the rate choice minimised). */
  scores: Record<string, Record<string, number>>;
  lr: Record<SyntheticModelName, number>;
  epochs: number;
  /** Whether the stopping rule was met (false: the cap). */
  flat: boolean;
}

/** Mean over runs of the validation curves (all runs of a cell log the same steps). */
function meanCurve(runs: readonly SyntheticRun[]): { steps: number[]; values: number[] } {
  const steps = runs[0].steps;
  return { steps, values: steps.map((_, i) => runs.reduce((a, r) => a + r.curve[i], 0) / runs.length) };
}

/** The value of a logged curve at `step`, or at the last logged step before it when `atOrBefore`. */
function valueAt(c: { steps: number[]; values: number[] }, step: number, atOrBefore = false): number {
  let i = c.steps.indexOf(step);
  if (i < 0 && atOrBefore) for (let k = 0; k < c.steps.length && c.steps[k] <= step; k++) i = k;
  if (i < 0) throw new Error(`choosePilot: the pilot curves do not log step ${step}${atOrBefore ? ' or any before it' : ''}; logEvery must divide the steps per epoch`);
  return c.values[i];
}

export function choosePilot(s: SyntheticSettings, runs: readonly SyntheticRun[], firstEpochs: number, grid: readonly number[] = LEARNING_RATE_GRID): PilotChoice {
  const perEpoch = stepsPerEpoch(s);
  const cell = (m: SyntheticModelName, rho: number, lr: number): SyntheticRun[] => {
    const c = runs.filter((r) => r.phase === 'pilot' && r.model === m && r.correlation === rho && r.lr === lr);
    if (c.length === 0) throw new Error(`choosePilot: no pilot runs for ${m} at correlation ${rho}, lr ${lr}`);
    return c;
  };
  const curves = new Map<string, { steps: number[]; values: number[] }>();
  const curve = (m: SyntheticModelName, rho: number, lr: number): { steps: number[]; values: number[] } => {
    const key = `${m}/${rho}/${lr}`;
    let c = curves.get(key);
    if (c === undefined) curves.set(key, (c = meanCurve(cell(m, rho, lr))));
    return c;
  };
  const lengths: PilotLength[] = [];
  let scores: PilotChoice['scores'] = {};
  for (const epochs of candidateLengths(firstEpochs, s.epochs)) {
    const steps = epochs * perEpoch;
    const lr = {} as Record<SyntheticModelName, number>;
    scores = {};
    for (const m of s.models) {
      scores[m] = {};
      let best = Infinity;
      for (const rate of grid) {
        const score = s.correlations.reduce((a, rho) => a + valueAt(curve(m, rho, rate), steps), 0) / s.correlations.length;
        scores[m][String(rate)] = score;
        if (score < best) { best = score; lr[m] = rate; }
      }
    }
    const improvements = s.models.flatMap((m) => s.correlations.map((rho) => {
      const c = curve(m, rho, lr[m]);
      const final = valueAt(c, steps);
      return { model: m, correlation: rho, lastQuarter: valueAt(c, Math.floor(0.75 * steps), true) / final - 1, final };
    }));
    const met = improvements.every((g) => g.lastQuarter < LENGTH_TOLERANCE);
    lengths.push({ epochs, steps, lr, scores, improvements, met });
    if (met) break;
  }
  const chosen = lengths[lengths.length - 1];
  const runsPerCell = Math.min(...s.models.flatMap((m) => s.correlations.flatMap((rho) => grid.map((rate) => cell(m, rho, rate).length))));
  return { grid: [...grid], runsPerCell, pilotEpochs: s.epochs, lengths, scores, lr: chosen.lr, epochs: chosen.epochs, flat: chosen.met };
}
