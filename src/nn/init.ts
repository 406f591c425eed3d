import { bumpVersion } from '../autograd/index.js';
import { defaultGenerator, formatShape, type Generator, type NDArray } from '../tensor/index.js';

/*
 * Parameter initialisers after torch.nn.init: each fills its argument in place from a seedable
 * generator (the global one unless given) and returns it. Fans follow PyTorch: for a weight of
 * shape [out, in, ...rest], fanIn = in·prod(rest) and fanOut = out·prod(rest), which for a Linear
 * weight [out, in] is the usual (in, out).
 */

export interface GeneratorOption {
  generator?: Generator;
}

export type Nonlinearity = 'linear' | 'sigmoid' | 'tanh' | 'relu' | 'leakyRelu' | 'selu';

/** The recommended gain for a nonlinearity (torch.nn.init.calculate_gain). */
export function calculateGain(nonlinearity: Nonlinearity, param?: number): number {
  switch (nonlinearity) {
    case 'linear':
    case 'sigmoid':
      return 1;
    case 'tanh':
      return 5 / 3;
    case 'relu':
      return Math.SQRT2;
    case 'leakyRelu': {
      const slope = param ?? 0.01;
      return Math.sqrt(2 / (1 + slope * slope));
    }
    case 'selu':
      return 3 / 4;
    default:
      throw new Error(`calculateGain: unknown nonlinearity '${String(nonlinearity)}'`);
  }
}

/** [fanIn, fanOut] of a weight with at least two dimensions, PyTorch's convention. */
export function computeFans(op: string, shape: readonly number[]): [number, number] {
  if (shape.length < 2) {
    throw new Error(`${op}: fan in and fan out need a tensor with at least 2 dimensions, got shape ${formatShape(shape)}`);
  }
  let receptive = 1;
  for (let i = 2; i < shape.length; i++) receptive *= shape[i];
  return [shape[1] * receptive, shape[0] * receptive];
}

export interface XavierOptions extends GeneratorOption {
  gain?: number;
}

/** N(0, gain·√(2 / (fanIn + fanOut))). */
export function xavierNormal<T extends NDArray>(t: T, opts: XavierOptions = {}): T {
  const [fanIn, fanOut] = computeFans('xavierNormal', t.shape);
  const std = (opts.gain ?? 1) * Math.sqrt(2 / (fanIn + fanOut));
  (opts.generator ?? defaultGenerator).fillNormal(t.data, 0, std);
  bumpVersion(t);
  return t;
}

/** U(±gain·√(6 / (fanIn + fanOut))). */
export function xavierUniform<T extends NDArray>(t: T, opts: XavierOptions = {}): T {
  const [fanIn, fanOut] = computeFans('xavierUniform', t.shape);
  const bound = (opts.gain ?? 1) * Math.sqrt(6 / (fanIn + fanOut));
  (opts.generator ?? defaultGenerator).fillUniform(t.data, -bound, bound);
  bumpVersion(t);
  return t;
}

export interface KaimingOptions extends GeneratorOption {
  /** Negative slope of the leaky ReLU that follows (only used with 'leakyRelu'). Default 0. */
  a?: number;
  mode?: 'fanIn' | 'fanOut';
  /** Default 'leakyRelu', as in PyTorch. */
  nonlinearity?: Nonlinearity;
}

function kaimingStd(op: string, t: NDArray, opts: KaimingOptions): number {
  const [fanIn, fanOut] = computeFans(op, t.shape);
  const mode = opts.mode ?? 'fanIn';
  if (mode !== 'fanIn' && mode !== 'fanOut') throw new Error(`${op}: mode must be 'fanIn' or 'fanOut', got '${String(mode)}'`);
  const fan = mode === 'fanIn' ? fanIn : fanOut;
  if (fan === 0) throw new Error(`${op}: cannot initialise a tensor with zero ${mode} (shape ${formatShape(t.shape)})`);
  return calculateGain(opts.nonlinearity ?? 'leakyRelu', opts.a ?? 0) / Math.sqrt(fan);
}

/** N(0, gain / √fan) — He initialisation. */
export function kaimingNormal<T extends NDArray>(t: T, opts: KaimingOptions = {}): T {
  const std = kaimingStd('kaimingNormal', t, opts);
  (opts.generator ?? defaultGenerator).fillNormal(t.data, 0, std);
  bumpVersion(t);
  return t;
}

/** U(±gain·√(3 / fan)); with a = √5 this is PyTorch's default Linear init, U(±1/√fanIn). */
export function kaimingUniform<T extends NDArray>(t: T, opts: KaimingOptions = {}): T {
  const bound = Math.sqrt(3) * kaimingStd('kaimingUniform', t, opts);
  (opts.generator ?? defaultGenerator).fillUniform(t.data, -bound, bound);
  bumpVersion(t);
  return t;
}

export interface NormalOptions extends GeneratorOption {
  mean?: number;
  std?: number;
}

/** N(mean, std²), defaults N(0, 1). */
export function normal<T extends NDArray>(t: T, opts: NormalOptions = {}): T {
  const std = opts.std ?? 1;
  if (!(std >= 0)) throw new RangeError(`normal: std must be non-negative, got ${std}`);
  (opts.generator ?? defaultGenerator).fillNormal(t.data, opts.mean ?? 0, std);
  bumpVersion(t);
  return t;
}

export interface UniformOptions extends GeneratorOption {
  low?: number;
  high?: number;
}

/** U(low, high), defaults U(0, 1). */
export function uniform<T extends NDArray>(t: T, opts: UniformOptions = {}): T {
  const low = opts.low ?? 0;
  const high = opts.high ?? 1;
  if (!(low <= high)) throw new RangeError(`uniform: low ${low} must not exceed high ${high}`);
  (opts.generator ?? defaultGenerator).fillUniform(t.data, low, high);
  bumpVersion(t);
  return t;
}

export function constant<T extends NDArray>(t: T, value: number): T {
  t.data.fill(value);
  bumpVersion(t);
  return t;
}

export function zeros<T extends NDArray>(t: T): T {
  return constant(t, 0);
}

export function ones<T extends NDArray>(t: T): T {
  return constant(t, 1);
}
