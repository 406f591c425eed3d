import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { modelNames, type ModelName, type TaskType } from '../models/index.js';
import type { ModelCheckpointOptions } from '../train/checkpoint-node.js';
import type { EarlyStoppingOptions } from '../train/history.js';
import { OPTIMIZER_NAMES, type OptimizerName } from '../train/optimizer-registry.js';
import { unknownKey } from '../validation/options.js';

/** A problem with the user's config: the CLI prints it on one line and exits 2. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

export interface LabelSpec {
  column: string;
  type: TaskType;
  /** Task name (default: the column name). */
  name: string;
  /** For binary labels given as text: the value that means 1 (default: labels must be 0/1). */
  positive?: string;
  /**
   * Partial labels: an empty (or `missing`-marked) cell is a missing label, masked out of this
   * task's loss and metrics (fit's missingLabels). Default false: such a cell is an error.
   */
  allowMissing?: boolean;
  /** A multiclass label's classes: the cell values, in class-index order (K = their number). */
  classes?: string[];
}

export interface SparseSpec {
  column: string;
  embeddingDim: number | 'auto';
  /** Hash the column's text into this many buckets (SparseFeat useHash) instead of building a vocabulary. */
  hashBuckets?: number;
}

export interface TrainingSpec {
  epochs: number;
  batchSize: number;
  optimizer: OptimizerName;
  lr: number;
  validationSplit: number;
  testSplit: number;
  seed: number;
  lossWeights?: Record<string, number>;
  earlyStopping?: EarlyStoppingOptions;
  clipGradNorm?: number;
  /** Read the CSV as a stream each epoch instead of into memory (tabular-stream.ts). */
  stream: boolean;
  /** With stream: rows mixed at a time by the shuffle buffer. */
  shuffleBuffer: number;
  /** ModelCheckpoint's options: training state written while training, for `train --resume`. */
  checkpoint?: CheckpointSpec;
}

/** training.checkpoint: ModelCheckpoint's options, `dir` resolved (default: `<--out>/checkpoints`). */
export type CheckpointSpec = Omit<ModelCheckpointOptions, 'dir'> & {
  /** Absolute, or undefined for `<--out>/checkpoints`. */
  dir?: string;
};

/** A validated `train --config` file (see the README for the format). */
export interface TrainConfig {
  /** Absolute path of the data file (a relative path in the config is relative to the config file). */
  csv: string;
  separator: string;
  header: boolean;
  columns?: string[];
  missing?: string[];
  labels: LabelSpec[];
  sparse: SparseSpec[];
  dense: string[];
  /** A column of user (group) ids: adds grouped AUC to the binary tasks' validation and test metrics. */
  groupBy?: string;
  model: { name: ModelName; options: Record<string, unknown> };
  training: TrainingSpec;
}

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

function checkKeys(where: string, o: Json, allowed: readonly string[]): void {
  const bad = unknownKey(o, allowed);
  if (bad) throw new ConfigError(`config: unknown key '${where}${bad.key}'${bad.near ? ` (did you mean '${where}${bad.near}'?)` : ''} (allowed: ${allowed.join(', ')})`);
}

function str(where: string, v: unknown): string {
  if (typeof v !== 'string' || v === '') throw new ConfigError(`config: '${where}' must be a non-empty string, got ${JSON.stringify(v)}`);
  return v;
}

function num(where: string, v: unknown, test: (x: number) => boolean, what: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || !test(v)) throw new ConfigError(`config: '${where}' must be ${what}, got ${JSON.stringify(v)}`);
  return v;
}

const posInt = (where: string, v: unknown): number => num(where, v, (x) => Number.isInteger(x) && x >= 1, 'a positive integer');

function strings(where: string, v: unknown): string[] {
  if (!Array.isArray(v)) throw new ConfigError(`config: '${where}' must be an array of strings, got ${JSON.stringify(v)}`);
  return v.map((s, i) => (typeof s === 'string' ? s : str(`${where}[${i}]`, s)));
}

function parseLabels(v: unknown): LabelSpec[] {
  if (!Array.isArray(v) || v.length === 0) throw new ConfigError(`config: 'labels' must be a non-empty array of { column, type: "binary" | "regression" | "multiclass" }, got ${JSON.stringify(v)}`);
  return v.map((l, i) => {
    const w = `labels[${i}]`;
    if (!isObject(l)) throw new ConfigError(`config: '${w}' must be an object { column, type }, got ${JSON.stringify(l)}`);
    checkKeys(`${w}.`, l, ['column', 'type', 'name', 'positive', 'allowMissing', 'classes']);
    const column = str(`${w}.column`, l.column);
    if (l.type !== 'binary' && l.type !== 'regression' && l.type !== 'multiclass') throw new ConfigError(`config: '${w}.type' must be "binary", "regression" or "multiclass", got ${JSON.stringify(l.type)}`);
    let classes: string[] | undefined;
    if (l.type === 'multiclass') {
      if (l.classes === undefined) throw new ConfigError(`config: '${w}.classes' is required for a multiclass label: its values in class order, e.g. ["news", "sports", "music"]`);
      classes = strings(`${w}.classes`, l.classes);
      if (classes.length < 2 || new Set(classes).size !== classes.length) throw new ConfigError(`config: '${w}.classes' must list at least 2 distinct values, got ${JSON.stringify(l.classes)}`);
    } else if (l.classes !== undefined) throw new ConfigError(`config: '${w}.classes' only applies to multiclass labels`);
    const name = l.name === undefined ? column : str(`${w}.name`, l.name);
    if (name.includes('.')) throw new ConfigError(`config: task name '${name}' (${w}) must not contain dots; give labels[${i}].name`);
    const positive = l.positive === undefined ? undefined : str(`${w}.positive`, l.positive);
    if (positive !== undefined && l.type !== 'binary') throw new ConfigError(`config: '${w}.positive' only applies to binary labels`);
    if (l.allowMissing !== undefined && typeof l.allowMissing !== 'boolean') throw new ConfigError(`config: '${w}.allowMissing' must be true or false, got ${JSON.stringify(l.allowMissing)}`);
    return { column, type: l.type, name, positive, ...(l.allowMissing === true ? { allowMissing: true } : {}), ...(classes ? { classes } : {}) };
  });
}

function parseSparse(v: unknown, defaultDim: number | 'auto'): SparseSpec[] {
  if (v === undefined) return [];
  if (!Array.isArray(v)) throw new ConfigError(`config: 'sparse' must be an array of column names or { column, embeddingDim, hashBuckets }, got ${JSON.stringify(v)}`);
  return v.map((s, i) => {
    if (typeof s === 'string') return { column: str(`sparse[${i}]`, s), embeddingDim: defaultDim };
    if (!isObject(s)) throw new ConfigError(`config: 'sparse[${i}]' must be a column name or { column, embeddingDim, hashBuckets }, got ${JSON.stringify(s)}`);
    checkKeys(`sparse[${i}].`, s, ['column', 'embeddingDim', 'hashBuckets']);
    const dim = s.embeddingDim === undefined || s.embeddingDim === 'auto' ? (s.embeddingDim ?? defaultDim) as number | 'auto' : posInt(`sparse[${i}].embeddingDim`, s.embeddingDim);
    const spec: SparseSpec = { column: str(`sparse[${i}].column`, s.column), embeddingDim: dim };
    if (s.hashBuckets !== undefined) {
      const b = posInt(`sparse[${i}].hashBuckets`, s.hashBuckets);
      if (b > 0x7fffffff) throw new ConfigError(`config: 'sparse[${i}].hashBuckets' must be at most 2^31 − 1, got ${b}`);
      spec.hashBuckets = b;
    }
    return spec;
  });
}

const bool = (where: string, v: unknown): boolean | undefined => {
  if (v !== undefined && typeof v !== 'boolean') throw new ConfigError(`config: '${where}' must be true or false, got ${JSON.stringify(v)}`);
  return v;
};

function parseCheckpoint(v: unknown, baseDir: string): CheckpointSpec {
  const w = 'training.checkpoint';
  if (!isObject(v)) throw new ConfigError(`config: '${w}' must be an object { dir, monitor, mode, saveBest, saveLast, everyEpochs, everySteps }, got ${JSON.stringify(v)}`);
  checkKeys(`${w}.`, v, ['dir', 'monitor', 'mode', 'saveBest', 'saveLast', 'everyEpochs', 'everySteps']);
  if (v.mode !== undefined && v.mode !== 'min' && v.mode !== 'max' && v.mode !== 'auto') throw new ConfigError(`config: '${w}.mode' must be "min", "max" or "auto", got ${JSON.stringify(v.mode)}`);
  const spec: CheckpointSpec = {
    dir: v.dir === undefined ? undefined : resolve(baseDir, str(`${w}.dir`, v.dir)),
    monitor: v.monitor === undefined ? undefined : str(`${w}.monitor`, v.monitor),
    mode: v.mode as CheckpointSpec['mode'],
    saveBest: bool(`${w}.saveBest`, v.saveBest),
    saveLast: bool(`${w}.saveLast`, v.saveLast),
    everyEpochs: v.everyEpochs === undefined ? undefined : posInt(`${w}.everyEpochs`, v.everyEpochs),
    everySteps: v.everySteps === undefined ? undefined : posInt(`${w}.everySteps`, v.everySteps),
  };
  if (spec.saveBest === false && spec.saveLast === false) throw new ConfigError(`config: '${w}.saveBest' and '${w}.saveLast' are both false; nothing would be written`);
  return Object.fromEntries(Object.entries(spec).filter(([, x]) => x !== undefined)) as CheckpointSpec;
}

function parseTraining(v: unknown, labels: LabelSpec[], baseDir: string): TrainingSpec {
  const t: Json = v === undefined ? {} : isObject(v) ? v : (() => { throw new ConfigError(`config: 'training' must be an object, got ${JSON.stringify(v)}`); })();
  checkKeys('training.', t, ['epochs', 'batchSize', 'optimizer', 'lr', 'validationSplit', 'testSplit', 'seed', 'lossWeights', 'earlyStopping', 'clipGradNorm', 'stream', 'shuffleBuffer', 'checkpoint']);
  const optimizer = t.optimizer ?? 'adam';
  if (typeof optimizer !== 'string' || !(OPTIMIZER_NAMES as readonly string[]).includes(optimizer)) {
    throw new ConfigError(`config: 'training.optimizer' must be one of ${OPTIMIZER_NAMES.join(', ')}, got ${JSON.stringify(optimizer)}`);
  }
  const frac = (k: string, d: number): number => (t[k] === undefined ? d : num(`training.${k}`, t[k], (x) => x >= 0 && x < 1, 'a fraction in [0, 1)'));
  const validationSplit = frac('validationSplit', 0.1);
  const testSplit = frac('testSplit', 0.2);
  if (validationSplit + testSplit >= 1) throw new ConfigError(`config: training.validationSplit + training.testSplit must be < 1, got ${validationSplit} + ${testSplit}`);
  let lossWeights: Record<string, number> | undefined;
  if (t.lossWeights !== undefined) {
    if (!isObject(t.lossWeights)) throw new ConfigError(`config: 'training.lossWeights' must be an object { taskName: weight }, got ${JSON.stringify(t.lossWeights)}`);
    lossWeights = {};
    for (const [k, w] of Object.entries(t.lossWeights)) {
      if (!labels.some((l) => l.name === k)) throw new ConfigError(`config: 'training.lossWeights' names unknown task '${k}' (tasks: ${labels.map((l) => l.name).join(', ')})`);
      lossWeights[k] = num(`training.lossWeights.${k}`, w, (x) => x >= 0, 'a number >= 0');
    }
  }
  let earlyStopping: EarlyStoppingOptions | undefined;
  if (t.earlyStopping !== undefined) {
    const e = t.earlyStopping;
    if (!isObject(e)) throw new ConfigError(`config: 'training.earlyStopping' must be an object { monitor, patience, mode }, got ${JSON.stringify(e)}`);
    checkKeys('training.earlyStopping.', e, ['monitor', 'patience', 'mode', 'minDelta', 'restoreBestWeights']);
    if (e.mode !== undefined && e.mode !== 'min' && e.mode !== 'max' && e.mode !== 'auto') throw new ConfigError(`config: 'training.earlyStopping.mode' must be "min", "max" or "auto", got ${JSON.stringify(e.mode)}`);
    if (e.restoreBestWeights !== undefined && typeof e.restoreBestWeights !== 'boolean') throw new ConfigError(`config: 'training.earlyStopping.restoreBestWeights' must be true or false`);
    earlyStopping = {
      monitor: e.monitor === undefined ? undefined : str('training.earlyStopping.monitor', e.monitor),
      patience: e.patience === undefined ? undefined : num('training.earlyStopping.patience', e.patience, (x) => Number.isInteger(x) && x >= 0, 'an integer >= 0'),
      mode: e.mode as EarlyStoppingOptions['mode'],
      minDelta: e.minDelta === undefined ? undefined : num('training.earlyStopping.minDelta', e.minDelta, (x) => x >= 0, 'a number >= 0'),
      restoreBestWeights: e.restoreBestWeights as boolean | undefined,
    };
    if (validationSplit === 0 && (earlyStopping.monitor ?? 'val_loss').startsWith('val_')) {
      throw new ConfigError(`config: 'training.earlyStopping' monitors '${earlyStopping.monitor ?? 'val_loss'}' but training.validationSplit is 0`);
    }
  }
  return {
    epochs: t.epochs === undefined ? 5 : posInt('training.epochs', t.epochs),
    batchSize: t.batchSize === undefined ? 256 : posInt('training.batchSize', t.batchSize),
    optimizer: optimizer as OptimizerName,
    lr: t.lr === undefined ? 1e-3 : num('training.lr', t.lr, (x) => x > 0, 'a positive number'),
    validationSplit, testSplit,
    seed: t.seed === undefined ? 0 : num('training.seed', t.seed, (x) => Number.isInteger(x) && x >= 0, 'an integer >= 0'),
    lossWeights, earlyStopping,
    clipGradNorm: t.clipGradNorm === undefined ? undefined : num('training.clipGradNorm', t.clipGradNorm, (x) => x > 0, 'a positive number'),
    stream: t.stream === undefined ? false : typeof t.stream === 'boolean' ? t.stream : (() => { throw new ConfigError(`config: 'training.stream' must be true or false, got ${JSON.stringify(t.stream)}`); })(),
    shuffleBuffer: t.shuffleBuffer === undefined ? 10_000 : num('training.shuffleBuffer', t.shuffleBuffer, (x) => Number.isInteger(x) && x >= 0, 'an integer >= 0'),
    ...(t.checkpoint !== undefined ? { checkpoint: parseCheckpoint(t.checkpoint, baseDir) } : {}),
  };
}

const RESERVED_MODEL_OPTIONS = ['features', 'inputDim', 'taskTypes', 'taskNames', 'numClasses'];

/** Checks a parsed JSON config; `baseDir` resolves a relative csv path. */
export function parseTrainConfig(raw: unknown, baseDir: string): TrainConfig {
  if (!isObject(raw)) throw new ConfigError(`config: expected a JSON object at the top level, got ${Array.isArray(raw) ? 'an array' : JSON.stringify(raw)}`);
  checkKeys('', raw, ['csv', 'separator', 'header', 'columns', 'missing', 'labels', 'sparse', 'dense', 'groupBy', 'embeddingDim', 'model', 'training', '$comment']);
  const csv = resolve(baseDir, str('csv', raw.csv));
  const separator = raw.separator === undefined ? (csv.endsWith('.tsv') || csv.endsWith('.tsv.gz') ? '\t' : ',') : str('separator', raw.separator);
  if (separator.length !== 1) throw new ConfigError(`config: 'separator' must be one character, got ${JSON.stringify(separator)}`);
  if (raw.header !== undefined && typeof raw.header !== 'boolean') throw new ConfigError(`config: 'header' must be true or false, got ${JSON.stringify(raw.header)}`);
  const columns = raw.columns === undefined ? undefined : strings('columns', raw.columns);
  const header = (raw.header as boolean | undefined) ?? columns === undefined;
  const missing = raw.missing === undefined ? undefined : strings('missing', raw.missing);
  const defaultDim = raw.embeddingDim === undefined || raw.embeddingDim === 'auto' ? 'auto' : posInt('embeddingDim', raw.embeddingDim);
  const labels = parseLabels(raw.labels);
  const sparse = parseSparse(raw.sparse, defaultDim);
  const dense = raw.dense === undefined ? [] : strings('dense', raw.dense);
  const groupBy = raw.groupBy === undefined ? undefined : str('groupBy', raw.groupBy);
  if (groupBy !== undefined && labels.some((l) => l.column === groupBy)) throw new ConfigError(`config: 'groupBy' column '${groupBy}' is a label column`);
  if (sparse.length + dense.length === 0) throw new ConfigError(`config: give at least one input column in 'sparse' or 'dense'`);
  const used = new Map<string, string>();
  const claim = (col: string, role: string): void => {
    const prev = used.get(col);
    if (prev) throw new ConfigError(`config: column '${col}' is used twice (as ${prev} and as ${role})`);
    used.set(col, role);
  };
  labels.forEach((l) => claim(l.column, 'a label'));
  sparse.forEach((s) => claim(s.column, 'a sparse feature'));
  dense.forEach((d) => claim(d, 'a dense feature'));
  for (const c of used.keys()) if (c.includes('.')) throw new ConfigError(`config: column name '${c}' contains a dot; names become parameter keys, rename it in 'columns'`);
  if (new Set(labels.map((l) => l.name)).size !== labels.length) throw new ConfigError(`config: task names must be distinct, got ${labels.map((l) => l.name).join(', ')}`);

  if (!isObject(raw.model)) throw new ConfigError(`config: 'model' must be an object { name, options }, got ${JSON.stringify(raw.model)}`);
  checkKeys('model.', raw.model, ['name', 'options']);
  const name = raw.model.name;
  if (typeof name !== 'string' || !(modelNames as readonly string[]).includes(name)) {
    throw new ConfigError(`config: 'model.name' must be one of ${modelNames.join(', ')}, got ${JSON.stringify(name)}`);
  }
  const options = raw.model.options === undefined ? {} : raw.model.options;
  if (!isObject(options)) throw new ConfigError(`config: 'model.options' must be an object, got ${JSON.stringify(options)}`);
  for (const k of RESERVED_MODEL_OPTIONS) {
    if (k in options) throw new ConfigError(`config: 'model.options.${k}' is set from the data columns; remove it`);
  }
  return {
    csv, separator, header, columns, missing, labels, sparse, dense, ...(groupBy !== undefined ? { groupBy } : {}),
    model: { name: name as ModelName, options },
    training: parseTraining(raw.training, labels, baseDir),
  };
}

/** Reads and checks a config file; every problem is a ConfigError naming the file. */
export function readTrainConfig(file: string): TrainConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new ConfigError(`config: cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new ConfigError(`config: ${file} is not valid JSON: ${(e as Error).message}`);
  }
  try {
    return parseTrainConfig(raw, dirname(resolve(file)));
  } catch (e) {
    if (e instanceof ConfigError) throw new ConfigError(`${file}: ${e.message}`);
    throw e;
  }
}
