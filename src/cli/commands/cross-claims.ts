import { join } from 'node:path';
import {
  POLYNOMIAL_TARGETS, crossClaimsExperiment, type CrossClaimsResult, type PolynomialFitRow, type PolynomialTarget,
} from '../../experiments/cross-claims.js';
import { formatDuration } from '../../train/progress.js';
import { UsageError, getNumber, getString, type FlagSpec, type FlagValues } from '../args.js';
import { checkOutDir, println, toJson, writeOutputs, type CliIO } from '../io.js';
import { markdownTable } from '../table.js';

export const crossClaimsFlags: Record<string, FlagSpec> = {
  d: { type: 'int', min: 1, max: 64, description: 'input width of the polynomial fits (default 8)' },
  layers: { type: 'numbers', min: 1, max: 8, placeholder: 'L,L,…', description: 'cross layers L of the fits; the target has degree L+1 (default 1,2,3)' },
  targets: { type: 'string', placeholder: 'T,T', description: `polynomial targets (default ${POLYNOMIAL_TARGETS.join(',')})` },
  seeds: { type: 'int', min: 1, description: 'fits per target and L, each with its own data, target and init (default 3)' },
  steps: { type: 'int', min: 1, description: 'Adam steps per fit (default 3000)' },
  lr: { type: 'number', min: 1e-12, description: "Adam's learning rate, 10× lower for the last third (default 0.01)" },
  'batch-size': { type: 'int', min: 1, description: 'mini-batch size (default 128)' },
  out: { type: 'string', placeholder: 'DIR', description: 'write metrics.json and results.md here (default out/cross-claims)' },
  quiet: { type: 'boolean', description: 'no progress output' },
};

/** A fit counts as exact when its held-out MSE is below this (R² > 0.999 on a unit-variance target). */
export const NEAR_ZERO_MSE = 1e-3;

const TARGET_TITLES: Record<PolynomialTarget, string> = {
  'cross-span': 'in the span (a random L-layer cross network + linear head)',
  'all-monomials': 'generic (random N(0, 1) coefficient on every monomial of degree ≤ L+1)',
};

const sci = (v: number): string => (Number.isFinite(v) ? v.toExponential(1) : '–');
const median = (v: number[]): number => {
  const s = v.slice().sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const spreadCell = (v: number[]): string => `${sci(median(v))} (${sci(Math.min(...v))}–${sci(Math.max(...v))})`;

export function crossClaimsTables(res: CrossClaimsResult): string {
  const out: string[] = [];
  out.push('(a) CrossNet parameters against the claim d·L·2 (vector; the matrix form of DCN-V2 for contrast)');
  out.push('');
  out.push(markdownTable(['d', 'L', 'CrossNet (vector)', 'd·L·2', 'equal', 'matrix (d²L + dL)'],
    res.parameters.map((r) => [String(r.d), String(r.L), String(r.vector), String(r.claimed), r.vector === r.claimed ? 'yes' : 'NO', String(r.matrix)])));
  out.push('');
  const s = res.settings;
  out.push(`(c) Fitting a polynomial of degree L+1 in d = ${s.d} inputs, x ~ U(-1, 1), target standardised to variance 1: ` +
    `held-out MSE (= 1 − R²), median (min–max) over ${s.seeds} seeds; ${s.trainRows} train / ${s.testRows} test rows, ` +
    `Adam ${s.fit.steps} steps of ${s.fit.batchSize}, lr ${s.fit.lr} (÷10 for the last third). "exact" = test MSE < ${NEAR_ZERO_MSE}.`);
  out.push('CrossNet = L cross layers + Linear(d, 1); ReLU net = one hidden ReLU layer whose width gives the closest parameter count.');
  out.push('');
  const cells = new Map<string, PolynomialFitRow[]>();
  for (const f of res.fits) {
    const k = `${f.target}\u0000${f.L}`;
    const c = cells.get(k);
    if (c) c.push(f); else cells.set(k, [f]);
  }
  out.push(markdownTable(
    ['target', 'L', 'monomials', 'CrossNet params', 'CrossNet test MSE', 'exact', 'ReLU net params (width)', 'ReLU net test MSE', 'exact'],
    [...cells.values()].map((c) => {
      const f = c[0];
      const exact = (k: 'cross' | 'dnn'): string => `${c.filter((r) => r[k].testMse < NEAR_ZERO_MSE).length}/${c.length}`;
      return [
        f.target, String(f.L), String(f.monomials),
        String(f.cross.parameters), spreadCell(c.map((r) => r.cross.testMse)), exact('cross'),
        `${f.dnn.parameters} (${f.dnnWidth})`, spreadCell(c.map((r) => r.dnn.testMse)), exact('dnn'),
      ];
    }),
  ));
  out.push('');
  for (const t of s.targets) out.push(`- ${t}: ${TARGET_TITLES[t]}`);
  out.push('');
  out.push('(b) time and peak memory against d: a measurement, in the benchmark (`npm run bench:cross-scaling`).');
  return out.join('\n');
}

export function runCrossClaims(flags: FlagValues, io: CliIO): number {
  let layers: number[] | undefined;
  if (Array.isArray(flags.layers)) {
    layers = flags.layers;
    for (const L of layers) if (!Number.isInteger(L)) throw new UsageError(`cross-claims: --layers expects integers, got ${L}`);
    if (new Set(layers).size !== layers.length) throw new UsageError(`cross-claims: --layers: '${layers.join(',')}' names a layer count twice`);
  }
  let targets: PolynomialTarget[] | undefined;
  const rawTargets = getString(flags, 'targets');
  if (rawTargets !== undefined) {
    targets = rawTargets.split(',').map((t) => t.trim()) as PolynomialTarget[];
    for (const t of targets) {
      if (!POLYNOMIAL_TARGETS.includes(t)) throw new UsageError(`cross-claims: --targets: unknown target '${t}', expected some of ${POLYNOMIAL_TARGETS.join(', ')}`);
    }
    if (new Set(targets).size !== targets.length) throw new UsageError(`cross-claims: --targets: '${rawTargets}' names a target twice`);
  }
  const outDir = getString(flags, 'out') ?? join('out', 'cross-claims');
  checkOutDir('cross-claims', 'out', outDir);
  const res = crossClaimsExperiment({
    d: getNumber(flags, 'd'), layers, targets, seeds: getNumber(flags, 'seeds'),
    fit: { ...(getNumber(flags, 'steps') !== undefined && { steps: getNumber(flags, 'steps') }), ...(getNumber(flags, 'lr') !== undefined && { lr: getNumber(flags, 'lr') }), ...(getNumber(flags, 'batch-size') !== undefined && { batchSize: getNumber(flags, 'batch-size') }) },
    onFit: flags.quiet ? undefined : (f) => io.err.write(`cross-claims: ${f.target} L=${f.L} seed ${f.seed}: test MSE CrossNet ${sci(f.cross.testMse)}, ReLU net ${sci(f.dnn.testMse)}\n`),
  });
  const tables = crossClaimsTables(res);
  println(io);
  println(io, tables);
  println(io);
  for (const p of writeOutputs(outDir, { 'metrics.json': toJson({ command: 'cross-claims', ...res }), 'results.md': `${tables}\n` })) println(io, `wrote ${p}`);
  println(io, `took ${formatDuration(res.seconds)}`);
  return 0;
}
