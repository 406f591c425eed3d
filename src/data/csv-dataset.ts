import { Generator } from '../tensor/index.js';
import { sortVocabulary } from '../models/row-encoding.js';
import { hashBucket } from '../models/hash.js';
import { checkOptions } from '../validation/options.js';
import { csvRowRuns, type CsvChunks, type CsvRow } from './csv.js';

/*
 * CSV files larger than memory as a source of mini-batches (fit's BatchDataset): each epoch reads
 * the file again through parseCsvStream's row loop, encodes rows as they come (categorical ids from a
 * vocabulary, dense values standardised) and mixes them through a seeded shuffle buffer, so memory
 * holds the buffer and one batch, never the file. The encoding conventions are the CLI's: ids from
 * 1 in vocabulary order, 0 for missing or unseen; dense (x − mean) / std, missing → the mean.
 */

export interface CsvLabel {
  column: string;
  type: 'binary' | 'regression' | 'multiclass';
  /** Binary labels given as text: the value that means 1 (default: 0/1 or true/false). */
  positive?: string;
  /** A multiclass label's classes: the cell values in class-index order. */
  classes?: readonly string[];
  /** An empty (or `missing`-marked) cell is a missing label, NaN (fit's missingLabels masks it); default: an error. */
  allowMissing?: boolean;
  /** The task's name (the CLI's config carries it; not used here). */
  name?: string;
}

/** What to read from each row and how the file is laid out. */
export interface CsvColumnsSpec {
  labels: readonly CsvLabel[];
  sparse?: readonly string[];
  dense?: readonly string[];
  separator?: string;
  header?: boolean;
  columns?: readonly string[];
  missing?: readonly string[];
  /** Sparse columns hashed into this many buckets (SparseFeat useHash: id = hashBucket(text, buckets), a missing cell hashed as ''), with no vocabulary. */
  hashBuckets?: Readonly<Record<string, number>>;
}

export interface DenseStats {
  column: string;
  mean: number;
  std: number;
}

/** What a first pass learns: the row count, each sparse column's vocabulary, each dense column's mean and std. */
export interface CsvScan {
  rows: number;
  vocabularies: Record<string, string[]>;
  dense: DenseStats[];
}

export interface CsvDatasetOptions extends CsvColumnsSpec {
  /** Opens the file (or any chunked input) again for each pass; `epoch` is 1-based. */
  open: (epoch: number) => CsvChunks;
  /** Per sparse column, its categories in id order (id i + 1): from scanCsv or a given list. */
  vocabularies: Record<string, readonly string[]>;
  /** Dense standardisation (from scanCsv); default none: values as they are, missing → 0. */
  denseStats?: readonly DenseStats[];
  batchSize?: number;
  /** Rows mixed at a time (TF.js's shuffle(bufferSize)); 0 or 1 reads in file order. Default 10,000. */
  shuffleBuffer?: number;
  /** Seeds the buffer's draws; each epoch draws from seed and epoch, so an epoch's order is reproducible (and a resumed fit sees the same one). Default 0. */
  seed?: number;
  /** Only rows for which this is true (e.g. a seeded split by row number, 0-based). */
  filter?: (row: number) => boolean;
  /** Names the input in errors. */
  source?: string;
  /**
   * A column of group (user) ids: each batch gets `groups` (for GAUC where it is evaluated). Ids
   * number the values by first appearance in the file, over every row read (filtered or not), so
   * they agree across passes and with an in-memory numbering of the whole file.
   */
  groupBy?: string;
}

const SPEC_KEYS = ['labels', 'sparse', 'dense', 'separator', 'header', 'columns', 'missing', 'hashBuckets'] as const;
const DATASET_KEYS = [...SPEC_KEYS, 'open', 'vocabularies', 'denseStats', 'batchSize', 'shuffleBuffer', 'seed', 'filter', 'source', 'groupBy'] as const;

/**
 * Where a cell is, for an error message: a string, or a pass's one { source, row } object updated
 * per row, so no string (and no closure) is made per row until there is an error.
 */
export type CellPlace = string | { source: string; row: number };
const place = (where: CellPlace): string => (typeof where === 'string' ? where : `${where.source}: data row ${where.row}`);

/** A label cell as a number (a class index for multiclass, NaN for a missing one it allows); `where` names the file and row in errors. */
export function parseLabelCell(fn: string, l: CsvLabel, j: number, v: string | null, where: CellPlace): number {
  // The common cells first, without trimming or lower-casing a copy of each.
  if (l.type === 'binary' && l.positive === undefined && (v === '1' || v === '0')) return v === '1' ? 1 : 0;
  if (v === null) {
    if (l.allowMissing) return NaN;
    throw new Error(`${fn}: ${place(where)}: label column '${l.column}' is missing (empty); set labels[${j}].allowMissing to train on partial labels`);
  }
  if (l.type === 'multiclass') {
    const c = l.classes!.indexOf(v);
    if (c < 0) throw new Error(`${fn}: ${place(where)}: multiclass label '${l.column}' must be one of ${JSON.stringify(l.classes)} (labels[${j}].classes), got ${JSON.stringify(v)}`);
    return c;
  }
  if (l.type === 'binary') {
    if (l.positive !== undefined) return v === l.positive ? 1 : 0;
    const t = v.trim().toLowerCase();
    if (t === '1' || t === 'true' || t === '1.0') return 1;
    if (t === '0' || t === 'false' || t === '0.0') return 0;
    throw new Error(`${fn}: ${place(where)}: binary label '${l.column}' must be 0/1 or true/false, got ${JSON.stringify(v)} (or set labels[${j}].positive)`);
  }
  const x = Number(v);
  // Number('') and Number(' ') are 0: only a zero needs the blank test.
  if (!Number.isFinite(x) || (x === 0 && v.trim() === '')) throw new Error(`${fn}: ${place(where)}: regression label '${l.column}' must be a number, got ${JSON.stringify(v)}`);
  return x;
}

/** A dense cell as a number, NaN when missing. */
function parseDense(fn: string, column: string, v: string | null, where: CellPlace): number {
  if (v === null) return NaN;
  const x = Number(v);
  if (!Number.isFinite(x) || (x === 0 && v.trim() === '')) throw new Error(`${fn}: ${place(where)}: dense column '${column}' must be a number, got ${JSON.stringify(v)}`);
  return x;
}

function checkSpec(fn: string, s: CsvColumnsSpec): void {
  if (!Array.isArray(s.labels) || s.labels.length === 0) throw new TypeError(`${fn}: labels must be a non-empty array of { column, type }`);
  s.labels.forEach((l, j) => {
    if (l === null || typeof l !== 'object' || typeof l.column !== 'string' || (l.type !== 'binary' && l.type !== 'regression' && l.type !== 'multiclass')) {
      throw new TypeError(`${fn}: labels[${j}] must be { column, type: 'binary' | 'regression' | 'multiclass', positive?, classes?, allowMissing? }, got ${JSON.stringify(l)}`);
    }
    checkOptions(`${fn}: labels[${j}]`, l, ['column', 'type', 'positive', 'name', 'classes', 'allowMissing']);
    if ((l.type === 'multiclass') !== Array.isArray(l.classes) || (l.classes !== undefined && (l.classes.length < 2 || !l.classes.every((c: unknown) => typeof c === 'string')))) {
      throw new TypeError(`${fn}: labels[${j}].classes (two or more strings) goes with type 'multiclass', and only with it`);
    }
  });
  const hashed = s.hashBuckets ?? {};
  if (typeof hashed !== 'object' || hashed === null) throw new TypeError(`${fn}: hashBuckets must be an object of sparse column → bucket count`);
  for (const [c, b] of Object.entries(hashed)) {
    if (!(s.sparse ?? []).includes(c)) throw new Error(`${fn}: hashBuckets names '${c}', which is not a sparse column`);
    if (!Number.isInteger(b) || b < 1 || b > 0x7fffffff) throw new RangeError(`${fn}: hashBuckets of '${c}' must be an integer in [1, 2^31 − 1], got ${JSON.stringify(b)}`);
  }
  for (const k of ['sparse', 'dense'] as const) {
    const v = s[k];
    if (v !== undefined && (!Array.isArray(v) || !v.every((c) => typeof c === 'string'))) throw new TypeError(`${fn}: ${k} must be an array of column names`);
  }
}

/** Column positions of the spec's columns, from the header. */
function locate(fn: string, s: CsvColumnsSpec, cols: string[], source: string): { label: number[]; sparse: number[]; dense: number[] } {
  const index = new Map(cols.map((c, i) => [c, i]));
  const find = (c: string, role: string): number => {
    const i = index.get(c);
    if (i === undefined) throw new Error(`${fn}: ${role} column '${c}' is not in ${source} (columns: ${cols.join(', ')})`);
    return i;
  };
  return { label: s.labels.map((l) => find(l.column, 'label')), sparse: (s.sparse ?? []).map((c) => find(c, 'sparse')), dense: (s.dense ?? []).map((c) => find(c, 'dense')) };
}

/** The rows in runs (one per chunk): a pass pays one await per chunk, not per row. */
function rows(fn: string, s: CsvColumnsSpec, chunks: CsvChunks, source: string, onHeader: (cols: string[]) => void): AsyncGenerator<CsvRow[]> {
  return csvRowRuns(fn, source, chunks, { separator: s.separator, header: s.header, columns: s.columns, missing: s.missing, arrays: true, onHeader }) as AsyncGenerator<CsvRow[]>;
}

/**
 * One pass over the file: the row count, each sparse column's sorted vocabulary, each dense
 * column's mean and (population) std — what csvDataset needs, learned without holding the rows.
 * Labels are checked on the way. `filter` keeps only some rows (the training split).
 */
export async function scanCsv(chunks: CsvChunks, spec: CsvColumnsSpec & { filter?: (row: number) => boolean; source?: string; groupBy?: string }): Promise<CsvScan> {
  const fn = 'scanCsv';
  checkOptions(fn, spec, [...SPEC_KEYS, 'filter', 'source', 'groupBy']);
  checkSpec(fn, spec);
  const source = spec.source ?? '<stream>';
  let at = { label: [] as number[], sparse: [] as number[], dense: [] as number[] };
  const sparse = spec.sparse ?? [], dense = spec.dense ?? [];
  const seen = sparse.map(() => new Set<string>());
  const isHashed = sparse.map((c) => spec.hashBuckets?.[c] !== undefined);
  const sumSq = new Float64Array(dense.length), count = new Float64Array(dense.length);
  // Welford's update per column: a two-pass mean/std in one pass, without the cancellation of Σx² − n·mean².
  const mean = new Float64Array(dense.length);
  let n = 0, line = 0;
  const where = { source, row: 0 };
  const onHeader = (cols: string[]): void => {
    at = locate(fn, spec, cols, source);
    // Only checked here (csvDataset reads the ids), so a wrong name fails before training, not at the first validation.
    if (spec.groupBy !== undefined && !cols.includes(spec.groupBy)) throw new Error(`${fn}: groupBy column '${spec.groupBy}' is not in ${source} (columns: ${cols.join(', ')})`);
  };
  for await (const run of rows(fn, spec, chunks, source, onHeader)) for (const row of run) {
    const r = line++;
    if (spec.filter && !spec.filter(r)) continue;
    where.row = r + 1;
    for (let j = 0; j < spec.labels.length; j++) parseLabelCell(fn, spec.labels[j], j, row[at.label[j]], where);
    for (let k = 0; k < sparse.length; k++) { const v = row[at.sparse[k]]; if (v !== null && !isHashed[k]) seen[k].add(v); }
    for (let k = 0; k < dense.length; k++) {
      const x = parseDense(fn, dense[k], row[at.dense[k]], where);
      if (Number.isNaN(x)) continue;
      count[k]++;
      const d = x - mean[k];
      mean[k] += d / count[k];
      sumSq[k] += d * (x - mean[k]);
    }
    n++;
  }
  return {
    rows: n,
    vocabularies: Object.fromEntries(sparse.map((c, k) => [c, sortVocabulary(seen[k])])),
    dense: dense.map((column, k) => {
      const sd = count[k] > 0 ? Math.sqrt(sumSq[k] / count[k]) : 0;
      return { column, mean: count[k] > 0 ? mean[k] : 0, std: sd > 0 ? sd : 1 };
    }),
  };
}

/** A mini-batch of encoded rows: ids and standardised values by column, labels [B, T] row-major. */
export interface CsvBatch {
  x: Record<string, Int32Array | Float32Array>;
  y: Float32Array;
  /** With groupBy: each row's group id. */
  groups?: Int32Array;
}

/** fit's BatchDataset over a CSV stream (see the top of this file). */
export interface CsvDataset {
  iterator(epoch: number): AsyncGenerator<CsvBatch>;
}

export function csvDataset(opts: CsvDatasetOptions): CsvDataset {
  const fn = 'csvDataset';
  checkOptions(fn, opts, DATASET_KEYS);
  checkSpec(fn, opts);
  if (typeof opts.open !== 'function') throw new TypeError(`${fn}: open must be a function epoch => chunks (it is called once per pass)`);
  const sparse = opts.sparse ?? [], dense = opts.dense ?? [];
  const vocabularies = opts.vocabularies ?? {};
  if (typeof vocabularies !== 'object' || vocabularies === null) throw new TypeError(`${fn}: vocabularies must be an object of column → categories`);
  const buckets = sparse.map((c) => opts.hashBuckets?.[c] ?? 0);
  const ids = sparse.map((c, k) => {
    if (buckets[k] > 0) {
      if (vocabularies[c] !== undefined && vocabularies[c].length > 0) throw new Error(`${fn}: vocabularies.${c}: column '${c}' is hashed (hashBuckets), it has no vocabulary`);
      return new Map<string, number>();
    }
    const v = vocabularies[c];
    if (!Array.isArray(v) || !v.every((s) => typeof s === 'string')) throw new TypeError(`${fn}: vocabularies.${c} must be an array of strings (from scanCsv, or your own list)`);
    return new Map(v.map((s, i) => [s, i + 1]));
  });
  for (const k of Object.keys(vocabularies)) if (!sparse.includes(k)) throw new Error(`${fn}: vocabularies.${k} is not a sparse column (sparse: ${sparse.join(', ')})`);
  const stats = opts.denseStats;
  if (stats !== undefined && (!Array.isArray(stats) || stats.length !== dense.length || stats.some((s, k) => s?.column !== dense[k] || !Number.isFinite(s.mean) || !(s.std > 0)))) {
    throw new TypeError(`${fn}: denseStats must be one { column, mean, std > 0 } per dense column, in order (${dense.join(', ')})`);
  }
  const int = (k: string, v: unknown, min: number, dflt: number): number => {
    const x = v ?? dflt;
    if (typeof x !== 'number' || !Number.isInteger(x) || x < min) throw new RangeError(`${fn}: ${k} must be an integer >= ${min}, got ${String(v)}`);
    return x;
  };
  const batchSize = int('batchSize', opts.batchSize, 1, 256);
  const bufferRows = Math.max(1, int('shuffleBuffer', opts.shuffleBuffer, 0, 10_000));
  const seed = opts.seed ?? 0;
  if (typeof seed !== 'number' || !Number.isFinite(seed)) throw new RangeError(`${fn}: seed must be a finite number, got ${String(seed)}`);
  if (opts.filter !== undefined && typeof opts.filter !== 'function') throw new TypeError(`${fn}: filter must be a function row => boolean`);
  const source = opts.source ?? '<stream>';
  const ns = sparse.length, nd = dense.length, nt = opts.labels.length;
  const groupBy = opts.groupBy;
  if (groupBy !== undefined && (typeof groupBy !== 'string' || groupBy === '')) throw new TypeError(`${fn}: groupBy must be a column name, got ${JSON.stringify(groupBy)}`);
  // Kept across passes, so a user's id is the same in every epoch.
  const groupIds = new Map<string, number>();

  async function* iterator(epoch: number): AsyncGenerator<CsvBatch> {
    // Epoch e draws from the e-th fork of the seed: the same order whichever process reads it.
    const base = new Generator(seed);
    let g = base.fork();
    for (let e = 1; e < epoch; e++) g = base.fork();
    // The buffer holds encoded rows in flat typed arrays: K × (ns ids, nd values, nt labels).
    const bId = new Int32Array(bufferRows * ns), bDe = new Float32Array(bufferRows * nd), bY = new Float32Array(bufferRows * nt);
    const bG = groupBy === undefined ? null : new Int32Array(bufferRows);
    let filled = 0;
    let out = newBatch(), outRows = 0;
    function newBatch(): { ids: Int32Array[]; de: Float32Array[]; y: Float32Array; groups: Int32Array | null } {
      return {
        ids: sparse.map(() => new Int32Array(batchSize)), de: dense.map(() => new Float32Array(batchSize)), y: new Float32Array(batchSize * nt),
        groups: bG === null ? null : new Int32Array(batchSize),
      };
    }
    const emit = (slot: number): void => {
      for (let k = 0; k < ns; k++) out.ids[k][outRows] = bId[slot * ns + k];
      for (let k = 0; k < nd; k++) out.de[k][outRows] = bDe[slot * nd + k];
      for (let j = 0; j < nt; j++) out.y[outRows * nt + j] = bY[slot * nt + j];
      if (bG !== null) out.groups![outRows] = bG[slot];
      outRows++;
    };
    const take = (rowsN: number): CsvBatch => {
      const x: Record<string, Int32Array | Float32Array> = {};
      sparse.forEach((c, k) => { x[c] = rowsN === batchSize ? out.ids[k] : out.ids[k].slice(0, rowsN); });
      dense.forEach((c, k) => { x[c] = rowsN === batchSize ? out.de[k] : out.de[k].slice(0, rowsN); });
      const b: CsvBatch = { x, y: rowsN === batchSize ? out.y : out.y.slice(0, rowsN * nt) };
      if (out.groups !== null) b.groups = rowsN === batchSize ? out.groups : out.groups.slice(0, rowsN);
      out = newBatch();
      outRows = 0;
      return b;
    };
    let at = { label: [] as number[], sparse: [] as number[], dense: [] as number[] };
    let groupAt = -1;
    const onHeader = (cols: string[]): void => {
      at = locate(fn, opts, cols, source);
      if (groupBy !== undefined) {
        groupAt = cols.indexOf(groupBy);
        if (groupAt < 0) throw new Error(`${fn}: groupBy column '${groupBy}' is not in ${source} (columns: ${cols.join(', ')})`);
      }
    };
    let line = 0;
    const where = { source, row: 0 };
    for await (const run of rows(fn, opts, opts.open(epoch), source, onHeader)) for (const row of run) {
      const r = line++;
      let group = 0;
      if (groupAt >= 0) {
        const v = row[groupAt];
        if (v === null) throw new Error(`${fn}: ${source}: data row ${r + 1}: groupBy column '${groupBy}' is missing (empty); every row needs a group id`);
        const known = groupIds.get(v);
        if (known === undefined) groupIds.set(v, group = groupIds.size);
        else group = known;
      }
      if (opts.filter && !opts.filter(r)) continue;
      where.row = r + 1;
      // A full buffer gives up a random row to make room (TF.js's shuffle), else the row goes to the end.
      let slot = filled;
      if (filled === bufferRows) {
        slot = g.randint(bufferRows);
        emit(slot);
        if (outRows === batchSize) yield take(batchSize);
      } else filled++;
      for (let k = 0; k < ns; k++) {
        const v = row[at.sparse[k]];
        bId[slot * ns + k] = buckets[k] > 0 ? hashBucket(v ?? '', buckets[k]) : v === null ? 0 : ids[k].get(v) ?? 0;
      }
      if (bG !== null) bG[slot] = group;
      for (let k = 0; k < nd; k++) {
        const x = parseDense(fn, dense[k], row[at.dense[k]], where);
        bDe[slot * nd + k] = Number.isNaN(x) ? 0 : stats ? (x - stats[k].mean) / stats[k].std : x;
      }
      for (let j = 0; j < nt; j++) bY[slot * nt + j] = parseLabelCell(fn, opts.labels[j], j, row[at.label[j]], where);
    }
    // The rest leaves in random order: a Fisher–Yates draw over what the buffer holds.
    const order = g.permutation(filled);
    for (let i = 0; i < filled; i++) {
      emit(order[i]);
      if (outRows === batchSize) yield take(batchSize);
    }
    if (outRows > 0) yield take(outRows);
  }
  return { iterator };
}
