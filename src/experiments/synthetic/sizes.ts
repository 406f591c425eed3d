/*
 * The sizes of the synthetic experiment's three modes: `npm run demo`, `--full` and `--paper`
 * (docs/paper/protocol.md). The paper fixes neither rows nor steps; these are ours.
 */

/**
 * Runs per (model, ρ) of `npm run demo`: the floor of 20. The demo must stay within 3
 * minutes on a 2-core machine, clean clone included; as the engine gets faster, raise DEMO_SYNTHETIC's
 * epochs (steps) first, not the runs: what it lacks is training length.
 */
export const DEMO_RUNS = 20;

/**
 * `npm run demo`: --paper's generator, models, paired design, Adam rates (its pilot's, 1e-3) and
 * tests, shorter. Two ρ (the ends of --paper's three: F2 compares them, F3 holds at each), 65,536
 * rows seen 10 times (5,120 steps of batch 128, the most that fits the 3 minutes at --paper's rate),
 * the 20 runs of a cell trained as one stack of DEMO_STACK. At 1e-3 the demo is early in training
 * (losses ~0.05 against --paper's ~0.014 at 65,536 steps), so it is a race read early: which of its
 * verdicts agree with --paper's is in docs/paper-reproduction.md. Timed on a clean clone on this
 * 2-core machine, nothing else running: see there.
 */
export const DEMO_SYNTHETIC = {
  runs: DEMO_RUNS, trainSize: 65536, validationSize: 512, testSize: 1024, batchSize: 128, epochs: 10, logEvery: 256, correlations: [0.5, 1],
} as const;

/** Runs per stack in the demo: a whole cell (all 20 runs of a model) trains as one computation. */
export const DEMO_STACK = 20;

/**
 * `--full`: --paper's data size at a fixed length (8 epochs = 16,384 steps) and the recorded pilot's
 * rates, without the pilot, robustness or §3.3, and 50 runs per cell.
 */
export const FULL_SYNTHETIC = { runs: 50, epochs: 8 } as const;

/**
 * `--paper`: the paper's protocol at full size — 200 runs per (model, ρ) after the learning-rate
 * pilot. The paper fixes neither the number of rows nor of steps; these are ours (docs/paper/protocol.md).
 * `epochs` is the cap of the training length (32 epochs = 65,536 steps): the pilot trains that long
 * and its stopping rule picks the main runs' length, doubling from PAPER_FIRST_EPOCHS (pilot.ts).
 * 262,144 training rows so that data is not the limit: at 65,536 rows the train–test gap grows to
 * 0.03 by 24 epochs, at 8,192 every model overfits (docs/paper/ablation.md). The test loss is
 * logged every 1,024 steps, which divides an epoch (2,048 steps) and the 3,072-step checkpoint.
 */
export const PAPER_SYNTHETIC = {
  runs: 200, trainSize: 262144, validationSize: 2048, testSize: 2048, batchSize: 128, epochs: 32, logEvery: 1024,
} as const;

/** The first candidate length of the --paper pilot's doubling rule, in epochs (4 epochs = 8,192 steps). */
export const PAPER_FIRST_EPOCHS = 4;
