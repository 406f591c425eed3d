import { noGrad, tensor, type Tensor } from '../autograd/index.js';
import { CrossNet } from '../nn/crossnet.js';
import { DNN } from '../nn/dnn.js';
import { Linear } from '../nn/linear.js';
import { mseLoss } from '../nn/losses.js';
import { Module } from '../nn/module.js';
import { Adam } from '../nn/optim/adam.js';
import { widthForParameterCount } from '../models/params.js';
import { Generator } from '../tensor/index.js';

/*
 * The cross network's own claims (DCN, Wang et al. 2017), checked on this engine:
 * (a) L vector cross layers on d inputs hold d·L·2 parameters (a weight and a bias vector each);
 * (c) an L-layer cross network is a polynomial of degree L+1 in its inputs, so with a linear head
 *     it can fit such a polynomial. Two targets, stated plainly: one inside the cross network's
 *     span (a randomly drawn cross network + linear head, the "teacher"), which an L-layer cross
 *     network can represent exactly; and a generic one (independent random coefficients on every
 *     monomial of degree ≤ L+1), which it cannot in general — d·L·2 + d + 1 parameters against
 *     C(d+L+1, L+1) coefficients. Each is fitted by the cross network + linear head and by a ReLU
 *     network of (nearly) the same parameter count; both are reported, whichever way it comes out.
 * (b) time and memory against d is a measurement, so it lives in bench/ (bench/cross-scaling.ts);
 *     `leastSquaresLine` here is the fit it uses.
 */

// ---------------------------------------------------------------------------------------------
// (a) parameter counts
// ---------------------------------------------------------------------------------------------

export interface CrossParameterRow {
  d: number;
  L: number;
  /** numParameters() of CrossNet(d, { layerNum: L }) (vector). */
  vector: number;
  /** The claim: d·L·2. */
  claimed: number;
  /** numParameters() of the matrix (DCN-V2) parameterization, for contrast: d²·L + d·L. */
  matrix: number;
}

export function crossParameterCounts(ds: readonly number[], Ls: readonly number[]): CrossParameterRow[] {
  const rows: CrossParameterRow[] = [];
  for (const d of ds) {
    for (const L of Ls) {
      rows.push({
        d, L,
        vector: new CrossNet(d, { layerNum: L, generator: new Generator(0) }).numParameters(),
        claimed: 2 * d * L,
        matrix: new CrossNet(d, { layerNum: L, parameterization: 'matrix', generator: new Generator(0) }).numParameters(),
      });
    }
  }
  return rows;
}

// ---------------------------------------------------------------------------------------------
// (b) the line fitted to a measurement
// ---------------------------------------------------------------------------------------------

export interface LineFit {
  slope: number;
  intercept: number;
  /** Coefficient of determination of the fit (1 = every point on the line). */
  r2: number;
}

/** Ordinary least squares y ≈ intercept + slope·x. */
export function leastSquaresLine(xs: readonly number[], ys: readonly number[]): LineFit {
  const n = xs.length;
  if (n < 2 || ys.length !== n) throw new RangeError(`leastSquaresLine: need two or more (x, y) pairs of equal count, got ${xs.length} x and ${ys.length} y`);
  const mx = xs.reduce((s, v) => s + v, 0) / n;
  const my = ys.reduce((s, v) => s + v, 0) / n;
  let sxx = 0, sxy = 0, syy = 0;
  for (let i = 0; i < n; i++) {
    sxx += (xs[i] - mx) ** 2;
    sxy += (xs[i] - mx) * (ys[i] - my);
    syy += (ys[i] - my) ** 2;
  }
  if (sxx === 0) throw new RangeError('leastSquaresLine: every x is the same');
  const slope = sxy / sxx;
  return { slope, intercept: my - slope * mx, r2: syy === 0 ? 1 : (sxy * sxy) / (sxx * syy) };
}

// ---------------------------------------------------------------------------------------------
// (c) polynomial targets and the fits
// ---------------------------------------------------------------------------------------------

export type PolynomialTarget = 'cross-span' | 'all-monomials';
export const POLYNOMIAL_TARGETS: readonly PolynomialTarget[] = ['cross-span', 'all-monomials'];

/** Every monomial of degree ≤ maxDegree in d variables, as the sorted variable indices of each. */
export function monomials(d: number, maxDegree: number): number[][] {
  const out: number[][] = [[]];
  const grow = (prefix: number[], start: number): void => {
    if (prefix.length === maxDegree) return;
    for (let j = start; j < d; j++) {
      const m = [...prefix, j];
      out.push(m);
      grow(m, j);
    }
  };
  grow([], 0);
  return out;
}

/** A cross network with a linear head: the model fitted, and (with random weights) the teacher. */
export class CrossRegressor extends Module {
  static override readonly typeName: string = 'CrossRegressor';
  readonly cross: CrossNet;
  readonly head: Linear;
  constructor(d: number, L: number, generator: Generator) {
    super();
    this.cross = this.registerModule('cross', new CrossNet(d, { layerNum: L, generator }));
    this.head = this.registerModule('head', new Linear(d, 1, { generator }));
  }
  forward(x: Tensor): Tensor {
    return this.head.forward(this.cross.forward(x));
  }
}

/** One hidden ReLU layer of `width` units and a linear output. */
export class ReluRegressor extends Module {
  static override readonly typeName: string = 'ReluRegressor';
  readonly hidden: DNN;
  readonly out: Linear;
  constructor(d: number, width: number, generator: Generator) {
    super();
    // He-style init (std √(2/d)) rather than DeepCTR's 1e-4, which would start the net dead flat.
    this.hidden = this.registerModule('hidden', new DNN(d, [width], { activation: 'relu', initStd: Math.sqrt(2 / d), generator }));
    this.out = this.registerModule('out', new Linear(width, 1, { generator }));
  }
  forward(x: Tensor): Tensor {
    return this.out.forward(this.hidden.forward(x));
  }
}

/** Rows of x ~ U(-1, 1)^d and the target y, standardised to mean 0 and variance 1 on these rows. */
export function polynomialData(target: PolynomialTarget, d: number, L: number, n: number, seed: number): { x: Float32Array; y: Float32Array } {
  const g = new Generator(seed);
  const x = new Float32Array(n * d);
  for (let i = 0; i < x.length; i++) x[i] = g.uniform(-1, 1);
  const raw = new Float64Array(n);
  if (target === 'all-monomials') {
    const terms = monomials(d, L + 1).map((vars) => ({ vars, coef: g.normal() }));
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (const t of terms) {
        let p = t.coef;
        for (const j of t.vars) p *= x[i * d + j];
        s += p;
      }
      raw[i] = s;
    }
  } else {
    // The teacher: w_l ~ N(0, 1), b_l ~ N(0, 0.5²), head ~ N(0, 1/d): every layer's product term
    // is of the same order as x_l itself on U(-1, 1) inputs, so the top degree is not negligible.
    const teacher = new CrossRegressor(d, L, g);
    for (const p of [teacher.cross.kernels, teacher.cross.bias, teacher.head.weight, teacher.head.bias!]) {
      const std = p === teacher.cross.kernels ? 1 : p === teacher.cross.bias ? 0.5 : 1 / Math.sqrt(d);
      for (let i = 0; i < p.data.length; i++) p.data[i] = g.normal(0, std);
    }
    const y = noGrad(() => teacher.forward(tensor(x, { shape: [n, d] })));
    for (let i = 0; i < n; i++) raw[i] = y.data[i];
  }
  let m = 0;
  for (const v of raw) m += v;
  m /= n;
  let v2 = 0;
  for (const v of raw) v2 += (v - m) ** 2;
  const sd = Math.sqrt(v2 / n) || 1;
  return { x, y: Float32Array.from(raw, (v) => (v - m) / sd) };
}

export interface FitSettings {
  steps: number;
  batchSize: number;
  lr: number;
}

export interface FitOutcome {
  parameters: number;
  /** Training-loss (MSE) of the first and the last mini-batch step. */
  firstLoss: number;
  lastLoss: number;
  /** MSE on all training rows and on the held-out rows; the target has variance 1, so this is 1 − R². */
  trainMse: number;
  testMse: number;
}

/** Adam on mini-batches of the training rows; the learning rate drops 10× for the last third. */
export function fitRegressor(model: Module & { forward(x: Tensor): Tensor }, train: { x: Float32Array; y: Float32Array }, test: { x: Float32Array; y: Float32Array }, d: number, s: FitSettings, seed: number): FitOutcome {
  const n = train.y.length;
  const g = new Generator(seed);
  const opt = new Adam(model.parameters(), { lr: s.lr });
  const bx = new Float32Array(s.batchSize * d), by = new Float32Array(s.batchSize);
  let firstLoss = NaN, lastLoss = NaN;
  for (let step = 0; step < s.steps; step++) {
    if (step === Math.floor((2 * s.steps) / 3)) for (const group of opt.paramGroups) group.lr = s.lr / 10;
    for (let r = 0; r < s.batchSize; r++) {
      const i = g.randint(n);
      bx.set(train.x.subarray(i * d, (i + 1) * d), r * d);
      by[r] = train.y[i];
    }
    opt.zeroGrad();
    const loss = mseLoss(model.forward(tensor(bx, { shape: [s.batchSize, d] })), tensor(by, { shape: [s.batchSize, 1] }));
    loss.backward();
    opt.step();
    const v = loss.item();
    if (step === 0) firstLoss = v;
    lastLoss = v;
  }
  const mse = (part: { x: Float32Array; y: Float32Array }): number => noGrad(() => {
    const m = part.y.length;
    return mseLoss(model.forward(tensor(part.x, { shape: [m, d] })), tensor(part.y, { shape: [m, 1] })).item();
  });
  return { parameters: model.numParameters(), firstLoss, lastLoss, trainMse: mse(train), testMse: mse(test) };
}

export interface PolynomialFitRow {
  target: PolynomialTarget;
  d: number;
  L: number;
  seed: number;
  /** Coefficients of a generic polynomial of degree ≤ L+1 in d variables: C(d+L+1, L+1). */
  monomials: number;
  dnnWidth: number;
  cross: FitOutcome;
  dnn: FitOutcome;
}

export interface PolynomialFitOptions {
  d: number;
  L: number;
  target: PolynomialTarget;
  seed: number;
  trainRows: number;
  testRows: number;
  fit: FitSettings;
}

export function polynomialFit(o: PolynomialFitOptions): PolynomialFitRow {
  const all = polynomialData(o.target, o.d, o.L, o.trainRows + o.testRows, o.seed);
  const cut = o.trainRows * o.d;
  const train = { x: all.x.subarray(0, cut), y: all.y.subarray(0, o.trainRows) };
  const test = { x: all.x.subarray(cut), y: all.y.subarray(o.trainRows) };
  const cross = new CrossRegressor(o.d, o.L, new Generator(o.seed + 1));
  const { width } = widthForParameterCount(cross.numParameters(), (w) => new ReluRegressor(o.d, w, new Generator(0)));
  const dnn = new ReluRegressor(o.d, width, new Generator(o.seed + 1));
  return {
    target: o.target, d: o.d, L: o.L, seed: o.seed, monomials: monomials(o.d, o.L + 1).length, dnnWidth: width,
    cross: fitRegressor(cross, train, test, o.d, o.fit, o.seed + 2),
    dnn: fitRegressor(dnn, train, test, o.d, o.fit, o.seed + 2),
  };
}

export interface CrossClaimsOptions {
  /** (a): the d and L of the parameter table. */
  paramDims?: readonly number[];
  paramLayers?: readonly number[];
  /** (c): input width and layer counts of the polynomial fits. */
  d?: number;
  layers?: readonly number[];
  targets?: readonly PolynomialTarget[];
  seeds?: number;
  trainRows?: number;
  testRows?: number;
  fit?: Partial<FitSettings>;
  onFit?(row: PolynomialFitRow): void;
}

export interface CrossClaimsResult {
  parameters: CrossParameterRow[];
  fits: PolynomialFitRow[];
  settings: { d: number; layers: readonly number[]; targets: readonly PolynomialTarget[]; seeds: number; trainRows: number; testRows: number; fit: FitSettings };
  seconds: number;
}

export function crossClaimsExperiment(o: CrossClaimsOptions = {}): CrossClaimsResult {
  const t0 = performance.now();
  const settings = {
    d: o.d ?? 8,
    layers: o.layers ?? [1, 2, 3],
    targets: o.targets ?? POLYNOMIAL_TARGETS,
    seeds: o.seeds ?? 3,
    trainRows: o.trainRows ?? 4000,
    testRows: o.testRows ?? 2000,
    fit: { steps: 3000, batchSize: 128, lr: 0.01, ...o.fit },
  };
  const parameters = crossParameterCounts(o.paramDims ?? [8, 64, 256, 1024], o.paramLayers ?? [1, 2, 3, 6]);
  const fits: PolynomialFitRow[] = [];
  for (const target of settings.targets) {
    for (const L of settings.layers) {
      for (let s = 0; s < settings.seeds; s++) {
        const row = polynomialFit({ d: settings.d, L, target, seed: 100 * s + 7, trainRows: settings.trainRows, testRows: settings.testRows, fit: settings.fit });
        fits.push(row);
        o.onFit?.(row);
      }
    }
  }
  return { parameters, fits, settings, seconds: (performance.now() - t0) / 1000 };
}
