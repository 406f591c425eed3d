export { outputWidths, outputOffsets, type TaskType, type FeatureBatch, type ModelInput, type MultiTaskModel, type GatedMultiTaskModel } from './types.js';
export {
  SparseFeat, DenseFeat, VarLenSparseFeat, InputLayer, EmbeddingDict, computeInputDim,
  type SparseFeatOptions, type SparseFeatColumn, type DenseFeatColumn, type VarLenSparseFeatColumn,
  type FeatureColumn, type Combiner, type InputLayerOptions,
} from './features.js';
export { PredictionLayer, taskOutputs } from './prediction.js';
export { MultiTaskBase, hasGateWeights, type CommonModelOptions } from './base.js';
export { MMoE, MixtureOfExpertsBase, type MMoEOptions, type MixtureOfExpertsOptions } from './mmoe.js';
export { OMoE, type OMoEOptions } from './omoe.js';
export { SharedBottom, type SharedBottomOptions } from './sharedbottom.js';
export { SingleTask, type SingleTaskOptions } from './singletask.js';
export { DCN, DeepCrossBase, type DCNOptions, type DeepCrossOptions } from './dcn.js';
export { DCNMix, type DCNMixOptions } from './dcn-mix.js';
export { PLE, type PLEOptions } from './ple.js';
export { ESMM, type ESMMOptions } from './esmm.js';
export { AITM, AITAttention, type AITMOptions } from './aitm.js';
export { countParameters, widthForParameterCount, type WidthSearchOptions, type WidthSearchResult } from './params.js';
export { createModel, modelNames, modelClasses, type ModelName, type ModelOptionsByName } from './registry.js';
export { toDeepCTRTorch, fromDeepCTRTorch } from './deepctr.js';
export { hashBucket, hashIds, murmur3 } from './hash.js';
export { FeatureLinear, type FeatureLinearOptions } from './feature-linear.js';
export {
  serializeModel, deserializeModel, MODEL_FORMAT, MODEL_FORMAT_VERSION,
  type ModelSpec, type SerializeModelOptions, type LoadedModel,
} from './model-file.js';
export {
  fitRowEncoding, encodeRows, encodeColumns, encodingFeatures, sortVocabulary, denseStats,
  type RowEncoding, type RawValue,
} from './row-encoding.js';
