import { Tensor, tensor, noGrad } from '../autograd/index.js';
import { checkOptions } from '../validation/options.js';
import { Adam, type OptimizerStateDict } from '../nn/optim/index.js';
import { moduleTypeName } from '../nn/type-name.js';
import { outputWidths, type MultiTaskModel, type TaskType } from '../models/types.js';
import { multiTaskLoss, perTaskLosses } from './loss.js';

/*
 * How one batch's task losses become the gradient of a step. Fixed weights are the plain
 * Σ_t w_t L_t; the two learned schemes from the multi-task literature adapt the weights as they
 * train and report them in the history (`<task>_weight` per epoch).
 */

export interface UncertaintyWeightingOptions {
  method: 'uncertainty';
  /** Learning rate of the log-variances (their own Adam). Default: fit's lr, else 1e-3. */
  lr?: number;
}

export interface GradNormOptions {
  method: 'gradnorm';
  /** Restoring-force strength α (the paper uses 0.12 to 3; default 1.5). */
  alpha?: number;
  /** Learning rate of the task weights (their own Adam). Default: fit's lr, else 1e-3. */
  lr?: number;
  /**
   * The weights of the last shared layer W, whose per-task gradient norms GradNorm balances: tensors,
   * or parameter names. Default for MMoE/OMoE: every expert's last Linear weight
   * (`expert_dnn.<e>.linears.<last>.weight`); for SharedBottom: `bottom_dnn.linears.<last>.weight`.
   */
  sharedParameters?: readonly Tensor[] | readonly string[];
}

/** fit's `taskWeighting`: a method name (with its defaults) or its options. */
export type TaskWeightingOption = 'uncertainty' | 'gradnorm' | UncertaintyWeightingOptions | GradNormOptions;

/** What the loop needs from a weighting scheme. */
export interface TaskWeighting {
  /**
   * Builds the batch loss, hands its value to `check` (which throws on a non-finite one before any
   * gradient exists), and back-propagates it into the model's parameters' .grad.
   * Returns the value: the quantity the scheme minimises.
   */
  backward(logits: Tensor, y: Tensor, rowWeights: Tensor | null, reg: Tensor | null, check: (v: number) => void): number;
  /** After the model's optimizer step: updates the scheme's own weights. */
  afterStep(): void;
  /** Adds the current weights to an epoch's logs. */
  log(logs: Record<string, number>): void;
  /** The learned state (weights, their Adam, running sums) as plain JSON data for checkpoints; null for fixed weights. */
  getState(): WeightingState | null;
  setState(state: unknown): void;
}

/** A learned weighting's state in a checkpoint. */
export interface WeightingState {
  method: 'uncertainty' | 'gradnorm';
  values: number[];
  optimizer: OptimizerStateDict;
  /** GradNorm: each task's L_i(0) and the epoch's running gradnorm_loss sums. */
  initial?: number[];
  lossGradSum?: number;
  lossGradSteps?: number;
}

/** Checks a checkpoint's weighting state against this fit's scheme; returns it typed. */
function weightingState(method: WeightingState['method'], size: number, state: unknown): WeightingState {
  const s = state as Partial<WeightingState> | null;
  if (s === null || typeof s !== 'object' || s.method !== method || !Array.isArray(s.values) || s.values.length !== size || typeof s.optimizer !== 'object') {
    throw new Error(`taskWeighting: the checkpoint's state is not ${method} weighting over ${size} task(s) (got ${s !== null && typeof s === 'object' ? String(s.method) : typeof s})`);
  }
  return s as WeightingState;
}

/** Σ_t w_t L_t with the given fixed weights (the default). */
export class FixedWeighting implements TaskWeighting {
  constructor(private readonly taskTypes: readonly TaskType[], private readonly weights: readonly number[], private readonly widths: readonly number[] | null = null) {}

  /** Whether every task's weight is 0 (the loss is always null). */
  get empty(): boolean {
    return this.weights.every((w) => w === 0);
  }

  /** Σ_t w_t L_t plus the model's penalties `reg` (null when neither counts). */
  total(logits: Tensor, y: Tensor, r: Tensor | null, reg: Tensor | null): Tensor | null {
    const loss = multiTaskLoss(logits, y, this.taskTypes, this.weights, r, this.widths);
    return reg === null ? loss : loss === null ? reg : loss.add(reg);
  }

  backward(logits: Tensor, y: Tensor, r: Tensor | null, reg: Tensor | null, check: (v: number) => void): number {
    const loss = this.total(logits, y, r, reg);
    const value = loss === null ? 0 : loss.item();
    check(value);
    loss?.backward();
    return value;
  }

  afterStep(): void {}
  log(): void {}
  getState(): null {
    return null;
  }

  setState(): void {}
}

/** The multiplier c_t of e^{-s_t} L_t: ½ for regression (Gaussian likelihood), 1 for classification. */
export function uncertaintyFactors(taskTypes: readonly TaskType[]): number[] {
  return taskTypes.map((t) => (t === 'regression' ? 0.5 : 1));
}

/**
 * Kendall, Gal & Cipolla (CVPR 2018), with s_t = log σ_t² learned per task:
 *   regression:      ½ e^{-s_t} L_t + ½ s_t   (their eq. 7 in s = log σ²)
 *   classification:    e^{-s_t} L_t + ½ s_t   (their eq. 10–12, the approximation of a
 *                                              temperature-scaled likelihood, 1/σ² L + log σ)
 * summed over tasks. L: [T] task losses; s: [T]; c: uncertaintyFactors. Differentiable in L and s.
 */
export function uncertaintyLoss(L: Tensor, s: Tensor, c: readonly number[]): Tensor {
  const cs = tensor(c, { dtype: L.dtype });
  return cs.mul(s.neg().exp()).mul(L).add(s.mul(0.5)).sum();
}

export class UncertaintyWeighting implements TaskWeighting {
  /** log σ², one per task, starting at 0 (every σ² = 1). */
  readonly logVars: Tensor;
  private readonly factors: number[];
  private readonly optimizer: Adam;

  constructor(private readonly model: MultiTaskModel, lr: number) {
    // In the model's dtype: the task losses they multiply come out in it, and ops don't mix dtypes.
    const dtype = model.parameters()[0]?.dtype ?? 'float32';
    this.logVars = tensor(new Array<number>(model.taskNames.length).fill(0), { dtype, requiresGrad: true });
    this.factors = uncertaintyFactors(model.taskTypes);
    this.optimizer = new Adam([this.logVars], { lr });
  }

  backward(logits: Tensor, y: Tensor, r: Tensor | null, reg: Tensor | null, check: (v: number) => void): number {
    this.optimizer.zeroGrad();
    const L = perTaskLosses(logits, y, this.model.taskTypes, r, outputWidths(this.model));
    let loss = uncertaintyLoss(L, this.logVars, this.factors);
    if (reg !== null) loss = loss.add(reg);
    const value = loss.item();
    check(value);
    loss.backward();
    return value;
  }

  afterStep(): void {
    this.optimizer.step();
  }

  log(logs: Record<string, number>): void {
    this.model.taskNames.forEach((name, j) => {
      const s = this.logVars.data[j];
      logs[`${name}_log_var`] = s;
      logs[`${name}_weight`] = this.factors[j] * Math.exp(-s);
    });
  }

  getState(): WeightingState {
    return { method: 'uncertainty', values: Array.from(this.logVars.data), optimizer: this.optimizer.stateDict() };
  }

  setState(state: unknown): void {
    const s = weightingState('uncertainty', this.logVars.size, state);
    this.optimizer.loadStateDict(s.optimizer);
    this.logVars.data.set(s.values);
  }
}

/**
 * GradNorm's objective (Chen et al., ICML 2018, eq. 2): L_grad = Σ_i |w_i g_i − target_i|, with
 * g_i = ‖∇_W L_i‖ (so w_i g_i = G_W^(i)) and target_i = mean(G_W) · r_i^α held constant.
 * Differentiable in w (and g).
 */
export function gradNormLoss(w: Tensor, g: Tensor, target: Tensor): Tensor {
  return w.mul(g).sub(target).abs().sum();
}

/** The targets mean_j(w_j g_j) · r_i^α, r_i = (L_i / L_i(0)) / mean_j(L_j / L_j(0)). */
export function gradNormTargets(w: ArrayLike<number>, g: ArrayLike<number>, losses: ArrayLike<number>, initial: ArrayLike<number>, alpha: number): Float64Array {
  const T = w.length;
  let meanG = 0, meanRatio = 0;
  const ratio = new Float64Array(T);
  for (let i = 0; i < T; i++) {
    meanG += (w[i] * g[i]) / T;
    ratio[i] = initial[i] > 0 ? losses[i] / initial[i] : 1;
    meanRatio += ratio[i] / T;
  }
  const out = new Float64Array(T);
  for (let i = 0; i < T; i++) out[i] = meanG * Math.pow(meanRatio > 0 ? ratio[i] / meanRatio : 1, alpha);
  return out;
}

/** A weight that reaches 0 would also zero its task's gradient, the signal GradNorm reads; keep it above this. */
const MIN_WEIGHT = 1e-4;

export class GradNormWeighting implements TaskWeighting {
  /** The task weights w, summing to T. */
  readonly weights: Tensor;
  private readonly optimizer: Adam;
  private readonly T: number;
  /** L_i(0), 0 until task i has had a batch with a positive finite loss. */
  private readonly initial: Float64Array;
  private pending: { g: Float64Array; target: Float64Array } | null = null;
  /** Each task's L_i(0), 0 while not yet recorded (a copy, for inspection and tests). */
  get initialLosses(): Float64Array {
    return Float64Array.from(this.initial);
  }

  /** The last batch's g_i = ‖∇_W L_i‖ (for inspection and tests). */
  lastGradNorms: Float64Array | null = null;
  private lossGradSum = 0;
  private lossGradSteps = 0;

  constructor(private readonly model: MultiTaskModel, private readonly shared: readonly Tensor[], private readonly alpha: number, lr: number) {
    this.T = model.taskNames.length;
    this.initial = new Float64Array(this.T);
    this.weights = tensor(new Array<number>(this.T).fill(1), { requiresGrad: true });
    this.optimizer = new Adam([this.weights], { lr });
  }

  backward(logits: Tensor, y: Tensor, r: Tensor | null, reg: Tensor | null, check: (v: number) => void): number {
    const T = this.T;
    const L = perTaskLosses(logits, y, this.model.taskTypes, r, outputWidths(this.model));
    const w = Float64Array.from(this.weights.data);
    let value = reg === null ? 0 : reg.item();
    for (let i = 0; i < T; i++) value += w[i] * L.data[i];
    check(value);
    // A task's L_i(0) is its first positive finite loss, not simply the first batch's: a batch
    // whose rows all have weight 0 for a task (missing labels, sample weights) gives it L_i = 0,
    // which would pin its loss ratio at 1 for the whole run.
    for (let i = 0; i < T; i++) {
      const l = L.data[i];
      if (this.initial[i] === 0 && l > 0 && Number.isFinite(l)) this.initial[i] = l;
    }
    // One backward per task, each seeded with w_i, so .grad sums to ∇ Σ w_i L_i as usual; the
    // shared layer's gradient grows by w_i ∇_W L_i each time, whose norm over w_i is g_i.
    const g = new Float64Array(T);
    let before = this.sharedGrads();
    for (let i = 0; i < T; i++) {
      const last = i === T - 1 && reg === null;
      L.backward(oneHot(T, i, w[i], L), { retainGraph: !last });
      const after = this.sharedGrads();
      let sq = 0;
      for (let k = 0; k < after.length; k++) sq += (after[k] - before[k]) ** 2;
      g[i] = Math.sqrt(sq) / w[i];
      before = after;
    }
    reg?.backward();
    this.lastGradNorms = g;
    this.pending = { g, target: gradNormTargets(w, g, L.data, this.initial, this.alpha) };
    return value;
  }

  /** The concatenated current gradients of the shared layer (zeros where none yet). */
  private sharedGrads(): Float64Array {
    let n = 0;
    for (const p of this.shared) n += p.size;
    const out = new Float64Array(n);
    let o = 0;
    for (const p of this.shared) {
      if (p.grad !== null) out.set(p.grad.data, o);
      o += p.size;
    }
    return out;
  }

  afterStep(): void {
    if (this.pending === null) return;
    const { g, target } = this.pending;
    this.pending = null;
    this.optimizer.zeroGrad();
    const lg = gradNormLoss(this.weights, tensor(Array.from(g)), tensor(Array.from(target)));
    this.lossGradSum += lg.item();
    this.lossGradSteps++;
    lg.backward();
    this.optimizer.step();
    // Renormalise so Σ w = T (the paper's last line of Algorithm 1).
    noGrad(() => {
      const d = this.weights.data;
      let s = 0;
      for (let i = 0; i < d.length; i++) { d[i] = Math.max(d[i], MIN_WEIGHT); s += d[i]; }
      for (let i = 0; i < d.length; i++) d[i] *= this.T / s;
    });
  }

  log(logs: Record<string, number>): void {
    this.model.taskNames.forEach((name, j) => { logs[`${name}_weight`] = this.weights.data[j]; });
    if (this.lossGradSteps > 0) logs.gradnorm_loss = this.lossGradSum / this.lossGradSteps;
    this.lossGradSum = 0;
    this.lossGradSteps = 0;
  }

  getState(): WeightingState {
    return {
      method: 'gradnorm', values: Array.from(this.weights.data), optimizer: this.optimizer.stateDict(),
      initial: Array.from(this.initial), lossGradSum: this.lossGradSum, lossGradSteps: this.lossGradSteps,
    };
  }

  setState(state: unknown): void {
    const s = weightingState('gradnorm', this.T, state);
    if (!Array.isArray(s.initial) || s.initial.length !== this.T || typeof s.lossGradSum !== 'number' || typeof s.lossGradSteps !== 'number') {
      throw new Error('taskWeighting: the checkpoint\'s gradnorm state lacks initial losses or running sums');
    }
    this.optimizer.loadStateDict(s.optimizer);
    this.weights.data.set(s.values);
    this.initial.set(s.initial);
    this.lossGradSum = s.lossGradSum;
    this.lossGradSteps = s.lossGradSteps;
  }
}

function oneHot(T: number, i: number, v: number, like: Tensor): Tensor {
  const a = like.dtype === 'float64' ? new Float64Array(T) : new Float32Array(T);
  a[i] = v;
  return new Tensor(a, [T]);
}

/** GradNorm's default W for the built-in models, from DeepCTR-Torch's parameter names. */
function defaultSharedParameters(model: MultiTaskModel): Tensor[] {
  const last = new Map<string, { k: number; p: Tensor }>();
  for (const [name, p] of model.namedParameters()) {
    const m = /^(expert_dnn\.\d+|bottom_dnn)\.linears\.(\d+)\.weight$/.exec(name);
    if (m === null) continue;
    const k = Number(m[2]);
    const cur = last.get(m[1]);
    if (cur === undefined || k > cur.k) last.set(m[1], { k, p });
  }
  return [...last.values()].map((v) => v.p);
}

function resolveShared(fn: string, model: MultiTaskModel, given: GradNormOptions['sharedParameters']): Tensor[] {
  if (given === undefined) {
    const found = defaultSharedParameters(model);
    if (found.length === 0) {
      throw new Error(`${fn}: taskWeighting 'gradnorm' needs the last shared layer's weights; give taskWeighting.sharedParameters (tensors or parameter names) for this model (${moduleTypeName(model as object)})`);
    }
    return found;
  }
  if (!Array.isArray(given) || given.length === 0) throw new TypeError(`${fn}: taskWeighting.sharedParameters must be a non-empty array of tensors or parameter names`);
  const named = new Map(model.namedParameters());
  const own = new Set(named.values());
  return (given as Array<Tensor | string>).map((x) => {
    if (typeof x === 'string') {
      const p = named.get(x);
      if (p === undefined) throw new RangeError(`${fn}: taskWeighting.sharedParameters names '${x}', which is not a parameter of the model`);
      return p;
    }
    if (!(x instanceof Tensor) || !own.has(x)) throw new TypeError(`${fn}: taskWeighting.sharedParameters must be the model's own parameters (or their names)`);
    return x;
  });
}

/** The scheme `option` asks for; fixed weights when it is undefined. */
export function resolveTaskWeighting(
  fn: string, option: TaskWeightingOption | undefined, model: MultiTaskModel, fixed: readonly number[],
  lossWeightsGiven: boolean, fitLr: number | undefined,
): TaskWeighting {
  if (option === undefined) return new FixedWeighting(model.taskTypes, fixed, outputWidths(model));
  const o = (typeof option === 'string' ? { method: option } : option) as Omit<Partial<GradNormOptions>, 'method'> & { method?: string };
  if (o === null || typeof o !== 'object') throw new TypeError(`${fn}: taskWeighting must be 'uncertainty', 'gradnorm' or { method, ... }`);
  if (lossWeightsGiven) throw new Error(`${fn}: give lossWeights (fixed) or taskWeighting (learned), not both`);
  const lr = o.lr ?? fitLr ?? 1e-3;
  if (!(typeof lr === 'number' && lr > 0 && Number.isFinite(lr))) throw new RangeError(`${fn}: taskWeighting.lr must be a positive number, got ${String(lr)}`);
  if (o.method === 'uncertainty') {
    checkOptions(`${fn}: taskWeighting`, o, ['method', 'lr']);
    return new UncertaintyWeighting(model, lr);
  }
  if (o.method === 'gradnorm') {
    checkOptions(`${fn}: taskWeighting`, o, ['method', 'alpha', 'lr', 'sharedParameters']);
    const alpha = o.alpha ?? 1.5;
    if (!(typeof alpha === 'number' && alpha >= 0 && Number.isFinite(alpha))) throw new RangeError(`${fn}: taskWeighting.alpha must be a number >= 0, got ${String(alpha)}`);
    if (model.taskNames.length < 2) throw new Error(`${fn}: GradNorm balances two or more tasks; this model has ${model.taskNames.length}`);
    return new GradNormWeighting(model, resolveShared(fn, model, o.sharedParameters), alpha, lr);
  }
  throw new RangeError(`${fn}: taskWeighting.method must be 'uncertainty' or 'gradnorm', got ${String(o.method)}`);
}
