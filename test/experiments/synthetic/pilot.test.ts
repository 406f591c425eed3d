import { describe, expect, it } from 'vitest';
import { resolveSyntheticSettings, type SyntheticRun } from '../../../src/experiments/synthetic/experiment.js';
import { FLAT_TOLERANCE, choosePilot } from '../../../src/experiments/synthetic/pilot.js';
import { readFileSync } from 'node:fs';
import { PILOT_RECORD_FILE, SYNTHETIC_PILOT, parsePilotRecord } from '../../../src/experiments/synthetic/pilot-record.js';

// 4 epochs of 2 steps; the curves are logged at every step.
const s = resolveSyntheticSettings({ epochs: 4, trainSize: 128, batchSize: 64, logEvery: 1, correlations: [0.5, 1], models: ['mmoe', 'omoe'] });

function run(model: 'mmoe' | 'omoe', correlation: number, lr: number, curve: number[], r = 0): SyntheticRun {
  return { phase: 'pilot', model, correlation, run: r, lr, steps: curve.map((_, i) => i + 1), curve, finalLoss: curve[curve.length - 1], taskLoss: [0, 0], seconds: 0 };
}

/** Epoch-end values e1..e4 at steps 2, 4, 6, 8 (odd steps carry noise the rule must ignore). */
function curve(e: [number, number, number, number]): number[] {
  return [9, e[0], 9, e[1], 9, e[2], 9, e[3]];
}

describe('choosePilot', () => {
  const flatAt2: [number, number, number, number] = [1, 0.5, 0.495, 0.49];
  const slow: [number, number, number, number] = [2, 1.5, 1.2, 1.0];
  const fast: [number, number, number, number] = [0.6, 0.3, 0.4, 0.45];
  const runs = [0.5, 1].flatMap((rho) => [
    run('mmoe', rho, 1e-4, curve(slow)), run('mmoe', rho, 1e-3, curve(flatAt2)), run('mmoe', rho, 1e-2, curve([0.7, 0.6, 0.6, 0.6])),
    run('omoe', rho, 1e-4, curve(slow)), run('omoe', rho, 1e-3, curve(slow)), run('omoe', rho, 1e-2, curve(fast)),
  ]);

  it('picks per model the rate with the lowest best-epoch validation loss (mean over runs, averaged over ρ)', () => {
    const c = choosePilot(s, runs);
    expect(c.lr).toEqual({ mmoe: 1e-3, omoe: 1e-2 });
    expect(c.scores.mmoe['0.001']).toBeCloseTo(0.49, 12);
    expect(c.scores.omoe['0.01']).toBeCloseTo(0.3, 12);
    expect(c.scores.omoe['0.0001']).toBeCloseTo(1.0, 12);
  });

  it('the length is the first epoch after which no chosen curve improves by more than the tolerance', () => {
    expect(FLAT_TOLERANCE).toBe(0.05);
    // MMoE (1e-3): epoch 2 is 0.5, later best 0.49: 2.0% ≤ 5%. OMoE (1e-2): its minimum is at epoch 2.
    expect(choosePilot(s, runs)).toMatchObject({ epochs: 2, flat: true });
    const only = (curveOf: [number, number, number, number]) => choosePilot({ ...s, models: ['mmoe'] }, [0.5, 1].flatMap((rho) => [
      run('mmoe', rho, 1e-4, curve([3, 3, 3, 3])), run('mmoe', rho, 1e-3, curve(curveOf)), run('mmoe', rho, 1e-2, curve([3, 3, 3, 3])),
    ]));
    // Still falling: epoch 3 (1.2) is 20% above epoch 4 — and epoch 4 leaves no quarter of the pilot to show it flat.
    const falling = only([2, 1.5, 1.2, 1.0]);
    expect(falling).toMatchObject({ epochs: 4, flat: false });
    expect(falling.gaps[0].lastQuarter).toBeCloseTo(0.2, 12);
    // Flat from epoch 3 (0.8 against 0.78 later: 2.6%), with the pilot's last quarter after it.
    const late = only([1, 0.9, 0.8, 0.78]);
    expect(late).toMatchObject({ epochs: 3, flat: true });
    expect(late.gaps[0].atChosen).toBeCloseTo(0.8 / 0.78 - 1, 12);
  });

  it('averages the curves of a cell\'s runs before judging', () => {
    const two = [...runs.filter((r) => r.model === 'mmoe'), run('mmoe', 0.5, 1e-3, curve([1, 0.7, 0.495, 0.49]), 1), run('mmoe', 1, 1e-3, curve(flatAt2), 1)];
    // ρ = 0.5 at lr 1e-3: mean epoch-2 value (0.5 + 0.7) / 2 = 0.6, 22% above the later 0.49: flat
    // only from epoch 3. The 1e-4 and 1e-2 cells have one run each, the fewest.
    expect(choosePilot({ ...s, models: ['mmoe'] }, two)).toMatchObject({ epochs: 3, runsPerCell: 1 });
  });

  it('needs every (model, ρ, lr) cell and curves logged at epoch ends', () => {
    expect(() => choosePilot(s, runs.slice(1))).toThrow(/no pilot runs for mmoe at correlation 0.5, lr 0.0001/);
    const sparse = runs.map((r) => ({ ...r, steps: r.steps.map((x) => x * 3) }));
    expect(() => choosePilot(s, sparse)).toThrow(/do not log step 2 \(epoch 1\)/);
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
  it('chose the length by the rule from its recorded gaps', () => {
    if (p.flat) expect(p.gaps.every((g) => g.atChosen <= FLAT_TOLERANCE)).toBe(true);
    else {
      expect(p.epochs).toBe(p.pilotEpochs);
      expect(p.gaps.some((g) => g.lastQuarter > FLAT_TOLERANCE)).toBe(true);
    }
    expect(p.epochs).toBeLessThanOrEqual(p.pilotEpochs);
  });
  it('is data whose settings agree with its choice (settings.lr is the chosen rate per model)', () => {
    expect(SYNTHETIC_PILOT.settings.lr).toEqual(p.lr);
    expect(SYNTHETIC_PILOT.settings.epochs).toBe(p.pilotEpochs);
  });
  it('names the file and the field when a record disagrees with itself or lacks one', () => {
    const rec = JSON.parse(readFileSync(PILOT_RECORD_FILE, 'utf8'));
    rec.settings.lr.omoe = 0.001;
    expect(() => parsePilotRecord(JSON.stringify(rec), 'p.json')).toThrow("pilot record p.json: settings.lr['omoe'] = 0.001 disagrees with choice.lr['omoe'] = 0.01");
    delete rec.choice;
    expect(() => parsePilotRecord(JSON.stringify(rec), 'p.json')).toThrow("pilot record p.json: missing field 'choice'");
    expect(() => parsePilotRecord('{', 'p.json')).toThrow(/^pilot record p\.json: not valid JSON/);
  });
});
