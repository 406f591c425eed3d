import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { atomicTempPath, sweepStaleTemps, tempHostTag, writeFileAtomic, writeFileAtomicSync } from '../../src/io/atomic-write-node.js';
import { saveSafetensorsSync } from '../../src/nn/safetensors-node.js';
import { tensor } from '../../src/index.js';

const dir = mkdtempSync(join(tmpdir(), 'mmoe-ts-atomic-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A pid that certainly belongs to no running process: a child that has already exited. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(r.stdout);
}

const host = tempHostTag();

describe('atomic writes', () => {
  it('a crashed writer’s temp file is swept by the next write to the same target, a live writer’s is not', () => {
    const target = join(dir, 'model.safetensors');
    const dead = join(dir, `.model.safetensors.${host}.${deadPid()}.0123456789ab.tmp`);
    const live = join(dir, `.model.safetensors.${host}.${process.pid}.ba9876543210.tmp`);
    const other = join(dir, `.other.safetensors.${host}.${deadPid()}.0123456789ab.tmp`);
    for (const f of [dead, live, other]) writeFileSync(f, 'partial');
    saveSafetensorsSync(target, { w: tensor([1, 2]) });
    expect(existsSync(dead)).toBe(false);
    expect(existsSync(live)).toBe(true); // may be an async save of this process in flight
    expect(existsSync(other)).toBe(true); // another target's: not this write's business
    expect(existsSync(target)).toBe(true);
  });

  it('leaves temp files of other hosts alone: their pids cannot be checked here (a shared directory)', () => {
    const target = join(dir, 'shared.bin');
    const pid = deadPid(); // dead here, but on another machine it may be a writer still running
    const elsewhere = join(dir, `.shared.bin.other-host-1.${pid}.0123456789ab.tmp`);
    const mine = join(dir, `.shared.bin.${host}.${pid}.0123456789ab.tmp`);
    for (const f of [elsewhere, mine]) writeFileSync(f, 'partial');
    expect(sweepStaleTemps(target)).toEqual([mine]);
    expect(existsSync(elsewhere)).toBe(true);
  });

  it('the host tag is the hostname with anything but [A-Za-z0-9-] replaced', () => {
    expect(host).toMatch(/^[A-Za-z0-9-]{1,64}$/);
    expect(host).toBe(hostname().replace(/[^A-Za-z0-9-]/g, '-').slice(0, 64));
  });

  it('sweepStaleTemps only touches names of the temp pattern', () => {
    const target = join(dir, 'a.txt');
    const keep = [join(dir, '.a.txt.tmp'), join(dir, '.a.txt.12.zz.tmp'), join(dir, 'a.txt.1.ab.tmp')];
    for (const f of keep) writeFileSync(f, 'x');
    expect(sweepStaleTemps(target)).toEqual([]);
    for (const f of keep) expect(existsSync(f)).toBe(true);
    expect(sweepStaleTemps(join(dir, 'no-such-dir', 'x'))).toEqual([]);
  });

  it('writes the whole file, replaces an old one, and leaves no temp file on success or failure', async () => {
    const target = join(dir, 'out.txt');
    writeFileAtomicSync('test', target, 'one');
    await writeFileAtomic('test', target, new TextEncoder().encode('two'));
    expect(readFileSync(target, 'utf8')).toBe('two');
    expect(() => writeFileAtomicSync('test', join(dir, 'missing', 'x.txt'), 'x')).toThrow(/^test: cannot write .*x\.txt: ENOENT/);
    const asDir = join(dir, 'is-a-dir');
    writeFileAtomicSync('test', join(dir, 'is-a-dir-sibling'), 'x');
    spawnSync('mkdir', [asDir]);
    await expect(writeFileAtomic('test', asDir, 'x')).rejects.toThrow(/^test: cannot write .*is-a-dir: /);
    expect(readdirSync(dir).filter((f) => f.startsWith('.out.txt') || f.startsWith('.is-a-dir'))).toEqual([]);
    expect(atomicTempPath(target)).toMatch(new RegExp(`/\\.out\\.txt\\.${host}\\.${process.pid}\\.[0-9a-f]{12}\\.tmp$`));
  });
});
