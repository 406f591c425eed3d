import type { InputLayer } from '../models/features.js';
import type { GraphBuilder } from './graph-builder.js';
import { DataType, attr, type ValueInfoDef } from './proto.js';

/**
 * The feature-column input layer as ONNX: one graph input per column (named as the column, ids of
 * type `idType`), the embedding lookups as Gather on the tables (initializers
 * `embedding_dict.<table>.weight`), the var-len pooling from a mask `ids ≠ 0`, and the parts
 * concatenated in the layer's order (sparse, var-len, dense) — as `InputLayer.forward` computes.
 *
 * Why this is lowered from the columns and not traced: the layer turns ids into lookups and masks
 * in plain JavaScript (ids are op attributes, masks are computed from them), so a trace would see
 * them as constants of the sample batch. The columns say exactly what the layer computes.
 */
export function lowerInputLayer(
  g: GraphBuilder,
  layer: InputLayer,
  tableName: (embeddingName: string) => string,
  idType: 'int64' | 'int32',
): { inputs: ValueInfoDef[]; output: string } {
  const inputs: ValueInfoDef[] = [];
  const parts: string[] = [];
  const idElem = idType === 'int32' ? DataType.INT32 : DataType.INT64;
  const zero = (): string => (idType === 'int32' ? g.int32s([0], []) : g.int64s([0], []));
  for (const f of layer.features) {
    g.origin = `feature '${f.name}'`;
    if (f.kind === 'dense') {
      inputs.push({ name: f.name, elemType: g.dataType, dims: ['batch', f.dimension], doc: `dense feature '${f.name}': ${f.dimension} values per row` });
      parts.push(f.name);
      continue;
    }
    const s = f.kind === 'sparse' ? f : f.sparseFeat;
    const table = tableName(s.embeddingName);
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
