/* The census-income loader over text and chunks (works everywhere); the file paths are in census-node.ts. */
import { Generator } from '../tensor/index.js';
import { splitIndices, type SplitFractions } from './batches.js';
import { csvRows, type CsvChunks, type CsvRow } from './csv.js';

/** One split of the census data, every array row-major over the split's rows. */
export interface CensusSplit {
  /** Number of rows N. */
  size: number;
  /** [N, sparseFeatures.length] category ids: 0 = missing or not seen in training, 1.. = vocabulary. */
  sparse: Int32Array;
  /** [N, denseFeatures.length] continuous values standardised with the training split's mean / std. */
  dense: Float32Array;
  /** [N, 2]: income > 50K, never married (0 / 1). */
  labels: Float32Array;
}

export interface CensusSparseFeature {
  name: string;
  /** Ids run 0..vocabularySize-1; 0 is reserved, so this is the number of training values + 1. */
  vocabularySize: number;
  /** vocabulary[id - 1] is the raw value of id (ids follow the sorted raw values). */
  vocabulary: string[];
}

export interface CensusIncome {
  train: CensusSplit;
  validation: CensusSplit;
  test: CensusSplit;
  sparseFeatures: CensusSparseFeature[];
  denseFeatures: string[];
  /** The training-split statistics used to standardise each dense feature (population std). */
  denseStats: { mean: number[]; std: number[] };
  taskNames: ['income', 'never_married'];
  taskTypes: ['binary', 'binary'];
}

export interface CensusOptions {
  /** loadCensusIncome (mmoe-ts/node) only: the data file, gzipped or plain; default data/census-income/census-income.test.gz of this package. */
  path?: string;
  /** loadCensusIncome (mmoe-ts/node) only: the UCI description naming the columns; default census-income.names next to `path`. */
  namesPath?: string;
  /** Read only the first `limit` rows of the file (before splitting). */
  limit?: number;
  /** Seed of the split. Default 0. */
  seed?: number;
  /** Default { train: 0.7, validation: 0.1, test: 0.2 }. */
  splits?: SplitFractions;
}

/** The census data as text: in Node, loadCensusIncome (mmoe-ts/node) reads it from files; in a browser, fetch it. */
export interface CensusSource {
  /** The text of census-income.names (the column list). */
  names: string;
  /** The data rows (plain text, not gzip: in a browser, pipe a .gz body through DecompressionStream). */
  data: CsvChunks;
  /** Names of the two inputs in error messages. */
  dataName?: string;
  namesName?: string;
}

const INCOME_COLUMN = 'label';
const INCOME_POSITIVE = '50000+.';
const INCOME_NEGATIVE = '- 50000.';
const MARITAL_COLUMN = 'marital stat';
const NEVER_MARRIED = 'Never married';
const WEIGHT_COLUMN = 'instance weight';

/** Column names and kinds from the text of the UCI .names file (`namesPath` names it in errors), in file order, plus the trailing label. */
export function parseCensusColumns(text: string, namesPath = '<census-income.names>'): { name: string; continuous: boolean }[] {
  const lines = text.split(/\r?\n/);
  // The attribute list starts after the class line '- 50000, 50000+.'; '|' lines are comments.
  const first = lines.findIndex((l) => l.startsWith('- 50000'));
  if (first < 0) throw new Error(`readCensusColumns: ${namesPath} has no class line '- 50000, 50000+.'`);
  const cols: { name: string; continuous: boolean }[] = [];
  for (const line of lines.slice(first + 1)) {
    const m = /^([^|:][^:]*):\s*(.*)$/.exec(line);
    if (m) cols.push({ name: m[1].trim(), continuous: m[2].trim() === 'continuous.' });
  }
  if (cols.length !== 41) throw new Error(`readCensusColumns: expected 41 columns (40 attributes + instance weight) in ${namesPath}, found ${cols.length}`);
  cols.push({ name: INCOME_COLUMN, continuous: false });
  return cols;
}

/** 'class of worker' → 'class_of_worker': names usable as parameter keys. */
function featureName(raw: string): string {
  return raw.toLowerCase().replace(/[^a-z0-9]+/g, '_').replace(/^_+|_+$/g, '');
}

/** A growable row-major buffer; the row count is unknown until the file ends. */
class Rows<A extends Int32Array | Float64Array> {
  data: A;
  length = 0;
  constructor(private readonly make: (n: number) => A, readonly width: number) {
    this.data = make(1024 * Math.max(width, 1));
  }
  row(): number {
    const need = (this.length + 1) * this.width;
    if (need > this.data.length) {
      const grown = this.make(this.data.length * 2);
      grown.set(this.data);
      this.data = grown;
    }
    return this.length++ * this.width;
  }
}

/**
 * Loads the UCI Census-Income (KDD) data for the MMoE paper's two tasks (§6.3): income > $50K
 * (label '50000+.') and marital status 'Never married'.
 *
 * Choices, in order:
 * - Only the UCI *test* file (99,762 rows) ships with this package (the training file could not be
 *   obtained), so a seeded random train / validation / test split is drawn from it.
 * - Columns come from census-income.names; the instance weight is dropped (the UCI notes say it
 *   must not be used by classifiers), and marital status is removed from the features because it
 *   is the second task's label.
 * - The 7 columns the .names file calls continuous (age, wage per hour, capital gains, capital
 *   losses, dividends from stocks, num persons worked for employer, weeks worked in year) are dense
 *   features, standardised with the training split's mean and population std (std 0 → 1). The
 *   other 32 — including numeric codes such as detailed industry / occupation recode, own business,
 *   veterans benefits and year — are categorical.
 * - Category ids come from the training split only, in sorted order of the raw values, starting at
 *   1; a value missing ('?') or not seen in training maps to the reserved id 0. A missing
 *   continuous value (none occur in the file) becomes the training mean, i.e. 0 after scaling.
 */
export async function loadCensusIncomeFrom(source: CensusSource, options: Omit<CensusOptions, 'path' | 'namesPath'> = {}): Promise<CensusIncome> {
  const path = source.dataName ?? '<census data>';
  const namesPath = source.namesName ?? '<census-income.names>';
  const limit = options.limit ?? Infinity;
  if (!(limit >= 0)) throw new RangeError(`loadCensusIncome: limit must be a non-negative number, got ${options.limit}`);
  const columns = parseCensusColumns(source.names, namesPath);

  const catCols: number[] = [];
  const denseCols: number[] = [];
  let maritalCol = -1;
  columns.forEach((c, j) => {
    if (c.name === WEIGHT_COLUMN || c.name === INCOME_COLUMN) return;
    if (c.name === MARITAL_COLUMN) maritalCol = j;
    else if (c.continuous) denseCols.push(j);
    else catCols.push(j);
  });
  if (maritalCol < 0) throw new Error(`loadCensusIncome: no '${MARITAL_COLUMN}' column in ${namesPath}`);
  const labelCol = columns.length - 1;

  // Raw codes in order of first appearance; remapped to training-vocabulary ids after the split.
  const codes = catCols.map(() => new Map<string, number>());
  const cats = new Rows((n) => new Int32Array(n), catCols.length);
  const dense = new Rows((n) => new Float64Array(n), denseCols.length);
  const labels = new Rows((n) => new Float64Array(n), 2);
  let rowNo = 0;
  if (limit > 0) {
    for await (const row of csvRows('loadCensusIncome', path, source.data, { header: false, arrays: true, skipInitialSpace: true, missing: ['?'], columns: columns.map((c) => c.name) }) as AsyncGenerator<CsvRow>) {
      rowNo++;
      const c = cats.row();
      for (let k = 0; k < catCols.length; k++) {
        const v = row[catCols[k]];
        let code = -1;
        if (v !== null) {
          const map = codes[k];
          code = map.get(v) ?? -1;
          if (code < 0) { code = map.size; map.set(v, code); }
        }
        cats.data[c + k] = code;
      }
      const d = dense.row();
      for (let k = 0; k < denseCols.length; k++) {
        const v = row[denseCols[k]];
        const x = v === null ? NaN : Number(v);
        if (v !== null && (v.trim() === '' || !Number.isFinite(x))) {
          throw new Error(`loadCensusIncome: ${path}: row ${rowNo}: '${columns[denseCols[k]].name}' should be a number, got ${JSON.stringify(v)}`);
        }
        dense.data[d + k] = x;
      }
      const label = row[labelCol];
      if (label !== INCOME_POSITIVE && label !== INCOME_NEGATIVE) {
        throw new Error(`loadCensusIncome: ${path}: row ${rowNo}: label should be '${INCOME_NEGATIVE}' or '${INCOME_POSITIVE}', got ${JSON.stringify(label)}`);
      }
      const l = labels.row();
      labels.data[l] = label === INCOME_POSITIVE ? 1 : 0;
      labels.data[l + 1] = row[maritalCol] === NEVER_MARRIED ? 1 : 0;
      if (rowNo >= limit) break;
    }
  }

  const n = rowNo;
  const parts = splitIndices(n, options.splits ?? { train: 0.7, validation: 0.1, test: 0.2 }, new Generator(options.seed ?? 0));

  // Vocabulary from training rows only: a validation / test value unseen in training gets id 0.
  const nc = catCols.length;
  const sparseFeatures: CensusSparseFeature[] = [];
  const remap: Int32Array[] = [];
  for (let k = 0; k < nc; k++) {
    const raw = [...codes[k].keys()];
    const seen = new Uint8Array(raw.length);
    for (const r of parts.train) {
      const code = cats.data[r * nc + k];
      if (code >= 0) seen[code] = 1;
    }
    const vocabulary = raw.filter((_, code) => seen[code]).sort();
    const idOf = new Map(vocabulary.map((v, i) => [v, i + 1]));
    remap.push(Int32Array.from(raw, (v) => idOf.get(v) ?? 0));
    sparseFeatures.push({ name: featureName(columns[catCols[k]].name), vocabularySize: vocabulary.length + 1, vocabulary });
  }

  const nd = denseCols.length;
  const mean = new Array<number>(nd).fill(0);
  const std = new Array<number>(nd).fill(1);
  for (let k = 0; k < nd; k++) {
    let s = 0, cnt = 0;
    for (const r of parts.train) { const x = dense.data[r * nd + k]; if (!Number.isNaN(x)) { s += x; cnt++; } }
    const m = cnt > 0 ? s / cnt : 0;
    let ss = 0;
    for (const r of parts.train) { const x = dense.data[r * nd + k]; if (!Number.isNaN(x)) ss += (x - m) * (x - m); }
    const sd = cnt > 0 ? Math.sqrt(ss / cnt) : 0;
    mean[k] = m;
    std[k] = sd > 0 ? sd : 1;
  }

  const build = (rows: Int32Array): CensusSplit => {
    const out: CensusSplit = {
      size: rows.length,
      sparse: new Int32Array(rows.length * nc),
      dense: new Float32Array(rows.length * nd),
      labels: new Float32Array(rows.length * 2),
    };
    for (let i = 0; i < rows.length; i++) {
      const r = rows[i];
      for (let k = 0; k < nc; k++) {
        const code = cats.data[r * nc + k];
        out.sparse[i * nc + k] = code < 0 ? 0 : remap[k][code];
      }
      for (let k = 0; k < nd; k++) {
        const x = dense.data[r * nd + k];
        out.dense[i * nd + k] = Number.isNaN(x) ? 0 : (x - mean[k]) / std[k];
      }
      out.labels[2 * i] = labels.data[2 * r];
      out.labels[2 * i + 1] = labels.data[2 * r + 1];
    }
    return out;
  };

  return {
    train: build(parts.train),
    validation: build(parts.validation),
    test: build(parts.test),
    sparseFeatures,
    denseFeatures: denseCols.map((j) => featureName(columns[j].name)),
    denseStats: { mean, std },
    taskNames: ['income', 'never_married'],
    taskTypes: ['binary', 'binary'],
  };
}
