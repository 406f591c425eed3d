import type { Server } from 'node:http';
import { request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/* web/serve.mjs, the demo's server: loopback only, GET/HEAD only, files under web/ only. */

const root = resolve(__dirname, '../..');
let server: Server;
let port = 0;

beforeAll(async () => {
  const { serveWeb } = await import(join(root, 'web/serve.mjs'));
  server = await serveWeb({ port: 0 });
  port = (server.address() as AddressInfo).port;
});
afterAll(() => new Promise((done) => server.close(done)));

/** A raw request: the path goes out as written (no URL normalisation of '..'). */
function get(path: string, method = 'GET'): Promise<{ status: number; type: string; body: string; headers: Record<string, unknown> }> {
  return new Promise((ok, fail) => {
    const req = request({ host: '127.0.0.1', port, path, method }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => { body += c; });
      res.on('end', () => ok({ status: res.statusCode!, type: String(res.headers['content-type']), body, headers: res.headers }));
    });
    req.on('error', fail);
    req.end();
  });
}

describe('web/serve.mjs', () => {
  it('listens on 127.0.0.1 and refuses any other host', async () => {
    expect((server.address() as AddressInfo).address).toBe('127.0.0.1');
    const { serveWeb } = await import(join(root, 'web/serve.mjs'));
    expect(() => serveWeb({ port: 0, host: '0.0.0.0' })).toThrow(/loopback/);
  });

  it('serves the page with its type, no caching and cross-origin isolation', async () => {
    const r = await get('/');
    expect(r.status).toBe(200);
    expect(r.type).toBe('text/html; charset=utf-8');
    expect(r.body).toMatch(/<title>mmoe-ts/);
    expect(r.headers['cache-control']).toBe('no-store');
    expect(r.headers['cross-origin-opener-policy']).toBe('same-origin');
    expect(r.headers['cross-origin-embedder-policy']).toBe('require-corp');
    expect((await get('/style.css')).type).toBe('text/css; charset=utf-8');
  });

  it('gives nothing outside web/, no dot-files, no sources or configs, and only to GET and HEAD', async () => {
    for (const p of ['/../package.json', '/%2e%2e/package.json', '/..%2fpackage.json', '/src/main.ts', '/tsconfig.json', '/.gitignore', '/nope.html', '/dist/']) {
      expect((await get(p)).status, p).toBe(404);
    }
    expect((await get('/', 'POST')).status).toBe(405);
    expect((await get('/', 'HEAD')).status).toBe(200);
    expect((await get(`/${'a'.repeat(3000)}`)).status).toBe(414);
    expect((await get('/%E0%A4%A')).status).toBe(400);
  });
});
