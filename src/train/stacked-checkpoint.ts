import { Tensor } from '../autograd/index.js';
import { decodeSafetensorsAs, encodeSafetensorsAs } from '../nn/safetensors.js';
import type { OptimizerStateDict } from '../nn/optim/index.js';
import {
  decodeNumber, encodeNumber, optimizerStateFromTensors, optimizerStateToTensors, type GeneratorState,
} from './checkpoint.js';
import type { EpochLog } from './history.js';

/*
 * fitStacked's checkpoint, taken at an epoch's end: the stacked parameters, the optimizer's state,
 * each run's shuffling generator and the histories so far — what a stacked fit needs to go on, bit
 * for bit, as if it had not stopped. As bytes it is one safetensors file like fit's checkpoints
 * (checkpoint.ts), with its own metadata key, so neither loads as the other.
 */

export interface StackedCheckpoint {
  /** Epochs finished; a resumed fitStacked starts at epoch + 1. */
  epoch: number;
  /** Optimizer steps taken in all. */
  step: number;
  /** The run count R. */
  runs: number;
  /** The stacked parameters [R, ...] by name (StackedModules.stateDict()), copied. */
  model: Record<string, Tensor>;
  optimizer: OptimizerStateDict;
  /** The optimizer's class name: another kind's state would load silently wrong. */
  optimizerName: string;
  /** Each run's shuffling generator, after the epoch drew its order. */
  shuffle: GeneratorState[];
  /** Each run's history so far. */
  histories: EpochLog[][];
  /** The caller's own JSON data, saved and restored as it is (fitStacked ignores it). */
  extra?: unknown;
}

const META_KEY = 'mmoe-ts.stacked-checkpoint';

/** The checkpoint as safetensors bytes. */
export function encodeStackedCheckpoint(ckpt: StackedCheckpoint): Uint8Array {
  const tensors: Record<string, Tensor> = {};
  for (const [k, t] of Object.entries(ckpt.model)) tensors[`model/${k}`] = t;
  const meta = {
    format: 1, epoch: ckpt.epoch, step: ckpt.step, runs: ckpt.runs, optimizerName: ckpt.optimizerName,
    optimizer: optimizerStateToTensors(ckpt.optimizer, tensors), shuffle: ckpt.shuffle, histories: ckpt.histories,
    extra: ckpt.extra,
  };
  return encodeSafetensorsAs('encodeStackedCheckpoint:', tensors, { [META_KEY]: JSON.stringify(meta, encodeNumber) });
}

/** A checkpoint from encodeStackedCheckpoint's bytes. */
export function decodeStackedCheckpoint(bytes: Uint8Array): StackedCheckpoint {
  const fn = 'decodeStackedCheckpoint';
  const { tensors, metadata } = decodeSafetensorsAs(`${fn}:`, bytes);
  const raw = metadata[META_KEY];
  if (raw === undefined) throw new Error(`${fn}: not a stacked training checkpoint (a safetensors file without '${META_KEY}' metadata)`);
  const meta = JSON.parse(raw, decodeNumber);
  if (meta.format !== 1) throw new Error(`${fn}: unknown checkpoint format ${String(meta.format)} (this version reads 1)`);
  const take = (name: string): Tensor => {
    const t = tensors[name];
    if (t === undefined) throw new Error(`${fn}: tensor '${name}' is missing`);
    return t;
  };
  const model: Record<string, Tensor> = {};
  for (const [k, t] of Object.entries(tensors)) if (k.startsWith('model/')) model[k.slice(6)] = t;
  return {
    epoch: meta.epoch, step: meta.step, runs: meta.runs, model, optimizer: optimizerStateFromTensors(meta.optimizer, take),
    optimizerName: meta.optimizerName, shuffle: meta.shuffle, histories: meta.histories,
    ...(meta.extra !== undefined && { extra: meta.extra }),
  };
}

/** fitStacked's resumeFrom: a checkpoint object or its bytes, checked for its shape. */
export function stackedCheckpointFrom(fn: string, v: unknown): StackedCheckpoint {
  const c = v instanceof Uint8Array ? decodeStackedCheckpoint(v) : v as Partial<StackedCheckpoint> | null;
  if (c === null || typeof c !== 'object' || !Number.isInteger(c.epoch) || !Number.isInteger(c.step) || !Number.isInteger(c.runs) ||
      typeof c.model !== 'object' || c.model === null || typeof c.optimizer !== 'object' || typeof c.optimizerName !== 'string' ||
      !Array.isArray(c.shuffle) || !Array.isArray(c.histories)) {
    throw new TypeError(`${fn}: resumeFrom must be a stacked checkpoint (from onEpochEnd's checkpoint() or decodeStackedCheckpoint) or its bytes`);
  }
  return c as StackedCheckpoint;
}
