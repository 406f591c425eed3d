import type { Tensor } from '../../autograd/index.js';
import { tryAdagrad, type RowSparse, type Storage } from '../../tensor/index.js';
import { adagradRows } from './lazy-rows.js';
import { Optimizer, checkRange, type ParamGroup, type ParamState, type ParamsInput } from './optimizer.js';

export interface AdagradOptions {
  /** Learning rate γ (default 1e-2). */
  lr: number;
  /** Learning-rate decay η: step t uses γ / (1 + (t − 1)η) (default 0). */
  lrDecay: number;
  /** L2 penalty λθ added to the gradient (default 0). */
  weightDecay: number;
  /** Starting value of the squared-gradient sum (default 0). */
  initialAccumulatorValue: number;
  /** Added to the denominator (default 1e-10). */
  eps: number;
}

/**
 * Adagrad, torch.optim.Adagrad's rule (t counts this parameter's steps):
 *   γ̃ ← γ / (1 + (t − 1)η),   g ← ∇f(θ) + λθ
 *   s ← s + g²  (s starts at initialAccumulatorValue)
 *   θ ← θ − γ̃ · g / (√s + ε)
 */
export class Adagrad extends Optimizer<AdagradOptions> {
  constructor(params: ParamsInput<AdagradOptions>, opts: Partial<AdagradOptions> = {}) {
    super('Adagrad', params, {
      lr: opts.lr ?? 1e-2,
      lrDecay: opts.lrDecay ?? 0,
      weightDecay: opts.weightDecay ?? 0,
      initialAccumulatorValue: opts.initialAccumulatorValue ?? 0,
      eps: opts.eps ?? 1e-10,
    }, opts);
  }

  protected validate(g: AdagradOptions): void {
    checkRange('Adagrad', 'learning rate', 'lr', g.lr, 0);
    checkRange('Adagrad', 'lr decay value', 'lrDecay', g.lrDecay, 0);
    checkRange('Adagrad', 'weight decay value', 'weightDecay', g.weightDecay, 0);
    checkRange('Adagrad', 'initial accumulator value', 'initialAccumulatorValue', g.initialAccumulatorValue, 0);
    checkRange('Adagrad', 'epsilon value', 'eps', g.eps, 0);
  }

  protected update(p: Tensor, grad: Storage, group: ParamGroup<AdagradOptions>, state: ParamState): void {
    const { lr, lrDecay, weightDecay: wd, eps } = group;
    const theta = p.data;
    const n = theta.length;
    const sum = this.buffer(state, 'sum', p, group.initialAccumulatorValue);
    const t = ((state.step as number | undefined) ?? 0) + 1;
    state.step = t;
    const clr = lr / (1 + (t - 1) * lrDecay);
    if (tryAdagrad(theta, grad, sum, clr, wd, eps)) return;
    for (let i = 0; i < n; i++) {
      const g = grad[i] + wd * theta[i];
      sum[i] += g * g;
      theta[i] -= (clr * g) / (Math.sqrt(sum[i]) + eps);
    }
  }

  /** Adagrad on a row-sparse gradient: touched rows only; equal to the dense rule when weightDecay = 0. */
  protected override updateRows(p: Tensor, s: RowSparse, group: ParamGroup<AdagradOptions>, state: ParamState): void {
    const sum = this.buffer(state, 'sum', p, group.initialAccumulatorValue);
    const t = ((state.step as number | undefined) ?? 0) + 1;
    state.step = t;
    adagradRows(p.data, s, sum, group.lr / (1 + (t - 1) * group.lrDecay), group.weightDecay, group.eps);
  }
}
