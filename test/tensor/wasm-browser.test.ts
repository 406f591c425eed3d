import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/*
 * The WebAssembly backend in a real browser (headless Chromium, where installed): bundled for
 * the browser (no Node built-in may be imported), on a cross-origin-isolated page it must run its
 * Web Worker pool and give the one-thread bits; on a page without isolation it must run on one
 * thread without an error.
 */

const chromium = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'].find((p) => existsSync(p));
/** esbuild comes with tsx and vite (no dependency of its own for this test). */
const esbuildPath = ((): string | undefined => {
  try {
    return createRequire(import.meta.url).resolve('esbuild');
  } catch {
    return undefined;
  }
})();

let dir = '';
let server: Server | undefined;
let port = 0;

beforeAll(async () => {
  if (!chromium || !esbuildPath) return;
  dir = mkdtempSync(join(tmpdir(), 'mmoe-wasm-browser-'));
  const { buildSync } = (await import(esbuildPath)) as typeof import('esbuild');
  buildSync({
    entryPoints: [join(__dirname, 'fixtures', 'wasm-browser-page.ts')],
    bundle: true, format: 'esm', platform: 'browser', outfile: join(dir, 'page.js'), logLevel: 'silent',
  });
  const js = readFileSync(join(dir, 'page.js'));
  server = createServer((req, res) => {
    const isolated = req.url?.startsWith('/iso');
    const headers = isolated ? { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' } : {};
    if (req.url?.endsWith('page.js')) {
      res.writeHead(200, { 'content-type': 'text/javascript', ...headers });
      res.end(js);
    } else {
      res.writeHead(200, { 'content-type': 'text/html', ...headers });
      res.end('<!doctype html><html><body></body><script type="module" src="page.js"></script></html>');
    }
  });
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', () => r()));
  port = (server.address() as { port: number }).port;
});

afterAll(() => {
  server?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Loads the page (asynchronously: the server answering it lives in this process). */
async function visit(path: string): Promise<Record<string, unknown>> {
  const r = await new Promise<{ stdout: string; stderr: string }>((resolve) => execFile(chromium!, [
    '--headless=new', '--no-sandbox', '--disable-gpu', `--user-data-dir=${join(dir, `profile${path.replace(/\W/g, '')}`)}`,
    '--virtual-time-budget=20000', '--dump-dom', `http://127.0.0.1:${port}${path}`,
  ], { encoding: 'utf8', timeout: 60_000 }, (_err, stdout, stderr) => resolve({ stdout, stderr })));
  const m = /RESULT (\{.*\})/.exec(r.stdout);
  if (!m) throw new Error(`no result from Chromium: ${r.stdout.slice(0, 300)} ${r.stderr.slice(0, 300)}`);
  return JSON.parse(m[1].replace(/&quot;/g, '"').replace(/&amp;/g, '&')) as Record<string, unknown>;
}

describe.skipIf(!chromium || !esbuildPath)('WebAssembly backend in headless Chromium', () => {
  it('uses a Web Worker pool on a cross-origin-isolated page, with the one-thread bits', async () => {
    const r = await visit('/iso/');
    expect(r.error).toBeUndefined();
    expect(r.isolated).toBe(true);
    expect(r.info).toMatchObject({ backend: 'wasm', simd: true, sharedMemory: true });
    expect((r.info as { threads: number }).threads).toBeGreaterThan(1);
    expect(r.workerChunks as number).toBeGreaterThan(0);
    expect(r.identical).toBe(true);
    expect(r.maxDiff as number).toBeLessThan(1e-3);
  });

  it('runs on one thread without an error when the page is not isolated', async () => {
    const r = await visit('/plain/');
    expect(r.error).toBeUndefined();
    expect(r.isolated).toBe(false);
    expect(r.info).toMatchObject({ backend: 'wasm', simd: true, sharedMemory: false, threads: 1 });
    expect(r.workerChunks).toBe(0);
    expect(r.identical).toBe(true);
  });
});

