import type { Tensor } from '../autograd/index.js';
import type { Module } from '../nn/module.js';

export type TaskType = 'binary' | 'regression';

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
  /** Pre-activation outputs [B, T] (the trainer pairs binary tasks with bceWithLogits). */
  logits(x: ModelInput): Tensor;
  /** Task outputs [B, T]: sigmoid for binary tasks, identity for regression (DeepCTR's PredictionLayer). */
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
