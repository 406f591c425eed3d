import { LEARNING_RATE_GRID, assembleSynthetic, resolveSyntheticSettings, syntheticJobs,
  type SyntheticExperimentOptions, type SyntheticJob, type SyntheticJobOutcome, type SyntheticResult, type SyntheticRun, type SyntheticSettings,
} from './experiment.js';
import { PILOT_RUNS, choosePilot, pilotJobs, type PilotChoice } from './pilot.js';
import { runSyntheticJobs, type ParallelOptions } from './parallel.js';
import { SyntheticResultsFile } from './results-file.js';

/*
 * The paper's protocol end to end: the learning-rate pilot, then the main runs at the chosen rates
 * and length. Every finished job is appended to a results file; run again with the same settings
 * and file, it skips what is there, so an interrupted run continues where it stopped and ends with
 * the same result as one that was never interrupted.
 */

export interface PaperRunOptions {
  /** The JSON-lines results file (created if missing). */
  results: string;
  parallel?: ParallelOptions;
  /** Pilot runs per (model, ρ, lr). Default PILOT_RUNS. */
  pilotRuns?: number;
  /** Run only the pilot. */
  pilotOnly?: boolean;
  /** Called after each newly trained job; `done`/`total` count both phases, with loaded jobs done. */
  onRun?(run: SyntheticRun, done: number, total: number): void;
  /** Called once the pilot's choice is known. */
  onPilot?(choice: PilotChoice): void;
}

export interface PaperOutcome {
  pilotSettings: SyntheticSettings;
  pilot: PilotChoice;
  /** Absent with pilotOnly. */
  result?: SyntheticResult;
  /** Jobs found finished in the results file when this call started. */
  resumed: number;
  /** Jobs trained by this call. */
  trained: number;
  /** Wall time of this call. */
  seconds: number;
}

export async function syntheticPaper(options: Omit<SyntheticExperimentOptions, 'lr' | 'onRun'>, o: PaperRunOptions): Promise<PaperOutcome> {
  const t0 = performance.now();
  const base = resolveSyntheticSettings(options);
  const pilotRuns = o.pilotRuns ?? PILOT_RUNS;
  const pilotSettings: SyntheticSettings = { ...base, runs: pilotRuns };
  // The run count and rates are left out: a job's result does not depend on how many runs follow
  // it, and the rates come from the pilot, so a pilot-only file serves a later full run.
  const { runs: _runs, lr: _lr, ...protocol } = base;
  const file = new SyntheticResultsFile(o.results, { protocol, pilotRuns, grid: LEARNING_RATE_GRID });
  try {
    const resumed = file.count;
    let trained = 0;
    const pJobs = pilotJobs(pilotSettings);
    // The main phase's size is known before the pilot ends (its rates are not): runs × ρ × models.
    const total = pJobs.length + base.runs * base.correlations.length * base.models.length;
    let done = resumed;
    const phase = async (s: SyntheticSettings, jobs: SyntheticJob[]): Promise<SyntheticJobOutcome[]> =>
      runSyntheticJobs(s, jobs, o.parallel, file.finished(s, jobs), (job, out) => {
        file.record(s, job, out);
        trained++;
        done++;
        o.onRun?.(out.run, done, o.pilotOnly ? pJobs.length : total);
      });
    const pilotOut = await phase(pilotSettings, pJobs);
    const pilot = choosePilot(pilotSettings, pilotOut.map((x) => x.run));
    o.onPilot?.(pilot);
    if (o.pilotOnly) return { pilotSettings, pilot, resumed, trained, seconds: (performance.now() - t0) / 1000 };
    const mainSettings: SyntheticSettings = { ...base, lr: pilot.lr, epochs: pilot.epochs };
    const mJobs = syntheticJobs(mainSettings);
    const mainOut = await phase(mainSettings, mJobs);
    const seconds = (performance.now() - t0) / 1000;
    return { pilotSettings, pilot, result: assembleSynthetic(mainSettings, mJobs, mainOut, seconds), resumed, trained, seconds };
  } finally {
    file.close();
  }
}
