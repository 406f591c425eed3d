import { describe, expect, it } from 'vitest';
import { allocate, closeStorageScope, getBackend, openStorageScope, releaseRecycle, scopeCarry, scopeRecycle, storageStats } from '../../src/tensor/index.js';
import { fit } from '../../src/train/index.js';
import { randn } from '../../src/autograd/index.js';
import { Linear } from '../../src/nn/linear.js';
import { Module } from '../../src/nn/module.js';
import { smallMMoE, teacherData } from '../train/helpers.js';

// Arena storage needs the WebAssembly backend over a shared memory (Node has both); elsewhere
// arrays stay on the JavaScript heap and there is nothing to count.
const arena = getBackend() === 'wasm' && storageStats() !== null;

describe.runIf(arena)('arena-resident storage', () => {
  it('allocates float32 storage in the shared arena, zero-filled even when a block is reused', () => {
    openStorageScope();
    const a = allocate('float32', 37) as Float32Array;
    a.fill(7);
    expect(a.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(closeStorageScope([])).toBe(1);
    openStorageScope();
    const b = allocate('float32', 37);
    expect(b.byteOffset).toBe(a.byteOffset); // the same block, from its free list
    expect(Array.from(b).every((v) => v === 0)).toBe(true);
    expect(allocate('float64', 3)).toBeInstanceOf(Float64Array);
    closeStorageScope([]);
  });

  it('outside a scope storage is an ordinary array; a module moves its parameters into the arena', () => {
    expect(allocate('float32', 10).buffer).toBeInstanceOf(ArrayBuffer);
    const lin = new Linear(3, 2);
    expect(lin.weight.data.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(lin.bias!.data.buffer).toBeInstanceOf(SharedArrayBuffer);
    const w = randn([2, 2]);
    const values = Array.from(w.data);
    const m = new Module();
    m.registerParameter('w', w);
    expect(w.data.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(Array.from(w.data)).toEqual(values);
  });

  it('a scope returns what nothing keeps, keeps views and subarrays of kept blocks intact', () => {
    const before = storageStats()!;
    openStorageScope();
    const dead = allocate('float32', 100);
    const kept = allocate('float32', 1000) as Float32Array;
    const viaSub = allocate('float32', 64) as Float32Array;
    kept.fill(3);
    viaSub.fill(5);
    const released = closeStorageScope([kept, viaSub.subarray(10, 20)]);
    expect(released).toBe(1);
    expect(storageStats()!.releases - before.releases).toBe(1);
    // The freed block goes to the next request of its class, never to a kept one's.
    openStorageScope();
    const again = allocate('float32', 100) as Float32Array;
    again.fill(9);
    closeStorageScope([]);
    expect(again.byteOffset).toBe(dead.byteOffset);
    expect(kept.every((v) => v === 3)).toBe(true);
    expect(viaSub.every((v) => v === 5)).toBe(true);
  });

  it('a scope of hundreds of blocks keeps exactly those its kept views and subarrays lie in', () => {
    const persistent = new Linear(7, 5).weight.data;
    openStorageScope();
    const blocks = Array.from({ length: 300 }, (_, i) => {
      const a = allocate('float32', 1 + ((i * 37) % 200)) as Float32Array;
      a.fill(i);
      return a;
    });
    // Every third block kept, alternately as itself and as a subarray starting inside it.
    const keep: Float32Array[] = [persistent, new Float32Array(4)];
    const kept = new Set<number>();
    blocks.forEach((a, i) => {
      if (i % 3 !== 0) return;
      kept.add(i);
      keep.push(i % 2 === 0 || a.length < 3 ? a : a.subarray(1, 3));
    });
    const before = storageStats()!.releases;
    closeStorageScope(keep);
    expect(storageStats()!.releases - before).toBe(300 - kept.size);
    // The blocks returned are handed out again and overwritten; the kept ones are intact.
    openStorageScope();
    for (let i = 0; i < 300; i++) (allocate('float32', 1 + ((i * 37) % 200)) as Float32Array).fill(-1);
    closeStorageScope([]);
    for (const i of kept) expect(blocks[i].every((v) => v === i), `block ${i}`).toBe(true);
  });

  it('a carried block is returned at the next close once nothing keeps it', () => {
    const carry = scopeCarry();
    openStorageScope();
    const grad = allocate('float32', 50);
    expect(closeStorageScope([grad], carry)).toBe(0);
    expect(carry.blocks.length).toBe(1);
    openStorageScope();
    expect(closeStorageScope([], carry)).toBe(1);
    expect(carry.blocks.length).toBe(0);
  });

  it('a recycling scope takes the arrays the last one returned, made for made, and never a kept one', () => {
    const live0 = storageStats()!.liveBytes;
    const r = scopeRecycle();
    openStorageScope(r);
    const a = allocate('float32', 37) as Float32Array;
    const b = allocate('float32', 50) as Float32Array;
    const c = allocate('float32', 20) as Float32Array;
    a.fill(7);
    c.fill(3);
    expect(closeStorageScope([c])).toBe(2);
    openStorageScope(r);
    const a2 = allocate('float32', 37) as Float32Array;
    const b2 = allocate('float32', 51) as Float32Array; // another size: a block of its own
    const c2 = allocate('float32', 20) as Float32Array; // the kept one's place: not handed out
    const raw = allocate('float32', 37, false) as Float32Array; // no block waits at this place
    expect(a2).toBe(a);
    expect(Array.from(a2).every((v) => v === 0)).toBe(true);
    expect(b2).not.toBe(b);
    expect(c2).not.toBe(c);
    expect(raw.byteOffset).not.toBe(a.byteOffset);
    expect(c.every((v) => v === 3)).toBe(true);
    // b waited and was not taken: it goes back to the heap at this close; the rest wait.
    const released = storageStats()!.releases;
    closeStorageScope([c]);
    expect(storageStats()!.releases - released).toBe(1);
    releaseRecycle(r);
    // Only c's block is still live (blocks are rounded up to a size class).
    const left = storageStats()!.liveBytes - live0;
    expect(left).toBeGreaterThanOrEqual(c.byteLength);
    expect(left).toBeLessThan(a.byteLength);
  });

  it('closing with no scope open is an error naming the function', () => {
    expect(() => closeStorageScope([])).toThrow(/closeStorageScope: no storage scope is open/);
  });

  it('fit keeps the arena flat: the heap stops growing after the first epoch', () => {
    const { x, y } = teacherData(512, 6, 3);
    const model = smallMMoE(2);
    const top: number[] = [];
    const live: number[] = [];
    const record = { onEpochEnd: () => { top.push(storageStats()!.topBytes); live.push(storageStats()!.liveBytes); } };
    fit(model, { x, y }, { epochs: 30, batchSize: 32, lr: 1e-2, verbose: 0, callbacks: [record] });
    expect(top.length).toBe(30);
    for (let e = 2; e < 30; e++) {
      expect(top[e]).toBe(top[1]);
      expect(live[e]).toBe(live[1]);
    }
  });
});
