import { describe, expect, it } from 'vitest';
import { resolveSyntheticSettings, type SyntheticRun } from '../../../src/experiments/synthetic/experiment.js';
import { LENGTH_TOLERANCE, candidateLengths, choosePilot } from '../../../src/experiments/synthetic/pilot.js';
import { readFileSync } from 'node:fs';
import { PILOT_RECORD_FILE, SYNTHETIC_PILOT, parsePilotRecord } from '../../../src/experiments/synthetic/pilot-record.js';
import { PAPER_SYNTHETIC } from '../../../src/experiments/synthetic/sizes.js';

// 4 epochs of 2 steps; the curves are logged at every step.
const s = resolveSyntheticSettings({ epochs: 4, trainSize: 128, batchSize: 64, logEvery: 1, correlations: [0.5, 1], models: ['mmoe', 'omoe'] });

function run(model: 'mmoe' | 'omoe', correlation: number, lr: number, curve: number[], r = 0): SyntheticRun {
  return { phase: 'pilot', model, correlation, run: r, lr, steps: curve.map((_, i) => i + 1), curve, finalLoss: curve[curve.length - 1], taskLoss: [0, 0], seconds: 0 };
}

/**
 * Epoch-end values e1..e4 at steps 2, 4, 6, 8; an odd step carries the value before it (step 1 is
 * 1.5·e1, a fresh model), so the last quarter of 2 steps starts at 1.5·e1, of 4 at e1, of 8 at e3.
 */
function curve(e: [number, number, number, number]): number[] {
  return [1.5 * e[0], e[0], e[0], e[1], e[1], e[2], e[2], e[3]];
}

describe('choosePilot', () => {
  // Candidate lengths from 1 epoch: 1, 2, 4 epochs (steps 2, 4, 8); the last quarter of L steps
  // starts at the logged step ⌊¾L⌋: steps 1, 3 and 6.
  const flatAt2: [number, number, number, number] = [1, 0.5, 0.495, 0.49];
  const slow: [number, number, number, number] = [2, 1.5, 1.2, 1.0];
  const fast: [number, number, number, number] = [0.6, 0.3, 0.4, 0.45];
  const runs = [0.5, 1].flatMap((rho) => [
    run('mmoe', rho, 1e-4, curve(slow)), run('mmoe', rho, 1e-3, curve(flatAt2)), run('mmoe', rho, 1e-2, curve([0.7, 0.6, 0.6, 0.6])),
    run('omoe', rho, 1e-4, curve(slow)), run('omoe', rho, 1e-3, curve(slow)), run('omoe', rho, 1e-2, curve(fast)),
  ]);

  it('lists the doubling lengths and refuses a cap that is not the first length doubled', () => {
    expect(candidateLengths(1, 4)).toEqual([1, 2, 4]);
    expect(candidateLengths(4, 32)).toEqual([4, 8, 16, 32]);
    expect(() => candidateLengths(3, 16)).toThrow('candidateLengths: the cap 16 epochs is not 3 epochs doubled a whole number of times');
  });

  it('picks per model the rate with the lowest final validation loss at the length (mean over runs, averaged over ρ)', () => {
    // At the cap (4 epochs): MMoE 1e-3 ends at 0.49 (1e-2: 0.6); OMoE 1e-2 ends at 0.45 (1e-3: 1.0).
    const c = choosePilot({ ...s }, runs, 4);
    expect(c.lengths).toHaveLength(1);
    expect(c.lr).toEqual({ mmoe: 1e-3, omoe: 1e-2 });
    expect(c.scores.mmoe['0.001']).toBeCloseTo(0.49, 12);
    expect(c.scores.omoe['0.01']).toBeCloseTo(0.45, 12);
    expect(c.scores.omoe['0.0001']).toBeCloseTo(1.0, 12);
    // OMoE at 1e-2 rose over the last quarter (0.4 → 0.45), MMoE improved 0.495/0.49 − 1 = 1.0%: met.
    expect(c).toMatchObject({ epochs: 4, flat: true });
  });

  it('doubles the length until every chosen curve improves by less than 2% over its last quarter', () => {
    expect(LENGTH_TOLERANCE).toBe(0.02);
    const c = choosePilot(s, runs, 1);
    // 1 epoch: 1.5·e1 → e1 is 50%; 2 epochs: MMoE (1e-3) 1 → 0.5 is 100%; 4 epochs: MMoE 0.495 → 0.49
    // is 1.0% and OMoE (1e-2) rose 0.4 → 0.45: met.
    expect(c.lengths.map((l) => [l.epochs, l.met])).toEqual([[1, false], [2, false], [4, true]]);
    expect(c).toMatchObject({ epochs: 4, flat: true, lr: { mmoe: 1e-3, omoe: 1e-2 } });
    // The rate is chosen anew at each length: at 1 epoch OMoE's lowest final loss is 1e-2's 0.6, MMoE's 1e-2's 0.7 (1e-3: 1).
    expect(c.lengths[0].lr).toEqual({ mmoe: 1e-2, omoe: 1e-2 });
    const only = (curveOf: [number, number, number, number], first: number) => choosePilot({ ...s, models: ['mmoe'] }, [0.5, 1].flatMap((rho) => [
      run('mmoe', rho, 1e-4, curve([3, 3, 3, 3])), run('mmoe', rho, 1e-3, curve(curveOf)), run('mmoe', rho, 1e-2, curve([3, 3, 3, 3])),
    ]), first);
    // Flat early: 1 → 0.99 over the last quarter of 2 epochs is 1.0%: met at 2, the longer lengths are not looked at.
    const early = only([1, 0.99, 0.985, 0.98], 1);
    expect(early).toMatchObject({ epochs: 2, flat: true });
    expect(early.lengths.map((l) => l.epochs)).toEqual([1, 2]);
    // Still falling at the cap: 1.2 at step 6 against 1.0 at step 8 is 20%: the cap, not met.
    const falling = only([2, 1.5, 1.2, 1.0], 2);
    expect(falling).toMatchObject({ epochs: 4, flat: false });
    expect(falling.lengths.map((l) => l.epochs)).toEqual([2, 4]);
    expect(falling.lengths[1].improvements[0].lastQuarter).toBeCloseTo(0.2, 12);
    // 0.795 at step 6 against 0.78: 1.9% < 2%, met at the cap.
    expect(only([1, 0.9, 0.795, 0.78], 2)).toMatchObject({ epochs: 4, flat: true });
  });

  it('averages the curves of a cell\'s runs before judging', () => {
    const two = [...runs.filter((r) => r.model === 'mmoe'), run('mmoe', 0.5, 1e-3, curve([1, 0.7, 0.495, 0.49]), 1), run('mmoe', 1, 1e-3, curve(flatAt2), 1)];
    // ρ = 0.5 at lr 1e-3, step 4: mean (0.5 + 0.7) / 2 = 0.6; at ρ = 1 both runs give 0.5.
    const c = choosePilot({ ...s, models: ['mmoe'] }, two, 2);
    expect(c.runsPerCell).toBe(1);
    expect(c.lengths[0].lr.mmoe).toBe(1e-3);
    expect(c.lengths[0].improvements.find((g) => g.correlation === 0.5)!.final).toBeCloseTo(0.6, 12);
    expect(c.lengths[0].improvements.find((g) => g.correlation === 1)!.final).toBeCloseTo(0.5, 12);
  });

  it('needs every (model, ρ, lr) cell and curves logged at the candidate lengths', () => {
    expect(() => choosePilot(s, runs.slice(1), 1)).toThrow(/no pilot runs for mmoe at correlation 0.5, lr 0.0001/);
    const sparse = runs.map((r) => ({ ...r, steps: r.steps.map((x) => x * 3) }));
    expect(() => choosePilot(s, sparse, 1)).toThrow(/do not log step 2/);
  });
});

describe('the recorded pilot (src/experiments/synthetic/pilot-record.json)', () => {
  const p = SYNTHETIC_PILOT.choice;
  it('chose each model\'s rate as the lowest of its recorded scores, from the paper\'s grid', () => {
    expect(p.grid).toEqual([1e-4, 1e-3, 1e-2]);
    for (const [m, rate] of Object.entries(p.lr)) {
      const scores = p.scores[m];
      const best = Object.entries(scores).sort((a, b) => a[1] - b[1])[0][0];
      expect(Number(best)).toBe(rate);
    }
  });
  it('is the converged --paper run\'s pilot: trained to the cap at --paper\'s data size, its length rule not met', () => {
    expect(SYNTHETIC_PILOT.settings.trainSize).toBe(PAPER_SYNTHETIC.trainSize);
    expect(p.pilotEpochs).toBe(PAPER_SYNTHETIC.epochs);
    expect(p.flat).toBe(false);
    expect(p.epochs).toBe(p.pilotEpochs);
  });
  it('is data whose settings agree with its choice (settings.lr is the chosen rate per model)', () => {
    expect(SYNTHETIC_PILOT.settings.lr).toEqual(p.lr);
    expect(SYNTHETIC_PILOT.settings.epochs).toBe(p.pilotEpochs);
  });
  it('names the file and the field when a record disagrees with itself or lacks one', () => {
    const rec = JSON.parse(readFileSync(PILOT_RECORD_FILE, 'utf8'));
    rec.settings.lr.omoe = 0.01;
    expect(() => parsePilotRecord(JSON.stringify(rec), 'p.json')).toThrow("pilot record p.json: settings.lr['omoe'] = 0.01 disagrees with choice.lr['omoe'] = 0.001");
    delete rec.choice;
    expect(() => parsePilotRecord(JSON.stringify(rec), 'p.json')).toThrow("pilot record p.json: missing field 'choice'");
    expect(() => parsePilotRecord('{', 'p.json')).toThrow(/^pilot record p\.json: not valid JSON/);
  });
});
