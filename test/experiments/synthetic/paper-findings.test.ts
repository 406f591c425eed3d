import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { syntheticExperiment } from '../../../src/experiments/synthetic/experiment.js';
import { syntheticFindings } from '../../../src/experiments/synthetic/findings.js';
import { loadRecordedFindings, parseRecordedFindings, sameDirection } from '../../../src/experiments/synthetic/paper-findings.js';
import { printFindings } from '../../../src/cli/commands/synthetic-report.js';

const dir = mkdtempSync(join(tmpdir(), 'mmoe-ts-findings-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const tiny = { runs: 3, epochs: 1, trainSize: 128, validationSize: 32, testSize: 64, batchSize: 64, logEvery: 1, correlations: [0.5, 1], seed: 3 };

describe('the recorded converged findings (paper-findings.json)', () => {
  const result = syntheticExperiment(tiny);
  const findings = syntheticFindings(result);
  const record = { command: 'mmoe-ts synthetic --paper', runs: 3, steps: 2, correlations: [0.5, 1], sineSeed: 0, sineTerms: 10, findings };

  it('round-trips through JSON, NaN effects included, and is absent until written', () => {
    const file = join(dir, 'paper-findings.json');
    expect(loadRecordedFindings(file)).toBeNull();
    writeFileSync(file, JSON.stringify(record));
    const back = loadRecordedFindings(file)!;
    expect(back.findings.map((f) => f.claim)).toEqual(findings.map((f) => f.claim));
    const f2 = back.findings.find((f) => f.claim.startsWith('MMoE degrades less'))!;
    expect(Number.isNaN(f2.relative)).toBe(true);
  });

  it('names the file and the field when a record is wrong', () => {
    expect(() => parseRecordedFindings('{', 'r.json')).toThrow(/^findings record r\.json: not valid JSON/);
    expect(() => parseRecordedFindings(JSON.stringify({ ...record, steps: 0 }), 'r.json')).toThrow("findings record r.json: 'steps' must be a positive integer, got 0");
    expect(() => parseRecordedFindings(JSON.stringify({ ...record, sineSeed: undefined }), 'r.json')).toThrow("findings record r.json: 'sineSeed' must be a non-negative integer, got undefined");
    expect(() => parseRecordedFindings(JSON.stringify({ ...record, findings: [{ id: 'F9' }] }), 'r.json')).toThrow('findings record r.json: findings[0] lacks id, claim, effectName, effect, pValue or holds');
  });

  it('sameDirection reads Δ by its sign and an IQR ratio by its side of 1', () => {
    const d = findings.find((f) => f.effectName === 'median Δ')!;
    const t = findings.find((f) => f.effectName === 'IQR ratio')!;
    expect(sameDirection(d, { ...d, effect: d.effect * 2 })).toBe(true);
    expect(sameDirection(d, { ...d, effect: -d.effect })).toBe(false);
    expect(sameDirection({ ...t, effect: 1.5 }, { ...t, effect: 3 })).toBe(true);
    expect(sameDirection({ ...t, effect: 1.5 }, { ...t, effect: 0.5 })).toBe(false);
  });

  it('prints the converged verdict beside each claim both test, and counts the directions that agree', () => {
    // The reference flips one F3 effect and drops the F1 claim: one opposite, one not compared.
    const flipped = findings.findIndex((f) => f.id === 'F3');
    const reference = {
      ...record, runs: 200, steps: 65536,
      findings: findings.filter((f) => f.id !== 'F1').map((f, i, all) => (all[i] === findings[flipped] ? { ...f, effect: -f.effect, holds: !f.holds } : f)),
    };
    let out = '';
    printFindings({ out: { write: (s: string) => { out += s; } }, err: { write: () => true } } as never, result, 'Findings', reference);
    expect(out).toMatch(/\| +converged --paper \(final\) \| direction \|/);
    const rows = out.split('\n').filter((l) => l.startsWith('| F') || l.startsWith('| T'));
    expect(rows).toHaveLength(findings.length);
    const f1 = rows.filter((l) => l.startsWith('| F1'));
    expect(f1.every((l) => /\| *– *\| *– *\|$/.test(l))).toBe(true);
    expect(rows.filter((l) => / opposite \|$/.test(l))).toHaveLength(1);
    const compared = findings.length - f1.length;
    expect(out).toContain(`'s main table (sine draw 0), 200 runs per cell, 65536 steps, ρ ∈ {0.5, 1} (src/experiments/synthetic/paper-findings.json). Direction (the sign of Δ; an IQR ratio's side of 1) as the converged run's on ${compared - 1} of the ${compared} claims it also tests.`);
  });

  it('is recorded from the converged run (200 runs per cell, 65,536 steps) and tests every F2, F3 and T claim the demo tests', () => {
    const rec = loadRecordedFindings()!;
    expect(rec).not.toBeNull();
    expect({ runs: rec.runs, steps: rec.steps, correlations: rec.correlations, sineSeed: rec.sineSeed, sineTerms: rec.sineTerms }).toEqual({ runs: 200, steps: 65536, correlations: [0.5, 0.9, 1], sineSeed: 0, sineTerms: 10 });
    const claims = new Set(rec.findings.map((f) => f.claim));
    const demoClaims = findings.filter((f) => f.id !== 'F1').map((f) => f.claim);
    expect(demoClaims.length).toBe(12);
    expect(demoClaims.filter((c) => !claims.has(c))).toEqual([]);
  });

  it('prints the table as before without a record', () => {
    let out = '';
    printFindings({ out: { write: (s: string) => { out += s; } }, err: { write: () => true } } as never, result);
    expect(out).not.toContain('converged');
    expect(out).toMatch(/\| claim +\| +effect \| p-value \| +result \|/);
  });
});
