import type { Tensor } from '../../autograd/index.js';
import { tryRmsprop, type Storage } from '../../tensor/index.js';
import { Optimizer, checkBoolean, checkRange, type ParamGroup, type ParamState, type ParamsInput } from './optimizer.js';

export interface RMSpropOptions {
  /** Learning rate γ (default 1e-2). */
  lr: number;
  /** Smoothing constant α of the squared-gradient average (default 0.99). */
  alpha: number;
  /** Added to the denominator after the square root (default 1e-8). */
  eps: number;
  /** L2 penalty λθ added to the gradient (default 0). */
  weightDecay: number;
  /** Momentum factor μ (default 0). */
  momentum: number;
  /** Normalise by an estimate of the gradient's variance instead of its second moment (default false). */
  centered: boolean;
}

/**
 * RMSprop, torch.optim.RMSprop's rule:
 *   g ← ∇f(θ) + λθ,   v ← αv + (1 − α)g²,   ṽ ← v
 *   centered: ḡ ← αḡ + (1 − α)g,  ṽ ← v − ḡ²
 *   μ > 0: b ← μb + g/(√ṽ + ε), θ ← θ − γb;   else θ ← θ − γ·g/(√ṽ + ε)
 */
export class RMSprop extends Optimizer<RMSpropOptions> {
  constructor(params: ParamsInput<RMSpropOptions>, opts: Partial<RMSpropOptions> = {}) {
    super('RMSprop', params, {
      lr: opts.lr ?? 1e-2,
      alpha: opts.alpha ?? 0.99,
      eps: opts.eps ?? 1e-8,
      weightDecay: opts.weightDecay ?? 0,
      momentum: opts.momentum ?? 0,
      centered: opts.centered ?? false,
    }, opts);
  }

  protected validate(g: RMSpropOptions): void {
    checkRange('RMSprop', 'learning rate', 'lr', g.lr, 0);
    checkRange('RMSprop', 'alpha value', 'alpha', g.alpha, 0, 1, true);
    checkRange('RMSprop', 'epsilon value', 'eps', g.eps, 0);
    checkRange('RMSprop', 'weight decay value', 'weightDecay', g.weightDecay, 0);
    checkRange('RMSprop', 'momentum value', 'momentum', g.momentum, 0);
    checkBoolean('RMSprop', 'centered', g.centered);
  }

  protected update(p: Tensor, grad: Storage, group: ParamGroup<RMSpropOptions>, state: ParamState): void {
    const { lr, alpha, eps, weightDecay: wd, momentum: mu, centered } = group;
    const theta = p.data;
    const n = theta.length;
    const v = this.buffer(state, 'squareAvg', p);
    const gAvg = centered ? this.buffer(state, 'gradAvg', p) : null;
    const buf = mu > 0 ? this.buffer(state, 'momentumBuffer', p) : null;
    state.step = ((state.step as number | undefined) ?? 0) + 1;
    if (tryRmsprop(theta, grad, v, gAvg, buf, lr, alpha, eps, wd, mu)) return;
    for (let i = 0; i < n; i++) {
      const g = grad[i] + wd * theta[i];
      v[i] = alpha * v[i] + (1 - alpha) * g * g;
      let vt = v[i];
      if (gAvg !== null) {
        gAvg[i] = alpha * gAvg[i] + (1 - alpha) * g;
        vt -= gAvg[i] * gAvg[i];
      }
      const step = g / (Math.sqrt(vt) + eps);
      if (buf !== null) {
        buf[i] = mu * buf[i] + step;
        theta[i] -= lr * buf[i];
      } else {
        theta[i] -= lr * step;
      }
    }
  }
}
