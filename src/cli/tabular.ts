import { Generator } from '../tensor/index.js';
import { readCsv } from '../data/csv-node.js';
import { parseLabelCell } from '../data/csv-dataset.js';
import { splitIndices } from '../data/batches.js';
import { denseStats, encodeColumns, encodingFeatures, sortVocabulary, type FeatureColumn, type RowEncoding } from '../models/index.js';
import type { Dataset } from '../train/dataset.js';
import { ConfigError, type TrainConfig } from './config.js';
import type { CliModelInfo } from './model-info.js';

/**
 * Turns a user's CSV into model-ready arrays, following the census loader's conventions:
 * categorical ids from the training split only (sorted values — numerically when all are numbers —,
 * ids from 1; 0 = missing or unseen),
 * dense columns standardised with training-split mean / std (missing → the mean), a seeded split.
 */

export interface TabularData {
  features: FeatureColumn[];
  train: Dataset;
  validation: Dataset | null;
  test: Dataset | null;
  /** How raw rows become model input (learned from the training split), saved with the model. */
  encoding: RowEncoding;
  /** The label columns and CSV settings predict needs, saved with the model. */
  info: CliModelInfo;
  rows: { total: number; train: number; validation: number; test: number };
}

const parseLabel = (cfg: TrainConfig, j: number, v: string | null, where: string): number => parseLabelCell('train', cfg.labels[j], j, v, where);

export async function loadTabular(cfg: TrainConfig): Promise<TabularData> {
  const nt = cfg.labels.length, ns = cfg.sparse.length, nd = cfg.dense.length;
  let index: Map<string, number> | null = null;
  let labelCols: number[] = [], sparseCols: number[] = [], denseCols: number[] = [];
  let groupCol = -1;
  const onHeader = (cols: string[]): void => {
    index = new Map(cols.map((c, i) => [c, i]));
    const find = (c: string, role: string): number => {
      const i = index!.get(c);
      if (i === undefined) throw new ConfigError(`config: ${role} column '${c}' is not in ${cfg.csv} (columns: ${cols.join(', ')})`);
      return i;
    };
    labelCols = cfg.labels.map((l) => find(l.column, 'label'));
    sparseCols = cfg.sparse.map((s) => find(s.column, 'sparse'));
    denseCols = cfg.dense.map((d) => find(d, 'dense'));
    if (cfg.groupBy !== undefined) groupCol = find(cfg.groupBy, 'groupBy');
  };
  const raw: (string | null)[][] = [];
  const dense: number[] = [];
  const labels: number[] = [];
  // Group ids are numbered over all rows, so a user first seen in the test split keeps a group of their own.
  const groupIds = new Map<string, number>();
  const groups: number[] = [];
  let line = 0;
  for await (const row of readCsv(cfg.csv, { separator: cfg.separator, header: cfg.header, columns: cfg.columns, missing: cfg.missing, arrays: true, onHeader })) {
    line++;
    const where = `${cfg.csv}: data row ${line}`;
    raw.push(sparseCols.map((c) => row[c]));
    for (let k = 0; k < nd; k++) {
      const v = row[denseCols[k]];
      const x = v === null ? NaN : Number(v);
      if (v !== null && (v.trim() === '' || !Number.isFinite(x))) throw new Error(`train: ${where}: dense column '${cfg.dense[k]}' must be a number, got ${JSON.stringify(v)}`);
      dense.push(x);
    }
    for (let j = 0; j < nt; j++) labels.push(parseLabel(cfg, j, row[labelCols[j]], where));
    if (groupCol >= 0) {
      const g = row[groupCol];
      if (g === null) throw new Error(`train: ${where}: groupBy column '${cfg.groupBy}' is missing (empty); every row needs a group id`);
      let id = groupIds.get(g);
      if (id === undefined) groupIds.set(g, id = groupIds.size);
      groups.push(id);
    }
  }
  const n = raw.length;
  if (n < 2) throw new Error(`train: ${cfg.csv} has ${n} data row(s); need at least 2`);
  const { validationSplit, testSplit, seed } = cfg.training;
  const parts = splitIndices(n, { train: 1 - validationSplit - testSplit, validation: validationSplit, test: testSplit }, new Generator(seed));
  if (parts.train.length === 0) throw new Error(`train: the training split of ${n} rows is empty (lower validationSplit / testSplit)`);

  const encoding: RowEncoding = {
    sparse: cfg.sparse.map((s, k) => {
      if (s.hashBuckets !== undefined) return { column: s.column, vocabulary: [], hashBuckets: s.hashBuckets }; // hashed: no vocabulary
      const values: string[] = [];
      for (const r of parts.train) { const v = raw[r][k]; if (v !== null) values.push(v); }
      return { column: s.column, vocabulary: sortVocabulary(values) };
    }),
    dense: cfg.dense.map((column, k) => {
      const xs: number[] = [];
      for (const r of parts.train) { const x = dense[r * nd + k]; if (!Number.isNaN(x)) xs.push(x); }
      return denseStats(column, xs);
    }),
  };
  const info: CliModelInfo = {
    labels: cfg.labels,
    csv: { separator: cfg.separator, header: cfg.header, columns: cfg.columns, missing: cfg.missing },
  };
  // 'auto' embedding widths resolve against the vocabulary inside SparseFeat.
  const features = encodingFeatures(encoding, Object.fromEntries(cfg.sparse.map((s) => [s.column, { embeddingDim: s.embeddingDim }])));
  const build = (rows: Int32Array): Dataset | null => {
    if (rows.length === 0) return null;
    const x = encodeColumns(encoding, raw, dense, rows);
    const y = new Float32Array(rows.length * nt);
    for (let i = 0; i < rows.length; i++) for (let j = 0; j < nt; j++) y[i * nt + j] = labels[rows[i] * nt + j];
    return groupCol >= 0 ? { x, y, groups: Int32Array.from(rows, (r) => groups[r]) } : { x, y };
  };
  return {
    features,
    train: build(parts.train)!,
    validation: build(parts.validation),
    test: build(parts.test),
    encoding,
    info,
    rows: { total: n, train: parts.train.length, validation: parts.validation.length, test: parts.test.length },
  };
}
