import './methods.js';

export { Tensor, isTensor, castStorage, bumpVersion, type TensorLike, type NestedArray } from './tensor.js';
export { defineOp, type Op, type OpContext, type OpSpec } from './function.js';
export { traceOps, untraced, type TracedOp } from './trace.js';
export { tracePlan, type ReplayPlan } from './replay.js';
export { traceStepPlan, type StepPlan, type StepTrace, type StepTraceOptions } from './step-replay.js';
export { noGrad, enableGrad, isGradEnabled, detectAnomaly, isAnomalyEnabled } from './mode.js';
export { setPrintOptions, getPrintOptions, type PrintOptions } from './format.js';
export { runBackward, type BackwardOptions } from './engine.js';
export * from './creation.js';
export * from './ops/index.js';
export { gradcheck, type GradcheckOptions, type GradcheckResult } from './gradcheck.js';
export { stackedView, physical, runsOf } from './stacked/view.js';
export { defineBatchRule, type BatchRule } from './stacked/rules.js';
