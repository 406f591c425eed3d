import { Tensor, concat } from '../autograd/index.js';
import type { DNN } from '../nn/dnn.js';
import type { Linear } from '../nn/linear.js';
import { MultiTaskBase, checkUnits, type CommonModelOptions, type OptionKeys } from './base.js';
import { PredictionLayer } from './prediction.js';
import type { ModelInput, TaskType } from './types.js';

export interface ESMMOptions extends Omit<CommonModelOptions, 'taskTypes'> {
  /** Hidden units of the CTR and CVR towers (non-empty; default [256, 128], DeepCTR-Torch's). */
  towerHiddenUnits?: readonly number[];
  /** Must be ['binary', 'binary'] when given (CTR and CTCVR); default that. */
  taskTypes?: readonly TaskType[];
}

const KEYS: OptionKeys<Omit<ESMMOptions, keyof CommonModelOptions>> = { towerHiddenUnits: true };

/**
 * Entire Space Multi-task Model (Ma et al., SIGIR 2018), as DeepCTR-Torch's ESMM: a CTR tower
 * (`ctr_dnn`, `ctr_dnn_final_layer`) and a CVR tower (`cvr_dnn`, `cvr_dnn_final_layer`) on the
 * same input, one shared bias (`out.bias`, DeepCTR-Torch's single PredictionLayer used for both);
 * the outputs are pCTR = σ(a) and pCTCVR = σ(a)·σ(c), a and c the towers' logits plus the bias.
 * Both tasks train on the entire impression space: the CVR tower learns only through pCTCVR.
 * `logits` returns [a, logit(σ(a)·σ(c))], the second as −logsumexp(−a, −c, −a−c), so that the
 * trainer's BCE-with-logits stays stable when either probability saturates.
 */
export class ESMM extends MultiTaskBase {
  static override readonly typeName: string = 'ESMM';
  readonly towerHiddenUnits: readonly number[];
  readonly ctr_dnn: DNN; // eslint-disable-line @typescript-eslint/naming-convention
  readonly cvr_dnn: DNN; // eslint-disable-line @typescript-eslint/naming-convention
  readonly ctr_dnn_final_layer: Linear; // eslint-disable-line @typescript-eslint/naming-convention
  readonly cvr_dnn_final_layer: Linear; // eslint-disable-line @typescript-eslint/naming-convention
  readonly out: PredictionLayer;

  constructor(opts: ESMMOptions = {}) {
    const types = opts?.taskTypes ?? ['binary', 'binary'];
    if (!Array.isArray(types) || types.length !== 2 || types.some((t) => t !== 'binary')) {
      // pCTCVR = pCTR · pCVR is a product of two click/conversion probabilities; a class distribution has no such chain.
      throw new Error(`ESMM: taskTypes must be ['binary', 'binary'] (CTR, then CTCVR; multiclass and regression tasks have no CTR × CVR chain), got ${JSON.stringify(types)}`);
    }
    super('ESMM', { ...opts, taskNames: opts.taskNames ?? ['ctr', 'ctcvr'], taskTypes: types }, KEYS);
    const U = this.towerHiddenUnits = checkUnits('ESMM', 'towerHiddenUnits', opts.towerHiddenUnits ?? [256, 128], false);
    const H = U[U.length - 1];
    this.ctr_dnn = this.registerModule('ctr_dnn', this.makeDnn(this.inputDim, U));
    this.cvr_dnn = this.registerModule('cvr_dnn', this.makeDnn(this.inputDim, U));
    this.ctr_dnn_final_layer = this.registerModule('ctr_dnn_final_layer', this.makeLinear(H, 1));
    this.cvr_dnn_final_layer = this.registerModule('cvr_dnn_final_layer', this.makeLinear(H, 1));
    this.out = this.registerModule('out', new PredictionLayer(['binary']));
  }

  /** The CTR and CVR logits a and c, each [B, 1], bias included. */
  private towerLogits(x: ModelInput): { ctr: Tensor; cvr: Tensor } {
    const h = this.input(x);
    return {
      ctr: this.out.forward(this.ctr_dnn_final_layer.forward(this.ctr_dnn.forward(h))),
      cvr: this.out.forward(this.cvr_dnn_final_layer.forward(this.cvr_dnn.forward(h))),
    };
  }

  /** pCVR = σ(c) [B, 1], the conversion rate given a click, which is not one of the trained outputs. */
  cvr(x: ModelInput): Tensor {
    return this.towerLogits(x).cvr.sigmoid();
  }

  logits(x: ModelInput): Tensor {
    const { ctr: a, cvr: c } = this.towerLogits(x);
    // logit(σ(a)σ(c)) = −log(e^−a + e^−c + e^−a−c); logsumexp(z) = z₀ − logSoftmax(z)₀.
    const z = concat([a.neg(), c.neg(), a.add(c).neg()], 1);
    const ctcvr = z.logSoftmax(1).narrow(1, 0, 1).sub(z.narrow(1, 0, 1));
    return concat([a, ctcvr], 1);
  }
}
