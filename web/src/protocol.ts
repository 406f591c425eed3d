/** Messages between the demo page and its training workers (one worker per model). */

export const DEMO_MODELS = ['mmoe', 'omoe', 'shared-bottom'] as const;
export type DemoModel = (typeof DEMO_MODELS)[number];

export interface TrainRequest {
  type: 'train';
  model: DemoModel;
  /** ρ, the cosine similarity of the two tasks' weight vectors. */
  correlation: number;
  trainSize: number;
  testSize: number;
  epochs: number;
  batchSize: number;
  lr: number;
  seed: number;
}

export type WorkerMessage =
  | { type: 'start'; model: DemoModel; parameters: number; stepsPerEpoch: number; labelCorrelation: number; bottomUnits?: number }
  /** Training loss of a few batches (`losses[i]` belongs to global step `firstStep + i`), batched to keep messages few. */
  | { type: 'batches'; model: DemoModel; firstStep: number; losses: number[]; samplesPerSecond: number }
  /** After each epoch: test MSE of each task, and for gated models the mean gate weight [task][expert] on the test rows. */
  | { type: 'epoch'; model: DemoModel; epoch: number; testLoss: number; taskLoss: [number, number]; gates: number[][] | null }
  /** safetensors bytes of the trained model (transferred, not copied). */
  | { type: 'done'; model: DemoModel; weights: Uint8Array; seconds: number }
  | { type: 'error'; model: DemoModel; message: string };
