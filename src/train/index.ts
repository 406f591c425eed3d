export {
  fit, fitAsync, evaluate, predict,
  type FitOptions, type FitAsyncOptions, type YieldEvery, type EvaluateOptions, type PredictOptions, type Evaluation, type Callbacks,
} from './trainer.js';
export type { Dataset, Features } from './dataset.js';
export { History, EarlyStopping, type EpochLog, type EarlyStoppingOptions } from './history.js';
export { rocAuc, logloss, mse, accuracy, perTaskMetrics, type TaskMetrics, type MetricName } from './metrics.js';
export { lineChart, histogram, heatmap, gridLayout } from './svg.js';
