import type { Tensor } from '../autograd/index.js';
import type { Module } from '../nn/module.js';

/**
 * 'binary' (one logit, sigmoid), 'regression' (one value, identity) or 'multiclass' (K logits,
 * softmax; its label is the class index 0..K-1, and the model's `numClasses` gives K).
 */
export type TaskType = 'binary' | 'regression' | 'multiclass';

/**
 * One batch of model input: a dense tensor [B, F], or feature columns by name — sparse ids as
 * Int32Array [B], variable-length ids as Int32Array [B · maxLen] (0 = padding), dense values as a
 * Tensor [B, dimension]; a SparseFeat with useHash may also take its raw values as strings [B].
 */
export type FeatureBatch = Record<string, Tensor | Int32Array | readonly string[]>;
export type ModelInput = Tensor | FeatureBatch;

/**
 * What every multi-task model here offers the trainer: logits for all tasks at once, the
 * task-type output layer applied on top, and its regularisation term.
 */
export interface MultiTaskModel extends Module {
  readonly taskNames: readonly string[];
  readonly taskTypes: readonly TaskType[];
  /**
   * Output columns per task: K for a K-class task, 1 for the others. Absent means 1 each; the
   * model's outputs then have one column per task.
   */
  readonly numClasses?: readonly number[];
  /**
   * Pre-activation outputs [B, W], W = Σ numClasses (= T without multiclass tasks); each task's
   * columns in task order (the trainer pairs binary tasks with bceWithLogits, multiclass tasks
   * with softmax cross-entropy).
   */
  logits(x: ModelInput): Tensor;
  /**
   * Task outputs [B, W]: sigmoid for binary tasks, identity for regression (DeepCTR's
   * PredictionLayer), the K class probabilities (softmax) for a multiclass task.
   */
  forward(x: ModelInput): Tensor;
  /** L1/L2 penalties of the model's regularised parameters (a scalar), or null when there are none. */
  regularizationLoss(): Tensor | null;
  /**
   * A loss term the model defines on its own logits [B, T] (AITM's calibrator), which fit adds to
   * the task losses each step; absent or null for none.
   */
  auxiliaryLoss?(logits: Tensor): Tensor | null;
}

/** A model whose softmax gates can be inspected (MMoE, OMoE, PLE). */
export interface GatedMultiTaskModel extends MultiTaskModel {
  /** Gate weights [B, T, E]: for each sample and task, a distribution over the experts. */
  gateWeights(x: ModelInput): Tensor;
}

/** Each task's number of output columns (numClasses, or 1 per task when the model has none). */
export function outputWidths(model: Pick<MultiTaskModel, 'taskTypes' | 'numClasses'>): number[] {
  return model.numClasses ? model.numClasses.slice() : model.taskTypes.map(() => 1);
}

/** The first output column of each task, given the widths. */
export function outputOffsets(widths: readonly number[]): number[] {
  const out: number[] = [];
  let o = 0;
  for (const w of widths) { out.push(o); o += w; }
  return out;
}
