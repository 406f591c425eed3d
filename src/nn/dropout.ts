import { Tensor } from '../autograd/index.js';
import { allocate, defaultGenerator, formatShape, shapesEqual, type Generator } from '../tensor/index.js';
import { Module, type Layer } from './module.js';
import { checkOptionKeys, type OptionKeys } from '../validation/options.js';

export interface DropoutOptions {
  /** Source of the masks (default: the global generator). */
  generator?: Generator;
}

function checkP(op: string, p: number): void {
  if (!(p >= 0 && p <= 1)) throw new RangeError(`${op}: p must be in [0, 1], got ${p}`);
}

/**
 * Inverted dropout: each element is zeroed with probability p and the survivors are scaled by
 * 1/(1−p), so the expected value is unchanged and eval needs no rescaling. Identity when not
 * training or p = 0.
 */
export function dropout(x: Tensor, p: number, opts: DropoutOptions & { training?: boolean } = {}): Tensor {
  checkP('dropout', p);
  if (!(opts.training ?? true) || p === 0) return x;
  const m = allocate(x.dtype, x.size);
  if (p < 1) {
    const gen = opts.generator ?? defaultGenerator;
    const scale = 1 / (1 - p);
    for (let i = 0; i < m.length; i++) m[i] = gen.random() < p ? 0 : scale;
  }
  return x.mul(new Tensor(m, x.shape));
}

const DROPOUT_OPTION_KEYS: OptionKeys<DropoutOptions> = { generator: true };

/** The module form of `dropout`; follows train()/eval(). */
export class Dropout extends Module implements Layer {
  static override readonly typeName: string = 'Dropout';
  readonly p: number;
  private readonly generator: Generator | undefined;
  private fixedMask: Tensor | null = null;

  constructor(p = 0.5, opts: DropoutOptions = {}) {
    super();
    checkOptionKeys('Dropout', opts, DROPOUT_OPTION_KEYS);
    checkP('Dropout', p);
    this.p = p;
    this.generator = opts.generator;
  }

  /**
   * Uses `keep` (1 = keep, 0 = drop, shaped like the input) instead of sampling, until called with
   * null: makes a training-mode forward deterministic, for gradient checks and reproductions.
   */
  setMask(keep: Tensor | null): this {
    if (keep) {
      for (const v of keep.data) {
        if (v !== 0 && v !== 1) throw new RangeError(`Dropout.setMask: mask entries must be 0 or 1, got ${v}`);
      }
    }
    this.fixedMask = keep;
    return this;
  }

  forward(x: Tensor): Tensor {
    if (!this.training || this.p === 0) return x;
    const keep = this.fixedMask;
    if (!keep) return dropout(x, this.p, { generator: this.generator });
    if (!shapesEqual(keep.shape, x.shape)) {
      throw new Error(`Dropout: fixed mask ${formatShape(keep.shape)} does not match input ${formatShape(x.shape)}`);
    }
    const scale = this.p < 1 ? 1 / (1 - this.p) : 0;
    const m = allocate(x.dtype, x.size);
    for (let i = 0; i < m.length; i++) m[i] = keep.data[i] * scale;
    return x.mul(new Tensor(m, x.shape));
  }
}
