import { CENSUS_TASK_GROUPS, type CensusIncome, type CensusSplit, type CensusTaskGroup } from '../../data/census.js';
import { loadCensusIncome } from '../../data/census-node.js';
import {
  DenseFeat, MMoE, OMoE, PLE, SharedBottom, SingleTask, SparseFeat, type FeatureColumn, type MultiTaskModel,
} from '../../models/index.js';
import type { Dataset } from '../../train/dataset.js';
import type { EpochLog } from '../../train/history.js';
import type { TaskMetrics } from '../../train/metrics.js';
import type { ProgressStream } from '../../train/progress.js';
import { evaluate, fit } from '../../train/trainer.js';
import { decodeStateDict, defaultWorkers, runJobs, startModuleWorker, type EncodedStateDict } from '../job-runner.js';
import { checkIntAtLeast } from '../../validation/values.js';

/*
 * The MMoE paper's census-income benchmark (§6.3): two groups of two binary tasks (income > 50K
 * and never married; college degree and never married), each learned by MMoE, OMoE, Shared-Bottom
 * and single-task networks (and PLE as an extra row) from the same feature columns, with the same
 * optimiser and budget, repeated over seeds; scored by test AUC per task (mean and best over the
 * seeds, like the paper's Tables 1–2).
 */

export const CENSUS_MODELS = ['mmoe', 'omoe', 'shared-bottom', 'single-task', 'ple'] as const;
export type CensusModelName = (typeof CENSUS_MODELS)[number];

export const CENSUS_MODEL_LABELS: Record<CensusModelName, string> = {
  mmoe: 'MMoE', omoe: 'OMoE', 'shared-bottom': 'Shared-Bottom', 'single-task': 'Single-Task', ple: 'PLE',
};

export interface CensusExperimentOptions {
  groups?: readonly CensusTaskGroup[];
  models?: readonly CensusModelName[];
  /** Training runs per model and group, each with its own init and shuffling. Default 10. */
  seeds?: number;
  /** The first run's seed; run r uses firstSeed + r. Default 0. */
  firstSeed?: number;
  epochs?: number;
  batchSize?: number;
  lr?: number;
  /** Embedding width of every categorical column. Default 4 (DeepCTR's). */
  embeddingDim?: number;
  /** Seed of the train / validation / test split, the same for every run. Default 0. */
  splitSeed?: number;
  /** Read only the first rows of the data file (for quick checks). */
  limit?: number;
  /** The data file; default the packaged census-income.test.gz. */
  path?: string;
  /** Progress bars / lines for each fit (default none). */
  progressStream?: ProgressStream;
  verbose?: 0 | 1 | 2;
  /** Worker threads; 1 runs every job in this thread. Default one per core (at most 8). */
  workers?: number;
  /** Called after every run, in the order runs finish; `done` of `total`. */
  onRun?(r: CensusRun, done: number, total: number): void;
  /** One-line notes for the user (a fallback to one thread). */
  onNote?(line: string): void;
}

export interface CensusRun {
  group: CensusTaskGroup;
  model: CensusModelName;
  seed: number;
  parameters: number;
  /** Per-task metrics on the test and validation splits after the last epoch. */
  test: Record<string, TaskMetrics>;
  validation: Record<string, TaskMetrics>;
  /** The fit's per-epoch logs. */
  history: EpochLog[];
  seconds: number;
}

export interface Spread { mean: number; std: number; min: number; max: number }

export interface CensusSummaryRow {
  group: CensusTaskGroup;
  model: CensusModelName;
  parameters: number;
  runs: number;
  /** Test AUC over the runs, per task: mean, sample std, min and max (the paper's "best"). */
  auc: Record<string, Spread>;
  seconds: number;
}

export interface CensusGroupInfo {
  group: CensusTaskGroup;
  taskNames: readonly string[];
  rows: { train: number; validation: number; test: number };
  features: { sparse: number; dense: number };
  /** Positive rate of each task in the test split. */
  positiveRate: Record<string, number>;
  /** Pearson correlation of the two label columns over all rows of the file. */
  labelCorrelation: number;
}

export type CensusSettings = Required<Omit<CensusExperimentOptions, 'onRun' | 'onNote' | 'workers' | 'progressStream' | 'verbose' | 'limit' | 'path'>>;

/** One training run: a model on a group with a seed; `index` is its place in the result. */
export interface CensusJob {
  index: number;
  group: CensusTaskGroup;
  model: CensusModelName;
  seed: number;
}

/** What a run needs besides its job; the same in every worker. */
export interface CensusJobContext {
  settings: CensusSettings;
  limit?: number;
  path?: string;
}

export interface CensusResult {
  settings: CensusSettings;
  groups: CensusGroupInfo[];
  runs: CensusRun[];
  summary: CensusSummaryRow[];
  /** The first MMoE run's trained model (first group), for weights and gate plots; null without MMoE. */
  kept: { group: CensusTaskGroup; model: MultiTaskModel; data: CensusIncome } | null;
  workers: number;
  loadSeconds: number;
  seconds: number;
}

/**
 * The model sizes, about 11–12K parameters each (embeddings included): MMoE / OMoE with 4 experts
 * of 16 units and 8-unit towers; Shared-Bottom with a 64-unit bottom (the experts' total width) and
 * 8-unit towers; Single-Task with a [32, 8] network per task; PLE as one CGC level (2 shared and 1
 * task-specific expert of 16 units per task, 8-unit towers). Small, so that 10 seeds of every model
 * on both groups fit in a few minutes on two cores.
 */
export function buildCensusModel(name: CensusModelName, features: FeatureColumn[], taskNames: readonly string[], seed: number): MultiTaskModel {
  const common = {
    features, taskTypes: ['binary', 'binary'] as const, taskNames, seed, initStd: 0.05, l2RegEmbedding: 1e-6,
  };
  switch (name) {
    case 'mmoe': return new MMoE({ ...common, numExperts: 4, expertHiddenUnits: [16], towerHiddenUnits: [8] });
    case 'omoe': return new OMoE({ ...common, numExperts: 4, expertHiddenUnits: [16], towerHiddenUnits: [8] });
    case 'shared-bottom': return new SharedBottom({ ...common, bottomHiddenUnits: [64], towerHiddenUnits: [8] });
    case 'single-task': return new SingleTask({ ...common, hiddenUnits: [32, 8] });
    case 'ple': return new PLE({ ...common, numLevels: 1, sharedExpertNum: 2, specificExpertNum: 1, expertHiddenUnits: [16], towerHiddenUnits: [8] });
  }
}

export function censusFeatures(data: CensusIncome, embeddingDim: number): FeatureColumn[] {
  return [
    ...data.sparseFeatures.map((f) => SparseFeat(f.name, f.vocabularySize, { embeddingDim })),
    ...data.denseFeatures.map((name) => DenseFeat(name, 1)),
  ];
}

/** A census split as the trainer's column record: one Int32Array / Float32Array per feature. */
export function censusDataset(data: CensusIncome, split: CensusSplit): Dataset {
  const n = split.size;
  const x: Record<string, Int32Array | Float32Array> = {};
  const ns = data.sparseFeatures.length, nd = data.denseFeatures.length;
  data.sparseFeatures.forEach((f, k) => {
    const col = new Int32Array(n);
    for (let i = 0; i < n; i++) col[i] = split.sparse[i * ns + k];
    x[f.name] = col;
  });
  data.denseFeatures.forEach((name, k) => {
    const col = new Float32Array(n);
    for (let i = 0; i < n; i++) col[i] = split.dense[i * nd + k];
    x[name] = col;
  });
  return { x, y: split.labels };
}

/** Pearson correlation of the two label columns over every split (the whole file read). */
export function censusLabelCorrelation(data: CensusIncome): number {
  let n = 0, sa = 0, sb = 0, saa = 0, sbb = 0, sab = 0;
  for (const s of [data.train, data.validation, data.test]) {
    for (let i = 0; i < s.size; i++) {
      const a = s.labels[2 * i], b = s.labels[2 * i + 1];
      n++; sa += a; sb += b; saa += a * a; sbb += b * b; sab += a * b;
    }
  }
  const cov = sab / n - (sa / n) * (sb / n);
  const va = saa / n - (sa / n) ** 2, vb = sbb / n - (sb / n) ** 2;
  return va > 0 && vb > 0 ? cov / Math.sqrt(va * vb) : NaN;
}

export function spread(values: readonly number[]): Spread {
  const n = values.length;
  if (n === 0) return { mean: NaN, std: NaN, min: NaN, max: NaN };
  const mean = values.reduce((s, v) => s + v, 0) / n;
  const std = n > 1 ? Math.sqrt(values.reduce((s, v) => s + (v - mean) ** 2, 0) / (n - 1)) : 0;
  return { mean, std, min: Math.min(...values), max: Math.max(...values) };
}

/** One row per (group, model) in run order: test AUC spread per task over that cell's runs. */
export function summarizeCensusRuns(runs: readonly CensusRun[]): CensusSummaryRow[] {
  const cells = new Map<string, CensusRun[]>();
  for (const r of runs) {
    const key = `${r.group}\u0000${r.model}`;
    const cell = cells.get(key);
    if (cell) cell.push(r); else cells.set(key, [r]);
  }
  return [...cells.values()].map((cell) => {
    const tasks = Object.keys(cell[0].test);
    const auc: Record<string, Spread> = {};
    for (const t of tasks) auc[t] = spread(cell.map((r) => r.test[t].auc ?? NaN));
    return {
      group: cell[0].group, model: cell[0].model, parameters: cell[0].parameters, runs: cell.length, auc,
      seconds: cell.reduce((s, r) => s + r.seconds, 0),
    };
  });
}

function checkCount(name: string, v: number, min: number): void {
  checkIntAtLeast('censusExperiment', name, v, min);
}

export function resolveCensusSettings(o: CensusExperimentOptions): CensusSettings {
  const settings: CensusSettings = {
    groups: o.groups ?? CENSUS_TASK_GROUPS,
    models: o.models ?? CENSUS_MODELS,
    seeds: o.seeds ?? 10,
    firstSeed: o.firstSeed ?? 0,
    epochs: o.epochs ?? 1,
    batchSize: o.batchSize ?? 512,
    lr: o.lr ?? 4e-3,
    embeddingDim: o.embeddingDim ?? 4,
    splitSeed: o.splitSeed ?? 0,
  };
  checkCount('seeds', settings.seeds, 1);
  checkCount('firstSeed', settings.firstSeed, 0);
  checkCount('epochs', settings.epochs, 1);
  for (const g of settings.groups) {
    if (!(CENSUS_TASK_GROUPS as readonly string[]).includes(g)) throw new RangeError(`censusExperiment: unknown group '${g}', expected some of ${CENSUS_TASK_GROUPS.join(', ')}`);
  }
  for (const m of settings.models) {
    if (!(CENSUS_MODELS as readonly string[]).includes(m)) throw new RangeError(`censusExperiment: unknown model '${m}', expected some of ${CENSUS_MODELS.join(', ')}`);
  }
  return settings;
}

/** Every run in result order: group, then model, then seed. */
export function censusJobs(s: CensusSettings): CensusJob[] {
  const jobs: CensusJob[] = [];
  for (const group of s.groups) {
    for (const model of s.models) {
      for (let r = 0; r < s.seeds; r++) jobs.push({ index: jobs.length, group, model, seed: s.firstSeed + r });
    }
  }
  return jobs;
}

/** A group's data, loaded once, in the form the runs use. */
export interface PreparedCensusGroup {
  data: CensusIncome;
  features: FeatureColumn[];
  train: Dataset;
  validation: Dataset;
  test: Dataset;
}

export async function prepareCensusGroup(ctx: CensusJobContext, group: CensusTaskGroup): Promise<PreparedCensusGroup> {
  const data = await loadCensusIncome({ seed: ctx.settings.splitSeed, limit: ctx.limit, path: ctx.path, taskGroup: group });
  return {
    data, features: censusFeatures(data, ctx.settings.embeddingDim),
    train: censusDataset(data, data.train), validation: censusDataset(data, data.validation), test: censusDataset(data, data.test),
  };
}

/** The model of a job, initialised from its seed (the same in any thread). */
export function buildCensusJobModel(p: PreparedCensusGroup, job: CensusJob): MultiTaskModel {
  return buildCensusModel(job.model, p.features, p.data.taskNames, 1000 + job.seed);
}

/** Trains and scores one job; its seed fixes the init and the shuffling, so any thread gives the same run. */
export function runCensusJob(ctx: CensusJobContext, p: PreparedCensusGroup, job: CensusJob): { run: CensusRun; model: MultiTaskModel } {
  const s = ctx.settings;
  const t0 = performance.now();
  const model = buildCensusJobModel(p, job);
  const history = fit(model, p.train, { epochs: s.epochs, batchSize: s.batchSize, optimizer: 'adam', lr: s.lr, seed: job.seed, verbose: 0 });
  const run: CensusRun = {
    group: job.group, model: job.model, seed: job.seed, parameters: model.numParameters(),
    test: evaluate(model, p.test, { batchSize: 4096 }).tasks,
    validation: evaluate(model, p.validation, { batchSize: 4096 }).tasks,
    history: history.epochs, seconds: (performance.now() - t0) / 1000,
  };
  return { run, model };
}

function groupInfo(group: CensusTaskGroup, data: CensusIncome): CensusGroupInfo {
  const positiveRate: Record<string, number> = {};
  data.taskNames.forEach((t, j) => {
    let s = 0;
    for (let i = 0; i < data.test.size; i++) s += data.test.labels[2 * i + j];
    positiveRate[t] = s / Math.max(1, data.test.size);
  });
  return {
    group, taskNames: data.taskNames,
    rows: { train: data.train.size, validation: data.validation.size, test: data.test.size },
    features: { sparse: data.sparseFeatures.length, dense: data.denseFeatures.length },
    positiveRate, labelCorrelation: censusLabelCorrelation(data),
  };
}

export interface CensusWorkerRequest { ctx: CensusJobContext; job: CensusJob; keep: boolean }
export interface CensusWorkerReply {
  run: CensusRun;
  /** The trained model's state dict, when the request asked to keep it. */
  state?: EncodedStateDict;
}

/**
 * Runs every job, on worker threads when there is more than one core (or `workers` says so) and
 * in this thread otherwise; the runs are the same either way. If the workers fail, the jobs not yet
 * done run here after a one-line note.
 */
export async function censusExperiment(o: CensusExperimentOptions = {}): Promise<CensusResult> {
  const t0 = performance.now();
  const settings = resolveCensusSettings(o);
  const ctx: CensusJobContext = { settings, limit: o.limit, path: o.path };
  const jobs = censusJobs(settings);
  const l0 = performance.now();
  const prepared = new Map<CensusTaskGroup, PreparedCensusGroup>();
  for (const g of settings.groups) prepared.set(g, await prepareCensusGroup(ctx, g));
  const loadSeconds = (performance.now() - l0) / 1000;
  const keepIndex = jobs.find((j) => j.model === 'mmoe')?.index ?? -1;
  const runs: Array<CensusRun | undefined> = new Array(jobs.length).fill(undefined);
  let kept: CensusResult['kept'] = null;
  let done = 0;
  const record = (job: CensusJob, run: CensusRun, model: () => MultiTaskModel | undefined): void => {
    runs[job.index] = run;
    if (job.index === keepIndex) {
      const m = model();
      if (m) kept = { group: job.group, model: m, data: prepared.get(job.group)!.data };
    }
    done++;
    o.onRun?.(run, done, jobs.length);
  };
  const workers = Math.min(o.workers ?? defaultWorkers(), jobs.length);
  await runJobs<CensusJob, CensusWorkerRequest, CensusWorkerReply>(jobs, {
    workers, name: 'census', noun: 'runs', onNote: o.onNote,
    isDone: (job) => runs[job.index] !== undefined,
    request: (job) => ({ ctx, job, keep: job.index === keepIndex }),
    spawn: () => startModuleWorker(import.meta.url, 'worker'),
    onReply: (reply, req) => record(req.job, reply.run, () => {
      if (!reply.state) return undefined;
      const m = buildCensusJobModel(prepared.get(req.job.group)!, req.job);
      m.loadStateDict(decodeStateDict(reply.state));
      return m;
    }),
    runHere: (left) => {
      for (const job of left) {
        const { run, model } = runCensusJob(ctx, prepared.get(job.group)!, job);
        record(job, run, () => model);
      }
    },
  });
  const all = runs as CensusRun[];
  return {
    settings, groups: settings.groups.map((g) => groupInfo(g, prepared.get(g)!.data)), runs: all, summary: summarizeCensusRuns(all),
    kept, workers, loadSeconds, seconds: (performance.now() - t0) / 1000,
  };
}
