import { Tensor } from '../autograd/index.js';
import { NDArray, formatShape, sizeOf } from '../tensor/index.js';
import { bfloat16BitsToNumber, halfBitsToNumber, numberToBfloat16Bits, numberToHalfBits } from '../tensor/half.js';
import { savedDType, setSavedDType } from './saved-dtype.js';

/*
 * The safetensors format (what Hugging Face's `safetensors` library reads and writes):
 *   8 bytes   N, the header length, unsigned 64-bit little-endian
 *   N bytes   UTF-8 JSON: { name: { dtype, shape, data_offsets: [begin, end] }, "__metadata__": { str: str } },
 *             padded with spaces so that the data starts at an 8-byte boundary
 *   rest      raw little-endian tensor data; offsets are relative to the start of this section and
 *             the tensors tile it exactly (no gaps, no overlaps, nothing left over)
 * Read: F32 and F64 as themselves; F16 and BF16 as float32 and I32 and I64 as float64 (all exact;
 * an I64 value beyond ±2^53, where float64 stops being exact, is an error). Such a tensor keeps
 * its file dtype (saved-dtype.ts), and loadStateDict casts it to the parameter's dtype.
 * Written: F32 / F64, or the tensor's saved dtype (BatchNorm's num_batches_tracked is I64, as
 * PyTorch writes it); F16 / BF16 are rounded to nearest even, integers must be whole and in range.
 * Every other dtype is rejected with an error rather than converted.
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

type Supported = 'F32' | 'F64' | 'F16' | 'BF16' | 'I32' | 'I64';
const SUPPORTED: readonly Supported[] = ['F32', 'F64', 'F16', 'BF16', 'I32', 'I64'];

/** The dtype a tensor is written as. */
function fileDType(t: NDArray): Supported {
  return savedDType(t) ?? (t.dtype === 'float64' ? 'F64' : 'F32');
}

/** The reference implementation refuses headers above 100 MB; so do we. */
const MAX_HEADER = 100_000_000;

const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * Bytes that are not a valid file of the format (safetensors, or a model file of serializeModel),
 * or a value that cannot be written in it. Exported so callers can tell a bad file from other
 * failures by type; the message starts with the function that found it.
 */
export class FormatError extends Error {
  override readonly name = 'FormatError';
}

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
  const dtypes = new Map(entries.map(([name, t]) => [name, fileDType(t)]));
  const width = (name: string): number => KNOWN_DTYPES[dtypes.get(name)!];
  const order = entries.map((e, i) => ({ e, i })).sort((a, b) => width(b.e[0]) - width(a.e[0]) || a.i - b.i);
  const offsets = new Map<string, [number, number]>();
  let total = 0;
  for (const { e: [name, t] } of order) {
    const bytes = t.size * width(name);
    offsets.set(name, [total, total + bytes]);
    total += bytes;
  }
  const parts: string[] = [];
  if (metadata !== undefined) parts.push(`"__metadata__":${JSON.stringify(metadata)}`);
  for (const [name, t] of entries) {
    const dtype = dtypes.get(name)!;
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
    writeLE(out, base + begin, t, dtypes.get(name)!, name);
  }
  return out;
}

const INT_RANGE = { I32: [-(2 ** 31), 2 ** 31 - 1], I64: [-(2 ** 63), 2 ** 63] } as const;

function writeLE(out: Uint8Array, at: number, t: NDArray, dtype: Supported, name: string): void {
  const d = t.data;
  if (LITTLE_ENDIAN_HOST && (dtype === 'F32' || dtype === 'F64')) {
    out.set(new Uint8Array(d.buffer, d.byteOffset, d.byteLength), at);
    return;
  }
  const view = new DataView(out.buffer, out.byteOffset + at, d.length * KNOWN_DTYPES[dtype]);
  switch (dtype) {
    case 'F64': for (let i = 0; i < d.length; i++) view.setFloat64(i * 8, d[i], true); break;
    case 'F32': for (let i = 0; i < d.length; i++) view.setFloat32(i * 4, d[i], true); break;
    case 'F16': for (let i = 0; i < d.length; i++) view.setUint16(i * 2, numberToHalfBits(d[i]), true); break;
    case 'BF16': for (let i = 0; i < d.length; i++) view.setUint16(i * 2, numberToBfloat16Bits(d[i]), true); break;
    case 'I32':
    case 'I64': {
      const [lo, hi] = INT_RANGE[dtype];
      for (let i = 0; i < d.length; i++) {
        const v = d[i];
        // I64's upper bound is exclusive: 2^63 itself is a float64 but not an int64.
        if (!Number.isInteger(v) || v < lo || v > hi || (dtype === 'I64' && v === hi)) {
          throw new FormatError(`'${name}' is saved as ${dtype} but holds ${v} at index ${i}, which is not ${dtype === 'I32' ? 'a 32-bit' : 'a 64-bit'} integer`);
        }
        if (dtype === 'I32') view.setInt32(i * 4, v, true);
        else view.setBigInt64(i * 8, BigInt(v), true);
      }
      break;
    }
  }
}

const MAX_EXACT = 2n ** 53n;

/** Decodes [begin, end) into fresh storage: the result never aliases (or depends on the alignment of) `bytes`. */
function readLE(bytes: Uint8Array, begin: number, end: number, dtype: Supported, name: string): Float32Array | Float64Array {
  if (LITTLE_ENDIAN_HOST && (dtype === 'F32' || dtype === 'F64')) {
    // Not bytes.slice: on a Node Buffer that is a view, not a copy.
    const copy = new Uint8Array(end - begin);
    copy.set(bytes.subarray(begin, end));
    return dtype === 'F64' ? new Float64Array(copy.buffer) : new Float32Array(copy.buffer);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset + begin, end - begin);
  const n = (end - begin) / KNOWN_DTYPES[dtype];
  const out = dtype === 'F64' || dtype === 'I32' || dtype === 'I64' ? new Float64Array(n) : new Float32Array(n);
  switch (dtype) {
    case 'F64': for (let i = 0; i < n; i++) out[i] = view.getFloat64(i * 8, true); break;
    case 'F32': for (let i = 0; i < n; i++) out[i] = view.getFloat32(i * 4, true); break;
    case 'F16': for (let i = 0; i < n; i++) out[i] = halfBitsToNumber(view.getUint16(i * 2, true)); break;
    case 'BF16': for (let i = 0; i < n; i++) out[i] = bfloat16BitsToNumber(view.getUint16(i * 2, true)); break;
    case 'I32': for (let i = 0; i < n; i++) out[i] = view.getInt32(i * 4, true); break;
    case 'I64':
      for (let i = 0; i < n; i++) {
        const v = view.getBigInt64(i * 8, true);
        if (v > MAX_EXACT || v < -MAX_EXACT) {
          throw new FormatError(`tensor '${name}': I64 value ${v} at index ${i} is beyond ±2^53, where float64 (the widest dtype here) stops being exact`);
        }
        out[i] = Number(v);
      }
      break;
  }
  return out;
}

interface Entry {
  name: string;
  dtype: Supported;
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
    if (!(SUPPORTED as readonly string[]).includes(dtype)) throw new FormatError(`tensor '${name}': dtype ${dtype} is not supported (only ${SUPPORTED.join(', ')})`);
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
    entries.push({ name, dtype: dtype as Supported, shape, begin, end });
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
  for (const e of entries) {
    const t = new Tensor(readLE(bytes, base + e.begin, base + e.end, e.dtype, e.name), e.shape);
    if (e.dtype !== 'F32' && e.dtype !== 'F64') setSavedDType(t, e.dtype);
    define(tensors, e.name, t);
  }
  return { tensors, metadata };
}

function rethrow(prefix: string, e: unknown): never {
  if (e instanceof FormatError) throw new FormatError(`${prefix} ${e.message}`);
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
