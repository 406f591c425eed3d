import { MixtureOfExpertsBase, type MixtureOfExpertsOptions } from './mmoe.js';

export type OMoEOptions = MixtureOfExpertsOptions;

/**
 * One-gate Mixture-of-Experts, the MMoE paper's OMoE baseline: the same experts and towers as
 * MMoE, but a single softmax gate shared by every task (`gate_dnn_final_layer.0`), so all tasks
 * see the same mixture. `gateWeights(x)` repeats that gate per task: [B, T, E].
 */
export class OMoE extends MixtureOfExpertsBase {
  static override readonly typeName: string = 'OMoE';
  constructor(opts: OMoEOptions) {
    super('OMoE', opts, 'one');
  }
}
