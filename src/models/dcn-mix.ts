import { CrossNetMix } from '../nn/crossnet-mix.js';
import { DeepCrossBase, type DeepCrossOptions } from './dcn.js';
import type { OptionKeys } from './base.js';
import { checkPositiveInt } from '../validation/values.js';

export interface DCNMixOptions extends DeepCrossOptions {
  /** Rank r of each cross expert's U·C·Vᵀ (default 32, DeepCTR-Torch's low_rank). */
  lowRank?: number;
  /** Cross experts per layer (default 4, DeepCTR-Torch's num_experts). */
  numExperts?: number;
}

const KEYS: OptionKeys<Pick<DCNMixOptions, 'lowRank' | 'numExperts'>> = { lowRank: true, numExperts: true };

/**
 * DCN-Mix (Wang et al., "DCN V2", WWW 2021): DCN with the cross network replaced by CrossNetMix,
 * a per-layer softmax-gated mixture of low-rank cross experts; otherwise as DCN (see DeepCrossBase).
 * Parameter names are DeepCTR-Torch's DCNMix (`crossnet.U_list`, `V_list`, `C_list`, `bias`,
 * `gating.<e>.weight`, `dnn`, `dnn_linear`, `linear_model`, `out`); l2RegCross applies to U, V and
 * C, as there. crossNum must be ≥ 1 (DeepCTR-Torch would build an empty CrossNetMix; use DCN).
 */
export class DCNMix extends DeepCrossBase<CrossNetMix> {
  static override readonly typeName: string = 'DCNMix';
  readonly lowRank: number;
  readonly numExperts: number;

  constructor(opts: DCNMixOptions = {}) {
    const lowRank = checkPositiveInt('DCNMix', 'lowRank', opts?.lowRank ?? 32);
    const numExperts = checkPositiveInt('DCNMix', 'numExperts', opts?.numExperts ?? 4);
    super('DCNMix', opts, KEYS, 1, (F, layerNum, generator) => {
      const net = new CrossNetMix(F, { layerNum, lowRank, numExperts, generator });
      return { net, regularized: [net.U_list, net.V_list, net.C_list] };
    });
    this.lowRank = lowRank;
    this.numExperts = numExperts;
  }
}
