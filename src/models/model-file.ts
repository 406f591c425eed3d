import { FormatError, decodeSafetensorsAs, encodeSafetensorsAs } from '../nn/safetensors.js';
import { checkOptionKeys, type OptionKeys } from '../validation/options.js';
import { MultiTaskBase } from './base.js';
import { DenseFeat, SparseFeat, VarLenSparseFeat, type FeatureColumn } from './features.js';
import { createModel, modelClasses, modelNames, type ModelName, type ModelOptionsByName } from './registry.js';
import { checkRowEncoding, type RowEncoding } from './row-encoding.js';
import type { TaskType } from './types.js';

/*
 * The whole-model file: one safetensors file whose tensors are the state dict (DeepCTR-Torch's
 * names, so PyTorch reads the weights as they are) and whose string metadata holds, as JSON under
 * `mmoe_ts_model`, everything needed to rebuild the model without the caller's options: the
 * architecture's name, its constructor options, the feature columns, the tasks, the dtype and,
 * optionally, the RowEncoding that turns raw rows into its input. `format` and `format_version`
 * say what the file is, so an old or foreign file fails with a message, not a wrong model.
 * Plain state dicts (serializeSafetensors) stay for interop; this is the form to deploy.
 */

export const MODEL_FORMAT = 'mmoe-ts-model';
export const MODEL_FORMAT_VERSION = 1;

/** What serializeModel stores besides the weights (the JSON of the `mmoe_ts_model` metadata). */
export interface ModelSpec {
  architecture: ModelName;
  /** Constructor options other than features, taskNames and taskTypes (JSON values only). */
  options: Record<string, unknown>;
  features: FeatureColumn[] | null;
  taskNames: string[];
  taskTypes: TaskType[];
  dtype: 'float32' | 'float64';
  encoding: RowEncoding | null;
  extra: Record<string, unknown> | null;
}

export interface SerializeModelOptions {
  /** How raw rows become this model's input (fitRowEncoding, or what `mmoe-ts train` learned). */
  encoding?: RowEncoding;
  /** Any JSON object kept with the model (the CLI keeps its CSV settings and label columns here). */
  extra?: Record<string, unknown>;
}

/** A model read back from a model file, with what was saved beside it. */
export interface LoadedModel {
  model: MultiTaskBase;
  spec: ModelSpec;
  /** The row encoding saved with the model, or null. */
  encoding: RowEncoding | null;
  extra: Record<string, unknown> | null;
}

const OPTION_KEYS: OptionKeys<SerializeModelOptions> = { encoding: true, extra: true };

const BUILT_FROM_SPEC = new Set(['features', 'taskNames', 'taskTypes']);

/** Throws unless v is made of JSON values only (the path names the first one that is not). */
function checkJson(fn: string, path: string, v: unknown): void {
  if (v === null || typeof v === 'string' || typeof v === 'boolean') return;
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new Error(`${fn}: option ${path} is ${v}, which JSON cannot hold`);
    return;
  }
  if (Array.isArray(v)) { v.forEach((x, i) => checkJson(fn, `${path}[${i}]`, x)); return; }
  if (typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype) {
    for (const [k, x] of Object.entries(v)) if (x !== undefined) checkJson(fn, `${path}.${k}`, x);
    return;
  }
  const what = typeof v === 'function' ? 'a function' : typeof v === 'object' ? `a ${(v as object).constructor?.name ?? 'non-plain'} object` : typeof v;
  throw new Error(`${fn}: option ${path} is ${what}; a model file holds JSON values only (give activations by name, e.g. 'relu')`);
}

/** The model's spec: what deserializeModel needs to rebuild it. */
export function modelSpec(fn: string, model: MultiTaskBase, opts: SerializeModelOptions = {}): ModelSpec {
  if (!(model instanceof MultiTaskBase)) throw new TypeError(`${fn}: expected one of the models (${modelNames.join(', ')})`);
  const architecture = model.architecture as ModelName;
  if (!modelNames.includes(architecture)) throw new Error(`${fn}: '${architecture}' is not in the model registry (${modelNames.join(', ')}), so it could not be rebuilt`);
  if (model.constructor !== modelClasses[architecture]) {
    throw new Error(`${fn}: the model is a subclass of ${architecture}, which loading would rebuild as a plain ${architecture}; save its state dict (serializeSafetensors) and rebuild it yourself`);
  }
  const options: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(model.constructorOptions)) {
    if (BUILT_FROM_SPEC.has(k) || v === undefined) continue;
    checkJson(fn, k, v);
    options[k] = v;
  }
  if (opts.extra !== undefined) checkJson(fn, 'extra', opts.extra);
  const encoding = opts.encoding === undefined ? null : checkRowEncoding(fn, opts.encoding);
  const features = model.inputLayer ? [...(model.constructorOptions.features ?? model.inputLayer.features)] : null;
  if (encoding && features) {
    const names = new Set(features.map((f) => f.name));
    const missing = [...encoding.sparse, ...encoding.dense].find((c) => !names.has(c.column));
    if (missing) throw new Error(`${fn}: encoding column '${missing.column}' is not a feature of the model (${[...names].join(', ')})`);
  }
  const dtype = model.parameters()[0]?.dtype === 'float64' ? 'float64' : 'float32';
  return {
    architecture, options, features, taskNames: [...model.taskNames], taskTypes: [...model.taskTypes], dtype,
    encoding, extra: opts.extra ?? null,
  };
}

/**
 * The whole model as the bytes of one safetensors file: weights (state-dict names) plus metadata
 * to rebuild it — architecture, options, feature columns, tasks and, if given, the row encoding.
 * `deserializeModel(bytes)` gives it back with no options; PyTorch's `safetensors` reads the
 * weights. The Node form is `saveModel(file, model)` in mmoe-ts/node.
 */
export function serializeModel(model: MultiTaskBase, opts: SerializeModelOptions = {}): Uint8Array {
  return encodeModelAs('serializeModel', model, opts);
}

/** serializeModel with errors prefixed by `fn` (saveModel names itself). */
export function encodeModelAs(fn: string, model: MultiTaskBase, opts: SerializeModelOptions): Uint8Array {
  checkOptionKeys(fn, opts, OPTION_KEYS);
  const spec = modelSpec(fn, model, opts);
  return encodeSafetensorsAs(`${fn}:`, model.stateDict(), {
    format: MODEL_FORMAT,
    format_version: String(MODEL_FORMAT_VERSION),
    // The keys older files carried, kept for readers that look at them (interop/check.py).
    model: spec.architecture,
    taskNames: spec.taskNames.join(','),
    taskTypes: spec.taskTypes.join(','),
    mmoe_ts_model: JSON.stringify(spec),
  });
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function rebuildFeature(fn: string, f: unknown): FeatureColumn {
  if (!isObject(f)) throw new FormatError(`${fn}: a feature column is ${JSON.stringify(f)}`);
  try {
    if (f.kind === 'dense') return DenseFeat(f.name as string, f.dimension as number);
    const sparse = (s: Record<string, unknown>) => SparseFeat(s.name as string, s.vocabularySize as number, {
      embeddingDim: s.embeddingDim as number, embeddingName: s.embeddingName as string,
      ...(s.useHash === true ? { useHash: true } : {}),
    });
    if (f.kind === 'sparse') return sparse(f);
    if (f.kind === 'varlen' && isObject(f.sparseFeat)) return VarLenSparseFeat(sparse(f.sparseFeat), f.maxLen as number, f.combiner as 'mean');
  } catch (e) {
    throw new FormatError(`${fn}: feature column ${JSON.stringify(f.name)}: ${(e as Error).message}`);
  }
  throw new FormatError(`${fn}: feature column ${JSON.stringify(f.name)} has unknown kind ${JSON.stringify(f.kind)}`);
}

/** Checks the metadata of a model file and returns its spec; `fn` starts every message. */
export function parseModelSpec(fn: string, metadata: Record<string, string>): ModelSpec {
  if (metadata.format !== MODEL_FORMAT) {
    const hint = metadata.model !== undefined
      ? `it looks like a plain state dict of an older mmoe-ts (model '${metadata.model}', no options saved): rebuild the model with its options and call loadStateDict, or train again`
      : 'it is a plain safetensors state dict: load it with loadSafetensors / deserializeSafetensors and loadStateDict';
    throw new FormatError(`${fn}: not an mmoe-ts model file (metadata 'format' is ${JSON.stringify(metadata.format)}, expected '${MODEL_FORMAT}'); ${hint}`);
  }
  const version = Number(metadata.format_version);
  if (!Number.isInteger(version) || version < 1) throw new FormatError(`${fn}: bad format_version ${JSON.stringify(metadata.format_version)}`);
  if (version > MODEL_FORMAT_VERSION) {
    throw new FormatError(`${fn}: model file format version ${version} is newer than this mmoe-ts reads (${MODEL_FORMAT_VERSION}); upgrade mmoe-ts`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(metadata.mmoe_ts_model ?? '');
  } catch (e) {
    throw new FormatError(`${fn}: metadata 'mmoe_ts_model' is not valid JSON: ${(e as Error).message}`);
  }
  if (!isObject(raw)) throw new FormatError(`${fn}: metadata 'mmoe_ts_model' must be a JSON object`);
  if (typeof raw.architecture !== 'string' || !modelNames.includes(raw.architecture as ModelName)) {
    throw new FormatError(`${fn}: architecture ${JSON.stringify(raw.architecture)} is not one this mmoe-ts knows (${modelNames.join(', ')})`);
  }
  if (!isObject(raw.options)) throw new FormatError(`${fn}: 'options' must be an object`);
  if (!Array.isArray(raw.taskNames) || !Array.isArray(raw.taskTypes) || raw.taskNames.length !== raw.taskTypes.length) {
    throw new FormatError(`${fn}: 'taskNames' and 'taskTypes' must be arrays of one entry per task`);
  }
  if (raw.dtype !== 'float32' && raw.dtype !== 'float64') throw new FormatError(`${fn}: 'dtype' must be 'float32' or 'float64', got ${JSON.stringify(raw.dtype)}`);
  const features = raw.features === null ? null : Array.isArray(raw.features) ? raw.features.map((f) => rebuildFeature(fn, f)) : undefined;
  if (features === undefined) throw new FormatError(`${fn}: 'features' must be an array of feature columns or null`);
  let encoding: RowEncoding | null = null;
  if (raw.encoding !== null && raw.encoding !== undefined) {
    try {
      encoding = checkRowEncoding(fn, raw.encoding);
    } catch (e) {
      throw new FormatError((e as Error).message);
    }
  }
  if (raw.extra !== null && raw.extra !== undefined && !isObject(raw.extra)) throw new FormatError(`${fn}: 'extra' must be an object or null`);
  return {
    architecture: raw.architecture as ModelName, options: raw.options, features,
    taskNames: raw.taskNames as string[], taskTypes: raw.taskTypes as TaskType[], dtype: raw.dtype,
    encoding, extra: (raw.extra as Record<string, unknown> | undefined) ?? null,
  };
}

/**
 * A model from the bytes of serializeModel: rebuilt from the saved architecture and options,
 * weights loaded (strictly: every key, every shape), in eval mode. A plain state dict, a file of a
 * newer format version or weights that do not fit the saved architecture are FormatErrors.
 */
export function deserializeModel(bytes: Uint8Array): LoadedModel {
  return decodeModelAs('deserializeModel', bytes);
}

/** deserializeModel with errors prefixed by `fn` (loadModel names itself and the file). */
export function decodeModelAs(fn: string, bytes: Uint8Array): LoadedModel {
  const { tensors, metadata } = decodeSafetensorsAs(`${fn}:`, bytes);
  const spec = parseModelSpec(fn, metadata);
  const input = spec.features ? { features: spec.features } : {};
  let model: MultiTaskBase;
  try {
    model = createModel(spec.architecture, {
      ...spec.options, ...input, taskNames: spec.taskNames, taskTypes: spec.taskTypes,
    } as unknown as ModelOptionsByName[typeof spec.architecture]) as MultiTaskBase;
  } catch (e) {
    throw new FormatError(`${fn}: the saved options do not build a ${spec.architecture}: ${(e as Error).message}`);
  }
  if (spec.dtype === 'float64') model.to('float64');
  try {
    model.loadStateDict(tensors);
  } catch (e) {
    throw new FormatError(`${fn}: the weights do not fit the saved ${spec.architecture}: ${(e as Error).message}`);
  }
  model.eval();
  return { model, spec, encoding: spec.encoding, extra: spec.extra };
}
