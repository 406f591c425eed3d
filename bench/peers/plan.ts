/*
 * bench:peers' command line: which groups of rows run (--only) and how long each race samples
 * (--quick). Tags name the groups; a row group runs when --only names any of its tags.
 */

export const TAGS = ['tfjs', 'pytorch', 'paper', 'bench', 'stacked', 'gemm', 'ort', 'predict'] as const;
export type Tag = typeof TAGS[number];

export interface Plan {
  quick: boolean;
  only: ReadonlySet<Tag> | null;
  /** Interleaved rounds and benchmark.js sampling per race, scaled for --quick. */
  rounds(full: number): number;
  sampling(full: { minSamples: number; maxTime: number }): { minSamples: number; maxTime: number };
  wants(...tags: Tag[]): boolean;
}

export const USAGE = `usage: npm run bench:peers -- [--quick] [--only=${TAGS.join(',')}]
  --quick   fewer rounds and shorter samples, the TF.js rows at one size each (proves every row runs and agrees; not for quoting)
  --only    comma-separated groups: tfjs (all TF.js rows), pytorch (all PyTorch rows), paper, bench, stacked, gemm (PyTorch rows),
            ort / predict (onnxruntime-node predict rows)`;

export function parsePlan(argv: readonly string[]): Plan {
  let quick = false;
  let only: Set<Tag> | null = null;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--quick') quick = true;
    else if (a === '--only' || a.startsWith('--only=')) {
      const v = a === '--only' ? argv[++i] : a.slice('--only='.length);
      if (!v) throw new Error(`bench:peers: --only needs a comma-separated list of ${TAGS.join(', ')}`);
      only = new Set();
      for (const t of v.split(',').map((s) => s.trim()).filter(Boolean)) {
        if (!(TAGS as readonly string[]).includes(t)) throw new Error(`bench:peers: --only: unknown group '${t}' (known: ${TAGS.join(', ')})`);
        only.add(t as Tag);
      }
    } else if (a === '--help' || a === '-h') {
      console.log(USAGE);
      process.exit(0);
    } else throw new Error(`bench:peers: unknown argument '${a}'\n${USAGE}`);
  }
  return {
    quick, only,
    rounds: (full) => (quick ? Math.min(full, 2) : full),
    sampling: (full) => (quick ? { minSamples: Math.min(full.minSamples, 3), maxTime: Math.min(full.maxTime, 0.2) } : full),
    wants: (...tags) => only === null || tags.some((t) => only!.has(t)),
  };
}
