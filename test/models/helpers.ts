import { Tensor, randn } from '../../src/autograd/index.js';
import { Generator } from '../../src/tensor/index.js';
import {
  DCN, DenseFeat, MMoE, OMoE, PLE, SharedBottom, SingleTask, SparseFeat, VarLenSparseFeat,
  type CommonModelOptions, type FeatureBatch, type FeatureColumn, type MultiTaskModel,
} from '../../src/models/index.js';

export const features: FeatureColumn[] = [
  SparseFeat('user', 10, { embeddingDim: 3 }),
  DenseFeat('age'),
  VarLenSparseFeat(SparseFeat('hist', 8, { embeddingDim: 2 }), 3, 'mean'),
  DenseFeat('vec', 2),
];
/** 3 (user) + 2 (hist) + 1 (age) + 2 (vec). */
export const featureInputDim = 8;

export function featureBatch(B: number, seed = 0): FeatureBatch {
  const g = new Generator(seed);
  const user = new Int32Array(B).map(() => g.randint(10));
  // Row b has b % 4 real ids (so some rows are all padding), the rest 0.
  const hist = new Int32Array(B * 3);
  for (let b = 0; b < B; b++) for (let l = 0; l < (b % 4); l++) hist[b * 3 + l] = 1 + g.randint(7);
  return { user, hist, age: randn([B, 1], { generator: g }), vec: randn([B, 2], { generator: g }) };
}

export type Input = 'dense' | 'features';

/** Each model, small, built for dense input [B, 5] or for the feature columns above. */
export function buildModels(input: Input, extra: Partial<CommonModelOptions> = {}): Record<string, MultiTaskModel> {
  const base = {
    ...(input === 'dense' ? { inputDim: 5 } : { features }),
    taskTypes: ['binary', 'regression'] as const,
    ...extra,
  };
  return {
    MMoE: new MMoE({ ...base, numExperts: 3, expertHiddenUnits: [4], gateHiddenUnits: [3], towerHiddenUnits: [2] }),
    OMoE: new OMoE({ ...base, numExperts: 2, expertHiddenUnits: [4, 3], towerHiddenUnits: [2] }),
    SharedBottom: new SharedBottom({ ...base, bottomHiddenUnits: [4], towerHiddenUnits: [3] }),
    SingleTask: new SingleTask({ ...base, hiddenUnits: [3] }),
    DCN: new DCN({ ...base, crossNum: 2, dnnHiddenUnits: [4] }),
    DCNMatrix: new DCN({ ...base, crossNum: 1, crossParameterization: 'matrix', dnnHiddenUnits: [3] }),
    PLE: new PLE({ ...base, sharedExpertNum: 2, specificExpertNum: 1, numLevels: 2, expertHiddenUnits: [3], gateHiddenUnits: [2], towerHiddenUnits: [2] }),
  };
}

export function denseBatch(B: number, F = 5, seed = 1): Tensor {
  return randn([B, F], { generator: new Generator(seed) });
}
