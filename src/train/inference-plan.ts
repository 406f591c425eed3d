import { randn, tracePlan, type ReplayPlan, type Tensor } from '../autograd/index.js';
import { activeTracer } from '../autograd/trace.js';
import { Generator, releaseRecycle, scopeRecycle, shapesEqual, type ScopeRecycle } from '../tensor/index.js';
import { moduleStructureVersion } from '../nn/module.js';
import { InputLayer } from '../models/features.js';
import type { FeatureBatch, MultiTaskModel } from '../models/types.js';

/*
 * predict's plans: a model's eval-mode forward over a dense batch of up to MAX_PLAN_ROWS rows,
 * traced once per batch shape and replayed (autograd/replay.ts), so a call on one row pays for
 * its kernels, not for the module code, the Tensor objects and the mode switches around them
 * (half of such a call).
 * A shape is traced the second time it comes with the parameters and buffers unchanged, and
 * again after any of them changes in place (the plan reads as stale) or any module registers a
 * child, a parameter or a buffer, or casts its tensors (Module.to); a model whose forward cannot
 * be replayed (tracePlan says why) is remembered as such and runs op by op.
 * A model built on feature columns is traced from its input layer's output: the embedding lookups
 * run op by op on each batch (their ids are not an op's input), and the rest replays.
 */

/** A traced forward, and the arrays its last replay returned for the next to take again. */
export interface InferencePlan {
  readonly replay: ReplayPlan;
  readonly recycle: ScopeRecycle;
}

/**
 * A batch shape seen once with the parameters and buffers at these versions: traced only if it
 * comes again before they change (evaluating after every few training steps, as the synthetic
 * experiment's curves do, would otherwise pay about six forwards, three traced and three replayed
 * to check, for each one it replaces).
 */
interface Sighting {
  readonly watched: readonly Tensor[];
  versions: number[];
}

type Entry = InferencePlan | Sighting | string;

interface ModelPlans {
  version: number;
  byShape: Map<string, Entry>;
  /** The shape and dtype asked for last, and its entry: calls on batches of one shape skip the lookup. */
  lastShape: readonly number[];
  lastDType: string;
  last: Entry | undefined;
}

const plans = new WeakMap<object, ModelPlans>();
/** Batch shapes remembered per model: a loop over ragged batch sizes must not grow the cache. */
const MAX_SHAPES = 8;
/**
 * Batches of more rows run op by op: their time is the kernels' (the per-op costs a replay saves
 * are a few percent of a forward from here), and a trace costs about six forwards, which evaluating
 * after every epoch (fit's validation, the experiments' curves) would pay again each time.
 */
export const MAX_PLAN_ROWS = 256;
let enabled = true;

/** Whether a batch of `rows` rows may get a plan now (plans on, no trace running, not too many rows). */
export function mayPlan(rows: number): boolean {
  return enabled && activeTracer() === null && rows <= MAX_PLAN_ROWS;
}

/** Turns predict's plans off (false: every call runs the model op by op) — for tests and benchmarks. */
export function setInferencePlans(on: boolean): void {
  enabled = on;
}

/**
 * The plan for `model` on batches shaped like `x`, or null where there is none (yet: a shape is
 * traced the second time it comes with the parameters unchanged). Traces run inside `evalMode`
 * (which runs a function in eval mode under noGrad).
 */
export function inferencePlan(model: MultiTaskModel, x: Tensor, evalMode: <T>(fn: () => T) => T, from: FromInputLayer | null = null): InferencePlan | null {
  if (!enabled) return null;
  const version = moduleStructureVersion();
  // Inside a trace (an ONNX export, a user's traceOps) the forward runs op by op, to be seen.
  if (activeTracer() !== null || x.shape.length === 0 || x.shape[0] > MAX_PLAN_ROWS) return null;
  let mine = plans.get(model);
  if (mine === undefined || mine.version !== version) {
    if (mine !== undefined) releaseAll(mine);
    plans.set(model, (mine = { version, byShape: new Map(), lastShape: [], lastDType: '', last: undefined }));
  }
  let entry: Entry | undefined;
  if (mine.last !== undefined && mine.lastDType === x.dtype && shapesEqual(mine.lastShape, x.shape)) entry = mine.last;
  else entry = mine.byShape.get(planKey(x));
  const next = advance(entry, model, x, evalMode, from);
  if (next !== entry) {
    if (entry === undefined && mine.byShape.size >= MAX_SHAPES) releaseAll(mine);
    mine.byShape.set(planKey(x), next);
  }
  mine.lastShape = x.shape;
  mine.lastDType = x.dtype;
  mine.last = next;
  return typeof next === 'string' || !('replay' in next) ? null : next;
}

/**
 * Drops every plan of a model, their waiting arrays back to the heap now: a loop over many batch
 * shapes, or one that registers modules, never lets the collector's finalizers run.
 */
function releaseAll(mine: ModelPlans): void {
  for (const e of mine.byShape.values()) if (typeof e !== 'string' && 'replay' in e) releaseRecycle(e.recycle);
  mine.byShape.clear();
  mine.last = undefined;
}

/** What a shape's entry becomes on this call. */
function advance(entry: Entry | undefined, model: MultiTaskModel, x: Tensor, evalMode: <T>(fn: () => T) => T, from: FromInputLayer | null): Entry {
  if (typeof entry === 'string') return entry;
  if (entry === undefined) {
    const watched = Object.values(model.stateDict());
    return { watched, versions: watched.map((t) => t._version) };
  }
  if ('replay' in entry) {
    if (!entry.replay.stale()) return entry;
    releaseRecycle(entry.recycle);
    const watched = Object.values(model.stateDict());
    return { watched, versions: watched.map((t) => t._version) };
  }
  const { watched, versions } = entry;
  let changed = false;
  for (let k = 0; k < watched.length; k++) {
    if (watched[k]._version !== versions[k]) { versions[k] = watched[k]._version; changed = true; }
  }
  return changed ? entry : trace(model, x, evalMode, from);
}

function trace(model: MultiTaskModel, x: Tensor, evalMode: <T>(fn: () => T) => T, from: FromInputLayer | null): InferencePlan | string {
  const constants = new Set(Object.values(model.stateDict()));
  let others = false;
  const forward = from === null ? (input: Tensor) => model.forward(input) : (h: Tensor) => {
    const r = forwardFromInputLayer(model, from, h);
    others ||= r.others;
    return r.y;
  };
  const replay = evalMode(() => {
    // The input negated (a branch on a sign) and values unrelated to it.
    const probes = [x.neg(), randn(x.shape, { dtype: x.dtype, generator: new Generator(0x9e3779b9) })];
    return tracePlan(forward, x, probes, constants);
  });
  // Another input layer's output (DCN's linear part) comes from the batch's columns, which a
  // replay would not see change.
  if (others) return 'the forward reads the feature columns through more than one input layer';
  return typeof replay === 'string' ? replay : { replay, recycle: scopeRecycle() };
}

/** A feature-column model's input layer and the batch it is given (what the rest of the forward is called with). */
export interface FromInputLayer {
  layer: InputLayer;
  batch: FeatureBatch;
}

/** The input layer of a model built on feature columns, or null. */
export function inputLayerOf(model: MultiTaskModel): InputLayer | null {
  const layer = (model as { inputLayer?: unknown }).inputLayer;
  return layer instanceof InputLayer ? layer : null;
}

/**
 * model.forward(from.batch) with `from.layer`'s output taken to be `h` (computed already); `others`:
 * whether another input layer ran on the batch.
 */
export function forwardFromInputLayer(model: MultiTaskModel, from: FromInputLayer, h: Tensor): { y: Tensor; others: boolean } {
  const proto = InputLayer.prototype;
  const real = proto.forward;
  let others = false;
  proto.forward = function forward(this: InputLayer, batch: FeatureBatch): Tensor {
    if (this === from.layer) return h;
    others = true;
    return real.call(this, batch);
  };
  try {
    return { y: model.forward(from.batch), others };
  } finally {
    proto.forward = real;
  }
}

function planKey(x: Tensor): string {
  return `${x.shape.join('x')}:${x.dtype}`;
}

/** Why `model` has no plan for batches shaped like `x` (null when it has one), tracing now if need be: for tests. */
export function inferencePlanRefusal(model: MultiTaskModel, x: Tensor, evalMode: <T>(fn: () => T) => T, from: FromInputLayer | null = null): string | null {
  if (!enabled) return 'plans are off';
  if (x.shape[0] > MAX_PLAN_ROWS) return `batches of more than ${MAX_PLAN_ROWS} rows run op by op`;
  for (let i = 0; i < 2; i++) if (inferencePlan(model, x, evalMode, from) !== null) return null;
  const v = plans.get(model)?.byShape.get(planKey(x));
  return typeof v === 'string' ? v : 'not traced';
}
