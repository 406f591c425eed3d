import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

/*
 * Every ```ts block of README.md and docs/**\/*.md is a program a reader may paste: each is
 * extracted on its own (no block may lean on another), its imports of 'mmoe-ts' and 'mmoe-ts/node'
 * pointed at the sources, type-checked strictly as an ES module, and run with tsx in a fresh
 * process (cwd: a scratch folder, so files it writes land there). Blocks stay small and fast.
 */

const root = join(import.meta.dirname, '..', '..');
const scratch = join(root, '.tmp', 'snippets');

function markdownFiles(): string[] {
  const out = [join(root, 'README.md')];
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir).sort()) {
      const p = join(dir, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (name.endsWith('.md')) out.push(p);
    }
  };
  walk(join(root, 'docs'));
  return out;
}

interface Snippet { id: string; where: string; code: string; file: string }

function extract(): Snippet[] {
  const snippets: Snippet[] = [];
  for (const md of markdownFiles()) {
    const lines = readFileSync(md, 'utf8').split('\n');
    for (let i = 0; i < lines.length; i++) {
      if (lines[i].trim() !== '```ts') continue;
      const start = i + 1;
      let end = start;
      while (end < lines.length && lines[end].trim() !== '```') end++;
      const rel = relative(root, md);
      const id = `${rel.replace(/[^A-Za-z0-9]+/g, '_')}_L${start}`;
      const code = lines.slice(start, end).join('\n');
      snippets.push({ id, where: `${rel}:${start}`, code, file: join(scratch, `${id}.ts`) });
      i = end;
    }
  }
  return snippets;
}

const snippets = extract();
rmSync(scratch, { recursive: true, force: true });
mkdirSync(scratch, { recursive: true });
for (const s of snippets) {
  const code = s.code
    .replace(/from 'mmoe-ts'/g, "from '../../src/index.js'")
    .replace(/from 'mmoe-ts\/node'/g, "from '../../src/node.js'");
  writeFileSync(s.file, `${code}\nexport {};\n`);
}

describe('TypeScript blocks of README.md and docs/', () => {
  it('there are blocks to check, and each imports the package by its published names only', () => {
    expect(snippets.length).toBeGreaterThanOrEqual(8);
    for (const s of snippets) {
      const specifiers = [...s.code.matchAll(/from '([^']+)'/g)].map((m) => m[1]);
      expect(specifiers.filter((p) => p !== 'mmoe-ts' && p !== 'mmoe-ts/node' && !p.startsWith('node:')), s.where).toEqual([]);
    }
  });

  it('every block type-checks on its own (strict)', () => {
    const program = ts.createProgram(snippets.map((s) => s.file), {
      target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext,
      lib: ['lib.es2022.d.ts', 'lib.dom.d.ts'], types: ['node'], strict: true, noEmit: true, skipLibCheck: true, esModuleInterop: true,
    });
    const problems = ts.getPreEmitDiagnostics(program)
      .filter((d) => d.file && d.file.fileName.startsWith(scratch))
      .map((d) => {
        const s = snippets.find((x) => x.file === d.file!.fileName)!;
        const { line } = d.file!.getLineAndCharacterOfPosition(d.start ?? 0);
        return `${s.where.replace(/:\d+$/, '')}:${Number(s.where.split(':').pop()) + line + 1}: ${ts.flattenDiagnosticMessageText(d.messageText, ' ')}`;
      });
    expect(problems).toEqual([]);
  }, 240_000);

  for (const s of snippets) {
    it(`runs: ${s.where}`, () => {
      const r = spawnSync(process.execPath, ['--import', 'tsx', s.file], { cwd: scratch, encoding: 'utf8', timeout: 120_000, env: { ...process.env, MMOE_TS_DEBUG: '1' } });
      expect(r.stderr, `${s.where}\n${r.stderr}`).not.toMatch(/Error|error:/);
      expect(r.status, `${s.where}\n${r.stderr}`).toBe(0);
    }, 150_000);
  }
});
