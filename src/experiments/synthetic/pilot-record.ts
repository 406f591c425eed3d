import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { LEARNING_RATE_GRID, SYNTHETIC_MODELS, resolveSyntheticSettings, type SyntheticSettings } from './experiment.js';
import { PILOT_RUNS, type PilotChoice } from './pilot.js';
import { PAPER_SYNTHETIC } from './sizes.js';
import { parseRecordJson } from './record-json.js';

/** What the demo reads of a recorded pilot; the record from before the converged protocol has older fields besides. */
export type RecordedChoice = Pick<PilotChoice, 'grid' | 'runsPerCell' | 'pilotEpochs' | 'scores' | 'lr' | 'epochs' | 'flat'>;

/*
 * The recorded learning-rate pilot lives as data in pilot-record.json: the pilot phase of the
 * converged `mmoe-ts synthetic --paper` run (docs/paper/converged/pilot.json; PAPER_SYNTHETIC:
 * 262,144 training / 2,048 validation rows, batch 128, trained to the cap of 32 epochs = 65,536
 * steps, validation loss every 1,024 steps; 2 runs per model, ρ and rate = 54 runs). Its runs took
 * 3,550 s of worker time (the sum of their `seconds` in docs/paper/converged/results.jsonl, two
 * workers); the record's own `seconds` is the time of the call that wrote it from that results file,
 * which trains nothing. It chose 1e-3 for every model at every candidate length, and its length rule
 * was not met by the cap. The demo and --full take their Adam rates from it. The record before it,
 * the 3,072-step protocol's pilot (which chose 1e-2 at that short length), is kept with that run as
 * docs/paper/2026-12-01-3072-steps/pilot.json.
 */
export interface RecordedPilot {
  command: string;
  /** Wall time of the command that wrote the record, seconds. */
  seconds: number;
  /** The pilot's settings; settings.lr is the choice's rate per model. */
  settings: SyntheticSettings;
  choice: RecordedChoice;
}

export const PILOT_RECORD_FILE = fileURLToPath(new URL('./pilot-record.json', import.meta.url));

/** Parses and checks a pilot record (the JSON of `mmoe-ts synthetic --pilot`'s pilot.json). */
export function parsePilotRecord(text: string, file = PILOT_RECORD_FILE): RecordedPilot {
  const { value: rec, fail } = parseRecordJson(text, `pilot record ${file}`);
  const r = rec as Partial<RecordedPilot>;
  if (r === null || typeof r !== 'object') return fail('expected an object');
  for (const k of ['command', 'seconds', 'settings', 'choice'] as const) if (r[k] === undefined) fail(`missing field '${k}'`);
  const lr = r.choice?.lr, slr = r.settings?.lr;
  for (const m of SYNTHETIC_MODELS) {
    if (typeof lr?.[m] !== 'number') fail(`missing choice.lr['${m}']`);
    if (slr?.[m] !== lr?.[m]) fail(`settings.lr['${m}'] = ${slr?.[m]} disagrees with choice.lr['${m}'] = ${lr?.[m]}`);
  }
  if (typeof r.choice?.epochs !== 'number') fail(`missing choice.epochs`);
  return r as RecordedPilot;
}

/**
 * Whether a record is `--paper`'s own pilot: every setting but the rates is --paper's, at
 * PILOT_RUNS runs per cell, on the paper's grid (a --pilot of other settings is not).
 */
export function isPaperPilot(record: RecordedPilot): boolean {
  const paper: Partial<SyntheticSettings> = { ...resolveSyntheticSettings({ ...PAPER_SYNTHETIC, runs: PILOT_RUNS }) };
  const mine: Partial<SyntheticSettings> = { ...record.settings };
  delete paper.lr;
  delete mine.lr;
  const keys = new Set([...Object.keys(paper), ...Object.keys(mine)]) as Set<keyof SyntheticSettings>;
  return [...keys].every((k) => JSON.stringify(paper[k]) === JSON.stringify(mine[k])) &&
    record.choice.grid.join() === LEARNING_RATE_GRID.join();
}

export const SYNTHETIC_PILOT: RecordedPilot = parsePilotRecord(readFileSync(PILOT_RECORD_FILE, 'utf8'));
