import type { Storage } from './dtype.js';

/** Every generator's draws so far (state changes, process-wide): see generatorDraws. */
let draws = 0;

/**
 * How many times any Generator has changed state in this process (draws, reseeds, setState): a
 * caller that compares two readings knows whether code in between used randomness (a traced
 * training step must not freeze a dropout mask).
 */
export function generatorDraws(): number {
  return draws;
}

/**
 * A seeded pseudo-random generator (xoshiro128**, seeded through splitmix32). The same seed gives
 * bit-identical streams on every run and platform: only 32-bit integer arithmetic is involved
 * before the final conversion to a double.
 */
export class Generator {
  private s0 = 0;
  private s1 = 0;
  private s2 = 0;
  private s3 = 0;
  private spare: number | null = null;

  constructor(seed = 0) {
    this.manualSeed(seed);
  }

  /** Re-seeds this generator in place. */
  manualSeed(seed: number): this {
    if (!Number.isFinite(seed)) throw new RangeError(`manualSeed: seed must be a finite number, got ${seed}`);
    let x = (Math.trunc(seed) ^ Math.trunc(seed / 0x100000000)) >>> 0;
    const next = (): number => {
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.s0 = next(); this.s1 = next(); this.s2 = next(); this.s3 = next();
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1;
    this.spare = null;
    draws++;
    return this;
  }

  /**
   * The whole state as plain numbers (torch.Generator.get_state): the four xoshiro words and the
   * cached second normal deviate (null when none), JSON-safe, for checkpoints.
   */
  getState(): [number, number, number, number, number | null] {
    return [this.s0, this.s1, this.s2, this.s3, this.spare];
  }

  /** Restores a getState() result, so the stream continues exactly where it was taken. */
  setState(state: readonly unknown[]): this {
    const ok = Array.isArray(state) && state.length === 5 &&
      state.slice(0, 4).every((w) => typeof w === 'number' && Number.isInteger(w) && w >= 0 && w <= 0xffffffff) &&
      (state[4] === null || (typeof state[4] === 'number' && Number.isFinite(state[4]))) &&
      (((state[0] as number) | (state[1] as number) | (state[2] as number) | (state[3] as number)) !== 0);
    if (!ok) throw new TypeError(`Generator.setState: expected [s0, s1, s2, s3, spare] (four uint32 words, not all 0, and a finite number or null), got ${JSON.stringify(state)}`);
    [this.s0, this.s1, this.s2, this.s3] = state as number[];
    this.spare = state[4] as number | null;
    draws++;
    return this;
  }

  /** The next 32 random bits as an unsigned integer. */
  nextUint32(): number {
    const s0 = this.s0, s1 = this.s1, s2 = this.s2, s3 = this.s3;
    const r = Math.imul(rotl(Math.imul(s1, 5), 7), 9) >>> 0;
    const t = s1 << 9;
    let n2 = s2 ^ s0;
    let n3 = s3 ^ s1;
    const n1 = s1 ^ n2;
    const n0 = s0 ^ n3;
    n2 ^= t;
    n3 = rotl(n3, 11);
    this.s0 = n0 >>> 0; this.s1 = n1 >>> 0; this.s2 = n2 >>> 0; this.s3 = n3 >>> 0;
    draws++;
    return r;
  }

  /** Uniform double in [0, 1) with 53 random bits. */
  random(): number {
    const hi = this.nextUint32() >>> 5; // 27 bits
    const lo = this.nextUint32() >>> 6; // 26 bits
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  uniform(low = 0, high = 1): number {
    return low + (high - low) * this.random();
  }

  /** Standard normal by the Box–Muller transform (the second value is kept for the next call). */
  normal(mean = 0, std = 1): number {
    if (this.spare !== null) {
      const v = this.spare;
      this.spare = null;
      draws++;
      return mean + std * v;
    }
    let u = 0;
    while (u === 0) u = this.random();
    const v = this.random();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spare = r * Math.sin(2 * Math.PI * v);
    return mean + std * r * Math.cos(2 * Math.PI * v);
  }

  /** Uniform integer in [0, n). */
  randint(n: number): number {
    return Math.floor(this.random() * n);
  }

  fillUniform(out: Storage, low = 0, high = 1): Storage {
    for (let i = 0; i < out.length; i++) out[i] = this.uniform(low, high);
    return out;
  }

  fillNormal(out: Storage, mean = 0, std = 1): Storage {
    for (let i = 0; i < out.length; i++) out[i] = this.normal(mean, std);
    return out;
  }

  /** A uniformly random permutation of 0..n-1 (Fisher–Yates). */
  permutation(n: number): Int32Array {
    const p = new Int32Array(n);
    for (let i = 0; i < n; i++) p[i] = i;
    for (let i = n - 1; i > 0; i--) {
      const j = this.randint(i + 1);
      const t = p[i]; p[i] = p[j]; p[j] = t;
    }
    return p;
  }

  /** A generator for a child stream, derived deterministically from this one. */
  fork(): Generator {
    return new Generator(this.nextUint32() * 4096 + (this.nextUint32() >>> 20));
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/** The process-wide generator used when no generator is passed explicitly. */
export const defaultGenerator = new Generator(0);

/** Seeds the default generator, as torch.manual_seed does. */
export function manualSeed(seed: number): Generator {
  return defaultGenerator.manualSeed(seed);
}
