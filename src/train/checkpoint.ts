import { Tensor } from '../autograd/index.js';
import { defaultGenerator, Generator as GeneratorClass, type Generator } from '../tensor/index.js';
import { decodeSafetensorsAs, encodeSafetensorsAs } from '../nn/safetensors.js';
import type { OptimizerStateDict, SchedulerStateDict } from '../nn/optim/index.js';
import type { AnyLRScheduler } from '../nn/optim/lr-scheduler.js';
import type { MultiTaskModel } from '../models/types.js';
import { History, type EarlyStoppingState, type EpochLog } from './history.js';
import type { Stopper } from './per-task-stopping.js';

/*
 * A training checkpoint: everything a fit needs to go on as if it had never stopped — weights and
 * buffers, optimizer and LR-scheduler state, the epoch and step reached, both random streams (the
 * shuffle order and the global generator behind dropout), the history so far, early stopping's
 * and the callbacks' own state. Taken at an epoch's end, after validation, scheduler, early
 * stopping and history; resuming starts the next epoch. A checkpoint taken after a batch inside
 * an epoch (ModelCheckpoint's everySteps) also holds the epoch's running sums and the shuffle
 * generator's state at the epoch's start, so a resumed fit redraws the epoch's order, skips the
 * batches already done and goes on. In memory it is this object; as bytes it
 * is one safetensors file (tensors for every array, the rest as JSON in the metadata), which any
 * safetensors reader opens.
 */

export type GeneratorState = ReturnType<Generator['getState']>;

/** Where a checkpoint taken inside an epoch stands in it. */
export interface EpochProgress {
  /** Batches of epoch `epoch + 1` done. */
  batch: number;
  lossSum: number;
  seen: number;
  taskSums: number[];
  taskCounts: number[];
  /** The generator that shuffles (the global one without a seed) as it was before the epoch drew its order. */
  shuffleAtEpochStart: GeneratorState;
}

export interface TrainingCheckpoint {
  /** Epochs finished (1-based count); a resumed fit starts at epoch + 1. */
  epoch: number;
  /** Taken inside epoch `epoch + 1` after some of its batches, or null at an epoch's end. */
  partial: EpochProgress | null;
  /** Optimizer steps taken in all. */
  step: number;
  /** Early stopping (or a callback's control.stop()) had ended training at this epoch. */
  stopped: boolean;
  /** The model's stateDict, copied. */
  model: Record<string, Tensor>;
  optimizer: OptimizerStateDict;
  scheduler: SchedulerStateDict | null;
  /**
   * `shuffle` is null when fit shuffled with the global generator (no `seed`); `modules` are the
   * generators the model's modules hold (a seeded model's dropout masks), in module order.
   */
  rng: { global: GeneratorState; shuffle: GeneratorState | null; modules: GeneratorState[] };
  /** The optimizer's class name (Adam, SGD, …): another kind's state would load silently wrong. */
  optimizerName: string;
  history: { epochs: EpochLog[]; bestEpoch: number | null };
  /** One entry per watched quantity (one per task with perTask). */
  earlyStopping: EarlyStoppingState[] | null;
  /** States of the callbacks that have getState, in their order among those. */
  callbacks: unknown[];
  /** The learned task weighting's parameters and their optimizer (taskWeighting), or null for fixed weights. */
  taskWeighting: unknown;
}

/** What a checkpoint is taken from and restored into (FitPlan has all of it). */
export interface CheckpointParts {
  fn: string;
  model: MultiTaskModel;
  optimizer: object;
  scheduler: { scheduler: AnyLRScheduler } | null;
  generator: Generator;
  stopper: Stopper | null;
  callbacks: ReadonlyArray<{ getState?(): unknown; setState?(state: unknown): void }>;
  weighting: { getState(): unknown; setState(state: unknown): void };
  /** Why this fit cannot be checkpointed (state it cannot save), or null. */
  notResumable: string | null;
}

/**
 * The generators a model's modules hold (DNN's dropout draws from the model's seeded generator,
 * not the global one), each once, in module order: the same architecture lists them the same way.
 */
export function moduleGenerators(model: MultiTaskModel): Generator[] {
  const seen = new Set<Generator>();
  for (const m of model.modules()) {
    for (const v of Object.values(m)) if (v instanceof GeneratorClass && v !== defaultGenerator) seen.add(v);
  }
  return [...seen];
}

const optimizerName = (o: object): string => (o as { name?: unknown }).name as string ?? o.constructor.name;

interface StatefulOptimizer {
  stateDict(): OptimizerStateDict;
  loadStateDict(sd: OptimizerStateDict): void;
}

function statefulOptimizer(fn: string, o: object): StatefulOptimizer {
  const s = o as Partial<StatefulOptimizer>;
  if (typeof s.stateDict !== 'function' || typeof s.loadStateDict !== 'function') {
    throw new TypeError(`${fn}: checkpoints need an optimizer with stateDict() and loadStateDict() (every optimizer in optim has them)`);
  }
  return s as StatefulOptimizer;
}

/** The training state now, as an independent copy. */
export function captureCheckpoint(parts: CheckpointParts, epoch: number, step: number, stopped: boolean, history: History, partial: EpochProgress | null = null): TrainingCheckpoint {
  if (parts.notResumable !== null) throw new Error(`${parts.fn}: cannot take a checkpoint: ${parts.notResumable}`);
  const model: Record<string, Tensor> = {};
  for (const [k, t] of Object.entries(parts.model.stateDict())) model[k] = new Tensor(t.data.slice(), t.shape);
  const es = parts.stopper?.getState() ?? null;
  return {
    epoch, step, stopped, model, partial: partial && structuredClone(partial),
    taskWeighting: structuredClone(parts.weighting.getState()),
    optimizer: statefulOptimizer(parts.fn, parts.optimizer).stateDict(),
    scheduler: parts.scheduler ? parts.scheduler.scheduler.stateDict() : null,
    optimizerName: optimizerName(parts.optimizer),
    rng: {
      global: defaultGenerator.getState(),
      shuffle: parts.generator === defaultGenerator ? null : parts.generator.getState(),
      modules: moduleGenerators(parts.model).map((g) => g.getState()),
    },
    history: structuredClone({ epochs: history.epochs, bestEpoch: history.bestEpoch }),
    earlyStopping: es && es.map((e) => ({ ...e, snapshot: e.snapshot && e.snapshot.map((a) => a.slice()) })),
    callbacks: parts.callbacks.filter((c) => typeof c.getState === 'function').map((c) => structuredClone(c.getState!())),
  };
}

/**
 * Puts a checkpoint's state into the fit about to run; returns the history to continue. Every
 * mismatch (another model, another optimizer kind, a scheduler on one side only, a seed on one
 * side only, early stopping on one side only) is an error naming resumeFrom, raised before any
 * state changes except the model's own strict load, which checks everything before writing.
 */
export function restoreCheckpoint(parts: CheckpointParts, ckpt: TrainingCheckpoint): History {
  const fn = parts.fn;
  if (parts.notResumable !== null) throw new Error(`${fn}: resumeFrom: cannot resume: ${parts.notResumable}`);
  const opt = statefulOptimizer(fn, parts.optimizer);
  if ((ckpt.scheduler === null) !== (parts.scheduler === null)) {
    throw new Error(`${fn}: resumeFrom: the checkpoint was taken ${ckpt.scheduler === null ? 'without' : 'with'} an lrScheduler, this fit has ${parts.scheduler === null ? 'none' : 'one'}`);
  }
  if ((ckpt.rng.shuffle === null) !== (parts.generator === defaultGenerator)) {
    throw new Error(`${fn}: resumeFrom: the checkpoint was taken ${ckpt.rng.shuffle === null ? 'without' : 'with'} a seed, this fit has ${parts.generator === defaultGenerator ? 'none' : 'one'}; give the same seed option as the interrupted fit`);
  }
  if ((ckpt.earlyStopping === null) !== (parts.stopper === null)) {
    throw new Error(`${fn}: resumeFrom: the checkpoint was taken ${ckpt.earlyStopping === null ? 'without' : 'with'} earlyStopping, this fit has ${parts.stopper === null ? 'none' : 'it'}`);
  }
  if (ckpt.optimizerName !== optimizerName(parts.optimizer)) {
    throw new Error(`${fn}: resumeFrom: the checkpoint holds ${ckpt.optimizerName} state, this fit's optimizer is ${optimizerName(parts.optimizer)}`);
  }
  const gens = moduleGenerators(parts.model);
  if (gens.length !== ckpt.rng.modules.length) {
    throw new Error(`${fn}: resumeFrom: the checkpoint's model holds ${ckpt.rng.modules.length} module generator(s), this model ${gens.length}; is it the same architecture?`);
  }
  if ((ckpt.taskWeighting === null) !== (parts.weighting.getState() === null)) {
    throw new Error(`${fn}: resumeFrom: the checkpoint was taken ${ckpt.taskWeighting === null ? 'without' : 'with'} a learned taskWeighting, this fit has ${parts.weighting.getState() === null ? 'none' : 'one'}`);
  }
  const stateful = parts.callbacks.filter((c) => typeof c.setState === 'function');
  try {
    parts.model.loadStateDict(ckpt.model);
    opt.loadStateDict(ckpt.optimizer);
    parts.scheduler?.scheduler.loadStateDict(ckpt.scheduler!);
    if (ckpt.taskWeighting !== null) parts.weighting.setState(structuredClone(ckpt.taskWeighting));
  } catch (e) {
    throw new Error(`${fn}: resumeFrom: the checkpoint does not fit this model and optimizer: ${(e as Error).message}`, { cause: e });
  }
  defaultGenerator.setState(ckpt.rng.global);
  if (ckpt.rng.shuffle !== null) parts.generator.setState(ckpt.rng.shuffle);
  gens.forEach((g, i) => g.setState(ckpt.rng.modules[i]));
  if (ckpt.earlyStopping !== null) parts.stopper!.setState(ckpt.earlyStopping.map((e) => ({ ...e, snapshot: e.snapshot && e.snapshot.map((a) => a.slice()) })));
  stateful.forEach((c, i) => { if (i < ckpt.callbacks.length) c.setState!(structuredClone(ckpt.callbacks[i])); });
  const history = new History();
  for (const e of structuredClone(ckpt.history.epochs)) history.push(e);
  history.bestEpoch = ckpt.history.bestEpoch;
  return history;
}

const META_KEY = 'mmoe-ts.training-checkpoint';

// JSON has no NaN or ±Infinity (ReduceLROnPlateau's best starts at Infinity; logs can be NaN),
// and writes -0 as 0.
export const encodeNumber = (_k: string, v: unknown): unknown =>
  (typeof v === 'number' && (!Number.isFinite(v) || Object.is(v, -0)) ? { $number: Object.is(v, -0) ? '-0' : String(v) } : v);
export const decodeNumber = (_k: string, v: unknown): unknown =>
  v !== null && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length === 1 && typeof (v as { $number?: unknown }).$number === 'string'
    ? Number((v as { $number: string }).$number) : v;

/** Float32 when every value is one (Adam's moments of float32 weights), else float64: exact both ways. */
function arrayTensor(a: readonly number[]): Tensor {
  const f32 = Float32Array.from(a);
  for (let i = 0; i < a.length; i++) if (f32[i] !== a[i]) return new Tensor(Float64Array.from(a), [a.length]);
  return new Tensor(f32, [a.length]);
}

/** The optimizer's state arrays as tensors in `tensors` (`optimizer/<id>/<key>`); returns the JSON rest, naming them. */
export function optimizerStateToTensors(sd: OptimizerStateDict, tensors: Record<string, Tensor>): { paramGroups: OptimizerStateDict['paramGroups']; state: Record<string, Record<string, number | string>> } {
  const state: Record<string, Record<string, number | string>> = {};
  for (const [id, st] of Object.entries(sd.state)) {
    state[id] = {};
    for (const [k, v] of Object.entries(st)) {
      if (typeof v === 'number') state[id][k] = v;
      else {
        const name = `optimizer/${id}/${k}`;
        tensors[name] = arrayTensor(v);
        state[id][k] = `$tensor:${name}`;
      }
    }
  }
  return { paramGroups: sd.paramGroups, state };
}

/** optimizerStateToTensors reversed; `take` returns a named tensor or throws. */
export function optimizerStateFromTensors(
  meta: { paramGroups: OptimizerStateDict['paramGroups']; state: Record<string, Record<string, number | string>> }, take: (name: string) => Tensor,
): OptimizerStateDict {
  const state: OptimizerStateDict['state'] = {};
  for (const [id, st] of Object.entries(meta.state)) {
    const out: Record<string, number | number[]> = {};
    for (const [k, v] of Object.entries(st)) out[k] = typeof v === 'string' ? Array.from(take(v.slice(8)).data) : v;
    state[Number(id)] = out;
  }
  return { paramGroups: meta.paramGroups, state };
}

/** The checkpoint as safetensors bytes. */
export function encodeCheckpoint(ckpt: TrainingCheckpoint): Uint8Array {
  const tensors: Record<string, Tensor> = {};
  for (const [k, t] of Object.entries(ckpt.model)) tensors[`model/${k}`] = t;
  const optimizer = optimizerStateToTensors(ckpt.optimizer, tensors);
  const es = ckpt.earlyStopping;
  es?.forEach((e, j) => e.snapshot?.forEach((a, i) => { tensors[`early_stopping/${j}/${i}`] = new Tensor(a, [a.length]); }));
  const meta = {
    format: 1, epoch: ckpt.epoch, step: ckpt.step, stopped: ckpt.stopped, optimizerName: ckpt.optimizerName,
    optimizer,
    scheduler: ckpt.scheduler, rng: ckpt.rng, history: ckpt.history,
    earlyStopping: es && es.map((e) => ({ ...e, snapshot: e.snapshot === null ? null : e.snapshot.length })),
    callbacks: ckpt.callbacks, partial: ckpt.partial, taskWeighting: ckpt.taskWeighting,
  };
  return encodeSafetensorsAs('encodeCheckpoint:', tensors, { [META_KEY]: JSON.stringify(meta, encodeNumber) });
}

/** A checkpoint from encodeCheckpoint's bytes (or a file ModelCheckpoint wrote). */
export function decodeCheckpoint(bytes: Uint8Array): TrainingCheckpoint {
  const { tensors, metadata } = decodeSafetensorsAs('decodeCheckpoint:', bytes);
  const raw = metadata[META_KEY];
  if (raw === undefined) throw new Error(`decodeCheckpoint: not a training checkpoint (a safetensors file without '${META_KEY}' metadata; a plain state dict loads with loadStateDict)`);
  const meta = JSON.parse(raw, decodeNumber);
  if (meta.format !== 1) throw new Error(`decodeCheckpoint: unknown checkpoint format ${String(meta.format)} (this version reads 1)`);
  const take = (name: string): Tensor => {
    const t = tensors[name];
    if (t === undefined) throw new Error(`decodeCheckpoint: tensor '${name}' is missing`);
    return t;
  };
  const model: Record<string, Tensor> = {};
  for (const [k, t] of Object.entries(tensors)) if (k.startsWith('model/')) model[k.slice(6)] = t;
  const es = meta.earlyStopping;
  return {
    epoch: meta.epoch, step: meta.step, stopped: meta.stopped === true, optimizerName: meta.optimizerName, model,
    optimizer: optimizerStateFromTensors(meta.optimizer, take),
    scheduler: meta.scheduler, rng: meta.rng, history: meta.history,
    earlyStopping: es && (es as Array<Omit<EarlyStoppingState, 'snapshot'> & { snapshot: number | null }>).map((e, j) => ({
      ...e,
      snapshot: e.snapshot === null ? null : Array.from({ length: e.snapshot }, (_, i) => take(`early_stopping/${j}/${i}`).data as Float32Array | Float64Array),
    })),
    callbacks: meta.callbacks,
    // Absent from files written before mid-epoch checkpoints and learned task weights were saved.
    partial: meta.partial ?? null, taskWeighting: meta.taskWeighting ?? null,
  };
}

/** fit's resumeFrom: a checkpoint object, or its bytes. */
export function checkpointFrom(fn: string, v: unknown): TrainingCheckpoint {
  if (v instanceof Uint8Array) return decodeCheckpoint(v);
  const c = v as Partial<TrainingCheckpoint> | null;
  if (c === null || typeof c !== 'object' || !Number.isInteger(c.epoch) || !Number.isInteger(c.step) || typeof c.model !== 'object' ||
      typeof c.optimizer !== 'object' || typeof c.rng !== 'object' || typeof c.history !== 'object' || !Array.isArray(c.callbacks)) {
    throw new TypeError(`${fn}: resumeFrom must be a training checkpoint (from ModelCheckpoint, loadCheckpoint or decodeCheckpoint) or its bytes`);
  }
  return { partial: null, taskWeighting: null, ...c } as TrainingCheckpoint;
}
