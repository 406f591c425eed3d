import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { syntheticExperiment, type SyntheticResult, type SyntheticExperimentOptions } from '../../../src/experiments/synthetic/experiment.js';
import { syntheticExperimentParallel } from '../../../src/experiments/synthetic/parallel.js';

// Small enough to train 12 runs in well under a second, big enough that runs differ.
const tiny: SyntheticExperimentOptions = { runs: 2, epochs: 2, trainSize: 256, validationSize: 32, testSize: 64, batchSize: 64, correlations: [0.5, 1], seed: 3 };

/** Everything but wall times, with kept models reduced to their weights. */
function comparable(r: SyntheticResult) {
  return {
    settings: r.settings,
    parameters: r.parameters,
    labelCorrelations: r.labelCorrelations,
    runs: r.runs.map(({ seconds: _s, ...rest }) => rest),
    kept: r.mmoeModels.map((m) => ({
      correlation: m.correlation,
      testX: Array.from(m.testX.data),
      weights: Object.fromEntries(Object.entries(m.model.stateDict()).map(([k, t]) => [k, Array.from(t.data)])),
    })),
  };
}

describe('syntheticExperimentParallel', () => {
  const sequential = comparable(syntheticExperiment(tiny));

  it('gives the sequential result bit for bit on 2 workers (runs, label correlations, kept MMoE weights)', async () => {
    const notes: string[] = [];
    const progress: number[] = [];
    const r = await syntheticExperimentParallel({ ...tiny, onRun: (_run, done) => progress.push(done) }, { workers: 2, onNote: (l) => notes.push(l) });
    expect(notes).toEqual([]);
    expect(comparable(r)).toEqual(sequential);
    expect(progress).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
    expect(r.mmoeModels.map((m) => m.correlation)).toEqual([0.5, 1]);
  });

  it('with workers: 1 runs in this thread, never starting a worker', async () => {
    let started = 0;
    const r = await syntheticExperimentParallel(tiny, { workers: 1, spawn: () => { started++; throw new Error('unused'); } });
    expect(started).toBe(0);
    expect(comparable(r)).toEqual(sequential);
  });

  it('falls back to this thread with one note when workers fail to start', async () => {
    const notes: string[] = [];
    const r = await syntheticExperimentParallel(tiny, {
      workers: 2,
      onNote: (l) => notes.push(l),
      spawn: () => new Worker('throw new Error("no threads here")', { eval: true }),
    });
    expect(notes).toHaveLength(1);
    expect(notes[0]).toMatch(/^synthetic: worker threads failed \(.*no threads here.*\); running the 3 remaining job groups in this thread$/);
    expect(comparable(r)).toEqual(sequential);
  });

  it('starts as many workers as asked when that is more than half the jobs', async () => {
    // 4 jobs on 4 workers: each started worker takes a job, which must not shrink the count started.
    let started = 0;
    const small: SyntheticExperimentOptions = { ...tiny, correlations: [0.5], models: ['mmoe', 'omoe'] };
    const notes: string[] = [];
    await syntheticExperimentParallel(small, {
      // One job per request (stacked groups would be fewer requests than workers).
      workers: 4, stack: 1,
      onNote: (l) => notes.push(l),
      spawn: () => { started++; return new Worker('throw new Error("no threads here")', { eval: true }); },
    });
    expect(started).toBe(4);
    expect(notes).toHaveLength(1);
  });

  it('falls back when spawning itself throws', async () => {
    const notes: string[] = [];
    const r = await syntheticExperimentParallel(tiny, { workers: 2, onNote: (l) => notes.push(l), spawn: () => { throw new Error('spawn refused'); } });
    expect(notes).toEqual(['synthetic: worker threads failed (spawn refused); running the 3 remaining job groups in this thread']);
    expect(comparable(r)).toEqual(sequential);
  });
});
