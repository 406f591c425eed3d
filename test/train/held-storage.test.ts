import { describe, expect, it } from 'vitest';
import { allocate, getBackend, storageStats } from '../../src/tensor/index.js';
import { Tensor } from '../../src/autograd/index.js';
import { StepScopes } from '../../src/train/held-storage.js';

const arena = getBackend() === 'wasm' && storageStats() !== null;

/** A tensor of `n` values `v`, made inside the current scope (an arena block there). */
function filled(n: number, v: number): Tensor {
  const d = allocate('float32', n) as Float32Array;
  d.fill(v);
  return new Tensor(d, [n]);
}

describe.runIf(arena)('StepScopes', () => {
  it('keeps what the roots reach after every step, between full walks too, and returns the rest', () => {
    // A module-like holder replacing a cached tensor, a list of tensors and a raw array every
    // step; each is in a field that held one at the first walk, as StepScopes asks.
    const holder: { cache: Tensor; list: Tensor[]; raw: Float32Array; weight: Tensor } = {
      cache: new Tensor(new Float32Array(8), [8]), list: [], raw: new Float32Array(4), weight: new Tensor(new Float32Array(16), [16]),
    };
    const scopes = new StepScopes([{ model: holder }]);
    const before = storageStats()!;
    for (let step = 1; step <= 40; step++) {
      scopes.run(() => {
        // What the previous step kept is intact although this step allocates blocks of its size.
        if (step > 1) {
          expect(holder.cache.data.every((v) => v === step - 1)).toBe(true);
          expect(holder.list[0].data.every((v) => v === -(step - 1))).toBe(true);
          expect(holder.raw.every((v) => v === 2 * (step - 1))).toBe(true);
        }
        for (let k = 0; k < 3; k++) { filled(8, 1e6); filled(5, 1e6); filled(4, 1e6); }
        holder.cache = filled(8, step);
        holder.list = [filled(5, -step)];
        const raw = allocate('float32', 4) as Float32Array;
        raw.fill(2 * step);
        holder.raw = raw;
      });
    }
    const running = storageStats()!;
    scopes.finish();
    const after = storageStats()!;
    // The first step's 9 scratch blocks are taken again by every later step (the heap handed out
    // 9 + 40·3 blocks in all) and go back to the heap at finish(); the previous step's 3 kept
    // ones came back at each close (39·3), except the two tensors the last full walk (step 33)
    // found: a tensor found by a walk stays kept until the next one, and finish() leaves them to
    // the collector.
    expect(running.allocations - before.allocations).toBe(9 + 40 * 3);
    expect(running.releases - before.releases).toBe(39 * 3 - 2);
    expect(after.releases - running.releases).toBe(9);
    expect(holder.cache.data.every((v) => v === 40)).toBe(true);
  });
});
