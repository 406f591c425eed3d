import { Tensor, concat, where, zeros } from '../autograd/index.js';
import { formatShape } from '../tensor/index.js';
import { Module } from '../nn/module.js';
import type { TaskType } from './types.js';

/**
 * DeepCTR-Torch's PredictionLayer: a learnable bias per task (`bias`, zeros) added to the logit.
 * It keeps the parameter name of the original (`out.0.bias` in the multi-task models, `out.bias`
 * in DCN) so state dicts move between the two; the sigmoid is applied by `taskOutputs`, because
 * the trainer wants the pre-activation logits for a numerically stable loss.
 */
export class PredictionLayer extends Module {
  static override readonly typeName: string = 'PredictionLayer';
  readonly taskTypes: readonly TaskType[];
  readonly bias: Tensor;

  constructor(taskTypes: readonly TaskType[]) {
    super();
    this.taskTypes = taskTypes.slice();
    this.bias = this.registerParameter('bias', zeros([taskTypes.length]));
  }

  /** logits [B, T] + bias. */
  forward(logits: Tensor): Tensor {
    const T = this.taskTypes.length;
    if (logits.ndim !== 2 || logits.shape[1] !== T) {
      throw new Error(`PredictionLayer: expected logits [B, ${T}], got ${formatShape(logits.shape)}`);
    }
    return logits.add(this.bias);
  }
}

/** Sigmoid on the columns of binary tasks, identity on regression columns. */
export function taskOutputs(logits: Tensor, taskTypes: readonly TaskType[]): Tensor {
  const binary = taskTypes.map((t) => t === 'binary');
  if (binary.every(Boolean)) return logits.sigmoid();
  if (!binary.some(Boolean)) return logits;
  return where(binary, logits.sigmoid(), logits);
}

/** Per-task logits [B, 1] through each task's PredictionLayer, joined into [B, T]. */
export function joinTaskLogits(perTask: readonly Tensor[], out: Iterable<PredictionLayer>): Tensor {
  const layers = [...out];
  return concat(perTask.map((l, i) => layers[i].forward(l)), 1);
}
