import type { InputLayer } from '../models/features.js';
import type { RowEncoding } from '../models/row-encoding.js';
import type { GraphBuilder } from './graph-builder.js';
import { exportError } from './lower.js';
import { DataType, attr, type ValueInfoDef } from './proto.js';

/** The ai.onnx.ml operator set version whose LabelEncoder the raw-row graph uses. */
export const ONNX_ML_OPSET = 2;

/**
 * The feature-column input layer as ONNX: one graph input per column (named as the column, ids of
 * type `idType`), the embedding lookups as Gather on the tables (initializers
 * `embedding_dict.<table>.weight`), the var-len pooling from a mask `ids ≠ 0`, and the parts
 * concatenated in the layer's order (sparse, var-len, dense) — as `InputLayer.forward` computes.
 *
 * Why this is lowered from the columns and not traced: the layer turns ids into lookups and masks
 * in plain JavaScript (ids are op attributes, masks are computed from them), so a trace would see
 * them as constants of the sample batch. The columns say exactly what the layer computes.
 *
 * With a RowEncoding the graph takes raw values for the columns it covers and encodes them as
 * encodeColumns does: a category column is a string input [batch] mapped to its id by
 * ai.onnx.ml's LabelEncoder (unseen or missing text → 0), a numeric column a float64 input
 * [batch, 1] standardised in float64 and then cast, missing (NaN) → 0 — float64 so that the graph
 * rounds once, where encodeColumns does, and agrees with `predict` on the same rows.
 */
export function lowerInputLayer(
  g: GraphBuilder,
  layer: InputLayer,
  tableName: (embeddingName: string) => string,
  idType: 'int64' | 'int32',
  encoding: RowEncoding | null = null,
): { inputs: ValueInfoDef[]; output: string } {
  const inputs: ValueInfoDef[] = [];
  const parts: string[] = [];
  const idElem = idType === 'int32' ? DataType.INT32 : DataType.INT64;
  const zero = (): string => (idType === 'int32' ? g.int32s([0], []) : g.int64s([0], []));
  // ONNX has no string hash operator, so a hashed column cannot be served from raw text inside the graph.
  const hashed = encoding?.sparse.find((s) => s.hashBuckets !== undefined);
  if (hashed) {
    throw exportError(`encoding: column '${hashed.column}' is hashed (hashBuckets ${hashed.hashBuckets}) and ONNX cannot hash strings; export without encoding, so the graph takes ids, and feed it hashBucket(text, ${hashed.hashBuckets}) per row`);
  }
  const rawSparse = new Map(encoding?.sparse.map((s) => [s.column, s.vocabulary]) ?? []);
  const rawDense = new Map(encoding?.dense.map((d) => [d.column, d]) ?? []);
  for (const f of layer.features) {
    g.origin = `feature '${f.name}'`;
    const stats = rawDense.get(f.name);
    if (stats) {
      if (f.kind !== 'dense' || f.dimension !== 1) throw exportError(`encoding: numeric column '${f.name}' must be a DenseFeat of dimension 1, got a ${f.kind} feature`);
      inputs.push({ name: f.name, elemType: DataType.DOUBLE, dims: ['batch', 1], doc: `numeric column '${f.name}': the raw value (float64), NaN when missing; standardised in the graph as (x − ${stats.mean}) / ${stats.std}` });
      const z = g.node('Div', [g.node('Sub', [f.name, g.double(stats.mean)]), g.double(stats.std)]);
      const filled = g.node('Where', [g.node('IsNaN', [f.name]), g.double(0), z]);
      parts.push(g.node('Cast', [filled], { to: attr.int(g.dataType) }));
      continue;
    }
    if (f.kind === 'dense') {
      inputs.push({ name: f.name, elemType: g.dataType, dims: ['batch', f.dimension], doc: `dense feature '${f.name}': ${f.dimension} values per row` });
      parts.push(f.name);
      continue;
    }
    const s = f.kind === 'sparse' ? f : f.sparseFeat;
    const table = tableName(s.embeddingName);
    const vocabulary = rawSparse.get(f.name);
    if (vocabulary) {
      if (f.kind !== 'sparse') throw exportError(`encoding: category column '${f.name}' must be a SparseFeat, got a ${f.kind} feature`);
      if (vocabulary.length + 1 > s.vocabularySize) throw exportError(`encoding: column '${f.name}' has ${vocabulary.length} categories, but its embedding has ${s.vocabularySize} rows (needs vocabulary + 1)`);
      inputs.push({ name: f.name, elemType: DataType.STRING, dims: ['batch'], doc: `category column '${f.name}': the raw text; ${vocabulary.length} known values, anything else (e.g. '' for missing) → id 0` });
      // An empty vocabulary still needs one key; mapping it to 0 equals the default.
      const keys = vocabulary.length > 0 ? vocabulary : [''];
      const ids = g.node('LabelEncoder', [f.name], {
        keys_strings: attr.strings(keys), values_int64s: attr.ints(vocabulary.length > 0 ? keys.map((_, i) => i + 1) : [0]), default_int64: attr.int(0),
      }, 'ai.onnx.ml');
      parts.push(g.node('Gather', [table, ids], { axis: attr.int(0) }));
      continue;
    }
    if (f.kind === 'sparse') {
      inputs.push({ name: f.name, elemType: idElem, dims: ['batch'], doc: `sparse feature '${f.name}': one id in [0, ${s.vocabularySize}) per row` });
      parts.push(g.node('Gather', [table, f.name], { axis: attr.int(0) }));
      continue;
    }
    inputs.push({ name: f.name, elemType: idElem, dims: ['batch', f.maxLen], doc: `var-len feature '${f.name}': ${f.maxLen} ids in [0, ${s.vocabularySize}) per row, 0 = padding, pooled by ${f.combiner}` });
    const e = g.node('Gather', [table, f.name], { axis: attr.int(0) }); // [B, L, D]
    const mask = g.node('Cast', [g.node('Not', [g.node('Equal', [f.name, zero()])])], { to: attr.int(g.dataType) }); // [B, L]
    const m3 = g.node('Unsqueeze', [mask, g.int64s([2])]); // [B, L, 1]
    const count = g.node('ReduceSum', [mask, g.int64s([1])], { keepdims: attr.int(1) }); // [B, 1]
    const over = g.int64s([1]);
    if (f.combiner === 'max') {
      // Padded positions get −1e9 so they never win; a row without real ids gives 0.
      const offset = g.node('Mul', [g.node('Sub', [m3, g.scalar(1)]), g.scalar(1e9)]);
      const best = g.node('ReduceMax', [g.node('Add', [e, offset])], { axes: attr.ints([1]), keepdims: attr.int(0) });
      const has = g.node('Cast', [g.node('Greater', [count, g.scalar(0)])], { to: attr.int(g.dataType) });
      parts.push(g.node('Mul', [best, has]));
      continue;
    }
    const summed = g.node('ReduceSum', [g.node('Mul', [e, m3]), over], { keepdims: attr.int(0) });
    parts.push(f.combiner === 'sum' ? summed : g.node('Div', [summed, g.node('Add', [count, g.scalar(1e-8)])]));
  }
  g.origin = 'the input layer';
  const output = parts.length === 1 ? g.node('Identity', parts) : g.node('Concat', parts, { axis: attr.int(1) });
  return { inputs, output };
}
