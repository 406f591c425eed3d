import { describe, expect, it } from 'vitest';
import {
  PAPER_BOTTOM_UNITS, buildSyntheticModel, matchedBottomUnits, meanTaskLoss, resolveSyntheticSettings, runSyntheticJob, sineParameters, syntheticExperiment,
  syntheticJobs, syntheticSplit, totalSteps,
} from '../../../src/experiments/synthetic/experiment.js';
import { Tensor } from '../../../src/autograd/index.js';

const tiny = { runs: 2, epochs: 2, trainSize: 256, validationSize: 32, testSize: 64, batchSize: 64, logEvery: 3, correlations: [0.5, 1], seed: 3 };

describe('synthetic protocol', () => {
  const s = resolveSyntheticSettings(tiny);

  it('Shared-Bottom has the paper\'s 113 units by default; the parameter-matched width is an option', () => {
    expect(s.bottomUnits).toBe(PAPER_BOTTOM_UNITS);
    expect(s.bottomRule).toBe('paper');
    const matched = resolveSyntheticSettings({ ...tiny, bottomUnits: 'matched' });
    expect(matched.bottomUnits).toBe(matchedBottomUnits(matched).width);
    expect(matched.bottomUnits).toBe(126);
    expect(resolveSyntheticSettings({ ...tiny, bottomUnits: 40 }).bottomUnits).toBe(40);
  });

  it('α, β are one draw for every data set; train, validation and test rows are disjoint draws', () => {
    const a = syntheticSplit(s, { phase: 'main', correlationIndex: 0, run: 0 });
    const b = syntheticSplit(s, { phase: 'main', correlationIndex: 0, run: 1 });
    expect(a.train.x.shape).toEqual([256, 100]);
    expect(a.validation.x.shape).toEqual([32, 100]);
    expect(a.test.x.shape).toEqual([64, 100]);
    // Different rows of one generator: no test row equals a training row.
    const first = (t: { data: ArrayLike<number> }): number => t.data[0];
    expect(first(a.test.x)).not.toBe(first(a.train.x));
    expect(a.train.x.data).not.toEqual(b.train.x.data);
    // Labels of the same x under the same α, β and ρ would agree; different runs differ in u1, u2, x, ε only.
    expect(a.dataSeed).not.toBe(b.dataSeed);
  });

  it('a run\'s data set is shared across ρ: the same x, only the labels differ', () => {
    const lo = syntheticSplit(s, { phase: 'main', correlationIndex: 0, run: 1 });
    const hi = syntheticSplit(s, { phase: 'main', correlationIndex: 1, run: 1 });
    expect(hi.train.x.data).toEqual(lo.train.x.data);
    expect(hi.test.x.data).toEqual(lo.test.x.data);
    expect(hi.train.y.data).not.toEqual(lo.train.y.data);
    // At ρ = 1 the two tasks have the same weights: the labels differ only by the noise.
    let d = 0;
    for (let i = 0; i < 256; i++) d += (hi.train.y.data[2 * i] - hi.train.y.data[2 * i + 1]) ** 2;
    expect(Math.sqrt(d / 256)).toBeLessThan(0.2);
  });

  it('pilot data sets are not the main runs\' data sets', () => {
    const main = syntheticSplit(s, { phase: 'main', correlationIndex: 0, run: 0 });
    const pilot = syntheticSplit(s, { phase: 'pilot', correlationIndex: 0, run: 0 });
    expect(pilot.train.x.data).not.toEqual(main.train.x.data);
  });

  it('logs the test loss every logEvery steps and at the last step; the final loss is the last point', () => {
    const job = syntheticJobs(s)[0];
    const data = syntheticSplit(s, job);
    const { run } = runSyntheticJob(s, job, data);
    // 2 epochs × 4 steps = 8 steps; every 3 → 3, 6, then the last (8).
    expect(totalSteps(s)).toBe(8);
    expect(run.steps).toEqual([3, 6, 8]);
    expect(run.curve).toHaveLength(3);
    expect(run.finalLoss).toBe(run.curve[2]);
    expect((run.taskLoss[0] + run.taskLoss[1]) / 2).toBeCloseTo(run.finalLoss, 12);
    expect(() => runSyntheticJob(s, syntheticJobs(s)[s.models.length * s.runs], data)).toThrow(/data set main\/0\/0 given for job main\/mmoe\/rho=1/);
  });

  it('runs start from the same initialisation at every ρ, and the experiment is deterministic', () => {
    const a = buildSyntheticModel(s, { model: 'mmoe', run: 1, phase: 'main' }).stateDict();
    const b = buildSyntheticModel(s, { model: 'mmoe', run: 1, phase: 'main' }).stateDict();
    for (const k of Object.keys(a)) expect(b[k].data).toEqual(a[k].data);
    const r1 = syntheticExperiment({ ...tiny, runs: 1, models: ['omoe'] });
    const r2 = syntheticExperiment({ ...tiny, runs: 1, models: ['omoe'] });
    expect(r2.runs.map((r) => r.curve)).toEqual(r1.runs.map((r) => r.curve));
    expect(r1.alpha).toHaveLength(10);
  });

  it('takes one learning rate per model', () => {
    const t = resolveSyntheticSettings({ ...tiny, lr: { mmoe: 1e-2, 'shared-bottom': 1e-4 } });
    expect(t.lr).toEqual({ mmoe: 1e-2, omoe: 1e-3, 'shared-bottom': 1e-4 });
    expect(syntheticJobs(t).filter((j) => j.model === 'mmoe').every((j) => j.lr === 1e-2)).toBe(true);
  });

  it('rejects bad options by name', () => {
    expect(() => resolveSyntheticSettings({ ...tiny, lr: { dcn: 1 } as never })).toThrow("syntheticExperiment: lr names unknown model 'dcn'");
    expect(() => resolveSyntheticSettings({ ...tiny, epochz: 3 } as never)).toThrow("syntheticExperiment: unknown option 'epochz'");
    expect(() => resolveSyntheticSettings({ ...tiny, correlations: [0.5, 0.5] })).toThrow(/correlations name a value twice/);
    expect(() => resolveSyntheticSettings({ ...tiny, runs: 0 })).toThrow('syntheticExperiment: runs must be a positive integer, got 0');
  });

  it('the first L steps of a longer run are the run of length L (why the pilot trains to its cap once)', () => {
    const short = resolveSyntheticSettings({ ...tiny, logEvery: 1 });
    const long = resolveSyntheticSettings({ ...tiny, logEvery: 1, epochs: 4 });
    const job = syntheticJobs(short, 'pilot')[0];
    const a = runSyntheticJob(short, job, syntheticSplit(short, job)).run;
    const b = runSyntheticJob(long, job, syntheticSplit(long, job)).run;
    expect(b.steps.slice(0, a.steps.length)).toEqual(a.steps);
    expect(b.curve.slice(0, a.curve.length)).toEqual(a.curve);
    expect(b.curve.length).toBe(2 * a.curve.length);
  });

  it('records the loss on training rows at the end (the train–test gap) and takes the linear generator', () => {
    const job = syntheticJobs(s)[0];
    const { run, model } = runSyntheticJob(s, job, syntheticSplit(s, job));
    const data = syntheticSplit(s, job);
    const n = Math.min(s.testSize, s.trainSize);
    const rows = { x: new Tensor(data.train.x.data.subarray(0, n * 100), [n, 100]), y: new Tensor(data.train.y.data.subarray(0, n * 2), [n, 2]) };
    expect(run.trainLoss).toBe(meanTaskLoss(model, rows)[0]);
    const linear = resolveSyntheticSettings({ ...tiny, sineTerms: 0 });
    expect(sineParameters(linear).alpha).toHaveLength(0);
    const y = syntheticSplit(linear, job).train;
    // No sine terms: y_k = w_kᵀx + ε, so at ρ = 0.5 and 100 inputs the label is linear in x.
    expect(y.y.shape).toEqual([256, 2]);
    expect(() => resolveSyntheticSettings({ ...tiny, sineTerms: -1 })).toThrow('syntheticExperiment: sineTerms must be a non-negative integer, got -1');
  });
});
