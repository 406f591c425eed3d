/*
 * Feature hashing for SparseFeat({ useHash: true }): a raw value becomes a bucket id
 *   bucket = murmur3_x86_32(utf8(text), seed 0) mod numBuckets
 * where text is the string itself, or an integer's decimal form (String(n): "42", "-7"), and the
 * hash is read as an unsigned 32-bit integer. This is Austin Appleby's MurmurHash3_x86_32, the
 * function behind Python's `mmh3.hash(text, 0, signed=False)` and scikit-learn's
 * `murmurhash3_32(text, 0, positive=True)`, so a preprocessing step anywhere reproduces it. Plain
 * integer arithmetic (Math.imul, >>> 0), no platform API besides TextEncoder: the same buckets in
 * Node and in browsers.
 */

const encoder = new TextEncoder();

/** MurmurHash3_x86_32 of `bytes` as an unsigned integer. */
export function murmur3(bytes: Uint8Array, seed = 0): number {
  const c1 = 0xcc9e2d51;
  const c2 = 0x1b873593;
  let h = seed >>> 0;
  const n = bytes.length;
  const tail = n & ~3;
  for (let i = 0; i < tail; i += 4) {
    let k = bytes[i] | (bytes[i + 1] << 8) | (bytes[i + 2] << 16) | (bytes[i + 3] << 24);
    k = Math.imul(k, c1);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, c2);
    h ^= k;
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  const rest = n & 3;
  if (rest > 0) {
    let k = bytes[tail];
    if (rest > 1) k ^= bytes[tail + 1] << 8;
    if (rest > 2) k ^= bytes[tail + 2] << 16;
    k = Math.imul(k, c1);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, c2);
    h ^= k;
  }
  h ^= n;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

function checkBuckets(fn: string, numBuckets: unknown): number {
  if (typeof numBuckets !== 'number' || !Number.isInteger(numBuckets) || numBuckets <= 0 || numBuckets > 0x7fffffff) {
    throw new RangeError(`${fn}: numBuckets must be an integer in [1, 2^31 − 1], got ${String(numBuckets)}`);
  }
  return numBuckets;
}

function text(fn: string, v: unknown, i: number): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' && Number.isSafeInteger(v)) return String(v);
  throw new TypeError(`${fn}: value ${typeof v === 'number' ? v : typeof v} at position ${i} is neither a string nor a safe integer`);
}

/** The bucket in [0, numBuckets) of one raw value (a string, or an integer hashed as its decimal text). */
export function hashBucket(value: string | number, numBuckets: number): number {
  checkBuckets('hashBucket', numBuckets);
  return murmur3(encoder.encode(text('hashBucket', value, 0))) % numBuckets;
}

/** hashBucket of every value: the ids a SparseFeat({ useHash: true }) of vocabularySize numBuckets looks up. */
export function hashIds(values: ArrayLike<string | number>, numBuckets: number): Int32Array {
  checkBuckets('hashIds', numBuckets);
  const out = new Int32Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = murmur3(encoder.encode(text('hashIds', values[i], i))) % numBuckets;
  return out;
}
