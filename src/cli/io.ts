import { accessSync, constants, existsSync, mkdirSync, mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { writeFileAtomicSync } from '../io/atomic-write-node.js';
import type { ProgressStream } from '../train/progress.js';
import { UsageError } from './args.js';

/** Where a command writes: results to `out`, progress and diagnostics to `err`. */
export interface CliIO {
  out: { write(s: string): unknown };
  err: ProgressStream;
}

export function println(io: CliIO, s = ''): void {
  io.out.write(`${s}\n`);
}

/*
 * Path checks every command runs on its flags before any work: a problem found after minutes of
 * training would lose the trained model, so each fails now, naming the flag and the path.
 */

const code = (e: unknown): string => (e as NodeJS.ErrnoException).code ?? (e as Error).message;

/** An input file that must exist and be a file. */
export function checkInputFile(command: string, flag: string, path: string): void {
  if (!existsSync(path)) throw new UsageError(`${command}: --${flag}: no file ${path}`);
  if (statSync(path).isDirectory()) throw new UsageError(`${command}: --${flag}: ${path} is a folder, not a file`);
}

/** An output folder: created now (with parents) and checked writable; an existing file there fails. */
export function checkOutDir(command: string, flag: string, dir: string): void {
  if (existsSync(dir) && !statSync(dir).isDirectory()) throw new UsageError(`${command}: --${flag}: ${dir} is an existing file, not a folder`);
  try {
    mkdirSync(dir, { recursive: true });
    accessSync(dir, constants.W_OK);
  } catch (e) {
    // Not a usage error: the flag is well formed, the file system refuses it (exit 1, not 2).
    throw new Error(`${command}: --${flag}: cannot write to folder ${dir} (${code(e)})`);
  }
}

/** An output file: not an existing folder, in a folder that exists (or is created now) and is writable. */
export function checkOutFile(command: string, flag: string, path: string): void {
  if (existsSync(path) && statSync(path).isDirectory()) throw new UsageError(`${command}: --${flag}: ${path} is a folder, not a file`);
  checkOutDir(command, flag, dirname(path));
}

/**
 * Creates `dir` (and parents) and writes each file in it atomically (a temp file in the same
 * directory, then rename), so an interrupted run never leaves a truncated file; returns the paths.
 * If `dir` cannot be written after all (the disk filled, the folder was removed), the files go to a
 * fresh folder under the system temp folder and the error says where: finished work is never lost.
 */
export function writeOutputs(dir: string, files: Record<string, string | Uint8Array>): string[] {
  const write = (to: string): string[] => {
    mkdirSync(to, { recursive: true });
    return Object.entries(files).map(([name, body]) => {
      const p = join(to, name);
      writeFileAtomicSync('write', p, body);
      return p;
    });
  };
  try {
    return write(dir);
  } catch (e) {
    let saved: string;
    try {
      saved = mkdtempSync(join(tmpdir(), 'mmoe-ts-out-'));
      write(saved);
    } catch {
      throw e;
    }
    throw new Error(`write: cannot write to ${dir} (${code(e)}); the outputs were saved to ${saved} instead`);
  }
}

/** JSON with non-finite numbers as null (JSON has no NaN) and 2-space indentation. */
export function toJson(value: unknown): string {
  return `${JSON.stringify(value, (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2)}\n`;
}
