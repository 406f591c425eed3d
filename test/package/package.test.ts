import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, normalize, resolve } from 'node:path';
import { transformSync } from 'esbuild';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/run.js';

/* What an npm user gets: the exports map, the tarball's contents, require(), --version. */

const root = resolve(__dirname, '../..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const tmp = mkdtempSync(join(tmpdir(), 'mmoe-ts-package-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('package.json', () => {
  it('exports the browser-safe root and the Node entry, each with types, import and require', () => {
    expect(Object.keys(pkg.exports)).toEqual(['.', './node', './package.json']);
    for (const [sub, base] of [['.', 'index'], ['./node', 'node']]) {
      expect(pkg.exports[sub].types).toBe(`./dist/${base}.d.ts`);
      expect(pkg.exports[sub].import).toBe(`./dist/${base}.js`);
      expect(pkg.exports[sub].require).toMatch(/^\.\/dist\/require.*\.cjs$/);
      // The files tsc writes them from: each points at a source that exists.
      expect(existsSync(join(root, 'src', `${base}.ts`))).toBe(true);
      expect(existsSync(join(root, pkg.exports[sub].require.replace('./dist/', 'src/').replace(/\.cjs$/, '.cts')))).toBe(true);
    }
  });

  it('builds before packing, ships the MIT LICENSE it declares, and marks only real side effects', () => {
    expect(pkg.scripts.prepack).toBe('npm run build');
    expect(pkg.license).toBe('MIT');
    expect(readFileSync(join(root, 'LICENSE'), 'utf8')).toMatch(/^MIT License\n/);
    for (const f of pkg.sideEffects as string[]) {
      const src = f.replace('./dist/', './src/').replace(/\.js$/, '.ts');
      expect(existsSync(join(root, src)), f).toBe(true);
    }
  });
});

describe('the npm tarball (npm pack --dry-run)', () => {
  const r = spawnSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: root, encoding: 'utf8', timeout: 60_000 });
  const files: string[] = r.status === 0 ? JSON.parse(r.stdout)[0].files.map((f: { path: string }) => f.path) : [];
  const built = existsSync(join(root, 'dist', 'index.js'));

  it('holds the license, readme, executable, sources and the example the README trains, but no census data, tests or benchmarks', () => {
    expect(r.status, r.stderr).toBe(0);
    for (const f of ['LICENSE', 'README.md', 'package.json', 'bin/mmoe-ts.js', 'src/index.ts', 'src/node.ts', 'examples/clicks-mmoe.json', 'examples/clicks.csv']) expect(files).toContain(f);
    expect(files.filter((f) => /^(data|test|bench|web|\.ci)\//.test(f))).toEqual([]);
  });

  // The build is npm run build's job (CI runs it before the tests); without it there is nothing to check here.
  const inCI = !['', '0', 'false'].includes((process.env.CI ?? '').toLowerCase());
  const needsBuild = built || inCI ? it : it.skip;
  needsBuild('holds the built entries, and every source map points at a file in the tarball', () => {
    for (const f of ['dist/index.js', 'dist/index.d.ts', 'dist/node.js', 'dist/require.cjs', 'dist/require-node.cjs', 'dist/cli/main.js']) expect(files).toContain(f);
    const shipped = new Set(files);
    const maps = files.filter((f) => f.endsWith('.map'));
    expect(maps.length).toBeGreaterThan(0);
    const dangling: string[] = [];
    for (const m of maps) {
      const map = JSON.parse(readFileSync(join(root, m), 'utf8')) as { sources: string[]; sourceRoot?: string };
      for (const s of map.sources) {
        const target = normalize(join(dirname(m), map.sourceRoot ?? '', s));
        if (!shipped.has(target)) dangling.push(`${m} -> ${target}`);
      }
    }
    expect(dangling).toEqual([]);
  });

  needsBuild('the built CommonJS entries give the same module instances as import', async () => {
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', `
      import { createRequire } from 'node:module';
      const require = createRequire(${JSON.stringify(join(root, 'package.json'))});
      const root = require('mmoe-ts'), node = require('mmoe-ts/node');
      const esm = await import('mmoe-ts');
      console.log(JSON.stringify([typeof root.MMoE, root.MMoE === esm.MMoE, node.MMoE === esm.MMoE, typeof node.saveSafetensors, typeof root.saveSafetensors]));
    `], { cwd: root, encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toEqual(['function', true, true, 'function', 'undefined']);
  });
});

describe('require()', () => {
  // The CommonJS entry, transpiled the way tsc does, beside a stand-in ES module.
  const dir = join(tmp, 'cjs');
  spawnSync('mkdir', ['-p', dir]);
  for (const f of ['require', 'require-esm']) {
    const code = transformSync(readFileSync(join(root, 'src', `${f}.cts`), 'utf8'), { loader: 'ts', format: 'cjs' }).code;
    writeFileSync(join(dir, `${f}.cjs`), code);
  }
  writeFileSync(join(dir, 'package.json'), '{ "type": "module" }');
  writeFileSync(join(dir, 'index.js'), 'export const answer = 42;\n');
  const run = (...flags: string[]) => spawnSync(process.execPath, [...flags, '-e', `console.log(require(${JSON.stringify(join(dir, 'require.cjs'))}).answer)`], { encoding: 'utf8' });

  it('hands back the ES module where Node can require() one (20.19+)', () => {
    const r = run();
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('42');
  });

  it('says to use import where it cannot', () => {
    const r = run('--no-experimental-require-module');
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/Error: mmoe-ts is an ES module and this Node \(v[\d.]+\) cannot require\(\) it: use `import \{ … \} from 'mmoe-ts'`/);
    expect(r.stderr).not.toMatch(/ERR_PACKAGE_PATH_NOT_EXPORTED/);
  });
});

describe('mmoe-ts --version', () => {
  it('prints the version of package.json and exits 0', async () => {
    for (const flag of ['--version', '-V']) {
      let out = '';
      const status = await runCli([flag], { out: { write: (s: string) => { out += s; } }, err: { write: () => {} } });
      expect(status).toBe(0);
      expect(out).toBe(`${pkg.version}\n`);
    }
  });
});
