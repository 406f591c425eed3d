import { Generator, formatShape } from '../tensor/index.js';
import { checkOptionKeys, type OptionKeys } from '../validation/options.js';
import { noGrad } from './mode.js';
import { Tensor } from './tensor.js';
import './methods.js';

export interface GradcheckOptions {
  /** Central-difference step (PyTorch: 1e-6). */
  eps?: number;
  /** Absolute tolerance (PyTorch: 1e-5). */
  atol?: number;
  /** Relative tolerance (PyTorch: 1e-3). */
  rtol?: number;
  /** Above this many Jacobian entries, random projections vᵀJu are checked instead. */
  maxJacobianEntries?: number;
  /** Number of random projections per input in projection mode. */
  projections?: number;
  /** Seed for the projection directions. */
  seed?: number;
  /** Throw a descriptive error instead of returning ok = false. */
  raiseException?: boolean;
}

const GRADCHECK_KEYS: OptionKeys<GradcheckOptions> = {
  eps: true, atol: true, rtol: true, maxJacobianEntries: true, projections: true, seed: true, raiseException: true,
};

export interface GradcheckWorst {
  input: number;
  /** Flat index into the input (full mode) or the projection number (projection mode). */
  inputIndex: number;
  /** Flat index into the output (full mode); -1 in projection mode. */
  outputIndex: number;
  analytical: number;
  numerical: number;
}

export interface GradcheckResult {
  ok: boolean;
  mode: 'full' | 'projection';
  maxAbsError: number;
  maxRelError: number;
  /** Number of compared entries (Jacobian entries or projections). */
  checked: number;
  worst: GradcheckWorst | null;
  message: string;
}

/**
 * Compares backward's gradients with central finite differences in float64.
 *
 * Inputs that require grad are checked. float64 inputs are perturbed in place (so module
 * parameters passed here are checked through the module); float32 inputs are promoted to float64
 * copies, which fn must then use through its arguments. For small problems the full Jacobian is
 * compared; for large ones, random projections vᵀJu (v over outputs, u over one input at a time).
 */
export function gradcheck(
  fn: (...inputs: Tensor[]) => Tensor,
  inputs: readonly Tensor[],
  opts: GradcheckOptions = {},
): GradcheckResult {
  checkOptionKeys('gradcheck', opts, GRADCHECK_KEYS);
  const eps = opts.eps ?? 1e-6;
  const atol = opts.atol ?? 1e-5;
  const rtol = opts.rtol ?? 1e-3;
  const maxEntries = opts.maxJacobianEntries ?? 40_000;
  const gen = new Generator(opts.seed ?? 0);
  const xs = inputs.map((t) => {
    if (t.dtype === 'float64') return t;
    const c = new Tensor(Float64Array.from(t.data), t.shape, t.requiresGrad);
    return c;
  });
  const checkIdx = xs.map((_, i) => i).filter((i) => xs[i].requiresGrad);
  if (checkIdx.length === 0) throw new Error('gradcheck: no input requires grad');

  const evaluate = (): Tensor => {
    const out = fn(...xs);
    if (!(out instanceof Tensor)) throw new TypeError('gradcheck: fn must return a Tensor');
    if (out.dtype !== 'float64') {
      throw new TypeError(`gradcheck: fn returned ${out.dtype}; everything inside must be float64 (cast parameters with module.to('float64'))`);
    }
    return out;
  };
  const forwardNoGrad = (): Float64Array => noGrad(() => Float64Array.from(evaluate().data));

  const outShape = evaluate().shape;
  const nOut = outShape.reduce((a, b) => a * b, 1);
  const nIn = checkIdx.reduce((a, i) => a + xs[i].size, 0);
  const full = nOut * nIn <= maxEntries;

  /** Analytical vector-Jacobian product vᵀJ for every checked input. */
  const vjp = (v: Float64Array): Float64Array[] => {
    for (const i of checkIdx) xs[i].grad = null;
    const out = evaluate();
    if (!out.requiresGrad) return checkIdx.map((i) => new Float64Array(xs[i].size));
    out.backward(new Tensor(v, out.shape));
    return checkIdx.map((i) => (xs[i].grad ? Float64Array.from(xs[i].grad!.data) : new Float64Array(xs[i].size)));
  };
  const saved = xs.map((x) => x.grad);

  let maxAbs = 0;
  let maxRel = 0;
  let checked = 0;
  let worst: GradcheckWorst | null = null;
  let worstExcess = -Infinity;
  const compare = (input: number, inputIndex: number, outputIndex: number, a: number, n: number): void => {
    const abs = Math.abs(a - n);
    const rel = abs / Math.max(Math.abs(n), 1e-300);
    checked++;
    if (abs > maxAbs || Number.isNaN(abs)) maxAbs = Number.isNaN(abs) ? NaN : abs;
    if (Math.abs(n) > atol && rel > maxRel) maxRel = rel;
    const excess = Number.isNaN(abs) ? Infinity : abs - (atol + rtol * Math.abs(n));
    if (excess > worstExcess) {
      worstExcess = excess;
      worst = { input, inputIndex, outputIndex, analytical: a, numerical: n };
    }
  };

  try {
    if (full) {
      // Analytical Jacobian row by row (one backward per output), numerical column by column.
      const analytic: Float64Array[][] = [];
      for (let k = 0; k < nOut; k++) {
        const v = new Float64Array(nOut);
        v[k] = 1;
        analytic.push(vjp(v));
      }
      checkIdx.forEach((i, ci) => {
        const d = xs[i].data;
        for (let j = 0; j < d.length; j++) {
          const orig = d[j];
          d[j] = orig + eps;
          const plus = forwardNoGrad();
          d[j] = orig - eps;
          const minus = forwardNoGrad();
          d[j] = orig;
          for (let k = 0; k < nOut; k++) compare(i, j, k, analytic[k][ci][j], (plus[k] - minus[k]) / (2 * eps));
        }
      });
    } else {
      const nProj = opts.projections ?? 4;
      for (let p = 0; p < nProj; p++) {
        const v = new Float64Array(nOut);
        gen.fillNormal(v);
        const g = vjp(v);
        checkIdx.forEach((i, ci) => {
          const d = xs[i].data;
          const u = new Float64Array(d.length);
          gen.fillNormal(u);
          let analytical = 0;
          for (let j = 0; j < d.length; j++) analytical += g[ci][j] * u[j];
          const orig = Float64Array.from(d);
          for (let j = 0; j < d.length; j++) d[j] = orig[j] + eps * u[j];
          const plus = forwardNoGrad();
          for (let j = 0; j < d.length; j++) d[j] = orig[j] - eps * u[j];
          const minus = forwardNoGrad();
          d.set(orig);
          let numerical = 0;
          for (let k = 0; k < nOut; k++) numerical += v[k] * (plus[k] - minus[k]);
          compare(i, p, -1, analytical, numerical / (2 * eps));
        });
      }
    }
  } finally {
    xs.forEach((x, i) => (x.grad = saved[i]));
  }

  const ok = worstExcess <= 0;
  const w = worst as GradcheckWorst | null;
  const where = w
    ? `input ${w.input} ${formatShape(xs[w.input].shape)} ${full ? `index ${w.inputIndex}, output index ${w.outputIndex}` : `projection ${w.inputIndex}`}: analytical ${w.analytical}, numerical ${w.numerical}`
    : 'no entries';
  const message = `gradcheck ${ok ? 'passed' : 'failed'} (${full ? 'full Jacobian' : 'random projections'}, ${checked} checks, max abs error ${maxAbs.toExponential(3)}, max rel error ${maxRel.toExponential(3)}); worst at ${where}`;
  if (!ok && opts.raiseException) throw new Error(message);
  return { ok, mode: full ? 'full' : 'projection', maxAbsError: maxAbs, maxRelError: maxRel, checked, worst: w, message };
}
