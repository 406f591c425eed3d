import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { captureCli } from './capture.js';
import { SYNTHETIC_PILOT, isPaperPilot, parsePilotRecord } from '../../src/experiments/synthetic/pilot-record.js';
import { loadRecordedFindings } from '../../src/experiments/synthetic/paper-findings.js';
import { resolveSyntheticSettings } from '../../src/experiments/synthetic/experiment.js';
import { DEMO_SYNTHETIC } from '../../src/experiments/synthetic/sizes.js';
import { comparisonWithPaper } from '../../src/cli/commands/synthetic-report.js';

const dir = mkdtempSync(join(tmpdir(), 'mmoe-ts-paper-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// 2 steps per epoch, a cap of 2 epochs: the stopping rule looks at 1 and 2 epochs.
const tiny = ['--runs', '3', '--epochs', '2', '--first-epochs', '1', '--train-size', '128', '--validation-size', '32', '--test-size', '32',
  '--batch-size', '64', '--log-every', '1', '--correlations', '0.5,1', '--robustness-runs', '2', '--section33-runs', '3', '--workers', '1', '--quiet'];

describe('mmoe-ts synthetic --paper (tiny sizes)', () => {
  it('prints the pilot\'s rule and verdict, the tables with stuck runs and the gap, robustness and §3.3, and writes the figures', async () => {
    const out = join(dir, 'paper');
    const r = await captureCli(['synthetic', '--paper', ...tiny, '--out', out]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/Stopping rule: the length, doubling from 1 epochs up to the cap, at which every model's mean validation curve .* improves by less than 2% over its last quarter/);
    expect(r.stdout).toMatch(/^- 1 epochs = 2 steps: rates .*: (met|not met)\.$/m);
    expect(r.stdout).toMatch(/^The rule was (met|NOT met by the cap)/m);
    expect(r.stdout).toContain('## Final: step ');
    expect(r.stdout).toMatch(/\| model +\| correlation \| runs \| median \| +IQR \| +mean \| stuck \|/);
    expect(r.stdout).toMatch(/^Stuck runs \(final test loss above 0\.5 × the label variance 0\.98\d/m);
    expect(r.stdout).toContain('Train–test gap at the end (loss on the first 32 training rows against the test rows; medians over runs):');
    expect(r.stdout).toMatch(/\| claim +\| main \(sine draw 0\) \(3 runs\) \| sine draw 1 \(2 runs\) \| sine draw 2 \(2 runs\) \| linear generator \(no sine terms\) \(2 runs\) \|/);
    expect(r.stdout).toContain("## §3.3: Shared-Bottom with the paper's bottom of 16 units, 3 runs per ρ");
    expect(r.stdout).toMatch(/^Its rate from a pilot of its own \(2 runs per ρ and rate on the pilot's data sets\), the lowest final validation loss at 4 steps: lr 1e-4 \d\.\d{4}, lr 1e-3 \d\.\d{4}, lr 1e-2 \d\.\d{4}; chosen 1e-\d\.$/m);
    for (const f of ['curves.svg', 'histograms.svg', 'label-correlation.svg', 'section-3.3.svg', 'tables.json', 'metrics.json', 'results.jsonl']) expect(existsSync(join(out, f))).toBe(true);
    // Two Shared-Bottom figures, each named by its bottom's width.
    expect(r.stdout).toMatch(/^Shared-Bottom \(113 units\) by correlation, the view of the paper's §3\.3 figure: .*shared-bottom\.svg$/m);
    expect(r.stdout).toMatch(/^§3\.3, Shared-Bottom \(16 units\) by correlation: .*section-3\.3\.svg$/m);
    const svg = readFileSync(join(out, 'label-correlation.svg'), 'utf8');
    for (const name of ['main: sine draw 0', 'sine draw 1', 'sine draw 2', 'linear generator (no sine terms)']) expect(svg).toContain(name);
    const tables = JSON.parse(readFileSync(join(out, 'tables.json'), 'utf8'));
    expect(tables.checkpoints.map((c: { step: number }) => c.step)).toEqual([4]);
    expect(tables.studies.map((s: { name: string }) => s.name)).toEqual(['sine-1', 'sine-2', 'linear', 'section-3.3']);
    expect(tables.labelCorrelation[0].points).toHaveLength(41);
    // The final main table's verdicts, as the record the demo prints beside its own.
    expect(r.stdout).toContain(`findings record: ${join(out, 'findings-record.json')} (copy it over src/experiments/synthetic/paper-findings.json`);
    const rec = loadRecordedFindings(join(out, 'findings-record.json'))!;
    expect({ runs: rec.runs, steps: rec.steps, correlations: rec.correlations, sineSeed: rec.sineSeed, sineTerms: rec.sineTerms }).toEqual({ runs: 3, steps: 4, correlations: [0.5, 1], sineSeed: 0, sineTerms: 10 });
    const final = JSON.parse(readFileSync(join(out, 'metrics.json'), 'utf8')).findings as Array<{ claim: string; holds: boolean }>;
    expect(final.length).toBeGreaterThan(0);
    expect(rec.findings.map((f) => [f.claim, f.holds])).toEqual(final.map((f) => [f.claim, f.holds]));

    // Run again on the same results file (pilot 36, main 18, robustness 36, §3.3 12 + 6 jobs): nothing is trained, the same report.
    const again = await captureCli(['synthetic', '--paper', ...tiny, '--out', out]);
    expect(again.status).toBe(0);
    expect(again.stdout).toContain('(108 finished jobs found and kept, 0 trained by this call)');
    const strip = (s: string): string => s.replace(/^Results file: .*$/m, '').replace(/^took .*$/m, '');
    expect(strip(again.stdout)).toEqual(strip(r.stdout));
  });

  it('--pilot writes a pilot record the demo can read, with every length the rule looked at', async () => {
    const out = join(dir, 'pilot');
    const r = await captureCli(['synthetic', '--pilot', ...tiny, '--out', out]);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain(`pilot record: ${join(out, 'pilot.json')}`);
    const rec = parsePilotRecord(readFileSync(join(out, 'pilot.json'), 'utf8'), 'pilot.json');
    const choice = rec.choice as typeof rec.choice & { lengths: Array<{ epochs: number }> };
    expect(choice.lengths[0].epochs).toBe(1);
    expect(rec.settings.lr).toEqual(rec.choice.lr);
    expect(rec.settings.trainSize).toBe(128);
  });

  it('refuses a first length that never doubles to the cap, and the --paper flags without --paper, before training', async () => {
    const bad = await captureCli(['synthetic', '--paper', '--epochs', '6', '--first-epochs', '4', '--quiet', '--out', join(dir, 'x')]);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/^mmoe-ts: synthetic: --first-epochs 4 doubled never reaches --epochs 6/);
    for (const flag of ['--first-epochs', '--robustness-runs', '--section33-runs']) {
      const r = await captureCli(['synthetic', flag, '1', '--quiet']);
      expect(r.status).toBe(2);
      expect(r.stderr).toContain(`synthetic: ${flag} goes with --paper or --pilot`);
    }
  });
});

describe('mmoe-ts synthetic (the demo) against --paper', () => {
  it('says what it shares with --paper and where it differs', async () => {
    const r = await captureCli(['synthetic', '--runs', '2', '--epochs', '1', '--train-size', '128', '--validation-size', '16', '--test-size', '32',
      '--batch-size', '64', '--models', 'mmoe,omoe', '--workers', '1', '--quiet', '--out', join(dir, 'demo')]);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^Shared with `mmoe-ts synthetic --paper`: the generator \(m = 10, c = 1, σ = 0\.1, d = 100\), the three models at the paper's sizes, /m);
    expect(r.stdout).toContain("Adam at the rates --paper's pilot chose (src/experiments/synthetic/pilot-record.json: MMoE 1e-3, OMoE 1e-3, chosen on final validation loss at 65536 steps), the paired design");
    expect(r.stdout).toContain('Where this demo differs: 2 runs per cell (--paper: 200); ρ ∈ {0.5, 1} (--paper: 0.5, 0.9, 1); 128 training rows (--paper: 262144); batch 64 (--paper: 128); ' +
      '2 steps (--paper: the pilot\'s length, doubled from 8192 up to 65536 until every mean validation curve improves < 2% over its last quarter); ' +
      'one table at the end (--paper: also at 3,072 and 12,288 steps, with stuck runs and the train–test gap), no robustness tables, no §3.3 run.');
    const lr = await captureCli(['synthetic', '--runs', '2', '--epochs', '1', '--train-size', '128', '--validation-size', '16', '--test-size', '32',
      '--batch-size', '64', '--models', 'mmoe', '--correlations', '0.5,0.9,1', '--sine-seed', '2', '--lr', '0.01', '--workers', '1', '--quiet', '--out', join(dir, 'demo2')]);
    expect(lr.stdout).not.toMatch(/^Where this demo differs: .*ρ ∈/m);
    expect(lr.stdout).toContain("Adam rates given by --lr (--paper: its pilot's); sine draw 2 (--paper's main table: 0);");
  });
});

describe('comparisonWithPaper names the rates truthfully', () => {
  const demo = resolveSyntheticSettings({ ...DEMO_SYNTHETIC, lr: SYNTHETIC_PILOT.choice.lr });
  const rates = '(src/experiments/synthetic/pilot-record.json: MMoE 1e-3, OMoE 1e-3, Shared-Bottom 1e-3, chosen on final validation loss at 65536 steps)';
  it('--paper\'s own pilot: its rates are shared, not a difference', () => {
    expect(isPaperPilot(SYNTHETIC_PILOT)).toBe(true);
    const [shared, differs] = comparisonWithPaper(demo, 'demo', SYNTHETIC_PILOT);
    expect(shared).toContain(`the three models at the paper's sizes, Adam at the rates --paper's pilot chose ${rates}, the paired design`);
    expect(differs).not.toContain('Adam');
  });
  it('a recorded pilot of other settings or another grid: a difference', () => {
    for (const other of [
      { ...SYNTHETIC_PILOT, settings: { ...SYNTHETIC_PILOT.settings, sineSeed: 3 } },
      { ...SYNTHETIC_PILOT, settings: { ...SYNTHETIC_PILOT.settings, trainSize: 65536 } },
      { ...SYNTHETIC_PILOT, choice: { ...SYNTHETIC_PILOT.choice, grid: [1e-3, 1e-2] } },
    ]) {
      expect(isPaperPilot(other)).toBe(false);
      const [shared, differs] = comparisonWithPaper(demo, 'demo', other);
      expect(shared).toContain("the three models at the paper's sizes, Adam, the paired design");
      expect(differs).toContain('Adam rates from a recorded pilot of other settings (src/experiments/synthetic/pilot-record.json: MMoE 1e-3');
    }
  });
  it('rates given by --lr, on the grid or not: a difference, and the shared line claims no rates', () => {
    for (const lr of [0.01, 0.05]) {
      const [shared, differs] = comparisonWithPaper(resolveSyntheticSettings({ ...DEMO_SYNTHETIC, lr }), 'full', SYNTHETIC_PILOT);
      expect(shared).toContain("the three models at the paper's sizes, Adam, the paired design");
      expect(differs).toMatch(/^Where this --full run differs: .*Adam rates given by --lr \(--paper: its pilot's\)/);
    }
  });
});
