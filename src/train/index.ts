export {
  fit, fitAsync, evaluate, evaluateAsync, predict,
  type Batch, type BatchDataset, type BatchSource,
  type FitOptions, type FitAsyncOptions, type YieldEvery, type EvaluateOptions, type PredictOptions, type Evaluation, type Callbacks,
} from './trainer.js';
export type { Dataset, Features } from './dataset.js';
export type { LRSchedulerConfig, SchedulerInput } from './fit-plan.js';
export type { SampleWeight, ClassWeight, ClassWeights } from './sample-weights.js';
export type { TaskWeightingOption, UncertaintyWeightingOptions, GradNormOptions } from './task-weighting.js';
export { History, EarlyStopping, type EpochLog, type EarlyStoppingOptions } from './history.js';
export { rocAuc, groupAuc, logloss, mse, accuracy, multiclassAccuracy, multiclassLogloss, macroAuc, perTaskMetrics, type TaskMetrics, type MetricName, type PerTaskOptions } from './metrics.js';
export type { MissingLabels } from './label-mask.js';
export type { GroupBy } from './groups.js';
export { lineChart, histogram, heatmap, gridLayout } from '../plot/svg.js';
export { fitStacked, type FitStackedOptions } from './fit-stacked.js';
export { encodeCheckpoint, decodeCheckpoint, type TrainingCheckpoint, type GeneratorState } from './checkpoint.js';
export { encodeStackedCheckpoint, decodeStackedCheckpoint, type StackedCheckpoint } from './stacked-checkpoint.js';
export type { EpochControl } from './fit-plan.js';
export { gateHealth, expertLoadFigure, type ExpertHealthOptions } from './expert-health.js';
export type { Stopper } from './per-task-stopping.js';
export { batchEndReadsOnly } from './step-plan.js';
