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
  /** Seeded runs per (model, correlation). Default 5 (the CLI spreads them over worker threads). */
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
    runs: o.runs ?? 5,
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

export type SyntheticSettings = ReturnType<typeof resolveSyntheticSettings>;
type Settings = SyntheticSettings;

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

/** One training run: a model on the data set of one (correlation, run). */
export interface SyntheticJob {
  /** Position in the sequential order (correlation, then run, then model): where its result goes. */
  index: number;
  model: SyntheticModelName;
  correlationIndex: number;
  run: number;
}

export function syntheticJobs(s: Settings): SyntheticJob[] {
  const jobs: SyntheticJob[] = [];
  for (let ci = 0; ci < s.correlations.length; ci++) {
    for (let run = 0; run < s.runs; run++) {
      for (const model of s.models) jobs.push({ index: jobs.length, model, correlationIndex: ci, run });
    }
  }
  return jobs;
}

/** The seed of the data set of (correlation, run); the same data set serves every model. */
export function syntheticDataSeed(s: Settings, correlationIndex: number, run: number): number {
  return s.seed * 100003 + run * 101 + correlationIndex;
}

export interface SyntheticSplit {
  dataSeed: number;
  train: { x: Tensor; y: Tensor };
  test: { x: Tensor; y: Tensor };
  labelCorrelation: number;
}

export function syntheticSplit(s: Settings, correlationIndex: number, run: number): SyntheticSplit {
  const dataSeed = syntheticDataSeed(s, correlationIndex, run);
  const data = syntheticMultiTask({ n: s.trainSize + s.testSize, dim: s.dim, correlation: s.correlations[correlationIndex], seed: dataSeed });
  return {
    dataSeed,
    train: { x: rows(data.x, 0, s.trainSize), y: rows(data.y, 0, s.trainSize) },
    test: { x: rows(data.x, s.trainSize, s.trainSize + s.testSize), y: rows(data.y, s.trainSize, s.trainSize + s.testSize) },
    labelCorrelation: data.labelCorrelation,
  };
}

/** A job's model, freshly initialised: its seed depends only on the run, so models of a run start alike across ρ. */
export function buildSyntheticModel(s: Settings, bottomUnits: number, job: Pick<SyntheticJob, 'model' | 'run'>): MultiTaskModel {
  return build(job.model, s, bottomUnits, s.seed * 7919 + job.run * 31 + 1);
}

/**
 * Trains one job. Everything it does is fixed by the settings and the job (data, init and
 * shuffling seeds), so it gives the same result, bit for bit, in any thread and in any order.
 */
export function runSyntheticJob(s: Settings, bottomUnits: number, job: SyntheticJob, data: SyntheticSplit): { run: SyntheticRun; model: MultiTaskModel } {
  const r0 = performance.now();
  const model = buildSyntheticModel(s, bottomUnits, job);
  const h = fit(model, data.train, {
    epochs: s.epochs, batchSize: s.batchSize, optimizer: 'adam', lr: s.lr,
    validationData: data.test, seed: data.dataSeed + 17, verbose: 0,
  });
  const t1 = h.series(`val_${TASK_NAMES[0]}_mse`), t2 = h.series(`val_${TASK_NAMES[1]}_mse`);
  const curve = t1.map((v, i) => (v + t2[i]) / 2);
  const last = curve.length - 1;
  const run: SyntheticRun = {
    model: job.model, correlation: s.correlations[job.correlationIndex], run: job.run, curve, finalLoss: curve[last],
    taskLoss: [t1[last], t2[last]], seconds: (performance.now() - r0) / 1000,
  };
  return { run, model };
}

/** Whether the result keeps this job's trained model (the first MMoE run of each correlation). */
export function keepsModel(job: SyntheticJob): boolean {
  return job.model === 'mmoe' && job.run === 0;
}

/** What every job produced, in job order, assembled into the result (the same for any schedule). */
export interface SyntheticJobOutcome {
  run: SyntheticRun;
  labelCorrelation: number;
  kept?: { model: MultiTaskModel; testX: Tensor };
}

export interface PreparedSynthetic {
  settings: Settings;
  bottomUnits: number;
  parameters: Record<SyntheticModelName, number>;
  jobs: SyntheticJob[];
}

export function prepareSynthetic(options: SyntheticExperimentOptions): PreparedSynthetic {
  const s = resolveSyntheticSettings(options);
  const bottomUnits = s.bottomUnits ?? matchedBottomUnits(s).width;
  const parameters = {} as Record<SyntheticModelName, number>;
  for (const m of SYNTHETIC_MODELS) parameters[m] = build(m, s, bottomUnits, 0).numParameters();
  return { settings: s, bottomUnits, parameters, jobs: syntheticJobs(s) };
}

export function assembleSynthetic(p: PreparedSynthetic, outcomes: readonly SyntheticJobOutcome[], seconds: number): SyntheticResult {
  const s = p.settings;
  const labelCorrelations: SyntheticResult['labelCorrelations'] = s.correlations.map((correlation) => ({ correlation, values: [] }));
  const mmoeModels: SyntheticResult['mmoeModels'] = [];
  p.jobs.forEach((job, i) => {
    const o = outcomes[i];
    // One label correlation per data set: record it from the data set's first model.
    if (job.model === s.models[0]) labelCorrelations[job.correlationIndex].values.push(o.labelCorrelation);
    if (o.kept) mmoeModels.push({ correlation: o.run.correlation, ...o.kept });
  });
  return {
    settings: { ...s, bottomUnits: p.bottomUnits }, parameters: p.parameters, labelCorrelations,
    runs: outcomes.map((o) => o.run), mmoeModels, seconds,
  };
}

/** Runs every (correlation, run, model) job in this thread; the same data set serves all models of a (ρ, run). */
export function syntheticExperiment(options: SyntheticExperimentOptions = {}): SyntheticResult {
  const t0 = performance.now();
  const p = prepareSynthetic(options);
  const outcomes: SyntheticJobOutcome[] = [];
  let data: SyntheticSplit | null = null;
  for (const job of p.jobs) {
    if (data === null || data.dataSeed !== syntheticDataSeed(p.settings, job.correlationIndex, job.run)) {
      data = syntheticSplit(p.settings, job.correlationIndex, job.run);
    }
    const { run, model } = runSyntheticJob(p.settings, p.bottomUnits, job, data);
    outcomes.push({ run, labelCorrelation: data.labelCorrelation, ...(keepsModel(job) && { kept: { model, testX: data.test.x } }) });
    options.onRun?.(run, outcomes.length, p.jobs.length);
  }
  return assembleSynthetic(p, outcomes, (performance.now() - t0) / 1000);
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
