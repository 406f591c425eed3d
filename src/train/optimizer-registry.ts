import type { Tensor } from '../autograd/index.js';
import { Adagrad, Adam, AdamW, RMSprop, SGD } from '../nn/optim/index.js';

/** What the trainer needs from an optimizer (every optimizer in nn/optim has this shape). */
export interface OptimizerLike {
  step(): void;
  zeroGrad(): void;
}

export const OPTIMIZER_NAMES = ['adam', 'adamw', 'sgd', 'adagrad', 'rmsprop'] as const;
export type OptimizerName = (typeof OPTIMIZER_NAMES)[number];

/** An optimizer instance as given, or a new one by name over `params` (DeepCTR's compile('adam')). */
export function makeOptimizer(fn: string, opt: OptimizerLike | OptimizerName, params: Tensor[], lr: number): OptimizerLike {
  if (typeof opt !== 'string') {
    if (opt === null || typeof opt !== 'object' || typeof opt.step !== 'function' || typeof opt.zeroGrad !== 'function') {
      throw new TypeError(`${fn}: optimizer must be an optimizer (with step and zeroGrad) or one of ${OPTIMIZER_NAMES.join(', ')}`);
    }
    return opt;
  }
  if (!(lr > 0 && Number.isFinite(lr))) throw new RangeError(`${fn}: lr must be a positive number, got ${lr}`);
  switch (opt) {
    case 'adam': return new Adam(params, { lr });
    case 'adamw': return new AdamW(params, { lr });
    case 'sgd': return new SGD(params, { lr });
    case 'adagrad': return new Adagrad(params, { lr });
    case 'rmsprop': return new RMSprop(params, { lr });
    default: throw new RangeError(`${fn}: unknown optimizer '${String(opt)}'; expected one of ${OPTIMIZER_NAMES.join(', ')}`);
  }
}
