import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { SYNTHETIC_MODELS, type SyntheticSettings } from './experiment.js';
import type { PilotChoice } from './pilot.js';

/** What the demo reads of a recorded pilot; the record from before the converged protocol has older fields besides. */
export type RecordedChoice = Pick<PilotChoice, 'grid' | 'runsPerCell' | 'pilotEpochs' | 'scores' | 'lr' | 'epochs' | 'flat'>;

/*
 * The recorded learning-rate pilot lives as data in pilot-record.json: the pilot phase of
 * `mmoe-ts synthetic --paper` (PAPER_SYNTHETIC: 65536 training / 1024 validation rows, batch 128,
 * 6 epochs = 3072 steps, validation loss every 128 steps; 2 runs per model, ρ and lr = 54 runs),
 * run on a 2-core machine with 2 workers while a test run shared it: 299 s of run time, so about
 * 150 s of wall time (`seconds`). It is the pilot of the 3,072-step protocol (docs/paper/2026-12-06-3072-steps/),
 * chosen at that short length; the demo and --full take their Adam rates from it until the converged
 * --paper pilot has run. Replace it with that run's pilot.json (`mmoe-ts synthetic --pilot`) then.
 */
export interface RecordedPilot {
  command: string;
  /** Wall time of the pilot, seconds. */
  seconds: number;
  /** The pilot's settings; settings.lr is the choice's rate per model. */
  settings: SyntheticSettings;
  choice: RecordedChoice;
}

export const PILOT_RECORD_FILE = fileURLToPath(new URL('./pilot-record.json', import.meta.url));

/** Parses and checks a pilot record (the JSON of `mmoe-ts synthetic --pilot`'s pilot.json). */
export function parsePilotRecord(text: string, file = PILOT_RECORD_FILE): RecordedPilot {
  const fail = (what: string): never => { throw new Error(`pilot record ${file}: ${what}`); };
  let rec: unknown;
  try {
    rec = JSON.parse(text);
  } catch (e) {
    return fail(`not valid JSON (${e instanceof Error ? e.message : String(e)})`);
  }
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

export const SYNTHETIC_PILOT: RecordedPilot = parsePilotRecord(readFileSync(PILOT_RECORD_FILE, 'utf8'));
