import { MMOE, mmoeData, ourMmoe } from './mmoe.js';
import { measure, type Timing } from './timing.js';

export interface MmoeResult extends Timing {
  samplesPerSec: number;
}

export function runMmoe(log: (s: string) => void): MmoeResult {
  const m = ourMmoe(mmoeData());
  const t = measure('mmoe step', () => void m.step(), { minSamples: 10, maxTime: 4 });
  const samplesPerSec = MMOE.batch / (t.medianMs / 1000);
  log(`mmoe step: ${t.medianMs.toFixed(2)} ms, ${samplesPerSec.toFixed(0)} samples/s`);
  return { ...t, samplesPerSec };
}
