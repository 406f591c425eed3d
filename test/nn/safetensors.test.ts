import { mkdtempSync, mkdirSync, readFileSync, readdirSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Tensor, tensor } from '../../src/autograd/index.js';
import { Module } from '../../src/nn/module.js';
import { deserializeSafetensors, deserializeSafetensorsWithMetadata, serializeSafetensors } from '../../src/nn/safetensors.js';
import { loadSafetensors, loadSafetensorsSync, loadSafetensorsWithMetadata, saveSafetensors, saveSafetensorsSync } from '../../src/nn/safetensors-node.js';

const dir = mkdtempSync(join(tmpdir(), 'safetensors-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Raw bytes of a tensor's storage, for bit-exact comparison (NaN payloads, -0). */
const bits = (t: { data: Float32Array | Float64Array }): number[] => Array.from(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));

function sampleDict(): Record<string, Tensor> {
  const special32 = new Float32Array([0, -0, Infinity, -Infinity, NaN, 1.401298464324817e-45, 3.4028234663852886e38, -1.5]);
  // A NaN with a payload: bit-exactness must keep it.
  new Uint32Array(special32.buffer)[4] = 0x7fc12345;
  return {
    'linears.0.weight': tensor([[0.1, -0.2, 0.3], [1e-30, 2, -3]]),
    scalar64: tensor(new Float64Array([Math.PI]), { shape: [] }),
    specials: tensor(special32),
    'bn.running_var': tensor([Number.MIN_VALUE, -0, 1 / 3, NaN, 1e308], { dtype: 'float64' }),
    empty: tensor(new Float32Array(0), { shape: [2, 0] }),
    scalar32: tensor(new Float32Array([7.5]), { shape: [] }),
  };
}

/**
 * An independent reader written from the format description only: u64 little-endian header
 * length, JSON header, then each tensor's bytes at [begin, end) after the header, little-endian.
 */
function referenceRead(bytes: Uint8Array): { header: Record<string, any>; headerLength: number; values: Record<string, number[]> } {
  let n = 0;
  for (let i = 7; i >= 0; i--) n = n * 256 + bytes[i];
  const text = Buffer.from(bytes.subarray(8, 8 + n)).toString('utf8');
  const header = JSON.parse(text);
  const values: Record<string, number[]> = {};
  const data = bytes.subarray(8 + n);
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  for (const [name, info] of Object.entries<any>(header)) {
    if (name === '__metadata__') continue;
    const [begin, end] = info.data_offsets;
    const width = info.dtype === 'F64' ? 8 : 4;
    const out: number[] = [];
    for (let at = begin; at < end; at += width) out.push(width === 8 ? view.getFloat64(at, true) : view.getFloat32(at, true));
    values[name] = out;
  }
  return { header, headerLength: n, values };
}

/** Builds a file by hand: u64 LE length of `header` (a string, written as is), then `data`. */
function handMade(header: string | object, data: number[] = [], lengthOverride?: number): Uint8Array {
  const json = Buffer.from(typeof header === 'string' ? header : JSON.stringify(header), 'utf8');
  const out = new Uint8Array(8 + json.length + data.length);
  let n = lengthOverride ?? json.length;
  for (let i = 0; i < 8; i++) { out[i] = n % 256; n = Math.floor(n / 256); }
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

const f32Bytes = (...v: number[]): number[] => Array.from(new Uint8Array(new Float32Array(v).buffer));

describe('serializeSafetensors / deserializeSafetensors', () => {
  it('round-trip F32 and F64 bit-exactly, incl. 0-d and empty tensors, NaN payloads and -0', () => {
    const dict = sampleDict();
    const back = deserializeSafetensors(serializeSafetensors(dict));
    expect(Object.keys(back)).toEqual(Object.keys(dict));
    for (const [k, t] of Object.entries(dict)) {
      expect(back[k].shape, k).toEqual(t.shape);
      expect(back[k].dtype, k).toBe(t.dtype);
      expect(bits(back[k]), k).toEqual(bits(t));
      expect(back[k].requiresGrad).toBe(false);
    }
  });

  it('writes the documented layout: padded header, data after it, widest dtype first, no gaps', () => {
    const dict = sampleDict();
    const bytes = serializeSafetensors(dict, { format: 'pt', note: 'héllo' });
    const { header, headerLength, values } = referenceRead(bytes);
    expect(headerLength % 8).toBe(0);
    const text = Buffer.from(bytes.subarray(8, 8 + headerLength)).toString('utf8');
    expect(text.trimEnd().endsWith('}')).toBe(true);
    expect(/^ *$/.test(text.slice(text.trimEnd().length))).toBe(true);
    expect(header.__metadata__).toEqual({ format: 'pt', note: 'héllo' });
    expect(header['linears.0.weight']).toEqual({ dtype: 'F32', shape: [2, 3], data_offsets: [48, 72] });
    expect(header.scalar64).toEqual({ dtype: 'F64', shape: [], data_offsets: [0, 8] });
    expect(header['bn.running_var']).toEqual({ dtype: 'F64', shape: [5], data_offsets: [8, 48] });
    expect(header.empty).toEqual({ dtype: 'F32', shape: [2, 0], data_offsets: [104, 104] });
    expect(bytes.length).toBe(8 + headerLength + 108);
    for (const [k, t] of Object.entries(dict)) {
      const got = values[k];
      expect(got.length, k).toBe(t.size);
      got.forEach((v, i) => expect(Object.is(v, t.data[i]) || (Number.isNaN(v) && Number.isNaN(t.data[i])), `${k}[${i}]`).toBe(true));
    }
  });

  it('reads a hand-made file with an unpadded header from an unaligned buffer, copying the data', () => {
    const file = handMade({ b: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, a: { dtype: 'F32', shape: [], data_offsets: [8, 12] } }, f32Bytes(1.5, -2, 4));
    // Shift by 3 bytes so no Float32Array could view the data in place.
    const holder = new Uint8Array(file.length + 3);
    holder.set(file, 3);
    const bytes = holder.subarray(3);
    const { tensors, metadata } = deserializeSafetensorsWithMetadata(bytes);
    expect(metadata).toEqual({});
    expect(Object.keys(tensors)).toEqual(['b', 'a']);
    expect(Array.from(tensors.b.data)).toEqual([1.5, -2]);
    expect(tensors.a.shape).toEqual([]);
    expect(tensors.a.item()).toBe(4);
    holder.fill(0);
    expect(Array.from(tensors.b.data)).toEqual([1.5, -2]);
  });

  it('keeps odd names (incl. "__proto__") as plain keys', () => {
    const dict: Record<string, Tensor> = {};
    Object.defineProperty(dict, '__proto__', { value: tensor([1]), enumerable: true });
    dict['a b/ç'] = tensor([2]);
    const back = deserializeSafetensors(serializeSafetensors(dict));
    expect(Object.keys(back)).toEqual(['__proto__', 'a b/ç']);
    expect(Object.getPrototypeOf(back)).toBe(Object.prototype);
    expect(Array.from(back['a b/ç'].data)).toEqual([2]);
  });

  it('rejects what it cannot write', () => {
    expect(() => serializeSafetensors({ __metadata__: tensor([1]) })).toThrow("serializeSafetensors: '__metadata__' is reserved");
    expect(() => serializeSafetensors({ w: [1, 2] as unknown as Tensor })).toThrow("serializeSafetensors: 'w' is not a Tensor (got object)");
    expect(() => serializeSafetensors({ w: tensor([1]) }, { epoch: 3 as unknown as string })).toThrow("serializeSafetensors: metadata values must be strings, got 3 for 'epoch'");
  });
});

describe('deserializeSafetensors rejects malformed input with a clear error', () => {
  const ok = { w: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } };
  const cases: Array<[string, Uint8Array, string | RegExp]> = [
    ['a file shorter than 8 bytes', new Uint8Array(5), 'deserializeSafetensors: file is 5 bytes, shorter than the 8-byte header length'],
    ['a header length beyond the file', handMade(ok, f32Bytes(1, 2), 1000), /^deserializeSafetensors: header length 1000 runs past the end of the file \(\d+ bytes follow the length\)$/],
    ['a huge header length', handMade(ok, f32Bytes(1, 2), 2 ** 53 + 2), /^deserializeSafetensors: header length 9007199254740994 runs past the end/],
    ['invalid JSON', handMade('{"w": {"dtype": "F32",', f32Bytes(1, 2)), /^deserializeSafetensors: invalid JSON header: /],
    ['a JSON array', handMade('[1, 2]'), 'deserializeSafetensors: invalid JSON header: expected an object, got an array'],
    ['an unknown dtype', handMade({ w: { dtype: 'X42', shape: [2], data_offsets: [0, 8] } }, f32Bytes(1, 2)), `deserializeSafetensors: tensor 'w': unknown dtype "X42"`],
    ['a dtype the format defines but we do not read', handMade({ w: { dtype: 'U8', shape: [8], data_offsets: [0, 8] } }, f32Bytes(1, 2)), "deserializeSafetensors: tensor 'w': dtype U8 is not supported (only F32, F64, F16, BF16, I32, I64)"],
    ['a shape/offset size mismatch', handMade({ w: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, f32Bytes(1, 2)), "deserializeSafetensors: tensor 'w': shape [3] of F32 needs 12 bytes, but data_offsets [0, 8] span 8"],
    ['offsets past the data', handMade({ w: { dtype: 'F32', shape: [3], data_offsets: [0, 12] } }, f32Bytes(1, 2)), "deserializeSafetensors: tensor 'w': data_offsets [0, 12] run past the end of the data (8 bytes)"],
    ['overlapping offsets', handMade({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }, f32Bytes(1, 2)), "deserializeSafetensors: tensors 'a' [0, 8] and 'b' [4, 8] overlap"],
    ['a gap between tensors', handMade({ a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] }, b: { dtype: 'F32', shape: [1], data_offsets: [8, 12] } }, f32Bytes(1, 2, 3)), "deserializeSafetensors: tensor 'b' starts at byte 8, leaving a gap of 4 bytes after byte 4"],
    ['a gap at the start', handMade({ b: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }, f32Bytes(1, 2)), "deserializeSafetensors: tensor 'b' starts at byte 4, leaving a gap of 4 bytes after byte 0"],
    ['bytes left over after the tensors', handMade(ok, f32Bytes(1, 2, 3)), 'deserializeSafetensors: the data section has 12 bytes but the tensors cover only 8'],
    ['reversed offsets', handMade({ w: { dtype: 'F32', shape: [0], data_offsets: [8, 0] } }, f32Bytes(1, 2)), "deserializeSafetensors: tensor 'w': data_offsets must be [begin, end] with 0 <= begin <= end, got [8,0]"],
    ['a negative dimension', handMade({ w: { dtype: 'F32', shape: [-2], data_offsets: [0, 8] } }, f32Bytes(1, 2)), "deserializeSafetensors: tensor 'w': shape must be an array of non-negative integers, got [-2]"],
    ['an entry that is not an object', handMade({ w: 3 }), "deserializeSafetensors: tensor 'w': expected { dtype, shape, data_offsets }, got 3"],
    ['non-string metadata', handMade({ __metadata__: { epoch: 3 }, ...ok }, f32Bytes(1, 2)), "deserializeSafetensors: __metadata__ values must be strings, got 3 for 'epoch'"],
  ];

  it.each(cases)('%s', (_what, bytes, message) => {
    expect(() => deserializeSafetensors(bytes)).toThrow(message);
  });

  it('accepts the well-formed control case those are built from', () => {
    expect(Array.from(deserializeSafetensors(handMade(ok, f32Bytes(1, 2))).w.data)).toEqual([1, 2]);
  });
});

class Tiny extends Module {
  constructor(dtype: 'float32' | 'float64', seed: number) {
    super();
    const v = (n: number): number[] => Array.from({ length: n }, (_, i) => Math.sin(seed * 31 + i));
    this.registerParameter('weight', tensor(v(6), { dtype, shape: [2, 3] }));
    this.registerParameter('bias', tensor(v(2), { dtype }));
    this.registerBuffer('running_mean', tensor(v(3), { dtype }));
  }
}

describe('saveSafetensors / loadSafetensors', () => {
  it('round-trip a module state dict through a file bit-exactly (async and sync)', async () => {
    for (const dtype of ['float32', 'float64'] as const) {
      const src = new Tiny(dtype, 1);
      const file = join(dir, `tiny-${dtype}.safetensors`);
      await saveSafetensors(file, src.stateDict(), { epoch: '3' });
      const dst = new Tiny(dtype, 2);
      dst.loadStateDict(await loadSafetensors(file));
      for (const [k, t] of Object.entries(src.stateDict())) expect(bits(dst.stateDict()[k]), k).toEqual(bits(t));
      expect((await loadSafetensorsWithMetadata(file)).metadata).toEqual({ epoch: '3' });
      // The independent reader agrees with the file on disk.
      const ref = referenceRead(readFileSync(file));
      expect(ref.values.weight).toEqual(Array.from(src.stateDict().weight.data));
      const syncFile = join(dir, `tiny-${dtype}-sync.safetensors`);
      saveSafetensorsSync(syncFile, src.stateDict());
      expect(readFileSync(syncFile).length).toBeGreaterThan(8);
      const back = loadSafetensorsSync(syncFile);
      expect(bits(back.bias)).toEqual(bits(src.stateDict().bias));
    }
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('reports a truncated file, a missing file and garbage with the path', async () => {
    const file = join(dir, 'truncated.safetensors');
    await saveSafetensors(file, { w: tensor([1, 2, 3, 4]) });
    truncateSync(file, readFileSync(file).length - 4);
    await expect(loadSafetensors(file)).rejects.toThrow(`loadSafetensors: ${file}: tensor 'w': data_offsets [0, 16] run past the end of the data (12 bytes)`);
    truncateSync(file, 6);
    await expect(loadSafetensors(file)).rejects.toThrow(`loadSafetensors: ${file}: file is 6 bytes, shorter than the 8-byte header length`);
    expect(() => loadSafetensorsSync(file)).toThrow(`loadSafetensors: ${file}: file is 6 bytes`);
    await expect(loadSafetensors(join(dir, 'nope.safetensors'))).rejects.toThrow(/^loadSafetensors: cannot read .*nope\.safetensors: ENOENT/);
    writeFileSync(file, 'not a safetensors file at all');
    await expect(loadSafetensors(file)).rejects.toThrow(/^loadSafetensors: .*: header length \d+ runs past the end of the file/);
  });

  it('a failed save leaves no partial file and keeps the old one intact', async () => {
    const sub = join(dir, 'atomic');
    mkdirSync(sub);
    const file = join(sub, 'model.safetensors');
    await saveSafetensors(file, { w: tensor([1, 2]) });
    const before = readFileSync(file);
    await expect(saveSafetensors(file, { w: 'x' as unknown as Tensor })).rejects.toThrow("saveSafetensors: 'w' is not a Tensor (got string)");
    expect(readFileSync(file)).toEqual(before);
    // Renaming over a directory fails after the temp file was written: it must be cleaned up.
    const target = join(sub, 'is-a-dir');
    mkdirSync(target);
    await expect(saveSafetensors(target, { w: tensor([1, 2]) })).rejects.toThrow(/^saveSafetensors: cannot write .*is-a-dir: /);
    expect(() => saveSafetensorsSync(target, { w: tensor([1, 2]) })).toThrow(/^saveSafetensors: cannot write .*is-a-dir: /);
    await expect(saveSafetensors(join(sub, 'missing-dir', 'm.safetensors'), { w: tensor([1]) })).rejects.toThrow(/^saveSafetensors: cannot write /);
    expect(readdirSync(sub).sort()).toEqual(['is-a-dir', 'model.safetensors']);
    expect(readFileSync(file)).toEqual(before);
  });
});
