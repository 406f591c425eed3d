import type { Timing } from './timing.js';

export interface MmoeResult extends Timing {
  samplesPerSec: number;
}

// Placeholder until nn.Linear, optim.Adam and bceWithLogits land.
export function runMmoe(_log: (s: string) => void): MmoeResult | null {
  return null;
}
