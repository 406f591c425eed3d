import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { writeFileAtomic, writeFileAtomicSync } from '../../src/io/atomic-write-node.js';

/*
 * node:fs with its calls traced: which fsyncs hit a directory, in what order relative to the
 * rename, and (when `fail` is set) a directory fsync failing with that error code.
 */
const trace = vi.hoisted(() => ({ events: [] as string[], dirFds: new Set<number>(), fail: null as string | null }));
vi.mock('node:fs', async (importOriginal) => {
  const fs = await importOriginal<typeof import('node:fs')>();
  const failDir = (): void => {
    if (trace.fail !== null) throw Object.assign(new Error(`${trace.fail}: simulated`), { code: trace.fail });
  };
  const mocked = {
    ...fs,
    openSync: (p: string, flags: string, mode?: number) => {
      const fd = fs.openSync(p, flags, mode);
      if (fs.fstatSync(fd).isDirectory()) trace.dirFds.add(fd);
      return fd;
    },
    closeSync: (fd: number) => {
      trace.dirFds.delete(fd);
      fs.closeSync(fd);
    },
    fsyncSync: (fd: number) => {
      const isDir = trace.dirFds.has(fd);
      trace.events.push(isDir ? 'fsync dir' : 'fsync file');
      if (isDir) failDir();
      fs.fsyncSync(fd);
    },
    renameSync: (a: string, b: string) => {
      trace.events.push('rename');
      fs.renameSync(a, b);
    },
    promises: {
      ...fs.promises,
      open: async (p: string, flags: string) => {
        const h = await fs.promises.open(p, flags);
        const isDir = (await h.stat()).isDirectory();
        const sync = h.sync.bind(h);
        h.sync = async () => {
          trace.events.push(isDir ? 'fsync dir' : 'fsync file');
          if (isDir) failDir();
          return sync();
        };
        return h;
      },
      rename: async (a: string, b: string) => {
        trace.events.push('rename');
        return fs.promises.rename(a, b);
      },
    },
  };
  return { ...mocked, default: mocked };
});

const dir = mkdtempSync(join(tmpdir(), 'mmoe-ts-dirsync-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(() => {
  trace.events.length = 0;
  trace.fail = null;
});

describe('atomic writes flush the directory after the rename', () => {
  it('sync and async: file fsync, rename, then directory fsync', async () => {
    writeFileAtomicSync('test', join(dir, 'a.txt'), 'one');
    expect(trace.events).toEqual(['fsync file', 'rename', 'fsync dir']);
    trace.events.length = 0;
    await writeFileAtomic('test', join(dir, 'b.txt'), 'two');
    expect(trace.events).toEqual(['fsync file', 'rename', 'fsync dir']);
  });

  it('where the platform cannot flush a directory the write still succeeds; a real failure is reported', async () => {
    for (const code of ['EISDIR', 'EPERM', 'EINVAL']) {
      trace.fail = code;
      writeFileAtomicSync('test', join(dir, 'c.txt'), code);
      expect(readFileSync(join(dir, 'c.txt'), 'utf8')).toBe(code);
      await writeFileAtomic('test', join(dir, 'd.txt'), code);
      expect(readFileSync(join(dir, 'd.txt'), 'utf8')).toBe(code);
    }
    trace.fail = 'EIO';
    expect(() => writeFileAtomicSync('test', join(dir, 'e.txt'), 'x')).toThrow(/^test: wrote .*e\.txt but cannot flush its directory: EIO: simulated$/);
    await expect(writeFileAtomic('test', join(dir, 'f.txt'), 'x')).rejects.toThrow(/^test: wrote .*f\.txt but cannot flush its directory: EIO/);
  });
});
