import { describe, expect, it } from 'vitest';
import {
  censusExperiment, censusJobs, resolveCensusSettings, spread, summarizeCensusRuns, type CensusRun,
} from '../../../src/experiments/census/experiment.js';

const run = (model: CensusRun['model'], seed: number, a: number, b: number): CensusRun => ({
  group: 'income-marital', model, seed, parameters: 10, history: [], seconds: 1, validation: {},
  test: { income: { auc: a, logloss: 0, accuracy: 0 }, never_married: { auc: b, logloss: 0, accuracy: 0 } },
});

describe('census experiment pieces', () => {
  it('spread: mean, sample std, min, max', () => {
    const s = spread([0.9, 0.92, 0.94]);
    expect(s.mean).toBeCloseTo(0.92, 12);
    expect(s.std).toBeCloseTo(0.02, 12);
    expect(s.min).toBe(0.9);
    expect(s.max).toBe(0.94);
    expect(spread([0.5]).std).toBe(0);
    expect(Number.isNaN(spread([]).mean)).toBe(true);
  });

  it('summarizeCensusRuns: one row per group and model, in run order, AUC spread per task', () => {
    const rows = summarizeCensusRuns([run('mmoe', 0, 0.9, 0.99), run('mmoe', 1, 0.94, 0.97), run('omoe', 0, 0.8, 0.9)]);
    expect(rows.map((r) => [r.model, r.runs])).toEqual([['mmoe', 2], ['omoe', 1]]);
    expect(rows[0].auc.income.mean).toBeCloseTo(0.92, 12);
    expect(rows[0].auc.income.max).toBe(0.94);
    expect(rows[0].auc.never_married.max).toBe(0.99);
    expect(rows[0].seconds).toBe(2);
  });

  it('jobs run group → model → seed; bad settings are named', () => {
    const s = resolveCensusSettings({ seeds: 2, firstSeed: 5, models: ['mmoe', 'ple'] });
    expect(censusJobs(s).map((j) => `${j.index}:${j.group}:${j.model}:${j.seed}`)).toEqual([
      '0:income-marital:mmoe:5', '1:income-marital:mmoe:6', '2:income-marital:ple:5', '3:income-marital:ple:6',
      '4:education-marital:mmoe:5', '5:education-marital:mmoe:6', '6:education-marital:ple:5', '7:education-marital:ple:6',
    ]);
    expect(() => resolveCensusSettings({ seeds: 0 })).toThrow(/censusExperiment: seeds must be an integer ≥ 1, got 0/);
    expect(() => resolveCensusSettings({ models: ['dcn' as never] })).toThrow(/unknown model 'dcn'/);
    expect(() => resolveCensusSettings({ groups: ['x' as never] })).toThrow(/unknown group 'x'/);
  });

  it('worker threads give the same runs as one thread, bit for bit', async () => {
    const o = { limit: 1500, seeds: 2, models: ['mmoe', 'shared-bottom'] as const, groups: ['education-marital'] as const };
    const one = await censusExperiment({ ...o, workers: 1 });
    const two = await censusExperiment({ ...o, workers: 2 });
    expect(one.workers).toBe(1);
    expect(two.workers).toBe(2);
    expect(two.runs.map((r) => [r.model, r.seed, r.test, r.validation])).toEqual(one.runs.map((r) => [r.model, r.seed, r.test, r.validation]));
    expect(one.runs.map((r) => r.test.college.auc)).toEqual(expect.arrayContaining([expect.any(Number)]));
    // The kept MMoE (first run) is rebuilt from the worker's weights: the same state dict.
    const a = one.kept!.model.stateDict(), b = two.kept!.model.stateDict();
    expect(Object.keys(b)).toEqual(Object.keys(a));
    for (const k of Object.keys(a)) expect(b[k].data).toEqual(a[k].data);
    expect(one.groups[0].taskNames).toEqual(['college', 'never_married']);
  });
});
