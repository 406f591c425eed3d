export {
  fit, fitAsync, evaluate, predict,
  type FitOptions, type FitAsyncOptions, type YieldEvery, type EvaluateOptions, type PredictOptions, type Evaluation, type Callbacks,
} from './trainer.js';
export type { Dataset, Features } from './dataset.js';
export type { LRSchedulerConfig, SchedulerInput } from './fit-plan.js';
export type { SampleWeight, ClassWeight, ClassWeights } from './sample-weights.js';
export type { TaskWeightingOption, UncertaintyWeightingOptions, GradNormOptions } from './task-weighting.js';
export { History, EarlyStopping, type EpochLog, type EarlyStoppingOptions } from './history.js';
export { rocAuc, logloss, mse, accuracy, perTaskMetrics, type TaskMetrics, type MetricName } from './metrics.js';
export { lineChart, histogram, heatmap, gridLayout } from '../plot/svg.js';
