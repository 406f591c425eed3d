/*
 * Atomic file writes (Node only), the one implementation behind every file this library writes
 * (safetensors checkpoints, ONNX models, the CLI's outputs).
 *
 * The bytes go to a sibling temp file — same directory, so the final rename stays on one filesystem
 * and is atomic — which is flushed and then renamed over the target: a reader sees the old file or
 * the new one, never half of one. On an error the temp file is removed at once. A process that dies
 * mid-write (killed, out of memory, power cut) cannot remove it, so every write first sweeps the
 * target's temp files whose writer is no longer alive: a crashed save leaves a stray file only until
 * the next save to the same target. Temp names carry the writer's host and pid, which is how the
 * sweep tells a dead writer's leftovers from a live writer's file in progress (another process, or
 * another async save in this one): a pid can only be checked on its own host, so on a directory
 * shared between machines or containers (NFS, a mounted volume) the sweep leaves other hosts' temps
 * alone. A random part keeps concurrent writers from ever sharing a temp file. After the rename the
 * directory is flushed too, so that the rename itself survives a power cut (where the platform can).
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import { hostname } from 'node:os';
import * as path from 'node:path';

const escapeRegExp = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** This host's name as it appears in temp names: only [A-Za-z0-9-] (no dots, so names parse back), at most 64 characters. */
export function tempHostTag(): string {
  let h = '';
  try {
    h = hostname();
  } catch {
    // No name to be had: fall through to the placeholder.
  }
  return h.replace(/[^A-Za-z0-9-]/g, '-').slice(0, 64) || 'unknown-host';
}

/** `.<name>.<host>.<pid>.<hex>.tmp` beside `file`. */
export function atomicTempPath(file: string): string {
  return path.join(path.dirname(file), `.${path.basename(file)}.${tempHostTag()}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
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
 * Removes temp files of `file` left by writers on this host that are no longer running; returns
 * their paths. Best effort: a directory that cannot be listed, or a file that vanished meanwhile,
 * is skipped.
 */
export function sweepStaleTemps(file: string): string[] {
  const dir = path.dirname(file);
  const pattern = new RegExp(`^\\.${escapeRegExp(path.basename(file))}\\.([A-Za-z0-9-]+)\\.(\\d+)\\.[0-9a-f]+\\.tmp$`);
  const host = tempHostTag();
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    const m = pattern.exec(name);
    if (!m || m[1] !== host || isAlive(Number(m[2]))) continue;
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

/**
 * Errors of flushing a directory on platforms that cannot: Windows cannot open one (EISDIR, EPERM),
 * some filesystems refuse fsync on one (EINVAL), and a directory may be writable but not readable
 * (EACCES). The file is written and renamed either way; only the rename's durability is left to the OS.
 */
const DIR_SYNC_UNSUPPORTED = new Set(['EISDIR', 'EPERM', 'EINVAL', 'EACCES']);

function dirSyncError(fn: string, file: string, e: unknown): Error | null {
  if (DIR_SYNC_UNSUPPORTED.has((e as NodeJS.ErrnoException).code ?? '')) return null;
  return new Error(`${fn}: wrote ${file} but cannot flush its directory: ${(e as Error).message}`, { cause: e });
}

/** fsync of `file`'s directory, so that a rename into it is on disk (best effort, see DIR_SYNC_UNSUPPORTED). */
export function syncParentDirSync(fn: string, file: string): void {
  try {
    const fd = fs.openSync(path.dirname(file), 'r');
    try {
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  } catch (e) {
    const err = dirSyncError(fn, file, e);
    if (err !== null) throw err;
  }
}

/** The asynchronous syncParentDirSync. */
export async function syncParentDir(fn: string, file: string): Promise<void> {
  try {
    const h = await fs.promises.open(path.dirname(file), 'r');
    try {
      await h.sync();
    } finally {
      await h.close();
    }
  } catch (e) {
    const err = dirSyncError(fn, file, e);
    if (err !== null) throw err;
  }
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
  syncParentDirSync(fn, file);
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
  await syncParentDir(fn, file);
}
