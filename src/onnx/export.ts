import { Tensor, noGrad, traceOps, untraced, type TracedOp } from '../autograd/index.js';
import { Generator, allocate, formatShape, type DType } from '../tensor/index.js';
import { checkOptionKeys, type OptionKeys } from '../validation/options.js';
import { MultiTaskBase, hasGateWeights } from '../models/base.js';
import { PLE } from '../models/ple.js';
import { InputLayer } from '../models/features.js';
import type { FeatureBatch, ModelInput } from '../models/types.js';
import { GraphBuilder, dataTypeOf, rawBytes, type SymShape } from './graph-builder.js';
import { ONNX_ML_OPSET, lowerInputLayer } from './input-layer.js';
import { checkRowEncoding, type RowEncoding } from '../models/row-encoding.js';
import { exportError, lowerings } from './lower.js';
import { encodeModel, type GraphDef, type ValueInfoDef } from './proto.js';

/*
 * How a model becomes an ONNX graph: one general mechanism for every model. The model's forward
 * runs in eval mode under noGrad on a sample batch while `traceOps` records every op it applies
 * (name, input tensors, attributes, output); each recorded op is then lowered to ONNX nodes by
 * the table in lower.ts. Tensors no op produced are parameters (initializers under their
 * state-dict names) or constants. A new model, or a model rewritten to other ops (experts as one
 * wide GEMM, say), needs no exporter change as long as its ops are in the table.
 *
 * A trace sees one batch, so it is taken twice, at batch sizes 2 and 3 with different values:
 * dimensions that differ are the batch dimension (symbolic `batch` in the graph, -1 in Reshape
 * targets), and the two lowerings must give the same graph. If they do not, something in the
 * forward depended on the input outside the ops (ids passed as attributes, a mask computed in
 * JavaScript, a batch size baked into a constant) and the export fails, naming the op, instead of
 * writing a graph that is right only for the sample.
 */

/** The standard ONNX operator set the graph uses; IR version 7 is the one that goes with it. */
export const ONNX_OPSET = 13;
const IR_VERSION = 7;
const BATCH = 'batch';

export interface ExportOnnxOptions {
  /**
   * What the graph returns: 'predictions' (default) — `model.forward`, sigmoid on binary tasks —
   * or 'logits' — `model.logits`, before the sigmoid. The graph output has this name, [batch, T].
   */
  output?: 'predictions' | 'logits';
  /**
   * Element type of the id inputs of sparse and var-len columns: 'int64' (default; what PyTorch
   * exports and NumPy uses) or 'int32' (JavaScript servers can feed an Int32Array as it is).
   */
  idType?: 'int64' | 'int32';
  /**
   * Also return the gate weights as a second output `gates` [batch, T, E] (`model.gateWeights`:
   * per sample and task, the softmax weights over the experts). MMoE, OMoE and PLE only.
   */
  gates?: boolean;
  /**
   * Serve raw rows: the columns of this RowEncoding (what `mmoe-ts train` saved with the model, or
   * `fitRowEncoding`) become raw inputs — category text as string [batch], numbers as float64
   * [batch, 1], NaN for missing — encoded inside the graph exactly as `encodeRows` does. Category
   * lookup uses ai.onnx.ml's LabelEncoder (opset 2), which onnxruntime supports.
   */
  encoding?: RowEncoding;
}

const OPTION_KEYS: OptionKeys<ExportOnnxOptions> = { output: true, idType: true, gates: true, encoding: true };

/**
 * One graph output: its name, what computes it, its shape after the batch dimension (null: as
 * traced) and its doc (given the full shape).
 */
interface OutputSpec {
  name: string;
  compute: (x: ModelInput) => Tensor;
  dims: ReadonlyArray<number | null>;
  doc: (dims: readonly number[]) => string;
}

interface Trace {
  ops: TracedOp[];
  /**
   * The tensors standing for graph values: the dense input (layer null), and the output of each
   * feature-column input layer the forward called, in call order.
   */
  inputs: Array<{ layer: InputLayer | null; tensor: Tensor }>;
  outputs: Tensor[];
}

function sampleBatch(model: MultiTaskBase, B: number, dtype: DType): ModelInput {
  const gen = new Generator(7919 * B);
  const normals = (n: number): Tensor => {
    const d = allocate(dtype, n);
    gen.fillNormal(d);
    return new Tensor(d, [B, n / B]);
  };
  const layer = model.inputLayer;
  if (!layer) return normals(B * model.inputDim);
  const batch: FeatureBatch = {};
  for (const f of layer.features) {
    if (f.kind === 'dense') { batch[f.name] = normals(B * f.dimension); continue; }
    const vocab = f.kind === 'sparse' ? f.vocabularySize : f.sparseFeat.vocabularySize;
    const len = f.kind === 'sparse' ? 1 : f.maxLen;
    const ids = new Int32Array(B * len);
    for (let i = 0; i < ids.length; i++) ids[i] = gen.randint(vocab);
    if (f.kind === 'varlen') for (let b = 0; b < B; b++) ids.fill(0, b * len + gen.randint(len + 1), (b + 1) * len);
    batch[f.name] = ids;
  }
  return batch;
}

function trace(model: MultiTaskBase, B: number, dtype: DType, outputs: readonly OutputSpec[]): Trace {
  const x = sampleBatch(model, B, dtype);
  const inputs: Trace['inputs'] = x instanceof Tensor ? [{ layer: null, tensor: x }] : [];
  // Input layers are lowered from their columns (input-layer.ts), wherever the forward calls one
  // (the model's own, or a part's such as DCN's linear_model): while tracing, each call computes
  // its values untraced and returns a fresh tensor standing for that layer's ONNX output.
  const proto = InputLayer.prototype;
  const real = Object.getOwnPropertyDescriptor(proto, 'forward')!;
  Object.defineProperty(proto, 'forward', {
    ...real,
    value(this: InputLayer, batch: FeatureBatch): Tensor {
      const seen = inputs.find((i) => i.layer === this);
      if (seen) return seen.tensor;
      const h = untraced(() => real.value.call(this, batch) as Tensor);
      const tensor = new Tensor(h.data, h.shape);
      inputs.push({ layer: this, tensor });
      return tensor;
    },
  });
  try {
    const { result, ops } = traceOps(() => noGrad(() => outputs.map((o) => o.compute(x))));
    return { ops, inputs, outputs: result };
  } finally {
    Object.defineProperty(proto, 'forward', real);
  }
}

function symbolic(a: Tensor, b: Tensor): SymShape {
  return a.shape.map((d, i) => (d === b.shape[i] ? d : null));
}

interface Lowered {
  graph: GraphDef;
  nodeOrigins: readonly string[];
  initializerOrigins: readonly string[];
}

/** The graph of `self`, with the batch dimensions found by comparing it with `partner`. */
function lowerTrace(
  model: MultiTaskBase, self: Trace, partner: Trace, dtype: DType, specs: readonly OutputSpec[], idType: 'int64' | 'int32',
  encoding: RowEncoding | null,
): Lowered {
  const state = Object.entries(model.stateDict());
  const params = new Map<Tensor, string>(state.map(([k, t]) => [t, k]));
  const reserved = [...specs.map((o) => o.name), ...state.map(([k]) => k), ...(model.inputLayer ? model.inputLayer.features.map((f) => f.name) : ['input'])];
  const g = new GraphBuilder(dtype, reserved);
  const names = new Map<Tensor, string>();
  const shapes = new Map<Tensor, SymShape>();
  const producer = (ops: TracedOp[]): Map<Tensor, number> => new Map(ops.map((op, i) => [op.output, i]));
  const [mine, theirs] = [producer(self.ops), producer(partner.ops)];

  const param = (t: Tensor, name: string): string => {
    names.set(t, g.initializer(name, t.shape, dataTypeOf(t.dtype), rawBytes(t.data)));
    shapes.set(t, t.shape);
    return name;
  };

  const inputs: ValueInfoDef[] = [];
  const addInput = (v: ValueInfoDef): void => {
    const prev = inputs.find((i) => i.name === v.name);
    if (!prev) { inputs.push(v); return; }
    if (prev.elemType !== v.elemType || JSON.stringify(prev.dims) !== JSON.stringify(v.dims)) {
      throw exportError(`two input layers read feature '${v.name}' as different tensors`);
    }
  };
  if (self.inputs.length !== partner.inputs.length || self.inputs.some((i, k) => partner.inputs[k].layer !== i.layer)) {
    throw exportError('the forward calls its input layers differently at two batch sizes');
  }
  if (self.inputs.length === 0) throw exportError("the forward never read the batch through the model's input layer");
  for (const { layer, tensor } of self.inputs) {
    if (layer === null) {
      addInput({ name: 'input', elemType: dataTypeOf(dtype), dims: [BATCH, model.inputDim], doc: `dense input: ${model.inputDim} values per row` });
      names.set(tensor, 'input');
      shapes.set(tensor, [null, model.inputDim]);
      continue;
    }
    const lowered = lowerInputLayer(g, layer, (table) => {
      const w = layer.embeddingDict.tables.get(table)!.weight;
      return names.get(w) ?? param(w, params.get(w) ?? g.fresh(`embedding_dict.${table}.weight`));
    }, idType, encoding);
    lowered.inputs.forEach(addInput);
    names.set(tensor, lowered.output);
    shapes.set(tensor, [null, layer.inputDim]);
  }

  const n = self.ops.length;
  if (partner.ops.length !== n) {
    throw exportError(`the forward runs ${n} ops at one batch size and ${partner.ops.length} at another; only a forward whose ops do not depend on the batch can be exported as one graph`);
  }
  for (let i = 0; i < n; i++) {
    const op = self.ops[i];
    const other = partner.ops[i];
    const where = `op '${op.name}' (#${i + 1} of ${n})`;
    g.origin = where;
    if (other.name !== op.name || other.inputs.length !== op.inputs.length) {
      throw exportError(`${where} is '${other.name}' with another batch; only a forward whose ops do not depend on the batch can be exported as one graph`);
    }
    const inNames = op.inputs.map((t, j) => {
      const u = other.inputs[j];
      const known = names.get(t);
      const kind = (x: Tensor, prod: Map<Tensor, number>, tr: Trace): string => {
        const k = tr.inputs.findIndex((i) => i.tensor === x);
        return k >= 0 ? `input ${k}` : prod.has(x) ? `op ${prod.get(x)}` : params.has(x) ? `parameter ${params.get(x)}` : 'constant';
      };
      if (kind(t, mine, self) !== kind(u, theirs, partner)) {
        throw exportError(`${where}: input ${j} comes from different places at two batch sizes`);
      }
      if (known !== undefined) return known;
      const p = params.get(t);
      if (p !== undefined) return param(t, p);
      if (mine.has(t)) throw exportError(`${where}: input ${j} is produced by a later op`);
      // A tensor made outside the ops (a lifted number, BatchNorm's running statistics, a mask).
      if (t.ndim !== u.ndim || t.shape.some((d, k) => d !== u.shape[k])) {
        throw exportError(`${where}: input ${j} is a constant of shape ${formatShape(t.shape)} with one batch and ${formatShape(u.shape)} with another, made outside the ops from the batch; the graph cannot compute it`);
      }
      const name = g.initializer(g.fresh('const'), t.shape, dataTypeOf(t.dtype), rawBytes(t.data));
      names.set(t, name);
      shapes.set(t, t.shape);
      return name;
    });
    const lower = lowerings[op.name];
    if (!lower) {
      throw exportError(`${where} has no ONNX lowering (ops with one: ${Object.keys(lowerings).join(', ')}); a custom defineOp needs an entry in src/onnx/lower.ts`);
    }
    const outShape = symbolic(op.output, other.output);
    const out = lower(g, { name: op.name, attrs: op.attrs, inputs: inNames, inShapes: op.inputs.map((t) => shapes.get(t)!), outShape });
    names.set(op.output, out);
    shapes.set(op.output, outShape);
  }

  const outputs: ValueInfoDef[] = specs.map((spec, k) => {
    g.origin = `the graph output '${spec.name}'`;
    const t = self.outputs[k];
    const result = names.get(t);
    const shape = shapes.get(t);
    const dims = spec.dims.map((d, i) => d ?? t.shape[i + 1]);
    if (result === undefined || !shape || JSON.stringify(shape) !== JSON.stringify([null, ...dims])) {
      throw exportError(`the graph output '${spec.name}' must be computed from the input by ops, of shape [batch, ${spec.dims.map((d) => d ?? '…').join(', ')}]; got ${formatShape(t.shape)}`);
    }
    g.nodes.push({ opType: 'Identity', inputs: [result], outputs: [spec.name], name: `${spec.name}_identity` });
    g.nodeOrigins.push(g.origin);
    return { name: spec.name, elemType: dataTypeOf(dtype), dims: [BATCH, ...dims], doc: spec.doc(dims) };
  });
  return {
    graph: { name: model.architecture, nodes: g.nodes, initializers: g.initializers, inputs, outputs },
    nodeOrigins: g.nodeOrigins,
    initializerOrigins: g.initializerOrigins,
  };
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Throws, naming the op, where the graphs of two traces differ. */
function checkSameGraph(a: Lowered, b: Lowered): void {
  const why = (origin: string, what: string): Error => exportError(
    `${origin}: its ${what} differ between two sample batches, so the forward depends on the input outside the traced ops (ids or masks computed in JavaScript, a batch size kept in a constant); such a model cannot be exported as one graph`,
  );
  const na = a.graph.nodes, nb = b.graph.nodes;
  for (let i = 0; i < Math.max(na.length, nb.length); i++) {
    if (JSON.stringify(na[i]) !== JSON.stringify(nb[i])) throw why(a.nodeOrigins[i] ?? b.nodeOrigins[i], 'ONNX nodes');
  }
  const ia = a.graph.initializers, ib = b.graph.initializers;
  for (let i = 0; i < Math.max(ia.length, ib.length); i++) {
    const x = ia[i], y = ib[i];
    if (!x || !y || x.name !== y.name || x.dataType !== y.dataType || JSON.stringify(x.dims) !== JSON.stringify(y.dims) || !sameBytes(x.raw, y.raw)) {
      throw why(a.initializerOrigins[i] ?? b.initializerOrigins[i], 'constant values');
    }
  }
}

/**
 * The model as an ONNX model (the bytes of an .onnx file, opset 13), in eval mode: dropout off,
 * BatchNorm on its running statistics. Works for every model here (MMoE, OMoE, SharedBottom,
 * SingleTask, PLE, DCN, DCNMix, ESMM, AITM), dense or feature-column input.
 *
 * Inputs: a dense model takes `input` [batch, inputDim] (float32, or float64 for a float64 model).
 * A feature-column model takes one input per column, named as the column: a sparse column int64
 * ids [batch], a var-len column int64 ids [batch, maxLen] (0 = padding), a dense column floats
 * [batch, dimension]; ids are int32 with `idType: 'int32'`. Output: `predictions` (or `logits`)
 * [batch, T], columns in `taskNames` order; a multiclass task takes K columns there (softmax class
 * probabilities, or its K logits), and the metadata then carries `num_classes`.
 * Parameters are initializers under their state-dict names. The model's metadata carries the task
 * names and types (`task_names`, `task_types`, JSON).
 */
export function exportOnnx(model: MultiTaskBase, options: ExportOnnxOptions = {}): Uint8Array {
  if (!(model instanceof MultiTaskBase)) {
    throw new TypeError(`exportOnnx: expected one of the models (MMoE, OMoE, SharedBottom, SingleTask, PLE, DCN, DCNMix, ESMM, AITM), got ${model === null ? 'null' : typeof model === 'object' ? (model as object).constructor.name : typeof model}`);
  }
  checkOptionKeys('exportOnnx', options, OPTION_KEYS);
  const output = options.output ?? 'predictions';
  if (output !== 'predictions' && output !== 'logits') {
    throw new Error(`exportOnnx: output must be 'predictions' or 'logits', got ${JSON.stringify(output)}`);
  }
  const idType = options.idType ?? 'int64';
  if (idType !== 'int64' && idType !== 'int32') {
    throw new Error(`exportOnnx: idType must be 'int64' or 'int32', got ${JSON.stringify(idType)}`);
  }
  const gates = options.gates ?? false;
  if (typeof gates !== 'boolean') throw new TypeError(`exportOnnx: gates must be a boolean, got ${JSON.stringify(gates)}`);
  if (gates && !hasGateWeights(model)) throw new Error(`exportOnnx: gates: true needs a model with gates (MMoE, OMoE, PLE), got ${model.architecture}`);
  const encoding = options.encoding === undefined ? null : checkRowEncoding('exportOnnx', options.encoding);
  if (encoding) {
    const names = new Set(model.inputLayer?.features.map((f) => f.name) ?? []);
    const stray = [...encoding.sparse, ...encoding.dense].find((c) => !names.has(c.column));
    if (stray) throw new Error(`exportOnnx: encoding column '${stray.column}' is not a feature of the model${names.size ? ` (${[...names].join(', ')})` : ' (it takes a dense tensor)'}`);
  }
  const T = model.taskNames.length;
  // A multiclass task takes K columns (its class probabilities, or logits), in task order.
  const W = model.numClasses.reduce((a, k) => a + k, 0);
  const taskList = model.taskNames.map((t, i) => `${t} (${model.taskTypes[i]}${model.taskTypes[i] === 'multiclass' ? `, ${model.numClasses[i]} columns` : ''})`).join(', ');
  const specs: OutputSpec[] = [{
    name: output,
    compute: (x) => (output === 'logits' ? model.logits(x) : model.forward(x)),
    dims: [W],
    doc: () => `${output} [batch, ${W}], ${W === T ? 'one column per task' : 'the columns of each task in order'}: ${taskList}`,
  }];
  if (gates && hasGateWeights(model)) {
    specs.push({
      name: 'gates',
      compute: (x) => model.gateWeights(x),
      dims: [T, null],
      doc: ([, E]) => `gates [batch, ${T}, ${E}]: per task (in taskNames order), the softmax weights over the ${E} experts${model instanceof PLE ? ' of the last level (its specific experts, then the shared ones)' : ''}`,
    });
  }
  if (model.inputLayer) {
    const clash = model.inputLayer.features.find((f) => specs.some((o) => o.name === f.name));
    if (clash) throw new Error(`exportOnnx: feature '${clash.name}' has the name of a graph output; pick another output or rename the feature`);
  }
  const dtype: DType = model.parameters()[0]?.dtype ?? 'float32';

  const modes = model.modules().map((m) => [m, m.training] as const);
  model.eval();
  let a: Trace, b: Trace;
  try {
    a = trace(model, 2, dtype, specs);
    b = trace(model, 3, dtype, specs);
  } finally {
    for (const [m, training] of modes) m.training = training;
  }
  const la = lowerTrace(model, a, b, dtype, specs, idType, encoding);
  checkSameGraph(la, lowerTrace(model, b, a, dtype, specs, idType, encoding));

  // Protobuf messages are limited to 2 GiB; larger models would need ONNX's external data files.
  const bytes = la.graph.initializers.reduce((n, t) => n + t.raw.length, 0);
  if (bytes > 2 ** 31 - 2 ** 24) {
    throw exportError(`the parameters take ${(bytes / 2 ** 20).toFixed(0)} MiB; one ONNX file holds under 2 GiB (protobuf's limit), and external data files are not supported`);
  }
  const inputsDoc = la.graph.inputs.map((i) => `${i.name}: ${i.doc}`).join('; ');
  return encodeModel({
    irVersion: IR_VERSION,
    opsetVersion: ONNX_OPSET,
    producerName: 'mmoe-ts',
    doc: `${model.architecture} exported by mmoe-ts (eval mode). Inputs — ${inputsDoc}. Outputs — ${la.graph.outputs.map((o) => o.doc).join('; ')}.`,
    graph: la.graph,
    ...(encoding ? { extraOpsets: { 'ai.onnx.ml': ONNX_ML_OPSET } } : {}),
    metadata: {
      model: model.architecture,
      inputs: encoding ? 'raw' : 'encoded',
      task_names: JSON.stringify(model.taskNames),
      task_types: JSON.stringify(model.taskTypes),
      ...(W === T ? {} : { num_classes: JSON.stringify(model.numClasses) }),
      output,
    },
  });
}
