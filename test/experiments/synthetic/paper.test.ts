import { appendFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { syntheticPaper, type PaperOutcome } from '../../../src/experiments/synthetic/paper.js';
import { summarizeCells, syntheticFindings } from '../../../src/experiments/synthetic/findings.js';

// 2 steps per epoch, curves at every step: the pilot reads them at epoch ends.
const tiny = { runs: 2, epochs: 2, trainSize: 128, validationSize: 32, testSize: 32, batchSize: 64, logEvery: 1, correlations: [0.5, 1], models: ['mmoe', 'omoe'] as const, seed: 5 };
const dir = mkdtempSync(join(tmpdir(), 'mmoe-paper-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Everything a reader sees, without wall times. */
function table(o: PaperOutcome) {
  const r = o.result!;
  return {
    pilot: o.pilot, settings: r.settings, cells: summarizeCells(r), findings: syntheticFindings(r),
    runs: r.runs.map(({ seconds: _s, ...rest }) => rest), labelCorrelations: r.labelCorrelations,
    kept: r.mmoeModels.map((m) => Object.fromEntries(Object.entries(m.model.stateDict()).map(([k, t]) => [k, Array.from(t.data)]))),
  };
}

class Stop extends Error {}

async function interrupted(file: string, after: number, workers = 1): Promise<void> {
  let n = 0;
  await expect(syntheticPaper(tiny, {
    results: file, parallel: { workers }, onRun: () => { if (++n === after) throw new Stop(`stopped after ${after}`); },
  })).rejects.toThrow(`stopped after ${after}`);
}

describe('syntheticPaper: pilot, main runs, results file', () => {
  let whole: PaperOutcome;

  it('runs the pilot over the lr grid, then the main runs at the chosen rates', async () => {
    whole = await syntheticPaper(tiny, { results: join(dir, 'whole.jsonl'), parallel: { workers: 1 } });
    // Pilot: 2 models × 2 ρ × 3 rates × 2 runs; main: 2 models × 2 ρ × 2 runs.
    expect(whole.trained).toBe(24 + 8);
    expect(whole.resumed).toBe(0);
    expect(whole.pilot.grid).toEqual([1e-4, 1e-3, 1e-2]);
    const r = whole.result!;
    for (const m of tiny.models) expect(r.settings.lr[m]).toBe(whole.pilot.lr[m]);
    expect(r.settings.epochs).toBe(whole.pilot.epochs);
    expect(r.runs.every((x) => x.phase === 'main')).toBe(true);
    const lines = readFileSync(join(dir, 'whole.jsonl'), 'utf8').trim().split('\n');
    expect(lines).toHaveLength(1 + 32);
  });

  it('interrupted during the pilot and resumed, the final table is identical bit for bit', async () => {
    const file = join(dir, 'a.jsonl');
    await interrupted(file, 7);
    expect(readFileSync(file, 'utf8').trim().split('\n')).toHaveLength(1 + 7);
    const resumed = await syntheticPaper(tiny, { results: file, parallel: { workers: 1 } });
    expect(resumed.resumed).toBe(7);
    expect(resumed.trained).toBe(32 - 7);
    expect(table(resumed)).toEqual(table(whole));
  });

  it('interrupted during the main runs (twice, once on worker threads) and resumed, identical again', async () => {
    const file = join(dir, 'b.jsonl');
    await interrupted(file, 27);
    await interrupted(file, 2, 2);
    const resumed = await syntheticPaper(tiny, { results: file, parallel: { workers: 1 } });
    expect(resumed.resumed).toBeGreaterThanOrEqual(29);
    expect(table(resumed)).toEqual(table(whole));
    // Run again when complete: nothing is trained.
    const again = await syntheticPaper(tiny, { results: file, parallel: { workers: 1 } });
    expect(again.trained).toBe(0);
    expect(table(again)).toEqual(table(whole));
  });

  it('a torn last line (a write cut short) is dropped and that job trained again', async () => {
    const file = join(dir, 'c.jsonl');
    await interrupted(file, 3);
    appendFileSync(file, '{"key":"pilot/mmoe/rho=0.5/ru');
    const resumed = await syntheticPaper(tiny, { results: file, parallel: { workers: 1 } });
    expect(resumed.resumed).toBe(3);
    expect(table(resumed)).toEqual(table(whole));
  });

  it('a results file of other settings is refused, naming the file', async () => {
    await expect(syntheticPaper({ ...tiny, seed: 6 }, { results: join(dir, 'whole.jsonl'), parallel: { workers: 1 } }))
      .rejects.toThrow(/SyntheticResultsFile: .*whole\.jsonl holds results of other settings/);
  });

  it('the run count is not part of the protocol: a pilot-only file serves the full run', async () => {
    const file = join(dir, 'd.jsonl');
    const p = await syntheticPaper({ ...tiny, runs: 1 }, { results: file, parallel: { workers: 1 }, pilotOnly: true });
    expect(p.result).toBeUndefined();
    expect(p.trained).toBe(24);
    expect(p.pilot).toEqual(whole.pilot);
    const full = await syntheticPaper(tiny, { results: file, parallel: { workers: 1 } });
    expect(full.trained).toBe(8);
    expect(table(full)).toEqual(table(whole));
  });
});
