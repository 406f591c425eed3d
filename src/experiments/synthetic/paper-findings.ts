import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Finding } from './findings.js';
import { parseRecordJson } from './record-json.js';

/*
 * The converged `--paper` run's final findings, recorded as data (paper-findings.json, the
 * findings-record.json that `mmoe-ts synthetic --paper` writes) so that the demo and --full print
 * them beside their own: a short run's verdict is read against the converged one, claim by claim.
 * Until the converged run has finished there is no record, and the tables print as before.
 */
export interface RecordedFindings {
  command: string;
  /** Runs per cell and training steps of the table the findings come from. */
  runs: number;
  steps: number;
  correlations: number[];
  /** The generator of the table: sine draw sineSeed with sineTerms terms (0: the linear generator). */
  sineSeed: number;
  sineTerms: number;
  findings: Finding[];
}

export const PAPER_FINDINGS_FILE = fileURLToPath(new URL('./paper-findings.json', import.meta.url));

/** Parses and checks a findings record; `relative` written as null (JSON has no NaN) reads as NaN. */
export function parseRecordedFindings(text: string, file = PAPER_FINDINGS_FILE): RecordedFindings {
  const { value: rec, fail } = parseRecordJson(text, `findings record ${file}`);
  if (rec === null || typeof rec !== 'object' || Array.isArray(rec)) return fail('expected an object');
  const r = rec as Partial<RecordedFindings>;
  if (typeof r.command !== 'string') fail("missing field 'command'");
  for (const k of ['sineSeed', 'sineTerms'] as const) if (!Number.isInteger(r[k]) || (r[k] as number) < 0) fail(`'${k}' must be a non-negative integer, got ${JSON.stringify(r[k])}`);
  for (const k of ['runs', 'steps'] as const) if (!Number.isInteger(r[k]) || (r[k] as number) < 1) fail(`'${k}' must be a positive integer, got ${JSON.stringify(r[k])}`);
  if (!Array.isArray(r.correlations) || !r.correlations.every((c) => typeof c === 'number')) fail("'correlations' must be an array of numbers");
  if (!Array.isArray(r.findings)) return fail("missing field 'findings'");
  const findings = r.findings.map((f: Partial<Finding> & { relative?: number | null }, i) => {
    if (!['F1', 'F2', 'F3', 'T'].includes(f.id as string) || typeof f.claim !== 'string' || typeof f.effect !== 'number' ||
      typeof f.pValue !== 'number' || typeof f.holds !== 'boolean' || typeof f.effectName !== 'string') {
      fail(`findings[${i}] lacks id, claim, effectName, effect, pValue or holds`);
    }
    return { ...f, relative: typeof f.relative === 'number' ? f.relative : NaN } as Finding;
  });
  return { ...(r as RecordedFindings), findings };
}

/** The recorded findings, or null while there is no record. */
export function loadRecordedFindings(file = PAPER_FINDINGS_FILE): RecordedFindings | null {
  return existsSync(file) ? parseRecordedFindings(readFileSync(file, 'utf8'), file) : null;
}

/** Whether two findings of the same claim point the same way: the sign of Δ, or which side of 1 an IQR ratio is. */
export function sameDirection(a: Finding, b: Finding): boolean {
  const side = (f: Finding): number => (f.effectName === 'IQR ratio' ? Math.sign(f.effect - 1) : Math.sign(f.effect));
  return side(a) === side(b);
}
