import { readCsvChunks } from '../data/csv-node.js';
import { csvDataset, scanCsv, type CsvDataset } from '../data/csv-dataset.js';
import { encodingFeatures, type FeatureColumn, type RowEncoding } from '../models/index.js';
import { ConfigError, type TrainConfig } from './config.js';
import type { CliModelInfo } from './model-info.js';

/*
 * `train --config` with training.stream: the CSV is never held in memory. A first pass learns the
 * training split's vocabularies and dense statistics (as loadTabular does from memory); each epoch
 * then reads the file again through a seeded shuffle buffer. The split cannot be a permutation of
 * a row count not yet known, so each row's split is a seeded hash of its row number: the same on
 * every pass, with split sizes close to (not exactly) the fractions.
 */

export interface StreamedTabular {
  features: FeatureColumn[];
  train: CsvDataset;
  validation: CsvDataset | null;
  test: CsvDataset | null;
  /** What the model file records to encode raw rows (as loadTabular's). */
  encoding: RowEncoding;
  info: CliModelInfo;
  rows: { total: number; train: number; validation: number; test: number };
}

/** A uniform value in [0, 1) from (seed, row): splitmix32's finaliser. */
function rowHash(seed: number, row: number): number {
  let z = (Math.imul(row, 0x9e3779b9) ^ Math.imul(seed + 1, 0x85ebca6b)) >>> 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
  return ((z ^ (z >>> 16)) >>> 0) / 4294967296;
}

export async function streamTabular(cfg: TrainConfig): Promise<StreamedTabular> {
  const { validationSplit, testSplit, seed, batchSize, shuffleBuffer } = cfg.training;
  const splitOf = (r: number): 0 | 1 | 2 => {
    const u = rowHash(seed, r);
    return u < 1 - validationSplit - testSplit ? 0 : u < 1 - testSplit ? 1 : 2;
  };
  const counts = [0, 0, 0];
  const labels = cfg.labels.map((l) => ({
    column: l.column, type: l.type, ...(l.positive !== undefined ? { positive: l.positive } : {}),
    ...(l.classes !== undefined ? { classes: l.classes } : {}), ...(l.allowMissing ? { allowMissing: true } : {}),
  }));
  const hashBuckets = Object.fromEntries(cfg.sparse.filter((s) => s.hashBuckets !== undefined).map((s) => [s.column, s.hashBuckets!]));
  const spec = { labels, sparse: cfg.sparse.map((s) => s.column), dense: cfg.dense, separator: cfg.separator, header: cfg.header, columns: cfg.columns, missing: cfg.missing, hashBuckets };
  let scan;
  try {
    scan = await scanCsv(readCsvChunks(cfg.csv), {
      ...spec, source: cfg.csv, filter: (r) => { const k = splitOf(r); counts[k]++; return k === 0; }, ...(cfg.groupBy !== undefined ? { groupBy: cfg.groupBy } : {}),
    });
  } catch (e) {
    // A column the config names but the file lacks is the config's problem, as in memory.
    const m = /^scanCsv: (.* column '[^']*' is not in .*)$/s.exec((e as Error).message);
    if (m) throw new ConfigError(`config: ${m[1]}`);
    throw e;
  }
  if (scan.rows === 0) throw new Error(`train: the training split of ${cfg.csv} is empty (${counts[0] + counts[1] + counts[2]} data rows; lower validationSplit / testSplit)`);
  const encoding: RowEncoding = {
    sparse: cfg.sparse.map((s) => (s.hashBuckets !== undefined
      ? { column: s.column, vocabulary: [], hashBuckets: s.hashBuckets }
      : { column: s.column, vocabulary: scan.vocabularies[s.column] })),
    dense: scan.dense.map((d) => ({ column: d.column, mean: d.mean, std: d.std })),
  };
  const info: CliModelInfo = {
    labels: cfg.labels,
    csv: { separator: cfg.separator, header: cfg.header, columns: cfg.columns, missing: cfg.missing },
  };
  const part = (k: 0 | 1 | 2): CsvDataset | null => counts[k] === 0 ? null : csvDataset({
    ...spec, source: cfg.csv, open: () => readCsvChunks(cfg.csv), vocabularies: scan.vocabularies, denseStats: scan.dense,
    // Evaluation reads in file order and in large batches; only training shuffles.
    batchSize: k === 0 ? batchSize : Math.max(batchSize, 4096), shuffleBuffer: k === 0 ? shuffleBuffer : 0, seed,
    filter: (r) => splitOf(r) === k,
    // Grouped AUC is a metric: only the evaluated splits need the ids.
    ...(cfg.groupBy !== undefined && k !== 0 ? { groupBy: cfg.groupBy } : {}),
  });
  return {
    // 'auto' embedding widths resolve against the vocabulary inside SparseFeat, as in memory.
    features: encodingFeatures(encoding, Object.fromEntries(cfg.sparse.map((s) => [s.column, { embeddingDim: s.embeddingDim }]))),
    train: part(0)!, validation: part(1), test: part(2), encoding, info,
    rows: { total: counts[0] + counts[1] + counts[2], train: counts[0], validation: counts[1], test: counts[2] },
  };
}
