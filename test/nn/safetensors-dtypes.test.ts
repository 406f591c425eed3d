import { describe, expect, it } from 'vitest';
import { tensor } from '../../src/autograd/index.js';
import { BatchNorm1d } from '../../src/nn/batchnorm.js';
import { deserializeSafetensors, serializeSafetensors } from '../../src/nn/safetensors.js';
import { savedDType, setSavedDType } from '../../src/nn/saved-dtype.js';
import { bfloat16BitsToNumber, halfBitsToNumber, numberToBfloat16Bits, numberToHalfBits } from '../../src/tensor/half.js';

/** A one-tensor file built by hand: u64 LE header length, JSON header, raw little-endian bytes. */
function file(dtype: string, shape: number[], data: Uint8Array): Uint8Array {
  const json = Buffer.from(JSON.stringify({ t: { dtype, shape, data_offsets: [0, data.length] } }), 'utf8');
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}
const u16 = (...v: number[]): Uint8Array => { const b = new Uint8Array(v.length * 2); const d = new DataView(b.buffer); v.forEach((x, i) => d.setUint16(i * 2, x, true)); return b; };
const i32 = (...v: number[]): Uint8Array => { const b = new Uint8Array(v.length * 4); const d = new DataView(b.buffer); v.forEach((x, i) => d.setInt32(i * 4, x, true)); return b; };
const i64 = (...v: bigint[]): Uint8Array => { const b = new Uint8Array(v.length * 8); const d = new DataView(b.buffer); v.forEach((x, i) => d.setBigInt64(i * 8, x, true)); return b; };
const same = (a: number, b: number): boolean => Object.is(a, b) || (Number.isNaN(a) && Number.isNaN(b));

describe('safetensors F16', () => {
  // bit pattern → value, from the IEEE 754 binary16 definition.
  const table: Array<[number, number]> = [
    [0x0000, 0], [0x8000, -0], [0x3c00, 1], [0xc000, -2], [0x3555, 0.333251953125],
    [0x0001, 2 ** -24], [0x8001, -(2 ** -24)], [0x03ff, 1023 * 2 ** -24], [0x0400, 2 ** -14], // subnormals, smallest normal
    [0x7bff, 65504], [0x7c00, Infinity], [0xfc00, -Infinity], [0x7e00, NaN], [0x7c01, NaN], [0xfe00, NaN],
  ];

  it('decodes hand-built bytes to float32: subnormals, ±0, ±Infinity, NaN', () => {
    const t = deserializeSafetensors(file('F16', [table.length], u16(...table.map(([b]) => b)))).t;
    expect(t.dtype).toBe('float32');
    expect(savedDType(t)).toBe('F16');
    table.forEach(([b, v], i) => expect(same(t.data[i], v), `0x${b.toString(16)}`).toBe(true));
  });

  it('encodes with round-half-to-even: ties, subnormal ties, overflow to Infinity', () => {
    const cases: Array<[number, number]> = [
      [1 / 3, 0x3555], [65504, 0x7bff], [65519, 0x7bff], [65520, 0x7c00], [1e6, 0x7c00], [-1e6, 0xfc00],
      [2 ** -25, 0x0000], [3 * 2 ** -25, 0x0002], [5 * 2 ** -25, 0x0002], [2 ** -26, 0x0000],
      [1 + 2 ** -11, 0x3c00], [1 + 3 * 2 ** -11, 0x3c02], [-0, 0x8000], [1e-10, 0x0000], [NaN, 0x7e00],
      [1023.5 * 2 ** -24, 0x0400], // the largest subnormal's upper tie carries into the smallest normal
    ];
    for (const [v, bits] of cases) expect(numberToHalfBits(v), String(v)).toBe(bits);
  });

  it('every float16 bit pattern survives decode then encode', () => {
    for (let b = 0; b < 0x10000; b++) {
      const v = halfBitsToNumber(b);
      if (Number.isNaN(v)) continue;
      if (numberToHalfBits(v) !== b) throw new Error(`0x${b.toString(16)} → ${v} → 0x${numberToHalfBits(v).toString(16)}`);
    }
  });

  it('a tensor read as F16 is written as F16 again, byte for byte (NaN as 0x7e00); setSavedDType(t, null) writes F32', () => {
    const bytes = file('F16', [table.length], u16(...table.map(([b]) => b)));
    const dict = deserializeSafetensors(bytes);
    const again = serializeSafetensors(dict);
    // The data is the tail of the file (the header is padded to 8 bytes, so compare the tails).
    const tail = new DataView(again.buffer, again.byteOffset + again.length - table.length * 2);
    const written = table.map((_, i) => tail.getUint16(i * 2, true));
    expect(written).toEqual(table.map(([b, v]) => (Number.isNaN(v) ? 0x7e00 : b)));
    setSavedDType(dict.t, null);
    const f32 = deserializeSafetensors(serializeSafetensors(dict)).t;
    expect(savedDType(f32)).toBeNull();
    expect(f32.dtype).toBe('float32');
  });
});

describe('safetensors BF16', () => {
  const table: Array<[number, number]> = [
    [0x3f80, 1], [0xbf80, -1], [0x3eab, 0.333984375], [0x0000, 0], [0x8000, -0], [0x7f7f, 3.3895313892515355e38],
    [0x0001, 2 ** -133], [0x0080, 2 ** -126], [0x7f80, Infinity], [0xff80, -Infinity], [0x7fc0, NaN], [0xffc1, NaN],
  ];

  it('decodes hand-built bytes to float32', () => {
    const t = deserializeSafetensors(file('BF16', [2, table.length / 2], u16(...table.map(([b]) => b)))).t;
    expect(t.dtype).toBe('float32');
    expect(t.shape).toEqual([2, 6]);
    expect(savedDType(t)).toBe('BF16');
    table.forEach(([b, v], i) => expect(same(t.data[i], v), `0x${b.toString(16)}`).toBe(true));
  });

  it('encodes from float32 with round-half-to-even, as c10::BFloat16', () => {
    const f = (bits: number): number => new Float32Array(new Uint32Array([bits]).buffer)[0];
    const cases: Array<[number, number]> = [
      [1 / 3, 0x3eab],                 // 0x3eaaaaab: below-half discarded bits round up past 0x3eaa
      [f(0x3f808000), 0x3f80],         // a tie, even upper half stays
      [f(0x3f818000), 0x3f82],         // a tie, odd upper half rounds up
      [f(0x3f807fff), 0x3f80],
      [f(0x7f7fffff), 0x7f80],         // float32 max rounds to Infinity
      [-0, 0x8000], [NaN, 0x7fc0], [Infinity, 0x7f80],
    ];
    for (const [v, bits] of cases) expect(numberToBfloat16Bits(v), String(v)).toBe(bits);
  });

  it('every bfloat16 bit pattern survives decode then encode', () => {
    for (let b = 0; b < 0x10000; b++) {
      const v = bfloat16BitsToNumber(b);
      if (Number.isNaN(v)) continue;
      if (numberToBfloat16Bits(v) !== b) throw new Error(`0x${b.toString(16)} → ${v} → 0x${numberToBfloat16Bits(v).toString(16)}`);
    }
  });
});

describe('safetensors I32 and I64', () => {
  it('decodes I32 exactly to float64', () => {
    const vals = [-(2 ** 31), 2 ** 31 - 1, 0, -1, 7];
    const t = deserializeSafetensors(file('I32', [5], i32(...vals))).t;
    expect(t.dtype).toBe('float64');
    expect(savedDType(t)).toBe('I32');
    expect(Array.from(t.data)).toEqual(vals);
  });

  it('decodes I64 exactly to float64 up to ±2^53 and refuses values beyond', () => {
    const vals = [0n, -1n, 2n ** 53n, -(2n ** 53n), 123456789012n];
    const t = deserializeSafetensors(file('I64', [5], i64(...vals))).t;
    expect(t.dtype).toBe('float64');
    expect(savedDType(t)).toBe('I64');
    expect(Array.from(t.data)).toEqual(vals.map(Number));
    expect(() => deserializeSafetensors(file('I64', [2], i64(5n, 2n ** 53n + 1n)))).toThrow(
      "deserializeSafetensors: tensor 't': I64 value 9007199254740993 at index 1 is beyond ±2^53, where float64 (the widest dtype here) stops being exact",
    );
    expect(() => deserializeSafetensors(file('I64', [1], i64(-(2n ** 63n))))).toThrow(/I64 value -9223372036854775808 at index 0 is beyond ±2\^53/);
  });

  it('writes integer-marked tensors as integers and refuses values they cannot hold', () => {
    const dict = { a: setSavedDType(tensor([3, -4, 2 ** 53]), 'I64'), b: setSavedDType(tensor([5, -(2 ** 31)], { dtype: 'float64' }), 'I32') };
    const back = deserializeSafetensors(serializeSafetensors(dict));
    expect(Array.from(back.a.data)).toEqual([3, -4, 2 ** 53]);
    expect(Array.from(back.b.data)).toEqual([5, -(2 ** 31)]);
    expect([savedDType(back.a), savedDType(back.b)]).toEqual(['I64', 'I32']);
    expect(() => serializeSafetensors({ n: setSavedDType(tensor([1, 1.5]), 'I64') })).toThrow(
      "serializeSafetensors: 'n' is saved as I64 but holds 1.5 at index 1, which is not a 64-bit integer",
    );
    expect(() => serializeSafetensors({ n: setSavedDType(tensor([2 ** 31], { dtype: 'float64' }), 'I32') })).toThrow(
      "serializeSafetensors: 'n' is saved as I32 but holds 2147483648 at index 0, which is not a 32-bit integer",
    );
    expect(() => serializeSafetensors({ n: setSavedDType(tensor([NaN]), 'I64') })).toThrow(/holds NaN at index 0/);
    expect(() => setSavedDType(tensor([1]), 'U8' as never)).toThrow(`setSavedDType: dtype must be 'F16', 'BF16', 'I32', 'I64' or null, got "U8"`);
  });
});

describe('BatchNorm1d state as PyTorch writes it', () => {
  it('writes num_batches_tracked as I64 [] and the rest as F32; it loads back, also into float64', () => {
    const bn = new BatchNorm1d(3);
    bn.forward(tensor([[1, 2, 3], [4, 5, 7]]));
    bn.forward(tensor([[0, 2, 3], [4, 1, 7]]));
    const bytes = serializeSafetensors(bn.stateDict());
    const n = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
    const header = JSON.parse(Buffer.from(bytes.subarray(8, 8 + n)).toString('utf8'));
    expect(header.num_batches_tracked.dtype).toBe('I64');
    expect(header.num_batches_tracked.shape).toEqual([]);
    expect(header.running_mean.dtype).toBe('F32');
    const [begin] = header.num_batches_tracked.data_offsets;
    expect(new DataView(bytes.buffer, bytes.byteOffset + 8 + n + begin, 8).getBigInt64(0, true)).toBe(2n);
    const back = deserializeSafetensors(bytes);
    const other = new BatchNorm1d(3).to('float64');
    other.loadStateDict(back);
    expect(other.numBatchesTracked.item()).toBe(2);
    expect(other.numBatchesTracked.dtype).toBe('float64');
    expect(Array.from(other.runningMean.data)).toEqual(Array.from(bn.runningMean.data).map((v) => Math.fround(v)));
    // The mark survives module.to(): the tensor object is kept.
    expect(savedDType(other.numBatchesTracked)).toBe('I64');
  });

  it('loads F16 and BF16 checkpoints into float32 and float64 modules (values cast as copy_)', () => {
    const half = deserializeSafetensors(file('F16', [3], u16(0x3c00, 0x3555, 0x0001))).t;
    const bn = new BatchNorm1d(3).to('float64');
    const sd = { ...bn.stateDict(), running_mean: half };
    bn.loadStateDict(sd);
    expect(Array.from(bn.runningMean.data)).toEqual([1, 0.333251953125, 2 ** -24]);
  });
});
