import { appendFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { syntheticPaper, type PaperOutcome } from '../../../src/experiments/synthetic/paper.js';
import { summarizeCells, syntheticFindings } from '../../../src/experiments/synthetic/findings.js';

// 2 steps per epoch, curves at every step: the pilot reads them at the candidate lengths 1 and 2
// epochs. One run per robustness cell: 3 generators × 2 models × 2 ρ.
const tiny = { runs: 2, epochs: 2, trainSize: 128, validationSize: 32, testSize: 32, batchSize: 64, logEvery: 1, correlations: [0.5, 1], models: ['mmoe', 'omoe'] as const, seed: 5 };
const small = { firstEpochs: 1, robustnessRuns: 1 };
const dir = mkdtempSync(join(tmpdir(), 'mmoe-paper-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Everything a reader sees, without wall times. */
function table(o: PaperOutcome) {
  const r = o.result!;
  return {
    pilot: o.pilot, settings: r.settings, cells: summarizeCells(r), findings: syntheticFindings(r),
    runs: r.runs.map(({ seconds: _s, ...rest }) => rest), labelCorrelations: r.labelCorrelations,
    studies: o.studies.map((st) => ({ name: st.name, settings: st.result.settings, runs: st.result.runs.map(({ seconds: _s, ...rest }) => rest) })),
    kept: r.mmoeModels.map((m) => Object.fromEntries(Object.entries(m.model.stateDict()).map(([k, t]) => [k, Array.from(t.data)]))),
  };
}

class Stop extends Error {}

async function interrupted(file: string, after: number, workers = 1): Promise<void> {
  let n = 0;
  await expect(syntheticPaper(tiny, {
    ...small, results: file, parallel: { workers }, onRun: () => { if (++n === after) throw new Stop(`stopped after ${after}`); },
  })).rejects.toThrow(`stopped after ${after}`);
}

describe('syntheticPaper: pilot, main runs, results file', () => {
  let whole: PaperOutcome;

  it('runs the pilot over the lr grid, then the main runs at the chosen rates', async () => {
    whole = await syntheticPaper(tiny, { ...small, results: join(dir, 'whole.jsonl'), parallel: { workers: 1 } });
    // Pilot: 2 models × 2 ρ × 3 rates × 2 runs; main: 2 models × 2 ρ × 2 runs; robustness 3 × 4.
    expect(whole.trained).toBe(24 + 8 + 12);
    expect(whole.resumed).toBe(0);
    expect(whole.pilot.grid).toEqual([1e-4, 1e-3, 1e-2]);
    const r = whole.result!;
    for (const m of tiny.models) expect(r.settings.lr[m]).toBe(whole.pilot.lr[m]);
    expect(r.settings.epochs).toBe(whole.pilot.epochs);
    expect(r.runs.every((x) => x.phase === 'main')).toBe(true);
    expect(r.runs.every((x) => Number.isFinite(x.trainLoss))).toBe(true);
    expect(whole.pilot.lengths[0].epochs).toBe(1);
    expect(whole.pilot.epochs).toBe(whole.pilot.lengths[whole.pilot.lengths.length - 1].epochs);
    const lines = readFileSync(join(dir, 'whole.jsonl'), 'utf8').trim().split('\n');
    expect(lines).toHaveLength(1 + 44);
    expect(lines.filter((l) => l.startsWith('{"key":"linear/main/')).length).toBe(4);
  });

  it('interrupted during the pilot and resumed, the final table is identical bit for bit', async () => {
    const file = join(dir, 'a.jsonl');
    await interrupted(file, 7);
    expect(readFileSync(file, 'utf8').trim().split('\n')).toHaveLength(1 + 7);
    const resumed = await syntheticPaper(tiny, { ...small, results: file, parallel: { workers: 1 } });
    expect(resumed.resumed).toBe(7);
    expect(resumed.trained).toBe(44 - 7);
    expect(table(resumed)).toEqual(table(whole));
  });

  it('interrupted during the main runs (twice, once on worker threads) and resumed, identical again', async () => {
    const file = join(dir, 'b.jsonl');
    await interrupted(file, 27);
    await interrupted(file, 2, 2);
    const resumed = await syntheticPaper(tiny, { ...small, results: file, parallel: { workers: 1 } });
    expect(resumed.resumed).toBeGreaterThanOrEqual(29);
    expect(table(resumed)).toEqual(table(whole));
    // Run again when complete: nothing is trained.
    const again = await syntheticPaper(tiny, { ...small, results: file, parallel: { workers: 1 } });
    expect(again.trained).toBe(0);
    expect(table(again)).toEqual(table(whole));
  });

  it('a torn last line (a write cut short) is dropped and that job trained again', async () => {
    const file = join(dir, 'c.jsonl');
    await interrupted(file, 3);
    appendFileSync(file, '{"key":"pilot/mmoe/rho=0.5/ru');
    const resumed = await syntheticPaper(tiny, { ...small, results: file, parallel: { workers: 1 } });
    expect(resumed.resumed).toBe(3);
    expect(table(resumed)).toEqual(table(whole));
  });

  it('a results file of other settings is refused, naming the file', async () => {
    await expect(syntheticPaper({ ...tiny, seed: 6 }, { ...small, results: join(dir, 'whole.jsonl'), parallel: { workers: 1 } }))
      .rejects.toThrow(/SyntheticResultsFile: .*whole\.jsonl holds results of other settings/);
  });

  it('the run count is not part of the protocol: a pilot-only file serves the full run', async () => {
    const file = join(dir, 'd.jsonl');
    const p = await syntheticPaper({ ...tiny, runs: 1 }, { ...small, results: file, parallel: { workers: 1 }, pilotOnly: true });
    expect(p.result).toBeUndefined();
    expect(p.trained).toBe(24);
    expect(p.studies).toEqual([]);
    expect(p.pilot).toEqual(whole.pilot);
    const full = await syntheticPaper(tiny, { ...small, results: file, parallel: { workers: 1 } });
    expect(full.trained).toBe(8 + 12);
    expect(table(full)).toEqual(table(whole));
  });

  it('checks its options and the stopping rule\'s lengths before training', async () => {
    await expect(syntheticPaper(tiny, { results: join(dir, 'e.jsonl'), robustnessRuns: -1 })).rejects.toThrow(/^syntheticPaper: robustnessRuns/);
    await expect(syntheticPaper(tiny, { results: join(dir, 'e.jsonl'), section33Runs: 1.5 })).rejects.toThrow(/^syntheticPaper: section33Runs/);
    await expect(syntheticPaper(tiny, { results: join(dir, 'e.jsonl'), firstEpoch: 1 } as never)).rejects.toThrow(/^syntheticPaper: unknown option 'firstEpoch'/);
    await expect(syntheticPaper({ ...tiny, epochs: 3 }, { results: join(dir, 'e.jsonl'), firstEpochs: 2 }))
      .rejects.toThrow('candidateLengths: the cap 3 epochs is not 2 epochs doubled a whole number of times');
  });
});

describe('syntheticPaper: robustness tables and the §3.3 experiment', () => {
  it('trains the other generators and Shared-Bottom with 16 units at the pilot\'s rates and length, on the main runs\' data sets', async () => {
    const three = { ...tiny, runs: 1, models: ['mmoe', 'omoe', 'shared-bottom'] as const, correlations: [0.5, 1] };
    const o = await syntheticPaper(three, { results: join(dir, 'sb.jsonl'), parallel: { workers: 1 }, firstEpochs: 1, pilotRuns: 1 });
    expect(o.studies.map((st) => st.name)).toEqual(['sine-1', 'sine-2', 'linear', 'section-3.3']);
    const main = o.result!;
    for (const st of o.studies) {
      if (st.name !== 'section-3.3') expect(st.result.settings.lr).toEqual(main.settings.lr);
      expect(st.result.settings.epochs).toBe(main.settings.epochs);
    }
    const [s1, , linear, s33] = o.studies.map((st) => st.result);
    expect(s1.settings).toMatchObject({ sineSeed: 1, sineTerms: 10 });
    expect(linear.settings).toMatchObject({ sineTerms: 0 });
    expect(linear.alpha).toEqual([]);
    // No sine terms: at ρ = 1 the two labels differ only by their noise.
    expect(linear.labelCorrelations.find((l) => l.correlation === 1)!.values[0]).toBeGreaterThan(0.98);
    expect(s33.settings).toMatchObject({ models: ['shared-bottom'], bottomUnits: 16, bottomRule: 'given' });
    // §3.3's own pilot: the rate with the lowest final validation loss at the main length.
    const scores = o.studies[3].pilotScores!;
    expect(Object.keys(scores)).toEqual(['0.0001', '0.001', '0.01']);
    const best = Object.entries(scores).sort((a, b) => a[1] - b[1])[0][0];
    expect(s33.settings.lr['shared-bottom']).toBe(Number(best));
    expect(readFileSync(join(dir, 'sb.jsonl'), 'utf8').split('\n').filter((l) => l.startsWith('{"key":"section-3.3/pilot/')).length).toBe(6);
    expect(s33.runs).toHaveLength(2);
    // Paired with the main table: the same data set per run (same label correlation), another model.
    expect(s33.labelCorrelations).toEqual(main.labelCorrelations);
    const sbMain = main.runs.find((r) => r.model === 'shared-bottom' && r.correlation === 0.5)!;
    expect(s33.runs.find((r) => r.correlation === 0.5)!.finalLoss).not.toBe(sbMain.finalLoss);
    expect(o.labelVariances.linear).toBeCloseTo(1.01, 6);
  });
});
