/*
 * The models the interop check runs, each as ours and as the DeepCTR-Torch constructor call that
 * builds the same architecture (interop/check.py reads the latter from manifest.json). Shared by
 * export.ts and import.ts, so both directions use the same definitions, and by
 * test/models/pytorch-checkpoints.test.ts, which loads the PyTorch files check.py wrote for them
 * (test/fixtures/pytorch/): changing a case means regenerating those.
 */
import {
  DCN, DCNMix, DenseFeat, ESMM, MMoE, PLE, SharedBottom, SparseFeat, VarLenSparseFeat, Generator, Tensor, noGrad, randn,
  type FeatureBatch, type FeatureColumn, type ModelInput, type MultiTaskModel,
} from '../src/index.js';

/** A feature column as check.py rebuilds it (DeepCTR-Torch's SparseFeat / VarLenSparseFeat / DenseFeat). */
export type FeatureSpec =
  | { kind: 'dense'; name: string; dimension: number }
  | { kind: 'sparse'; name: string; vocabulary_size: number; embedding_dim: number }
  | { kind: 'varlen'; name: string; vocabulary_size: number; embedding_dim: number; maxlen: number; combiner: 'mean' | 'sum' | 'max' };

export interface Case {
  name: string;
  /** DeepCTR-Torch class: deepctr_torch.models.{DCN, DCNMix} or deepctr_torch.models.multitask.{MMOE, SharedBottom, PLE, ESMM}. */
  deepctrModel: 'MMOE' | 'SharedBottom' | 'DCN' | 'DCNMix' | 'PLE' | 'ESMM';
  /** Keyword arguments besides the feature columns. */
  kwargs: Record<string, unknown>;
  /** The feature columns in declaration order (the columns of DeepCTR-Torch's input matrix X). */
  features: FeatureSpec[];
  /** Ours is built from a dense [B, F] tensor when the DeepCTR-Torch model has one DenseFeat. */
  dense: boolean;
  build(): MultiTaskModel;
}

const DENSE_F = 6;
const denseSpec: FeatureSpec[] = [{ kind: 'dense', name: 'x', dimension: DENSE_F }];
const mixedSpec: FeatureSpec[] = [
  { kind: 'sparse', name: 'user', vocabulary_size: 10, embedding_dim: 3 },
  { kind: 'varlen', name: 'hist', vocabulary_size: 8, embedding_dim: 2, maxlen: 3, combiner: 'mean' },
  { kind: 'dense', name: 'age', dimension: 1 },
  { kind: 'dense', name: 'vec', dimension: 2 },
];

function columns(specs: FeatureSpec[]): FeatureColumn[] {
  return specs.map((s) => s.kind === 'dense'
    ? DenseFeat(s.name, s.dimension)
    : s.kind === 'sparse'
      ? SparseFeat(s.name, s.vocabulary_size, { embeddingDim: s.embedding_dim })
      : VarLenSparseFeat(SparseFeat(s.name, s.vocabulary_size, { embeddingDim: s.embedding_dim }), s.maxlen, s.combiner));
}

/** Our input option for a case: a dense width or the feature columns. */
const inputOf = (dense: boolean, specs: FeatureSpec[]): { inputDim: number } | { features: FeatureColumn[] } =>
  dense ? { inputDim: DENSE_F } : { features: columns(specs) };

// Non-trivial weights on both sides (DeepCTR-Torch's default 1e-4 would make every output ~constant).
const common = { initStd: 0.5, dnnActivation: 'relu' as const };
const commonKw = { init_std: 0.5, dnn_activation: 'relu', dnn_dropout: 0, seed: 1024, device: 'cpu' };

function mk(name: string, deepctrModel: Case['deepctrModel'], dense: boolean, kwargs: Record<string, unknown>, build: (input: ReturnType<typeof inputOf>) => MultiTaskModel): Case {
  const features = dense ? denseSpec : mixedSpec;
  return { name, deepctrModel, kwargs: { ...commonKw, ...kwargs }, features, dense, build: () => build(inputOf(dense, features)) };
}

export const cases: Case[] = [
  mk('mmoe_dense_bn', 'MMOE', true,
    { num_experts: 3, expert_dnn_hidden_units: [8, 4], gate_dnn_hidden_units: [5], tower_dnn_hidden_units: [3], dnn_use_bn: true, task_types: ['binary', 'regression'], task_names: ['ctr', 'dwell'] },
    (i) => new MMoE({ ...i, ...common, numExperts: 3, expertHiddenUnits: [8, 4], gateHiddenUnits: [5], towerHiddenUnits: [3], dnnUseBn: true, taskTypes: ['binary', 'regression'], taskNames: ['ctr', 'dwell'] })),
  mk('mmoe_features', 'MMOE', false,
    { num_experts: 2, expert_dnn_hidden_units: [4], gate_dnn_hidden_units: [], tower_dnn_hidden_units: [], task_types: ['binary', 'binary'], task_names: ['a', 'b'] },
    (i) => new MMoE({ ...i, ...common, numExperts: 2, expertHiddenUnits: [4], taskTypes: ['binary', 'binary'], taskNames: ['a', 'b'] })),
  mk('sharedbottom_dense_bn', 'SharedBottom', true,
    { bottom_dnn_hidden_units: [8, 4], tower_dnn_hidden_units: [3], dnn_use_bn: true, task_types: ['binary', 'regression'], task_names: ['a', 'b'] },
    (i) => new SharedBottom({ ...i, ...common, bottomHiddenUnits: [8, 4], towerHiddenUnits: [3], dnnUseBn: true, taskTypes: ['binary', 'regression'], taskNames: ['a', 'b'] })),
  mk('dcn_dense_bn', 'DCN', true,
    { cross_num: 2, cross_parameterization: 'vector', dnn_hidden_units: [8, 4], dnn_use_bn: true, task: 'binary' },
    (i) => new DCN({ ...i, ...common, crossNum: 2, dnnHiddenUnits: [8, 4], dnnUseBn: true })),
  mk('dcn_features', 'DCN', false,
    { cross_num: 3, cross_parameterization: 'vector', dnn_hidden_units: [6], task: 'binary' },
    (i) => new DCN({ ...i, ...common, crossNum: 3, dnnHiddenUnits: [6] })),
  mk('dcn_matrix', 'DCN', true,
    { cross_num: 2, cross_parameterization: 'matrix', dnn_hidden_units: [5], task: 'binary' },
    (i) => new DCN({ ...i, ...common, crossNum: 2, crossParameterization: 'matrix', dnnHiddenUnits: [5] })),
  mk('dcn_no_cross_regression', 'DCN', true,
    { cross_num: 0, cross_parameterization: 'vector', dnn_hidden_units: [5], task: 'regression' },
    (i) => new DCN({ ...i, ...common, crossNum: 0, dnnHiddenUnits: [5], taskTypes: ['regression'] })),
  mk('ple_dense_bn', 'PLE', true,
    { shared_expert_num: 2, specific_expert_num: 2, num_levels: 2, expert_dnn_hidden_units: [6, 4], gate_dnn_hidden_units: [3], tower_dnn_hidden_units: [3], dnn_use_bn: true, task_types: ['binary', 'regression'], task_names: ['a', 'b'] },
    (i) => new PLE({ ...i, ...common, sharedExpertNum: 2, specificExpertNum: 2, numLevels: 2, expertHiddenUnits: [6, 4], gateHiddenUnits: [3], towerHiddenUnits: [3], dnnUseBn: true, taskTypes: ['binary', 'regression'], taskNames: ['a', 'b'] })),
  mk('ple_fewer_shared_features', 'PLE', false,
    { shared_expert_num: 1, specific_expert_num: 2, num_levels: 3, expert_dnn_hidden_units: [4], gate_dnn_hidden_units: [], tower_dnn_hidden_units: [], task_types: ['binary', 'binary', 'regression'], task_names: ['a', 'b', 'c'] },
    (i) => new PLE({ ...i, ...common, sharedExpertNum: 1, specificExpertNum: 2, numLevels: 3, expertHiddenUnits: [4], taskTypes: ['binary', 'binary', 'regression'], taskNames: ['a', 'b', 'c'] })),
  mk('esmm_features_bn', 'ESMM', false,
    { tower_dnn_hidden_units: [6, 3], dnn_use_bn: true, task_types: ['binary', 'binary'], task_names: ['ctr', 'ctcvr'] },
    (i) => new ESMM({ ...i, ...common, towerHiddenUnits: [6, 3], dnnUseBn: true })),
  // Appended, so the earlier cases keep their seeds (check.py and export.ts seed by position).
  mk('dcnmix_dense_bn', 'DCNMix', true,
    { cross_num: 2, low_rank: 3, num_experts: 3, dnn_hidden_units: [8, 4], dnn_use_bn: true, task: 'binary' },
    (i) => new DCNMix({ ...i, ...common, crossNum: 2, lowRank: 3, numExperts: 3, dnnHiddenUnits: [8, 4], dnnUseBn: true })),
  mk('dcnmix_features', 'DCNMix', false,
    { cross_num: 1, low_rank: 2, num_experts: 2, dnn_hidden_units: [5], task: 'regression' },
    (i) => new DCNMix({ ...i, ...common, crossNum: 1, lowRank: 2, numExperts: 2, dnnHiddenUnits: [5], taskTypes: ['regression'] })),
];

export const BATCH = 7;

/** The columns of DeepCTR-Torch's X: one per sparse feature, maxlen per var-len one, dimension per dense one. */
export function width(specs: FeatureSpec[]): number {
  return specs.reduce((n, s) => n + (s.kind === 'dense' ? s.dimension : s.kind === 'varlen' ? s.maxlen : 1), 0);
}

/** A random X [B, width] in DeepCTR-Torch's layout: ids as floats (var-len rows padded with 0), dense values N(0, 1). */
export function randomX(specs: FeatureSpec[], B: number, seed: number): Float32Array {
  const g = new Generator(seed);
  const W = width(specs);
  const X = new Float32Array(B * W);
  for (let b = 0; b < B; b++) {
    let c = 0;
    for (const s of specs) {
      if (s.kind === 'sparse') X[b * W + c++] = g.randint(s.vocabulary_size);
      else if (s.kind === 'varlen') {
        const real = b % (s.maxlen + 1); // some rows all padding, some full
        for (let l = 0; l < s.maxlen; l++) X[b * W + c++] = l < real ? 1 + g.randint(s.vocabulary_size - 1) : 0;
      } else for (let d = 0; d < s.dimension; d++) X[b * W + c++] = g.normal();
    }
  }
  return X;
}

/** Our model's input for the rows of X. */
export function inputFromX(c: Case, X: Float32Array, B: number): ModelInput {
  const W = width(c.features);
  if (c.dense) return new Tensor(X.slice(), [B, W]);
  const batch: FeatureBatch = {};
  let col = 0;
  for (const s of c.features) {
    const n = s.kind === 'dense' ? s.dimension : s.kind === 'varlen' ? s.maxlen : 1;
    const vals = new Float32Array(B * n);
    for (let b = 0; b < B; b++) for (let j = 0; j < n; j++) vals[b * n + j] = X[b * W + col + j];
    batch[s.name] = s.kind === 'dense' ? new Tensor(vals, [B, n]) : Int32Array.from(vals);
    col += n;
  }
  return batch;
}

/**
 * Gives a fresh model non-trivial state: N(0, 0.05²) noise on every parameter (biases start at
 * 0), then 20 training-mode passes, so that BatchNorm's running statistics (and
 * num_batches_tracked = 20) are close to the batch statistics and eval mode keeps units alive.
 */
export function perturb(c: Case, m: MultiTaskModel, seed: number): void {
  const g = new Generator(seed);
  for (const p of m.parameters()) {
    const noise = randn(p.shape, { generator: g });
    for (let i = 0; i < p.size; i++) p.data[i] += 0.05 * noise.data[i];
  }
  m.train();
  noGrad(() => { for (let i = 0; i < 20; i++) m.forward(inputFromX(c, randomX(c.features, 32, seed + i), 32)); });
  m.eval();
}
