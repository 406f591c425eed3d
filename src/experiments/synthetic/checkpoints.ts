import { median } from '../stats.js';
import { totalSteps, type SyntheticModelName, type SyntheticResult, type SyntheticRun } from './experiment.js';

/*
 * Reading one finished experiment at several lengths, so a reader sees whether a verdict is stable
 * or a race that changes hands: the test loss of every run at fixed checkpoint steps (taken from
 * its logged curve, so nothing is retrained), the runs that never left the initial plateau, and
 * the train–test gap that says whether the data was the limit.
 */

/** Fixed checkpoints (steps) besides the final one: the length of the 3,072-step record and 4× it. */
export const CHECKPOINT_STEPS = [3072, 12288] as const;

/**
 * A run is stuck when its final test loss is above this fraction of the label variance, i.e. it
 * explains less than half of what predicting the mean leaves (trained runs reach a few percent).
 */
export const STUCK_FRACTION = 0.5;

/** The fixed checkpoints a result of `s` reaches before its end, then its final step. */
export function checkpointSteps(s: Parameters<typeof totalSteps>[0], fixed: readonly number[] = CHECKPOINT_STEPS): number[] {
  const last = totalSteps(s);
  return [...fixed.filter((c) => c < last), last];
}

/** The result as it stood at `step`: every run's finalLoss is its logged test loss there. */
export function resultAtStep(result: SyntheticResult, step: number): SyntheticResult {
  const runs = result.runs.map((r): SyntheticRun => {
    const i = r.steps.indexOf(step);
    if (i < 0) throw new Error(`resultAtStep: ${r.model} at ρ=${r.correlation}, run ${r.run} did not log step ${step} (logged every ${result.settings.logEvery} steps up to ${r.steps[r.steps.length - 1]})`);
    return { ...r, finalLoss: r.curve[i] };
  });
  return { ...result, runs };
}

export interface StuckRun { model: SyntheticModelName; correlation: number; run: number; loss: number }

/** The main-phase runs whose final loss is above STUCK_FRACTION × `labelVariance`, cell by cell, in run order. */
export function stuckRuns(result: SyntheticResult, labelVariance: number): StuckRun[] {
  const limit = STUCK_FRACTION * labelVariance;
  return result.runs.filter((r) => r.phase === 'main' && r.finalLoss > limit)
    .sort((a, b) => a.correlation - b.correlation || a.model.localeCompare(b.model) || a.run - b.run)
    .map((r) => ({ model: r.model, correlation: r.correlation, run: r.run, loss: r.finalLoss }));
}

export interface GapSummary { model: SyntheticModelName; correlation: number; train: number; test: number; gap: number; runs: number }

/** Per cell: median final loss on training rows and on test rows, and the median per-run gap (test − train). */
export function trainTestGaps(result: SyntheticResult): GapSummary[] {
  const out: GapSummary[] = [];
  for (const correlation of [...result.settings.correlations].sort((a, b) => a - b)) {
    for (const model of result.settings.models) {
      const runs = result.runs.filter((r) => r.phase === 'main' && r.model === model && r.correlation === correlation && Number.isFinite(r.trainLoss));
      if (runs.length === 0) continue;
      out.push({
        model, correlation, runs: runs.length, train: median(runs.map((r) => r.trainLoss!)), test: median(runs.map((r) => r.finalLoss)),
        gap: median(runs.map((r) => r.finalLoss - r.trainLoss!)),
      });
    }
  }
  return out;
}
