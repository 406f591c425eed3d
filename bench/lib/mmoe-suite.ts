import { MMOE, mmoeData, ourMmoe } from './mmoe.js';
import { PAPER, ourPaperMmoe, paperData } from './paper-mmoe.js';
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

/** The paper-size step (MMoE d = 100, 8 × 16 experts, towers 8, MSE, Adam; fit's inner loop). */
export function runPaperMmoe(log: (s: string) => void): MmoeResult {
  const m = ourPaperMmoe(paperData());
  const t = measure('paper mmoe step', () => void m.step(), { minSamples: 20, maxTime: 4 });
  const samplesPerSec = PAPER.batch / (t.medianMs / 1000);
  log(`paper mmoe step: ${t.medianMs.toFixed(3)} ms, ${samplesPerSec.toFixed(0)} samples/s`);
  return { ...t, samplesPerSec };
}
