import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

/*
 * bin/mmoe-ts.js as shipped, in a temp package whose dist/cli/main.js is a stub that reports how
 * it was started: the flag in execArgv, the re-run marker, its arguments, and whether relaxed SIMD
 * validates. Node 20 rejects relaxed SIMD without the flag, so the bin must re-run itself once;
 * Node 22 accepts it, so it must not.
 */

// The bin's own probe bytes, so the stub checks exactly what the bin checks.
const PROBE = readFileSync(join(import.meta.dirname, '..', '..', 'bin', 'mmoe-ts.js'), 'utf8')
  .match(/PROBE = new Uint8Array\(\[([\s\S]*?)\]\)/)![1].split(',').map((s) => s.trim()).filter(Boolean).map(Number);
const root = mkdtempSync(join(tmpdir(), 'mmoe-ts-bin-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
mkdirSync(join(root, 'bin'));
mkdirSync(join(root, 'dist', 'cli'), { recursive: true });
copyFileSync(join(import.meta.dirname, '..', '..', 'bin', 'mmoe-ts.js'), join(root, 'bin', 'mmoe-ts.js'));
writeFileSync(join(root, 'package.json'), '{ "type": "module" }');
writeFileSync(join(root, 'dist', 'cli', 'main.js'), `
const probe = new Uint8Array([${PROBE.join(',')}]);
process.stdout.write(JSON.stringify({ flags: process.execArgv.filter((a) => a.includes('relaxed')), marker: process.env.MMOE_TS_REEXEC ?? null, args: process.argv.slice(2), relaxed: WebAssembly.validate(probe) }));
process.exitCode = process.argv.includes('fail') ? 3 : 0;
`);

const needsFlag = Number(process.versions.node.split('.')[0]) < 22;

function bin(args: string[], opts: { nodeArgs?: string[]; env?: Record<string, string> } = {}): { status: number | null; out: { flags: string[]; marker: string | null; args: string[]; relaxed: boolean } } {
  const env = { ...process.env, ...opts.env };
  delete env.MMOE_TS_REEXEC;
  if (opts.env?.MMOE_TS_REEXEC) env.MMOE_TS_REEXEC = opts.env.MMOE_TS_REEXEC;
  const r = spawnSync(process.execPath, [...(opts.nodeArgs ?? []), join(root, 'bin', 'mmoe-ts.js'), ...args], { env, encoding: 'utf8' });
  if (r.stderr) throw new Error(r.stderr);
  return { status: r.status, out: JSON.parse(r.stdout) };
}

describe('bin/mmoe-ts.js and relaxed SIMD', () => {
  it('the probe is a real relaxed-SIMD check: it validates with the flag and not without', () => {
    expect(PROBE.length).toBeGreaterThan(50);
    expect(bin([], { nodeArgs: ['--experimental-wasm-relaxed-simd'] }).out.relaxed).toBe(true);
    expect(bin([], { nodeArgs: ['--no-experimental-wasm-relaxed-simd'], env: { MMOE_TS_NO_REEXEC: '1' } }).out.relaxed).toBe(false);
  });

  it(needsFlag ? 're-runs node once with the flag, keeping arguments and the exit status' : 'does not re-run node, which accepts relaxed SIMD already', () => {
    const r = bin(['train', '--config', 'a b.json', 'fail']);
    expect(r.status).toBe(3);
    expect(r.out.args).toEqual(['train', '--config', 'a b.json', 'fail']);
    expect(r.out.relaxed).toBe(true);
    expect(r.out.flags).toEqual(needsFlag ? ['--experimental-wasm-relaxed-simd'] : []);
    expect(r.out.marker).toBe(needsFlag ? '1' : null);
  });

  it('never re-runs twice: not when the flag is given, the marker is set, or MMOE_TS_NO_REEXEC=1', () => {
    const given = bin(['x'], { nodeArgs: ['--experimental-wasm-relaxed-simd'] });
    expect(given.out).toMatchObject({ flags: ['--experimental-wasm-relaxed-simd'], marker: null, relaxed: true });
    const marked = bin(['x'], { env: { MMOE_TS_REEXEC: '1' } });
    expect(marked.out.flags).toEqual([]);
    expect(marked.out.relaxed).toBe(!needsFlag);
    const off = bin(['x'], { env: { MMOE_TS_NO_REEXEC: '1' } });
    expect(off.out).toMatchObject({ flags: [], marker: null, relaxed: !needsFlag });
  });
});

describe('enableRelaxedSimd and backendInfo().reason', () => {
  it('reports the slow path and why, then the fast path after enableRelaxedSimd()', () => {
    const script = `
      import { backendInfo, enableRelaxedSimd, matmul, randn } from './src/node.ts';
      const before = backendInfo();
      const on = enableRelaxedSimd();
      matmul(randn([64, 64]), randn([64, 64]));
      console.log(JSON.stringify({ before, on, after: backendInfo() }));`;
    const env = { ...process.env };
    delete env.MMOE_TS_BACKEND;
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: join(import.meta.dirname, '..', '..'), env, encoding: 'utf8' });
    expect(r.stderr).toBe('');
    const { before, on, after } = JSON.parse(r.stdout);
    expect(on).toBe(true);
    expect(after.relaxedSimd).toBe(true);
    if (needsFlag) {
      expect(before.reason).toMatch(/^WebAssembly SIMD, plain mul\+add: this runtime rejects relaxed SIMD \(Node 20: run node with --experimental-wasm-relaxed-simd, or call enableRelaxedSimd\(\)/);
      expect(after.reason).toMatch(/fast path\): enableRelaxedSimd\(\) turned on the V8 flag/);
    } else {
      expect(after.reason).toMatch(/fast path\): this runtime accepts relaxed SIMD by default/);
    }
  });
});
