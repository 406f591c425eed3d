import { Tensor } from '../../src/autograd/index.js';
import { syntheticMultiTask } from '../../src/data/synthetic.js';
import { MMoE } from '../../src/models/index.js';
import { Adam } from '../../src/nn/optim/index.js';
import { takeFeatures, takeLabels } from '../../src/train/dataset.js';
import { accumulateTaskLosses } from '../../src/train/loss.js';
import { FixedWeighting } from '../../src/train/task-weighting.js';
import { TrainingStepPlans } from '../../src/train/step-plan.js';
import { outputWidths } from '../../src/models/types.js';
import { StepScopes } from '../../src/train/held-storage.js';

/*
 * The MMoE paper's training step at its own size, as the synthetic demo runs it: `MMoE` with
 * d = 100 inputs, 8 experts of 16 units, towers of 8, two regression tasks (MSE), Adam(5e-3),
 * batch 128, init std 0.1. `step()` is the body of `fit`'s inner loop (take the batch rows, zero
 * the gradients, logits, multi-task loss, backward — traced and replayed from the second step, as
 * fit does —, optimizer step, per-task loss sums), cycling
 * over a fixed set of batches; bench/peers rebuilds the same network on TF.js from `model`.
 */

export const PAPER = { batch: 128, dim: 100, experts: 8, expertUnits: 16, towerUnits: 8, tasks: 2, lr: 5e-3, initStd: 0.1, batches: 8 } as const;

export interface PaperData {
  /** All rows, [batch · batches, dim], and their labels [batch · batches, 2]. */
  x: Tensor;
  y: Float32Array;
  /** The row indices of each batch, in the order the steps use them. */
  batchRows: Int32Array[];
}

export function paperData(seed = 3): PaperData {
  const n = PAPER.batch * PAPER.batches;
  const d = syntheticMultiTask({ n, dim: PAPER.dim, correlation: 0.5, seed });
  // A fixed shuffled order, as fit draws one, so batches gather scattered rows.
  const order = Int32Array.from({ length: n }, (_, i) => (i * 389) % n);
  const batchRows = Array.from({ length: PAPER.batches }, (_, b) => order.subarray(b * PAPER.batch, (b + 1) * PAPER.batch));
  return { x: d.x, y: d.y.data as Float32Array, batchRows };
}

export function paperModel(seed = 5): MMoE {
  return new MMoE({
    inputDim: PAPER.dim, numExperts: PAPER.experts, expertHiddenUnits: [PAPER.expertUnits], towerHiddenUnits: [PAPER.towerUnits],
    taskTypes: ['regression', 'regression'], taskNames: ['task1', 'task2'], initStd: PAPER.initStd, seed,
  });
}

export interface OurPaperMmoe {
  model: MMoE;
  /** One training step on the next batch; returns the loss value. */
  step(): number;
}

/** `stepPlans`: fit's traced steps (src/train/step-plan.ts), on as in fit by default; false: op by op. */
export function ourPaperMmoe(data: PaperData, seed = 5, stepPlans = true): OurPaperMmoe {
  const model = paperModel(seed);
  const optimizer = new Adam(model.parameters(), { lr: PAPER.lr });
  const weighting = new FixedWeighting(model.taskTypes, [1, 1], outputWidths(model));
  const plans = stepPlans ? new TrainingStepPlans(model, weighting) : null;
  const taskSums = new Float64Array(PAPER.tasks);
  const n = data.x.shape[0];
  let k = 0;
  // fit's step scope: the step's arena blocks return at its end (src/train/held-storage.ts).
  const scopes = new StepScopes([model, optimizer]);
  const check = (v: number): void => { if (!Number.isFinite(v)) throw new Error(`paper step: the loss became ${v}`); };
  return {
    model,
    step: () => scopes.run(() => {
      const rows = data.batchRows[k++ % data.batchRows.length];
      const xb = takeFeatures(data.x, rows, n) as Tensor;
      const yb = takeLabels(data.y, PAPER.tasks, rows);
      optimizer.zeroGrad(false);
      const planned = plans?.step(xb, yb, check) ?? null;
      const logits = planned?.logits ?? model.logits(xb);
      const value = planned?.value ?? weighting.backward(logits, yb, null, null, check);
      optimizer.step();
      accumulateTaskLosses(logits, yb, model.taskTypes, taskSums);
      return value;
    }),
  };
}
