import * as ort from 'onnxruntime-node';
import { Generator, Tensor, noGrad } from '../../src/index.js';
import type { FeatureBatch, FeatureColumn, MultiTaskBase } from '../../src/models/index.js';

/*
 * Runs exported models in ONNX Runtime. onnxruntime-node is imported statically: if it is not
 * installed, every ONNX test file fails to load (an error, not a skip).
 */

export { ort };

/**
 * Gives every parameter and buffer random values of a useful size (the default init of DNN
 * weights, N(0, 1e-8), would make every row's output almost the same, so a wrong graph could
 * still agree to 1e-5): N(0, 0.5²), running variances in [0.5, 1.5].
 */
export function randomizeParameters(m: MultiTaskBase, seed: number): void {
  const gen = new Generator(seed);
  for (const [k, t] of Object.entries(m.stateDict())) {
    if (k.endsWith('num_batches_tracked')) continue;
    const d = t.data;
    for (let i = 0; i < d.length; i++) d[i] = k.endsWith('running_var') ? gen.uniform(0.5, 1.5) : gen.normal(0, 0.5);
  }
}

export interface Sample {
  /** What our model takes. */
  ours: Tensor | FeatureBatch;
  /** The same values as ONNX Runtime feeds, by graph input name. */
  feeds: Record<string, ort.Tensor>;
}

export function denseSample(B: number, F: number, seed: number, dtype: 'float32' | 'float64' = 'float32'): Sample {
  const gen = new Generator(seed);
  const d = dtype === 'float64' ? new Float64Array(B * F) : new Float32Array(B * F);
  gen.fillNormal(d);
  return { ours: new Tensor(d, [B, F]), feeds: { input: new ort.Tensor(dtype, d, [B, F]) } };
}

/** Random ids (var-len rows padded with 0 after a random length) and dense values per column. */
export function featureSample(
  features: readonly FeatureColumn[], B: number, seed: number,
  opts: { dtype?: 'float32' | 'float64'; idType?: 'int64' | 'int32' } = {},
): Sample {
  const dtype = opts.dtype ?? 'float32';
  const gen = new Generator(seed);
  const ours: FeatureBatch = {};
  const feeds: Record<string, ort.Tensor> = {};
  for (const f of features) {
    if (f.kind === 'dense') {
      const d = dtype === 'float64' ? new Float64Array(B * f.dimension) : new Float32Array(B * f.dimension);
      gen.fillNormal(d);
      ours[f.name] = new Tensor(d, [B, f.dimension]);
      feeds[f.name] = new ort.Tensor(dtype, d, [B, f.dimension]);
      continue;
    }
    const s = f.kind === 'sparse' ? f : f.sparseFeat;
    const L = f.kind === 'sparse' ? 1 : f.maxLen;
    const ids = new Int32Array(B * L);
    for (let i = 0; i < ids.length; i++) ids[i] = gen.randint(s.vocabularySize);
    if (f.kind === 'varlen') for (let b = 0; b < B; b++) ids.fill(0, b * L + gen.randint(L + 1), (b + 1) * L);
    ours[f.name] = ids;
    const dims = f.kind === 'sparse' ? [B] : [B, L];
    feeds[f.name] = opts.idType === 'int32'
      ? new ort.Tensor('int32', ids.slice(), dims)
      : new ort.Tensor('int64', BigInt64Array.from(ids, (v) => BigInt(v)), dims);
  }
  return { ours, feeds };
}

/** Our eval-mode output and ONNX Runtime's for the same sample. */
export async function runBoth(
  m: MultiTaskBase, bytes: Uint8Array, sample: Sample, output: 'predictions' | 'logits' = 'predictions',
  sessionOptions: ort.InferenceSession.SessionOptions = {},
): Promise<{ ours: Tensor; theirs: ort.Tensor; session: ort.InferenceSession }> {
  const session = await ort.InferenceSession.create(bytes, sessionOptions);
  const wasTraining = m.training;
  m.eval();
  const ours = noGrad(() => (output === 'logits' ? m.logits(sample.ours) : m.forward(sample.ours)));
  m.train(wasTraining);
  const result = await session.run(sample.feeds);
  return { ours, theirs: result[output], session };
}

/** Largest |a − b| / (1 + |b|) over two arrays of equal length (throws on a length mismatch). */
export function maxScaledDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]) / (1 + Math.abs(b[i])));
  return m;
}

/** Largest spread (max − min) of a column of a [B, T] output: proof the rows differ. */
export function columnSpread(t: Tensor): number {
  const [B, T] = t.shape;
  let s = 0;
  for (let j = 0; j < T; j++) {
    let lo = Infinity, hi = -Infinity;
    for (let i = 0; i < B; i++) { lo = Math.min(lo, t.data[i * T + j]); hi = Math.max(hi, t.data[i * T + j]); }
    s = Math.max(s, hi - lo);
  }
  return s;
}
