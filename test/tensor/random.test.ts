import { describe, expect, it } from 'vitest';
import { Generator, manualSeed, defaultGenerator } from '../../src/tensor/index.js';

describe('Generator', () => {
  it('the same seed gives bit-identical streams', () => {
    const a = new Generator(1234), b = new Generator(1234);
    const ua = a.fillUniform(new Float64Array(1000)), ub = b.fillUniform(new Float64Array(1000));
    expect(Buffer.from(ua.buffer).equals(Buffer.from(ub.buffer))).toBe(true);
    const na = a.fillNormal(new Float32Array(1001)), nb = b.fillNormal(new Float32Array(1001));
    expect(Buffer.from(na.buffer).equals(Buffer.from(nb.buffer))).toBe(true);
    expect(Array.from(a.permutation(50))).toEqual(Array.from(b.permutation(50)));
  });

  it('re-seeding restarts the stream, including the cached normal', () => {
    const g = new Generator(5);
    const first = [g.normal(), g.normal(), g.normal()];
    g.manualSeed(5);
    expect([g.normal(), g.normal(), g.normal()]).toEqual(first);
    manualSeed(99);
    const d1 = [defaultGenerator.random(), defaultGenerator.random()];
    manualSeed(99);
    expect([defaultGenerator.random(), defaultGenerator.random()]).toEqual(d1);
  });

  it('is pinned: the first draws for seed 0 never change across versions', () => {
    // If this fails, every seeded run changes: bump deliberately, never silently.
    const g = new Generator(0);
    expect([g.nextUint32(), g.nextUint32(), g.nextUint32()]).toEqual([3809008728, 1133695204, 53579671]);
    const h = new Generator(42);
    expect(h.random()).toBe(0.6606157208001621);
    expect(h.normal()).toBe(1.8404173453525816);
  });

  it('different seeds give different streams', () => {
    const seeds = [0, 1, 2, 3, 42, 2 ** 31, 2 ** 32 - 1, 123456789];
    const streams = seeds.map((s) => Array.from(new Generator(s).fillUniform(new Float64Array(8))).join(','));
    expect(new Set(streams).size).toBe(seeds.length);
  });

  it('uniform lies in [0, 1) with mean ½ and variance 1/12', () => {
    const u = new Generator(17).fillUniform(new Float64Array(100_000));
    let s = 0, s2 = 0, min = Infinity, max = -Infinity;
    for (const v of u) { s += v; s2 += v * v; if (v < min) min = v; if (v > max) max = v; }
    expect(min).toBeGreaterThanOrEqual(0);
    expect(max).toBeLessThan(1);
    const mean = s / u.length;
    expect(Math.abs(mean - 0.5)).toBeLessThan(0.005);
    expect(Math.abs(s2 / u.length - mean * mean - 1 / 12)).toBeLessThan(0.002);
    const lo = new Generator(3).uniform(-2, -1);
    expect(lo).toBeGreaterThanOrEqual(-2);
    expect(lo).toBeLessThan(-1);
  });

  it('normal has mean ≈ 0 and std ≈ 1 on 1e5 samples, and honours mean/std', () => {
    const n = new Generator(23).fillNormal(new Float64Array(100_000));
    let s = 0, s2 = 0, tail = 0;
    for (const v of n) { s += v; s2 += v * v; if (Math.abs(v) > 1.96) tail++; }
    const mean = s / n.length;
    const std = Math.sqrt(s2 / n.length - mean * mean);
    expect(Math.abs(mean)).toBeLessThan(0.02);
    expect(Math.abs(std - 1)).toBeLessThan(0.02);
    expect(Math.abs(tail / n.length - 0.05)).toBeLessThan(0.005);
    const shifted = new Generator(23).fillNormal(new Float64Array(100_000), 3, 0.5);
    let t = 0;
    for (const v of shifted) t += v;
    expect(Math.abs(t / shifted.length - 3)).toBeLessThan(0.01);
  });

  it('permutation is a permutation; fork is deterministic and independent', () => {
    const p = new Generator(8).permutation(100);
    expect(Array.from(p).sort((a, b) => a - b)).toEqual(Array.from({ length: 100 }, (_, i) => i));
    const f1 = new Generator(8).fork(), f2 = new Generator(8).fork();
    expect(f1.random()).toBe(f2.random());
    expect(new Generator(8).fork().random()).not.toBe(new Generator(8).random());
    expect(() => new Generator(NaN)).toThrow(/^manualSeed: seed must be a finite number/);
  });
});

describe('Generator state', () => {
  it('getState/setState continue a stream exactly, including a cached normal deviate', () => {
    const g = new Generator(42);
    g.normal(); // leaves the second Box–Muller value cached
    const s = g.getState();
    expect(s[4]).not.toBeNull();
    const a = [g.normal(), g.random(), g.nextUint32()];
    const h = new Generator(7).setState(JSON.parse(JSON.stringify(s)));
    expect([h.normal(), h.random(), h.nextUint32()]).toEqual(a);
  });

  it('setState rejects what is not a state', () => {
    expect(() => new Generator().setState([1, 2, 3])).toThrow('Generator.setState: expected [s0, s1, s2, s3, spare]');
    expect(() => new Generator().setState([0, 0, 0, 0, null])).toThrow('Generator.setState');
    expect(() => new Generator().setState([1, 2, 3, 2 ** 32, null])).toThrow('Generator.setState');
  });
});
