import { execSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { backendInfo } from '../../src/index.js';
import { writeFileAtomicSync } from '../../src/io/atomic-write-node.js';
import { cpuInfo, describeCpu } from '../lib/cpu.js';
import { fmt, markdownTable, msRange, ratio } from '../lib/report.js';
import { runPeak } from '../lib/simd-peak.js';
import type { Timing } from '../lib/timing.js';
import { checks, TOL } from './check.js';
import { loadOrt, runOrtRows } from './ort-rows.js';
import type { PeerRow } from './peer-race.js';
import { parsePlan } from './plan.js';
import { runTfRows, type TfSection } from './tf-rows.js';
import { describeTargets, judgeTargets } from './targets.js';
import { STACK_RUNS, TORCH_ROWS } from './torch-rows.js';
import { PYTHON, TorchPeer, type TorchInfo } from './torch.js';

/*
 * `npm run bench:peers [-- --quick] [-- --only=…]`: our engine side by side with TF.js (cpu, wasm),
 * PyTorch (Debian's python3-torch, a separate process) and onnxruntime-node, in one run. Every
 * row checks first that the peer computes the same outputs, gradients and Adam-updated weights
 * as ours, to 1e-4 relative; then ours and the peer are timed interleaved, round by round.
 * A mismatch or an error fails its row loudly (and the exit code); the other rows still run.
 */

const here = dirname(fileURLToPath(import.meta.url));
const log = (s: string): void => void process.stderr.write(`${s}\n`);
const plan = parsePlan(process.argv.slice(2));
const started = Date.now();
const failures: string[] = [];
const fail = (what: string, e: unknown): string => {
  const msg = e instanceof Error ? e.message : String(e);
  failures.push(`${what}: ${msg}`);
  log(`FAILED ${what}: ${msg}`);
  return msg;
};

const cpu = cpuInfo();
log(`cpu: ${describeCpu(cpu)}`);
const backend = backendInfo();
const peak = runPeak(log);
// % of peak against the arithmetic our GEMM really uses: FMA with relaxed SIMD, else mul+add.
const peakRow = peak.find((p) => p.mode === (backend.relaxedSimd ? 'fma' : 'mul+add'));
const peakGflops = peakRow?.gflops ?? NaN;

let tfSection: TfSection | null = null;
if (plan.wants('tfjs')) {
  try { tfSection = await runTfRows(plan, log); } catch (e) { fail('tfjs rows', e); }
}

const peerRows: PeerRow[] = [];
let torchInfo: TorchInfo | null = null;
let torchSkipped: string | undefined;
const torchWanted = TORCH_ROWS.filter((r) => plan.wants('pytorch', r.tag));
if (torchWanted.length) {
  const started = await TorchPeer.start();
  if ('skipped' in started) {
    torchSkipped = `skipped: ${started.skipped}`;
    log(`PyTorch rows ${torchSkipped}`);
    for (const r of torchWanted) peerRows.push({ item: r.item, peer: 'pytorch', threads: 1, ours: null, theirs: null, unit: 'ms', note: torchSkipped });
  } else {
    const { peer, info } = started;
    torchInfo = info;
    log(`torch ${info.torch} (${info.executable}), OpenBLAS ${info.openblas?.corename ?? 'not found'}, OPENBLAS_CORETYPE=${info.OPENBLAS_CORETYPE ?? '(unset)'}`);
    try {
      for (const r of torchWanted) {
        try { peerRows.push(...await r.run(peer, plan, log)); } catch (e) {
          peerRows.push({ item: r.item, peer: 'pytorch', threads: 1, ours: null, theirs: null, unit: 'ms', note: fail(r.item, e), failed: true });
        }
      }
    } finally { peer.close(); }
  }
}

let ortVersion: string | null = null;
if (plan.wants('ort', 'predict')) {
  const o = await loadOrt();
  if ('skipped' in o) {
    log(`onnxruntime-node rows ${o.skipped}`);
    peerRows.push({ item: 'predict paper mmoe', peer: 'onnxruntime-node', threads: 1, ours: null, theirs: null, unit: 'calls/s', note: o.skipped });
  } else {
    ortVersion = o.version;
    try { peerRows.push(...await runOrtRows(o.ort, plan, log)); } catch (e) {
      peerRows.push({ item: 'predict paper mmoe', peer: 'onnxruntime-node', threads: 1, ours: null, theirs: null, unit: 'calls/s', note: fail('predict vs onnxruntime-node', e), failed: true });
    }
  }
}

// ---- Report
/** A timing in the row's unit: ms per call (÷ models when stacked), or calls/s, or rows/s. */
function cell(r: PeerRow, t: Timing | null): string {
  if (!t) return '–';
  if (r.unit === 'ms') {
    const m = r.models ?? 1;
    return `${fmt(t.medianMs / m)} (${fmt(t.minMs / m)}–${fmt(t.maxMs / m)})`;
  }
  const per = r.unit === 'rows/s' ? (r.rows ?? 1) : 1;
  return `${fmt((per * 1000) / t.medianMs)} (${fmt((per * 1000) / t.maxMs)}–${fmt((per * 1000) / t.minMs)})`;
}
const unitName = (r: PeerRow): string => (r.unit === 'ms' ? (r.models ? 'ms per model-step' : 'ms') : r.unit);
const peerTable = markdownTable(
  ['item', 'peer', 'threads', 'unit', 'ours', 'theirs', 'ours ÷ theirs (pooled medians)', 'per round: median (min–max)', 'ours % SIMD peak', 'note'],
  peerRows.map((r) => [
    r.item, r.peer, String(r.threads), unitName(r), cell(r, r.ours), cell(r, r.theirs),
    r.ours && r.theirs ? ratio(r.theirs.medianMs / r.ours.medianMs) : '',
    r.paired ? `${ratio(r.paired.median)} (${fmt(r.paired.min)}–${fmt(r.paired.max)}, ${r.paired.rounds} rounds)` : '',
    r.ours && r.flops ? `${fmt((100 * r.flops) / (r.ours.medianMs * 1e6) / peakGflops)}%` : '',
    r.failed ? `FAILED: ${r.note}` : r.note ?? '',
  ]),
);

/** The paper protocol at the stacked per-model-step time on two threads (MMoE's cost for every model; evaluation left out). */
const PROTOCOLS = [
  { name: "today's --paper protocol (1,854 runs × 3,072 steps)", modelSteps: 1854 * 3072 },
  { name: 'a converged protocol (200 runs × 9 cells × 32,768 steps)', modelSteps: 200 * 9 * 32768 },
];
const stacked2 = peerRows.find((r) => r.models === STACK_RUNS && r.threads === 2 && r.ours);
const projections = stacked2
  ? PROTOCOLS.map((p) => `Projected: ${p.name} at ${fmt(stacked2.ours!.medianMs / STACK_RUNS)} ms per model-step (stacked R=${STACK_RUNS}, 2 threads): ${fmt((p.modelSteps * stacked2.ours!.medianMs) / STACK_RUNS / 3.6e6)} h of training steps`)
  : [`Projected paper-protocol time: skipped (${peerRows.some((r) => r.models) ? 'no stacked API in this build' : 'the stacked row did not run'})`];

const targets = peerRows.length ? judgeTargets(peerRows, peakGflops) : [];

function gitCommit(): string {
  try { return execSync('git rev-parse --short HEAD', { cwd: here, stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim(); } catch { return 'unknown'; }
}
const meta = {
  date: new Date().toISOString(), commit: gitCommit(), node: process.version, seconds: (Date.now() - started) / 1000,
  quick: plan.quick, only: plan.only ? [...plan.only] : null,
  cpu, backend, peakGflops, peakMode: peakRow?.mode ?? null,
  tfjs: tfSection?.info ?? null,
  pytorch: torchInfo ?? (torchSkipped ? { skipped: torchSkipped, python: PYTHON } : null),
  onnxruntimeNode: ortVersion,
};
const outDir = join(here, '..', 'results');
// Only a full run replaces the committed results; --quick / --only runs go to a scratch file.
const outFile = join(outDir, plan.quick || plan.only ? 'peers-partial.json' : 'peers-latest.json');
mkdirSync(outDir, { recursive: true });
writeFileAtomicSync('bench:peers', outFile, `${JSON.stringify({ meta, peak, checks, failures, targets, rows: tfSection?.rows ?? [], peerRows }, null, 2)}\n`);

const worst = checks.length ? Math.max(...checks.map((c) => c.relErr)) : NaN;
const out = [
  `Machine: ${describeCpu(cpu)}; Node ${meta.node}; commit ${meta.commit}${plan.quick ? '; --quick (short samples: not for quoting)' : ''}`,
  `Ours: backend ${backend.backend}, relaxed SIMD ${backend.relaxedSimd}; WASM SIMD peak (one thread, ${peakRow?.mode ?? '?'}): ${fmt(peakGflops)} GFLOP/s`,
  torchInfo
    ? `PyTorch ${torchInfo.torch} (${torchInfo.executable}, ATen ${torchInfo.cpuCapability ?? '?'}), OpenBLAS ${torchInfo.openblas?.corename ?? 'not found'} (${torchInfo.openblas?.config ?? ''}), OPENBLAS_CORETYPE=${torchInfo.OPENBLAS_CORETYPE ?? '(unset)'}; threads set by torch.set_num_threads and openblas_set_num_threads`
    : `PyTorch: ${torchSkipped ?? 'not asked for'}`,
  `onnxruntime-node: ${ortVersion ?? 'not run'}`,
  `Checked first: ${checks.length} losses/outputs/gradients/updated weights agree to ≤ ${TOL} relative (worst ${worst.toExponential(2)}).`,
  'Times: median (min–max), pooled over interleaved rounds. ours ÷ theirs = their time ÷ our time (> 1: ours is faster).',
];
if (tfSection) {
  out.push('', 'TF.js (ours on the default thread count). cross rows: ours = nn.CrossNet (one crossNetVector op); [fused-layer] = crossLayer applied L times, same race.', '', tfSection.table);
}
if (peerRows.length) {
  out.push('', 'PyTorch and onnxruntime-node, same thread count on both sides. % SIMD peak: flops of the matrix products (bench/lib/step-flops.ts) ÷ our median time ÷ the peak above.', '', peerTable, '', ...projections, '', ...describeTargets(targets, plan.quick));
}
if (failures.length) out.push('', `FAILED (${failures.length}):`, ...failures.map((f) => `- ${f}`));
out.push('', `Total ${meta.seconds.toFixed(0)} s. Results: ${outFile.slice(join(here, '..', '..').length + 1)}`);
console.log(out.join('\n'));
if (failures.length) process.exitCode = 1;
