import type { Tensor } from '../autograd/index.js';
import { Adagrad, Adam, AdamW, RMSprop, SGD } from '../nn/optim/index.js';

/** What the trainer needs from an optimizer (every optimizer in nn/optim has this shape). */
export interface OptimizerLike {
  step(): void;
  zeroGrad(): void;
}

/** Optimizer constructors by the name `fit({ optimizer })` takes (name → constructor, as models/registry.ts). */
const OPTIMIZERS = {
  adam: (params: Tensor[], lr: number) => new Adam(params, { lr }),
  adamw: (params: Tensor[], lr: number) => new AdamW(params, { lr }),
  sgd: (params: Tensor[], lr: number) => new SGD(params, { lr }),
  adagrad: (params: Tensor[], lr: number) => new Adagrad(params, { lr }),
  rmsprop: (params: Tensor[], lr: number) => new RMSprop(params, { lr }),
} as const satisfies Record<string, (params: Tensor[], lr: number) => OptimizerLike>;

export type OptimizerName = keyof typeof OPTIMIZERS;
export const OPTIMIZER_NAMES = Object.keys(OPTIMIZERS) as readonly OptimizerName[];

/** An optimizer instance as given, or a new one by name over `params` (DeepCTR's compile('adam')). */
export function makeOptimizer(fn: string, opt: OptimizerLike | OptimizerName, params: Tensor[], lr: number): OptimizerLike {
  if (typeof opt !== 'string') {
    if (opt === null || typeof opt !== 'object' || typeof opt.step !== 'function' || typeof opt.zeroGrad !== 'function') {
      throw new TypeError(`${fn}: optimizer must be an optimizer (with step and zeroGrad) or one of ${OPTIMIZER_NAMES.join(', ')}`);
    }
    return opt;
  }
  if (!(lr > 0 && Number.isFinite(lr))) throw new RangeError(`${fn}: lr must be a positive number, got ${lr}`);
  if (!Object.prototype.hasOwnProperty.call(OPTIMIZERS, opt)) {
    throw new RangeError(`${fn}: unknown optimizer '${String(opt)}'; expected one of ${OPTIMIZER_NAMES.join(', ')}`);
  }
  return OPTIMIZERS[opt](params, lr);
}
