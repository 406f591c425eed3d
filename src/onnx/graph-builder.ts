import type { DType } from '../tensor/index.js';
import { DataType, type Attribute, type DataTypeCode, type NodeDef, type TensorDef } from './proto.js';

/** A dimension of a traced value: a number, or null where it follows the batch size. */
export type SymDim = number | null;
export type SymShape = readonly SymDim[];

const littleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

type Numeric = Float32Array | Float64Array | Int32Array | BigInt64Array | Uint8Array;

/**
 * The little-endian bytes of a typed array (raw_data): a view of its storage on a little-endian
 * machine (parameters are not copied until the model's bytes are joined), a swapped copy otherwise.
 */
export function rawBytes(a: Numeric): Uint8Array {
  const bytes = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  if (littleEndian || a.BYTES_PER_ELEMENT === 1) return bytes;
  const out = new Uint8Array(bytes.length);
  const n = a.BYTES_PER_ELEMENT;
  for (let i = 0; i < bytes.length; i += n) for (let j = 0; j < n; j++) out[i + j] = bytes[i + n - 1 - j];
  return out;
}

export function dataTypeOf(dtype: DType): DataTypeCode {
  return dtype === 'float64' ? DataType.DOUBLE : DataType.FLOAT;
}

/**
 * Collects the nodes and initializers of one ONNX graph. Every value gets a fresh name from a
 * counter, so lowering the same ops twice gives the same graph (the exporter relies on that to
 * compare two traces). `origin` labels what is being added, for error messages.
 */
export class GraphBuilder {
  readonly nodes: NodeDef[] = [];
  readonly initializers: TensorDef[] = [];
  /** What produced each node / initializer (same index), e.g. "op 'matmul' (#4)". */
  readonly nodeOrigins: string[] = [];
  readonly initializerOrigins: string[] = [];
  origin = '';
  private readonly used = new Set<string>();
  private readonly initialized = new Set<string>();
  private counter = 0;

  constructor(readonly dtype: DType, reserved: Iterable<string> = []) {
    for (const n of reserved) this.used.add(n);
  }

  get dataType(): DataTypeCode {
    return dataTypeOf(this.dtype);
  }

  /** A new value name not used anywhere else in the graph. */
  fresh(hint: string): string {
    let name: string;
    do name = `${hint}_${this.counter++}`; while (this.used.has(name));
    this.used.add(name);
    return name;
  }

  /** Adds a node with one output and returns the output's name. */
  node(opType: string, inputs: readonly string[], attributes?: Record<string, Attribute>, domain?: string): string {
    const out = this.fresh(opType);
    this.nodes.push({ opType, inputs, outputs: [out], name: `${opType}_node_${this.nodes.length}`, attributes, ...(domain ? { domain } : {}) });
    this.nodeOrigins.push(this.origin);
    return out;
  }

  /** Adds an initializer under `name` once (a parameter used twice is stored once). */
  initializer(name: string, dims: readonly number[], dataType: DataTypeCode, raw: Uint8Array): string {
    if (this.initialized.has(name)) return name;
    this.initialized.add(name);
    this.used.add(name);
    this.initializers.push({ name, dims: dims.slice(), dataType, raw });
    this.initializerOrigins.push(this.origin);
    return name;
  }

  /** A fresh int64 constant (shapes, axes, indices). */
  int64s(values: readonly number[] | Int32Array, dims: readonly number[] = [values.length]): string {
    const a = BigInt64Array.from(Array.from(values, (v) => BigInt(v)));
    return this.initializer(this.fresh('const_i64'), dims, DataType.INT64, rawBytes(a));
  }

  /** A fresh int32 constant. */
  int32s(values: readonly number[] | Int32Array, dims: readonly number[] = [values.length]): string {
    return this.initializer(this.fresh('const_i32'), dims, DataType.INT32, rawBytes(Int32Array.from(values)));
  }

  /** A fresh float64 scalar constant (the raw-row standardisation computes in float64). */
  double(v: number): string {
    return this.initializer(this.fresh('const_f64'), [], DataType.DOUBLE, rawBytes(new Float64Array([v])));
  }

  /** A fresh scalar constant of the graph's float type. */
  scalar(v: number): string {
    const a = this.dtype === 'float64' ? new Float64Array([v]) : new Float32Array([v]);
    return this.initializer(this.fresh('const'), [], this.dataType, rawBytes(a));
  }
}
