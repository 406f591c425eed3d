import { Tensor, concat, matmul, stack } from '../autograd/index.js';
import { Module, ModuleList } from '../nn/module.js';
import type { DNN } from '../nn/dnn.js';
import { forwardStacked } from '../nn/dnn-stack.js';
import type { Linear } from '../nn/linear.js';
import { MultiTaskBase, checkUnits, type CommonModelOptions, type OptionKeys } from './base.js';
import { joinTaskLogits, type PredictionLayer } from './prediction.js';
import type { ModelInput } from './types.js';
import { checkIntAtLeast } from '../validation/values.js';

export interface PLEOptions extends CommonModelOptions {
  /** Task-shared experts per level (≥ 0; default 1). */
  sharedExpertNum?: number;
  /** Task-specific experts per task and level (≥ 0; default 1), independent of sharedExpertNum. */
  specificExpertNum?: number;
  /** Number of CGC levels (≥ 1; default 2). */
  numLevels?: number;
  /** Hidden units of every expert DNN (non-empty); the last is the expert width H. */
  expertHiddenUnits: readonly number[];
  /** Hidden units of each gate DNN before its final softmax layer; empty (default) for linear gates. */
  gateHiddenUnits?: readonly number[];
  /** Hidden units of each task tower before its final Linear(…→1); empty (default) for none. */
  towerHiddenUnits?: readonly number[];
}

const KEYS: OptionKeys<Omit<PLEOptions, keyof CommonModelOptions>> = {
  sharedExpertNum: true, specificExpertNum: true, numLevels: true, expertHiddenUnits: true, gateHiddenUnits: true, towerHiddenUnits: true,
};

type Nested<M extends DNN | Linear> = ModuleList<ModuleList<M>>;

/**
 * Progressive Layered Extraction (Tang et al., RecSys 2020): `numLevels` Customized Gate Control
 * layers. In each, task t mixes its own `specificExpertNum` experts with the `sharedExpertNum`
 * shared ones through its softmax gate; below the last level a shared gate also mixes all experts
 * into the input of the next level's shared experts. Names follow DeepCTR-Torch's PLE
 * (`specific_experts.<level>.<task>.<j>`, `shared_experts.<level>.<k>`, `specific_gate_dnn`,
 * `specific_gate_dnn_final_layer`, `shared_gate_dnn`, `shared_gate_dnn_final_layer`, `tower_dnn`,
 * `tower_dnn_final_layer`, `out`). Three differences, all fixes: the last level has no shared
 * gate (DeepCTR-Torch builds and runs one whose output it never uses), shared experts and task
 * gate DNNs are not wrapped in an extra one-element ModuleList, and sharedExpertNum experts are
 * built (DeepCTR-Torch builds specificExpertNum). `toDeepCTRTorch` / `fromDeepCTRTorch` convert.
 */
export class PLE extends MultiTaskBase {
  static override readonly typeName: string = 'PLE';
  readonly sharedExpertNum: number;
  readonly specificExpertNum: number;
  readonly numLevels: number;
  readonly expertHiddenUnits: readonly number[];
  readonly gateHiddenUnits: readonly number[];
  readonly towerHiddenUnits: readonly number[];
  readonly specific_experts: ModuleList<Nested<DNN>>;
  readonly shared_experts: Nested<DNN>;
  readonly specific_gate_dnn: Nested<DNN> | null;
  readonly specific_gate_dnn_final_layer: Nested<Linear>;
  readonly shared_gate_dnn: ModuleList<DNN> | null;
  readonly shared_gate_dnn_final_layer: ModuleList<Linear>;
  readonly tower_dnn: ModuleList<DNN> | null;
  readonly tower_dnn_final_layer: ModuleList<Linear>;
  readonly out: ModuleList<PredictionLayer>;

  constructor(opts: PLEOptions) {
    super('PLE', opts, KEYS);
    const K = this.sharedExpertNum = checkIntAtLeast('PLE', 'sharedExpertNum', opts.sharedExpertNum ?? 1, 0);
    const S = this.specificExpertNum = checkIntAtLeast('PLE', 'specificExpertNum', opts.specificExpertNum ?? 1, 0);
    if (S + K === 0) throw new RangeError('PLE: sharedExpertNum + specificExpertNum must be ≥ 1, got 0 + 0 (each task gate needs an expert)');
    const L = this.numLevels = checkIntAtLeast('PLE', 'numLevels', opts.numLevels ?? 2, 1);
    this.expertHiddenUnits = checkUnits('PLE', 'expertHiddenUnits', opts.expertHiddenUnits, false);
    const G = this.gateHiddenUnits = checkUnits('PLE', 'gateHiddenUnits', opts.gateHiddenUnits ?? [], true);
    const Tw = this.towerHiddenUnits = checkUnits('PLE', 'towerHiddenUnits', opts.towerHiddenUnits ?? [], true);
    const T = this.numTasks;
    const H = this.expertHiddenUnits[this.expertHiddenUnits.length - 1];
    const inDim = (level: number): number => (level === 0 ? this.inputDim : H);
    const gateIn = (level: number): number => (G.length ? G[G.length - 1] : inDim(level));
    const times = <M>(n: number, f: (i: number) => M): M[] => Array.from({ length: n }, (_, i) => f(i));
    const list = <M extends Module>(items: M[]): ModuleList<M> => new ModuleList<M>(items);

    this.specific_experts = this.registerModule('specific_experts',
      list(times(L, (l) => list(times(T, () => list(times(S, () => this.makeDnn(inDim(l), this.expertHiddenUnits))))))));
    this.shared_experts = this.registerModule('shared_experts',
      list(times(L, (l) => list(times(K, () => this.makeDnn(inDim(l), this.expertHiddenUnits))))));
    this.specific_gate_dnn = G.length
      ? this.registerModule('specific_gate_dnn', list(times(L, (l) => list(times(T, () => this.makeDnn(inDim(l), G))))))
      : null;
    this.specific_gate_dnn_final_layer = this.registerModule('specific_gate_dnn_final_layer',
      list(times(L, (l) => list(times(T, () => this.makeLinear(gateIn(l), S + K))))));
    this.shared_gate_dnn = G.length
      ? this.registerModule('shared_gate_dnn', list(times(L - 1, (l) => this.makeDnn(inDim(l), G))))
      : null;
    this.shared_gate_dnn_final_layer = this.registerModule('shared_gate_dnn_final_layer',
      list(times(L - 1, (l) => this.makeLinear(gateIn(l), T * S + K))));
    this.tower_dnn = Tw.length
      ? this.registerModule('tower_dnn', list(times(T, () => this.makeDnn(H, Tw))))
      : null;
    this.tower_dnn_final_layer = this.registerModule('tower_dnn_final_layer',
      list(times(T, (t) => this.makeLinear(Tw.length ? Tw[Tw.length - 1] : H, this.taskWidth(t)))));
    this.out = this.registerModule('out', this.perTaskOut());
  }

  /** Softmax gate weights [B, E] from a gate's optional DNN and its final layer. */
  private gate(dnn: DNN | null, final: Linear, x: Tensor): Tensor {
    return final.forward(dnn ? dnn.forward(x) : x).softmax(-1);
  }

  /** [B, E]·[B, E, H] → [B, H]: one batched product per gate. */
  private mix(gate: Tensor, experts: Tensor): Tensor {
    const [B, E, H] = experts.shape;
    return matmul(gate.reshape([B, 1, E]), experts).reshape([B, H]);
  }

  /**
   * Every expert of a level, [B, T·S + K, H]: task 0's S specific experts, …, task T−1's, then
   * the K shared ones. Experts reading the same input (all of them at level 0) run as one
   * forwardStacked group, so their first layers are one product.
   */
  private allExperts(inputs: Tensor[], level: number): Tensor {
    const T = this.numTasks;
    const groups: Array<{ input: Tensor; dnns: DNN[] }> = [];
    const add = (input: Tensor, dnns: DNN[]): void => {
      if (dnns.length === 0) return;
      const last = groups[groups.length - 1];
      if (last && last.input === input) last.dnns.push(...dnns);
      else groups.push({ input, dnns: [...dnns] });
    };
    this.specific_experts.get(level).map((experts, t) => add(inputs[t], [...experts]));
    add(inputs[T], [...this.shared_experts.get(level)]);
    const parts = groups.map((g) => forwardStacked(g.dnns, g.input));
    return parts.length === 1 ? parts[0] : concat(parts, 1);
  }

  /**
   * One CGC level. inputs: one per task, then the shared input; returns the same layout (without
   * the shared entry at the last level) and the task gates [B, T, S + K].
   */
  private cgc(inputs: Tensor[], level: number): { outputs: Tensor[]; taskGates: Tensor } {
    const T = this.numTasks, S = this.specificExpertNum, K = this.sharedExpertNum;
    const experts = this.allExperts(inputs, level);
    const sharedIdx = Array.from({ length: K }, (_, k) => T * S + k);
    const outputs: Tensor[] = [];
    const gates: Tensor[] = [];
    for (let t = 0; t < T; t++) {
      const g = this.gate(this.specific_gate_dnn?.get(level).get(t) ?? null, this.specific_gate_dnn_final_layer.get(level).get(t), inputs[t]);
      gates.push(g);
      // Task t's own experts, then the shared ones.
      const own = Array.from({ length: S }, (_, j) => t * S + j);
      outputs.push(this.mix(g, T === 1 ? experts : experts.indexSelect(1, [...own, ...sharedIdx])));
    }
    if (level < this.numLevels - 1) {
      const g = this.gate(this.shared_gate_dnn?.get(level) ?? null, this.shared_gate_dnn_final_layer.get(level), inputs[T]);
      outputs.push(this.mix(g, experts));
    }
    return { outputs, taskGates: stack(gates, 1) };
  }

  private body(x: ModelInput): { outputs: Tensor[]; taskGates: Tensor } {
    const h = this.input(x);
    let inputs = Array.from({ length: this.numTasks + 1 }, () => h);
    let r = this.cgc(inputs, 0);
    for (let level = 1; level < this.numLevels; level++) {
      inputs = r.outputs;
      r = this.cgc(inputs, level);
    }
    return r;
  }

  /**
   * The last level's task gates [B, T, S + K]: for task t, weights over its own specific experts
   * (first S) and the shared experts (last K).
   */
  gateWeights(x: ModelInput): Tensor {
    return this.body(x).taskGates;
  }

  logits(x: ModelInput): Tensor {
    const { outputs } = this.body(x);
    const perTask = this.tower_dnn_final_layer.map((final, t) => final.forward(this.tower_dnn ? this.tower_dnn.get(t).forward(outputs[t]) : outputs[t]));
    return joinTaskLogits(perTask, this.out);
  }
}
