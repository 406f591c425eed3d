#!/usr/bin/env node
// The published entry point: runs the compiled CLI (`npm run build` writes dist/).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const main = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(fileURLToPath(main))) {
  process.stderr.write('mmoe-ts: dist/cli/main.js is missing; run `npm run build` first\n');
  process.exit(1);
}
await import(main.href);
