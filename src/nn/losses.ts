import { Tensor, abs, defineOp, mean, mul, sub, sum } from '../autograd/index.js';
import { NDArray, allocate, broadcastShapes, expandArray, formatShape, shapesEqual, type Storage } from '../tensor/index.js';
import { Module } from './module.js';
import { checkOptionKeys, type OptionKeys } from '../validation/options.js';

/*
 * Loss functions with PyTorch's semantics. `reduction` is explicit and 'mean' by default; 'mean'
 * averages the (weighted) per-element losses over the number of elements, like PyTorch (it does
 * not divide by the sum of the weights).
 */

export type Reduction = 'mean' | 'sum' | 'none';

export interface LossOptions {
  reduction?: Reduction;
  /** Per-element weights, broadcastable to the input's shape (e.g. [B, 1] per sample, [T] per task). */
  weight?: Tensor;
}

export interface BCEWithLogitsOptions extends LossOptions {
  /** Weight of the positive term, broadcastable to the input's shape (usually one per task/class). */
  posWeight?: Tensor;
}

const LOSS_KEYS: OptionKeys<LossOptions> = { reduction: true, weight: true };
const BCE_LOGITS_KEYS: OptionKeys<BCEWithLogitsOptions> = { ...LOSS_KEYS, posWeight: true };

function checkReduction(loss: string, r: unknown): Reduction {
  if (r !== 'mean' && r !== 'sum' && r !== 'none') {
    throw new RangeError(`${loss}: reduction must be 'mean', 'sum' or 'none', got ${String(r)}`);
  }
  return r;
}

function checkTarget(loss: string, input: Tensor, target: Tensor): void {
  if (!(input instanceof Tensor) || !(target instanceof Tensor)) throw new TypeError(`${loss}: input and target must be Tensors`);
  if (!shapesEqual(input.shape, target.shape)) {
    throw new Error(`${loss}: input and target shapes differ: input ${formatShape(input.shape)}, target ${formatShape(target.shape)}`);
  }
}

/** Checks that `w` broadcasts to the input's shape without enlarging it. */
function checkBroadcastTo(loss: string, what: string, w: Tensor | undefined, input: Tensor): void {
  if (w === undefined) return;
  if (!(w instanceof Tensor)) throw new TypeError(`${loss}: ${what} must be a Tensor`);
  let ok = w.ndim <= input.ndim;
  if (ok) {
    try {
      ok = shapesEqual(broadcastShapes(loss, w.shape, input.shape), input.shape);
    } catch {
      ok = false;
    }
  }
  if (!ok) throw new Error(`${loss}: ${what} of shape ${formatShape(w.shape)} does not broadcast to the input shape ${formatShape(input.shape)}`);
}

interface FusedAttrs {
  reduction: Reduction;
  hasWeight: boolean;
  hasPosWeight: boolean;
}

/** Per-element multiplier of the upstream gradient: g[i] for 'none', g·(1/n) or g for the reductions. */
function upstream(g: NDArray, i: number, reduction: Reduction, n: number): number {
  return reduction === 'none' ? g.data[i] : reduction === 'mean' ? g.data[0] / n : g.data[0];
}

function reduceElements(per: Storage, shape: readonly number[], reduction: Reduction): NDArray {
  if (reduction === 'none') return new NDArray(per, shape);
  let s = 0;
  for (let i = 0; i < per.length; i++) s += per[i];
  const out = allocate(per instanceof Float64Array ? 'float64' : 'float32', 1);
  out[0] = reduction === 'mean' ? s / per.length : s;
  return new NDArray(out, []);
}

function expanded(a: NDArray | undefined, shape: readonly number[]): Storage | null {
  return a === undefined ? null : expandArray(a, shape).data;
}

/** softplus(-x) = -log σ(x) = max(-x, 0) + log1p(exp(-|x|)), finite for every finite x. */
function softplusNeg(x: number): number {
  return Math.max(-x, 0) + Math.log1p(Math.exp(-Math.abs(x)));
}

/** σ(-x) = 1 - σ(x), with exp's argument kept non-positive. */
function sigmoidNeg(x: number): number {
  if (x >= 0) {
    const e = Math.exp(-x);
    return e / (1 + e);
  }
  return 1 / (1 + Math.exp(x));
}

/*
 * One fused op. With lw = 1 + (p - 1)·y (p = posWeight, 1 when absent) the per-element loss is
 *   l = (1 - y)·x + lw·softplus(-x)       (= max(x,0) - x·y + log1p(exp(-|x|)) when p = 1)
 * and its partial derivatives are
 *   ∂l/∂x = (1 - y) - lw·σ(-x)  (= σ(x) - y when p = 1),  ∂l/∂y = -x + (p - 1)·softplus(-x),
 *   ∂l/∂p = y·softplus(-x),  and the weighted loss w·l gives ∂/∂w = l.
 */
const bceWithLogitsOp = defineOp<FusedAttrs>({
  name: 'bceWithLogits',
  forward: (_c, inputs, { reduction, hasWeight, hasPosWeight }) => {
    const [x, y] = inputs;
    const w = expanded(hasWeight ? inputs[2] : undefined, x.shape);
    const p = expanded(hasPosWeight ? inputs[hasWeight ? 3 : 2] : undefined, x.shape);
    const xd = x.data, yd = y.data;
    const per = allocate(x.dtype, x.size);
    for (let i = 0; i < xd.length; i++) {
      const xi = xd[i], yi = yd[i];
      const lw = p === null ? 1 : 1 + (p[i] - 1) * yi;
      const l = (1 - yi) * xi + lw * softplusNeg(xi);
      per[i] = w === null ? l : w[i] * l;
    }
    return reduceElements(per, x.shape, reduction);
  },
  backward: (c, g, inputs, { reduction, hasWeight, hasPosWeight }) => {
    const [x, y] = inputs;
    const wIdx = hasWeight ? 2 : -1;
    const pIdx = hasPosWeight ? (hasWeight ? 3 : 2) : -1;
    const w = expanded(wIdx >= 0 ? inputs[wIdx] : undefined, x.shape);
    const p = expanded(pIdx >= 0 ? inputs[pIdx] : undefined, x.shape);
    const n = x.size;
    const need = c.needsInputGrad;
    const gx = need[0] ? allocate(x.dtype, n) : null;
    const gy = need[1] ? allocate(x.dtype, n) : null;
    const gw = wIdx >= 0 && need[wIdx] ? allocate(x.dtype, n) : null;
    const gp = pIdx >= 0 && need[pIdx] ? allocate(x.dtype, n) : null;
    const xd = x.data, yd = y.data;
    for (let i = 0; i < n; i++) {
      const up = upstream(g, i, reduction, n);
      const xi = xd[i], yi = yd[i];
      const pi = p === null ? 1 : p[i];
      const wi = w === null ? 1 : w[i];
      const lw = 1 + (pi - 1) * yi;
      if (gx) gx[i] = up * wi * ((1 - yi) - lw * sigmoidNeg(xi));
      if (gy || gw || gp) {
        const sp = softplusNeg(xi);
        if (gy) gy[i] = up * wi * (-xi + (pi - 1) * sp);
        if (gw) gw[i] = up * ((1 - yi) * xi + lw * sp);
        if (gp) gp[i] = up * wi * yi * sp;
      }
    }
    const wrap = (d: Storage | null): NDArray | null => (d === null ? null : new NDArray(d, x.shape));
    const out: Array<NDArray | null> = [wrap(gx), wrap(gy)];
    if (hasWeight) out.push(wrap(gw));
    if (hasPosWeight) out.push(wrap(gp));
    return out;
  },
});

/**
 * Binary cross-entropy on logits, PyTorch's `binary_cross_entropy_with_logits`:
 * `l = -w·[p·y·log σ(x) + (1 - y)·log(1 - σ(x))]`, computed in a stable form so that logits of
 * ±1e4 give finite losses and gradients. Targets may be soft (any value in [0, 1]).
 */
export function bceWithLogits(logits: Tensor, targets: Tensor, opts: BCEWithLogitsOptions = {}): Tensor {
  const name = 'bceWithLogits';
  checkOptionKeys(name, opts, BCE_LOGITS_KEYS);
  const reduction = checkReduction(name, opts.reduction ?? 'mean');
  checkTarget(name, logits, targets);
  checkBroadcastTo(name, 'weight', opts.weight, logits);
  checkBroadcastTo(name, 'posWeight', opts.posWeight, logits);
  const inputs = [logits, targets];
  if (opts.weight) inputs.push(opts.weight);
  if (opts.posWeight) inputs.push(opts.posWeight);
  return bceWithLogitsOp(inputs, { reduction, hasWeight: opts.weight !== undefined, hasPosWeight: opts.posWeight !== undefined });
}

/** PyTorch clamps each log term at -100 so that probabilities of exactly 0 or 1 give finite losses. */
const LOG_FLOOR = -100;
/** PyTorch's floor for p·(1 - p) in the gradient's denominator. */
const GRAD_EPS = 1e-12;

const bceOp = defineOp<FusedAttrs>({
  name: 'binaryCrossEntropy',
  forward: (_c, inputs, { reduction, hasWeight }) => {
    const [x, y] = inputs;
    const w = expanded(hasWeight ? inputs[2] : undefined, x.shape);
    const xd = x.data, yd = y.data;
    // Checked inside the op (not by the caller), so stacked runs are each checked on their values.
    for (let i = 0; i < xd.length; i++) {
      if (!(xd[i] >= 0 && xd[i] <= 1)) {
        throw new RangeError(`binaryCrossEntropy: input must hold probabilities in [0, 1], got ${xd[i]} at flat index ${i} (use bceWithLogits for logits)`);
      }
    }
    const per = allocate(x.dtype, x.size);
    for (let i = 0; i < xd.length; i++) {
      const pi = xd[i], yi = yd[i];
      // 0 - (…) rather than -(…): a loss of exactly 0 should not come out as -0.
      const l = 0 - (yi * Math.max(Math.log(pi), LOG_FLOOR) + (1 - yi) * Math.max(Math.log1p(-pi), LOG_FLOOR));
      per[i] = w === null ? l : w[i] * l;
    }
    return reduceElements(per, x.shape, reduction);
  },
  // ∂l/∂p = (p - y) / max(p·(1 - p), 1e-12) (PyTorch's rule), ∂l/∂y = log(1 - p) - log p (clamped).
  backward: (c, g, inputs, { reduction, hasWeight }) => {
    const [x, y] = inputs;
    const w = expanded(hasWeight ? inputs[2] : undefined, x.shape);
    const n = x.size;
    const need = c.needsInputGrad;
    const gx = need[0] ? allocate(x.dtype, n) : null;
    const gy = need[1] ? allocate(x.dtype, n) : null;
    const gw = hasWeight && need[2] ? allocate(x.dtype, n) : null;
    const xd = x.data, yd = y.data;
    for (let i = 0; i < n; i++) {
      const up = upstream(g, i, reduction, n);
      const pi = xd[i], yi = yd[i];
      const wi = w === null ? 1 : w[i];
      const lp = Math.max(Math.log(pi), LOG_FLOOR);
      const lq = Math.max(Math.log1p(-pi), LOG_FLOOR);
      if (gx) gx[i] = up * wi * (pi - yi) / Math.max(pi * (1 - pi), GRAD_EPS);
      if (gy) gy[i] = up * wi * (lq - lp);
      if (gw) gw[i] = up * (0 - (yi * lp + (1 - yi) * lq));
    }
    const wrap = (d: Storage | null): NDArray | null => (d === null ? null : new NDArray(d, x.shape));
    return hasWeight ? [wrap(gx), wrap(gy), wrap(gw)] : [wrap(gx), wrap(gy)];
  },
});

/**
 * Binary cross-entropy on probabilities, PyTorch's `binary_cross_entropy`:
 * `l = -w·[y·log p + (1 - y)·log(1 - p)]` with each log clamped at -100. Probabilities outside
 * [0, 1] are an error. Prefer `bceWithLogits` on logits: it is exact where this one saturates.
 */
export function binaryCrossEntropy(probs: Tensor, targets: Tensor, opts: LossOptions = {}): Tensor {
  const name = 'binaryCrossEntropy';
  checkOptionKeys(name, opts, LOSS_KEYS);
  const reduction = checkReduction(name, opts.reduction ?? 'mean');
  checkTarget(name, probs, targets);
  checkBroadcastTo(name, 'weight', opts.weight, probs);
  const inputs = opts.weight ? [probs, targets, opts.weight] : [probs, targets];
  return bceOp(inputs, { reduction, hasWeight: opts.weight !== undefined, hasPosWeight: false });
}

function reduceComposed(per: Tensor, reduction: Reduction): Tensor {
  return reduction === 'none' ? per : reduction === 'sum' ? sum(per) : mean(per);
}

/** Mean squared error: `l = w·(x - y)²`, reduced. */
export function mseLoss(input: Tensor, target: Tensor, opts: LossOptions = {}): Tensor {
  checkOptionKeys('mseLoss', opts, LOSS_KEYS);
  const reduction = checkReduction('mseLoss', opts.reduction ?? 'mean');
  checkTarget('mseLoss', input, target);
  checkBroadcastTo('mseLoss', 'weight', opts.weight, input);
  const d = sub(input, target);
  const sq = mul(d, d);
  return reduceComposed(opts.weight ? mul(sq, opts.weight) : sq, reduction);
}

/** Mean absolute error: `l = w·|x - y|`, reduced (gradient 0 where x = y, as in PyTorch). */
export function l1Loss(input: Tensor, target: Tensor, opts: LossOptions = {}): Tensor {
  checkOptionKeys('l1Loss', opts, LOSS_KEYS);
  const reduction = checkReduction('l1Loss', opts.reduction ?? 'mean');
  checkTarget('l1Loss', input, target);
  checkBroadcastTo('l1Loss', 'weight', opts.weight, input);
  const a = abs(sub(input, target));
  return reduceComposed(opts.weight ? mul(a, opts.weight) : a, reduction);
}

/*
 * Module forms, as torch.nn's loss classes: options fixed at construction, `weight` / `posWeight`
 * registered as buffers so they follow `module.to(dtype)` and appear in the state dict.
 */

abstract class WeightedLoss extends Module {
  readonly reduction: Reduction;
  readonly weight: Tensor | undefined;

  constructor(name: string, opts: LossOptions) {
    super();
    checkOptionKeys(name, opts, name === 'BCEWithLogitsLoss' ? BCE_LOGITS_KEYS : LOSS_KEYS);
    this.reduction = checkReduction(name, opts.reduction ?? 'mean');
    this.weight = opts.weight === undefined ? undefined : this.registerBuffer('weight', opts.weight);
  }

  abstract forward(input: Tensor, target: Tensor): Tensor;
}

export class BCEWithLogitsLoss extends WeightedLoss {
  static override readonly typeName: string = 'BCEWithLogitsLoss';
  readonly posWeight: Tensor | undefined;

  constructor(opts: BCEWithLogitsOptions = {}) {
    super('BCEWithLogitsLoss', opts);
    this.posWeight = opts.posWeight === undefined ? undefined : this.registerBuffer('pos_weight', opts.posWeight);
  }

  forward(input: Tensor, target: Tensor): Tensor {
    return bceWithLogits(input, target, { reduction: this.reduction, weight: this.weight, posWeight: this.posWeight });
  }
}

export class BCELoss extends WeightedLoss {
  static override readonly typeName: string = 'BCELoss';
  constructor(opts: LossOptions = {}) {
    super('BCELoss', opts);
  }

  forward(input: Tensor, target: Tensor): Tensor {
    return binaryCrossEntropy(input, target, { reduction: this.reduction, weight: this.weight });
  }
}

export class MSELoss extends WeightedLoss {
  static override readonly typeName: string = 'MSELoss';
  constructor(opts: LossOptions = {}) {
    super('MSELoss', opts);
  }

  forward(input: Tensor, target: Tensor): Tensor {
    return mseLoss(input, target, { reduction: this.reduction, weight: this.weight });
  }
}

export class L1Loss extends WeightedLoss {
  static override readonly typeName: string = 'L1Loss';
  constructor(opts: LossOptions = {}) {
    super('L1Loss', opts);
  }

  forward(input: Tensor, target: Tensor): Tensor {
    return l1Loss(input, target, { reduction: this.reduction, weight: this.weight });
  }
}
