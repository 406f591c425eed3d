import { Tensor, defineOp, zeros } from '../autograd/index.js';
import {
  AllocationError,
  NDArray, allocate, checkIndices, formatShape, indexSelectArray, rowSparseFromLookup, scatterAddArray, sizeOf,
  type Generator, type Indices,
} from '../tensor/index.js';
import { checkOptionKeys, type OptionKeys } from '../validation/options.js';
import { normal } from './init.js';
import { Module } from './module.js';

/** Ids: a flat list (plain numbers or Int32Array), or an NDArray/Tensor of integer values. */
export type IdInput = Indices | NDArray;

/** Checked ids as a private Int32Array, so later changes to the caller's array cannot reach backward. */
function flatIds(op: string, x: IdInput, num: number): Int32Array {
  const ids = x instanceof NDArray ? Array.from(x.data) : x;
  checkIndices(op, ids, num);
  return Int32Array.from(ids);
}

function checkPaddingIdx(op: string, paddingIdx: number | undefined, num: number): number {
  if (paddingIdx === undefined) return -1;
  const p = paddingIdx < 0 ? paddingIdx + num : paddingIdx;
  if (!Number.isInteger(p) || p < 0 || p >= num) {
    throw new RangeError(`${op}: paddingIdx ${paddingIdx} is out of range for ${num} embeddings`);
  }
  return p;
}

/** A checked [num, dim] table from N(0, initStd²) with its padding row zeroed (Embedding and EmbeddingBag alike). */
function makeTable(op: string, num: number, dim: number, opts: EmbeddingOptions): { weight: Tensor; paddingIdx: number } {
  if (!Number.isInteger(num) || num <= 0) throw new RangeError(`${op}: numEmbeddings must be a positive integer, got ${num}`);
  if (!Number.isInteger(dim) || dim <= 0) throw new RangeError(`${op}: embeddingDim must be a positive integer, got ${dim}`);
  const paddingIdx = checkPaddingIdx(op, opts.paddingIdx, num);
  let table: Tensor;
  try {
    table = zeros([num, dim]);
  } catch (e) {
    throw e instanceof AllocationError ? e.in(op) : e; // a vocabulary of 1e9 names the layer
  }
  const weight = normal(table, { std: opts.initStd ?? 1, generator: opts.generator });
  if (paddingIdx >= 0) weight.data.fill(0, paddingIdx * dim, (paddingIdx + 1) * dim);
  return { weight, paddingIdx };
}

/*
 * Row lookup whose backward scatter-adds (repeated ids accumulate) and gives the padding row no
 * gradient, as torch.nn.Embedding(padding_idx=…) does. With `sparse` the gradient is row-sparse
 * (only the looked-up rows), as torch.nn.Embedding(sparse=True).
 */
const embeddingOp = defineOp<{ ids: Int32Array; paddingIdx: number; sparse?: boolean }>({
  name: 'embedding',
  forward: (_c, [w], { ids }) => indexSelectArray(w, 0, ids),
  backward: (_c, g, [w], { ids, paddingIdx, sparse }) => {
    if (sparse) return [rowSparseFromLookup(g.data, ids, w.shape[0], w.shape[1], paddingIdx)];
    const gw = scatterAddArray(g, 0, ids, w.shape[0]);
    if (paddingIdx >= 0) {
      const dim = w.shape[1];
      gw.data.fill(0, paddingIdx * dim, (paddingIdx + 1) * dim);
    }
    return [gw];
  },
});

export interface EmbeddingOptions {
  /** Row that maps to zeros and never receives a gradient (negative counts from the end). */
  paddingIdx?: number;
  /** Std of the N(0, std²) initial weights (default 1, as PyTorch; DeepCTR-Torch uses 1e-4). */
  initStd?: number;
  generator?: Generator;
}

export interface SparseEmbeddingOptions extends EmbeddingOptions {
  /**
   * Row-sparse gradient: backward gives only the looked-up rows (`weight.sparseGrad`), and Adam,
   * AdamW and Adagrad update those rows only (lazily). Default false (dense, as PyTorch).
   */
  sparse?: boolean;
}

const EMBEDDING_OPTION_KEYS: OptionKeys<SparseEmbeddingOptions> = { paddingIdx: true, initStd: true, generator: true, sparse: true };

/** A lookup table [numEmbeddings, embeddingDim]; parameter `weight` as torch.nn.Embedding. */
export class Embedding extends Module {
  static override readonly typeName: string = 'Embedding';
  readonly numEmbeddings: number;
  readonly embeddingDim: number;
  /** The padding row, or -1 for none. */
  readonly paddingIdx: number;
  /** Whether backward gives a row-sparse gradient (see SparseEmbeddingOptions.sparse). */
  readonly sparse: boolean;
  readonly weight: Tensor;

  constructor(numEmbeddings: number, embeddingDim: number, opts: SparseEmbeddingOptions = {}) {
    super();
    checkOptionKeys('Embedding', opts, EMBEDDING_OPTION_KEYS);
    if (opts.sparse !== undefined && typeof opts.sparse !== 'boolean') {
      throw new TypeError(`Embedding: sparse must be a boolean, got ${String(opts.sparse)}`);
    }
    const t = makeTable('Embedding', numEmbeddings, embeddingDim, opts);
    this.numEmbeddings = numEmbeddings;
    this.embeddingDim = embeddingDim;
    this.paddingIdx = t.paddingIdx;
    this.sparse = opts.sparse ?? false;
    this.weight = this.registerParameter('weight', t.weight);
  }

  /**
   * Rows for `ids`: [n, dim] for a flat list, or [...shape, dim] when `shape` is given (or taken
   * from an NDArray of ids), e.g. ids of a [B, L] batch give [B, L, dim].
   */
  forward(ids: IdInput, shape?: readonly number[]): Tensor {
    const flat = flatIds('Embedding', ids, this.numEmbeddings);
    const outer = shape ?? (ids instanceof NDArray ? ids.shape : [flat.length]);
    if (sizeOf(outer) !== flat.length) {
      throw new RangeError(`Embedding: shape ${formatShape(outer)} needs ${sizeOf(outer)} ids, got ${flat.length}`);
    }
    const rows = embeddingOp([this.weight], { ids: flat, paddingIdx: this.paddingIdx, sparse: this.sparse });
    return outer.length === 1 ? rows : rows.reshape([...outer, this.embeddingDim]);
  }
}

export type BagMode = 'sum' | 'mean' | 'max';

interface BagAttrs {
  ids: Indices;
  /** Bag b holds ids[starts[b] .. starts[b + 1]). */
  starts: Int32Array;
  mode: BagMode;
  paddingIdx: number;
}

interface BagSaved {
  /** Non-padding ids per bag (mean) or the winning id per output element (max, -1 for none). */
  counts?: Int32Array;
  argmax?: Int32Array;
}

/*
 * Reduces each bag of rows without materialising the gathered [n, dim] rows. Padding ids are
 * skipped (they neither count in the mean nor win the max); an empty bag gives zeros.
 */
const embeddingBagOp = defineOp<BagAttrs, BagSaved>({
  name: 'embeddingBag',
  forward: (ctx, [w], { ids, starts, mode, paddingIdx }) => {
    const dim = w.shape[1];
    const B = starts.length - 1;
    const W = w.data;
    const o = allocate(w.dtype, B * dim);
    const counts = new Int32Array(B);
    const argmax = mode === 'max' ? new Int32Array(B * dim).fill(-1) : undefined;
    for (let b = 0; b < B; b++) {
      const ob = b * dim;
      for (let k = starts[b]; k < starts[b + 1]; k++) {
        const id = ids[k];
        if (id === paddingIdx) continue;
        const wr = id * dim;
        if (argmax) {
          for (let j = 0; j < dim; j++) {
            if (argmax[ob + j] < 0 || W[wr + j] > o[ob + j]) { o[ob + j] = W[wr + j]; argmax[ob + j] = id; }
          }
        } else {
          for (let j = 0; j < dim; j++) o[ob + j] += W[wr + j];
        }
        counts[b]++;
      }
      if (mode === 'mean' && counts[b] > 0) for (let j = 0; j < dim; j++) o[ob + j] /= counts[b];
    }
    if (ctx.recording) ctx.saved = { counts, argmax };
    return new NDArray(o, [B, dim]);
  },
  backward: (ctx, g, [w], { ids, starts, mode, paddingIdx }) => {
    const dim = w.shape[1];
    const B = starts.length - 1;
    const G = g.data;
    const gw = allocate(g.dtype, w.size);
    const { counts, argmax } = ctx.saved;
    for (let b = 0; b < B; b++) {
      const ob = b * dim;
      if (argmax) {
        for (let j = 0; j < dim; j++) if (argmax[ob + j] >= 0) gw[argmax[ob + j] * dim + j] += G[ob + j];
        continue;
      }
      const scale = mode === 'mean' ? 1 / counts![b] : 1;
      for (let k = starts[b]; k < starts[b + 1]; k++) {
        const id = ids[k];
        if (id === paddingIdx) continue;
        const wr = id * dim;
        for (let j = 0; j < dim; j++) gw[wr + j] += G[ob + j] * scale;
      }
    }
    return [new NDArray(gw, w.shape)];
  },
});

export interface EmbeddingBagOptions extends EmbeddingOptions {
  /** How each bag's rows are combined (default 'mean', as PyTorch). */
  mode?: BagMode;
}

const EMBEDDINGBAG_OPTION_KEYS: OptionKeys<EmbeddingBagOptions> = { paddingIdx: true, initStd: true, generator: true, mode: true };

/**
 * Variable-length id lists reduced to one vector each (sum, mean or max), as
 * torch.nn.EmbeddingBag: parameter `weight` [numEmbeddings, embeddingDim]. Bags come as ids plus
 * offsets (`forward`) or as a padded [B, L] matrix with optional lengths (`forwardPadded`).
 */
export class EmbeddingBag extends Module {
  static override readonly typeName: string = 'EmbeddingBag';
  readonly numEmbeddings: number;
  readonly embeddingDim: number;
  readonly mode: BagMode;
  readonly paddingIdx: number;
  readonly weight: Tensor;

  constructor(numEmbeddings: number, embeddingDim: number, opts: EmbeddingBagOptions = {}) {
    super();
    checkOptionKeys('EmbeddingBag', opts, EMBEDDINGBAG_OPTION_KEYS);
    const mode = opts.mode ?? 'mean';
    if (mode !== 'sum' && mode !== 'mean' && mode !== 'max') {
      throw new Error(`EmbeddingBag: mode must be 'sum', 'mean' or 'max', got '${String(mode)}'`);
    }
    const t = makeTable('EmbeddingBag', numEmbeddings, embeddingDim, opts);
    this.numEmbeddings = numEmbeddings;
    this.embeddingDim = embeddingDim;
    this.mode = mode;
    this.paddingIdx = t.paddingIdx;
    this.weight = this.registerParameter('weight', t.weight);
  }

  /**
   * PyTorch's 1-D form: bag b is ids[offsets[b] .. offsets[b + 1]) (the last runs to the end);
   * offsets start at 0 and never decrease. Returns [offsets.length, dim].
   */
  forward(ids: IdInput, offsets: Indices): Tensor {
    const flat = flatIds('EmbeddingBag', ids, this.numEmbeddings);
    const B = offsets.length;
    const starts = new Int32Array(B + 1);
    for (let b = 0; b < B; b++) {
      const o = offsets[b];
      const prev = b === 0 ? 0 : offsets[b - 1];
      if (!Number.isInteger(o) || (b === 0 ? o !== 0 : o < prev) || o > flat.length) {
        throw new RangeError(`EmbeddingBag: offsets must start at 0 and be non-decreasing up to ${flat.length}, got ${o} at position ${b}`);
      }
      starts[b] = o;
    }
    starts[B] = flat.length;
    return embeddingBagOp([this.weight], { ids: flat, starts, mode: this.mode, paddingIdx: this.paddingIdx });
  }

  /**
   * A padded [B, L] id matrix (flat row-major, or an NDArray of that shape); bag b is the first
   * lengths[b] ids of row b (all L without lengths; padding ids are skipped either way).
   */
  forwardPadded(ids: IdInput, shape: readonly [number, number], lengths?: Indices): Tensor {
    // Only the kept ids are checked (by forward): entries past a row's length may hold anything.
    const flat = ids instanceof NDArray ? ids.data : ids;
    const [B, L] = shape;
    if (flat.length !== B * L) throw new RangeError(`EmbeddingBag: padded shape [${B},${L}] needs ${B * L} ids, got ${flat.length}`);
    if (lengths && lengths.length !== B) throw new RangeError(`EmbeddingBag: expected ${B} lengths, got ${lengths.length}`);
    const kept: number[] = [];
    const offsets: number[] = [];
    for (let b = 0; b < B; b++) {
      const n = lengths ? lengths[b] : L;
      if (!Number.isInteger(n) || n < 0 || n > L) throw new RangeError(`EmbeddingBag: length ${n} of row ${b} is outside [0, ${L}]`);
      offsets.push(kept.length);
      for (let k = 0; k < n; k++) kept.push(flat[b * L + k]);
    }
    return this.forward(kept, offsets);
  }
}
