import { DenseFeat, SparseFeat, hashBucket, modelNames, type FeatureColumn, type ModelName, type TaskType } from '../models/index.js';
import { ConfigError, type LabelSpec } from './config.js';
import { sortVocabulary } from '../data/csv-dataset.js';

export { sortVocabulary };

/*
 * What `train --config` learned from the training split and `predict` needs to encode new rows the
 * same way — category vocabularies, dense statistics — plus the model's name and options, the
 * tasks and how the CSV is read, so that `preprocessing.json` next to `model.safetensors` is all
 * `mmoe-ts predict` needs. One encoder (encodeRows) serves both commands, so training and serving
 * cannot drift apart.
 */

export const PREPROCESSING_FORMAT = 'mmoe-ts-preprocessing';
export const PREPROCESSING_VERSION = 1;

export interface Preprocessing {
  format: typeof PREPROCESSING_FORMAT;
  version: typeof PREPROCESSING_VERSION;
  model: { name: ModelName; options: Record<string, unknown> };
  labels: LabelSpec[];
  csv: { separator: string; header: boolean; columns?: string[]; missing?: string[] };
  /**
   * Sparse columns with their resolved embedding width, in feature order. A column with
   * hashBuckets has no vocabulary: its id is hashBucket(text, hashBuckets) (docs/large-vocabularies.md),
   * a missing cell hashed as the empty string.
   */
  sparse: Array<{ column: string; embeddingDim: number; hashBuckets?: number }>;
  /** Categories seen in the training split, in id order: id i + 1 is vocabularies[col][i]; 0 = missing or unseen. */
  vocabularies: Record<string, string[]>;
  /** Dense columns in feature order, standardised as (x − mean) / std; missing → the mean. */
  dense: Array<{ column: string; mean: number; std: number }>;
}

/** The feature columns the model is built from. */
export function featureColumns(p: Preprocessing): FeatureColumn[] {
  return [
    ...p.sparse.map((s) => s.hashBuckets !== undefined
      ? SparseFeat(s.column, s.hashBuckets, { embeddingDim: s.embeddingDim, useHash: true })
      : SparseFeat(s.column, p.vocabularies[s.column].length + 1, { embeddingDim: s.embeddingDim })),
    ...p.dense.map((d) => DenseFeat(d.column, 1)),
  ];
}

/**
 * Model input for `rows` of raw values: `sparse[r][k]` is row r's text for sparse column k (null
 * when missing), `dense[r · nd + k]` its number for dense column k (NaN when missing).
 */
export function encodeRows(
  p: Preprocessing, sparse: ReadonlyArray<ReadonlyArray<string | null>>, dense: ArrayLike<number>, rows: ArrayLike<number>,
): Record<string, Int32Array | Float32Array> {
  const nd = p.dense.length;
  const x: Record<string, Int32Array | Float32Array> = {};
  p.sparse.forEach((s, k) => {
    const col = new Int32Array(rows.length);
    const buckets = s.hashBuckets;
    if (buckets !== undefined) {
      for (let i = 0; i < rows.length; i++) col[i] = hashBucket(sparse[rows[i]][k] ?? '', buckets);
      x[s.column] = col;
      return;
    }
    const ids = new Map(p.vocabularies[s.column].map((v, i) => [v, i + 1]));
    for (let i = 0; i < rows.length; i++) { const v = sparse[rows[i]][k]; col[i] = v === null ? 0 : ids.get(v) ?? 0; }
    x[s.column] = col;
  });
  p.dense.forEach((d, k) => {
    const col = new Float32Array(rows.length);
    for (let i = 0; i < rows.length; i++) { const v = dense[rows[i] * nd + k]; col[i] = Number.isNaN(v) ? 0 : (v - d.mean) / d.std; }
    x[d.column] = col;
  });
  return x;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Checks a parsed preprocessing.json; every problem is a ConfigError naming `file`. */
export function parsePreprocessing(raw: unknown, file: string): Preprocessing {
  const bad = (what: string): never => {
    throw new ConfigError(`predict: ${file}: ${what}`);
  };
  if (!isObject(raw)) return bad('expected a JSON object');
  if (raw.format !== PREPROCESSING_FORMAT) {
    return bad(`not a preprocessing file of mmoe-ts train (format ${JSON.stringify(raw.format)}; files written before predict existed lack it: train again)`);
  }
  if (raw.version !== PREPROCESSING_VERSION) return bad(`version ${JSON.stringify(raw.version)} is not supported (this mmoe-ts reads version ${PREPROCESSING_VERSION})`);
  const model = raw.model;
  if (!isObject(model) || typeof model.name !== 'string' || !(modelNames as readonly string[]).includes(model.name) || !isObject(model.options)) {
    return bad(`'model' must be { name: one of ${modelNames.join(', ')}, options: {…} }`);
  }
  if (!Array.isArray(raw.labels) || raw.labels.length === 0 || !raw.labels.every((l) => isObject(l) && typeof l.name === 'string' && (l.type === 'binary' || l.type === 'regression' || (l.type === 'multiclass' && Array.isArray(l.classes) && l.classes.length >= 2)))) {
    return bad("'labels' must be a non-empty array of { column, name, type }");
  }
  const csv = raw.csv;
  if (!isObject(csv) || typeof csv.separator !== 'string' || typeof csv.header !== 'boolean') return bad("'csv' must be { separator, header, columns?, missing? }");
  const vocabularies = raw.vocabularies;
  if (!isObject(vocabularies)) return bad("'vocabularies' must be an object of column → values");
  if (!Array.isArray(raw.sparse)) return bad("'sparse' must be an array");
  for (const s of raw.sparse) {
    if (!isObject(s) || typeof s.column !== 'string' || !Number.isInteger(s.embeddingDim)) return bad(`'sparse' entries must be { column, embeddingDim, hashBuckets? }, got ${JSON.stringify(s)}`);
    if (s.hashBuckets !== undefined) {
      if (!Number.isInteger(s.hashBuckets) || (s.hashBuckets as number) < 1 || (s.hashBuckets as number) > 0x7fffffff) return bad(`'hashBuckets' of sparse column '${s.column}' must be an integer in [1, 2^31 − 1], got ${JSON.stringify(s.hashBuckets)}`);
      continue;
    }
    const v = vocabularies[s.column];
    if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) return bad(`no vocabulary (array of strings) for sparse column '${s.column}'`);
  }
  if (!Array.isArray(raw.dense)) return bad("'dense' must be an array");
  for (const d of raw.dense) {
    if (!isObject(d) || typeof d.column !== 'string' || !Number.isFinite(d.mean) || !(typeof d.std === 'number' && d.std > 0)) {
      return bad(`'dense' entries must be { column, mean, std > 0 }, got ${JSON.stringify(d)}`);
    }
  }
  return raw as unknown as Preprocessing;
}

/** The model options the labels decide: task names and types, and numClasses when a task is multiclass. */
export function taskOptionsOf(labels: readonly LabelSpec[]): { taskNames: string[]; taskTypes: TaskType[]; numClasses?: number[] } {
  const taskTypes = labels.map((l) => l.type);
  return {
    taskNames: labels.map((l) => l.name), taskTypes,
    ...(taskTypes.includes('multiclass') ? { numClasses: labels.map((l) => l.classes?.length ?? 1) } : {}),
  };
}

/** Output column names: the task name, or `<task>:<class>` for each class of a multiclass task. */
export function outputColumnsOf(labels: readonly LabelSpec[]): string[] {
  return labels.flatMap((l) => (l.type === 'multiclass' ? l.classes!.map((c) => `${l.name}:${c}`) : [l.name]));
}

/** The task types, in order, for the model constructor. */
export function taskTypesOf(p: Preprocessing): TaskType[] {
  return p.labels.map((l) => l.type);
}
