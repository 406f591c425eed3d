import { Tensor, full, leakyRelu, relu, sigmoid, tanh } from '../autograd/index.js';
import { formatShape } from '../tensor/index.js';
import { BatchNorm1d } from './batchnorm.js';
import { Module, type Layer } from './module.js';
import { checkOptionKeys, type OptionKeys } from '../validation/options.js';

/* Activations in functional and module form, and the by-name factory DNN uses. */

export { relu, sigmoid, tanh, leakyRelu };

/** The identity, DeepCTR-Torch's 'linear' activation. */
export const identity = (x: Tensor): Tensor => x;

/** Reshapes a per-channel parameter [C] so it broadcasts along axis 1 of x (PyTorch's channel axis). */
function channelView(op: string, x: Tensor, w: Tensor): Tensor {
  if (w.size === 1) return w;
  if (x.ndim < 2 || x.shape[1] !== w.size) {
    throw new Error(`${op}: ${w.size} slopes need input [B, ${w.size}, ...], got ${formatShape(x.shape)}`);
  }
  return x.ndim === 2 ? w : w.reshape([w.size, ...new Array<number>(x.ndim - 2).fill(1)]);
}

/** max(0, x) + w·min(0, x) with a learnable slope w ([1], or one per channel along axis 1). */
export function prelu(x: Tensor, weight: Tensor): Tensor {
  const w = channelView('prelu', x, weight);
  return relu(x).sub(relu(x.neg()).mul(w));
}

export class ReLU extends Module implements Layer {
  static override readonly typeName: string = 'ReLU';
  forward(x: Tensor): Tensor {
    return relu(x);
  }
}

export class Sigmoid extends Module implements Layer {
  static override readonly typeName: string = 'Sigmoid';
  forward(x: Tensor): Tensor {
    return sigmoid(x);
  }
}

export class Tanh extends Module implements Layer {
  static override readonly typeName: string = 'Tanh';
  forward(x: Tensor): Tensor {
    return tanh(x);
  }
}

export class Identity extends Module implements Layer {
  static override readonly typeName: string = 'Identity';
  forward(x: Tensor): Tensor {
    return x;
  }
}

export class LeakyReLU extends Module implements Layer {
  static override readonly typeName: string = 'LeakyReLU';
  constructor(readonly negativeSlope = 0.01) {
    super();
  }

  forward(x: Tensor): Tensor {
    return leakyRelu(x, this.negativeSlope);
  }
}

export interface PReLUOptions {
  /** 1 (one shared slope, the default) or the number of channels. */
  numParameters?: number;
  /** Initial slope (default 0.25, as PyTorch). */
  init?: number;
}

const PRELU_OPTION_KEYS: OptionKeys<PReLUOptions> = { numParameters: true, init: true };

/** Leaky ReLU with a learned slope; parameter `weight` as in torch.nn.PReLU. */
export class PReLU extends Module implements Layer {
  static override readonly typeName: string = 'PReLU';
  readonly weight: Tensor;

  constructor(opts: PReLUOptions = {}) {
    super();
    checkOptionKeys('PReLU', opts, PRELU_OPTION_KEYS);
    const n = opts.numParameters ?? 1;
    if (!Number.isInteger(n) || n <= 0) throw new RangeError(`PReLU: numParameters must be a positive integer, got ${n}`);
    this.weight = this.registerParameter('weight', full([n], opts.init ?? 0.25));
  }

  forward(x: Tensor): Tensor {
    return prelu(x, this.weight);
  }
}

export interface DiceOptions {
  /** The BatchNorm's eps (default 1e-8, as DeepCTR-Torch). */
  eps?: number;
}

const DICE_OPTION_KEYS: OptionKeys<DiceOptions> = { eps: true };

/**
 * Dice from the DIN paper, as DeepCTR-Torch's: p = sigmoid(bn(x)), out = p·x + (1−p)·α·x, with
 * its own BatchNorm1d (`bn`) and a learned per-feature `alpha` (starting at 0). Input [B, C], or
 * [B, L, C] where the statistics run over B and L (DeepCTR-Torch's dim=3 case; alpha stays [C]).
 */
export class Dice extends Module implements Layer {
  static override readonly typeName: string = 'Dice';
  readonly bn: BatchNorm1d;
  readonly alpha: Tensor;
  readonly embSize: number;

  constructor(embSize: number, opts: DiceOptions = {}) {
    super();
    checkOptionKeys('Dice', opts, DICE_OPTION_KEYS);
    if (!Number.isInteger(embSize) || embSize <= 0) throw new RangeError(`Dice: embSize must be a positive integer, got ${embSize}`);
    this.embSize = embSize;
    this.bn = this.registerModule('bn', new BatchNorm1d(embSize, { eps: opts.eps ?? 1e-8 }));
    this.alpha = this.registerParameter('alpha', full([embSize], 0));
  }

  forward(x: Tensor): Tensor {
    const C = this.embSize;
    if (x.shape[x.ndim - 1] !== C || (x.ndim !== 2 && x.ndim !== 3)) {
      throw new Error(`Dice: expected input [B, ${C}] or [B, L, ${C}], got ${formatShape(x.shape)}`);
    }
    const x2 = x.ndim === 2 ? x : x.reshape([-1, C]);
    const p = sigmoid(this.bn.forward(x2));
    const gate = p.add(p.neg().add(1).mul(this.alpha));
    const out = x2.mul(gate);
    return x.ndim === 2 ? out : out.reshape(x.shape);
  }
}

/** An activation given by name, a ready module, or a factory called with the layer width. */
export type ActivationSpec = string | Layer | ((hiddenSize: number | undefined) => Layer);

/**
 * Activation constructors by lower-cased name (the registry convention of models/registry.ts and
 * train/optimizer-registry.ts: name → constructor as a record); aliases are extra entries.
 */
const ACTIVATIONS: Readonly<Record<string, (hiddenSize: number | undefined) => Layer>> = {
  relu: () => new ReLU(),
  sigmoid: () => new Sigmoid(),
  tanh: () => new Tanh(),
  linear: () => new Identity(),
  identity: () => new Identity(),
  leakyrelu: () => new LeakyReLU(),
  leaky_relu: () => new LeakyReLU(),
  prelu: () => new PReLU(),
  dice: (hiddenSize) => {
    if (hiddenSize === undefined) throw new Error('activationLayer: dice needs the layer width (hiddenSize)');
    return new Dice(hiddenSize);
  },
};

/**
 * DeepCTR-Torch's activation_layer: 'relu', 'sigmoid', 'tanh', 'linear' (identity), 'leakyRelu',
 * 'prelu', 'dice' (needs hiddenSize). Names are case-insensitive; 'leaky_relu' and 'identity' are
 * accepted too. A module is returned as is (so it is shared if passed to several layers); a
 * function is called once per layer.
 */
export function activationLayer(act: ActivationSpec, hiddenSize?: number): Layer {
  if (typeof act === 'function') return act(hiddenSize);
  if (act instanceof Module) return act;
  if (typeof act !== 'string') throw new TypeError(`activationLayer: expected a name, a module or a factory, got ${typeof act}`);
  const name = act.toLowerCase();
  const make = Object.prototype.hasOwnProperty.call(ACTIVATIONS, name) ? ACTIVATIONS[name] : undefined;
  if (make === undefined) throw new Error(`activationLayer: unknown activation '${act}' (expected relu, sigmoid, tanh, linear, leakyRelu, prelu or dice)`);
  return make(hiddenSize);
}
