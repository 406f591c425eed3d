import { afterAll, describe, expect, it } from 'vitest';
import { tensor, type Tensor } from '../../../src/autograd/index.js';
import { Adagrad, Adam, AdamW, RMSprop, SGD, type Optimizer } from '../../../src/nn/optim/index.js';
import { Generator } from '../../../src/tensor/index.js';
import { wasmFeatures } from '../../../src/tensor/wasm/features.js';
import { glueKernels, type GlueOptimizers } from '../../../src/tensor/wasm/glue.js';
import { ArenaLayout, expectSameBits, ulpDiff } from './arena-helpers.js';

/*
 * The fused optimizer kernels (optim-kernel.ts) against the JavaScript optimizers of src/nn/optim,
 * over several steps, bit for bit: parameters and every state buffer after every step, for every
 * option each optimizer has (Adam's L2 decay and AMSGrad, AdamW's decoupled decay, SGD's momentum,
 * dampening, Nesterov and weight decay, Adagrad's lr decay and initial accumulator, RMSprop's
 * centered and momentum forms), lengths around the vector width, gradients with zeros, −0,
 * subnormals, large and tiny values.
 */

const gen = new Generator(99);
const SIZES = [1, 2, 3, 4, 5, 8, 13, 67];
const STEPS = 6;

function grads(n: number, tiny = true): Float32Array {
  const g = gen.fillNormal(new Float32Array(n)) as Float32Array;
  const special = tiny ? [0, -0, 1e-40, -3e-39, 1e3, -2e4, 1e-20, 5e-8] : [0, -0, 1e3, -2e4, 0.25, -4];
  for (let i = 0; i < n; i += 3) g[i] = special[(i / 3 + gen.randint(8)) % special.length];
  return g;
}

/** Pointers of the state buffers the kernel needs, and the call for step t (1-based). */
interface Case {
  name: string;
  make: (p: Tensor) => Optimizer<any>;
  /** State keys of the JavaScript optimizer, in the arena order. */
  keys: string[];
  /** Initial value of each state buffer. */
  init?: number[];
  call: (k: GlueOptimizers, n: number, theta: number, grad: number, s: number[], t: number) => void;
}

function adamCase(opts: { lr?: number; betas?: [number, number]; eps?: number; weightDecay?: number; amsgrad?: boolean }, decoupled: boolean): Case {
  const lr = opts.lr ?? 1e-3, [b1, b2] = opts.betas ?? [0.9, 0.999], eps = opts.eps ?? 1e-8;
  const wd = opts.weightDecay ?? (decoupled ? 1e-2 : 0), ams = opts.amsgrad ?? false;
  return {
    name: `${decoupled ? 'AdamW' : 'Adam'} ${JSON.stringify(opts)}`,
    make: (p) => (decoupled ? new AdamW([p], opts) : new Adam([p], opts)),
    keys: ams ? ['expAvg', 'expAvgSq', 'maxExpAvgSq'] : ['expAvg', 'expAvgSq'],
    call: (k, n, th, g, s, t) => k.adam(
      n, th, g, s[0], s[1], ams ? s[2] : 0, b1, b2, wd !== 0, decoupled ? 1 - lr * wd : 1, decoupled ? 0 : wd,
      lr / (1 - Math.pow(b1, t)), Math.sqrt(1 - Math.pow(b2, t)), eps,
    ),
  };
}

function sgdCase(opts: { lr?: number; momentum?: number; dampening?: number; weightDecay?: number; nesterov?: boolean }): Case {
  const mu = opts.momentum ?? 0;
  return {
    name: `SGD ${JSON.stringify(opts)}`,
    make: (p) => new SGD([p], opts),
    keys: mu === 0 ? [] : ['momentumBuffer'],
    call: (k, n, th, g, s, t) => k.sgd(n, th, g, mu === 0 ? 0 : s[0], opts.lr ?? 1e-3, opts.weightDecay ?? 0, mu, opts.dampening ?? 0, opts.nesterov ?? false, t === 1),
  };
}

function adagradCase(opts: { lr?: number; lrDecay?: number; weightDecay?: number; initialAccumulatorValue?: number; eps?: number }): Case {
  return {
    name: `Adagrad ${JSON.stringify(opts)}`,
    make: (p) => new Adagrad([p], opts),
    keys: ['sum'],
    init: [opts.initialAccumulatorValue ?? 0],
    call: (k, n, th, g, s, t) => k.adagrad(n, th, g, s[0], (opts.lr ?? 1e-2) / (1 + (t - 1) * (opts.lrDecay ?? 0)), opts.weightDecay ?? 0, opts.eps ?? 1e-10),
  };
}

function rmspropCase(opts: { lr?: number; alpha?: number; eps?: number; weightDecay?: number; momentum?: number; centered?: boolean }): Case {
  const centered = opts.centered ?? false, mu = opts.momentum ?? 0;
  const keys = ['squareAvg', ...(centered ? ['gradAvg'] : []), ...(mu > 0 ? ['momentumBuffer'] : [])];
  return {
    name: `RMSprop ${JSON.stringify(opts)}`,
    make: (p) => new RMSprop([p], opts),
    keys,
    call: (k, n, th, g, s, _t) => k.rmsprop(
      n, th, g, s[0], centered ? s[1] : 0, mu > 0 ? s[keys.length - 1] : 0,
      opts.lr ?? 1e-2, opts.alpha ?? 0.99, opts.eps ?? 1e-8, opts.weightDecay ?? 0, mu,
    ),
  };
}

const CASES: Case[] = [
  adamCase({ lr: 0.01 }, false), adamCase({ lr: 0.01, weightDecay: 0.1 }, false),
  adamCase({ amsgrad: true }, false), adamCase({ amsgrad: true, weightDecay: 0.05, betas: [0.8, 0.99], eps: 1e-6 }, false),
  adamCase({ lr: 0.01 }, true), adamCase({ lr: 0.02, weightDecay: 0.1, amsgrad: true }, true), adamCase({ weightDecay: 0 }, true),
  adamCase({ lr: 0, weightDecay: 0.1 }, true), // decay on, shrink exactly 1: still adam.ts's decay path
  sgdCase({ lr: 0.1 }), sgdCase({ lr: 0.1, weightDecay: 0.01 }), sgdCase({ momentum: 0.9, lr: 0.05 }),
  sgdCase({ momentum: 0.9, dampening: 0.1, lr: 0.05 }), sgdCase({ momentum: 0.9, nesterov: true, weightDecay: 0.01, lr: 0.05 }),
  adagradCase({}), adagradCase({ lr: 0.1, lrDecay: 0.1, weightDecay: 0.01, initialAccumulatorValue: 0.1, eps: 1e-8 }),
  rmspropCase({}), rmspropCase({ centered: true }), rmspropCase({ momentum: 0.9 }),
  rmspropCase({ centered: true, momentum: 0.5, weightDecay: 0.01, alpha: 0.9, lr: 0.001 }),
];

/** Runs a case on the JavaScript optimizer and on `kernels`, comparing after every step. */
/** scale: the largest finite |value| the buffer has held so far in this run (JavaScript's). */
type Check = (got: Float32Array, want: Float32Array, tag: string, scale: number) => void;

function compare(c: Case, kernels: () => GlueOptimizers, check: Check, tiny = true): void {
  {
    {
      const k = kernels();
      for (const n of SIZES) for (const mis of [0, 4]) {
        const theta0 = gen.fillNormal(new Float32Array(n)) as Float32Array;
        theta0[0] = -0;
        const p = tensor(Array.from(theta0), { dtype: 'float32', requiresGrad: true });
        const opt = c.make(p);
        const L = new ArenaLayout(mis);
        const pth = L.put(theta0), pg = L.alloc(n);
        const ps = c.keys.map((_, i) => L.put(new Float32Array(n).fill(c.init?.[i] ?? 0)));
        const scales = [0, ...c.keys.map(() => 0)];
        for (const v of theta0) scales[0] = Math.max(scales[0], Math.abs(v));
        for (let t = 1; t <= STEPS; t++) {
          const g = grads(n, tiny);
          p.grad = tensor(Array.from(g), { dtype: 'float32' });
          opt.step();
          L.f32().set(g, pg / 4);
          c.call(k, n, pth, pg, ps, t);
          const tag = `${c.name} n=${n} step ${t}`;
          const st = opt.state.get(p)!;
          const wants = [p.data as Float32Array, ...c.keys.map((key) => st[key] as Float32Array)];
          wants.forEach((w, i) => { for (const v of w) if (Number.isFinite(v)) scales[i] = Math.max(scales[i], Math.abs(v)); });
          check(L.get(pth, n), wants[0], `${tag} θ`, scales[0]);
          c.keys.forEach((key, i) => check(L.get(ps[i], n), wants[1 + i], `${tag} ${key}`, scales[1 + i]));
          expectSameBits(L.get(pg, n), g, `${tag} gradient untouched`);
        }
        expect(c.keys.length).toBe(Object.values(opt.state.get(p)!).filter((v) => typeof v !== 'number').length);
        L.checkGuards(c.name);
      }
    }
  }
}

describe.skipIf(!wasmFeatures().simd)('fused optimizer kernels, bit-identical to src/nn/optim', () => {
  for (const c of CASES) it(c.name, () => compare(c, () => glueKernels()!, (got, want, tag) => expectSameBits(got, want, tag)));

  it('Adam on non-finite weights: every path (plain, L2, AdamW, AMSGrad with and without decay) as JavaScript has it', () => {
    // θ·1 and g + 0·θ turn an infinite θ into NaN: a path without decay must not compute them.
    const theta0 = Float32Array.from([Infinity, -Infinity, NaN, 0.5, -0, 3e38, -1e-40]);
    const g = Float32Array.from([0.1, -0.2, 0.3, -0, 0.25, 1e30, 2]);
    const n = theta0.length;
    for (const c of [adamCase({}, false), adamCase({ amsgrad: true }, false), adamCase({ weightDecay: 0.1 }, false),
      adamCase({ amsgrad: true, weightDecay: 0.1 }, false), adamCase({ amsgrad: true }, true), adamCase({ amsgrad: true, weightDecay: 0 }, true)]) {
      const p = tensor(Array.from(theta0), { dtype: 'float32', requiresGrad: true });
      const opt = c.make(p);
      const L = new ArenaLayout(0);
      const pth = L.put(theta0), pg = L.put(g);
      const ps = c.keys.map(() => L.put(new Float32Array(n)));
      for (let t = 1; t <= 2; t++) {
        p.grad = tensor(Array.from(g), { dtype: 'float32' });
        opt.step();
        c.call(glueKernels()!, n, pth, pg, ps, t);
        expectSameBits(L.get(pth, n), p.data as Float32Array, `${c.name} step ${t} θ`);
        const st = opt.state.get(p)!;
        c.keys.forEach((key, i) => expectSameBits(L.get(ps[i], n), st[key] as Float32Array, `${c.name} step ${t} ${key}`));
      }
      L.checkGuards(c.name);
    }
  });
});

/*
 * The float32-lane variants round after every operation instead of once per stored value, so they
 * are compared normwise over the run: after each of six steps, |got − want| ≤ FLOAT32_TOL·s, s the
 * largest |value| the buffer has held so far (θ0 included), so a θ that cancels to near zero is
 * judged on the size of what cancelled (FLOAT32_TOL = 16 float32 steps; largest seen 8.8, printed
 * after the run), with
 * NaN exactly where JavaScript has NaN. Gradients here have no subnormal or 1e-20-sized entries:
 * products of those underflow in float32 arithmetic (as in PyTorch's float32 optimizers) where the
 * float64 evaluation keeps them, so no float32 tolerance describes them.
 */
const FLOAT32_TOL = 2 ** -20;
describe.skipIf(!wasmFeatures().simd)('fused optimizer kernels in float32 lanes, close to src/nn/optim', () => {
  let worst = 0;
  for (const c of CASES) {
    it(c.name, () => compare(c, () => glueKernels()!.float32, (got, want, tag, scale) => {
      for (let i = 0; i < want.length; i++) {
        expect(Number.isNaN(got[i]), `${tag}[${i}] NaN`).toBe(Number.isNaN(want[i]));
        if (Number.isNaN(want[i]) || got[i] === want[i]) continue;
        const rel = Math.abs(got[i] - want[i]) / scale;
        worst = Math.max(worst, rel);
        if (!(rel <= FLOAT32_TOL)) expect(`${tag}[${i}]: ${got[i]}`).toBe(`${tag}[${i}]: ${want[i]} (${rel} of the largest)`);
      }
    }, false));
  }
  afterAll(() => console.log(`float32 optimizer kernels: worst ${(worst * 2 ** 24).toFixed(1)} float32 steps of the largest`));
});
