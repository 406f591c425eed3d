import * as lib from '../../src/index.js';
import type { MMoE } from '../../src/models/index.js';
import type { PaperData } from '../lib/paper-mmoe.js';

/*
 * Our side of the stacked row: R paper-size MMoEs trained as one computation through the
 * library's own stacked-training API, found by feature detection so this bench runs on builds
 * with and without it. The API is being written in parallel (issue 15); until src/index.ts
 * exports it, the row says so and times PyTorch's stacked step alone.
 *
 * What the row needs from the API, whatever its final shape: from R models (one architecture,
 * different seeds) and R datasets, one call that does a training step of every run on its own
 * next batch (the batch order of bench/lib/paper-mmoe.ts: data.batchRows, cycling), MSE per task
 * summed, Adam(PAPER.lr) per run; and afterwards each run's parameters, in namedParameters order,
 * for the check against PyTorch.
 */

export interface OurStacked {
  /** One stacked training step: every run one step on its own next batch. */
  step(): void;
  /** Each run's parameter values (namedParameters order) as they stand. */
  runParameters(): Float32Array[][];
  /** Each run's gradients (namedParameters order) from the last step. */
  runGradients(): Float32Array[][];
}

export const STACKED_NAMES = ['stackModels', 'fitStacked', 'StackedModels'] as const;

/** The stacked-training exports this build has (none: the row is skipped). */
export function stackedExports(): string[] {
  const api = lib as unknown as Record<string, unknown>;
  return STACKED_NAMES.filter((n) => typeof api[n] === 'function');
}

export function ourStackedPaper(models: readonly MMoE[], data: readonly PaperData[], lr: number): OurStacked | { skipped: string } {
  const found = stackedExports();
  if (found.length === 0) return { skipped: 'skipped: no stacked API in this build' };
  void models; void data; void lr;
  // Present but not yet wired: failing loudly beats timing something that may not be the same work.
  throw new Error(`bench:peers: src/index.ts exports ${found.join(', ')}, but bench/peers/stacked-ours.ts does not call it yet; write ourStackedPaper against it (see the comment at the top of that file)`);
}
