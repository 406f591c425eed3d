import type { Tensor } from '../../autograd/index.js';
import { trySgd, type RowSparse, type Storage } from '../../tensor/index.js';
import { sgdRows } from './lazy-rows.js';
import { Optimizer, checkBoolean, checkRange, type ParamGroup, type ParamState, type ParamsInput } from './optimizer.js';

export interface SGDOptions {
  /** Learning rate γ (default 1e-3, as torch.optim.SGD since 2.x). */
  lr: number;
  /** Momentum factor μ (default 0). */
  momentum: number;
  /** Dampening τ of the momentum (default 0). */
  dampening: number;
  /** L2 penalty λ added to the gradient as λθ (default 0). */
  weightDecay: number;
  /** Nesterov momentum; needs momentum > 0 and dampening 0 (default false). */
  nesterov: boolean;
}

/**
 * Stochastic gradient descent, torch.optim.SGD's rule:
 *   g ← ∇f(θ) + λθ
 *   if μ ≠ 0: b ← g at the first step, else b ← μb + (1 − τ)g;  g ← g + μb (Nesterov) or g ← b
 *   θ ← θ − γg
 */
export class SGD extends Optimizer<SGDOptions> {
  constructor(params: ParamsInput<SGDOptions>, opts: Partial<SGDOptions> = {}) {
    super('SGD', params, {
      lr: opts.lr ?? 1e-3,
      momentum: opts.momentum ?? 0,
      dampening: opts.dampening ?? 0,
      weightDecay: opts.weightDecay ?? 0,
      nesterov: opts.nesterov ?? false,
    }, opts);
  }

  protected validate(g: SGDOptions): void {
    checkRange('SGD', 'learning rate', 'lr', g.lr, 0);
    checkRange('SGD', 'momentum value', 'momentum', g.momentum, 0);
    checkRange('SGD', 'dampening value', 'dampening', g.dampening, 0, 1, true);
    checkRange('SGD', 'weight decay value', 'weightDecay', g.weightDecay, 0);
    checkBoolean('SGD', 'nesterov', g.nesterov);
    if (g.nesterov && (g.momentum <= 0 || g.dampening !== 0)) {
      throw new RangeError(`SGD: Nesterov momentum requires momentum > 0 and dampening = 0, got momentum = ${g.momentum}, dampening = ${g.dampening}`);
    }
  }

  protected update(p: Tensor, grad: Storage, group: ParamGroup<SGDOptions>, state: ParamState): void {
    const { lr, momentum: mu, dampening, weightDecay: wd, nesterov } = group;
    const theta = p.data;
    const n = theta.length;
    if (mu === 0) {
      if (trySgd(theta, grad, null, lr, wd, 0, dampening, nesterov, false)) return;
      for (let i = 0; i < n; i++) theta[i] -= lr * (grad[i] + wd * theta[i]);
      return;
    }
    const first = state.momentumBuffer === undefined;
    const buf = this.buffer(state, 'momentumBuffer', p);
    if (trySgd(theta, grad, buf, lr, wd, mu, dampening, nesterov, first)) return;
    for (let i = 0; i < n; i++) {
      const g = grad[i] + wd * theta[i];
      const b = first ? g : mu * buf[i] + (1 - dampening) * g;
      buf[i] = b;
      theta[i] -= lr * (nesterov ? g + mu * b : b);
    }
  }

  /**
   * Plain SGD touches only the gradient's rows, which is exactly the dense rule; with momentum or
   * weight decay every row moves, so the gradient is densified (exact, at the dense cost).
   */
  protected override updateRows(p: Tensor, s: RowSparse, group: ParamGroup<SGDOptions>, state: ParamState): void {
    if (group.momentum === 0 && group.weightDecay === 0) sgdRows(p.data, s, group.lr);
    else super.updateRows(p, s, group, state);
  }
}
