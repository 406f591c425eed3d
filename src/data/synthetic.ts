import { Tensor } from '../autograd/index.js';
import { Generator, type DType } from '../tensor/index.js';

export interface SyntheticOptions {
  /** Number of rows. */
  n: number;
  /** Input dimension d. Default 100 (the paper's). */
  dim?: number;
  /** ρ, the cosine similarity of the two tasks' weight vectors, in [-1, 1]. */
  correlation: number;
  /** Scale c of the weight vectors. Default 1. */
  c?: number;
  /** Number m of sine terms. Default 10. */
  m?: number;
  /** Seed of every random draw (weights, α, β, inputs, noise). Default 0. */
  seed?: number;
  /** Standard deviation of the label noise ε. Default 0.1 (the paper's variance 0.01). */
  noiseStd?: number;
  /** dtype of x and y. Default 'float32'. */
  dtype?: DType;
  /**
   * Fixed sine parameters α, β (each of length m, which they then set): the paper's "given
   * parameters", the same for every data set of an experiment. Default: drawn from the seed.
   */
  alpha?: ArrayLike<number>;
  beta?: ArrayLike<number>;
}

export interface SyntheticData {
  /** Inputs [n, dim], x ~ N(0, I). */
  x: Tensor;
  /** Labels [n, 2], one column per task. */
  y: Tensor;
  /** Pearson correlation of the two label columns produced (not ρ: the sines and noise lower it). */
  labelCorrelation: number;
  /** The orthogonal unit vectors and the task weights w1 = c·u1, w2 = c(ρ·u1 + √(1−ρ²)·u2). */
  u1: Float64Array;
  u2: Float64Array;
  w1: Float64Array;
  w2: Float64Array;
  /** The sine parameters, shared by both tasks. */
  alpha: Float64Array;
  beta: Float64Array;
}

/**
 * The MMoE paper's synthetic two-task regression data (Ma et al., KDD 2018, §3.2):
 *
 *   y_k = w_kᵀx + Σ_{i=1..m} sin(α_i·w_kᵀx + β_i) + ε,   k = 1, 2
 *
 * with orthogonal unit vectors u1, u2 (Gram–Schmidt on two standard-normal vectors),
 * w1 = c·u1, w2 = c(ρ·u1 + √(1−ρ²)·u2) so that cos(w1, w2) = ρ, x ~ N(0, I_d), and
 * ε ~ N(0, 0.01) — variance 0.01, i.e. standard deviation 0.1 — drawn independently per task.
 *
 * The paper leaves c, m and the α / β distributions open. Chosen here: c = 1, m = 10,
 * α_i ~ N(0, 1) and β_i ~ N(0, 1), drawn once per data set and shared by both tasks (as the
 * formula has one α_i, β_i). Since |w_k| = c, each w_kᵀx ~ N(0, c²) and corr(w1ᵀx, w2ᵀx) = ρ
 * exactly; the sine terms make the label correlation `labelCorrelation` somewhat lower than ρ.
 *
 * Draw order from one Generator(seed): u1's and u2's Gaussian vectors, α, β (skipped when given),
 * then for each row x, then the noise of task 1 and 2 — so the same seed gives the same data, and
 * the weights do not depend on n.
 */
export function syntheticMultiTask(options: SyntheticOptions): SyntheticData {
  const { n, correlation: rho } = options;
  const dim = options.dim ?? 100;
  const c = options.c ?? 1;
  if ((options.alpha === undefined) !== (options.beta === undefined)) throw new RangeError('syntheticMultiTask: give both alpha and beta, or neither');
  if (options.alpha !== undefined && options.beta !== undefined && options.alpha.length !== options.beta.length) {
    throw new RangeError(`syntheticMultiTask: alpha and beta differ in length: ${options.alpha.length} vs ${options.beta.length}`);
  }
  if (options.alpha !== undefined && options.m !== undefined && options.alpha.length !== options.m) {
    throw new RangeError(`syntheticMultiTask: m is ${options.m} but alpha has ${options.alpha.length} values`);
  }
  const m = options.alpha?.length ?? options.m ?? 10;
  const noiseStd = options.noiseStd ?? 0.1;
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`syntheticMultiTask: n must be a positive integer, got ${n}`);
  if (!Number.isInteger(dim) || dim < 2) throw new RangeError(`syntheticMultiTask: dim must be an integer >= 2 (two orthogonal directions), got ${dim}`);
  if (!(rho >= -1 && rho <= 1)) throw new RangeError(`syntheticMultiTask: correlation must be in [-1, 1], got ${rho}`);
  if (!Number.isInteger(m) || m < 0) throw new RangeError(`syntheticMultiTask: m must be a non-negative integer, got ${m}`);
  if (!Number.isFinite(c)) throw new RangeError(`syntheticMultiTask: c must be finite, got ${c}`);
  if (!(noiseStd >= 0)) throw new RangeError(`syntheticMultiTask: noiseStd must be >= 0, got ${noiseStd}`);

  const g = new Generator(options.seed ?? 0);
  const { u1, u2 } = orthonormalPair(dim, g);
  const s = Math.sqrt(Math.max(0, 1 - rho * rho));
  const w1 = new Float64Array(dim);
  const w2 = new Float64Array(dim);
  for (let i = 0; i < dim; i++) {
    w1[i] = c * u1[i];
    w2[i] = c * (rho * u1[i] + s * u2[i]);
  }
  const alpha = new Float64Array(m);
  const beta = new Float64Array(m);
  if (options.alpha !== undefined && options.beta !== undefined) {
    alpha.set(Array.from(options.alpha));
    beta.set(Array.from(options.beta));
    for (let i = 0; i < m; i++) {
      if (!Number.isFinite(alpha[i]) || !Number.isFinite(beta[i])) throw new RangeError(`syntheticMultiTask: alpha[${i}] and beta[${i}] must be finite, got ${alpha[i]}, ${beta[i]}`);
    }
  } else {
    g.fillNormal(alpha);
    g.fillNormal(beta);
  }

  const dtype = options.dtype ?? 'float32';
  const x = dtype === 'float64' ? new Float64Array(n * dim) : new Float32Array(n * dim);
  const y = dtype === 'float64' ? new Float64Array(n * 2) : new Float32Array(n * 2);
  const row = new Float64Array(dim);
  const f = (z: number): number => {
    let v = z;
    for (let i = 0; i < m; i++) v += Math.sin(alpha[i] * z + beta[i]);
    return v;
  };
  for (let r = 0; r < n; r++) {
    g.fillNormal(row);
    let z1 = 0, z2 = 0;
    for (let i = 0; i < dim; i++) {
      z1 += w1[i] * row[i];
      z2 += w2[i] * row[i];
    }
    x.set(row, r * dim);
    y[2 * r] = f(z1) + noiseStd * g.normal();
    y[2 * r + 1] = f(z2) + noiseStd * g.normal();
  }
  // Correlation of the stored values (after any rounding to float32), i.e. of what a model sees.
  const labelCorrelation = pearson(column(y, 0), column(y, 1));
  return {
    x: new Tensor(x, [n, dim]),
    y: new Tensor(y, [n, 2]),
    labelCorrelation, u1, u2, w1, w2, alpha, beta,
  };
}

/**
 * One seeded draw of the sine parameters, α_i ~ N(0, 1) and β_i ~ N(0, 1), i = 1..m, to hold fixed
 * over every data set of an experiment (Generator(seed): α first, then β).
 */
export function drawSineParameters(m: number, seed: number): { alpha: Float64Array; beta: Float64Array } {
  if (!Number.isInteger(m) || m < 0) throw new RangeError(`drawSineParameters: m must be a non-negative integer, got ${m}`);
  const g = new Generator(seed);
  const alpha = new Float64Array(m);
  const beta = new Float64Array(m);
  g.fillNormal(alpha);
  g.fillNormal(beta);
  return { alpha, beta };
}

/** Two orthonormal vectors: Gram–Schmidt on two standard-normal draws (redrawn if degenerate). */
function orthonormalPair(dim: number, g: Generator): { u1: Float64Array; u2: Float64Array } {
  const u1 = new Float64Array(dim);
  const u2 = new Float64Array(dim);
  for (;;) {
    g.fillNormal(u1);
    g.fillNormal(u2);
    const n1 = norm(u1);
    if (n1 < 1e-8) continue;
    for (let i = 0; i < dim; i++) u1[i] /= n1;
    let dot = 0;
    for (let i = 0; i < dim; i++) dot += u1[i] * u2[i];
    for (let i = 0; i < dim; i++) u2[i] -= dot * u1[i];
    const n2 = norm(u2);
    if (n2 < 1e-8) continue;
    for (let i = 0; i < dim; i++) u2[i] /= n2;
    return { u1, u2 };
  }
}

function norm(v: Float64Array): number {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i] * v[i];
  return Math.sqrt(s);
}

function column(y: Float32Array | Float64Array, k: number): Float64Array {
  const out = new Float64Array(y.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = y[2 * i + k];
  return out;
}

/** Pearson correlation coefficient of two equal-length samples (NaN if either is constant or n < 2). */
export function pearson(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new RangeError(`pearson: samples differ in length: ${a.length} vs ${b.length}`);
  const n = a.length;
  if (n < 2) return NaN;
  let ma = 0, mb = 0;
  for (let i = 0; i < n; i++) { ma += a[i]; mb += b[i]; }
  ma /= n; mb /= n;
  let sab = 0, saa = 0, sbb = 0;
  for (let i = 0; i < n; i++) {
    const da = a[i] - ma, db = b[i] - mb;
    sab += da * db; saa += da * da; sbb += db * db;
  }
  return saa === 0 || sbb === 0 ? NaN : sab / Math.sqrt(saa * sbb);
}
