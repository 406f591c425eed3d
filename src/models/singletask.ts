import type { Tensor } from '../autograd/index.js';
import { ModuleList } from '../nn/module.js';
import type { DNN } from '../nn/dnn.js';
import type { Linear } from '../nn/linear.js';
import { MultiTaskBase, checkUnits, type CommonModelOptions, type OptionKeys } from './base.js';
import { joinTaskLogits, type PredictionLayer } from './prediction.js';
import type { ModelInput } from './types.js';

export interface SingleTaskOptions extends CommonModelOptions {
  /** Hidden units of each task's own DNN; empty (default) makes each task a linear model. */
  hiddenUnits?: readonly number[];
}

const KEYS: OptionKeys<Omit<SingleTaskOptions, keyof CommonModelOptions>> = { hiddenUnits: true };

/**
 * The single-task baseline behind the multi-task interface: an independent network per task
 * (`tower_dnn.<t>` then `tower_dnn_final_layer.<t>` and `out.<t>.bias`), sharing nothing but the
 * input — and, with feature columns, the embedding tables, which every task trains.
 */
export class SingleTask extends MultiTaskBase {
  static override readonly typeName: string = 'SingleTask';
  readonly hiddenUnits: readonly number[];
  readonly tower_dnn: ModuleList<DNN> | null;
  readonly tower_dnn_final_layer: ModuleList<Linear>;
  readonly out: ModuleList<PredictionLayer>;

  constructor(opts: SingleTaskOptions) {
    super('SingleTask', opts, KEYS);
    this.hiddenUnits = checkUnits('SingleTask', 'hiddenUnits', opts.hiddenUnits ?? [], true);
    const U = this.hiddenUnits;
    this.tower_dnn = U.length
      ? this.registerModule('tower_dnn', new ModuleList(Array.from({ length: this.numTasks }, () => this.makeDnn(this.inputDim, U))))
      : null;
    this.tower_dnn_final_layer = this.registerModule('tower_dnn_final_layer', new ModuleList(
      Array.from({ length: this.numTasks }, (_, t) => this.makeLinear(U.length ? U[U.length - 1] : this.inputDim, this.taskWidth(t))),
    ));
    this.out = this.registerModule('out', this.perTaskOut());
  }

  logits(x: ModelInput): Tensor {
    const h = this.input(x);
    const perTask = this.tower_dnn_final_layer.map((final, t) => final.forward(this.tower_dnn ? this.tower_dnn.get(t).forward(h) : h));
    return joinTaskLogits(perTask, this.out);
  }
}
