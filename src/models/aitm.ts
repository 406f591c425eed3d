import { Tensor, concat, softmax } from '../autograd/index.js';
import { Module, ModuleList } from '../nn/module.js';
import type { DNN } from '../nn/dnn.js';
import { Linear } from '../nn/linear.js';
import type { Generator } from '../tensor/index.js';
import { MultiTaskBase, checkUnits, type CommonModelOptions, type OptionKeys } from './base.js';
import type { PredictionLayer } from './prediction.js';
import type { ModelInput, TaskType } from './types.js';

export interface AITMOptions extends Omit<CommonModelOptions, 'taskTypes'> {
  /** Hidden units of each task's tower (non-empty; default [128, 64, 32], the paper's). The last is the width H. */
  towerHiddenUnits?: readonly number[];
  /** Weight α of the behavioural expectation calibrator (default 0.6, the authors' constraint_weight). */
  calibrationWeight?: number;
  /** The steps of the funnel in order, all 'binary' (default ['binary', 'binary']: click, conversion). */
  taskTypes?: readonly TaskType[];
}

const KEYS: OptionKeys<Omit<AITMOptions, keyof CommonModelOptions>> = { towerHiddenUnits: true, calibrationWeight: true };

/**
 * The attention of AIT: over the two vectors u ∈ {p, q} (each [B, H]), weights
 * softmax_u(⟨Qu, Ku⟩ / √H) and output Σ_u w_u · Vu, with Q, K, V linear maps without bias
 * (`q_layer`, `k_layer`, `v_layer`, the authors' names).
 */
export class AITAttention extends Module {
  static override readonly typeName: string = 'AITAttention';
  readonly q_layer: Linear; // eslint-disable-line @typescript-eslint/naming-convention
  readonly k_layer: Linear; // eslint-disable-line @typescript-eslint/naming-convention
  readonly v_layer: Linear; // eslint-disable-line @typescript-eslint/naming-convention
  private readonly scale: number;

  constructor(dim: number, generator?: Generator) {
    super();
    this.q_layer = this.registerModule('q_layer', new Linear(dim, dim, { bias: false, generator }));
    this.k_layer = this.registerModule('k_layer', new Linear(dim, dim, { bias: false, generator }));
    this.v_layer = this.registerModule('v_layer', new Linear(dim, dim, { bias: false, generator }));
    this.scale = 1 / Math.sqrt(dim);
  }

  /** The attended vector [B, H] of q (this task's tower) and p (what the previous task transfers). */
  forward(q: Tensor, p: Tensor): Tensor {
    const score = (u: Tensor): Tensor => this.q_layer.forward(u).mul(this.k_layer.forward(u)).sum(1, true).mul(this.scale);
    const w = softmax(concat([score(q), score(p)], 1), 1);
    return this.v_layer.forward(q).mul(w.narrow(1, 0, 1)).add(this.v_layer.forward(p).mul(w.narrow(1, 1, 1)));
  }
}

/**
 * AITM (Xi et al., "Modeling the Sequential Dependence among Audience Multi-step Conversions with
 * Multi-task Learning in Targeted Display Advertising", KDD 2021): tasks are the steps of a
 * funnel (impression → click → conversion …). Each task t has a tower `tower_dnn.t` giving
 * q_t [B, H]. The Adaptive Information Transfer module passes what task t − 1 learned to task t:
 * p_{t−1} = `info_dnn.(t−1)`(z_{t−1}) (one Linear + activation + dropout), then
 * z_t = `attention.(t−1)`(q_t, p_{t−1}) (AITAttention); z_0 = q_0. The logit of task t is
 * `tower_dnn_final_layer.t`(z_t) + `out.t.bias`. With two tasks this is the authors' model.
 *
 * The behavioural expectation calibrator — a later step cannot be likelier than an earlier one —
 * is `calibrationLoss`, α · mean over rows of Σ_{t≥1} max(ŷ_t − ŷ_{t−1}, 0), which fit adds to the
 * loss through `auxiliaryLoss`. (The authors' code sums over the batch; mean keeps α independent
 * of the batch size: their α with batch B is α·B here.)
 */
export class AITM extends MultiTaskBase {
  static override readonly typeName: string = 'AITM';
  readonly towerHiddenUnits: readonly number[];
  readonly calibrationWeight: number;
  readonly tower_dnn: ModuleList<DNN>; // eslint-disable-line @typescript-eslint/naming-convention
  readonly info_dnn: ModuleList<DNN>; // eslint-disable-line @typescript-eslint/naming-convention
  readonly attention: ModuleList<AITAttention>;
  readonly tower_dnn_final_layer: ModuleList<Linear>; // eslint-disable-line @typescript-eslint/naming-convention
  readonly out: ModuleList<PredictionLayer>;

  constructor(opts: AITMOptions = {}) {
    const types = opts?.taskTypes ?? ['binary', 'binary'];
    if (!Array.isArray(types) || types.length < 2 || types.some((t) => t !== 'binary')) {
      throw new Error(`AITM: taskTypes must list at least two 'binary' steps of the funnel, got ${JSON.stringify(types)}`);
    }
    const names = opts.taskNames ?? (types.length === 2 ? ['click', 'conversion'] : undefined);
    super('AITM', { ...opts, taskTypes: types, taskNames: names }, KEYS);
    const U = this.towerHiddenUnits = checkUnits('AITM', 'towerHiddenUnits', opts.towerHiddenUnits ?? [128, 64, 32], false);
    const alpha = opts.calibrationWeight ?? 0.6;
    if (typeof alpha !== 'number' || !Number.isFinite(alpha) || alpha < 0) {
      throw new RangeError(`AITM: calibrationWeight must be a finite number ≥ 0, got ${String(opts.calibrationWeight)}`);
    }
    this.calibrationWeight = alpha;
    const H = U[U.length - 1];
    const T = this.numTasks;
    this.tower_dnn = this.registerModule('tower_dnn', new ModuleList(Array.from({ length: T }, () => this.makeDnn(this.inputDim, U))));
    this.info_dnn = this.registerModule('info_dnn', new ModuleList(Array.from({ length: T - 1 }, () => this.makeDnn(H, [H]))));
    this.attention = this.registerModule('attention', new ModuleList(Array.from({ length: T - 1 }, () => {
      const a = new AITAttention(H, this.generator.fork());
      this.addL2([a.q_layer.weight, a.k_layer.weight, a.v_layer.weight], this.opts.l2RegDnn, 'l2RegDnn');
      return a;
    })));
    this.tower_dnn_final_layer = this.registerModule('tower_dnn_final_layer', new ModuleList(Array.from({ length: T }, () => this.makeLinear(H, 1))));
    this.out = this.registerModule('out', this.perTaskOut());
  }

  logits(x: ModelInput): Tensor {
    const h = this.input(x);
    const parts: Tensor[] = [];
    let z: Tensor | null = null;
    for (let t = 0; t < this.numTasks; t++) {
      const q = this.tower_dnn.get(t).forward(h);
      z = z === null ? q : this.attention.get(t - 1).forward(q, this.info_dnn.get(t - 1).forward(z));
      parts.push(this.out.get(t).forward(this.tower_dnn_final_layer.get(t).forward(z)));
    }
    return concat(parts, 1);
  }

  /** α · mean_b Σ_{t≥1} max(σ(l_t) − σ(l_{t−1}), 0) for logits [B, T] (a scalar; 0 for α = 0). */
  calibrationLoss(logits: Tensor): Tensor {
    const T = this.numTasks;
    const p = logits.sigmoid();
    const gap = p.narrow(1, 1, T - 1).sub(p.narrow(1, 0, T - 1)).relu();
    return gap.sum().mul(this.calibrationWeight / logits.shape[0]);
  }

  /** The calibrator, which fit adds to the task losses (null when α = 0). */
  auxiliaryLoss(logits: Tensor): Tensor | null {
    return this.calibrationWeight === 0 ? null : this.calibrationLoss(logits);
  }
}
