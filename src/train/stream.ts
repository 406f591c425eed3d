import { Tensor } from '../autograd/index.js';
import { batchIndices } from '../data/batches.js';
import type { Generator as RandomGenerator } from '../tensor/index.js';
import type { ModelInput, MultiTaskModel } from '../models/types.js';
import { checkedDataset } from './checks.js';
import { sliceFeatures, takeFeatures, takeLabels, type Features, type ResolvedDataset } from './dataset.js';
import { resolveRowWeights, type ClassWeight, type SampleWeight } from './sample-weights.js';

/*
 * Data that does not sit in memory as one { x, y }: a source of mini-batches, read once per epoch,
 * as TF.js's model.fitDataset reads a tf.data.Dataset. The training loop pulls batches through an
 * EpochFeed, one shape for in-memory rows and for streams; a pull that gives a Promise (an async
 * source) is handed up to fitAsync's driver to await, so the one loop serves both.
 */

/**
 * One mini-batch of a stream: features (as in a Dataset), labels [B, T] (NaN for a missing label,
 * with missingLabels), optional per-row weights, optional group (user) ids for grouped AUC.
 */
export interface Batch {
  x: Features;
  y: Tensor | Float32Array;
  sampleWeight?: SampleWeight;
  /** One group id per row, as a Dataset's `groups`: adds 'gauc' where the stream is evaluated. */
  groups?: Int32Array | Float64Array | readonly number[];
}

/** TF.js's Dataset shape: `iterator()` opens one pass (it may return a Promise, and `next()` may too). */
export interface BatchDataset {
  /** `epoch` (1-based) lets a source reshuffle reproducibly per epoch; TF.js's datasets ignore it. */
  iterator(epoch: number): Iterator<Batch> | AsyncIterator<Batch> | Promise<Iterator<Batch> | AsyncIterator<Batch>>;
}

/**
 * What fit, fitAsync and evaluate take besides a Dataset: an iterable or async iterable of
 * batches (re-iterated each epoch: an array of batches or an object with [Symbol.iterator]; a
 * generator object is one pass only), or a BatchDataset.
 */
export type BatchSource = Iterable<Batch> | AsyncIterable<Batch> | BatchDataset;

/** A batch ready for the model. */
export interface TrainBatch {
  x: ModelInput;
  y: Tensor;
  w: Tensor | null;
  n: number;
  /** A stream batch's group ids (for evaluation), else absent. */
  groups?: Int32Array | Float64Array | null;
}

/** A batch pulled from a feed: its row count now, its tensors when `load` is called (inside the step's storage scope). */
export interface PulledBatch {
  n: number;
  load(): TrainBatch;
}

export type Pull = IteratorResult<PulledBatch, undefined> | Promise<IteratorResult<PulledBatch, undefined>>;

/** One epoch's batches. */
export interface EpochFeed {
  next(): Pull;
  close(): void;
}

/** What the loop yields to its driver when a pull must be awaited; the driver sends the result back. */
export interface PendingPull {
  pending: Promise<IteratorResult<PulledBatch, undefined>>;
}

export const isPromise = <T>(v: unknown): v is Promise<T> => v !== null && typeof v === 'object' && typeof (v as { then?: unknown }).then === 'function';

/** A batch source rather than a Dataset { x, y }. */
export function isBatchSource(data: unknown): data is BatchSource {
  if (data === null || typeof data !== 'object') return false;
  const d = data as Record<string | symbol, unknown>;
  return typeof d[Symbol.iterator] === 'function' || typeof d[Symbol.asyncIterator] === 'function' || typeof d.iterator === 'function';
}

/** How to train from in-memory rows, per epoch. */
export function memoryFeed(d: ResolvedDataset, batchSize: number, shuffle: boolean, generator: RandomGenerator): EpochFeed {
  const it = batchIndices(d.n, batchSize, { shuffle, generator });
  return {
    next: () => {
      const r = it.next();
      if (r.done) return { done: true, value: undefined };
      const rows = r.value;
      // Gathered by load(), inside the step's storage scope, so the copies return to the arena with the step.
      return {
        done: false,
        value: {
          n: rows.length,
          load: () => ({
            x: takeFeatures(d.x, rows, d.n), y: takeLabels(d.y, d.numTasks, rows),
            w: d.w ? takeLabels(d.w, d.numTasks, rows) : null, n: rows.length,
          }),
        },
      };
    },
    close: () => undefined,
  };
}

export interface StreamChecks {
  fn: string;
  model: MultiTaskModel;
  classWeight?: ClassWeight;
  /** Validation batches are unweighted: their sampleWeight is refused. */
  weighted: boolean;
  /** Per task: may its labels be missing (NaN)? (fit's missingLabels) */
  maskable?: readonly boolean[];
}

/** A stream's batch checked like a Dataset (shapes, labels, finite inputs) and made model-ready. */
export function checkBatch(c: StreamChecks, b: unknown, index: number): TrainBatch {
  const where = `${c.fn}: batch ${index + 1} of the stream`;
  if (b === null || typeof b !== 'object') throw new TypeError(`${where} is ${b === null ? 'null' : typeof b}, not { x, y, sampleWeight? }`);
  const batch = b as Batch;
  for (const k of Object.keys(batch)) {
    if (k !== 'x' && k !== 'y' && k !== 'sampleWeight' && k !== 'groups') throw new TypeError(`${where} has an unknown key '${k}' (expected x, y, sampleWeight, groups)`);
  }
  const d = checkedDataset(where, batch.groups === undefined ? { x: batch.x, y: batch.y } : { x: batch.x, y: batch.y, groups: batch.groups }, c.model, c.maskable);
  if (d.n === 0) throw new RangeError(`${where} has no rows`);
  if (!c.weighted && batch.sampleWeight !== undefined) throw new Error(`${where} has sampleWeight; validation metrics are unweighted`);
  const w = c.weighted ? resolveRowWeights(where, batch.sampleWeight, c.classWeight, d.y, d.n, c.model.taskTypes, c.model.taskNames) : null;
  const t = d.numTasks;
  return { x: sliceFeatures(d.x, 0, d.n, d.n), y: new Tensor(d.y, [d.n, t]), w: w && new Tensor(w, [d.n, t]), n: d.n, groups: d.groups ?? null };
}

type AnyIterator = Iterator<unknown> | AsyncIterator<unknown>;

function openIterator(fn: string, src: BatchSource, epoch: number): AnyIterator | Promise<AnyIterator> {
  const s = src as unknown as Record<string | symbol, unknown>;
  let it: unknown;
  if (typeof s[Symbol.asyncIterator] === 'function') it = (s[Symbol.asyncIterator] as () => unknown).call(src);
  else if (typeof s[Symbol.iterator] === 'function') it = (s[Symbol.iterator] as () => unknown).call(src);
  else it = (src as BatchDataset).iterator(epoch);
  const check = (v: unknown): AnyIterator => {
    if (v === null || typeof v !== 'object' || typeof (v as AnyIterator).next !== 'function') throw new TypeError(`${fn}: the data source gave no iterator (an object with next()) for epoch ${epoch}`);
    return v as AnyIterator;
  };
  return isPromise(it) ? it.then(check) : check(it);
}

/**
 * One pass over a stream. An epoch without batches is an error: a generator object or an
 * iterator is spent after one epoch, and silently training on nothing would look like success.
 */
export function streamFeed(c: StreamChecks, src: BatchSource, epoch: number): EpochFeed {
  let it: AnyIterator | Promise<AnyIterator> = openIterator(c.fn, src, epoch);
  let count = 0;
  let finished = false;
  const handle = (r: IteratorResult<unknown>): IteratorResult<PulledBatch, undefined> => {
    if (r.done) {
      finished = true;
      if (count === 0) throw new Error(`${c.fn}: the data source gave no batches in epoch ${epoch} (a generator or iterator is spent after one pass: give an iterable, e.g. an array or an object whose [Symbol.iterator]() starts over, or a dataset with iterator())`);
      return { done: true, value: undefined };
    }
    const b = checkBatch(c, r.value, count++);
    return { done: false, value: { n: b.n, load: () => b } };
  };
  const pull = (iter: AnyIterator): Pull => {
    const r = iter.next();
    return isPromise<IteratorResult<unknown>>(r) ? r.then(handle) : handle(r);
  };
  return {
    next: () => {
      if (isPromise<AnyIterator>(it)) {
        return it.then((i) => {
          it = i;
          const r = pull(i);
          return r;
        });
      }
      return pull(it);
    },
    close: () => {
      if (finished || isPromise(it)) return;
      // An epoch that ended early (an error, an abort) lets the source release files and buffers.
      const r = it.return?.();
      if (isPromise(r)) r.catch(() => undefined);
    },
  };
}

/**
 * Pulls a feed to the end inside a generator: a Promise is yielded to the driver, which sends the
 * settled result back (or throws the rejection in).
 */
export function* pullAll(feed: EpochFeed, each: (b: TrainBatch) => void): Generator<PendingPull, void, unknown> {
  try {
    for (;;) {
      let r = feed.next();
      if (isPromise(r)) r = (yield { pending: r }) as IteratorResult<PulledBatch, undefined>;
      if (r.done) return;
      each(r.value.load());
    }
  } finally {
    feed.close();
  }
}

/** Runs a loop generator to the end synchronously; a pending pull means the source is asynchronous. */
export function driveSync<R>(fn: string, gen: Generator<unknown, R, unknown>): R {
  for (;;) {
    const r = gen.next();
    if (r.done) return r.value;
    if (isPending(r.value)) {
      r.value.pending.catch(() => undefined);
      gen.return(undefined as R);
      throw new TypeError(`${fn}: the data source is asynchronous (an async iterable, or a dataset whose iterator or next() returns a Promise); use ${fn === 'evaluate' ? 'evaluateAsync' : 'fitAsync'}`);
    }
  }
}

const isPending = (v: unknown): v is PendingPull => v !== null && typeof v === 'object' && 'pending' in v;

/**
 * Runs a loop generator to the end, awaiting its pending pulls (a rejection is thrown into the
 * generator, so its finally blocks close the source) and handing every other pause to `onPause`.
 */
export async function driveAsync<P, R>(gen: Generator<P | PendingPull, R, unknown>, onPause: (p: P) => Promise<void> | void = () => undefined): Promise<R> {
  let r = gen.next();
  for (;;) {
    if (r.done) return r.value;
    const v = r.value;
    if (isPending(v)) {
      let settled: unknown;
      try {
        settled = await v.pending;
      } catch (e) {
        r = gen.throw(e);
        continue;
      }
      r = gen.next(settled);
    } else {
      await onPause(v);
      r = gen.next();
    }
  }
}
