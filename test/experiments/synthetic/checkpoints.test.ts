import { describe, expect, it } from 'vitest';
import { CHECKPOINT_STEPS, STUCK_FRACTION, checkpointSteps, resultAtStep, stuckRuns, trainTestGaps } from '../../../src/experiments/synthetic/checkpoints.js';
import { resolveSyntheticSettings, type SyntheticResult, type SyntheticRun } from '../../../src/experiments/synthetic/experiment.js';
import { correlationGrid, labelCorrelationCurve, labelVariance } from '../../../src/experiments/synthetic/labels.js';
import { syntheticMultiTask } from '../../../src/data/synthetic.js';
import { drawSineParameters } from '../../../src/data/synthetic.js';

const settings = resolveSyntheticSettings({ runs: 2, epochs: 2, trainSize: 256, batchSize: 64, logEvery: 2, correlations: [0.5, 1], models: ['mmoe', 'omoe'] });

function run(model: 'mmoe' | 'omoe', correlation: number, r: number, curve: number[], trainLoss?: number): SyntheticRun {
  return {
    phase: 'main', model, correlation, run: r, lr: 1e-3, steps: curve.map((_, i) => 2 * (i + 1)), curve, finalLoss: curve[curve.length - 1],
    taskLoss: [0, 0], seconds: 0, ...(trainLoss !== undefined && { trainLoss }),
  };
}

function result(runs: SyntheticRun[]): SyntheticResult {
  return { settings, parameters: { mmoe: 1, omoe: 1, 'shared-bottom': 1 }, alpha: [], beta: [], labelCorrelations: [], runs, mmoeModels: [], seconds: 0 };
}

describe('checkpoints', () => {
  it('are 3,072 and 12,288 steps and the final step, those before the end', () => {
    expect(CHECKPOINT_STEPS).toEqual([3072, 12288]);
    expect(checkpointSteps({ trainSize: 262144, batchSize: 128, epochs: 16 })).toEqual([3072, 12288, 32768]);
    expect(checkpointSteps({ trainSize: 262144, batchSize: 128, epochs: 4 })).toEqual([3072, 8192]);
    expect(checkpointSteps({ trainSize: 256, batchSize: 64, epochs: 2 })).toEqual([8]);
  });

  it('read every run at a logged step, and name a run that did not log it', () => {
    const r = result([run('mmoe', 0.5, 0, [0.9, 0.5, 0.3, 0.2]), run('omoe', 0.5, 0, [0.8, 0.4, 0.35, 0.3])]);
    expect(resultAtStep(r, 4).runs.map((x) => x.finalLoss)).toEqual([0.5, 0.4]);
    expect(resultAtStep(r, 8).runs.map((x) => x.finalLoss)).toEqual([0.2, 0.3]);
    expect(r.runs[0].finalLoss).toBe(0.2);
    expect(() => resultAtStep(r, 3)).toThrow('resultAtStep: mmoe at ρ=0.5, run 0 did not log step 3 (logged every 2 steps up to 8)');
  });
});

describe('stuck runs and the train–test gap', () => {
  it('a run is stuck above half the label variance', () => {
    expect(STUCK_FRACTION).toBe(0.5);
    const r = result([run('mmoe', 1, 1, [1, 0.49]), run('mmoe', 0.5, 0, [1, 0.51]), run('omoe', 0.5, 3, [1, 0.9]), run('omoe', 0.5, 2, [0.1, 0.05])]);
    expect(stuckRuns(r, 1)).toEqual([
      { model: 'mmoe', correlation: 0.5, run: 0, loss: 0.51 }, { model: 'omoe', correlation: 0.5, run: 3, loss: 0.9 },
    ]);
    expect(stuckRuns(r, 2)).toEqual([]);
  });

  it('the gap is the median per-run difference test − train, per cell', () => {
    const r = result([run('mmoe', 0.5, 0, [0.3], 0.1), run('mmoe', 0.5, 1, [0.5], 0.2), run('mmoe', 0.5, 2, [0.2], 0.19), run('omoe', 1, 0, [0.4])]);
    expect(trainTestGaps(r)).toEqual([{ model: 'mmoe', correlation: 0.5, runs: 3, train: 0.19, test: 0.3, gap: expect.closeTo(0.2, 12) }]);
  });
});

describe('the generator\'s labels', () => {
  it('label variance by quadrature agrees with a large sample (sine draw 0) and is 1 + σ² for the linear generator', () => {
    expect(labelVariance({ sineSeed: 0, sineTerms: 0 })).toBeCloseTo(1.01, 9);
    const { alpha, beta } = drawSineParameters(10, 0);
    const d = syntheticMultiTask({ n: 100000, dim: 2, correlation: 0.5, seed: 4, alpha, beta });
    let m = 0, m2 = 0;
    for (let i = 0; i < 100000; i++) { const v = d.y.data[2 * i]; m += v; m2 += v * v; }
    m /= 100000;
    expect(labelVariance({ sineSeed: 0, sineTerms: 10 })).toBeCloseTo(m2 / 100000 - m * m, 1);
  });

  it('label correlation against ρ from −1 to 1: near ρ for the linear generator, lower for sine draw 0', () => {
    expect(correlationGrid(5)).toEqual([-1, -0.5, 0, 0.5, 1]);
    expect(() => correlationGrid(1)).toThrow('correlationGrid: count must be an integer >= 2, got 1');
    const lin = labelCorrelationCurve('linear', { sineSeed: 0, sineTerms: 0 }, [-1, 0, 0.5, 1], 20000);
    // Var(wᵀx) = 1, noise 0.01: the label correlation is ρ / 1.01.
    lin.points.forEach(([rho, c]) => expect(c).toBeCloseTo(rho / 1.01, 1));
    const sine = labelCorrelationCurve('sine 0', { sineSeed: 0, sineTerms: 10 }, [0.5, 1], 20000);
    // The measurement on this draw: 0.17 at ρ = 0.5, 0.99 at ρ = 1.
    expect(sine.points[0][1]).toBeCloseTo(0.17, 1);
    expect(sine.points[1][1]).toBeGreaterThan(0.98);
  });
});
