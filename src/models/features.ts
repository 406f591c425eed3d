import { Tensor, concat, tensor, zeros } from '../autograd/index.js';
import { Generator, formatShape } from '../tensor/index.js';
import { checkOptions } from '../validation/options.js';
import { checkPositiveInt } from '../validation/values.js';
import { Module } from '../nn/module.js';
import { Embedding } from '../nn/embedding.js';
import type { FeatureBatch } from './types.js';
import { hashIds } from './hash.js';

/*
 * Feature columns after DeepCTR-Torch's inputs.py, and the input layer that turns a batch of them
 * into the one dense vector per row that the models consume: sparse embeddings first (declaration
 * order), then pooled variable-length embeddings, then dense values — DeepCTR's concatenation
 * order, so a model's first layer lines up with a DeepCTR-Torch model of the same columns.
 */

export interface SparseFeatOptions {
  /** Embedding width, or 'auto' for 6·⌊vocabularySize^¼⌋ (DeepCTR's rule). Default 4. */
  embeddingDim?: number | 'auto';
  /** Name of the embedding table; features with the same name share one table. Default: `name`. */
  embeddingName?: string;
  /**
   * Raw values are hashed into vocabularySize buckets (hashBucket in hash.ts: MurmurHash3_x86_32 of
   * the UTF-8 text, seed 0, mod vocabularySize), so no vocabulary is needed. The batch value may
   * then be the raw strings (hashed by the input layer) or the bucket ids from hashIds. Default false.
   */
  useHash?: boolean;
}

export interface SparseFeatColumn {
  readonly kind: 'sparse';
  readonly name: string;
  readonly vocabularySize: number;
  readonly embeddingDim: number;
  readonly embeddingName: string;
  /** Whether raw values are hashed into vocabularySize buckets (see SparseFeatOptions.useHash). */
  readonly useHash: boolean;
}

export interface DenseFeatColumn {
  readonly kind: 'dense';
  readonly name: string;
  readonly dimension: number;
}

export type Combiner = 'mean' | 'sum' | 'max';

export interface VarLenSparseFeatColumn {
  readonly kind: 'varlen';
  readonly name: string;
  readonly sparseFeat: SparseFeatColumn;
  readonly maxLen: number;
  readonly combiner: Combiner;
}

export type FeatureColumn = SparseFeatColumn | DenseFeatColumn | VarLenSparseFeatColumn;

function checkName(fn: string, name: unknown): string {
  // Names become state-dict path segments (embedding_dict.<name>.weight), so no dots.
  if (typeof name !== 'string' || name === '' || name.includes('.')) {
    throw new Error(`${fn}: name must be a non-empty string without dots, got ${JSON.stringify(name)}`);
  }
  return name;
}

/** A categorical column of integer ids in [0, vocabularySize), looked up in an embedding table. */
export function SparseFeat(name: string, vocabularySize: number, opts: SparseFeatOptions = {}): SparseFeatColumn {
  checkName('SparseFeat', name);
  checkOptions('SparseFeat', opts, ['embeddingDim', 'embeddingName', 'useHash']);
  if (opts.useHash !== undefined && typeof opts.useHash !== 'boolean') {
    throw new TypeError(`SparseFeat: useHash of '${name}' must be a boolean, got ${String(opts.useHash)}`);
  }
  checkPositiveInt('SparseFeat', `vocabularySize of '${name}'`, vocabularySize);
  const dim = opts.embeddingDim ?? 4;
  const embeddingDim = dim === 'auto'
    ? 6 * Math.floor(Math.pow(vocabularySize, 0.25))
    : checkPositiveInt('SparseFeat', `embeddingDim of '${name}'`, dim);
  const embeddingName = checkName('SparseFeat', opts.embeddingName ?? name);
  return { kind: 'sparse', name, vocabularySize, embeddingDim, embeddingName, useHash: opts.useHash ?? false };
}

/** A numeric column of `dimension` values per row. */
export function DenseFeat(name: string, dimension = 1): DenseFeatColumn {
  checkName('DenseFeat', name);
  checkPositiveInt('DenseFeat', `dimension of '${name}'`, dimension);
  return { kind: 'dense', name, dimension };
}

/**
 * A list of up to maxLen ids per row (id 0 is padding, as DeepCTR's masking), pooled into one
 * embedding by `combiner`. Its batch value is an Int32Array [B · maxLen], row-major.
 */
export function VarLenSparseFeat(sparseFeat: SparseFeatColumn, maxLen: number, combiner: Combiner = 'mean'): VarLenSparseFeatColumn {
  if (!sparseFeat || sparseFeat.kind !== 'sparse') throw new TypeError('VarLenSparseFeat: the first argument must be a SparseFeat');
  checkPositiveInt('VarLenSparseFeat', `maxLen of '${sparseFeat.name}'`, maxLen);
  if (combiner !== 'mean' && combiner !== 'sum' && combiner !== 'max') {
    throw new Error(`VarLenSparseFeat: combiner of '${sparseFeat.name}' must be 'mean', 'sum' or 'max', got '${String(combiner)}'`);
  }
  return { kind: 'varlen', name: sparseFeat.name, sparseFeat, maxLen, combiner };
}

/** Width of the vector the input layer produces for these columns. */
export function computeInputDim(features: readonly FeatureColumn[]): number {
  let n = 0;
  for (const f of features) n += f.kind === 'dense' ? f.dimension : f.kind === 'sparse' ? f.embeddingDim : f.sparseFeat.embeddingDim;
  return n;
}

export interface InputLayerOptions {
  /** Std of the N(0, initStd²) embedding init (DeepCTR default 1e-4). */
  initStd?: number;
  /** Source of the embedding init (default: the global generator). */
  generator?: Generator;
  /** Row-sparse embedding gradients with lazy optimizer updates (Embedding's `sparse`; default false). */
  sparse?: boolean;
}

/** The embedding tables by name; a Module so that keys read `embedding_dict.<name>.weight`. */
export class EmbeddingDict extends Module {
  static override readonly typeName: string = 'EmbeddingDict';
  readonly tables = new Map<string, Embedding>();

  add(name: string, table: Embedding): Embedding {
    this.registerModule(name, table);
    this.tables.set(name, table);
    return table;
  }
}

/**
 * Turns a FeatureBatch into one tensor [B, inputDim]. Every error names the offending feature.
 * The models register `embeddingDict` under their own `embedding_dict`, DeepCTR's key.
 */
export class InputLayer extends Module {
  static override readonly typeName: string = 'InputLayer';
  readonly features: readonly FeatureColumn[];
  readonly inputDim: number;
  readonly embeddingDict: EmbeddingDict;

  constructor(features: readonly FeatureColumn[], opts: InputLayerOptions = {}) {
    super();
    if (!Array.isArray(features) || features.length === 0) throw new Error('InputLayer: features must be a non-empty array of feature columns');
    const seen = new Set<string>();
    for (const f of features) {
      if (!f || (f.kind !== 'sparse' && f.kind !== 'dense' && f.kind !== 'varlen')) {
        throw new TypeError(`InputLayer: not a feature column: ${JSON.stringify(f)} (use SparseFeat, DenseFeat or VarLenSparseFeat)`);
      }
      if (seen.has(f.name)) throw new Error(`InputLayer: feature '${f.name}' is declared twice`);
      seen.add(f.name);
    }
    // DeepCTR's order: sparse, then var-len, then dense.
    this.features = [
      ...features.filter((f) => f.kind === 'sparse'),
      ...features.filter((f) => f.kind === 'varlen'),
      ...features.filter((f) => f.kind === 'dense'),
    ];
    this.inputDim = computeInputDim(features);
    this.embeddingDict = this.registerModule('embedding_dict', new EmbeddingDict());
    const std = opts.initStd ?? 1e-4;
    for (const f of this.features) {
      if (f.kind === 'dense') continue;
      const s = f.kind === 'sparse' ? f : f.sparseFeat;
      const existing = this.embeddingDict.tables.get(s.embeddingName);
      if (existing) {
        if (existing.weight.shape[0] !== s.vocabularySize || existing.weight.shape[1] !== s.embeddingDim) {
          throw new Error(`InputLayer: feature '${f.name}' shares embedding '${s.embeddingName}' but asks for [${s.vocabularySize}, ${s.embeddingDim}], the table is ${formatShape(existing.weight.shape)}`);
        }
        continue;
      }
      this.embeddingDict.add(s.embeddingName, new Embedding(s.vocabularySize, s.embeddingDim, { initStd: std, generator: opts.generator, sparse: opts.sparse ?? false }));
    }
  }

  /** A batch of `rows` valid rows (id 0, or 1 for var-len so no row is all padding; zeros for dense). */
  sampleBatch(rows = 1): FeatureBatch {
    const batch: FeatureBatch = {};
    for (const f of this.features) {
      if (f.kind === 'dense') batch[f.name] = zeros([rows, f.dimension], { dtype: this.embeddingWeights()[0]?.dtype ?? 'float32' });
      else if (f.kind === 'sparse') batch[f.name] = new Int32Array(rows);
      else batch[f.name] = new Int32Array(rows * f.maxLen).fill(Math.min(1, f.sparseFeat.vocabularySize - 1));
    }
    return batch;
  }

  /** The embedding weights (the tensors `l2RegEmbedding` applies to). */
  embeddingWeights(): Tensor[] {
    return [...this.embeddingDict.tables.values()].map((e) => e.weight);
  }

  forward(batch: FeatureBatch): Tensor {
    if (batch instanceof Tensor || typeof batch !== 'object' || batch === null) {
      throw new TypeError('InputLayer: expected a FeatureBatch (an object of feature name → values), got a tensor');
    }
    // Dense values follow the tables' dtype (or, with no tables, the first dense value's).
    const firstDense = this.features.find((f) => f.kind === 'dense' && batch[f.name] instanceof Tensor);
    const dtype = this.embeddingWeights()[0]?.dtype ?? (firstDense ? (batch[firstDense.name] as Tensor).dtype : 'float32');
    let B = -1;
    let bFrom = '';
    const setB = (name: string, rows: number): void => {
      if (B < 0) { B = rows; bFrom = name; return; }
      if (rows !== B) throw new RangeError(`InputLayer: feature '${name}' has ${rows} rows, but '${bFrom}' has ${B}`);
    };
    const parts: Tensor[] = [];
    for (const f of this.features) {
      const v = batch[f.name];
      if (v === undefined) {
        throw new Error(`InputLayer: missing feature '${f.name}' in the batch (got ${Object.keys(batch).map((k) => `'${k}'`).join(', ') || 'no features'})`);
      }
      if (f.kind === 'dense') {
        if (!(v instanceof Tensor)) throw new TypeError(`InputLayer: dense feature '${f.name}' must be a Tensor [B, ${f.dimension}], got ${v.constructor.name}`);
        const ok = (v.ndim === 2 && v.shape[1] === f.dimension) || (v.ndim === 1 && f.dimension === 1);
        if (!ok) throw new RangeError(`InputLayer: dense feature '${f.name}' must be [B, ${f.dimension}], got ${formatShape(v.shape)}`);
        setB(f.name, v.shape[0]);
        const x = v.ndim === 1 ? v.reshape([-1, 1]) : v;
        parts.push(x.dtype === dtype ? x : x.to(dtype));
        continue;
      }
      const s = f.kind === 'sparse' ? f : f.sparseFeat;
      const ids = Array.isArray(v) ? hashedIds(f.name, s, v) : toIds(f.name, v as Tensor | Int32Array);
      const len = f.kind === 'sparse' ? 1 : f.maxLen;
      if (ids.length % len !== 0) {
        throw new RangeError(`InputLayer: var-len feature '${f.name}' must have B·maxLen = B·${len} ids, got ${ids.length}`);
      }
      setB(f.name, ids.length / len);
      for (let i = 0; i < ids.length; i++) {
        const id = ids[i];
        if (!(id >= 0 && id < s.vocabularySize)) {
          throw new RangeError(`InputLayer: feature '${f.name}' has id ${id} at position ${i}, outside [0, ${s.vocabularySize})`);
        }
      }
      const table = this.embeddingDict.tables.get(s.embeddingName)!;
      const rows = table.forward(ids);
      parts.push(f.kind === 'sparse' ? rows : pool(rows.reshape([-1, len, s.embeddingDim]), ids, f.combiner));
    }
    return parts.length === 1 ? parts[0] : concat(parts, 1);
  }
}

/** Raw strings of a useHash feature, hashed to bucket ids (strings only for useHash features). */
function hashedIds(name: string, s: SparseFeatColumn, v: readonly unknown[]): Int32Array {
  if (!s.useHash) throw new TypeError(`InputLayer: feature '${name}' got an array of values; raw values need SparseFeat(..., { useHash: true }), otherwise pass an Int32Array of ids`);
  v.forEach((x, i) => {
    if (typeof x !== 'string') throw new TypeError(`InputLayer: hashed feature '${name}' must be an array of strings, got ${typeof x} at position ${i}`);
  });
  return hashIds(v as string[], s.vocabularySize);
}

function toIds(name: string, v: Tensor | Int32Array): Int32Array {
  if (v instanceof Int32Array) return v;
  if (v instanceof Tensor) {
    // Ids may come as a float tensor (e.g. from a CSV reader); they must still be whole numbers.
    const out = new Int32Array(v.size);
    for (let i = 0; i < v.size; i++) {
      const x = v.data[i];
      if (!Number.isInteger(x)) throw new RangeError(`InputLayer: feature '${name}' has a non-integer id ${x} at position ${i}`);
      out[i] = x;
    }
    return out;
  }
  throw new TypeError(`InputLayer: sparse feature '${name}' must be an Int32Array of ids, got ${typeof v}`);
}

/**
 * Pools [B, L, D] embeddings over L, ignoring positions whose id is 0 (padding). 'mean' divides
 * by the count of real ids (+1e-8, as DeepCTR, so an all-padding row gives 0); 'max' of an
 * all-padding row is 0 rather than DeepCTR's −1e9.
 */
function pool(e: Tensor, ids: Int32Array, combiner: Combiner): Tensor {
  const [B, L] = e.shape;
  const mask = new (e.data.constructor as Float32ArrayConstructor)(B * L);
  const count = new (e.data.constructor as Float32ArrayConstructor)(B);
  for (let b = 0; b < B; b++) {
    for (let l = 0; l < L; l++) {
      const real = ids[b * L + l] !== 0 ? 1 : 0;
      mask[b * L + l] = real;
      count[b] += real;
    }
  }
  const m = tensor(mask, { dtype: e.dtype, shape: [B, L, 1] });
  if (combiner === 'max') {
    // Padded positions get a large negative offset so they never win; a row with no real ids is 0.
    const offset = tensor(mask.map((x) => (x ? 0 : -1e9)), { dtype: e.dtype, shape: [B, L, 1] });
    const has = tensor(count.map((c) => (c > 0 ? 1 : 0)), { dtype: e.dtype, shape: [B, 1] });
    return e.add(offset).max(1).mul(has);
  }
  const summed = e.mul(m).sum(1);
  if (combiner === 'sum') return summed;
  return summed.div(tensor(count.map((c) => c + 1e-8), { dtype: e.dtype, shape: [B, 1] }));
}
