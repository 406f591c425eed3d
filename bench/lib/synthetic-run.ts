import { syntheticExperimentParallel } from '../../src/experiments/synthetic/parallel.js';
import { resolveSyntheticSettings, runSyntheticJob, syntheticJobs, syntheticSplit } from '../../src/experiments/synthetic/experiment.js';
import { summarize, type Timing } from './timing.js';

/*
 * One synthetic training run at a fixed workload — MMoE, 20,000 training rows × 12 epochs, batch
 * 128, ρ = 0.5: the demo's settings when issue 8 set its target (≈ 0.1 runs per second per core),
 * kept so that figures stay comparable while the demo's own size changes — timed as a whole: runs per second on one core (runs in
 * this thread, one after another) and on two (two runs at once on two worker threads, as
 * `mmoe-ts synthetic` schedules them). A run takes seconds, so this times a few whole runs by the
 * clock instead of calibrating with benchmark.js.
 */

export interface SyntheticRunRow {
  cores: 1 | 2;
  /** Milliseconds per run (1 core: each run; 2 cores: each run while the other ran beside it). */
  run: Timing;
  /** Runs finished per second of wall-clock time. */
  runsPerSec: number;
  /** Runs timed. */
  runs: number;
}

const SETTINGS = { models: ['mmoe'] as const, correlations: [0.5], trainSize: 20_000, epochs: 12, batchSize: 128 };

export async function runSyntheticRuns(log: (s: string) => void, samples = 2): Promise<SyntheticRunRow[]> {
  const settings = resolveSyntheticSettings({ ...SETTINGS, runs: 1 });
  const job = syntheticJobs(settings)[0];
  const data = syntheticSplit(settings, job);
  const single: number[] = [];
  for (let i = 0; i < samples; i++) {
    const t0 = performance.now();
    runSyntheticJob(settings, job, data);
    single.push(performance.now() - t0);
    log(`synthetic run, 1 core: ${(single[i] / 1000).toFixed(2)} s`);
  }
  const one = summarize(single);
  const rows: SyntheticRunRow[] = [{ cores: 1, run: one, runsPerSec: 1000 / one.medianMs, runs: samples }];
  // Two runs per round on two workers; wall time includes starting the workers, as the CLI pays it.
  const perRun: number[] = [];
  let wall = 0;
  for (let i = 0; i < samples; i++) {
    const t0 = performance.now();
    const r = await syntheticExperimentParallel({ ...SETTINGS, runs: 2 }, { workers: 2 });
    wall += (performance.now() - t0) / 1000;
    perRun.push(...r.runs.map((x) => x.seconds * 1000));
    log(`synthetic runs, 2 cores: 2 runs in ${((performance.now() - t0) / 1000).toFixed(2)} s`);
  }
  rows.push({ cores: 2, run: summarize(perRun), runsPerSec: (2 * samples) / wall, runs: 2 * samples });
  return rows;
}
