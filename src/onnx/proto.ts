import { ProtoWriter } from './protobuf.js';

/*
 * ONNX's messages as plain objects, and their encoding. Field numbers and enum values are those
 * of onnx.proto (ModelProto, GraphProto, NodeProto, AttributeProto, TensorProto, ValueInfoProto,
 * TypeProto, TensorShapeProto, OperatorSetIdProto, StringStringEntryProto); only the fields an
 * inference graph needs are written.
 */

/** TensorProto.DataType values used here. */
export const DataType = { FLOAT: 1, INT32: 6, INT64: 7, STRING: 8, BOOL: 9, DOUBLE: 11 } as const;
export type DataTypeCode = (typeof DataType)[keyof typeof DataType];

/** AttributeProto.AttributeType values used here. */
const AttrType = { FLOAT: 1, INT: 2, STRING: 3, FLOATS: 6, INTS: 7, STRINGS: 8 } as const;

export type Attribute =
  | { kind: 'int'; value: number }
  | { kind: 'float'; value: number }
  | { kind: 'string'; value: string }
  | { kind: 'ints'; value: readonly number[] }
  | { kind: 'floats'; value: readonly number[] }
  | { kind: 'strings'; value: readonly string[] };

export const attr = {
  int: (value: number): Attribute => ({ kind: 'int', value }),
  float: (value: number): Attribute => ({ kind: 'float', value }),
  string: (value: string): Attribute => ({ kind: 'string', value }),
  ints: (value: readonly number[]): Attribute => ({ kind: 'ints', value }),
  floats: (value: readonly number[]): Attribute => ({ kind: 'floats', value }),
  strings: (value: readonly string[]): Attribute => ({ kind: 'strings', value }),
};

export interface NodeDef {
  opType: string;
  inputs: readonly string[];
  outputs: readonly string[];
  name: string;
  attributes?: Readonly<Record<string, Attribute>>;
  /** Operator set domain; absent for the standard one ('ai.onnx.ml' for LabelEncoder). */
  domain?: string;
}

/** An initializer: dims, element type and the little-endian bytes of its values (raw_data). */
export interface TensorDef {
  name: string;
  dims: readonly number[];
  dataType: DataTypeCode;
  raw: Uint8Array;
}

/** A graph input or output: a tensor type whose dims are numbers or symbolic names. */
export interface ValueInfoDef {
  name: string;
  elemType: DataTypeCode;
  dims: ReadonlyArray<number | string>;
  doc?: string;
}

export interface GraphDef {
  name: string;
  nodes: readonly NodeDef[];
  initializers: readonly TensorDef[];
  inputs: readonly ValueInfoDef[];
  outputs: readonly ValueInfoDef[];
  doc?: string;
}

export interface ModelDef {
  irVersion: number;
  opsetVersion: number;
  producerName: string;
  graph: GraphDef;
  doc?: string;
  metadata?: Readonly<Record<string, string>>;
  /** Operator sets besides the standard one, e.g. { 'ai.onnx.ml': 2 }. */
  extraOpsets?: Readonly<Record<string, number>>;
}

function encodeAttribute(name: string, a: Attribute): ProtoWriter {
  const w = new ProtoWriter().string(1, name);
  switch (a.kind) {
    case 'float': w.float(2, a.value).int(20, AttrType.FLOAT); break;
    case 'int': w.int(3, a.value).int(20, AttrType.INT); break;
    case 'string': w.string(4, a.value).int(20, AttrType.STRING); break;
    case 'floats': w.packedFloats(7, a.value).int(20, AttrType.FLOATS); break;
    case 'ints': w.packedInts(8, a.value).int(20, AttrType.INTS); break;
    case 'strings': for (const v of a.value) w.string(9, v); w.int(20, AttrType.STRINGS); break;
  }
  return w;
}

function encodeNode(n: NodeDef): ProtoWriter {
  const w = new ProtoWriter();
  for (const i of n.inputs) w.string(1, i);
  for (const o of n.outputs) w.string(2, o);
  w.string(3, n.name).string(4, n.opType);
  for (const [k, a] of Object.entries(n.attributes ?? {})) w.message(5, encodeAttribute(k, a));
  if (n.domain) w.string(7, n.domain);
  return w;
}

export function encodeTensor(t: TensorDef): ProtoWriter {
  const w = new ProtoWriter();
  for (const d of t.dims) w.int(1, d);
  return w.int(2, t.dataType).string(8, t.name).bytes(9, t.raw);
}

function encodeValueInfo(v: ValueInfoDef): ProtoWriter {
  const shape = new ProtoWriter();
  for (const d of v.dims) {
    shape.message(1, typeof d === 'number' ? new ProtoWriter().int(1, d) : new ProtoWriter().string(2, d));
  }
  const tensorType = new ProtoWriter().int(1, v.elemType).message(2, shape);
  const w = new ProtoWriter().string(1, v.name).message(2, new ProtoWriter().message(1, tensorType));
  if (v.doc) w.string(3, v.doc);
  return w;
}

export function encodeGraph(g: GraphDef): ProtoWriter {
  const w = new ProtoWriter();
  for (const n of g.nodes) w.message(1, encodeNode(n));
  w.string(2, g.name);
  for (const t of g.initializers) w.message(5, encodeTensor(t));
  if (g.doc) w.string(10, g.doc);
  for (const i of g.inputs) w.message(11, encodeValueInfo(i));
  for (const o of g.outputs) w.message(12, encodeValueInfo(o));
  return w;
}

/** The bytes of a ModelProto (an .onnx file). */
export function encodeModel(m: ModelDef): Uint8Array {
  const w = new ProtoWriter().int(1, m.irVersion).string(2, m.producerName);
  if (m.doc) w.string(6, m.doc);
  w.message(7, encodeGraph(m.graph));
  // The default domain ("") is the standard ONNX operator set.
  w.message(8, new ProtoWriter().string(1, '').int(2, m.opsetVersion));
  for (const [domain, version] of Object.entries(m.extraOpsets ?? {})) w.message(8, new ProtoWriter().string(1, domain).int(2, version));
  for (const [key, value] of Object.entries(m.metadata ?? {})) {
    w.message(14, new ProtoWriter().string(1, key).string(2, value));
  }
  return w.finish();
}
