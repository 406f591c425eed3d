import { Tensor } from '../../autograd/index.js';
import { checkOptionKeys, type OptionKeys } from '../../validation/options.js';

export interface ClipGradNormOptions {
  /** The p of the p-norm; Infinity for the max-norm (default 2). */
  normType?: number;
  /** Throw when the total norm is NaN or infinite instead of scaling by it (default false). */
  errorIfNonfinite?: boolean;
}

const CLIP_KEYS: OptionKeys<ClipGradNormOptions> = { normType: true, errorIfNonfinite: true };

/**
 * Scales the gradients of `params` in place so that their total norm (the norm of all gradients
 * concatenated) is at most `maxNorm`, like torch.nn.utils.clip_grad_norm_: the factor is
 * min(1, maxNorm / (total + 1e-6)). Parameters without a gradient are skipped. Returns the total
 * norm before clipping. The third argument may be the norm type itself, as in PyTorch.
 */
export function clipGradNorm(params: Tensor | readonly Tensor[], maxNorm: number, opts: ClipGradNormOptions | number = {}): number {
  if (typeof opts !== 'number') checkOptionKeys('clipGradNorm', opts, CLIP_KEYS);
  const o: ClipGradNormOptions = typeof opts === 'number' ? { normType: opts } : opts;
  const p = o.normType ?? 2;
  if (typeof maxNorm !== 'number' || Number.isNaN(maxNorm) || maxNorm < 0) {
    throw new RangeError(`clipGradNorm: maxNorm must be a number >= 0, got ${String(maxNorm)}`);
  }
  if (typeof p !== 'number' || Number.isNaN(p) || p <= 0) {
    throw new RangeError(`clipGradNorm: normType must be a positive number or Infinity, got ${String(p)}`);
  }
  const list = params instanceof Tensor ? [params] : [...params];
  const grads = list.filter((t, i) => {
    if (!(t instanceof Tensor)) throw new TypeError(`clipGradNorm: params[${i}] is not a Tensor (got ${typeof t})`);
    return t.sparseGrad !== null || t.grad !== null;
    // A row-sparse gradient's stored rows are distinct, so its values carry the whole norm.
  }).map((t) => (t.sparseGrad !== null ? t.sparseGrad.values : t.grad!.data));
  if (grads.length === 0) return 0;
  let total = 0;
  if (p === Infinity) {
    // Math.max returns NaN once any entry is NaN, so a NaN gradient shows in the total, as in PyTorch.
    for (const g of grads) for (let i = 0; i < g.length; i++) total = Math.max(total, Math.abs(g[i]));
  } else {
    let acc = 0;
    if (p === 2) for (const g of grads) for (let i = 0; i < g.length; i++) acc += g[i] * g[i];
    else for (const g of grads) for (let i = 0; i < g.length; i++) acc += Math.pow(Math.abs(g[i]), p);
    total = p === 2 ? Math.sqrt(acc) : Math.pow(acc, 1 / p);
  }
  if (o.errorIfNonfinite && !Number.isFinite(total)) {
    throw new Error(`clipGradNorm: the total norm of order ${p} of the gradients is ${total}; set errorIfNonfinite: false to scale anyway`);
  }
  const coef = Math.min(maxNorm / (total + 1e-6), 1);
  for (const g of grads) for (let i = 0; i < g.length; i++) g[i] *= coef;
  return total;
}
