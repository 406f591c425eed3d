import { checkOptions } from '../validation/options.js';
import type { MultiTaskModel } from '../models/types.js';
import type { Dataset, Features } from './dataset.js';
import { outputWidths } from '../models/types.js';
import { resolveGroups } from './groups.js';
import { resolveMissingLabels } from './label-mask.js';
import { checkModel, evaluate, evaluationOf, inEvalMode, resolveLossWeights, type EvaluateOptions, type Evaluation } from './evaluate.js';
import type { TaskMetrics } from './metrics.js';
import { inStorageScope } from './held-storage.js';
import { driveAsync, driveSync, isBatchSource, pullAll, streamFeed, type BatchSource, type PendingPull } from './stream.js';

/** A Float32Array that grows by doubling (a stream's length is unknown until its end). */
class Grow {
  data = new Float32Array(1024);
  length = 0;
  push(a: Float32Array): void {
    if (this.length + a.length > this.data.length) {
      const next = new Float32Array(Math.max(this.data.length * 2, this.length + a.length));
      next.set(this.data.subarray(0, this.length));
      this.data = next;
    }
    this.data.set(a, this.length);
    this.length += a.length;
  }
  view(): Float32Array {
    return this.data.subarray(0, this.length);
  }
}

/** How a stream's rows are scored beyond their labels: partial labels, and grouping for GAUC. */
export interface StreamScoring {
  /** Per task: may its labels be missing (NaN)? */
  maskable?: readonly boolean[];
  /** A feature column of every batch holding the group ids (evaluate's and fit's groupBy by name). */
  groupBy?: string;
}

/**
 * Metrics over one pass of a stream. Predictions and labels are kept ([N, outputs] and [N, T]
 * floats; AUC needs every score), and group ids when the batches carry them (`groups`, or the
 * `groupBy` column); the inputs are not.
 */
export function* evaluateStream(
  fn: string, model: MultiTaskModel, src: BatchSource, weights: readonly number[], metrics?: ReadonlyArray<keyof TaskMetrics>, scoring: StreamScoring = {},
): Generator<PendingPull, Evaluation, unknown> {
  const labels = new Grow(), pred = new Grow();
  const groups: number[] = [];
  let grouped: boolean | null = null;
  const width = outputWidths(model).reduce((a, k) => a + k, 0);
  let index = 0;
  yield* pullAll(streamFeed({ fn, model, weighted: false, maskable: scoring.maskable }, src, 1), (b) => {
    const where = `${fn}: batch ${++index} of the stream`;
    // The forward's intermediates go back to the arena at once; the outputs are copied out first.
    inStorageScope([model], () => {
      const p = inEvalMode(model, () => model.forward(b.x));
      if (p.ndim !== 2 || p.shape[0] !== b.n || p.shape[1] !== width) throw new RangeError(`${fn}: the model returned [${p.shape.join(', ')}] for a batch of ${b.n}, expected [${b.n}, ${width}]`);
      pred.push(p.data instanceof Float32Array ? p.data : Float32Array.from(p.data));
    });
    labels.push(b.y.data as Float32Array);
    const ids = scoring.groupBy !== undefined
      ? resolveGroups(where, scoring.groupBy, { x: b.x as Features, y: b.y.data as Float32Array, n: b.n, numTasks: b.y.shape[1] })
      : b.groups ?? null;
    if (grouped !== null && grouped !== (ids !== null)) throw new Error(`${where} ${ids === null ? 'has no' : 'has'} groups, unlike the batches before it; give groups with every batch or none`);
    grouped = ids !== null;
    if (ids !== null) for (let i = 0; i < ids.length; i++) groups.push(ids[i]);
  });
  const maskable = scoring.maskable?.some(Boolean) ? scoring.maskable : undefined;
  return evaluationOf(model, { y: labels.view(), ...(grouped ? { groups: Float64Array.from(groups) } : {}), ...(maskable ? { maskable } : {}) }, pred.view(), weights, metrics);
}

const STREAM_EVALUATE_KEYS = ['metrics', 'lossWeights', 'missingLabels', 'groupBy'] as const satisfies ReadonlyArray<keyof EvaluateOptions>;

function plan(fn: string, model: MultiTaskModel, opts: EvaluateOptions): { weights: number[]; scoring: StreamScoring } {
  checkModel(fn, model);
  // A stream's batches come as they are: batchSize would have nothing to cut.
  checkOptions(fn, opts, STREAM_EVALUATE_KEYS);
  if (opts.groupBy !== undefined && typeof opts.groupBy !== 'string') {
    throw new TypeError(`${fn}: groupBy over a stream must name a feature column of its batches (or give each batch its groups); ids for all rows cannot follow a stream`);
  }
  return {
    weights: resolveLossWeights(fn, model, opts.lossWeights),
    scoring: { maskable: resolveMissingLabels(fn, opts.missingLabels, model.taskNames), ...(opts.groupBy !== undefined ? { groupBy: opts.groupBy } : {}) },
  };
}

/** evaluate over a Dataset or a synchronous batch source (an async one needs evaluateAsync). */
export function evaluateAny(model: MultiTaskModel, data: Dataset | BatchSource, opts: EvaluateOptions = {}): Evaluation {
  if (!isBatchSource(data)) return evaluate(model, data, opts);
  const p = plan('evaluate', model, opts);
  return driveSync('evaluate', evaluateStream('evaluate', model, data, p.weights, opts.metrics, p.scoring));
}

/** evaluate for any data, async batch sources (TF.js's evaluateDataset) included. */
export async function evaluateAsync(model: MultiTaskModel, data: Dataset | BatchSource, opts: EvaluateOptions = {}): Promise<Evaluation> {
  if (!isBatchSource(data)) return evaluate(model, data, opts);
  const p = plan('evaluateAsync', model, opts);
  return driveAsync(evaluateStream('evaluateAsync', model, data, p.weights, opts.metrics, p.scoring));
}
