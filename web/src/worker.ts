/*
 * A training worker of the demo: one model on the MMoE paper's synthetic data, with the library's
 * synchronous `fit`. It runs off the page's thread, so the page stays responsive; progress leaves
 * through postMessage from fit's callbacks (the page drains the queue as it arrives).
 */
import {
  MMoE, OMoE, SharedBottom, evaluate, fit, hasGateWeights, noGrad, serializeSafetensors, syntheticMultiTask, drawSineParameters,
  widthForParameterCount, Tensor, type MultiTaskModel,
} from '../../src/index.js';
import type { DemoModel, TrainRequest, WorkerMessage } from './protocol.js';

// The synthetic experiment's architecture (src/experiments/synthetic/experiment.ts): 8 experts of one hidden
// layer of 16, towers of 8, N(0, 0.1²) init; Shared-Bottom as wide as gives MMoE's parameter count.
const DIM = 100;
const EXPERTS = 8;
const common = (seed: number) => ({
  inputDim: DIM, taskTypes: ['regression', 'regression'] as const, taskNames: ['task1', 'task2'],
  towerHiddenUnits: [8], initStd: 0.1, seed,
});
const moe = (seed: number) => ({ ...common(seed), numExperts: EXPERTS, expertHiddenUnits: [16] });

function build(model: DemoModel, seed: number): { net: MultiTaskModel; bottomUnits?: number } {
  if (model === 'mmoe') return { net: new MMoE(moe(seed)) };
  if (model === 'omoe') return { net: new OMoE(moe(seed)) };
  const target = new MMoE(moe(seed)).numParameters();
  const { width } = widthForParameterCount(target, (w) => new SharedBottom({ ...common(seed), bottomHiddenUnits: [w] }));
  return { net: new SharedBottom({ ...common(seed), bottomHiddenUnits: [width] }), bottomUnits: width };
}

function rows(t: Tensor, start: number, end: number): Tensor {
  const w = t.size / t.shape[0];
  return new Tensor(t.data.subarray(start * w, end * w), [end - start, ...t.shape.slice(1)]);
}

/** Mean gate weight per task × expert over `x` (the model in eval mode). */
function meanGates(net: MultiTaskModel, x: Tensor): number[][] | null {
  if (!hasGateWeights(net)) return null;
  net.eval();
  const g = noGrad(() => net.gateWeights(x));
  net.train();
  const [b, t, e] = g.shape;
  const out = Array.from({ length: t }, () => new Array<number>(e).fill(0));
  for (let i = 0; i < b; i++) for (let k = 0; k < t; k++) for (let j = 0; j < e; j++) out[k][j] += g.data[(i * t + k) * e + j] / b;
  return out;
}

const post = (m: WorkerMessage, transfer: Transferable[] = []): void => (self as unknown as Worker).postMessage(m, transfer);

// The paper's α, β are given parameters: one draw for every run, as `mmoe-ts synthetic` does
// (its sineSeed 0), so moving the slider changes the task correlation and nothing else.
const SINE = drawSineParameters(10, 0);

function train(req: TrainRequest): void {
  const t0 = performance.now();
  const data = syntheticMultiTask({ n: req.trainSize + req.testSize, dim: DIM, correlation: req.correlation, seed: req.seed, alpha: SINE.alpha, beta: SINE.beta });
  const trainSet = { x: rows(data.x, 0, req.trainSize), y: rows(data.y, 0, req.trainSize) };
  const testSet = { x: rows(data.x, req.trainSize, req.trainSize + req.testSize), y: rows(data.y, req.trainSize, req.trainSize + req.testSize) };
  const { net, bottomUnits } = build(req.model, req.seed * 7919 + 1);
  const stepsPerEpoch = Math.ceil(req.trainSize / req.batchSize);
  post({ type: 'start', model: req.model, parameters: net.numParameters(), stepsPerEpoch, labelCorrelation: data.labelCorrelation, bottomUnits });

  // Epoch 0: the test loss of the untrained model, where every curve starts.
  const before = evaluate(net, testSet).tasks;
  const taskLoss0: [number, number] = [before.task1.mse!, before.task2.mse!];
  post({ type: 'epoch', model: req.model, epoch: 0, testLoss: (taskLoss0[0] + taskLoss0[1]) / 2, taskLoss: taskLoss0, gates: meanGates(net, testSet.x) });

  let step = 0;
  let pending: number[] = [];
  let firstStep = 1;
  let lastPost = performance.now();
  let windowSamples = 0;
  const flush = (): void => {
    if (pending.length === 0) return;
    const now = performance.now();
    post({ type: 'batches', model: req.model, firstStep, losses: pending, samplesPerSecond: windowSamples / Math.max(1e-3, (now - lastPost) / 1000) });
    pending = [];
    windowSamples = 0;
    lastPost = now;
  };
  fit(net, trainSet, {
    epochs: req.epochs, batchSize: req.batchSize, optimizer: 'adam', lr: req.lr, seed: req.seed + 17, verbose: 0, validationData: testSet,
    callbacks: {
      onBatchEnd(_s, logs) {
        if (pending.length === 0) firstStep = step + 1;
        step++;
        // fit's loss sums the two tasks' MSE; the page shows their mean, like the test loss.
        pending.push(logs.loss / 2);
        windowSamples += logs.batchSize;
        // About 20 messages a second: smooth curves without flooding the page.
        if (performance.now() - lastPost > 50) flush();
      },
      onEpochEnd(log) {
        flush();
        const taskLoss: [number, number] = [log.logs.val_task1_mse, log.logs.val_task2_mse];
        post({ type: 'epoch', model: req.model, epoch: log.epoch, testLoss: (taskLoss[0] + taskLoss[1]) / 2, taskLoss, gates: meanGates(net, testSet.x) });
      },
    },
  });
  const weights = serializeSafetensors(net.stateDict(), { model: net.constructor.name, source: 'mmoe-ts web demo', correlation: String(req.correlation) });
  post({ type: 'done', model: req.model, weights, seconds: (performance.now() - t0) / 1000 }, [weights.buffer]);
}

self.onmessage = (e: MessageEvent<TrainRequest>) => {
  try {
    train(e.data);
  } catch (err) {
    post({ type: 'error', model: e.data.model, message: err instanceof Error ? err.message : String(err) });
  }
};
