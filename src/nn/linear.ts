import { Tensor, matmul, zeros } from '../autograd/index.js';
import { formatShape, type Generator } from '../tensor/index.js';
import { kaimingUniform, uniform } from './init.js';
import { Module, type Layer } from './module.js';
import { checkOptionKeys, type OptionKeys } from '../validation/options.js';

export interface LinearOptions {
  /** Add a learnable bias (default true). */
  bias?: boolean;
  /** Source of the initial weights (default: the global generator). */
  generator?: Generator;
}

const LINEAR_OPTION_KEYS: OptionKeys<LinearOptions> = { bias: true, generator: true };

/**
 * y = x·Wᵀ + b with W of shape [out, in], as torch.nn.Linear (so weights move between the two
 * unchanged). Initialised like PyTorch: W and b from U(±1/√in).
 */
export class Linear extends Module implements Layer {
  static override readonly typeName: string = 'Linear';
  readonly inFeatures: number;
  readonly outFeatures: number;
  readonly weight: Tensor;
  readonly bias: Tensor | null;

  constructor(inFeatures: number, outFeatures: number, opts: LinearOptions = {}) {
    super();
    checkOptionKeys('Linear', opts, LINEAR_OPTION_KEYS);
    for (const [what, n] of [['inFeatures', inFeatures], ['outFeatures', outFeatures]] as const) {
      if (!Number.isInteger(n) || n <= 0) throw new RangeError(`Linear: ${what} must be a positive integer, got ${n}`);
    }
    this.inFeatures = inFeatures;
    this.outFeatures = outFeatures;
    const generator = opts.generator;
    // kaiming-uniform with a = √5 is PyTorch's reset_parameters; it reduces to U(±1/√in).
    this.weight = this.registerParameter('weight', kaimingUniform(zeros([outFeatures, inFeatures]), { a: Math.sqrt(5), generator }));
    const bound = 1 / Math.sqrt(inFeatures);
    this.bias = (opts.bias ?? true)
      ? this.registerParameter('bias', uniform(zeros([outFeatures]), { low: -bound, high: bound, generator }))
      : null;
  }

  /** x: [..., in] (2-D or 3-D) → [..., out]. */
  forward(x: Tensor): Tensor {
    if (x.ndim < 1 || x.shape[x.ndim - 1] !== this.inFeatures) {
      throw new Error(`Linear: expected input [..., ${this.inFeatures}], got ${formatShape(x.shape)}`);
    }
    const x2 = x.ndim === 2 ? x : x.reshape([-1, this.inFeatures]);
    // transB multiplies by Wᵀ without copying W.
    let y = matmul(x2, this.weight, { transB: true });
    if (this.bias) y = y.add(this.bias);
    return x.ndim === 2 ? y : y.reshape([...x.shape.slice(0, -1), this.outFeatures]);
  }
}
