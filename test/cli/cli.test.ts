import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { captureCli, writeTinyCsv } from './capture.js';
import { deserializeSafetensorsWithMetadata } from '../../src/nn/safetensors.js';

const root = resolve(__dirname, '../..');
const dir = mkdtempSync(join(tmpdir(), 'mmoe-ts-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs the real executable under tsx, as `npm run demo` does. */
function cli(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(root, 'src/cli/main.ts'), ...args], { cwd: root, encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const inProcess = (...args: string[]): ReturnType<typeof captureCli> => captureCli(args);


function writeConfig(name: string, config: unknown): string {
  const file = join(dir, name);
  writeFileSync(file, typeof config === 'string' ? config : JSON.stringify(config, null, 2));
  return file;
}

const goodConfig = {
  csv: 'tiny.csv',
  labels: [{ column: 'clicked', type: 'binary' }, { column: 'spend', type: 'regression' }],
  sparse: [{ column: 'city', embeddingDim: 3 }],
  dense: ['age'],
  model: { name: 'MMoE', options: { numExperts: 2, expertHiddenUnits: [8], towerHiddenUnits: [4], initStd: 0.1 } },
  training: { epochs: 2, batchSize: 16, lr: 0.01, validationSplit: 0.2, testSplit: 0.25, seed: 3 },
};

/** Exit 2, exactly one line on stderr starting with the program name, no stack frames. */
function expectUsageError(r: { status: number | null; stderr: string; stdout?: string }, pattern: RegExp): void {
  expect(r.status).toBe(2);
  const lines = r.stderr.trim().split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(/^mmoe-ts: /);
  expect(lines[0]).toMatch(pattern);
  expect(r.stderr).not.toMatch(/\n\s+at /);
}

describe('mmoe-ts executable (spawned under tsx)', () => {
  it('--help lists the commands and exits 0', () => {
    const r = cli('--help');
    expect(r.status).toBe(0);
    for (const c of ['synthetic', 'census', 'cross-claims', 'train']) expect(r.stdout).toContain(c);
  });

  it('a bad flag exits 2 with one line naming it', () => {
    expectUsageError(cli('synthetic', '--bogus', '3'), /unknown flag --bogus/);
  });

  it('a bad config exits 2 with one line naming the field', () => {
    writeTinyCsv(join(dir, 'tiny.csv'));
    const file = writeConfig('bad-model.json', { ...goodConfig, model: { name: 'MoMoE' } });
    expectUsageError(cli('train', '--config', file), /model\.name' must be one of .*MMoE.*got "MoMoE"/);
  });

  it('train --config on a tiny CSV writes metrics.json, model.safetensors and SVG figures', () => {
    writeTinyCsv(join(dir, 'tiny.csv'));
    const file = writeConfig('good.json', goodConfig);
    const out = join(dir, 'out-train');
    const r = cli('train', '--config', file, '--out', out, '--quiet');
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/test metrics \(20 rows\)/);
    const metrics = JSON.parse(readFileSync(join(out, 'metrics.json'), 'utf8'));
    expect(metrics.rows).toEqual({ total: 80, train: 44, validation: 16, test: 20 });
    expect(metrics.test.tasks.clicked.auc).toBeGreaterThanOrEqual(0);
    expect(metrics.test.tasks.spend.mse).toBeGreaterThan(0);
    expect(metrics.history.epochs).toHaveLength(2);
    const st = deserializeSafetensorsWithMetadata(new Uint8Array(readFileSync(join(out, 'model.safetensors'))));
    expect(Object.keys(st.tensors)).toContain('embedding_dict.city.weight');
    expect(st.tensors['embedding_dict.city.weight'].shape).toEqual([4, 3]); // paris, rome, oslo (+ id 0)
    expect(Object.keys(st.tensors)).toContain('gate_dnn_final_layer.1.weight');
    expect(st.metadata.model).toBe('MMoE');
    for (const svg of ['loss.svg', 'gates.svg']) expect(readFileSync(join(out, svg), 'utf8')).toMatch(/^<svg[\s\S]*<\/svg>\s*$/);
    const spec = JSON.parse(st.metadata.mmoe_ts_model);
    expect(spec.encoding.sparse.find((s: { column: string }) => s.column === 'city').vocabulary).toEqual(['oslo', 'paris', 'rome']);
    expect(existsSync(join(out, 'preprocessing.json'))).toBe(false);
  });
});

describe('mmoe-ts in process', () => {
  it.each([
    [['frobnicate'], /unknown command 'frobnicate'/],
    [['synthetic', '--runs', 'zero'], /--runs expects a number, got 'zero'/],
    [['synthetic', '--runs', '1.5'], /--runs expects an integer/],
    [['synthetic', '--runs', '0'], /--runs must be >= 1, got 0/],
    [['synthetic', '--correlations', '0.5,2'], /--correlations must be <= 1, got 2/],
    [['synthetic', '--models', 'mmoe,xgboost'], /unknown model 'xgboost'/],
    [['synthetic', '--models', 'mmoe,omoe,mmoe'], /^mmoe-ts: synthetic: --models: 'mmoe,omoe,mmoe' names a model twice$/],
    [['synthetic', '--correlations', '0.5,0.9,0.5'], /^mmoe-ts: synthetic: --correlations: '0.5,0.9,0.5' names a correlation twice$/],
    [['synthetic', '--epochs'], /--epochs needs a value/],
    [['synthetic', 'extra'], /unexpected argument 'extra'/],
    [['synthetic', '--quiet', '--quiet'], /--quiet given twice/],
    [['synthetic', '--out='], /^mmoe-ts: synthetic: --out needs a non-empty value$/],
    [['train', '--config', ''], /^mmoe-ts: train: --config needs a non-empty value$/],
    [['synthetic', '--paper', '--pilot'], /^mmoe-ts: synthetic: --paper and --pilot cannot be combined$/],
    [['synthetic', '--results', 'r.jsonl'], /^mmoe-ts: synthetic: --results goes with --paper or --pilot$/],
    [['synthetic', '--paper', '--lr', '0.01'], /--lr cannot be combined with --paper: its pilot chooses the rates/],
    [['synthetic', '--bottom-units', 'wide'], /--bottom-units expects a positive integer or 'matched', got 'wide'/],
    [['synthetic', '--quiet=yes'], /^mmoe-ts: synthetic: --quiet takes no value \(or true\/false\), got 'yes'$/],
    [['census', '--models', 'dcn'], /unknown model 'dcn'/],
    [['census', '--groups', 'income-marital,nope'], /^mmoe-ts: census: --groups: unknown group 'nope', expected some of income-marital, education-marital$/],
    [['census', '--models', 'mmoe,mmoe'], /^mmoe-ts: census: --models: 'mmoe,mmoe' names one twice$/],
    [['census', '--seeds', '0'], /--seeds must be >= 1, got 0/],
    [['cross-claims', '--layers', '1,1'], /^mmoe-ts: cross-claims: --layers: '1,1' names a layer count twice$/],
    [['cross-claims', '--layers', '1.5'], /--layers expects integers, got 1.5/],
    [['cross-claims', '--targets', 'cubic'], /unknown target 'cubic'/],
    [['train'], /--config FILE is required/],
    [['train', '--config', '/nonexistent/config.json'], /cannot read .*config\.json: ENOENT/],
    [['synthetic', '--epoch', '3'], /^mmoe-ts: synthetic: unknown flag --epoch \(did you mean --epochs\?\) \(see mmoe-ts synthetic --help\)$/],
    [['census', '--batchsize', '8'], /^mmoe-ts: census: unknown flag --batchsize \(did you mean --batch-size\?\)/],
    [['synthetic', '-q'], /^mmoe-ts: synthetic: unexpected argument '-q'/],
    [['synthetic', '--', '--quiet'], /^mmoe-ts: synthetic: unexpected argument '--'/],
    [['census', '--data', '/nonexistent/census.gz'], /^mmoe-ts: census: --data: no file \/nonexistent\/census\.gz$/],
    [['synthetic', '--pilot', '--train-size', '64', '--batch-size', '8', '--log-every', '3'], /^mmoe-ts: synthetic: --log-every 3 must divide the 8 steps per epoch \(--train-size 64 \/ --batch-size 8\)/],
  ])('%j exits 2 with one line', async (args, pattern) => {
    expectUsageError(await inProcess(...(args as string[])), pattern);
  });

  it('an --out that is an existing file fails before any training, for every command', async () => {
    const file = join(dir, 'a-file');
    writeFileSync(file, 'keep me');
    writeTinyCsv(join(dir, 'tiny.csv'));
    const config = writeConfig('good-for-out.json', goodConfig);
    for (const args of [['synthetic', '--quiet'], ['census', '--quiet'], ['cross-claims', '--quiet'], ['train', '--config', config, '--quiet']]) {
      const r = await inProcess(...args, '--out', file);
      expectUsageError(r, new RegExp(`^mmoe-ts: ${args[0]}: --out: .*a-file is an existing file, not a folder$`));
      expect(r.stdout).toBe(''); // nothing was trained
    }
    expect(readFileSync(file, 'utf8')).toBe('keep me');
    const r = await inProcess('synthetic', '--paper', '--results', dir, '--out', join(dir, 'paper-out'), '--quiet');
    expectUsageError(r, /^mmoe-ts: synthetic: --results: .* is a folder, not a file$/);
  });

  it('an unusable --out folder fails before any training', async () => {
    const r = await inProcess('synthetic', '--out', '/dev/null/figures', '--quiet');
    expect(r.status).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/ENOTDIR/);
    expect(r.stdout).toBe(''); // no table: nothing was trained
  });

  it.each([
    ['not JSON', '{ "csv": ', /is not valid JSON/],
    ['unknown key', { ...goodConfig, epochs: 3 }, /unknown key 'epochs'/],
    ['bad label type', { ...goodConfig, labels: [{ column: 'clicked', type: 'ranking' }] }, /labels\[0\]\.type' must be "binary", "regression" or "multiclass"/],
    ['column used twice', { ...goodConfig, dense: ['age', 'clicked'] }, /column 'clicked' is used twice/],
    ['missing column', { ...goodConfig, dense: ['height'] }, /dense column 'height' is not in .*tiny\.csv \(columns: city, age, clicked, spend\)/],
    ['bad model option', { ...goodConfig, model: { name: 'MMoE', options: { numExperts: 0, expertHiddenUnits: [4] } } }, /model\.options for MMoE: MMoE: numExperts/],
    ['reserved model option', { ...goodConfig, model: { name: 'MMoE', options: { taskTypes: ['binary'] } } }, /model\.options\.taskTypes' is set from the data/],
    ['splits too large', { ...goodConfig, training: { validationSplit: 0.5, testSplit: 0.5 } }, /validationSplit \+ training\.testSplit must be < 1/],
    ['bad optimizer', { ...goodConfig, training: { optimizer: 'lbfgs' } }, /training\.optimizer' must be one of adam/],
    ['unknown loss weight', { ...goodConfig, training: { lossWeights: { clicks: 1 } } }, /lossWeights' names unknown task 'clicks'/],
    ['monitor never logged', { ...goodConfig, training: { epochs: 1, earlyStopping: { monitor: 'val_clicked_f1' } } }, /earlyStopping monitors 'val_clicked_f1', which is not logged/],
  ])('a config with %s exits 2 with one line naming the problem', async (_what, config, pattern) => {
    writeTinyCsv(join(dir, 'tiny.csv'));
    const file = writeConfig(`cfg-${String(_what).replace(/\W+/g, '-')}.json`, config);
    expectUsageError(await inProcess('train', '--config', file, '--out', join(dir, 'unused'), '--quiet'), pattern);
  });

  it('a malformed CSV row is an error naming the file and line (exit 1, one line)', async () => {
    writeFileSync(join(dir, 'broken.csv'), 'city,age,clicked,spend\nparis,30,1,2.5\nrome,41,0\n');
    const file = writeConfig('broken.json', { ...goodConfig, csv: 'broken.csv' });
    const r = await inProcess('train', '--config', file, '--quiet');
    expect(r.status).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/broken\.csv:3: expected 4 fields, got 3/);
  });

  it('synthetic writes the cell table, the findings and the figures', async () => {
    const out = join(dir, 'out-synthetic');
    const r = await inProcess('synthetic', '--runs', '3', '--epochs', '1', '--train-size', '128', '--validation-size', '32', '--test-size', '64',
      '--batch-size', '64', '--log-every', '1', '--correlations', '0.5,1', '--out', out, '--quiet');
    expect(r.status).toBe(0);
    expect(r.stderr).toBe('');
    for (const m of ['MMoE', 'OMoE', 'Shared-Bottom']) expect(r.stdout).toMatch(new RegExp(`\\| ${m} +\\| +0\\.5 \\| +3 \\|`));
    expect(r.stdout).toMatch(/\| F3  MMoE beats Shared-Bottom at ρ=0\.5 +\| +median Δ [-+]\d\.\d{4} \([-+][\d.]+%\) \| +\d\.\d{4} \| +(holds|does not hold) \|/);
    expect(r.stdout).toContain('Shared-Bottom with a bottom of 113 units (the paper\'s)');
    expect(r.stdout).toContain(`Fig. 4, test loss against step (mean, IQR band): ${join(out, 'curves.svg')}`);
    for (const f of ['curves.svg', 'histograms.svg', 'shared-bottom.svg', 'gates.svg', 'model.safetensors']) expect(existsSync(join(out, f))).toBe(true);
    const metrics = JSON.parse(readFileSync(join(out, 'metrics.json'), 'utf8'));
    expect(metrics.runs).toHaveLength(3 * 2 * 3);
    expect(metrics.runs[0].steps).toEqual([1, 2]);
    expect(metrics.findings.length).toBeGreaterThan(0);
    // Mean gate weights of the first MMoE per correlation: 2 tasks × 8 experts, each row a distribution.
    expect(metrics.meanGateWeights).toHaveLength(2);
    for (const row of metrics.meanGateWeights[0].values) expect(row.reduce((a: number, b: number) => a + b, 0)).toBeCloseTo(1, 5);
    expect(metrics.settings.bottomUnits).toBe(113);
    // The rates are the recorded pilot's.
    expect(metrics.settings.lr).toEqual(metrics.pilot.choice.lr);
  });

  it('synthetic --bottom-units matched sizes Shared-Bottom to MMoE\'s parameter count', async () => {
    const out = join(dir, 'out-matched');
    const r = await inProcess('synthetic', '--runs', '1', '--epochs', '1', '--train-size', '64', '--validation-size', '8', '--test-size', '16',
      '--batch-size', '64', '--correlations', '1', '--models', 'mmoe,shared-bottom', '--bottom-units', 'matched', '--out', out, '--quiet');
    expect(r.status).toBe(0);
    const metrics = JSON.parse(readFileSync(join(out, 'metrics.json'), 'utf8'));
    expect(metrics.settings.bottomUnits).toBe(126);
    expect(Math.abs(metrics.parameters['shared-bottom'] - metrics.parameters.mmoe)).toBeLessThan(120);
  });

  it('the shipped example config trains (examples/clicks-mmoe.json)', async () => {
    const out = join(dir, 'out-example');
    const r = await inProcess('train', '--config', join(root, 'examples/clicks-mmoe.json'), '--epochs', '1', '--out', out, '--quiet');
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    for (const task of ['clicked', 'purchased', 'dwell']) expect(r.stdout).toContain(`| ${task} `);
  });

  it('census on the first rows of the packaged file prints both task groups, AUC mean ± sd and best per model, and writes its outputs', async () => {
    const out = join(dir, 'out-census');
    const r = await inProcess('census', '--limit', '3000', '--seeds', '2', '--out', out, '--quiet');
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('Group 1: income > 50K, never married');
    expect(r.stdout).toContain('Group 2: college degree, never married');
    for (const m of ['MMoE', 'OMoE', 'Shared-Bottom', 'Single-Task', 'PLE']) {
      // Once per group: name, parameters, runs, then mean ± sd and best for each task.
      const row = new RegExp(`\\| ${m} +\\| +\\d+ \\| +2 \\| +0\\.\\d{4} ± 0\\.\\d{4} \\| +0\\.\\d{4} \\| +0\\.\\d{4} ± 0\\.\\d{4} \\| +0\\.\\d{4} \\|`, 'g');
      expect(r.stdout.match(row)?.length).toBe(2);
    }
    for (const f of ['metrics.json', 'results.md', 'model.safetensors', 'gates.svg']) expect(existsSync(join(out, f))).toBe(true);
    const metrics = JSON.parse(readFileSync(join(out, 'metrics.json'), 'utf8'));
    expect(metrics.groups.map((g: { rows: unknown }) => g.rows)).toEqual([
      { train: 2100, validation: 300, test: 600 }, { train: 2100, validation: 300, test: 600 },
    ]);
    expect(metrics.runs.length).toBe(2 * 5 * 2);
    expect(metrics.groups[1].taskNames).toEqual(['college', 'never_married']);
  });

  it('cross-claims prints the parameter table against d·L·2 and both polynomial fits, and writes its outputs', async () => {
    const out = join(dir, 'out-cross');
    const r = await inProcess('cross-claims', '--seeds', '1', '--layers', '1', '--steps', '100', '--out', out, '--quiet');
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/\| 8 +\| +3 \| +48 \| +48 \| +yes \| +216 \|/);
    expect(r.stdout).not.toMatch(/\| NO \|/);
    for (const t of ['cross-span', 'all-monomials']) expect(r.stdout).toMatch(new RegExp(`\\| ${t} +\\| +1 \\| +45 \\| +25 \\| `));
    for (const f of ['metrics.json', 'results.md']) expect(existsSync(join(out, f))).toBe(true);
    const metrics = JSON.parse(readFileSync(join(out, 'metrics.json'), 'utf8'));
    expect(metrics.fits.length).toBe(2);
    expect(metrics.fits[0].cross.testMse).toBeGreaterThanOrEqual(0);
  });

  it('each command has its own --help', async () => {
    for (const c of ['synthetic', 'census', 'cross-claims', 'train']) {
      const r = await inProcess(c, '--help');
      expect(r.status).toBe(0);
      expect(r.stdout).toMatch(/^Usage: mmoe-ts /);
      expect(r.stdout).toContain('--out');
    }
  });
});
