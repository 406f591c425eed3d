import { Tensor, zeros } from '../autograd/index.js';
import { NDArray, formatShape, shapesEqual } from '../tensor/index.js';
import { checkLoadOptions, type LoadStateDictOptions, type LoadStateDictResult, type Module } from '../nn/module.js';
import { savedDType, setSavedDType } from '../nn/saved-dtype.js';
import { DCN, DeepCrossBase } from './dcn.js';
import { DCNMix } from './dcn-mix.js';
import { ESMM } from './esmm.js';
import { MMoE } from './mmoe.js';
import { PLE } from './ple.js';
import { SharedBottom } from './sharedbottom.js';

/*
 * State dicts in DeepCTR-Torch's layout. For MMoE, SharedBottom, ESMM, DCN and DCNMix the layouts are the same
 * (the conversion is the identity, apart from DCN without cross layers); PLE differs in three
 * ways, all DeepCTR-Torch's: its shared experts and task gate DNNs sit one ModuleList deeper
 * (`shared_experts.{level}.0.{k}`, `specific_gate_dnn.{level}.{task}.0`), it builds a shared gate
 * at the last level whose output it never uses, and it builds `specific_expert_num` shared experts
 * where `shared_expert_num` are used.
 *
 * One mechanism covers every model: a key renaming (ours → theirs) plus "extras", tensors
 * DeepCTR-Torch has that this model has no use for. Writing adds the extras as placeholders
 * (zeros; BatchNorm running_var ones); reading checks their shapes and drops them.
 */

interface Layout {
  rename(key: string): string;
  /** DeepCTR-Torch key → a placeholder of the right shape and dtype. */
  extras: Record<string, Tensor>;
}

function placeholder(like: Tensor, key: string): Tensor {
  const t = zeros(like.shape, { dtype: like.dtype });
  if (key.endsWith('.running_var')) t.data.fill(1);
  return setSavedDType(t, savedDType(like));
}

/** Placeholders under `to` shaped like this model's tensors under `from` (both dotted prefixes). */
function extrasLike(own: Record<string, Tensor>, from: string, to: string, out: Record<string, Tensor>): void {
  for (const [k, t] of Object.entries(own)) {
    if (!k.startsWith(from)) continue;
    const key = to + k.slice(from.length);
    out[key] = placeholder(t, key);
  }
}

function pleLayout(m: PLE, fn: string): Layout {
  const S = m.specificExpertNum, K = m.sharedExpertNum, L = m.numLevels, T = m.numTasks;
  if (S === 0 || K > S) {
    throw new Error(`${fn}: DeepCTR-Torch's PLE builds its shared experts with specific_expert_num (${S}) instead of shared_expert_num, ` +
      `so it cannot hold sharedExpertNum ${K} > specificExpertNum ${S} (its forward would index a shared expert that does not exist); ` +
      'use sharedExpertNum ≤ specificExpertNum, equal counts being what DeepCTR-Torch builds as intended');
  }
  const rename = (k: string): string => k
    .replace(/^shared_experts\.(\d+)\.(\d+)\./, 'shared_experts.$1.0.$2.')
    .replace(/^specific_gate_dnn\.(\d+)\.(\d+)\./, 'specific_gate_dnn.$1.$2.0.');
  const own = m.stateDict();
  const extras: Record<string, Tensor> = {};
  // The S − K shared experts per level that DeepCTR-Torch builds but never uses: shaped like an expert of that level.
  for (let l = 0; l < L; l++) {
    for (let k = K; k < S; k++) extrasLike(own, `specific_experts.${l}.0.0.`, `shared_experts.${l}.0.${k}.`, extras);
  }
  // The last level's shared gate: its DNN is shaped like that level's task gate DNN.
  const last = L - 1;
  if (m.gateHiddenUnits.length) extrasLike(own, `specific_gate_dnn.${last}.0.`, `shared_gate_dnn.${last}.`, extras);
  const gateIn = own[`specific_gate_dnn_final_layer.${last}.0.weight`].shape[1];
  const key = `shared_gate_dnn_final_layer.${last}.weight`;
  extras[key] = placeholder(zeros([T * S + K, gateIn], { dtype: own[`specific_gate_dnn_final_layer.${last}.0.weight`].dtype }), key);
  return { rename, extras };
}

function dcnLayout(m: DeepCrossBase<Module & { forward(x: Tensor): Tensor }>, fn: string): Layout {
  const name = m instanceof DCNMix ? 'DCNMix' : 'DCN';
  if (m.numTasks !== 1) throw new Error(`${fn}: DeepCTR-Torch's ${name} has one task; this ${name} has ${m.numTasks} (${m.taskNames.join(', ')})`);
  if (!m.dnn) throw new Error(`${fn}: DeepCTR-Torch's ${name} always has a deep part (its DNN rejects empty hidden units); this ${name} has dnnHiddenUnits []`);
  const extras: Record<string, Tensor> = {};
  if (!m.crossnet && m instanceof DCN) {
    // DeepCTR-Torch builds a CrossNet of 0 layers: empty kernels and bias.
    const F = m.inputDim;
    const dtype = m.dnn_linear.weight.dtype;
    extras['crossnet.kernels'] = zeros([0, F, m.crossParameterization === 'matrix' ? F : 1], { dtype });
    extras['crossnet.bias'] = zeros([0, F, 1], { dtype });
  }
  return { rename: (k) => k, extras };
}

function layoutOf(model: Module, fn: string): Layout {
  const types = (model as { taskTypes?: readonly string[] }).taskTypes;
  const names = (model as { taskNames?: readonly string[] }).taskNames;
  const j = types?.indexOf('multiclass') ?? -1;
  if (j >= 0) {
    // DeepCTR-Torch's PredictionLayer knows 'binary' and 'regression' only, one output per task.
    throw new Error(`${fn}: task '${names?.[j]}' is multiclass; DeepCTR-Torch's models have one output per task with task_types 'binary' or 'regression' (its PredictionLayer has no softmax), so this model has no DeepCTR-Torch counterpart`);
  }
  if (model instanceof PLE) return pleLayout(model, fn);
  if (model instanceof DeepCrossBase) return dcnLayout(model, fn);
  if (model instanceof MMoE || model instanceof SharedBottom || model instanceof ESMM) return { rename: (k) => k, extras: {} };
  const name = model?.constructor?.name ?? typeof model;
  throw new TypeError(`${fn}: ${name} has no DeepCTR-Torch counterpart (supported: MMoE, SharedBottom, DCN, DCNMix, PLE, ESMM)`);
}

/**
 * The model's state dict in DeepCTR-Torch's layout (key → tensor), ready for
 * `load_state_dict(strict=True)` of the same model built there. The tensors are the model's own
 * (as `stateDict()`), plus placeholders for what DeepCTR-Torch builds and never uses. Throws for a
 * model or configuration DeepCTR-Torch cannot express, saying why.
 */
export function toDeepCTRTorch(model: Module): Record<string, Tensor> {
  const { rename, extras } = layoutOf(model, 'toDeepCTRTorch');
  const out: Record<string, Tensor> = {};
  for (const [k, t] of Object.entries(model.stateDict())) out[rename(k)] = t;
  for (const [k, t] of Object.entries(extras)) out[k] = t;
  return out;
}

const hasOwn = (o: object, k: string): boolean => Object.prototype.hasOwnProperty.call(o, k);

/**
 * Loads a state dict in DeepCTR-Torch's layout into the model, with loadStateDict's semantics
 * (strict by default; shapes always checked; values cast to the model's dtype). Keys in errors
 * and in the result are DeepCTR-Torch's. Nothing is written unless the whole dict is acceptable.
 */
export function fromDeepCTRTorch(model: Module, dict: Record<string, NDArray>, opts: LoadStateDictOptions = {}): LoadStateDictResult {
  const fn = 'fromDeepCTRTorch';
  const { rename, extras } = layoutOf(model, fn);
  if (dict === null || typeof dict !== 'object' || Array.isArray(dict) || dict instanceof NDArray) {
    throw new TypeError(`${fn}: expected a state dict (an object of name → Tensor), got ${dict === null ? 'null' : Array.isArray(dict) ? 'an array' : dict instanceof NDArray ? 'a Tensor' : typeof dict}`);
  }
  for (const [k, v] of Object.entries(dict)) {
    if (!(v instanceof NDArray)) throw new TypeError(`${fn}: the value of '${k}' is not a Tensor (got ${v === null ? 'null' : typeof v})`);
  }
  checkLoadOptions(fn, opts);
  const strict = opts.strict ?? true;
  const own = model.stateDict();
  const theirs = new Map<string, Tensor>(); // DeepCTR-Torch key → the tensor it must match
  const ours = new Map<string, string>(); // DeepCTR-Torch key → our key
  for (const [k, t] of Object.entries(own)) {
    theirs.set(rename(k), t);
    ours.set(rename(k), k);
  }
  for (const [k, t] of Object.entries(extras)) theirs.set(k, t);
  const missingKeys = [...theirs.keys()].filter((k) => !hasOwn(dict, k));
  const unexpectedKeys = Object.keys(dict).filter((k) => !theirs.has(k));
  const problems: string[] = [];
  if (strict && missingKeys.length) problems.push(`missing keys: ${missingKeys.join(', ')}`);
  if (strict && unexpectedKeys.length) problems.push(`unexpected keys: ${unexpectedKeys.join(', ')}`);
  for (const [k, t] of theirs) {
    if (hasOwn(dict, k) && !shapesEqual(dict[k].shape, t.shape)) {
      problems.push(`wrong shape for ${k}: expected ${formatShape(t.shape)}, got ${formatShape(dict[k].shape)}`);
    }
  }
  if (problems.length) throw new Error(`${fn}: ${problems.join('; ')}`);
  const converted: Record<string, NDArray> = {};
  for (const [k, ourKey] of ours) if (hasOwn(dict, k)) converted[ourKey] = dict[k];
  model.loadStateDict(converted, { strict: false });
  return { missingKeys, unexpectedKeys };
}
