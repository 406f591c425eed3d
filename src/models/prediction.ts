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
  /** Output columns per task (K for a multiclass task: one bias per class). */
  readonly widths: readonly number[];
  readonly bias: Tensor;

  constructor(taskTypes: readonly TaskType[], widths: readonly number[] = taskTypes.map(() => 1)) {
    super();
    this.taskTypes = taskTypes.slice();
    this.widths = widths.slice();
    this.bias = this.registerParameter('bias', zeros([widths.reduce((a, w) => a + w, 0)]));
  }

  /** logits [B, W] + bias (W = Σ widths). */
  forward(logits: Tensor): Tensor {
    const W = this.bias.shape[0];
    if (logits.ndim !== 2 || logits.shape[1] !== W) {
      throw new Error(`PredictionLayer: expected logits [B, ${W}], got ${formatShape(logits.shape)}`);
    }
    return logits.add(this.bias);
  }
}

/**
 * Sigmoid on the columns of binary tasks, identity on regression columns, softmax over each
 * multiclass task's block of `widths[t]` columns.
 */
export function taskOutputs(logits: Tensor, taskTypes: readonly TaskType[], widths?: readonly number[]): Tensor {
  if (taskTypes.includes('multiclass')) {
    if (widths === undefined) throw new Error('taskOutputs: multiclass tasks need their widths (the model\'s numClasses)');
    let o = 0;
    const parts = taskTypes.map((t, i) => {
      const block = logits.narrow(1, o, widths[i]);
      o += widths[i];
      return t === 'multiclass' ? block.softmax(-1) : t === 'binary' ? block.sigmoid() : block;
    });
    return parts.length === 1 ? parts[0] : concat(parts, 1);
  }
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
