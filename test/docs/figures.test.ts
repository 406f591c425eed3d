import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

/*
 * Figures the README quotes come from scripts, not from hand: the size sentence must say what
 * `npm run size` last wrote to bench/results/package-size.json (`npm run size -- --readme`
 * rewrites the sentence from a fresh measurement).
 */

const root = join(import.meta.dirname, '..', '..');

describe('figures quoted in README.md', () => {
  it('the package sizes are those of bench/results/package-size.json', () => {
    // The same sentence as sizeSentence() in bench/package-size.mjs (not imported: importing it measures).
    const r = JSON.parse(readFileSync(join(root, 'bench', 'results', 'package-size.json'), 'utf8'));
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    const expected = `Sizes, from \`npm run size\` (\`bench/results/package-size.json\`, measured ${r.measured}): the npm tarball\n`
      + `is ${r.tarball.packedKB} kB packed (${r.tarball.unpackedKB} kB unpacked, ${r.tarball.files} files); the whole package root bundled\n`
      + `for a browser by esbuild is ${r.browserBundle.minifiedKB} kB minified, ${r.browserBundle.gzippedKB} kB gzipped.`;
    expect(readme).toContain(expected);
  });

  it('the README stays under 25 kB', () => {
    expect(readFileSync(join(root, 'README.md')).length).toBeLessThanOrEqual(25_000);
  });
});
