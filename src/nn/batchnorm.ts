import { Tensor, bumpVersion, defineOp, full, ones, zeros } from '../autograd/index.js';
import { NDArray, allocate, formatShape, type Storage } from '../tensor/index.js';
import { Module, type Layer } from './module.js';
import { setSavedDType } from './saved-dtype.js';
import { checkOptionKeys, type OptionKeys } from '../validation/options.js';

export interface BatchNormOptions {
  /** Added to the variance before the square root (default 1e-5). */
  eps?: number;
  /**
   * Weight of the new batch in the running statistics (default 0.1); null uses a cumulative
   * average over all batches seen, as PyTorch's momentum=None.
   */
  momentum?: number | null;
  /** Learnable per-feature scale `weight` and shift `bias` (default true). */
  affine?: boolean;
}

interface NormAttrs {
  mean: Storage;
  invstd: Storage;
}

/** Per-column mean and biased variance of x [N, C] (two passes, for accuracy). */
function columnStats(x: NDArray): { mean: Storage; varBiased: Storage } {
  const [N, C] = x.shape;
  const d = x.data;
  const mean = allocate(x.dtype, C);
  const v = allocate(x.dtype, C);
  for (let n = 0; n < N; n++) for (let c = 0; c < C; c++) mean[c] += d[n * C + c];
  for (let c = 0; c < C; c++) mean[c] /= N;
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < C; c++) {
      const z = d[n * C + c] - mean[c];
      v[c] += z * z;
    }
  }
  for (let c = 0; c < C; c++) v[c] /= N;
  return { mean, varBiased: v };
}

/*
 * Training-mode normalisation with batch statistics as one op: out = x̂·w + b with
 * x̂ = (x − mean)·invstd. Its backward is the closed form
 * gx = invstd·w/N · (N·g − Σ_n g − x̂·Σ_n g·x̂), which also carries the gradient through the batch
 * mean and variance (composing it from generic ops would keep five [N, C] intermediates alive).
 */
const batchNormTrainOp = defineOp<NormAttrs, NDArray>({
  name: 'batchNorm',
  forward: (ctx, [x, w, b], { mean, invstd }) => {
    const [N, C] = x.shape;
    const d = x.data, W = w.data, B = b.data;
    const xhat = allocate(x.dtype, N * C);
    const o = allocate(x.dtype, N * C);
    for (let n = 0; n < N; n++) {
      for (let c = 0; c < C; c++) {
        const i = n * C + c;
        const h = (d[i] - mean[c]) * invstd[c];
        xhat[i] = h;
        o[i] = h * W[c] + B[c];
      }
    }
    if (ctx.recording) ctx.saved = new NDArray(xhat, x.shape);
    return new NDArray(o, x.shape);
  },
  backward: (ctx, g, [x, w], { invstd }) => {
    const [N, C] = x.shape;
    const G = g.data, H = ctx.saved.data, W = w.data;
    const gb = allocate(g.dtype, C);
    const gw = allocate(g.dtype, C);
    for (let n = 0; n < N; n++) {
      for (let c = 0; c < C; c++) {
        const i = n * C + c;
        gb[c] += G[i];
        gw[c] += G[i] * H[i];
      }
    }
    let gx: NDArray | null = null;
    if (ctx.needsInputGrad[0]) {
      const o = allocate(g.dtype, N * C);
      for (let n = 0; n < N; n++) {
        for (let c = 0; c < C; c++) {
          const i = n * C + c;
          o[i] = (invstd[c] * W[c] / N) * (N * G[i] - gb[c] - H[i] * gw[c]);
        }
      }
      gx = new NDArray(o, x.shape);
    }
    return [
      gx,
      ctx.needsInputGrad[1] ? new NDArray(gw, w.shape) : null,
      ctx.needsInputGrad[2] ? new NDArray(gb, w.shape) : null,
    ];
  },
});

const BATCHNORM1D_OPTION_KEYS: OptionKeys<BatchNormOptions> = { eps: true, momentum: true, affine: true };

/**
 * Batch normalisation over the feature axis of [B, C] (or [B, C, L]) input, as
 * torch.nn.BatchNorm1d: training normalises with the batch mean and biased variance and moves the
 * running estimates toward the batch mean and unbiased variance; eval normalises with the running
 * estimates. State-dict entries: weight, bias, running_mean, running_var, num_batches_tracked
 * (a float counter in memory, written to safetensors as I64, as PyTorch writes it).
 *
 * One difference from PyTorch, on purpose: where PyTorch raises "Expected more than 1 value per
 * channel when training" (a batch of one row), this module normalises with the running statistics
 * and leaves them unchanged, so a trailing batch of size 1 does not crash a training loop (batch
 * statistics of one sample are degenerate: x̂ would be 0 and the gradient through x would vanish).
 */
export class BatchNorm1d extends Module implements Layer {
  static override readonly typeName: string = 'BatchNorm1d';
  readonly numFeatures: number;
  readonly eps: number;
  readonly momentum: number | null;
  readonly weight: Tensor | null;
  readonly bias: Tensor | null;
  readonly runningMean: Tensor;
  readonly runningVar: Tensor;
  readonly numBatchesTracked: Tensor;

  constructor(numFeatures: number, opts: BatchNormOptions = {}) {
    super();
    checkOptionKeys('BatchNorm1d', opts, BATCHNORM1D_OPTION_KEYS);
    if (!Number.isInteger(numFeatures) || numFeatures <= 0) {
      throw new RangeError(`BatchNorm1d: numFeatures must be a positive integer, got ${numFeatures}`);
    }
    this.numFeatures = numFeatures;
    this.eps = opts.eps ?? 1e-5;
    this.momentum = opts.momentum === undefined ? 0.1 : opts.momentum;
    if (!(this.eps > 0)) throw new RangeError(`BatchNorm1d: eps must be positive, got ${this.eps}`);
    if (this.momentum !== null && !(this.momentum >= 0 && this.momentum <= 1)) {
      throw new RangeError(`BatchNorm1d: momentum must be in [0, 1] or null, got ${this.momentum}`);
    }
    const affine = opts.affine ?? true;
    this.weight = affine ? this.registerParameter('weight', ones([numFeatures])) : null;
    this.bias = affine ? this.registerParameter('bias', zeros([numFeatures])) : null;
    this.runningMean = this.registerBuffer('running_mean', zeros([numFeatures]));
    this.runningVar = this.registerBuffer('running_var', ones([numFeatures]));
    this.numBatchesTracked = this.registerBuffer('num_batches_tracked', setSavedDType(zeros([]), 'I64'));
  }

  forward(x: Tensor): Tensor {
    const C = this.numFeatures;
    if (x.ndim === 3 && x.shape[1] === C) {
      // [B, C, L]: statistics per channel over B and L, by viewing it as [B·L, C].
      const [B, , L] = x.shape;
      const y = this.forward2d(x.permute(0, 2, 1).reshape([B * L, C]));
      return y.reshape([B, L, C]).permute(0, 2, 1);
    }
    if (x.ndim !== 2 || x.shape[1] !== C) {
      throw new Error(`BatchNorm1d: expected input [B, ${C}] or [B, ${C}, L], got ${formatShape(x.shape)}`);
    }
    return this.forward2d(x);
  }

  private forward2d(x: Tensor): Tensor {
    const C = this.numFeatures;
    const N = x.shape[0];
    if (N === 0) throw new Error(`BatchNorm1d: expected a non-empty batch, got ${formatShape(x.shape)}`);
    for (const t of [this.runningMean, this.weight]) {
      if (t && t.dtype !== x.dtype) {
        throw new TypeError(`BatchNorm1d: input is ${x.dtype} but the module is ${t.dtype}; call module.to('${x.dtype}')`);
      }
    }
    const w = this.weight ?? full([C], 1, { dtype: x.dtype });
    const b = this.bias ?? full([C], 0, { dtype: x.dtype });
    if (this.training && N > 1) {
      const { mean, varBiased } = columnStats(x);
      const invstd = allocate(x.dtype, C);
      for (let c = 0; c < C; c++) invstd[c] = 1 / Math.sqrt(varBiased[c] + this.eps);
      this.updateRunningStats(mean, varBiased, N);
      return batchNormTrainOp([x, w, b], { mean, invstd });
    }
    const rm = this.runningMean.data, rv = this.runningVar.data;
    const invstd = allocate(x.dtype, C);
    for (let c = 0; c < C; c++) invstd[c] = 1 / Math.sqrt(rv[c] + this.eps);
    const shift = new Tensor(rm.slice(), [C]);
    return x.sub(shift).mul(new Tensor(invstd, [C])).mul(w).add(b);
  }

  private updateRunningStats(mean: Storage, varBiased: Storage, N: number): void {
    // In place, as torch's: traced forwards (predict's plans) read their version counters.
    bumpVersion(this.runningMean);
    bumpVersion(this.runningVar);
    bumpVersion(this.numBatchesTracked);
    const nbt = this.numBatchesTracked.data;
    nbt[0] += 1;
    const m = this.momentum ?? 1 / nbt[0];
    const rm = this.runningMean.data, rv = this.runningVar.data;
    const unbias = N / (N - 1);
    for (let c = 0; c < rm.length; c++) {
      rm[c] = (1 - m) * rm[c] + m * mean[c];
      rv[c] = (1 - m) * rv[c] + m * varBiased[c] * unbias;
    }
  }
}
