import type { Tensor } from '../../autograd/index.js';
import { tryAdam, type RowSparse, type Storage } from '../../tensor/index.js';
import { adamFloat32 } from './adam-float32.js';
import { adamRows } from './lazy-rows.js';
import { Optimizer, checkBoolean, checkRange, type ParamGroup, type ParamState, type ParamsInput } from './optimizer.js';

export interface AdamOptions {
  /** Learning rate γ (default 1e-3). */
  lr: number;
  /** Decay rates (β1, β2) of the first and second moment averages (default [0.9, 0.999]). */
  betas: readonly [number, number];
  /** Added to the denominator (default 1e-8). */
  eps: number;
  /** Adam: L2 penalty λθ added to the gradient (default 0). AdamW: decoupled decay rate (default 1e-2). */
  weightDecay: number;
  /** Use the running maximum of the second moment (AMSGrad, default false). */
  amsgrad: boolean;
}

/** Private marker by which AdamW reuses Adam's constructor with its own name and defaults. */
const ADAMW = Symbol('AdamW');

function defaults(opts: Partial<AdamOptions>, weightDecay: number): AdamOptions {
  return {
    lr: opts.lr ?? 1e-3,
    betas: opts.betas ?? [0.9, 0.999],
    eps: opts.eps ?? 1e-8,
    weightDecay: opts.weightDecay ?? weightDecay,
    amsgrad: opts.amsgrad ?? false,
  };
}

/**
 * Adam, torch.optim.Adam's rule (t counts this parameter's steps):
 *   g ← ∇f(θ) + λθ
 *   m ← β1·m + (1 − β1)·g,   v ← β2·v + (1 − β2)·g²
 *   AMSGrad: v_max ← max(v_max, v) and v_max replaces v below
 *   θ ← θ − γ/(1 − β1^t) · m / (√v / √(1 − β2^t) + ε)
 */
export class Adam extends Optimizer<AdamOptions> {
  /** AdamW decays the weights directly instead of adding λθ to the gradient. */
  protected readonly decoupled: boolean;

  constructor(params: ParamsInput<AdamOptions>, opts: Partial<AdamOptions> = {}) {
    const w = opts as Partial<AdamOptions> & { [ADAMW]?: true };
    super(w[ADAMW] ? 'AdamW' : 'Adam', params, defaults(opts, w[ADAMW] ? 1e-2 : 0), opts);
    this.decoupled = w[ADAMW] === true;
  }

  protected validate(g: AdamOptions): void {
    const name = this.name;
    checkRange(name, 'learning rate', 'lr', g.lr, 0);
    checkRange(name, 'epsilon value', 'eps', g.eps, 0);
    if (!Array.isArray(g.betas) || g.betas.length !== 2) {
      throw new RangeError(`${name}: betas must be a pair [beta1, beta2], got ${JSON.stringify(g.betas)}`);
    }
    checkRange(name, 'beta parameter at index 0:', 'betas[0]', g.betas[0], 0, 1);
    checkRange(name, 'beta parameter at index 1:', 'betas[1]', g.betas[1], 0, 1);
    checkRange(name, 'weight decay value', 'weightDecay', g.weightDecay, 0);
    checkBoolean(name, 'amsgrad', g.amsgrad);
  }

  /** This parameter's state buffers and this step's scalars (the step count advanced), as both update paths use them. */
  private stepOf(p: Tensor, group: ParamGroup<AdamOptions>, state: ParamState) {
    const { lr, eps, weightDecay: wd, amsgrad } = group;
    const [b1, b2] = group.betas;
    const m = this.buffer(state, 'expAvg', p);
    const v = this.buffer(state, 'expAvgSq', p);
    const t = ((state.step as number | undefined) ?? 0) + 1;
    state.step = t;
    const vmax = amsgrad ? this.buffer(state, 'maxExpAvgSq', p) : null;
    return {
      m, v, vmax, b1, b2, eps, decayed: wd !== 0,
      shrink: this.decoupled ? 1 - lr * wd : 1, l2: this.decoupled ? 0 : wd,
      stepSize: lr / (1 - Math.pow(b1, t)), bc2Sqrt: Math.sqrt(1 - Math.pow(b2, t)),
    };
  }

  protected update(p: Tensor, grad: Storage, group: ParamGroup<AdamOptions>, state: ParamState): void {
    const { m, v, vmax, b1, b2, eps, decayed, shrink, l2, stepSize, bc2Sqrt } = this.stepOf(p, group, state);
    const theta = p.data;
    if (tryAdam(theta, grad, m, v, vmax, b1, b2, decayed, shrink, l2, stepSize, bc2Sqrt, eps)) return;
    if (theta instanceof Float32Array) {
      adamFloat32(theta, grad, 0, m, v, vmax, 0, theta.length, b1, b2, decayed, shrink, l2, stepSize, bc2Sqrt, eps);
    } else if (vmax !== null) {
      adamAmsgrad(theta, grad, m, v, vmax, b1, b2, shrink, l2, stepSize, bc2Sqrt, eps);
    } else if (decayed) {
      adamDecay(theta, grad, m, v, b1, b2, shrink, l2, stepSize, bc2Sqrt, eps);
    } else {
      adamPlain(theta, grad, m, v, b1, b2, stepSize, bc2Sqrt, eps);
    }
  }

  /** Lazy Adam on a row-sparse gradient: touched rows only (see lazy-rows.ts). */
  protected override updateRows(p: Tensor, s: RowSparse, group: ParamGroup<AdamOptions>, state: ParamState): void {
    const { m, v, vmax, b1, b2, eps, decayed, shrink, l2, stepSize, bc2Sqrt } = this.stepOf(p, group, state);
    adamRows(p.data, s, m, v, vmax, b1, b2, decayed, shrink, l2, stepSize, bc2Sqrt, eps);
  }
}

/*
 * Float64 storage (gradient checks, float64 models): the update loops, one per case, so the common one (no weight decay, no AMSGrad) carries no
 * per-element branch or dead term: one read of θ, g, m, v and one write of θ, m, v per element,
 * no temporaries. All three evaluate the rule in the same order as torch.optim.Adam's
 * single-tensor path (m is read back after its store, so θ sees the stored, rounded m; the
 * denominator uses v before rounding), and agree bit for bit with the generic loop they replace.
 */

function adamPlain(
  theta: Storage, grad: Storage, m: Storage, v: Storage,
  b1: number, b2: number, stepSize: number, bc2Sqrt: number, eps: number,
): void {
  const c1 = 1 - b1, c2 = 1 - b2;
  for (let i = 0, n = theta.length; i < n; i++) {
    const g = grad[i];
    const vi = b2 * v[i] + c2 * g * g;
    m[i] = b1 * m[i] + c1 * g;
    v[i] = vi;
    theta[i] -= (stepSize * m[i]) / (Math.sqrt(vi) / bc2Sqrt + eps);
  }
}

/** With an L2 term (Adam) or a decoupled shrink (AdamW: shrink = 1 − γλ, l2 = 0). */
function adamDecay(
  theta: Storage, grad: Storage, m: Storage, v: Storage, b1: number, b2: number,
  shrink: number, l2: number, stepSize: number, bc2Sqrt: number, eps: number,
): void {
  const c1 = 1 - b1, c2 = 1 - b2;
  for (let i = 0, n = theta.length; i < n; i++) {
    if (shrink !== 1) theta[i] *= shrink;
    const g = grad[i] + l2 * theta[i];
    const vi = b2 * v[i] + c2 * g * g;
    m[i] = b1 * m[i] + c1 * g;
    v[i] = vi;
    theta[i] -= (stepSize * m[i]) / (Math.sqrt(vi) / bc2Sqrt + eps);
  }
}

/** AMSGrad: the running maximum of the stored v replaces v in the denominator. */
function adamAmsgrad(
  theta: Storage, grad: Storage, m: Storage, v: Storage, vmax: Storage, b1: number, b2: number,
  shrink: number, l2: number, stepSize: number, bc2Sqrt: number, eps: number,
): void {
  const c1 = 1 - b1, c2 = 1 - b2;
  for (let i = 0, n = theta.length; i < n; i++) {
    if (shrink !== 1) theta[i] *= shrink;
    const g = grad[i] + l2 * theta[i];
    const vi = b2 * v[i] + c2 * g * g;
    m[i] = b1 * m[i] + c1 * g;
    v[i] = vi;
    if (vi > vmax[i]) vmax[i] = vi;
    theta[i] -= (stepSize * m[i]) / (Math.sqrt(vmax[i]) / bc2Sqrt + eps);
  }
}

/**
 * AdamW, torch.optim.AdamW's rule: decoupled weight decay θ ← θ − γλθ first, then the Adam
 * update without any L2 term in the gradient. weightDecay defaults to 1e-2.
 */
export class AdamW extends Adam {
  constructor(params: ParamsInput<AdamOptions>, opts: Partial<AdamOptions> = {}) {
    super(params, { ...opts, [ADAMW]: true } as Partial<AdamOptions>);
  }
}
