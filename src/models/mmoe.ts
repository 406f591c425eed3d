import { Tensor, matmul, stack } from '../autograd/index.js';
import { ModuleList } from '../nn/module.js';
import type { DNN } from '../nn/dnn.js';
import { concatLinears, forwardStacked } from '../nn/dnn-stack.js';
import type { Linear } from '../nn/linear.js';
import { MultiTaskBase, checkUnits, type CommonModelOptions, type OptionKeys } from './base.js';
import { joinTaskLogits, type PredictionLayer } from './prediction.js';
import type { ModelInput } from './types.js';
import { checkIntAtLeast } from '../validation/values.js';

export interface MixtureOfExpertsOptions extends CommonModelOptions {
  /** Number of shared experts E (≥ 1). */
  numExperts: number;
  /** Hidden units of each expert DNN (non-empty); the last is the expert output width H. */
  expertHiddenUnits: readonly number[];
  /** Hidden units of the gate DNN before its final softmax layer; empty (default) for a linear gate. */
  gateHiddenUnits?: readonly number[];
  /** Hidden units of each task tower before its final Linear(…→1); empty (default) for none. */
  towerHiddenUnits?: readonly number[];
}

const MIXTURE_KEYS: OptionKeys<Omit<MixtureOfExpertsOptions, keyof CommonModelOptions>> = {
  numExperts: true, expertHiddenUnits: true, gateHiddenUnits: true, towerHiddenUnits: true,
};

/**
 * Shared experts mixed by softmax gates, then a tower per task: the body of MMoE (one gate per
 * task) and OMoE (one gate for all). Module names follow DeepCTR-Torch's MMOE: `expert_dnn`,
 * `gate_dnn`, `gate_dnn_final_layer` (Linear without bias), `tower_dnn`, `tower_dnn_final_layer`
 * (Linear without bias), `out` (a bias per task).
 */
export abstract class MixtureOfExpertsBase extends MultiTaskBase {
  readonly numExperts: number;
  readonly numGates: number;
  readonly expertHiddenUnits: readonly number[];
  readonly gateHiddenUnits: readonly number[];
  readonly towerHiddenUnits: readonly number[];
  readonly expert_dnn: ModuleList<DNN>;
  readonly gate_dnn: ModuleList<DNN> | null;
  readonly gate_dnn_final_layer: ModuleList<Linear>;
  readonly tower_dnn: ModuleList<DNN> | null;
  readonly tower_dnn_final_layer: ModuleList<Linear>;
  readonly out: ModuleList<PredictionLayer>;

  protected constructor(modelName: string, o: MixtureOfExpertsOptions, numGates: 'perTask' | 'one') {
    super(modelName, o, MIXTURE_KEYS);
    this.numExperts = checkIntAtLeast(modelName, 'numExperts', o.numExperts, 1);
    this.expertHiddenUnits = checkUnits(modelName, 'expertHiddenUnits', o.expertHiddenUnits, false);
    this.gateHiddenUnits = checkUnits(modelName, 'gateHiddenUnits', o.gateHiddenUnits ?? [], true);
    this.towerHiddenUnits = checkUnits(modelName, 'towerHiddenUnits', o.towerHiddenUnits ?? [], true);
    this.numGates = numGates === 'perTask' ? this.numTasks : 1;
    const F = this.inputDim;
    const H = this.expertHiddenUnits[this.expertHiddenUnits.length - 1];
    const G = this.gateHiddenUnits;
    const Tw = this.towerHiddenUnits;

    // Each expert forks its own init stream, so no two experts start alike.
    this.expert_dnn = this.registerModule('expert_dnn', new ModuleList(
      Array.from({ length: this.numExperts }, () => this.makeDnn(F, this.expertHiddenUnits)),
    ));
    this.gate_dnn = G.length
      ? this.registerModule('gate_dnn', new ModuleList(Array.from({ length: this.numGates }, () => this.makeDnn(F, G))))
      : null;
    this.gate_dnn_final_layer = this.registerModule('gate_dnn_final_layer', new ModuleList(
      Array.from({ length: this.numGates }, () => this.makeLinear(G.length ? G[G.length - 1] : F, this.numExperts)),
    ));
    this.tower_dnn = Tw.length
      ? this.registerModule('tower_dnn', new ModuleList(Array.from({ length: this.numTasks }, () => this.makeDnn(H, Tw))))
      : null;
    this.tower_dnn_final_layer = this.registerModule('tower_dnn_final_layer', new ModuleList(
      Array.from({ length: this.numTasks }, (_, t) => this.makeLinear(Tw.length ? Tw[Tw.length - 1] : H, this.taskWidth(t))),
    ));
    this.out = this.registerModule('out', this.perTaskOut());
  }

  /** Softmax weights over the experts, [B, numGates, E]. */
  private gates(h: Tensor): Tensor {
    const gateDnn = this.gate_dnn;
    if (!gateDnn) {
      // Linear gates all read h: one product for every gate, one softmax over [B, G, E].
      const z = concatLinears(h, [...this.gate_dnn_final_layer]);
      return z.reshape([h.shape[0], this.numGates, this.numExperts]).softmax(-1);
    }
    const per = this.gate_dnn_final_layer.map((final, g) => final.forward(gateDnn.get(g).forward(h)).softmax(-1));
    return stack(per, 1);
  }

  /**
   * The gate weights [B, T, E]: row (b, t) is the softmax distribution task t puts over the
   * experts for sample b (for OMoE the one gate, repeated per task).
   */
  gateWeights(x: ModelInput): Tensor {
    const g = this.gates(this.input(x));
    return this.numGates === this.numTasks ? g : g.expand([g.shape[0], this.numTasks, this.numExperts]);
  }

  logits(x: ModelInput): Tensor {
    const h = this.input(x);
    const B = h.shape[0];
    const experts = forwardStacked([...this.expert_dnn], h); // [B, E, H], first layers as one product
    // One batched product mixes the experts for every gate at once: [B, G, E]·[B, E, H] → [B, G, H].
    const mixed = matmul(this.gates(h), experts);
    const H = mixed.shape[2];
    const perTask = this.tower_dnn_final_layer.map((final, t) => {
      const gi = this.numGates === 1 ? 0 : t;
      let z = mixed.narrow(1, gi, 1).reshape([B, H]);
      if (this.tower_dnn) z = this.tower_dnn.get(t).forward(z);
      return final.forward(z);
    });
    return joinTaskLogits(perTask, this.out);
  }
}

export type MMoEOptions = MixtureOfExpertsOptions;

/**
 * Multi-gate Mixture-of-Experts (Ma et al., KDD 2018): shared expert DNNs, one softmax gate per
 * task over the experts, a tower per task. `gateWeights(x)` shows which experts each task uses.
 */
export class MMoE extends MixtureOfExpertsBase {
  static override readonly typeName: string = 'MMoE';
  constructor(opts: MMoEOptions) {
    super('MMoE', opts, 'perTask');
  }
}
