import { describe, expect, it } from 'vitest';
import { hashBucket, hashIds, murmur3 } from '../../src/models/hash.js';
import { InputLayer, SparseFeat } from '../../src/models/index.js';

const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);

describe('murmur3 (MurmurHash3_x86_32)', () => {
  it('matches the published test vectors (every tail length, seeds, non-ASCII bytes)', () => {
    // Vectors from the SMHasher reference as collected in common ports; mmh3.hash('hello') = 613153351.
    const vectors: Array<[Uint8Array, number, number]> = [
      [utf8(''), 0, 0],
      [utf8(''), 1, 0x514e28b7],
      [utf8(''), 0xffffffff, 0x81f16f39],
      [new Uint8Array([0, 0, 0, 0]), 0, 0x2362f9de],
      [utf8('a'), 0x9747b28c, 0x7fa09ea6],
      [utf8('aa'), 0x9747b28c, 0x5d211726],
      [utf8('aaa'), 0x9747b28c, 0x283e0130],
      [utf8('aaaa'), 0x9747b28c, 0x5a97808a],
      [utf8('abcd'), 0x9747b28c, 0xf0478627],
      [utf8('Hello, world!'), 0x9747b28c, 0x24884cba],
      [utf8('The quick brown fox jumps over the lazy dog'), 0x9747b28c, 0x2fa826cd],
      [utf8('hello'), 0, 613153351],
      [new Uint8Array([0xff, 0xff, 0xff, 0xff]), 0, 0x76293b50],
      [new Uint8Array([0x21, 0x43, 0x65, 0x87]), 0, 0xf55b516b],
    ];
    for (const [bytes, seed, want] of vectors) expect(murmur3(bytes, seed), `${Array.from(bytes)} seed ${seed}`).toBe(want);
  });
});

describe('hashBucket / hashIds', () => {
  it('hash the UTF-8 text (an integer as its decimal form), seed 0, mod numBuckets', () => {
    expect(hashBucket('hello', 1000)).toBe(613153351 % 1000);
    expect(hashBucket(42, 97)).toBe(hashBucket('42', 97));
    expect(hashBucket(-7, 97)).toBe(murmur3(utf8('-7')) % 97);
    expect(hashBucket('é', 2 ** 31 - 1)).toBe(murmur3(new Uint8Array([0xc3, 0xa9])) % (2 ** 31 - 1));
    const ids = hashIds(['a', 'b', 7, 'a'], 13);
    expect(Array.from(ids)).toEqual([hashBucket('a', 13), hashBucket('b', 13), hashBucket(7, 13), hashBucket('a', 13)]);
    for (const x of hashIds(Array.from({ length: 200 }, (_, i) => `user${i}`), 17)) expect(x >= 0 && x < 17).toBe(true);
  });

  it('refuse bad buckets and values, naming them', () => {
    expect(() => hashBucket('a', 0)).toThrow('hashBucket: numBuckets must be an integer in [1, 2^31 − 1], got 0');
    expect(() => hashIds(['a'], 1.5)).toThrow('hashIds: numBuckets must be an integer');
    expect(() => hashIds(['a', 1.5], 3)).toThrow('hashIds: value 1.5 at position 1 is neither a string nor a safe integer');
  });
});

describe('SparseFeat({ useHash: true })', () => {
  it('the input layer hashes raw strings, and equals looking up hashIds', () => {
    const col = SparseFeat('city', 11, { useHash: true, embeddingDim: 2 });
    expect(col.useHash).toBe(true);
    expect(SparseFeat('x', 3).useHash).toBe(false);
    const layer = new InputLayer([col]);
    const raw = ['paris', 'oslo', 'paris', 'lima'];
    expect(Array.from(layer.forward({ city: raw }).data)).toEqual(Array.from(layer.forward({ city: hashIds(raw, 11) }).data));
  });

  it('refuses raw values without useHash, non-strings, and a bad useHash', () => {
    const layer = new InputLayer([SparseFeat('a', 4), SparseFeat('h', 4, { useHash: true })]);
    expect(() => layer.forward({ a: ['x'], h: ['y'] })).toThrow("InputLayer: feature 'a' got an array of values; raw values need SparseFeat(..., { useHash: true })");
    expect(() => layer.forward({ a: new Int32Array([1]), h: [3 as unknown as string] })).toThrow("InputLayer: hashed feature 'h' must be an array of strings, got number at position 0");
    expect(() => SparseFeat('a', 4, { useHash: 'yes' as unknown as boolean })).toThrow("SparseFeat: useHash of 'a' must be a boolean, got yes");
  });
});
