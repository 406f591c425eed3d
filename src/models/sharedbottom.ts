import type { Tensor } from '../autograd/index.js';
import { ModuleList } from '../nn/module.js';
import type { DNN } from '../nn/dnn.js';
import type { Linear } from '../nn/linear.js';
import { MultiTaskBase, checkUnits, type CommonModelOptions, type OptionKeys } from './base.js';
import { joinTaskLogits, type PredictionLayer } from './prediction.js';
import type { ModelInput } from './types.js';

export interface SharedBottomOptions extends CommonModelOptions {
  /** Hidden units of the shared bottom DNN (non-empty). */
  bottomHiddenUnits: readonly number[];
  /** Hidden units of each task tower before its final Linear(…→1); empty (default) for none. */
  towerHiddenUnits?: readonly number[];
}

const KEYS: OptionKeys<Omit<SharedBottomOptions, keyof CommonModelOptions>> = { bottomHiddenUnits: true, towerHiddenUnits: true };

/**
 * The Shared-Bottom baseline: one DNN shared by all tasks, then a tower per task. Names follow
 * DeepCTR-Torch's SharedBottom (`bottom_dnn`, `tower_dnn`), except that each tower's last layer
 * is its own `tower_dnn_final_layer` (a Linear without bias, as in MMoE) plus `out.<t>.bias`,
 * where DeepCTR folds it into the tower DNN; the function computed is the same.
 */
export class SharedBottom extends MultiTaskBase {
  static override readonly typeName: string = 'SharedBottom';
  readonly bottomHiddenUnits: readonly number[];
  readonly towerHiddenUnits: readonly number[];
  readonly bottom_dnn: DNN;
  readonly tower_dnn: ModuleList<DNN> | null;
  readonly tower_dnn_final_layer: ModuleList<Linear>;
  readonly out: ModuleList<PredictionLayer>;

  constructor(opts: SharedBottomOptions) {
    super('SharedBottom', opts, KEYS);
    this.bottomHiddenUnits = checkUnits('SharedBottom', 'bottomHiddenUnits', opts.bottomHiddenUnits, false);
    this.towerHiddenUnits = checkUnits('SharedBottom', 'towerHiddenUnits', opts.towerHiddenUnits ?? [], true);
    const Hb = this.bottomHiddenUnits[this.bottomHiddenUnits.length - 1];
    const Tw = this.towerHiddenUnits;
    this.bottom_dnn = this.registerModule('bottom_dnn', this.makeDnn(this.inputDim, this.bottomHiddenUnits));
    this.tower_dnn = Tw.length
      ? this.registerModule('tower_dnn', new ModuleList(Array.from({ length: this.numTasks }, () => this.makeDnn(Hb, Tw))))
      : null;
    this.tower_dnn_final_layer = this.registerModule('tower_dnn_final_layer', new ModuleList(
      Array.from({ length: this.numTasks }, (_, t) => this.makeLinear(Tw.length ? Tw[Tw.length - 1] : Hb, this.taskWidth(t))),
    ));
    this.out = this.registerModule('out', this.perTaskOut());
  }

  logits(x: ModelInput): Tensor {
    const shared = this.bottom_dnn.forward(this.input(x));
    const perTask = this.tower_dnn_final_layer.map((final, t) => final.forward(this.tower_dnn ? this.tower_dnn.get(t).forward(shared) : shared));
    return joinTaskLogits(perTask, this.out);
  }
}
