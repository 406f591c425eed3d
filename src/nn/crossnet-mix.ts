import { Tensor, concat, matmul, softmax, tanh, zeros } from '../autograd/index.js';
import { formatShape, type Generator } from '../tensor/index.js';
import { checkInFeatures, layerSlice, xavierNormalPerSlice } from './crossnet.js';
import { Linear } from './linear.js';
import { Module, ModuleList, type Layer } from './module.js';
import { checkOptionKeys, type OptionKeys } from '../validation/options.js';

export interface CrossNetMixOptions {
  /** Rank r of each expert's U·C·Vᵀ factorisation (default 32). */
  lowRank?: number;
  numExperts?: number;
  layerNum?: number;
  generator?: Generator;
}

const CROSSNETMIX_OPTION_KEYS: OptionKeys<CrossNetMixOptions> = { lowRank: true, numExperts: true, layerNum: true, generator: true };

/**
 * DCN-Mix: a mixture of low-rank cross experts per layer, as DeepCTR-Torch's CrossNetMix.
 * Expert e of layer l: E(x_l) = x0 ⊙ (U·tanh(C·tanh(Vᵀ·x_l)) + b_l); the gates are
 * softmax over experts of `gating[e](x_l)`; x_{l+1} = Σ_e gate_e·E_e(x_l) + x_l.
 * Parameters (DeepCTR-Torch names): U_list, V_list [L, E, D, r], C_list [L, E, r, r] (Xavier-normal
 * per layer slice), bias [L, D, 1] (zeros), gating.e.weight [1, D] (Linear without bias).
 */
export class CrossNetMix extends Module implements Layer {
  static override readonly typeName: string = 'CrossNetMix';
  readonly inFeatures: number;
  readonly lowRank: number;
  readonly numExperts: number;
  readonly layerNum: number;
  readonly U_list: Tensor; // eslint-disable-line @typescript-eslint/naming-convention
  readonly V_list: Tensor; // eslint-disable-line @typescript-eslint/naming-convention
  readonly C_list: Tensor; // eslint-disable-line @typescript-eslint/naming-convention
  readonly gating: ModuleList<Linear>;
  readonly bias: Tensor;

  constructor(inFeatures: number, opts: CrossNetMixOptions = {}) {
    super();
    checkOptionKeys('CrossNetMix', opts, CROSSNETMIX_OPTION_KEYS);
    const layerNum = opts.layerNum ?? 2;
    const lowRank = opts.lowRank ?? 32;
    const numExperts = opts.numExperts ?? 4;
    checkInFeatures('CrossNetMix', inFeatures, layerNum);
    if (!Number.isInteger(lowRank) || lowRank <= 0) throw new RangeError(`CrossNetMix: lowRank must be a positive integer, got ${lowRank}`);
    if (!Number.isInteger(numExperts) || numExperts <= 0) throw new RangeError(`CrossNetMix: numExperts must be a positive integer, got ${numExperts}`);
    this.inFeatures = inFeatures;
    this.lowRank = lowRank;
    this.numExperts = numExperts;
    this.layerNum = layerNum;
    const D = inFeatures, r = lowRank, E = numExperts, g = opts.generator;
    this.U_list = this.registerParameter('U_list', xavierNormalPerSlice(zeros([layerNum, E, D, r]), g));
    this.V_list = this.registerParameter('V_list', xavierNormalPerSlice(zeros([layerNum, E, D, r]), g));
    this.C_list = this.registerParameter('C_list', xavierNormalPerSlice(zeros([layerNum, E, r, r]), g));
    this.gating = this.registerModule('gating', new ModuleList(
      Array.from({ length: E }, () => new Linear(D, 1, { bias: false, generator: g })),
    ));
    this.bias = this.registerParameter('bias', zeros([layerNum, D, 1]));
  }

  forward(x: Tensor): Tensor {
    const D = this.inFeatures, r = this.lowRank, E = this.numExperts;
    if (x.ndim !== 2 || x.shape[1] !== D) throw new Error(`CrossNetMix: expected input [B, ${D}], got ${formatShape(x.shape)}`);
    const x0 = x;
    let xl = x;
    for (let i = 0; i < this.layerNum; i++) {
      const U = layerSlice(this.U_list, i, [E, D, r]);
      const V = layerSlice(this.V_list, i, [E, D, r]);
      const C = layerSlice(this.C_list, i, [E, r, r]);
      const b = layerSlice(this.bias, i, [D]);
      // Gate logits [B, E], softmax over experts.
      const logits = this.gating.map((lin) => lin.forward(xl));
      const gates = softmax(concat(logits, 1), 1);
      let mix: Tensor | null = null;
      for (let e = 0; e < E; e++) {
        const Ue = layerSlice(U, e, [D, r]);
        const Ve = layerSlice(V, e, [D, r]);
        const Ce = layerSlice(C, e, [r, r]);
        // Row form of the column-vector formulas: (Vᵀx)ᵀ = xᵀV, (C·v)ᵀ = vᵀCᵀ, (U·v)ᵀ = vᵀUᵀ.
        let v = tanh(matmul(xl, Ve));
        v = tanh(matmul(v, Ce, { transB: true }));
        const expert = x0.mul(matmul(v, Ue, { transB: true }).add(b));
        const term = expert.mul(gates.narrow(1, e, 1));
        mix = mix ? mix.add(term) : term;
      }
      xl = mix!.add(xl);
    }
    return xl;
  }
}
