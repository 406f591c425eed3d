/*
 * Atomic file writes (Node only), the one implementation behind every file this library writes
 * (safetensors checkpoints, ONNX models, the CLI's outputs).
 *
 * The bytes go to a sibling temp file — same directory, so the final rename stays on one filesystem
 * and is atomic — which is flushed and then renamed over the target: a reader sees the old file or
 * the new one, never half of one. On an error the temp file is removed at once. A process that dies
 * mid-write (killed, out of memory, power cut) cannot remove it, so every write first sweeps the
 * target's temp files whose writer is no longer alive: a crashed save leaves a stray file only until
 * the next save to the same target. Temp names carry the writer's pid, which is how the sweep tells
 * a dead writer's leftovers from a live writer's file in progress (another process, or another
 * async save in this one), and a random part, so concurrent writers never share a temp file.
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

const escapeRegExp = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** `.<name>.<pid>.<hex>.tmp` beside `file`. */
export function atomicTempPath(file: string): string {
  return path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
}

function isAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0); // signal 0: an existence check, nothing is sent
    return true;
  } catch (e) {
    // EPERM: the process exists but belongs to someone else.
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes temp files of `file` left by writers that are no longer running; returns their paths.
 * Best effort: a directory that cannot be listed, or a file that vanished meanwhile, is skipped.
 */
export function sweepStaleTemps(file: string): string[] {
  const dir = path.dirname(file);
  const pattern = new RegExp(`^\\.${escapeRegExp(path.basename(file))}\\.(\\d+)\\.[0-9a-f]+\\.tmp$`);
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    const m = pattern.exec(name);
    if (!m || isAlive(Number(m[1]))) continue;
    const p = path.join(dir, name);
    try {
      fs.rmSync(p, { force: true });
      removed.push(p);
    } catch {
      // Not ours to remove (permissions): leave it.
    }
  }
  return removed;
}

/** Writes `bytes` to `file` atomically (see above); `fn` names the caller in the error. */
export function writeFileAtomicSync(fn: string, file: string, bytes: Uint8Array | string): void {
  sweepStaleTemps(file);
  const tmp = atomicTempPath(file);
  try {
    const fd = fs.openSync(tmp, 'wx');
    try {
      fs.writeFileSync(fd, bytes);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, file);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw new Error(`${fn}: cannot write ${file}: ${(e as Error).message}`, { cause: e });
  }
}

/** The asynchronous writeFileAtomicSync. */
export async function writeFileAtomic(fn: string, file: string, bytes: Uint8Array | string): Promise<void> {
  sweepStaleTemps(file);
  const tmp = atomicTempPath(file);
  try {
    const h = await fs.promises.open(tmp, 'wx');
    try {
      await h.writeFile(bytes);
      await h.sync();
    } finally {
      await h.close();
    }
    await fs.promises.rename(tmp, file);
  } catch (e) {
    await fs.promises.rm(tmp, { force: true }).catch(() => undefined);
    throw new Error(`${fn}: cannot write ${file}: ${(e as Error).message}`, { cause: e });
  }
}
