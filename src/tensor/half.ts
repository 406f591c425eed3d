/*
 * IEEE 754 binary16 (float16) and bfloat16 bit patterns ⇄ numbers, for reading and writing files
 * made by PyTorch. Decoding is exact (every half and bfloat16 value is a float32). Encoding rounds
 * to nearest, ties to even, from the float32 value, as c10::Half and c10::BFloat16 do (a float64
 * is first rounded to float32, exactly as PyTorch converts a double tensor). NaN payloads and
 * signs are not kept: every NaN is written as the quiet NaN 0x7e00 (F16) or 0x7fc0 (BF16).
 */

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** The value of a float16 bit pattern (0..0xffff): subnormals, ±0, ±Infinity and NaN included. */
export function halfBitsToNumber(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant ? NaN : sign * Infinity;
  return sign * (1024 + mant) * 2 ** (exp - 25);
}

/** Round half to even of a non-negative number. */
function roundEven(x: number): number {
  const f = Math.floor(x);
  const d = x - f; // exact for the magnitudes used here (< 2^12)
  return d > 0.5 || (d === 0.5 && f % 2 === 1) ? f + 1 : f;
}

/** The float16 bit pattern nearest to `v` (after rounding v to float32); overflow gives ±Infinity, NaN 0x7e00. */
export function numberToHalfBits(v: number): number {
  const x = Math.fround(v);
  if (Number.isNaN(x)) return 0x7e00;
  const sign = x < 0 || Object.is(x, -0) ? 0x8000 : 0;
  const a = Math.abs(x);
  if (a === Infinity) return sign | 0x7c00;
  if (a < 2 ** -14) return sign | roundEven(a * 2 ** 24); // subnormal (a carry into 0x400 is the smallest normal)
  let e = Math.floor(Math.log2(a));
  if (2 ** e > a) e -= 1;
  else if (2 ** (e + 1) <= a) e += 1;
  let m = roundEven((a / 2 ** e - 1) * 1024);
  if (m === 1024) { m = 0; e += 1; }
  if (e > 15) return sign | 0x7c00;
  return sign | ((e + 15) << 10) | m;
}

/** The value of a bfloat16 bit pattern: the upper half of a float32. */
export function bfloat16BitsToNumber(h: number): number {
  u32[0] = (h & 0xffff) << 16;
  return f32[0];
}

/** The bfloat16 bit pattern nearest to `v` (after rounding v to float32); NaN gives 0x7fc0, as PyTorch. */
export function numberToBfloat16Bits(v: number): number {
  f32[0] = v;
  if (Number.isNaN(f32[0])) return 0x7fc0;
  const bits = u32[0];
  return ((bits + 0x7fff + ((bits >>> 16) & 1)) >>> 16) & 0xffff;
}
