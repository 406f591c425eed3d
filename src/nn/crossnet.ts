import { Tensor, crossNetVector, matmul, zeros } from '../autograd/index.js';
import { NDArray, formatShape, type Generator } from '../tensor/index.js';
import { xavierNormal } from './init.js';
import { Module, type Layer } from './module.js';
import { checkOptionKeys, type OptionKeys } from '../validation/options.js';

/**
 * Xavier-normal initialisation of each slice t[i] separately, as DeepCTR-Torch does
 * (`for i in range(L): xavier_normal_(p[i])`): the fans come from the slice's shape, so a vector
 * kernel slice [D, 1] gets std √(2/(D+1)), not the fans of the whole [L, D, 1] tensor.
 */
export function xavierNormalPerSlice(t: Tensor, generator?: Generator): Tensor {
  const n = t.shape[0];
  const inner = t.size / n;
  for (let i = 0; i < n; i++) {
    xavierNormal(new NDArray(t.data.subarray(i * inner, (i + 1) * inner), t.shape.slice(1)), { generator });
  }
  return t;
}

/** Slice i of a stacked parameter [L, ...rest] as a tensor of shape `shape` (differentiable). */
export function layerSlice(t: Tensor, i: number, shape: readonly number[]): Tensor {
  return t.narrow(0, i, 1).reshape(shape);
}

export function checkInFeatures(op: string, inFeatures: number, layerNum: number): void {
  if (!Number.isInteger(inFeatures) || inFeatures <= 0) throw new RangeError(`${op}: inFeatures must be a positive integer, got ${inFeatures}`);
  if (!Number.isInteger(layerNum) || layerNum <= 0) throw new RangeError(`${op}: layerNum must be a positive integer, got ${layerNum}`);
}

export interface CrossNetOptions {
  /** Number of cross layers (default 2). */
  layerNum?: number;
  /** 'vector' (DCN, the fused rank-one cross layer, the default) or 'matrix' (DCN-V2). */
  parameterization?: 'vector' | 'matrix';
  generator?: Generator;
}

const CROSSNET_OPTION_KEYS: OptionKeys<CrossNetOptions> = { layerNum: true, parameterization: true, generator: true };

/**
 * The cross network of DCN / DCN-V2, with DeepCTR-Torch's parameters `kernels` ([L, D, 1] for
 * 'vector', [L, D, D] for 'matrix') and `bias` [L, D, 1]; Xavier-normal kernels, zero biases.
 * vector: x_{l+1} = x0 ⊙ (x_l·w_l) + b_l + x_l, all L layers in the one fused op `crossNetVector`
 * (O(B·D) time, O(B·D + B·L) memory, nothing D×D is ever formed); matrix:
 * x_{l+1} = x0 ⊙ (W_l·x_l + b_l) + x_l.
 * Input and output [B, D]; batch size 1 stays [1, D].
 */
export class CrossNet extends Module implements Layer {
  static override readonly typeName: string = 'CrossNet';
  readonly inFeatures: number;
  readonly layerNum: number;
  readonly parameterization: 'vector' | 'matrix';
  readonly kernels: Tensor;
  readonly bias: Tensor;

  constructor(inFeatures: number, opts: CrossNetOptions = {}) {
    super();
    checkOptionKeys('CrossNet', opts, CROSSNET_OPTION_KEYS);
    const layerNum = opts.layerNum ?? 2;
    checkInFeatures('CrossNet', inFeatures, layerNum);
    const param = opts.parameterization ?? 'vector';
    if (param !== 'vector' && param !== 'matrix') {
      throw new Error(`CrossNet: parameterization must be 'vector' or 'matrix', got '${String(param)}'`);
    }
    this.inFeatures = inFeatures;
    this.layerNum = layerNum;
    this.parameterization = param;
    const D = inFeatures;
    this.kernels = this.registerParameter('kernels',
      xavierNormalPerSlice(zeros([layerNum, D, param === 'vector' ? 1 : D]), opts.generator));
    this.bias = this.registerParameter('bias', zeros([layerNum, D, 1]));
  }

  forward(x: Tensor): Tensor {
    const D = this.inFeatures;
    if (x.ndim !== 2 || x.shape[1] !== D) throw new Error(`CrossNet: expected input [B, ${D}], got ${formatShape(x.shape)}`);
    if (this.parameterization === 'vector') return crossNetVector(x, this.kernels, this.bias);
    const x0 = x;
    let xl = x;
    for (let i = 0; i < this.layerNum; i++) {
      // W_l·x_l for every row is x_l·W_lᵀ; transB avoids copying W_l.
      const wx = matmul(xl, layerSlice(this.kernels, i, [D, D]), { transB: true });
      xl = x0.mul(wx.add(layerSlice(this.bias, i, [D]))).add(xl);
    }
    return xl;
  }
}
