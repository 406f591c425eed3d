import type { Tensor } from '../autograd/index.js';
import { Generator, defaultGenerator, formatShape } from '../tensor/index.js';
import { activationLayer, type ActivationSpec } from './activation.js';
import { BatchNorm1d } from './batchnorm.js';
import { Dropout } from './dropout.js';
import { normal } from './init.js';
import { Linear } from './linear.js';
import { Module, ModuleList, type Layer } from './module.js';
import { checkOptionKeys, type OptionKeys } from '../validation/options.js';

export interface DNNOptions {
  /** Per-layer activation: a name, a module (shared by every layer) or a factory (default 'relu'). */
  activation?: ActivationSpec;
  /** L2 strength for the Linear weights; the model or trainer adds it to the loss (see regularizationWeights). */
  l2Reg?: number;
  dropoutRate?: number;
  /** BatchNorm1d after each Linear, before the activation. */
  useBn?: boolean;
  /** Std of the N(0, std²) Linear weights (default 1e-4); biases keep PyTorch's U(±1/√in). */
  initStd?: number;
  /** Seeds a private generator for the weights and dropout masks (overrides `generator`). */
  seed?: number;
  generator?: Generator;
}

const DNN_OPTION_KEYS: OptionKeys<DNNOptions> = { activation: true, l2Reg: true, dropoutRate: true, useBn: true, initStd: true, seed: true, generator: true };

/**
 * DeepCTR-Torch's multi-layer perceptron: per layer Linear → optional BatchNorm1d → activation →
 * Dropout. Submodules are named as there (`dropout`, `linears`, `bn`, `activation_layers`), so the
 * state dict reads `linears.0.weight`, `bn.0.running_mean`, …. Input [B, inputsDim] (or
 * [B, L, inputsDim]); output [B, hiddenUnits.at(-1)]. Batch size 1 works, with BatchNorm too
 * (see BatchNorm1d).
 */
export class DNN extends Module implements Layer {
  static override readonly typeName: string = 'DNN';
  readonly inputsDim: number;
  readonly hiddenUnits: readonly number[];
  readonly l2Reg: number;
  readonly useBn: boolean;
  readonly dropout: Dropout;
  readonly linears: ModuleList<Linear>;
  readonly bn: ModuleList<BatchNorm1d> | null;
  readonly activation_layers: ModuleList<Layer>; // eslint-disable-line @typescript-eslint/naming-convention

  constructor(inputsDim: number, hiddenUnits: readonly number[], opts: DNNOptions = {}) {
    super();
    checkOptionKeys('DNN', opts, DNN_OPTION_KEYS);
    if (!Array.isArray(hiddenUnits) || hiddenUnits.length === 0) {
      throw new Error(`DNN: hiddenUnits must list at least one layer width, got [${hiddenUnits?.join?.(',') ?? String(hiddenUnits)}]`);
    }
    const dims = [inputsDim, ...hiddenUnits];
    dims.forEach((d, i) => {
      if (!Number.isInteger(d) || d <= 0) {
        throw new RangeError(`DNN: ${i === 0 ? 'inputsDim' : `hiddenUnits[${i - 1}]`} must be a positive integer, got ${d}`);
      }
    });
    const l2Reg = opts.l2Reg ?? 0;
    if (!(l2Reg >= 0)) throw new RangeError(`DNN: l2Reg must be non-negative, got ${l2Reg}`);
    const dropoutRate = opts.dropoutRate ?? 0;
    if (!(dropoutRate >= 0 && dropoutRate < 1)) throw new RangeError(`DNN: dropoutRate must be in [0, 1), got ${dropoutRate}`);
    this.inputsDim = inputsDim;
    this.hiddenUnits = hiddenUnits.slice();
    this.l2Reg = l2Reg;
    this.useBn = opts.useBn ?? false;
    const generator = opts.seed !== undefined ? new Generator(opts.seed) : opts.generator ?? defaultGenerator;
    const initStd = opts.initStd ?? 1e-4;
    const n = hiddenUnits.length;
    const out = (i: number): number => dims[i + 1];

    // Registration order follows DeepCTR-Torch's __init__, so state-dict keys come out in its order.
    this.dropout = this.registerModule('dropout', new Dropout(dropoutRate, { generator }));
    this.linears = this.registerModule('linears', new ModuleList(
      Array.from({ length: n }, (_, i) => new Linear(dims[i], out(i), { generator })),
    ));
    for (const l of this.linears) normal(l.weight, { std: initStd, generator });
    this.bn = this.useBn
      ? this.registerModule('bn', new ModuleList(Array.from({ length: n }, (_, i) => new BatchNorm1d(out(i)))))
      : null;
    const act = opts.activation ?? 'relu';
    this.activation_layers = this.registerModule('activation_layers', new ModuleList(
      Array.from({ length: n }, (_, i) => activationLayer(act, out(i))),
    ));
  }

  forward(x: Tensor): Tensor {
    if (x.shape[x.ndim - 1] !== this.inputsDim || x.ndim < 2) {
      throw new Error(`DNN: expected input [B, ${this.inputsDim}], got ${formatShape(x.shape)}`);
    }
    return this.forwardAfterLinear(this.linears.get(0).forward(x), 0);
  }

  /**
   * The rest of forward once `linears[layer]` has produced z: that layer's BatchNorm, activation
   * and dropout, then every later layer. Lets several DNNs run their first Linear as one product
   * (see forwardStacked) and continue one by one.
   */
  forwardAfterLinear(z: Tensor, layer: number): Tensor {
    let h = z;
    for (let i = layer; i < this.linears.length; i++) {
      if (i > layer) h = this.linears.get(i).forward(h);
      if (this.bn) h = this.normalize(this.bn.get(i), h);
      h = this.activation_layers.get(i).forward(h);
      h = this.dropout.forward(h);
    }
    return h;
  }

  /**
   * BatchNorm over the feature (last) axis. A [B, L, C] input is normalised as [B·L, C]: handed
   * over as is, BatchNorm1d would read it as [B, C, L] (and silently use the wrong axis when L = C).
   */
  private normalize(bn: BatchNorm1d, h: Tensor): Tensor {
    if (h.ndim === 2) return bn.forward(h);
    return bn.forward(h.reshape([-1, h.shape[h.ndim - 1]])).reshape(h.shape);
  }

  /** The tensors l2Reg applies to: every Linear weight (not biases, not BatchNorm), as DeepCTR-Torch. */
  regularizationWeights(): Tensor[] {
    return this.linears.map((l) => l.weight);
  }
}
