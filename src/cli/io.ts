import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomicSync } from '../io/atomic-write-node.js';
import type { ProgressStream } from '../train/progress.js';

/** Where a command writes: results to `out`, progress and diagnostics to `err`. */
export interface CliIO {
  out: { write(s: string): unknown };
  err: ProgressStream;
}

export function println(io: CliIO, s = ''): void {
  io.out.write(`${s}\n`);
}

/**
 * Creates `dir` (and parents) and writes each file in it atomically (a temp file in the same
 * directory, then rename), so an interrupted run never leaves a truncated file; returns the paths.
 */
export function writeOutputs(dir: string, files: Record<string, string | Uint8Array>): string[] {
  mkdirSync(dir, { recursive: true });
  return Object.entries(files).map(([name, body]) => {
    const p = join(dir, name);
    writeFileAtomicSync('write', p, body);
    return p;
  });
}

/** JSON with non-finite numbers as null (JSON has no NaN) and 2-space indentation. */
export function toJson(value: unknown): string {
  return `${JSON.stringify(value, (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2)}\n`;
}
