import { Tensor } from '../../autograd/index.js';
import { drawSineParameters, syntheticMultiTask } from '../../data/synthetic.js';
import { MMoE, OMoE, SharedBottom, widthForParameterCount, type MultiTaskModel } from '../../models/index.js';
import { evaluate, fit } from '../../train/trainer.js';
import { checkOptionKeys, type OptionKeys } from '../../validation/options.js';
import { checkPositiveInt } from '../../validation/values.js';

/*
 * The MMoE paper's synthetic experiment (Ma et al., KDD 2018, §3.2 and §5): two regression tasks
 * whose correlation ρ is controlled, trained with MMoE, OMoE (one gate) and Shared-Bottom, many
 * seeded runs per (model, ρ). The protocol, as the paper states it:
 * - α_i, β_i are "given parameters": one seeded draw (sineSeed) holds for the whole experiment;
 *   per run only u1, u2, x, ε and the model's initialisation vary;
 * - disjoint train / validation / test rows; the test rows are never used to choose anything;
 * - Adam, learning rate per model from the grid {1e-4, 1e-3, 1e-2} on validation loss (the pilot,
 *   pilot.ts), Shared-Bottom with the paper's 113 units.
 * A run's data set depends on the run index alone, not on ρ: the runs at different ρ share x, ε,
 * u1, u2 and the initialisation, so every comparison — across models and across ρ — is paired.
 */

export const SYNTHETIC_MODELS = ['mmoe', 'omoe', 'shared-bottom'] as const;
export type SyntheticModelName = (typeof SYNTHETIC_MODELS)[number];

/** The paper's Adam learning-rate grid. */
export const LEARNING_RATE_GRID = [1e-4, 1e-3, 1e-2] as const;

/** The paper's Shared-Bottom width ("~113 units", §5.2). */
export const PAPER_BOTTOM_UNITS = 113;

/** Number m of sine terms in the generator. */
export const SINE_TERMS = 10;

export type SyntheticPhase = 'pilot' | 'main';


export interface SyntheticExperimentOptions {
  /** Task correlations ρ. Default [0.5, 0.9, 1]. */
  correlations?: readonly number[];
  /** Seeded runs per (model, correlation). Default 20. */
  runs?: number;
  trainSize?: number;
  validationSize?: number;
  testSize?: number;
  /** Input width d. Default 100 (the paper's). */
  dim?: number;
  /** Training length in epochs over the training rows. */
  epochs?: number;
  batchSize?: number;
  /** Steps between two points of a loss curve. Default: a quarter epoch. */
  logEvery?: number;
  /** Adam's learning rate: one for every model, or one per model. Default 1e-3. */
  lr?: number | Partial<Record<SyntheticModelName, number>>;
  /** Default all three. */
  models?: readonly SyntheticModelName[];
  /** Experts of MMoE / OMoE. Default 8. */
  numExperts?: number;
  /** Width of each expert's one hidden layer. Default 16. */
  expertUnits?: number;
  /** Width of each task tower's hidden layer. Default 8. */
  towerUnits?: number;
  /** Shared-Bottom's bottom width; 'matched': the width whose parameter count is closest to MMoE's. Default 113. */
  bottomUnits?: number | 'matched';
  /** Std of the N(0, std²) init of every DNN weight. Default 0.1. */
  initStd?: number;
  /** Base seed of data sets, inits and shuffling. Default 0. */
  seed?: number;
  /** Seed of the one draw of α, β that holds for the whole experiment. Default 0. */
  sineSeed?: number;
  /** Number m of sine terms of the generator; 0 gives the purely linear generator. Default SINE_TERMS. */
  sineTerms?: number;
  /** Called after each training run (for progress output). */
  onRun?(run: SyntheticRun, done: number, total: number): void;
}

export interface SyntheticRun {
  phase: SyntheticPhase;
  model: SyntheticModelName;
  correlation: number;
  /** 0-based run index; runs with the same index share their data set across models and ρ. */
  run: number;
  lr: number;
  /** Training steps at which the curve was taken. */
  steps: number[];
  /** Loss (mean over the two tasks of the MSE) at each logged step: test rows in the main phase, validation rows in the pilot. */
  curve: number[];
  finalLoss: number;
  /** MSE per task at the end. */
  taskLoss: [number, number];
  /**
   * Loss at the end on the first min(testSize, trainSize) training rows, rows the run trained on:
   * the train–test gap is finalLoss − trainLoss (main phase). Absent in records from before it was kept.
   */
  trainLoss?: number;
  seconds: number;
}

export interface SyntheticSettings {
  correlations: number[];
  runs: number;
  trainSize: number;
  validationSize: number;
  testSize: number;
  dim: number;
  epochs: number;
  batchSize: number;
  logEvery: number;
  lr: Record<SyntheticModelName, number>;
  models: SyntheticModelName[];
  numExperts: number;
  expertUnits: number;
  towerUnits: number;
  bottomUnits: number;
  /** 'paper' (113 by default) or 'matched' (sized to MMoE's parameter count) or 'given'. */
  bottomRule: 'paper' | 'matched' | 'given';
  initStd: number;
  seed: number;
  sineSeed: number;
  sineTerms: number;
}

export interface SyntheticResult {
  settings: SyntheticSettings;
  /** Learnable parameters of each model. */
  parameters: Record<SyntheticModelName, number>;
  /** The fixed sine parameters of every data set. */
  alpha: number[];
  beta: number[];
  /** Pearson correlation of the two label columns actually produced, per ρ, one per run. */
  labelCorrelations: Array<{ correlation: number; values: number[] }>;
  runs: SyntheticRun[];
  /** The trained MMoE of the first run at each correlation, with its test inputs (for gate plots and saving). */
  mmoeModels: Array<{ correlation: number; model: MultiTaskModel; testX: Tensor }>;
  seconds: number;
}

const TASK_NAMES = ['task1', 'task2'] as const;

function lrRecord(lr: SyntheticExperimentOptions['lr']): Record<SyntheticModelName, number> {
  const out = {} as Record<SyntheticModelName, number>;
  for (const m of SYNTHETIC_MODELS) {
    const v = typeof lr === 'number' ? lr : lr?.[m] ?? 1e-3;
    if (!(v > 0 && Number.isFinite(v))) throw new RangeError(`syntheticExperiment: lr of ${m} must be a positive number, got ${v}`);
    out[m] = v;
  }
  if (lr !== undefined && typeof lr === 'object') {
    for (const k of Object.keys(lr)) if (!(SYNTHETIC_MODELS as readonly string[]).includes(k)) throw new RangeError(`syntheticExperiment: lr names unknown model '${k}'; expected ${SYNTHETIC_MODELS.join(', ')}`);
  }
  return out;
}

const OPTION_KEYS: OptionKeys<SyntheticExperimentOptions> = {
  correlations: true, runs: true, trainSize: true, validationSize: true, testSize: true, dim: true, epochs: true, batchSize: true, logEvery: true,
  lr: true, models: true, numExperts: true, expertUnits: true, towerUnits: true, bottomUnits: true, initStd: true, seed: true, sineSeed: true, sineTerms: true, onRun: true,
};

export function resolveSyntheticSettings(o: SyntheticExperimentOptions): SyntheticSettings {
  checkOptionKeys('syntheticExperiment', o, OPTION_KEYS);
  const trainSize = checkPositiveInt('syntheticExperiment', 'trainSize', o.trainSize ?? 2048);
  const batchSize = checkPositiveInt('syntheticExperiment', 'batchSize', o.batchSize ?? 32);
  const stepsPerEpoch = Math.ceil(trainSize / batchSize);
  const s: SyntheticSettings = {
    correlations: [...(o.correlations ?? [0.5, 0.9, 1])],
    runs: checkPositiveInt('syntheticExperiment', 'runs', o.runs ?? 20),
    trainSize,
    validationSize: checkPositiveInt('syntheticExperiment', 'validationSize', o.validationSize ?? 512),
    testSize: checkPositiveInt('syntheticExperiment', 'testSize', o.testSize ?? 1024),
    dim: checkPositiveInt('syntheticExperiment', 'dim', o.dim ?? 100),
    epochs: checkPositiveInt('syntheticExperiment', 'epochs', o.epochs ?? 6),
    batchSize,
    logEvery: checkPositiveInt('syntheticExperiment', 'logEvery', o.logEvery ?? Math.max(1, Math.round(stepsPerEpoch / 4))),
    lr: lrRecord(o.lr),
    models: [...(o.models ?? SYNTHETIC_MODELS)],
    numExperts: checkPositiveInt('syntheticExperiment', 'numExperts', o.numExperts ?? 8),
    expertUnits: checkPositiveInt('syntheticExperiment', 'expertUnits', o.expertUnits ?? 16),
    towerUnits: checkPositiveInt('syntheticExperiment', 'towerUnits', o.towerUnits ?? 8),
    bottomUnits: 0,
    bottomRule: o.bottomUnits === 'matched' ? 'matched' : o.bottomUnits === undefined ? 'paper' : 'given',
    initStd: o.initStd ?? 0.1,
    seed: o.seed ?? 0,
    sineSeed: o.sineSeed ?? 0,
    sineTerms: o.sineTerms ?? SINE_TERMS,
  };
  if (!Number.isInteger(s.sineTerms) || s.sineTerms < 0) throw new RangeError(`syntheticExperiment: sineTerms must be a non-negative integer, got ${s.sineTerms}`);
  for (const r of s.correlations) if (!(r >= -1 && r <= 1)) throw new RangeError(`syntheticExperiment: correlations must lie in [-1, 1], got ${r}`);
  if (new Set(s.correlations).size !== s.correlations.length) throw new RangeError(`syntheticExperiment: correlations name a value twice: ${s.correlations.join(', ')}`);
  for (const m of s.models) if (!SYNTHETIC_MODELS.includes(m)) throw new RangeError(`syntheticExperiment: unknown model '${m}'; expected ${SYNTHETIC_MODELS.join(', ')}`);
  if (new Set(s.models).size !== s.models.length) throw new RangeError(`syntheticExperiment: models name a model twice: ${s.models.join(', ')}`);
  if (s.trainSize < 2) throw new RangeError(`syntheticExperiment: trainSize must be >= 2, got ${s.trainSize}`);
  s.bottomUnits = s.bottomRule === 'paper' ? PAPER_BOTTOM_UNITS
    : s.bottomRule === 'given' ? checkPositiveInt('syntheticExperiment', 'bottomUnits', o.bottomUnits)
      : matchedBottomUnits(s).width;
  return s;
}

export function stepsPerEpoch(s: Pick<SyntheticSettings, 'trainSize' | 'batchSize'>): number {
  return Math.ceil(s.trainSize / s.batchSize);
}

export function totalSteps(s: Pick<SyntheticSettings, 'trainSize' | 'batchSize' | 'epochs'>): number {
  return s.epochs * stepsPerEpoch(s);
}

function build(name: SyntheticModelName, s: SyntheticSettings, bottomUnits: number, seed: number): MultiTaskModel {
  const common = {
    inputDim: s.dim, taskTypes: ['regression', 'regression'] as const, taskNames: TASK_NAMES,
    towerHiddenUnits: [s.towerUnits], initStd: s.initStd, seed,
  };
  if (name === 'shared-bottom') return new SharedBottom({ ...common, bottomHiddenUnits: [bottomUnits] });
  const moe = { ...common, numExperts: s.numExperts, expertHiddenUnits: [s.expertUnits] };
  return name === 'mmoe' ? new MMoE(moe) : new OMoE(moe);
}

/** Shared-Bottom's bottom width matching MMoE's parameter count, gates included (126 at the paper's sizes). */
export function matchedBottomUnits(s: SyntheticSettings): { width: number; parameters: number; target: number } {
  const target = build('mmoe', s, 1, 0).numParameters();
  const { width, parameters } = widthForParameterCount(target, (w) => build('shared-bottom', s, w, 0));
  return { width, parameters, target };
}

export function parameterCounts(s: SyntheticSettings): Record<SyntheticModelName, number> {
  const out = {} as Record<SyntheticModelName, number>;
  for (const m of SYNTHETIC_MODELS) out[m] = build(m, s, s.bottomUnits, 0).numParameters();
  return out;
}

function rows(t: Tensor, start: number, end: number): Tensor {
  const w = t.size / t.shape[0];
  return new Tensor(t.data.subarray(start * w, end * w), [end - start, ...t.shape.slice(1)]);
}

/** One training run: a model at one learning rate on the data set of one (correlation, run). */
export interface SyntheticJob {
  /** Position in its phase's job list (correlation, then run, then model, then lr): where its result goes. */
  index: number;
  phase: SyntheticPhase;
  model: SyntheticModelName;
  correlationIndex: number;
  run: number;
  lr: number;
}

/** A job's identity in a results file: stable across job lists. */
export function jobKey(s: SyntheticSettings, job: SyntheticJob): string {
  return `${job.phase}/${job.model}/rho=${s.correlations[job.correlationIndex]}/run=${job.run}/lr=${job.lr}`;
}

/** The main phase's jobs: every (correlation, run, model) at the model's learning rate. */
export function syntheticJobs(s: SyntheticSettings, phase: SyntheticPhase = 'main', lrs?: Partial<Record<SyntheticModelName, readonly number[]>>): SyntheticJob[] {
  const jobs: SyntheticJob[] = [];
  for (let ci = 0; ci < s.correlations.length; ci++) {
    for (let run = 0; run < s.runs; run++) {
      for (const model of s.models) {
        for (const lr of lrs?.[model] ?? [s.lr[model]]) jobs.push({ index: jobs.length, phase, model, correlationIndex: ci, run, lr });
      }
    }
  }
  return jobs;
}

/** Seed of a run's data set: by phase and run only, so it is shared by every model and every ρ. */
export function syntheticDataSeed(s: SyntheticSettings, phase: SyntheticPhase, run: number): number {
  return s.seed * 100003 + (phase === 'pilot' ? 50021 : 0) + run * 101;
}

export interface SyntheticSplit {
  key: string;
  train: { x: Tensor; y: Tensor };
  validation: { x: Tensor; y: Tensor };
  test: { x: Tensor; y: Tensor };
  dataSeed: number;
  labelCorrelation: number;
}

export function sineParameters(s: Pick<SyntheticSettings, 'sineSeed'> & Partial<Pick<SyntheticSettings, 'sineTerms'>>): { alpha: Float64Array; beta: Float64Array } {
  // Settings recorded before sineTerms existed used the sine generator's SINE_TERMS.
  return drawSineParameters(s.sineTerms ?? SINE_TERMS, s.sineSeed);
}

export function splitKey(s: SyntheticSettings, job: Pick<SyntheticJob, 'phase' | 'correlationIndex' | 'run'>): string {
  return `${job.phase}/${job.correlationIndex}/${job.run}`;
}

/** The data set of a job: train, validation and test are disjoint row ranges of one draw. */
export function syntheticSplit(s: SyntheticSettings, job: Pick<SyntheticJob, 'phase' | 'correlationIndex' | 'run'>): SyntheticSplit {
  const dataSeed = syntheticDataSeed(s, job.phase, job.run);
  const { alpha, beta } = sineParameters(s);
  const n1 = s.trainSize, n2 = n1 + s.validationSize, n3 = n2 + s.testSize;
  const data = syntheticMultiTask({ n: n3, dim: s.dim, correlation: s.correlations[job.correlationIndex], seed: dataSeed, alpha, beta });
  return {
    key: splitKey(s, job),
    dataSeed,
    train: { x: rows(data.x, 0, n1), y: rows(data.y, 0, n1) },
    validation: { x: rows(data.x, n1, n2), y: rows(data.y, n1, n2) },
    test: { x: rows(data.x, n2, n3), y: rows(data.y, n2, n3) },
    labelCorrelation: data.labelCorrelation,
  };
}

/** A job's model, freshly initialised: its seed depends only on the phase and run, so a run starts alike at every ρ. */
export function buildSyntheticModel(s: SyntheticSettings, job: Pick<SyntheticJob, 'model' | 'run' | 'phase'>): MultiTaskModel {
  return build(job.model, s, s.bottomUnits, s.seed * 7919 + job.run * 31 + (job.phase === 'pilot' ? 7 : 1));
}

export function meanTaskLoss(model: MultiTaskModel, data: { x: Tensor; y: Tensor }): [number, number, number] {
  const ev = evaluate(model, data, { metrics: ['mse'], batchSize: 1024 });
  const a = ev.tasks[TASK_NAMES[0]].mse!, b = ev.tasks[TASK_NAMES[1]].mse!;
  return [(a + b) / 2, a, b];
}

/**
 * Trains one job, logging the loss every `logEvery` steps and at the end: on the test rows in the
 * main phase, on the validation rows in the pilot. Everything it does is fixed by the settings and
 * the job (data, init and shuffling seeds), so it gives the same result, bit for bit, in any thread
 * and in any order.
 */
export function runSyntheticJob(s: SyntheticSettings, job: SyntheticJob, data: SyntheticSplit): { run: SyntheticRun; model: MultiTaskModel } {
  if (data.key !== splitKey(s, job)) throw new Error(`runSyntheticJob: data set ${data.key} given for job ${jobKey(s, job)}`);
  const r0 = performance.now();
  const model = buildSyntheticModel(s, job);
  const watched = job.phase === 'main' ? data.test : data.validation;
  const perEpoch = stepsPerEpoch(s);
  const last = totalSteps(s);
  const steps: number[] = [];
  const curve: number[] = [];
  let taskLoss: [number, number] = [NaN, NaN];
  let trainLoss = NaN;
  let epoch = 0;
  fit(model, data.train, {
    epochs: s.epochs, batchSize: s.batchSize, optimizer: 'adam', lr: job.lr, seed: data.dataSeed + 17, verbose: 0,
    callbacks: {
      onEpochEnd: () => { epoch++; },
      onBatchEnd: (step) => {
        const at = epoch * perEpoch + step;
        if (at % s.logEvery !== 0 && at !== last) return;
        const [mean, a, b] = meanTaskLoss(model, watched);
        steps.push(at);
        curve.push(mean);
        taskLoss = [a, b];
        if (at === last) trainLoss = meanTaskLoss(model, gapRows(s, data.train))[0];
      },
    },
  });
  const run: SyntheticRun = {
    phase: job.phase, model: job.model, correlation: s.correlations[job.correlationIndex], run: job.run, lr: job.lr,
    steps, curve, finalLoss: curve[curve.length - 1], taskLoss, trainLoss, seconds: (performance.now() - r0) / 1000,
  };
  return { run, model };
}

/** The training rows a run's train–test gap is measured on: the first min(testSize, trainSize). */
export function gapRows(s: SyntheticSettings, train: { x: Tensor; y: Tensor }): { x: Tensor; y: Tensor } {
  const n = Math.min(s.testSize, s.trainSize);
  return { x: rows(train.x, 0, n), y: rows(train.y, 0, n) };
}

/** Whether the result keeps this job's trained model (the first main-phase MMoE run of each correlation). */
export function keepsModel(job: SyntheticJob): boolean {
  return job.phase === 'main' && job.model === 'mmoe' && job.run === 0;
}

/** What a job produced; assembled in job order into the result (the same for any schedule). */
export interface SyntheticJobOutcome {
  run: SyntheticRun;
  labelCorrelation: number;
  /** The trained weights of a kept job. */
  state?: Record<string, Tensor>;
}

/** Runs jobs in this thread, reusing a data set while consecutive jobs share it. */
export function runJobsHere(s: SyntheticSettings, jobs: readonly SyntheticJob[], record: (job: SyntheticJob, o: SyntheticJobOutcome) => void): void {
  let data: SyntheticSplit | null = null;
  for (const job of jobs) {
    if (data === null || data.key !== splitKey(s, job)) data = syntheticSplit(s, job);
    const { run, model } = runSyntheticJob(s, job, data);
    record(job, { run, labelCorrelation: data.labelCorrelation, ...(keepsModel(job) && { state: model.stateDict() }) });
  }
}

export function assembleSynthetic(s: SyntheticSettings, jobs: readonly SyntheticJob[], outcomes: readonly SyntheticJobOutcome[], seconds: number): SyntheticResult {
  const labelCorrelations: SyntheticResult['labelCorrelations'] = s.correlations.map((correlation) => ({ correlation, values: [] }));
  const mmoeModels: SyntheticResult['mmoeModels'] = [];
  jobs.forEach((job, i) => {
    const o = outcomes[i];
    if (o === undefined) throw new Error(`assembleSynthetic: job ${jobKey(s, job)} has no result`);
    // One label correlation per data set: record it from the data set's first model.
    if (job.model === s.models[0]) labelCorrelations[job.correlationIndex].values.push(o.labelCorrelation);
    if (keepsModel(job) && o.state) {
      const model = buildSyntheticModel(s, job);
      model.loadStateDict(o.state);
      mmoeModels.push({ correlation: o.run.correlation, model, testX: syntheticSplit(s, job).test.x });
    }
  });
  const { alpha, beta } = sineParameters(s);
  return {
    settings: s, parameters: parameterCounts(s), alpha: Array.from(alpha), beta: Array.from(beta), labelCorrelations,
    runs: outcomes.map((o) => o.run), mmoeModels, seconds,
  };
}

/** Runs every (correlation, run, model) job in this thread; the same data set serves all models of a (ρ, run). */
export function syntheticExperiment(options: SyntheticExperimentOptions = {}): SyntheticResult {
  const t0 = performance.now();
  const s = resolveSyntheticSettings(options);
  const jobs = syntheticJobs(s);
  const outcomes: SyntheticJobOutcome[] = [];
  runJobsHere(s, jobs, (_job, o) => {
    outcomes.push(o);
    options.onRun?.(o.run, outcomes.length, jobs.length);
  });
  return assembleSynthetic(s, jobs, outcomes, (performance.now() - t0) / 1000);
}

/** Final losses of one (model, correlation) cell, in run order. */
export function cellLosses(runs: readonly SyntheticRun[], model: SyntheticModelName, correlation: number): number[] {
  return runs.filter((r) => r.phase === 'main' && r.model === model && r.correlation === correlation)
    .sort((a, b) => a.run - b.run).map((r) => r.finalLoss);
}
