import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { randn } from '../../src/autograd/index.js';
import { Generator } from '../../src/tensor/index.js';
import { CrossNet } from '../../src/nn/crossnet.js';

/*
 * The fused cross layer never forms x0·x_lᵀ: at B = 64, D = 4096 that would be 64·4096² floats
 * = 4 GiB per layer. Here the whole 3-layer forward + backward must stay within 64 MiB of extra
 * heap (JS heap plus typed-array buffers).
 */

function getGc(): (() => void) | null {
  const existing = (globalThis as { gc?: () => void }).gc;
  if (existing) return existing;
  try {
    setFlagsFromString('--expose-gc');
    return runInNewContext('gc') as () => void;
  } catch {
    return null;
  }
}

const MiB = 1024 * 1024;
const used = (): number => {
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
};

describe('CrossNet memory (B=64, D=4096, L=3)', () => {
  it('forward + backward stays under 64 MiB of extra heap', () => {
    const gc = getGc();
    const B = 64, D = 4096;
    const net = new CrossNet(D, { layerNum: 3, generator: new Generator(1) });
    const x = randn([B, D], { generator: new Generator(2), requiresGrad: true });
    const settle = (): void => { gc?.(); gc?.(); };
    settle();
    const base = used();
    let peak = 0;
    const sample = (): void => { peak = Math.max(peak, used() - base); };

    // Samples are taken while everything is alive: after forward (graph and saved tensors held)
    // and after backward (gradients held), and without a gc in between, so garbage counts too.
    const y = net.forward(x);
    sample();
    y.sum().backward();
    sample();
    expect(x.grad!.shape).toEqual([B, D]);
    expect(net.kernels.grad!.shape).toEqual([3, D, 1]);
    expect(y.data.every(Number.isFinite)).toBe(true);
    expect(peak).toBeLessThan(64 * MiB);
    // Sanity check of the probe itself: a 1 MiB [64, 4096] output is visible to it.
    expect(peak).toBeGreaterThan(1 * MiB);
  });

  it('the probe would see a D×D allocation of the size a naive layer needs per row', () => {
    const gc = getGc();
    // Twice, as above: garbage left by an earlier test must not be collected inside the probe.
    gc?.(); gc?.();
    const base = used();
    const outer = new Float32Array(4096 * 4096); // x0·x_lᵀ for a single row: 64 MiB
    outer[1] = 1;
    expect(used() - base).toBeGreaterThanOrEqual(64 * MiB);
  });
});

describe('CrossNet memory does not grow with L (B=256, D=1024, L=32)', () => {
  it('the fused stack keeps no per-layer [B, D] array: 32 layers stay under 8 [B, D] arrays of typed-array memory', () => {
    // crossNetVector keeps only s ([B, L]) for backward; L separate layers would keep ≥ L outputs of
    // [B, D] (32 MiB here) before backward even starts. Only typed-array memory is counted: every
    // [B, D] array lives there, and the JS heap's noise (several MiB under vitest) would swamp the
    // ~4 arrays really made (output, gx0, x.grad).
    const gc = getGc();
    const B = 256, D = 1024, L = 32;
    const net = new CrossNet(D, { layerNum: L, generator: new Generator(3) });
    const x = randn([B, D], { generator: new Generator(4), requiresGrad: true });
    const upstream = randn([B, D], { generator: new Generator(5) });
    gc?.(); gc?.();
    const buffers = (): number => process.memoryUsage().arrayBuffers;
    const base = buffers();
    let peak = 0;
    const sample = (): void => { peak = Math.max(peak, buffers() - base); };
    const y = net.forward(x);
    sample();
    y.backward(upstream);
    sample();
    expect(net.kernels.grad!.shape).toEqual([L, D, 1]);
    expect(x.grad!.data.every(Number.isFinite)).toBe(true);
    expect(peak).toBeLessThan(8 * MiB);
    expect(peak).toBeGreaterThan(2 * MiB);
  });
});
