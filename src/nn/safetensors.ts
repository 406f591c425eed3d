import { Tensor } from '../autograd/index.js';
import { NDArray, formatShape, sizeOf } from '../tensor/index.js';

/*
 * The safetensors format (what Hugging Face's `safetensors` library reads and writes):
 *   8 bytes   N, the header length, unsigned 64-bit little-endian
 *   N bytes   UTF-8 JSON: { name: { dtype, shape, data_offsets: [begin, end] }, "__metadata__": { str: str } },
 *             padded with spaces so that the data starts at an 8-byte boundary
 *   rest      raw little-endian tensor data; offsets are relative to the start of this section and
 *             the tensors tile it exactly (no gaps, no overlaps, nothing left over)
 * We write F32 and F64; reading rejects every other dtype with an error rather than converting.
 * Bytes only, so this runs in browsers too; reading and writing files is in safetensors-node.ts.
 */

export type SafetensorsMetadata = Record<string, string>;

export interface SafetensorsContents {
  tensors: Record<string, Tensor>;
  metadata: SafetensorsMetadata;
}

/** Bytes per element of every dtype the format defines (so that "unknown" and "unsupported" differ). */
const KNOWN_DTYPES: Record<string, number> = {
  BOOL: 1, U8: 1, I8: 1, F8_E5M2: 1, F8_E4M3: 1, F8_E8M0: 1, I16: 2, U16: 2, F16: 2, BF16: 2,
  I32: 4, U32: 4, F32: 4, F64: 8, I64: 8, U64: 8, C64: 8,
};

/** The reference implementation refuses headers above 100 MB; so do we. */
const MAX_HEADER = 100_000_000;

const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

class FormatError extends Error {}

function describe(v: unknown): string {
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}

/** Sets a key even when it is "__proto__", which plain assignment would turn into a prototype change. */
function define<T>(obj: Record<string, T>, key: string, value: T): void {
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
}

function encode(dict: Record<string, NDArray>, metadata: SafetensorsMetadata | undefined): Uint8Array {
  if (dict === null || typeof dict !== 'object' || Array.isArray(dict)) throw new FormatError('expected a state dict object { name: Tensor }');
  const entries = Object.entries(dict);
  for (const [name, t] of entries) {
    if (name === '') throw new FormatError('tensor names must be non-empty');
    if (name === '__metadata__') throw new FormatError("'__metadata__' is reserved for the metadata and cannot name a tensor");
    if (!(t instanceof NDArray)) throw new FormatError(`'${name}' is not a Tensor (got ${t === null ? 'null' : typeof t})`);
  }
  if (metadata !== undefined) {
    if (metadata === null || typeof metadata !== 'object' || Array.isArray(metadata)) throw new FormatError('metadata must be an object of strings');
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== 'string') throw new FormatError(`metadata values must be strings, got ${describe(v)} for '${k}'`);
    }
  }
  // Data laid out widest dtype first (stable otherwise), as the reference implementation does, so
  // every tensor starts at a multiple of its element size; the header keeps the dict's order.
  const order = entries.map((e, i) => ({ e, i })).sort((a, b) => b.e[1].data.BYTES_PER_ELEMENT - a.e[1].data.BYTES_PER_ELEMENT || a.i - b.i);
  const offsets = new Map<string, [number, number]>();
  let total = 0;
  for (const { e: [name, t] } of order) {
    offsets.set(name, [total, total + t.data.byteLength]);
    total += t.data.byteLength;
  }
  const parts: string[] = [];
  if (metadata !== undefined) parts.push(`"__metadata__":${JSON.stringify(metadata)}`);
  for (const [name, t] of entries) {
    const dtype = t.dtype === 'float64' ? 'F64' : 'F32';
    parts.push(`${JSON.stringify(name)}:{"dtype":"${dtype}","shape":${JSON.stringify(t.shape)},"data_offsets":${JSON.stringify(offsets.get(name))}}`);
  }
  const json = new TextEncoder().encode(`{${parts.join(',')}}`);
  const n = json.length + ((8 - (json.length % 8)) % 8);
  const out = new Uint8Array(8 + n + total);
  new DataView(out.buffer).setBigUint64(0, BigInt(n), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + n);
  const base = 8 + n;
  for (const [name, t] of entries) {
    const [begin] = offsets.get(name)!;
    writeLE(out, base + begin, t);
  }
  return out;
}

function writeLE(out: Uint8Array, at: number, t: NDArray): void {
  const d = t.data;
  if (LITTLE_ENDIAN_HOST) {
    out.set(new Uint8Array(d.buffer, d.byteOffset, d.byteLength), at);
    return;
  }
  const view = new DataView(out.buffer, out.byteOffset + at, d.byteLength);
  if (d instanceof Float64Array) for (let i = 0; i < d.length; i++) view.setFloat64(i * 8, d[i], true);
  else for (let i = 0; i < d.length; i++) view.setFloat32(i * 4, d[i], true);
}

/** Copies [begin, end) into fresh storage: the result never aliases (or depends on the alignment of) `bytes`. */
function readLE(bytes: Uint8Array, begin: number, end: number, dtype: 'F32' | 'F64'): Float32Array | Float64Array {
  // Not bytes.slice: on a Node Buffer that is a view, not a copy.
  const copy = new Uint8Array(end - begin);
  copy.set(bytes.subarray(begin, end));
  if (LITTLE_ENDIAN_HOST) return dtype === 'F64' ? new Float64Array(copy.buffer) : new Float32Array(copy.buffer);
  const view = new DataView(copy.buffer);
  const size = dtype === 'F64' ? 8 : 4;
  const out = dtype === 'F64' ? new Float64Array(copy.length / 8) : new Float32Array(copy.length / 4);
  for (let i = 0; i < out.length; i++) out[i] = size === 8 ? view.getFloat64(i * 8, true) : view.getFloat32(i * 4, true);
  return out;
}

interface Entry {
  name: string;
  dtype: 'F32' | 'F64';
  shape: number[];
  begin: number;
  end: number;
}

function isNonNegInt(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

function decode(bytes: Uint8Array): SafetensorsContents {
  if (!(bytes instanceof Uint8Array)) throw new FormatError(`expected a Uint8Array, got ${typeof bytes}`);
  if (bytes.length < 8) throw new FormatError(`file is ${bytes.length} bytes, shorter than the 8-byte header length`);
  const n64 = new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true);
  if (n64 > BigInt(bytes.length - 8)) {
    throw new FormatError(`header length ${n64} runs past the end of the file (${bytes.length - 8} bytes follow the length)`);
  }
  const n = Number(n64);
  if (n > MAX_HEADER) throw new FormatError(`header length ${n} exceeds the ${MAX_HEADER}-byte limit`);
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + n)));
  } catch (e) {
    throw new FormatError(`invalid JSON header: ${(e as Error).message}`);
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header)) {
    throw new FormatError(`invalid JSON header: expected an object, got ${Array.isArray(header) ? 'an array' : describe(header)}`);
  }
  const dataLen = bytes.length - 8 - n;
  const metadata: SafetensorsMetadata = {};
  const entries: Entry[] = [];
  for (const [name, info] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (info === null || typeof info !== 'object' || Array.isArray(info)) throw new FormatError(`__metadata__ must be an object of strings, got ${describe(info)}`);
      for (const [k, v] of Object.entries(info as Record<string, unknown>)) {
        if (typeof v !== 'string') throw new FormatError(`__metadata__ values must be strings, got ${describe(v)} for '${k}'`);
        define(metadata, k, v);
      }
      continue;
    }
    if (info === null || typeof info !== 'object' || Array.isArray(info)) {
      throw new FormatError(`tensor '${name}': expected { dtype, shape, data_offsets }, got ${describe(info)}`);
    }
    const { dtype, shape, data_offsets: offs } = info as Record<string, unknown>;
    if (typeof dtype !== 'string' || !(dtype in KNOWN_DTYPES)) throw new FormatError(`tensor '${name}': unknown dtype ${describe(dtype)}`);
    if (dtype !== 'F32' && dtype !== 'F64') throw new FormatError(`tensor '${name}': dtype ${dtype} is not supported (only F32 and F64)`);
    if (!Array.isArray(shape) || !shape.every(isNonNegInt)) {
      throw new FormatError(`tensor '${name}': shape must be an array of non-negative integers, got ${describe(shape)}`);
    }
    if (!Array.isArray(offs) || offs.length !== 2 || !isNonNegInt(offs[0]) || !isNonNegInt(offs[1]) || offs[0] > offs[1]) {
      throw new FormatError(`tensor '${name}': data_offsets must be [begin, end] with 0 <= begin <= end, got ${describe(offs)}`);
    }
    const [begin, end] = offs as [number, number];
    const need = sizeOf(shape) * KNOWN_DTYPES[dtype];
    if (need !== end - begin) {
      throw new FormatError(`tensor '${name}': shape ${formatShape(shape)} of ${dtype} needs ${need} bytes, but data_offsets [${begin}, ${end}] span ${end - begin}`);
    }
    if (end > dataLen) throw new FormatError(`tensor '${name}': data_offsets [${begin}, ${end}] run past the end of the data (${dataLen} bytes)`);
    entries.push({ name, dtype, shape, begin, end });
  }
  // The tensors must tile the data section exactly: sorted by offset, each starts where the last ended.
  const sorted = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let pos = 0;
  let prev: Entry | null = null;
  for (const e of sorted) {
    if (e.begin < pos) throw new FormatError(`tensors '${prev!.name}' [${prev!.begin}, ${prev!.end}] and '${e.name}' [${e.begin}, ${e.end}] overlap`);
    if (e.begin > pos) throw new FormatError(`tensor '${e.name}' starts at byte ${e.begin}, leaving a gap of ${e.begin - pos} bytes after byte ${pos}`);
    pos = e.end;
    prev = e;
  }
  if (pos !== dataLen) throw new FormatError(`the data section has ${dataLen} bytes but the tensors cover only ${pos}`);
  const base = 8 + n;
  const tensors: Record<string, Tensor> = {};
  for (const e of entries) define(tensors, e.name, new Tensor(readLE(bytes, base + e.begin, base + e.end, e.dtype), e.shape));
  return { tensors, metadata };
}

function rethrow(prefix: string, e: unknown): never {
  if (e instanceof FormatError) throw new Error(`${prefix} ${e.message}`);
  throw e;
}

/** The state dict as safetensors bytes (header in the dict's order; optional string metadata). */
export function serializeSafetensors(dict: Record<string, NDArray>, metadata?: SafetensorsMetadata): Uint8Array {
  try {
    return encode(dict, metadata);
  } catch (e) {
    rethrow('serializeSafetensors:', e);
  }
}

/** Tensors and metadata from safetensors bytes; every inconsistency is an error, never a partial result. */
export function deserializeSafetensorsWithMetadata(bytes: Uint8Array): SafetensorsContents {
  try {
    return decode(bytes);
  } catch (e) {
    rethrow('deserializeSafetensors:', e);
  }
}

/** Tensors from safetensors bytes, keyed by name in header order; copies, never views of `bytes`. */
export function deserializeSafetensors(bytes: Uint8Array): Record<string, Tensor> {
  return deserializeSafetensorsWithMetadata(bytes).tensors;
}

/** encode / decode with errors prefixed by `prefix` (the file functions of safetensors-node.ts name themselves). */
export function encodeSafetensorsAs(prefix: string, dict: Record<string, NDArray>, metadata?: SafetensorsMetadata): Uint8Array {
  try {
    return encode(dict, metadata);
  } catch (e) {
    rethrow(prefix, e);
  }
}

export function decodeSafetensorsAs(prefix: string, bytes: Uint8Array): SafetensorsContents {
  try {
    return decode(bytes);
  } catch (e) {
    rethrow(prefix, e);
  }
}
