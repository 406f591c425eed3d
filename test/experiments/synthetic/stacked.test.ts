import { describe, expect, it } from 'vitest';
import type { SyntheticExperimentOptions, SyntheticResult } from '../../../src/experiments/synthetic/experiment.js';
import { syntheticExperimentParallel } from '../../../src/experiments/synthetic/parallel.js';
import { groupJobs } from '../../../src/experiments/synthetic/stacked.js';
import { resolveSyntheticSettings, syntheticJobs } from '../../../src/experiments/synthetic/experiment.js';

// Three runs per cell so that a stack of 2 leaves a group of one (the unstacked path) too.
const tiny: SyntheticExperimentOptions = { runs: 3, epochs: 2, trainSize: 192, validationSize: 32, testSize: 64, batchSize: 64, correlations: [0.5, 1], seed: 5, logEvery: 2 };

function comparable(r: SyntheticResult) {
  return {
    runs: r.runs.map(({ seconds: _s, ...rest }) => rest),
    labelCorrelations: r.labelCorrelations,
    kept: r.mmoeModels.map((m) => Object.fromEntries(Object.entries(m.model.stateDict()).map(([k, t]) => [k, Array.from(t.data)]))),
  };
}

describe('synthetic experiment, stacked (--stack)', () => {
  it('groups runs of one model and rate, at most `stack` per group, across ρ, in order', () => {
    const s = resolveSyntheticSettings(tiny);
    const groups = groupJobs(syntheticJobs(s), 2);
    expect(groups.map((g) => g.map((j) => `${j.correlationIndex}/${j.model}/${j.run}`).join(' '))).toEqual([
      '0/mmoe/0 0/mmoe/1', '0/omoe/0 0/omoe/1', '0/shared-bottom/0 0/shared-bottom/1', '0/mmoe/2 1/mmoe/0', '0/omoe/2 1/omoe/0', '0/shared-bottom/2 1/shared-bottom/0',
      '1/mmoe/1 1/mmoe/2', '1/omoe/1 1/omoe/2', '1/shared-bottom/1 1/shared-bottom/2',
    ]);
    // The pilot: a group never mixes rates.
    const pilot = groupJobs(syntheticJobs(s, 'pilot', { mmoe: [1e-3, 1e-2] }).filter((j) => j.model === 'mmoe'), 8);
    expect(pilot.map((g) => [g.length, new Set(g.map((j) => j.lr)).size])).toEqual([[6, 1], [6, 1]]);
    expect(() => groupJobs([], 0)).toThrow(/^groupJobs: stack must be an integer ≥ 1, got 0/);
  });

  it('gives the same results table, bit for bit, with --stack 1, 2, 3 and 6 (across ρ), in this thread and on 2 workers', async () => {
    const one = comparable(await syntheticExperimentParallel(tiny, { workers: 1, stack: 1 }));
    expect(one.runs.length).toBe(18);
    expect(one.runs.every((r) => r.curve.length === 3 && Number.isFinite(r.finalLoss))).toBe(true);
    expect(comparable(await syntheticExperimentParallel(tiny, { workers: 1, stack: 3 }))).toEqual(one);
    expect(comparable(await syntheticExperimentParallel(tiny, { workers: 2, stack: 2 }))).toEqual(one);
    expect(comparable(await syntheticExperimentParallel(tiny, { workers: 1, stack: 6 }))).toEqual(one);
  });
});
