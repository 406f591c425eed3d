import { Tensor, zeros } from '../autograd/index.js';
import { Generator, formatShape } from '../tensor/index.js';
import { checkOptions, type OptionKeys } from '../validation/options.js';
import { checkIntAtLeast } from '../validation/values.js';

export type { OptionKeys };
import { Module, ModuleList } from '../nn/module.js';
import { DNN } from '../nn/dnn.js';
import { Linear } from '../nn/linear.js';
import { l2Penalty } from '../nn/regularization.js';
import type { ActivationSpec } from '../nn/activation.js';
import { InputLayer, type EmbeddingDict, type FeatureColumn } from './features.js';
import { PredictionLayer, taskOutputs } from './prediction.js';
import type { GatedMultiTaskModel, ModelInput, MultiTaskModel, TaskType } from './types.js';

/**
 * Options every model here shares. Defaults are DeepCTR-Torch's: l2RegEmbedding 1e-5,
 * l2RegDnn 0, initStd 1e-4, seed 1024, dnnDropout 0, dnnActivation 'relu', dnnUseBn false.
 */
export interface CommonModelOptions {
  /** Feature columns; the model then takes a FeatureBatch. Give this or `inputDim`. */
  features?: readonly FeatureColumn[];
  /** Width F of a dense input [B, F]. Give this or `features`. */
  inputDim?: number;
  /** One entry per task: 'binary' (sigmoid output), 'regression' (identity) or 'multiclass' (softmax over numClasses). */
  taskTypes: readonly TaskType[];
  /**
   * The number of classes K ≥ 2 of each multiclass task: by task name (`{ genre: 5 }`), or one
   * entry per task in order (1 for binary and regression tasks). Required when a task is multiclass.
   */
  numClasses?: Readonly<Record<string, number>> | readonly number[];
  /** Default task0, task1, … */
  taskNames?: readonly string[];
  /** L2 strength on embedding tables (added by regularizationLoss). */
  l2RegEmbedding?: number;
  /** L2 strength on DNN / gate / tower weights (not biases, not BatchNorm). */
  l2RegDnn?: number;
  /** Std of the N(0, initStd²) init of DNN weights and embeddings. */
  initStd?: number;
  /** Seeds every initialisation in the model (each submodule gets its own stream). */
  seed?: number;
  dnnDropout?: number;
  dnnActivation?: ActivationSpec;
  dnnUseBn?: boolean;
  /**
   * Row-sparse embedding gradients, updated lazily by Adam/AdamW/Adagrad (docs/large-vocabularies.md).
   * Default false. With it, l2RegEmbedding defaults to 0 and must stay 0: a penalty on whole tables
   * would make every step dense (use the optimizer's weightDecay, applied lazily, instead).
   */
  sparseEmbedding?: boolean;
}

const COMMON_KEYS: OptionKeys<CommonModelOptions> = {
  features: true, inputDim: true, taskTypes: true, taskNames: true, numClasses: true, l2RegEmbedding: true, l2RegDnn: true,
  initStd: true, seed: true, dnnDropout: true, dnnActivation: true, dnnUseBn: true, sparseEmbedding: true,
};

interface Resolved {
  l2RegEmbedding: number;
  l2RegDnn: number;
  initStd: number;
  seed: number;
  dnnDropout: number;
  dnnActivation: ActivationSpec;
  dnnUseBn: boolean;
  sparseEmbedding: boolean;
}

function nonNegative(model: string, what: string, v: number): number {
  if (typeof v !== 'number' || !(v >= 0) || !Number.isFinite(v)) throw new RangeError(`${model}: ${what} must be a finite number ≥ 0, got ${String(v)}`);
  return v;
}

/** numClasses as one entry per task (1 for binary and regression), checked against the task types. */
function resolveNumClasses(
  model: string, given: CommonModelOptions['numClasses'], types: readonly TaskType[], names: readonly string[],
): number[] {
  let k: Array<number | undefined>;
  if (given === undefined) k = types.map(() => undefined);
  else if (Array.isArray(given)) {
    if (given.length !== types.length) throw new RangeError(`${model}: numClasses needs one entry per task (${names.join(', ')}), got ${given.length}`);
    k = given.slice();
  } else if (given !== null && typeof given === 'object') {
    const rec = given as Record<string, number>;
    for (const name of Object.keys(rec)) {
      if (!names.includes(name)) throw new RangeError(`${model}: numClasses names unknown task '${name}'; tasks: ${names.join(', ')}`);
    }
    k = names.map((n) => rec[n]);
  } else {
    throw new TypeError(`${model}: numClasses must map multiclass task names to their class counts, or give one entry per task, got ${JSON.stringify(given)}`);
  }
  return types.map((t, i) => {
    const v = k[i];
    if (t === 'multiclass') {
      if (v === undefined) throw new Error(`${model}: task '${names[i]}' is multiclass; give its number of classes in numClasses (e.g. { ${names[i]}: 5 })`);
      if (typeof v !== 'number' || !Number.isInteger(v) || v < 2) throw new RangeError(`${model}: numClasses of task '${names[i]}' must be an integer ≥ 2, got ${JSON.stringify(v)}`);
      return v;
    }
    if (v !== undefined && v !== 1) throw new RangeError(`${model}: numClasses of ${t} task '${names[i]}' must be 1 (or left out), got ${JSON.stringify(v)}; only multiclass tasks have classes`);
    return 1;
  });
}

/** True for models that expose their softmax gates (MMoE, OMoE, PLE). */
export function hasGateWeights(m: MultiTaskModel): m is GatedMultiTaskModel {
  return typeof (m as unknown as { gateWeights?: unknown }).gateWeights === 'function';
}

/** Throws unless units is an array of positive integers (non-empty unless allowEmpty). */
export function checkUnits(model: string, what: string, units: unknown, allowEmpty: boolean): number[] {
  if (!Array.isArray(units) || (!allowEmpty && units.length === 0) || units.some((u) => !Number.isInteger(u) || u <= 0)) {
    throw new RangeError(`${model}: ${what} must be ${allowEmpty ? 'an' : 'a non-empty'} array of positive integers, got ${JSON.stringify(units)}`);
  }
  return units.slice();
}

/**
 * What the models have in common: the input (dense tensor or feature columns), task bookkeeping,
 * the per-task output layers (`out`), seeding, DNN construction and L2 regularisation.
 * Subclasses register their own layers and implement `logits`.
 */
export abstract class MultiTaskBase extends Module implements MultiTaskModel {
  readonly taskNames: readonly string[];
  readonly taskTypes: readonly TaskType[];
  /** Output columns per task: K for a K-class task, 1 otherwise. */
  readonly numClasses: readonly number[];
  /** Width of the vector the layers see (after the input layer, when there are features). */
  readonly inputDim: number;
  readonly inputLayer: InputLayer | null;
  protected readonly opts: Resolved;
  protected readonly modelName: string;
  /**
   * The options the model was built with (a shallow copy), for `serializeModel`, which saves them
   * so that `deserializeModel` rebuilds the model with no options from the caller.
   */
  readonly constructorOptions: Readonly<CommonModelOptions>;
  /** Source of every init in this model; each submodule forks its own stream from it. */
  protected readonly generator: Generator;
  private readonly l2Terms: Array<{ params: Tensor[]; l2: number }> = [];
  private dtypeProbe: Tensor | null = null;

  /** `ownKeys`: the subclass's option names beyond the common ones (unknown keys are errors). */
  constructor(modelName: string, o: CommonModelOptions, ownKeys: Readonly<Record<string, true>>) {
    super();
    this.modelName = modelName;
    if (!o || typeof o !== 'object') throw new TypeError(`${modelName}: expected an options object`);
    checkOptions(modelName, o, [...Object.keys(COMMON_KEYS), ...Object.keys(ownKeys)]);
    this.constructorOptions = { ...o };
    const types = o.taskTypes;
    if (!Array.isArray(types) || types.length === 0) {
      throw new Error(`${modelName}: taskTypes must be a non-empty array of 'binary' | 'regression' | 'multiclass', got ${JSON.stringify(types)}`);
    }
    types.forEach((t, i) => {
      if (t !== 'binary' && t !== 'regression' && t !== 'multiclass') throw new Error(`${modelName}: taskTypes[${i}] must be 'binary', 'regression' or 'multiclass', got ${JSON.stringify(t)}`);
    });
    const names = o.taskNames ?? types.map((_, i) => `task${i}`);
    if (!Array.isArray(names) || names.length !== types.length) {
      throw new Error(`${modelName}: taskNames must have one name per task (taskTypes has ${types.length}), got ${JSON.stringify(names)}`);
    }
    if (new Set(names).size !== names.length) throw new Error(`${modelName}: taskNames must be distinct, got ${JSON.stringify(names)}`);
    this.taskTypes = types.slice();
    this.taskNames = names.slice();
    const sparseEmbedding = o.sparseEmbedding ?? false;
    if (typeof sparseEmbedding !== 'boolean') throw new TypeError(`${modelName}: sparseEmbedding must be a boolean, got ${String(o.sparseEmbedding)}`);
    if (sparseEmbedding && o.l2RegEmbedding !== undefined && o.l2RegEmbedding !== 0) {
      throw new RangeError(`${modelName}: l2RegEmbedding must be 0 with sparseEmbedding (got ${String(o.l2RegEmbedding)}): a penalty on whole tables makes every step dense; use the optimizer's weightDecay, which sparse updates apply to touched rows`);
    }
    this.numClasses = resolveNumClasses(modelName, o.numClasses, this.taskTypes, this.taskNames);
    this.opts = {
      l2RegEmbedding: nonNegative(modelName, 'l2RegEmbedding', o.l2RegEmbedding ?? (sparseEmbedding ? 0 : 1e-5)),
      l2RegDnn: nonNegative(modelName, 'l2RegDnn', o.l2RegDnn ?? 0),
      initStd: nonNegative(modelName, 'initStd', o.initStd ?? 1e-4),
      seed: o.seed ?? 1024,
      dnnDropout: o.dnnDropout ?? 0,
      dnnActivation: o.dnnActivation ?? 'relu',
      dnnUseBn: o.dnnUseBn ?? false,
      sparseEmbedding,
    };
    if (!(this.opts.dnnDropout >= 0 && this.opts.dnnDropout < 1)) {
      throw new RangeError(`${modelName}: dnnDropout must be in [0, 1), got ${String(o.dnnDropout)}`);
    }
    this.generator = new Generator(this.opts.seed);

    if ((o.features === undefined) === (o.inputDim === undefined)) {
      throw new Error(`${modelName}: give exactly one of 'features' (feature columns) or 'inputDim' (dense input width)`);
    }
    if (o.features !== undefined) {
      this.inputLayer = new InputLayer(o.features, { initStd: this.opts.initStd, generator: this.generator.fork(), sparse: sparseEmbedding });
      this.inputDim = this.inputLayer.inputDim;
      // DeepCTR's key: the tables sit at the model's top level (embedding_dict.<name>.weight).
      const dict: EmbeddingDict = this.registerModule('embedding_dict', this.inputLayer.embeddingDict);
      this.addL2(dict.parameters(), this.opts.l2RegEmbedding);
    } else {
      this.inputLayer = null;
      this.inputDim = checkIntAtLeast(modelName, 'inputDim', o.inputDim, 1);
    }
  }

  /**
   * The architecture's name as the registry (createModel) knows it: 'MMoE', 'PLE', … Explicit, not
   * `constructor.name`, so it survives minification (summary() and the ONNX doc string use it).
   */
  get architecture(): string {
    return this.modelName;
  }

  get numTasks(): number {
    return this.taskTypes.length;
  }

  /** Output columns of task t: its number of classes for a multiclass task, else 1. */
  protected taskWidth(t: number): number {
    return this.numClasses[t];
  }

  /** The input as one tensor [B, inputDim] in the model's dtype. */
  protected input(x: ModelInput): Tensor {
    if (this.inputLayer) {
      if (x instanceof Tensor) throw new TypeError(`${this.modelName}: built with feature columns, so it takes a FeatureBatch (feature name → values), got a Tensor ${formatShape(x.shape)}`);
      return this.toModelDtype(this.inputLayer.forward(x));
    }
    if (!(x instanceof Tensor)) throw new TypeError(`${this.modelName}: built with inputDim ${this.inputDim}, so it takes a Tensor [B, ${this.inputDim}], got a FeatureBatch`);
    if (x.ndim !== 2 || x.shape[1] !== this.inputDim) {
      throw new RangeError(`${this.modelName}: expected input [B, ${this.inputDim}], got ${formatShape(x.shape)}`);
    }
    return this.toModelDtype(x);
  }

  private toModelDtype(x: Tensor): Tensor {
    // module.to() converts tensors in place, so one parameter found once tracks the model's dtype.
    this.dtypeProbe ??= this.parameters()[0] ?? null;
    const dtype = this.dtypeProbe?.dtype ?? x.dtype;
    return x.dtype === dtype ? x : x.to(dtype);
  }

  /** summary()'s sample: a batch of one row, dense zeros or the input layer's sample batch. */
  protected override sampleInput(): ModelInput {
    const dtype = this.parameters()[0]?.dtype ?? 'float32';
    return this.inputLayer ? this.inputLayer.sampleBatch(1) : zeros([1, this.inputDim], { dtype });
  }

  /** A DNN with the model's shared options and its own init stream; its weights get l2RegDnn. */
  protected makeDnn(inputDim: number, units: readonly number[]): DNN {
    const d = new DNN(inputDim, units, {
      activation: this.opts.dnnActivation,
      dropoutRate: this.opts.dnnDropout,
      useBn: this.opts.dnnUseBn,
      initStd: this.opts.initStd,
      generator: this.generator.fork(),
    });
    this.addL2(d.regularizationWeights(), this.opts.l2RegDnn);
    return d;
  }

  /** A Linear without bias (DeepCTR's gate and tower final layers); its weight gets l2RegDnn. */
  protected makeLinear(inFeatures: number, outFeatures: number, l2 = this.opts.l2RegDnn, what = 'l2RegDnn'): Linear {
    const l = new Linear(inFeatures, outFeatures, { bias: false, generator: this.generator.fork() });
    this.addL2([l.weight], l2, what);
    return l;
  }

  /** One PredictionLayer per task, as DeepCTR's multi-task `out` (keys out.<t>.bias). */
  protected perTaskOut(): ModuleList<PredictionLayer> {
    return new ModuleList(this.taskTypes.map((t, i) => new PredictionLayer([t], [this.numClasses[i]])));
  }

  /** Puts `params` under an L2 penalty of strength l2 (skipped when l2 is 0). */
  protected addL2(params: Tensor[], l2: number, what = 'l2 strength'): void {
    nonNegative(this.modelName, what, l2);
    if (l2 > 0 && params.length) this.l2Terms.push({ params, l2 });
  }

  abstract logits(x: ModelInput): Tensor;

  forward(x: ModelInput): Tensor {
    return taskOutputs(this.logits(x), this.taskTypes, this.numClasses);
  }

  /** Σ l2 · ‖w‖² over the regularised parameters (DeepCTR's scale), or null when there are none. */
  regularizationLoss(): Tensor | null {
    let total: Tensor | null = null;
    for (const { params, l2 } of this.l2Terms) {
      const t = l2Penalty(params, l2);
      total = total ? total.add(t) : t;
    }
    return total;
  }
}
