import { describe, expect, it } from 'vitest';
import { resolveSyntheticSettings, type SyntheticModelName, type SyntheticResult, type SyntheticRun } from '../../../src/experiments/synthetic/experiment.js';
import { summarizeCells, syntheticFindings } from '../../../src/experiments/synthetic/findings.js';
import { wilcoxonSignedRank } from '../../../src/experiments/stats.js';

const settings = resolveSyntheticSettings({ runs: 12, correlations: [0.5, 0.9, 1] });

/** A result whose final loss is loss(model, ρ, run). */
function result(loss: (m: SyntheticModelName, rho: number, run: number) => number): SyntheticResult {
  const runs: SyntheticRun[] = [];
  for (const rho of settings.correlations) {
    for (let r = 0; r < settings.runs; r++) {
      for (const m of settings.models) {
        const v = loss(m, rho, r);
        runs.push({ phase: 'main', model: m, correlation: rho, run: r, lr: 1e-3, steps: [1], curve: [v], finalLoss: v, taskLoss: [v, v], seconds: 0 });
      }
    }
  }
  return { settings, parameters: { mmoe: 0, omoe: 0, 'shared-bottom': 0 }, alpha: [], beta: [], labelCorrelations: [], runs, mmoeModels: [], seconds: 0 };
}

// Run-level noise shared by every model (the data set's difficulty), plus a small per-run jitter.
const noise = (r: number): number => 0.01 * Math.sin(r * 2.3);
const jitter = (m: string, r: number): number => 0.001 * Math.cos(r * 1.7 + m.length);

describe('syntheticFindings', () => {
  it('the paper\'s picture: every claim holds', () => {
    const paper = result((m, rho, r) => {
      const base = { mmoe: 0.1 + 0.02 * (1 - rho), omoe: 0.1 + 0.2 * (1 - rho), 'shared-bottom': 0.2 + 0.3 * (1 - rho) }[m];
      // Shared-Bottom's spread is far wider (trainability).
      const spread = m === 'shared-bottom' ? 0.05 * Math.sin(r * 0.9 + 1) : 0;
      return base + noise(r) + jitter(m, r) + spread;
    });
    const f = syntheticFindings(paper);
    // F1: 3 models × 2 steps of ρ; F2: 4; F3: 6; T: 6.
    expect(f.map((x) => x.id)).toEqual([...Array(6).fill('F1'), ...Array(4).fill('F2'), ...Array(6).fill('F3'), ...Array(6).fill('T')]);
    const notMeet = f.filter((x) => !/meet/.test(x.claim));
    for (const x of notMeet) expect([x.claim, x.holds]).toEqual([x.claim, true]);
    // 12 runs all in one direction (the differences tie up to rounding, hence the normal approximation).
    expect(f[0].pValue).toBeLessThan(0.001);
    expect(f[0].claim).toBe('MMoE: loss at ρ=0.5 > at ρ=0.9');
    const meet = f.find((x) => /meet/.test(x.claim))!;
    expect(meet.claim).toBe('MMoE and OMoE meet at ρ=1 (no significant difference)');
  });

  it('the opposite picture: the claims do not hold, and the p-values say so', () => {
    const reversed = result((m, rho, r) => {
      const base = { mmoe: 0.3 - 0.1 * (1 - rho), omoe: 0.2, 'shared-bottom': 0.1 }[m];
      return base + noise(r) + jitter(m, r);
    });
    const f = syntheticFindings(reversed);
    const f3 = f.filter((x) => x.id === 'F3');
    for (const x of f3) {
      expect(x.holds).toBe(false);
      expect(x.effect).toBeLessThan(0);
      expect(x.pValue).toBeGreaterThan(0.99);
    }
    expect(f.find((x) => x.claim.startsWith('MMoE: loss at ρ=0.5'))!.holds).toBe(false);
    // MMoE and OMoE differ clearly at ρ = 1: "they meet" does not hold.
    expect(f.find((x) => /meet/.test(x.claim))!.holds).toBe(false);
  });

  it('pairs by run: the tests see the per-run differences', () => {
    const r = result((m, rho, run) => (m === 'shared-bottom' ? 0.2 : 0.1) + rho * 0 + noise(run) + (m === 'mmoe' ? 0.001 * run : 0));
    const f = syntheticFindings(r).find((x) => x.claim === 'MMoE beats Shared-Bottom at ρ=0.5')!;
    const sb = Array.from({ length: 12 }, (_, run) => 0.2 + noise(run));
    const mm = Array.from({ length: 12 }, (_, run) => 0.1 + noise(run) + 0.001 * run);
    expect(f.pValue).toBe(wilcoxonSignedRank(sb, mm, 'greater').pValue);
    expect(f.n).toBe(12);
  });

  it('summarizeCells: mean, interval, median, IQR per cell, ρ ascending', () => {
    const cells = summarizeCells(result((m, rho, run) => run));
    expect(cells.map((c) => c.correlation)).toEqual([0.5, 0.5, 0.5, 0.9, 0.9, 0.9, 1, 1, 1]);
    expect(cells[0]).toMatchObject({ model: 'mmoe', runs: 12, mean: 5.5, median: 5.5, q25: 2.75, q75: 8.25, min: 0, max: 11 });
    expect(cells[0].ci[0]).toBeLessThan(5.5);
    expect(cells[0].ci[1]).toBeGreaterThan(5.5);
  });
});
