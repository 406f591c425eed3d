import {
  LEARNING_RATE_GRID, SINE_TERMS, assembleSynthetic, resolveSyntheticSettings, syntheticJobs, totalSteps,
  type SyntheticExperimentOptions, type SyntheticJob, type SyntheticJobOutcome, type SyntheticResult, type SyntheticRun, type SyntheticSettings,
} from './experiment.js';
import { labelVariance } from './labels.js';
import { PAPER_FIRST_EPOCHS } from './sizes.js';
import { CHECKPOINT_STEPS } from './checkpoints.js';
import { PILOT_RUNS, candidateLengths, choosePilot, pilotJobs, type PilotChoice } from './pilot.js';
import { runSyntheticJobs, type ParallelOptions } from './parallel.js';
import { clearGroupCheckpoints } from './group-checkpoints-node.js';
import { SyntheticResultsFile } from './results-file.js';
import { checkOptionKeys, type OptionKeys } from '../../validation/options.js';
import { checkIntAtLeast, checkPositiveInt } from '../../validation/values.js';

/*
 * The paper's protocol end to end (docs/paper/protocol.md): the pilot (rates and length, pilot.ts),
 * the main table on the main sine draw, a smaller table per robustness draw (two other sine draws
 * and the purely linear generator) and the §3.3 experiment (Shared-Bottom alone with the paper's
 * bottom of 16 units), all at the pilot's rates and length. Every finished job is appended to one
 * results file; run again with the same settings and file, it skips what is there, so an
 * interrupted run continues where it stopped and ends with the same tables as one never interrupted.
 */

/** A generator other than the main one, for the robustness tables. */
export interface RobustnessDraw { name: string; title: string; sineSeed: number; sineTerms: number }

export const ROBUSTNESS_DRAWS: readonly RobustnessDraw[] = [
  { name: 'sine-1', title: 'sine draw 1', sineSeed: 1, sineTerms: SINE_TERMS },
  { name: 'sine-2', title: 'sine draw 2', sineSeed: 2, sineTerms: SINE_TERMS },
  { name: 'linear', title: 'linear generator (no sine terms)', sineSeed: 0, sineTerms: 0 },
];

/** Runs per cell of each robustness table. */
export const ROBUSTNESS_RUNS = 50;

/** The paper's §3.3 Shared-Bottom: "a single fully connected layer with 16 hidden units" as the bottom. */
export const SECTION_33_BOTTOM_UNITS = 16;

export interface PaperRunOptions {
  /** The JSON-lines results file (created if missing). */
  results: string;
  /** Workers and stack width; checkpointDir defaults to `<results>.in-flight`. */
  parallel?: ParallelOptions;
  /** Pilot runs per (model, ρ, lr). Default PILOT_RUNS. */
  pilotRuns?: number;
  /** First candidate length of the pilot's doubling rule, in epochs (the options' epochs are the cap). Default PAPER_FIRST_EPOCHS. */
  firstEpochs?: number;
  /** Runs per cell of each robustness table; 0 skips them. Default ROBUSTNESS_RUNS (at most the main runs). */
  robustnessRuns?: number;
  /** Runs per ρ of the §3.3 experiment; 0 skips it. Default the main runs. */
  section33Runs?: number;
  /** Run only the pilot. */
  pilotOnly?: boolean;
  /** Called after each newly trained job; `done`/`total` count every part, with loaded jobs done. */
  onRun?(run: SyntheticRun, done: number, total: number): void;
  /** Called once the pilot's choice is known. */
  onPilot?(choice: PilotChoice): void;
}

/** One table of the protocol besides the main one. */
export interface PaperStudy {
  /** Its name in the results file (job keys are prefixed with `name/`). */
  name: string;
  title: string;
  result: SyntheticResult;
  /** §3.3: its own pilot's final validation loss per rate at the main length, averaged over ρ. */
  pilotScores?: Record<string, number>;
}

export interface PaperOutcome {
  pilotSettings: SyntheticSettings;
  pilot: PilotChoice;
  /** The main table; absent with pilotOnly. */
  result?: SyntheticResult;
  /** Robustness tables, then the §3.3 experiment (those not skipped). */
  studies: PaperStudy[];
  /** Label variance of each generator by name ('main' and the robustness draws): what a stuck run is judged against. */
  labelVariances: Record<string, number>;
  /** Jobs found finished in the results file when this call started. */
  resumed: number;
  /** Jobs trained by this call. */
  trained: number;
  /** Wall time of this call. */
  seconds: number;
}

const RUN_OPTION_KEYS: OptionKeys<PaperRunOptions> = {
  results: true, parallel: true, pilotRuns: true, firstEpochs: true, robustnessRuns: true, section33Runs: true, pilotOnly: true, onRun: true, onPilot: true,
};

export async function syntheticPaper(options: Omit<SyntheticExperimentOptions, 'lr' | 'onRun'>, o: PaperRunOptions): Promise<PaperOutcome> {
  const t0 = performance.now();
  const base = resolveSyntheticSettings(options);
  checkOptionKeys('syntheticPaper', o, RUN_OPTION_KEYS);
  const pilotRuns = checkPositiveInt('syntheticPaper', 'pilotRuns', o.pilotRuns ?? PILOT_RUNS);
  const firstEpochs = checkPositiveInt('syntheticPaper', 'firstEpochs', o.firstEpochs ?? Math.min(PAPER_FIRST_EPOCHS, base.epochs));
  const robustnessRuns = Math.min(checkIntAtLeast('syntheticPaper', 'robustnessRuns', o.robustnessRuns ?? ROBUSTNESS_RUNS, 0), base.runs);
  const section33Runs = checkIntAtLeast('syntheticPaper', 'section33Runs', o.section33Runs ?? base.runs, 0);
  const pilotSettings: SyntheticSettings = { ...base, runs: pilotRuns };
  // Checked before any training, not after hours of it.
  candidateLengths(firstEpochs, base.epochs);
  for (const c of CHECKPOINT_STEPS) {
    if (c < totalSteps(base) && c % base.logEvery !== 0) throw new RangeError(`syntheticPaper: logEvery ${base.logEvery} must divide the checkpoint step ${c}`);
  }
  // The run counts and rates are left out: a job's result does not depend on how many runs follow
  // it, and the rates come from the pilot, so a pilot-only file serves a later full run.
  const { runs: _runs, lr: _lr, ...protocol } = base;
  const file = new SyntheticResultsFile(o.results, {
    protocol, pilotRuns, grid: LEARNING_RATE_GRID, firstEpochs, robustness: ROBUSTNESS_DRAWS, section33BottomUnits: SECTION_33_BOTTOM_UNITS,
  });
  const labelVariances: Record<string, number> = { main: labelVariance(base) };
  for (const d of ROBUSTNESS_DRAWS) labelVariances[d.name] = labelVariance(d);
  try {
    const resumed = file.count;
    let trained = 0;
    const pJobs = pilotJobs(pilotSettings);
    // Every part's size is known before the pilot ends (its rates are not).
    const cells = base.correlations.length * base.models.length;
    const section33 = base.models.includes('shared-bottom') ? section33Runs : 0;
    const total = pJobs.length + base.runs * cells + (robustnessRuns * cells * ROBUSTNESS_DRAWS.length)
      + (section33 > 0 ? (section33 + pilotRuns * LEARNING_RATE_GRID.length) * base.correlations.length : 0);
    let done = resumed;
    // Stacked groups in flight keep checkpoints beside the results file, so a stopped run loses
    // at most an epoch of each.
    const parallel: ParallelOptions = { checkpointDir: `${o.results}.in-flight`, ...o.parallel };
    const phase = async (s: SyntheticSettings, jobs: SyntheticJob[], study = ''): Promise<SyntheticJobOutcome[]> =>
      runSyntheticJobs(s, jobs, parallel, file.finished(s, jobs, study), (job, out) => {
        file.record(s, job, out, study);
        trained++;
        done++;
        o.onRun?.(out.run, done, o.pilotOnly ? pJobs.length : total);
      });
    const pilotOut = await phase(pilotSettings, pJobs);
    const pilot = choosePilot(pilotSettings, pilotOut.map((x) => x.run), firstEpochs);
    o.onPilot?.(pilot);
    const finish = (result?: SyntheticResult, studies: PaperStudy[] = []): PaperOutcome => {
      // Every group is recorded: what the directory still holds was left by another --stack or --runs.
      if (parallel.checkpointDir !== undefined) clearGroupCheckpoints(parallel.checkpointDir);
      return { pilotSettings, pilot, ...(result && { result }), studies, labelVariances, resumed, trained, seconds: (performance.now() - t0) / 1000 };
    };
    if (o.pilotOnly) return finish();
    const mainSettings: SyntheticSettings = { ...base, lr: pilot.lr, epochs: pilot.epochs };
    const table = async (s: SyntheticSettings, study = ''): Promise<SyntheticResult> => {
      const jobs = syntheticJobs(s);
      const out = await phase(s, jobs, study);
      return assembleSynthetic(s, jobs, out, (performance.now() - t0) / 1000);
    };
    const result = await table(mainSettings);
    const studies: PaperStudy[] = [];
    if (robustnessRuns > 0) {
      for (const d of ROBUSTNESS_DRAWS) {
        const s: SyntheticSettings = { ...mainSettings, runs: robustnessRuns, sineSeed: d.sineSeed, sineTerms: d.sineTerms };
        studies.push({ name: d.name, title: d.title, result: await table(s, `${d.name}/`) });
      }
    }
    if (section33 > 0) {
      // The 16-unit bottom trains unlike the 113-unit one, so it gets its own rate: a pilot of its
      // own on the pilot's data sets, the rate with the lowest final validation loss at the main length.
      const narrow: SyntheticSettings = { ...base, runs: pilotRuns, models: ['shared-bottom'], bottomUnits: SECTION_33_BOTTOM_UNITS, bottomRule: 'given' };
      const narrowPilot = choosePilot(narrow, (await phase(narrow, pilotJobs(narrow), 'section-3.3/')).map((x) => x.run), pilot.epochs).lengths[0];
      const s: SyntheticSettings = {
        ...mainSettings, runs: section33Runs, models: ['shared-bottom'], bottomUnits: SECTION_33_BOTTOM_UNITS, bottomRule: 'given',
        lr: { ...mainSettings.lr, 'shared-bottom': narrowPilot.lr['shared-bottom'] },
      };
      studies.push({
        name: 'section-3.3', title: `§3.3: Shared-Bottom with the paper's bottom of ${SECTION_33_BOTTOM_UNITS} units`, result: await table(s, 'section-3.3/'),
        pilotScores: narrowPilot.scores['shared-bottom'],
      });
    }
    return finish(result, studies);
  } finally {
    file.close();
  }
}
