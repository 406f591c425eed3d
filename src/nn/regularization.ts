import { Tensor, add, defineOp } from '../autograd/index.js';
import { NDArray, allocate } from '../tensor/index.js';

/*
 * L1 / L2 penalties on chosen parameters, added to the loss the way DeepCTR-Torch does
 * (`loss + reg_loss`), with the scale stated:
 *
 *   l1Penalty(params, λ) = λ · Σ_p Σ_i |w_i|
 *   l2Penalty(params, λ) = λ · Σ_p Σ_i w_i²        (no ½: gradient 2λw, DeepCTR-Torch's and Keras's convention)
 *
 * The penalty is a property of the weights alone, so it does not depend on the batch. Add it to
 * a per-sample *mean* loss (our losses' default reduction): the objective is then
 * `mean_b loss_b + Ω(w)`, and the balance between data and penalty is the same for every batch
 * size. DeepCTR-Torch adds the same Ω to a `reduction='sum'` loss, which makes its effective
 * strength shrink as the batch grows; its λ equals ours times the batch size.
 *
 * Relation to optimizer weight decay: SGD's / Adam's `weightDecay: wd` adds wd·w to the gradient,
 * which is the gradient of l2Penalty with λ = wd / 2 (AdamW's decoupled decay is not a penalty).
 */

interface PenaltyAttrs {
  lambda: number;
}

const l1PenaltyOp = defineOp<PenaltyAttrs>({
  name: 'l1Penalty',
  forward: (_c, [w], { lambda }) => {
    const d = w.data;
    let s = 0;
    for (let i = 0; i < d.length; i++) s += Math.abs(d[i]);
    const out = allocate(w.dtype, 1);
    out[0] = lambda * s;
    return new NDArray(out, []);
  },
  // The subgradient at w = 0 is 0, as torch.abs's backward gives.
  backward: (_c, g, [w], { lambda }) => {
    const d = w.data;
    const k = g.data[0] * lambda;
    const out = allocate(w.dtype, d.length);
    for (let i = 0; i < d.length; i++) out[i] = d[i] > 0 ? k : d[i] < 0 ? -k : 0;
    return [new NDArray(out, w.shape)];
  },
});

const l2PenaltyOp = defineOp<PenaltyAttrs>({
  name: 'l2Penalty',
  forward: (_c, [w], { lambda }) => {
    const d = w.data;
    let s = 0;
    for (let i = 0; i < d.length; i++) s += d[i] * d[i];
    const out = allocate(w.dtype, 1);
    out[0] = lambda * s;
    return new NDArray(out, []);
  },
  backward: (_c, g, [w], { lambda }) => {
    const d = w.data;
    const k = 2 * g.data[0] * lambda;
    const out = allocate(w.dtype, d.length);
    for (let i = 0; i < d.length; i++) out[i] = k * d[i];
    return [new NDArray(out, w.shape)];
  },
});

function checkLambda(fn: string, name: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) {
    throw new RangeError(`${fn}: ${name} must be a finite number >= 0, got ${String(v)}`);
  }
  return v;
}

function checkParams(fn: string, params: readonly Tensor[]): void {
  if (!Array.isArray(params)) throw new TypeError(`${fn}: params must be an array of Tensors`);
  params.forEach((p, i) => {
    if (!(p instanceof Tensor)) throw new TypeError(`${fn}: params[${i}] is not a Tensor (got ${typeof p})`);
    if (p.dtype !== params[0].dtype) {
      throw new TypeError(`${fn}: params[${i}] is ${p.dtype} but params[0] is ${params[0].dtype}; all must share a dtype`);
    }
  });
}

function zeroScalar(like: readonly Tensor[]): Tensor {
  return new Tensor(allocate(like[0]?.dtype ?? 'float32', 1), []);
}

function penalty(fn: string, op: typeof l1PenaltyOp, params: readonly Tensor[], lambda: number): Tensor {
  checkParams(fn, params);
  checkLambda(fn, 'lambda', lambda);
  let total: Tensor | null = null;
  for (const p of params) {
    const t = op([p], { lambda });
    total = total === null ? t : add(total, t);
  }
  return total ?? zeroScalar(params);
}

/** λ · Σ|w| over every element of every tensor in `params`; a 0-d tensor. */
export function l1Penalty(params: readonly Tensor[], lambda: number): Tensor {
  return penalty('l1Penalty', l1PenaltyOp, params, lambda);
}

/** λ · Σw² over every element of every tensor in `params` (no ½); a 0-d tensor. */
export function l2Penalty(params: readonly Tensor[], lambda: number): Tensor {
  return penalty('l2Penalty', l2PenaltyOp, params, lambda);
}

/** One group of parameters with its own strengths (DeepCTR-Torch's `(weight_list, l1, l2)`). */
export interface RegularizationGroup {
  params: readonly Tensor[];
  l1?: number;
  l2?: number;
}

export type RegularizationSpec = RegularizationGroup | readonly [readonly Tensor[], number, number];

/**
 * The total penalty Σ_groups [l1Penalty(params, l1) + l2Penalty(params, l2)], a 0-d tensor to add
 * to a mean loss. Groups may be objects or `[params, l1, l2]` tuples. A tensor listed in several
 * groups is penalised once per group, as in DeepCTR-Torch. With nothing to penalise the result is a
 * constant 0 (of the parameters' dtype, float32 when there are none).
 */
export function regularizationLoss(groups: readonly RegularizationSpec[]): Tensor {
  const fn = 'regularizationLoss';
  if (!Array.isArray(groups)) throw new TypeError(`${fn}: expected an array of groups`);
  let total: Tensor | null = null;
  const all: Tensor[] = [];
  groups.forEach((spec, gi) => {
    const g: RegularizationGroup = Array.isArray(spec)
      ? { params: spec[0], l1: spec[1], l2: spec[2] }
      : (spec as RegularizationGroup);
    if (g === null || typeof g !== 'object') throw new TypeError(`${fn}: group ${gi} must be { params, l1, l2 } or [params, l1, l2]`);
    checkParams(`${fn}: group ${gi}`, g.params);
    const l1 = checkLambda(fn, `group ${gi} l1`, g.l1 ?? 0);
    const l2 = checkLambda(fn, `group ${gi} l2`, g.l2 ?? 0);
    all.push(...g.params);
    for (const p of g.params) {
      if (l1 > 0) { const t = l1PenaltyOp([p], { lambda: l1 }); total = total === null ? t : add(total, t); }
      if (l2 > 0) { const t = l2PenaltyOp([p], { lambda: l2 }); total = total === null ? t : add(total, t); }
    }
  });
  return total ?? zeroScalar(all);
}
