import { checkOptions } from '../validation/options.js';
import type { MultiTaskModel } from '../models/types.js';
import type { Dataset } from './dataset.js';
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

/**
 * Metrics over one pass of a stream. Predictions and labels are kept ([N, T] floats each; AUC needs
 * every score), the inputs are not.
 */
export function* evaluateStream(
  fn: string, model: MultiTaskModel, src: BatchSource, weights: readonly number[], metrics?: ReadonlyArray<keyof TaskMetrics>,
): Generator<PendingPull, Evaluation, unknown> {
  const labels = new Grow(), pred = new Grow();
  const t = model.taskNames.length;
  yield* pullAll(streamFeed({ fn, model, weighted: false }, src, 1), (b) => {
    // The forward's intermediates go back to the arena at once; the outputs are copied out first.
    inStorageScope([model], () => {
      const p = inEvalMode(model, () => model.forward(b.x));
      if (p.ndim !== 2 || p.shape[0] !== b.n || p.shape[1] !== t) throw new RangeError(`${fn}: the model returned [${p.shape.join(', ')}] for a batch of ${b.n}, expected [${b.n}, ${t}]`);
      pred.push(p.data instanceof Float32Array ? p.data : Float32Array.from(p.data));
    });
    labels.push(b.y.data as Float32Array);
  });
  return evaluationOf(model, { y: labels.view() }, pred.view(), weights, metrics);
}

const STREAM_EVALUATE_KEYS = ['metrics', 'lossWeights'] as const satisfies ReadonlyArray<keyof EvaluateOptions>;

function plan(fn: string, model: MultiTaskModel, opts: EvaluateOptions): number[] {
  checkModel(fn, model);
  // A stream's batches come as they are: batchSize would have nothing to cut.
  checkOptions(fn, opts, STREAM_EVALUATE_KEYS);
  return resolveLossWeights(fn, model, opts.lossWeights);
}

/** evaluate over a Dataset or a synchronous batch source (an async one needs evaluateAsync). */
export function evaluateAny(model: MultiTaskModel, data: Dataset | BatchSource, opts: EvaluateOptions = {}): Evaluation {
  if (!isBatchSource(data)) return evaluate(model, data, opts);
  return driveSync('evaluate', evaluateStream('evaluate', model, data, plan('evaluate', model, opts), opts.metrics));
}

/** evaluate for any data, async batch sources (TF.js's evaluateDataset) included. */
export async function evaluateAsync(model: MultiTaskModel, data: Dataset | BatchSource, opts: EvaluateOptions = {}): Promise<Evaluation> {
  if (!isBatchSource(data)) return evaluate(model, data, opts);
  return driveAsync(evaluateStream('evaluateAsync', model, data, plan('evaluateAsync', model, opts), opts.metrics));
}
