import { Tensor } from '../autograd/index.js';
import { syntheticMultiTask } from '../data/synthetic.js';
import { MMoE, OMoE, SharedBottom, widthForParameterCount, type MultiTaskModel } from '../models/index.js';
import { fit } from '../train/trainer.js';

/*
 * The MMoE paper's synthetic experiment (Ma et al., KDD 2018, §3.2 and §5): two regression tasks
 * whose correlation is controlled, trained with MMoE, OMoE (one gate) and a Shared-Bottom model of
 * the same parameter count, several seeded runs per correlation; the test loss over runs shows how
 * well each model copes with less related tasks, and its spread shows trainability.
 */

export const SYNTHETIC_MODELS = ['mmoe', 'omoe', 'shared-bottom'] as const;
export type SyntheticModelName = (typeof SYNTHETIC_MODELS)[number];

export interface SyntheticExperimentOptions {
  /** Task correlations ρ. Default [0.5, 0.9, 1]. */
  correlations?: readonly number[];
  /** Seeded runs per (model, correlation). Default 3. */
  runs?: number;
  trainSize?: number;
  testSize?: number;
  /** Input width d. Default 100 (the paper's). */
  dim?: number;
  epochs?: number;
  batchSize?: number;
  /** Adam's learning rate. Default 5e-3. */
  lr?: number;
  /** Default all three. */
  models?: readonly SyntheticModelName[];
  /** Experts of MMoE / OMoE. Default 8. */
  numExperts?: number;
  /** Width of each expert's one hidden layer. Default 16. */
  expertUnits?: number;
  /** Width of each task tower's hidden layer. Default 8. */
  towerUnits?: number;
  /** Shared-Bottom's bottom width; default: the width whose parameter count is closest to MMoE's. */
  bottomUnits?: number;
  /** Std of the N(0, std²) init of every DNN weight. Default 0.1. */
  initStd?: number;
  /** Base seed of data, inits and shuffling. Default 0. */
  seed?: number;
  /** Called after each training run (for progress output). */
  onRun?(run: SyntheticRun, done: number, total: number): void;
}

export interface SyntheticRun {
  model: SyntheticModelName;
  correlation: number;
  /** 0-based run index; runs with the same index share their data set across models. */
  run: number;
  /** Test loss (mean over the two tasks of the test MSE) after each epoch. */
  curve: number[];
  finalLoss: number;
  /** Test MSE per task after the last epoch. */
  taskLoss: [number, number];
  seconds: number;
}

export interface SyntheticResult {
  settings: Required<Omit<SyntheticExperimentOptions, 'onRun' | 'bottomUnits'>> & { bottomUnits: number };
  /** Learnable parameters of each model. */
  parameters: Record<SyntheticModelName, number>;
  /** Pearson correlation of the two label columns actually produced, per ρ, one per run. */
  labelCorrelations: Array<{ correlation: number; values: number[] }>;
  runs: SyntheticRun[];
  /** The trained MMoE of the first run at each correlation, with its test inputs (for gate plots and saving). */
  mmoeModels: Array<{ correlation: number; model: MultiTaskModel; testX: Tensor }>;
  seconds: number;
}

export interface SyntheticSummaryRow {
  model: SyntheticModelName;
  correlation: number;
  mean: number;
  min: number;
  max: number;
  runs: number;
}

const TASK_NAMES = ['task1', 'task2'] as const;

/** `--full`: closer to the paper's scale (many runs, more data, longer training). */
export const FULL_SYNTHETIC = { runs: 10, trainSize: 50000, testSize: 10000, epochs: 15 } as const;

export function resolveSyntheticSettings(o: SyntheticExperimentOptions): Omit<SyntheticResult['settings'], 'bottomUnits'> & { bottomUnits?: number } {
  const s = {
    correlations: o.correlations ?? [0.5, 0.9, 1],
    runs: o.runs ?? 3,
    trainSize: o.trainSize ?? 20000,
    testSize: o.testSize ?? 2000,
    dim: o.dim ?? 100,
    epochs: o.epochs ?? 12,
    batchSize: o.batchSize ?? 128,
    lr: o.lr ?? 5e-3,
    models: o.models ?? SYNTHETIC_MODELS,
    numExperts: o.numExperts ?? 8,
    expertUnits: o.expertUnits ?? 16,
    towerUnits: o.towerUnits ?? 8,
    initStd: o.initStd ?? 0.1,
    seed: o.seed ?? 0,
    bottomUnits: o.bottomUnits,
  };
  for (const r of s.correlations) if (!(r >= -1 && r <= 1)) throw new RangeError(`syntheticExperiment: correlations must lie in [-1, 1], got ${r}`);
  for (const m of s.models) if (!SYNTHETIC_MODELS.includes(m)) throw new RangeError(`syntheticExperiment: unknown model '${m}'; expected ${SYNTHETIC_MODELS.join(', ')}`);
  return s;
}

type Settings = ReturnType<typeof resolveSyntheticSettings>;

function build(name: SyntheticModelName, s: Settings, bottomUnits: number, seed: number): MultiTaskModel {
  const common = {
    inputDim: s.dim, taskTypes: ['regression', 'regression'] as const, taskNames: TASK_NAMES,
    towerHiddenUnits: [s.towerUnits], initStd: s.initStd, seed,
  };
  if (name === 'shared-bottom') return new SharedBottom({ ...common, bottomHiddenUnits: [bottomUnits] });
  const moe = { ...common, numExperts: s.numExperts, expertHiddenUnits: [s.expertUnits] };
  return name === 'mmoe' ? new MMoE(moe) : new OMoE(moe);
}

/** Shared-Bottom's bottom width matching MMoE's parameter count (the paper's "~113 units"). */
export function matchedBottomUnits(s: Settings): { width: number; parameters: number; target: number } {
  const target = build('mmoe', s, 1, 0).numParameters();
  const { width, parameters } = widthForParameterCount(target, (w) => build('shared-bottom', s, w, 0));
  return { width, parameters, target };
}

function rows(t: Tensor, start: number, end: number): Tensor {
  const w = t.size / t.shape[0];
  return new Tensor(t.data.subarray(start * w, end * w), [end - start, ...t.shape.slice(1)]);
}

/** Runs every (correlation, run, model) cell; the same data set serves all models of a (ρ, run). */
export function syntheticExperiment(options: SyntheticExperimentOptions = {}): SyntheticResult {
  const t0 = performance.now();
  const s = resolveSyntheticSettings(options);
  const bottomUnits = s.bottomUnits ?? matchedBottomUnits(s).width;
  const parameters = {} as Record<SyntheticModelName, number>;
  for (const m of SYNTHETIC_MODELS) parameters[m] = build(m, s, bottomUnits, 0).numParameters();
  const runs: SyntheticRun[] = [];
  const labelCorrelations: SyntheticResult['labelCorrelations'] = [];
  const mmoeModels: SyntheticResult['mmoeModels'] = [];
  const total = s.correlations.length * s.runs * s.models.length;
  s.correlations.forEach((rho, ci) => {
    const lc = { correlation: rho, values: [] as number[] };
    labelCorrelations.push(lc);
    for (let run = 0; run < s.runs; run++) {
      const dataSeed = s.seed * 100003 + run * 101 + ci;
      const data = syntheticMultiTask({ n: s.trainSize + s.testSize, dim: s.dim, correlation: rho, seed: dataSeed });
      lc.values.push(data.labelCorrelation);
      const train = { x: rows(data.x, 0, s.trainSize), y: rows(data.y, 0, s.trainSize) };
      const test = { x: rows(data.x, s.trainSize, s.trainSize + s.testSize), y: rows(data.y, s.trainSize, s.trainSize + s.testSize) };
      for (const name of s.models) {
        const r0 = performance.now();
        const model = build(name, s, bottomUnits, s.seed * 7919 + run * 31 + 1);
        const h = fit(model, train, {
          epochs: s.epochs, batchSize: s.batchSize, optimizer: 'adam', lr: s.lr,
          validationData: test, seed: dataSeed + 17, verbose: 0,
        });
        const t1 = h.series(`val_${TASK_NAMES[0]}_mse`), t2 = h.series(`val_${TASK_NAMES[1]}_mse`);
        const curve = t1.map((v, i) => (v + t2[i]) / 2);
        const last = curve.length - 1;
        const r: SyntheticRun = {
          model: name, correlation: rho, run, curve, finalLoss: curve[last],
          taskLoss: [t1[last], t2[last]], seconds: (performance.now() - r0) / 1000,
        };
        runs.push(r);
        if (name === 'mmoe' && run === 0) mmoeModels.push({ correlation: rho, model, testX: test.x });
        options.onRun?.(r, runs.length, total);
      }
    }
  });
  return { settings: { ...s, bottomUnits }, parameters, labelCorrelations, runs, mmoeModels, seconds: (performance.now() - t0) / 1000 };
}

/** Mean, min and max final test loss over runs, per (model, correlation), in settings order. */
export function summarizeSynthetic(result: SyntheticResult): SyntheticSummaryRow[] {
  const out: SyntheticSummaryRow[] = [];
  for (const model of result.settings.models) {
    for (const correlation of result.settings.correlations) {
      const v = result.runs.filter((r) => r.model === model && r.correlation === correlation).map((r) => r.finalLoss);
      if (v.length === 0) continue;
      out.push({ model, correlation, mean: v.reduce((a, b) => a + b, 0) / v.length, min: Math.min(...v), max: Math.max(...v), runs: v.length });
    }
  }
  return out;
}
