import { Generator, matmul, randn, type Tensor } from '../../src/index.js';
import type { MMoE } from '../../src/models/index.js';
import { MMOE, mmoeData, ourMmoe } from '../lib/mmoe.js';
import { PAPER, ourPaperMmoe, paperData, paperModel, type PaperData } from '../lib/paper-mmoe.js';
import { BENCH_PRODUCTS, PAPER_PRODUCTS, stepFlops } from '../lib/step-flops.js';
import { check, checkAdamStep } from './check.js';
import { racePeer, useThreads, type PeerRow } from './peer-race.js';
import type { Plan } from './plan.js';
import { ourStackedPaper } from './stacked-ours.js';
import type { PeerArray, TorchPeer } from './torch.js';

/*
 * The PyTorch rows of bench:peers (issue 15's table): the paper-size MMoE step, the bench-shape
 * MMoE step, R = 32 paper-size models stepped as one stacked computation, and the experts' GEMM.
 * Each row first hands PyTorch our initial weights and data, runs one step on both sides and
 * compares the loss, every gradient and every Adam-updated weight to 1e-4 relative; only then
 * are the two raced, interleaved, on the same thread count. A mismatch fails that row.
 */

export const STACK_RUNS = 32;
const P = 'pytorch' as const;
type Arrays = Record<string, { data: PeerArray; shape: readonly number[] }>;

function f32(t: Tensor): Float32Array {
  if (!(t.data instanceof Float32Array)) throw new Error(`bench:peers: expected float32 data, got ${t.dtype}`);
  return t.data;
}

function concat(parts: readonly ArrayLike<number>[]): Float32Array {
  const out = new Float32Array(parts.reduce((s, p) => s + p.length, 0));
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.length; }
  return out;
}

function paperInputs(data: PaperData): Arrays {
  const n = data.x.shape[0];
  return {
    x: { data: f32(data.x), shape: data.x.shape },
    y: { data: data.y, shape: [n, PAPER.tasks] },
    batchRows: { data: Int32Array.from(concat(data.batchRows)), shape: [data.batchRows.length, PAPER.batch] },
  };
}

function paramArrays(named: ReadonlyArray<readonly [string, Tensor]>): Arrays {
  return Object.fromEntries(named.map(([name, p]) => [name, { data: Float32Array.from(f32(p)), shape: p.shape }]));
}

/** One step on both sides from the same weights; loss, gradients and updated weights by name. */
function checkStep(item: string, theirs: Map<string, Float32Array>, loss: number, named: ReadonlyArray<readonly [string, Tensor]>, lr: number): void {
  check(`${item} loss`, P, theirs.get('loss'), [loss]);
  for (const [name, p] of named) {
    check(`${item} gradient ${name}`, P, theirs.get(`grad.${name}`), p.grad!.data);
    checkAdamStep(`${item} weight ${name} after one Adam step`, P, theirs.get(`weight.${name}`), p.data, { ours: p.grad!.data, theirs: theirs.get(`grad.${name}`) }, lr);
  }
}

const STEP_RACE = { rounds: 8, minSamples: 10, maxTime: 0.5 };

async function paperRow(peer: TorchPeer, plan: Plan, log: (s: string) => void): Promise<PeerRow[]> {
  const item = 'paper mmoe step';
  const data = paperData();
  const ours = ourPaperMmoe(data);
  const named = ours.model.namedParameters();
  await peer.load('paper', 'paper', { ...paperInputs(data), ...paramArrays(named) }, { ...PAPER });
  await useThreads(1);
  checkStep(item, await peer.check('paper'), ours.step(), named, PAPER.lr);
  const t = await racePeer(plan, item, 1, () => void ours.step(), (o) => peer.time('paper', 1, o), STEP_RACE, log);
  await peer.drop('paper');
  return [{ item, peer: P, threads: 1, ...t, unit: 'ms', flops: stepFlops(PAPER_PRODUCTS) }];
}

async function benchRow(peer: TorchPeer, plan: Plan, log: (s: string) => void): Promise<PeerRow[]> {
  const item = 'bench-shape mmoe step';
  const data = mmoeData();
  const ours = ourMmoe(data);
  const named = ours.model.namedParameters();
  const ys = Object.fromEntries(data.ys.map((y, t) => [`y${t}`, { data: y, shape: [MMOE.batch, 1] }]));
  await peer.load('bench', 'bench', { x: { data: data.x, shape: [MMOE.batch, MMOE.inputs] }, ...ys, ...paramArrays(named) }, { ...MMOE });
  await useThreads(1);
  checkStep(item, await peer.check('bench'), ours.step().item(), named, MMOE.lr);
  const t = await racePeer(plan, item, 1, () => void ours.step(), (o) => peer.time('bench', 1, o), { rounds: 6, minSamples: 5, maxTime: 0.75 }, log);
  await peer.drop('bench');
  return [{ item, peer: P, threads: 1, ...t, unit: 'ms', flops: stepFlops(BENCH_PRODUCTS) }];
}

/**
 * The stacked layout PyTorch uses, built from R of our models: per run the experts' weights
 * concatenated into one [E·H, d] (as one wide Linear), likewise biases and the gates; towers per
 * task. `get` picks values or gradients.
 */
function stackedArrays(models: readonly MMoE[], get: (p: Tensor) => ArrayLike<number>): Arrays {
  const { experts: E, expertUnits: H, tasks: T, towerUnits: Tw, dim: d } = PAPER;
  const R = models.length;
  const per = (names: (m: MMoE) => Tensor[]): Float32Array => concat(models.flatMap((m) => names(m).map(get)));
  const out: Arrays = {
    experts_w: { data: per((m) => m.expert_dnn.map((e) => e.linears.get(0).weight)), shape: [R, E * H, d] },
    experts_b: { data: per((m) => m.expert_dnn.map((e) => e.linears.get(0).bias!)), shape: [R, E * H] },
    gates_w: { data: per((m) => m.gate_dnn_final_layer.map((g) => g.weight)), shape: [R, T * E, d] },
  };
  for (let t = 0; t < T; t++) {
    out[`tower_w.${t}`] = { data: per((m) => [m.tower_dnn!.get(t).linears.get(0).weight]), shape: [R, Tw, H] };
    out[`tower_b.${t}`] = { data: per((m) => [m.tower_dnn!.get(t).linears.get(0).bias!]), shape: [R, Tw] };
    out[`final_w.${t}`] = { data: per((m) => [m.tower_dnn_final_layer.get(t).weight]), shape: [R, 1, Tw] };
    out[`out_b.${t}`] = { data: per((m) => [m.out.get(t).bias!]), shape: [R, 1] };
  }
  return out;
}

async function stackedRows(peer: TorchPeer, plan: Plan, log: (s: string) => void): Promise<PeerRow[]> {
  const item = `stacked paper mmoe step, R=${STACK_RUNS}`;
  const R = STACK_RUNS;
  const data = Array.from({ length: R }, (_, r) => paperData(3 + r));
  const runs = Array.from({ length: R }, (_, r) => ourPaperMmoe(data[r], 5 + r));
  const models = runs.map((s) => s.model);
  const stackedData: Arrays = {
    x: { data: concat(data.map((d) => f32(d.x))), shape: [R, ...data[0].x.shape] },
    y: { data: concat(data.map((d) => d.y)), shape: [R, data[0].x.shape[0], PAPER.tasks] },
    batchRows: { data: Int32Array.from(concat(data.flatMap((d) => d.batchRows))), shape: [R, data[0].batchRows.length, PAPER.batch] },
  };
  await peer.load('stacked', 'stacked', { ...stackedData, ...stackedArrays(models, (p) => Float32Array.from(f32(p))) }, { ...PAPER, runs: R });
  // PyTorch's stacked step against R of our models stepped one by one (the reference the stacked API must equal bit for bit).
  await useThreads(1);
  const ourStacked = ourStackedPaper(Array.from({ length: R }, (_, r) => paperModel(5 + r)), data, PAPER.lr);
  const losses = runs.map((s) => s.step());
  const theirs = await peer.check('stacked');
  check(`${item} per-run losses`, P, theirs.get('loss'), losses);
  const grads = stackedArrays(models, (p) => p.grad!.data), weights = stackedArrays(models, (p) => p.data);
  for (const name of Object.keys(grads)) {
    check(`${item} gradient ${name}`, P, theirs.get(`grad.${name}`), grads[name].data);
    checkAdamStep(`${item} weight ${name} after one Adam step`, P, theirs.get(`weight.${name}`), weights[name].data, { ours: grads[name].data, theirs: theirs.get(`grad.${name}`) }, PAPER.lr);
  }
  let oursStep: (() => void) | null = null;
  let note: string | undefined;
  if ('skipped' in ourStacked) note = ourStacked.skipped;
  else {
    ourStacked.step();
    const flat = (per: Float32Array[][]): Float32Array => concat(per.flat());
    const oursSeparate = concat(models.flatMap((m) => m.parameters().map((p) => p.data)));
    check(`${item} our stacked API against our separate runs, weights after one step`, 'ours', flat(ourStacked.runParameters()), oursSeparate);
    oursStep = () => ourStacked.step();
  }
  if (note) log(`${item}: ours ${note}`);
  const rows: PeerRow[] = [];
  for (const threads of [1, 2]) {
    const t = await racePeer(plan, item, threads, oursStep, (o) => peer.time('stacked', threads, o), { rounds: 6, minSamples: 5, maxTime: 0.75 }, log);
    rows.push({ item, peer: P, threads, ...t, unit: 'ms', flops: R * stepFlops(PAPER_PRODUCTS), models: R, note });
  }
  await peer.drop('stacked');
  return rows;
}

async function gemmRow(peer: TorchPeer, plan: Plan, log: (s: string) => void): Promise<PeerRow[]> {
  const [m, k, n] = [PAPER.batch, PAPER.dim, PAPER.experts * PAPER.expertUnits];
  const item = `gemm ${m}×${k}×${n} (x·Wᵀ)`;
  const gen = new Generator(11);
  const a = randn([m, k], { generator: gen }), w = randn([n, k], { generator: gen });
  await peer.load('gemm', 'gemm', { a: { data: f32(a), shape: a.shape }, b: { data: f32(w), shape: w.shape } }, {});
  await useThreads(1);
  const out = matmul(a, w, { transB: true });
  check(`${item} output`, P, (await peer.check('gemm')).get('out'), out.data);
  const t = await racePeer(plan, item, 1, () => void matmul(a, w, { transB: true }), (o) => peer.time('gemm', 1, o), { rounds: 8, minSamples: 10, maxTime: 0.25 }, log);
  await peer.drop('gemm');
  return [{ item, peer: P, threads: 1, ...t, unit: 'ms', flops: 2 * m * k * n }];
}

export const TORCH_ROWS = [
  { tag: 'paper', item: 'paper mmoe step', run: paperRow },
  { tag: 'bench', item: 'bench-shape mmoe step', run: benchRow },
  { tag: 'stacked', item: `stacked paper mmoe step, R=${STACK_RUNS}`, run: stackedRows },
  { tag: 'gemm', item: 'gemm 128×100×128', run: gemmRow },
] as const;
