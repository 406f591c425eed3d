import type { CensusIncome, CensusSplit } from '../data/census.js';
import { loadCensusIncome } from '../data/census-node.js';
import { DenseFeat, MMoE, SharedBottom, SingleTask, SparseFeat, type FeatureColumn, type MultiTaskModel } from '../models/index.js';
import type { Dataset } from '../train/dataset.js';
import type { History } from '../train/history.js';
import type { TaskMetrics } from '../train/metrics.js';
import type { ProgressStream } from '../train/progress.js';
import { evaluate, fit } from '../train/trainer.js';

/*
 * The MMoE paper's census-income benchmark (§6.3): two binary tasks, income > 50K and never
 * married, learned by MMoE and by the Shared-Bottom and single-task baselines from the same
 * feature columns, each trained with the same optimiser and budget, scored by test AUC.
 */

export const CENSUS_MODELS = ['mmoe', 'shared-bottom', 'single-task'] as const;
export type CensusModelName = (typeof CENSUS_MODELS)[number];

export interface CensusExperimentOptions {
  models?: readonly CensusModelName[];
  epochs?: number;
  batchSize?: number;
  lr?: number;
  /** Embedding width of every categorical column. Default 4 (DeepCTR's). */
  embeddingDim?: number;
  /** Seed of the split, the inits and the shuffling. Default 0. */
  seed?: number;
  /** Read only the first rows of the data file (for quick checks). */
  limit?: number;
  /** The data file; default the packaged census-income.test.gz. */
  path?: string;
  /** Progress bars / lines for each fit (default none). */
  progressStream?: ProgressStream;
  verbose?: 0 | 1 | 2;
  onModel?(r: CensusModelResult): void;
}

export interface CensusModelResult {
  model: CensusModelName;
  parameters: number;
  /** Per-task metrics on the test split. */
  test: Record<string, TaskMetrics>;
  history: History;
  seconds: number;
  /** The trained model (for saving weights and gate plots). */
  trained: MultiTaskModel;
}

export interface CensusResult {
  settings: Required<Omit<CensusExperimentOptions, 'onModel' | 'progressStream' | 'verbose' | 'limit' | 'path'>>;
  rows: { train: number; validation: number; test: number };
  /** Positive rate of each task in the test split. */
  positiveRate: Record<string, number>;
  results: CensusModelResult[];
  loadSeconds: number;
  seconds: number;
  data: CensusIncome;
}

/** The model sizes: MMoE 4 experts of 64 units with 32-unit towers; baselines of similar size. */
export function buildCensusModel(name: CensusModelName, features: FeatureColumn[], seed: number): MultiTaskModel {
  const common = {
    features, taskTypes: ['binary', 'binary'] as const, taskNames: ['income', 'never_married'], seed,
    initStd: 0.05, l2RegEmbedding: 1e-6,
  };
  switch (name) {
    case 'mmoe': return new MMoE({ ...common, numExperts: 4, expertHiddenUnits: [64], towerHiddenUnits: [32] });
    case 'shared-bottom': return new SharedBottom({ ...common, bottomHiddenUnits: [128], towerHiddenUnits: [32] });
    case 'single-task': return new SingleTask({ ...common, hiddenUnits: [128, 32] });
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

export async function censusExperiment(o: CensusExperimentOptions = {}): Promise<CensusResult> {
  const t0 = performance.now();
  const settings = {
    models: o.models ?? CENSUS_MODELS,
    epochs: o.epochs ?? 2,
    batchSize: o.batchSize ?? 256,
    lr: o.lr ?? 2e-3,
    embeddingDim: o.embeddingDim ?? 4,
    seed: o.seed ?? 0,
  };
  const data = await loadCensusIncome({ seed: settings.seed, limit: o.limit, path: o.path });
  const loadSeconds = (performance.now() - t0) / 1000;
  const features = censusFeatures(data, settings.embeddingDim);
  const train = censusDataset(data, data.train);
  const validation = censusDataset(data, data.validation);
  const test = censusDataset(data, data.test);
  const positiveRate: Record<string, number> = {};
  data.taskNames.forEach((t, j) => {
    let s = 0;
    for (let i = 0; i < data.test.size; i++) s += data.test.labels[2 * i + j];
    positiveRate[t] = s / Math.max(1, data.test.size);
  });
  const results: CensusModelResult[] = [];
  for (const name of settings.models) {
    const m0 = performance.now();
    const model = buildCensusModel(name, features, settings.seed + 1);
    const history = fit(model, train, {
      epochs: settings.epochs, batchSize: settings.batchSize, optimizer: 'adam', lr: settings.lr,
      validationData: validation, seed: settings.seed + 2, verbose: o.verbose ?? 0, progressStream: o.progressStream,
    });
    const ev = evaluate(model, test, { batchSize: 4096 });
    const r: CensusModelResult = {
      model: name, parameters: model.numParameters(), test: ev.tasks, history,
      seconds: (performance.now() - m0) / 1000, trained: model,
    };
    results.push(r);
    o.onModel?.(r);
  }
  return {
    settings, rows: { train: data.train.size, validation: data.validation.size, test: data.test.size },
    positiveRate, results, loadSeconds, seconds: (performance.now() - t0) / 1000, data,
  };
}
