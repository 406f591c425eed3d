#!/usr/bin/env node
// Bundles the demo page and its worker (web/src → web/dist) with esbuild, straight from the
// library's TypeScript sources: one file each, so the page loads two scripts, not a hundred modules.
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';

const web = fileURLToPath(new URL('.', import.meta.url));

export async function buildWeb({ quiet = false } = {}) {
  const common = { bundle: true, platform: 'browser', target: 'es2022', sourcemap: true, logLevel: quiet ? 'silent' : 'warning', absWorkingDir: web };
  await Promise.all([
    build({ ...common, entryPoints: ['src/main.ts'], outfile: 'dist/main.js', format: 'esm' }),
    // A classic worker script (format iife): module workers are newer than the rest of what the page needs.
    build({ ...common, entryPoints: ['src/worker.ts'], outfile: 'dist/worker.js', format: 'iife' }),
  ]);
  if (!quiet) console.log('web: built web/dist/main.js and web/dist/worker.js');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await buildWeb();
