#!/usr/bin/env node
// Serves the demo page (npm run web) with nothing but node:http: localhost only, GET and HEAD only,
// files under web/ only (no listings, no dot-files, nothing outside via .. or symlinks).
import { createServer } from 'node:http';
import { realpathSync, statSync, createReadStream } from 'node:fs';
import { extname, join, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const TYPES = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8', '.svg': 'image/svg+xml', '.png': 'image/png', '.ico': 'image/x-icon',
  '.wasm': 'application/wasm',
};

/** Starts the server; resolves once it listens. `port` 0 picks a free one (the tests do). */
export function serveWeb({ port = 8080, host = '127.0.0.1', root = fileURLToPath(new URL('.', import.meta.url)) } = {}) {
  if (host !== '127.0.0.1' && host !== 'localhost' && host !== '::1') throw new Error(`serveWeb: host must be a loopback address, got ${host}`);
  const base = realpathSync(root);
  const server = createServer((req, res) => {
    const send = (status, text) => {
      res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' });
      res.end(`${text}\n`);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, 'only GET and HEAD');
    if ((req.url ?? '').length > 2048) return send(414, 'URL too long');
    let path;
    try {
      path = decodeURIComponent(new URL(req.url ?? '/', 'http://localhost').pathname);
    } catch {
      return send(400, 'bad URL');
    }
    if (path.endsWith('/')) path += 'index.html';
    if (path.split('/').some((seg) => seg.startsWith('.')) || path.includes('\0')) return send(404, 'not found');
    let file;
    try {
      file = realpathSync(join(base, path));
      if (!file.startsWith(base + sep) || !statSync(file).isFile()) return send(404, 'not found');
    } catch {
      return send(404, 'not found');
    }
    const type = TYPES[extname(file)];
    if (!type) return send(404, 'not found');
    res.writeHead(200, {
      'content-type': type, 'cache-control': 'no-store', 'x-content-type-options': 'nosniff',
      // Cross-origin isolation, so SharedArrayBuffer (WebAssembly threads) is available to the workers.
      'cross-origin-opener-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp',
    });
    if (req.method === 'HEAD') return res.end();
    createReadStream(file).on('error', () => res.destroy()).pipe(res);
  });
  server.requestTimeout = 10_000;
  server.headersTimeout = 5_000;
  server.maxHeadersCount = 50;
  server.maxConnections = 64;
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve(server));
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const arg = process.argv.indexOf('--port');
  const port = Number(arg > 0 ? process.argv[arg + 1] : process.env.PORT ?? 8080);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    console.error(`web: --port must be an integer in 0..65535, got ${process.argv[arg + 1] ?? process.env.PORT}`);
    process.exit(2);
  }
  const server = await serveWeb({ port }).catch((e) => {
    console.error(e.code === 'EADDRINUSE' ? `web: port ${port} is in use; pass --port N (0 picks a free one)` : `web: ${e.message}`);
    process.exit(1);
  });
  const { port: actual } = server.address();
  console.log(`web: the mmoe-ts demo is at http://127.0.0.1:${actual}/ (localhost only; Ctrl-C stops)`);
}
