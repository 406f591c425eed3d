import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { captureCli } from './capture.js';

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
    for (const f of ['curves.svg', 'histograms.svg', 'label-correlation.svg', 'section-3.3.svg', 'tables.json', 'metrics.json', 'results.jsonl']) expect(existsSync(join(out, f))).toBe(true);
    const svg = readFileSync(join(out, 'label-correlation.svg'), 'utf8');
    for (const name of ['main: sine draw 0', 'sine draw 1', 'sine draw 2', 'linear generator (no sine terms)']) expect(svg).toContain(name);
    const tables = JSON.parse(readFileSync(join(out, 'tables.json'), 'utf8'));
    expect(tables.checkpoints.map((c: { step: number }) => c.step)).toEqual([4]);
    expect(tables.studies.map((s: { name: string }) => s.name)).toEqual(['sine-1', 'sine-2', 'linear', 'section-3.3']);
    expect(tables.labelCorrelation[0].points).toHaveLength(41);

    // Run again on the same results file (pilot 36, main 18, robustness 36, §3.3 6 jobs): nothing is trained, the same report.
    const again = await captureCli(['synthetic', '--paper', ...tiny, '--out', out]);
    expect(again.status).toBe(0);
    expect(again.stdout).toContain('(96 finished jobs found and kept, 0 trained by this call)');
    const strip = (s: string): string => s.replace(/^Results file: .*$/m, '').replace(/^took .*$/m, '');
    expect(strip(again.stdout)).toEqual(strip(r.stdout));
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
