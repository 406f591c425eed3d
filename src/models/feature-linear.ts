import { Tensor, matmul, zeros } from '../autograd/index.js';
import type { Generator } from '../tensor/index.js';
import { Module } from '../nn/module.js';
import { normal } from '../nn/init.js';
import { InputLayer, SparseFeat, VarLenSparseFeat, type EmbeddingDict, type FeatureColumn } from './features.js';
import type { ModelInput } from './types.js';

export interface FeatureLinearOptions {
  /** Std of the N(0, initStd²) init of every weight (DeepCTR default 1e-4). */
  initStd?: number;
  generator?: Generator;
  /** Row-sparse gradients for the per-id weights (see InputLayerOptions.sparse). */
  sparse?: boolean;
}

/**
 * The linear part of DeepCTR-Torch's BaseModel (its `Linear`, a model's `linear_model`): one
 * weight per id of every sparse and var-len feature (an embedding table of width 1, pooled like
 * the feature's embedding) and one per dense value, summed into a logit. Keys as there:
 * `embedding_dict.<embedding name>.weight` [vocabulary, T] and `weight` [dense width, T]. With a
 * dense input [B, F] it is `x · weight`. T is the number of logits (1 in DeepCTR-Torch); each
 * logit gets its own column of weights.
 */
export class FeatureLinear extends Module {
  static override readonly typeName: string = 'FeatureLinear';
  readonly numOutputs: number;
  readonly denseDim: number;
  readonly weight: Tensor | null;
  readonly embedding_dict: EmbeddingDict | null; // eslint-disable-line @typescript-eslint/naming-convention
  private readonly input: InputLayer | null;
  private readonly numTables: number;

  /** `features` null: a dense input of width inputDim. */
  constructor(features: readonly FeatureColumn[] | null, inputDim: number, numOutputs: number, opts: FeatureLinearOptions = {}) {
    super();
    this.numOutputs = numOutputs;
    const std = opts.initStd ?? 1e-4;
    if (features === null) {
      this.input = null;
      this.embedding_dict = null;
      this.numTables = 0;
      this.denseDim = inputDim;
    } else {
      // The same columns with embeddings of width T, so the input layer does the lookups and pooling.
      const linearColumns = features.map((f): FeatureColumn => {
        if (f.kind === 'dense') return f;
        const s = f.kind === 'sparse' ? f : f.sparseFeat;
        const narrow = SparseFeat(s.name, s.vocabularySize, { embeddingDim: numOutputs, embeddingName: s.embeddingName });
        return f.kind === 'sparse' ? narrow : VarLenSparseFeat(narrow, f.maxLen, f.combiner);
      });
      this.input = new InputLayer(linearColumns, { initStd: std, generator: opts.generator, sparse: opts.sparse });
      this.embedding_dict = this.input.embeddingDict.tables.size ? this.registerModule('embedding_dict', this.input.embeddingDict) : null;
      this.numTables = features.filter((f) => f.kind !== 'dense').length;
      this.denseDim = features.reduce((n, f) => n + (f.kind === 'dense' ? f.dimension : 0), 0);
    }
    // Registered before the tables, as DeepCTR-Torch's module (parameters come first in its state dict).
    this.weight = this.denseDim > 0 ? this.registerParameter('weight', normal(zeros([this.denseDim, numOutputs]), { std, generator: opts.generator })) : null;
  }

  /**
   * The linear logits [B, T]. `x` is the model's input (a FeatureBatch when built with features);
   * `dense` the model's dense input [B, F] already in the model's dtype, used when built without.
   */
  forward(x: ModelInput, dense: Tensor): Tensor {
    const T = this.numOutputs;
    if (!this.input) return matmul(dense, this.weight!);
    const h = this.input.forward(x as Exclude<ModelInput, Tensor>);
    const B = h.shape[0];
    let logit: Tensor | null = null;
    if (this.numTables > 0) logit = h.narrow(1, 0, this.numTables * T).reshape([B, this.numTables, T]).sum(1);
    if (this.weight) {
      const d = h.narrow(1, this.numTables * T, this.denseDim);
      const part = matmul(d.dtype === this.weight.dtype ? d : d.to(this.weight.dtype), this.weight);
      logit = logit ? logit.add(part) : part;
    }
    return logit!;
  }
}
