import { Tensor, concat } from '../autograd/index.js';
import { CrossNet } from '../nn/crossnet.js';
import type { DNN } from '../nn/dnn.js';
import type { Linear } from '../nn/linear.js';
import type { Layer } from '../nn/module.js';
import type { Generator } from '../tensor/index.js';
import { MultiTaskBase, checkUnits, type CommonModelOptions, type OptionKeys } from './base.js';
import { FeatureLinear } from './feature-linear.js';
import { PredictionLayer } from './prediction.js';
import type { ModelInput, TaskType } from './types.js';
import { checkIntAtLeast } from '../validation/values.js';

/** What DCN and DCNMix share: the deep part, the linear part, regularisation and the task list. */
export interface DeepCrossOptions extends Omit<CommonModelOptions, 'taskTypes'> {
  /** Number of cross layers (default 2); 0 leaves only the deep part (DCN only). */
  crossNum?: number;
  /** Hidden units of the deep part (default [128, 128]); empty leaves only the cross part. */
  dnnHiddenUnits?: readonly number[];
  /** L2 strength on the cross weights (default 1e-5, DeepCTR's). */
  l2RegCross?: number;
  /** L2 strength on the final `dnn_linear` weight and on the linear part (default 1e-5, DeepCTR's). */
  l2RegLinear?: number;
  /**
   * The linear part `linear_model` (default true): a weight per sparse id and per dense value,
   * added to the logit, as DeepCTR-Torch's BaseModel with linear_feature_columns = the features.
   * false leaves it out (DeepCTR-Torch's linear_feature_columns = []).
   */
  linear?: boolean;
  /** Default ['binary'], DeepCTR's single task; more tasks share everything but their logit row. */
  taskTypes?: readonly TaskType[];
}

export interface DCNOptions extends DeepCrossOptions {
  /** 'vector' (DCN, default) or 'matrix' (DCN-V2). */
  crossParameterization?: 'vector' | 'matrix';
}

const DEEP_CROSS_KEYS: OptionKeys<Omit<DeepCrossOptions, keyof CommonModelOptions>> = {
  crossNum: true, dnnHiddenUnits: true, l2RegCross: true, l2RegLinear: true, linear: true,
};

/** The cross network a subclass builds, and the weights l2RegCross applies to. */
export interface CrossPart<C extends Layer> {
  net: C;
  regularized: Tensor[];
}

/**
 * Deep & Cross models as DeepCTR-Torch builds them (DCN, DCNMix): the cross network
 * (`crossnet`) and the DNN (`dnn`) run side by side on the input, their outputs are concatenated
 * (cross first) and one Linear without bias (`dnn_linear`) gives the logits, to which the linear
 * part (`linear_model`, see FeatureLinear) and `out.bias` are added. With T tasks, `dnn_linear`
 * has T output rows, the linear part T columns and `out.bias` T entries: a multi-output model
 * (DeepCTR-Torch's has one task); a multiclass task takes K of each (its K logits). Subclasses supply
 * the cross network.
 */
export abstract class DeepCrossBase<C extends Layer> extends MultiTaskBase {
  readonly crossNum: number;
  readonly dnnHiddenUnits: readonly number[];
  readonly dnn: DNN | null;
  readonly dnn_linear: Linear;
  readonly crossnet: C | null;
  readonly linear_model: FeatureLinear | null; // eslint-disable-line @typescript-eslint/naming-convention
  readonly out: PredictionLayer;

  protected constructor(
    name: string, opts: DeepCrossOptions, ownKeys: Readonly<Record<string, true>>, minCross: number,
    makeCross: (inputDim: number, crossNum: number, generator: Generator) => CrossPart<C>,
  ) {
    super(name, { ...opts, taskTypes: opts.taskTypes ?? ['binary'] }, { ...DEEP_CROSS_KEYS, ...ownKeys });
    this.crossNum = checkIntAtLeast(name, 'crossNum', opts.crossNum ?? 2, minCross);
    this.dnnHiddenUnits = checkUnits(name, 'dnnHiddenUnits', opts.dnnHiddenUnits ?? [128, 128], true);
    if (this.crossNum === 0 && this.dnnHiddenUnits.length === 0) {
      throw new Error(`${name}: crossNum is 0 and dnnHiddenUnits is empty; at least one of the cross and deep parts is needed`);
    }
    const F = this.inputDim;
    const U = this.dnnHiddenUnits;
    this.dnn = U.length ? this.registerModule('dnn', this.makeDnn(F, U)) : null;
    const linearIn = (this.crossNum > 0 ? F : 0) + (U.length ? U[U.length - 1] : 0);
    // One output row per output column: a multiclass task takes K of them.
    const W = this.numClasses.reduce((a, k) => a + k, 0);
    this.dnn_linear = this.registerModule('dnn_linear', this.makeLinear(linearIn, W, opts.l2RegLinear ?? 1e-5, 'l2RegLinear'));
    const cross = this.crossNum > 0 ? makeCross(F, this.crossNum, this.generator.fork()) : null;
    this.crossnet = cross ? this.registerModule('crossnet', cross.net) : null;
    if (opts.linear !== undefined && typeof opts.linear !== 'boolean') throw new TypeError(`${name}: linear must be a boolean, got ${JSON.stringify(opts.linear)}`);
    // Created after the other parts so that their initial weights do not depend on it.
    this.linear_model = opts.linear ?? true
      ? this.registerModule('linear_model', new FeatureLinear(this.inputLayer ? this.inputLayer.features : null, F, W, {
        initStd: this.opts.initStd, generator: this.generator.fork(), sparse: this.opts.sparseEmbedding,
      }))
      : null;
    this.out = this.registerModule('out', new PredictionLayer(this.taskTypes, this.numClasses));
    if (cross) this.addL2(cross.regularized, opts.l2RegCross ?? 1e-5, 'l2RegCross');
    if (this.linear_model) this.addL2(this.linear_model.parameters(), opts.l2RegLinear ?? 1e-5, 'l2RegLinear');
  }

  logits(x: ModelInput): Tensor {
    const h = this.input(x);
    const parts: Tensor[] = [];
    if (this.crossnet) parts.push(this.crossnet.forward(h));
    if (this.dnn) parts.push(this.dnn.forward(h));
    const stacked = parts.length === 1 ? parts[0] : concat(parts, 1);
    const deep = this.dnn_linear.forward(stacked);
    return this.out.forward(this.linear_model ? this.linear_model.forward(x, h).add(deep) : deep);
  }
}

/** Deep & Cross Network (Wang et al., ADKDD 2017), as DeepCTR-Torch's DCN (see DeepCrossBase). */
export class DCN extends DeepCrossBase<CrossNet> {
  static override readonly typeName: string = 'DCN';
  readonly crossParameterization: 'vector' | 'matrix';

  constructor(opts: DCNOptions = {}) {
    const param = opts.crossParameterization ?? 'vector';
    if (param !== 'vector' && param !== 'matrix') {
      throw new Error(`DCN: crossParameterization must be 'vector' or 'matrix', got ${JSON.stringify(param)}`);
    }
    super('DCN', opts, { crossParameterization: true }, 0, (F, layerNum, generator) => {
      const net = new CrossNet(F, { layerNum, parameterization: param, generator });
      return { net, regularized: [net.kernels] };
    });
    this.crossParameterization = param;
  }
}
