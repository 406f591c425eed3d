import { checkOptions } from '../validation/options.js';
import { DenseFeat, SparseFeat, type FeatureColumn, type SparseFeatOptions } from './features.js';
import { hashBucket } from './hash.js';

/*
 * Raw rows (category text, raw numbers) to model input, the census loader's conventions: a
 * category's id is its 1-based position in the column's sorted training vocabulary, 0 = missing
 * or unseen (a hashed column, `hashBuckets` set, has no vocabulary: its id is hashBucket(text,
 * hashBuckets), a missing cell hashed as the empty string, as docs/large-vocabularies.md says); a number is standardised as (x − mean) / std with the training split's statistics,
 * missing (NaN) → the mean, i.e. 0. `mmoe-ts train` learns a RowEncoding, `serializeModel` keeps
 * it with the weights, `mmoe-ts predict` and the ONNX graph of `exportOnnx({ encoding })` apply it,
 * so training and serving cannot drift apart.
 */

export interface RowEncoding {
  /**
   * Category columns, in feature order: id i + 1 is vocabulary[i]; 0 = missing or unseen. With
   * hashBuckets the vocabulary is empty and the id is hashBucket(text, hashBuckets).
   */
  sparse: Array<{ column: string; vocabulary: string[]; hashBuckets?: number }>;
  /** Numeric columns, in feature order, standardised as (x − mean) / std; missing → the mean. */
  dense: Array<{ column: string; mean: number; std: number }>;
}

/** One raw value: text or a number; null / undefined / NaN are missing. */
export type RawValue = string | number | null | undefined;

/**
 * Sorted category values: numerically when every value is a number ('2' before '10', as a user
 * reading the vocabulary expects), as strings otherwise.
 */
export function sortVocabulary(values: Iterable<string>): string[] {
  const vocab = [...new Set(values)];
  const numeric = vocab.length > 0 && vocab.every((v) => v.trim() !== '' && Number.isFinite(Number(v)));
  return numeric
    ? vocab.sort((a, b) => Number(a) - Number(b) || (a < b ? -1 : a > b ? 1 : 0))
    : vocab.sort();
}

function rawText(v: RawValue): string | null {
  return v === null || v === undefined || (typeof v === 'number' && Number.isNaN(v)) ? null : String(v);
}

function rawNumber(fn: string, column: string, row: number, v: RawValue): number {
  if (v === null || v === undefined) return NaN;
  const x = typeof v === 'number' ? v : v.trim() === '' ? NaN : Number(v);
  if (typeof v === 'string' && v.trim() !== '' && !Number.isFinite(x)) {
    throw new Error(`${fn}: row ${row}: numeric column '${column}' must be a number, got ${JSON.stringify(v)}`);
  }
  return x;
}

/**
 * Learns a RowEncoding from training rows: each sparse column's sorted vocabulary and each dense
 * column's mean and (population) std; a constant column gets std 1.
 */
export function fitRowEncoding(
  rows: ReadonlyArray<Readonly<Record<string, RawValue>>>,
  columns: { sparse?: readonly string[]; dense?: readonly string[]; hashBuckets?: Readonly<Record<string, number>> },
): RowEncoding {
  if (!Array.isArray(rows)) throw new TypeError('fitRowEncoding: rows must be an array of objects (column → value)');
  checkOptions('fitRowEncoding', columns, ['sparse', 'dense', 'hashBuckets']);
  const hashed = columns.hashBuckets ?? {};
  for (const [column, b] of Object.entries(hashed)) {
    if (!(columns.sparse ?? []).includes(column)) throw new Error(`fitRowEncoding: hashBuckets names '${column}', which is not a sparse column`);
    if (!Number.isInteger(b) || b < 1 || b > 0x7fffffff) throw new RangeError(`fitRowEncoding: hashBuckets of '${column}' must be an integer in [1, 2^31 − 1], got ${JSON.stringify(b)}`);
  }
  const sparse = (columns.sparse ?? []).map((column): RowEncoding['sparse'][number] => {
    if (Object.prototype.hasOwnProperty.call(hashed, column)) return { column, vocabulary: [], hashBuckets: hashed[column] };
    const values: string[] = [];
    for (const r of rows) { const v = rawText(r[column]); if (v !== null) values.push(v); }
    return { column, vocabulary: sortVocabulary(values) };
  });
  const dense = (columns.dense ?? []).map((column) => {
    const xs = rows.map((r, i) => rawNumber('fitRowEncoding', column, i, r[column])).filter((x) => !Number.isNaN(x));
    return denseStats(column, xs);
  });
  return { sparse, dense };
}

/** Mean and population std of the non-missing values (std 1 for a constant or empty column). */
export function denseStats(column: string, values: ArrayLike<number>): RowEncoding['dense'][number] {
  let s = 0;
  for (let i = 0; i < values.length; i++) s += values[i];
  const mean = values.length > 0 ? s / values.length : 0;
  let ss = 0;
  for (let i = 0; i < values.length; i++) ss += (values[i] - mean) ** 2;
  const sd = values.length > 0 ? Math.sqrt(ss / values.length) : 0;
  return { column, mean, std: sd > 0 ? sd : 1 };
}

/**
 * The feature columns a model is built from for this encoding: a SparseFeat per category column
 * (vocabulary + 1 ids, id 0 for missing; hashBuckets ids with useHash for a hashed column), then a
 * DenseFeat per numeric column.
 */
export function encodingFeatures(encoding: RowEncoding, sparseOptions: Record<string, SparseFeatOptions> = {}): FeatureColumn[] {
  return [
    ...encoding.sparse.map((s) => (s.hashBuckets !== undefined
      ? SparseFeat(s.column, s.hashBuckets, { ...sparseOptions[s.column], useHash: true })
      : SparseFeat(s.column, s.vocabulary.length + 1, sparseOptions[s.column] ?? {}))),
    ...encoding.dense.map((d) => DenseFeat(d.column, 1)),
  ];
}

/**
 * Model input for raw values given column-wise: `sparse[r][k]` is row r's text for sparse column
 * k (null when missing), `dense[r · nd + k]` its number for dense column k (NaN when missing);
 * `rows` picks which rows, in order. The fast form `mmoe-ts train` and `predict` use.
 */
export function encodeColumns(
  encoding: RowEncoding, sparse: ReadonlyArray<ReadonlyArray<string | null>>, dense: ArrayLike<number>, rows: ArrayLike<number>,
): Record<string, Int32Array | Float32Array> {
  const nd = encoding.dense.length;
  const x: Record<string, Int32Array | Float32Array> = {};
  encoding.sparse.forEach((s, k) => {
    const col = new Int32Array(rows.length);
    x[s.column] = col;
    const buckets = s.hashBuckets;
    if (buckets !== undefined) {
      for (let i = 0; i < rows.length; i++) col[i] = hashBucket(sparse[rows[i]][k] ?? '', buckets);
      return;
    }
    const ids = new Map(s.vocabulary.map((v, i) => [v, i + 1]));
    for (let i = 0; i < rows.length; i++) { const v = sparse[rows[i]][k]; col[i] = v === null ? 0 : ids.get(v) ?? 0; }
  });
  encoding.dense.forEach((d, k) => {
    const col = new Float32Array(rows.length);
    for (let i = 0; i < rows.length; i++) { const v = dense[rows[i] * nd + k]; col[i] = Number.isNaN(v) ? 0 : (v - d.mean) / d.std; }
    x[d.column] = col;
  });
  return x;
}

/**
 * Model input (feature name → ids or standardised values) for rows given as objects, e.g. parsed
 * CSV records: `predict(model, encodeRows(encoding, [{ city: 'Lyon', age: 41 }]))`. A missing key,
 * null or NaN is a missing value; an unseen category gets id 0.
 */
export function encodeRows(encoding: RowEncoding, rows: ReadonlyArray<Readonly<Record<string, RawValue>>>): Record<string, Int32Array | Float32Array> {
  if (!Array.isArray(rows)) throw new TypeError('encodeRows: rows must be an array of objects (column → value)');
  const sparse = rows.map((r) => encoding.sparse.map((s) => rawText(r[s.column])));
  const nd = encoding.dense.length;
  const dense = new Float64Array(rows.length * nd);
  rows.forEach((r, i) => encoding.dense.forEach((d, k) => { dense[i * nd + k] = rawNumber('encodeRows', d.column, i, r[d.column]); }));
  return encodeColumns(encoding, sparse, dense, Int32Array.from({ length: rows.length }, (_, i) => i));
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Checks a RowEncoding read from JSON; the message starts with `fn` and names the bad entry. */
export function checkRowEncoding(fn: string, raw: unknown): RowEncoding {
  if (!isObject(raw) || !Array.isArray(raw.sparse) || !Array.isArray(raw.dense)) throw new Error(`${fn}: encoding must be { sparse: […], dense: […] }, got ${JSON.stringify(raw)}`);
  for (const s of raw.sparse) {
    if (!isObject(s) || typeof s.column !== 'string' || !Array.isArray(s.vocabulary) || !s.vocabulary.every((v) => typeof v === 'string')) {
      throw new Error(`${fn}: encoding.sparse entries must be { column, vocabulary: string[], hashBuckets? }, got ${JSON.stringify(s).slice(0, 200)}`);
    }
    if (s.hashBuckets !== undefined && (!Number.isInteger(s.hashBuckets) || (s.hashBuckets as number) < 1 || (s.hashBuckets as number) > 0x7fffffff || s.vocabulary.length > 0)) {
      throw new Error(`${fn}: encoding.sparse '${s.column}': hashBuckets must be an integer in [1, 2^31 − 1] with an empty vocabulary, got ${JSON.stringify(s.hashBuckets)} and ${s.vocabulary.length} categories`);
    }
  }
  for (const d of raw.dense) {
    if (!isObject(d) || typeof d.column !== 'string' || typeof d.mean !== 'number' || !Number.isFinite(d.mean) || !(typeof d.std === 'number' && d.std > 0 && Number.isFinite(d.std))) {
      throw new Error(`${fn}: encoding.dense entries must be { column, mean, std > 0 }, got ${JSON.stringify(d)}`);
    }
  }
  return raw as unknown as RowEncoding;
}
