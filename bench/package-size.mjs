// `npm run size`: the sizes the README quotes, measured rather than typed — the npm tarball
// (packed and unpacked, as `npm pack` reports them after a fresh build) and the package root
// bundled for a browser by esbuild (minified, and gzipped). Writes bench/results/package-size.json
// and, with --readme, puts the figures into README.md's sentence about them (test/docs/figures.test.ts
// checks that the README and the JSON agree).
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const run = (cmd, args) => {
  const r = spawnSync(cmd, args, { cwd: root, encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed:\n${r.stderr}`);
  return r.stdout;
};

run('npm', ['run', 'build']);
const [pack] = JSON.parse(run('npm', ['pack', '--dry-run', '--json', '--ignore-scripts']));
const bundle = await build({
  stdin: { contents: "export * from './src/index.ts';", resolveDir: root, loader: 'ts' },
  bundle: true, write: false, minify: true, platform: 'browser', format: 'esm', target: 'es2022', logLevel: 'silent',
});
const code = bundle.outputFiles[0].contents;
const kB = (n) => Math.round(n / 100) / 10;
const result = {
  measured: new Date().toISOString().slice(0, 10),
  version: pack.version,
  tarball: { packedKB: kB(pack.size), unpackedKB: kB(pack.unpackedSize), files: pack.entryCount },
  browserBundle: { minifiedKB: kB(code.length), gzippedKB: kB(gzipSync(code).length), what: 'the whole package root (export *), esbuild --minify, platform browser' },
};
mkdirSync(join(root, 'bench', 'results'), { recursive: true });
writeFileSync(join(root, 'bench', 'results', 'package-size.json'), `${JSON.stringify(result, null, 2)}\n`);
console.log(JSON.stringify(result, null, 2));

/** README.md's sentence with these figures; the figures test parses it with the same pattern. */
export function sizeSentence(r) {
  return `Sizes, from \`npm run size\` (\`bench/results/package-size.json\`, measured ${r.measured}): the npm tarball\n`
    + `is ${r.tarball.packedKB} kB packed (${r.tarball.unpackedKB} kB unpacked, ${r.tarball.files} files); the whole package root bundled\n`
    + `for a browser by esbuild is ${r.browserBundle.minifiedKB} kB minified, ${r.browserBundle.gzippedKB} kB gzipped.`;
}

if (process.argv.includes('--readme')) {
  const file = join(root, 'README.md');
  const text = readFileSync(file, 'utf8');
  const re = /Sizes, from `npm run size`[\s\S]*? kB gzipped\./;
  if (!re.test(text)) throw new Error('package-size: README.md has no "Sizes, from `npm run size` … kB gzipped." sentence to update');
  writeFileSync(file, text.replace(re, sizeSentence(result)));
  console.log('updated README.md');
}
