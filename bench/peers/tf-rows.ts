import { matmul } from '../../src/index.js';
import { ourCross } from '../lib/cross.js';
import { crossData } from '../lib/data.js';
import { MMOE, mmoeData, ourMmoe } from '../lib/mmoe.js';
import { PAPER, ourPaperMmoe, paperData } from '../lib/paper-mmoe.js';
import { fmt, markdownTable, msRange, ratio } from '../lib/report.js';
import { CROSS_B, CROSS_DIMS, CROSS_L, LAYOUTS, MATMUL_SIZES, layoutFlags, matmulOperands } from '../lib/suites.js';
import { interleave, type Contender, type Timing } from '../lib/timing.js';
import { check } from './check.js';
import type { Plan } from './plan.js';
import { initTf, tf, tfCross, tfMmoe, tfPaperMmoe, type TfBackend } from './tf.js';

/*
 * The TF.js rows of bench:peers: the cross layer, matmul and the MMoE steps (bench shape, paper
 * size) on our engine, tfjs-cpu and tfjs-wasm (SIMD), interleaved round by round. Before anything
 * is timed, each TF.js backend must reproduce our outputs, gradients and Adam update to 1e-4
 * relative, so the times compare the same work.
 */

const BACKENDS: readonly TfBackend[] = ['cpu', 'wasm'];
/** fused: nn.CrossNet, the whole stack as one op; fused-layer: crossLayer applied L times. */
const OUR_CROSS = ['fused', 'fused-layer'] as const;

export interface TfRow { item: string; ours: Timing; cpu: Timing; wasm: Timing }
export interface TfSection { info: { tfjs: string; wasmSimd: boolean; wasmThreads: boolean }; rows: TfRow[]; table: string }

async function use(b: TfBackend): Promise<void> {
  if (tf.getBackend() !== b && !(await tf.setBackend(b))) throw new Error(`bench:peers: cannot switch to tfjs-${b}`);
}

export async function runTfRows(plan: Plan, log: (s: string) => void): Promise<TfSection> {
  const tfInfo = await initTf();
  log(`tfjs ${tf.version_core}: wasm SIMD ${tfInfo.wasmSimd}, threads ${tfInfo.wasmThreads}`);
  const crossDims = plan.quick ? [256] : CROSS_DIMS;
  const matmulSizes = plan.quick ? [512] : MATMUL_SIZES;
  const layouts = plan.quick ? ['NN' as const] : LAYOUTS;

  // ---- Same work: values and gradients agree before anything is timed.
  for (const D of crossDims) {
    const d = crossData(CROSS_B, D, CROSS_L);
    for (const variant of OUR_CROSS) {
      const ours = ourCross(d, variant);
      const out = ours.forwardBackward();
      const ourGrads = ours.grads();
      for (const b of BACKENDS) {
        await use(b);
        const v = tfCross(d).values();
        check(`cross ${variant} D=${D} output`, `tfjs-${b}`, v.out, out.data);
        v.grads.forEach((g, i) => check(`cross ${variant} D=${D} gradient ${i}`, `tfjs-${b}`, g, ourGrads[i]));
      }
    }
  }
  {
    const data = mmoeData();
    const ours = ourMmoe(data);
    const mirrors = [];
    for (const b of BACKENDS) {
      await use(b);
      mirrors.push({ b, m: tfMmoe(ours.model, data) });
    }
    const loss = ours.step().item();
    const params = ours.model.parameters();
    for (const { b, m } of mirrors) {
      await use(b);
      const lg = m.lossAndGrads();
      check('mmoe loss', `tfjs-${b}`, [lg.loss], [loss]);
      lg.grads.forEach((g, i) => check(`mmoe gradient ${i}`, `tfjs-${b}`, g, params[i].grad!.data));
      m.step();
      m.vars.forEach((v, i) => check(`mmoe weights after one Adam step ${i}`, `tfjs-${b}`, v.dataSync(), params[i].data));
    }
  }
  {
    const data = paperData();
    const ours = ourPaperMmoe(data);
    const mirrors = [];
    for (const b of BACKENDS) {
      await use(b);
      mirrors.push({ b, m: tfPaperMmoe(ours.model, data) });
    }
    const loss = ours.step();
    const params = ours.model.parameters();
    for (const { b, m } of mirrors) {
      await use(b);
      const lg = m.lossAndGrads(0);
      check('paper mmoe loss', `tfjs-${b}`, [lg.loss], [loss]);
      lg.grads.forEach((g, i) => check(`paper mmoe gradient ${i}`, `tfjs-${b}`, g, params[i].grad!.data));
      m.step();
      m.vars.forEach((v, i) => check(`paper mmoe weights after one Adam step ${i}`, `tfjs-${b}`, v.dataSync(), params[i].data));
    }
  }
  log('tfjs: every output, gradient and updated weight agrees');

  // ---- Timing, interleaved: ours, tfjs-cpu, tfjs-wasm, ours, ...
  const rows: TfRow[] = [];
  /**
   * One interleaved race of our function(s) against both TF.js backends. With several of ours (the
   * cross stack op and crossLayer ×L), each gets its own row, named `item [name]` after the first,
   * sharing the TF.js timings of the same race.
   */
  const race = async (item: string, ourFn: (() => void) | Array<{ name: string; fn: () => void }>, make: (b: TfBackend) => () => void, rounds: number, minSamples: number, maxTime: number): Promise<void> => {
    const ours = typeof ourFn === 'function' ? [{ name: 'ours', fn: ourFn }] : ourFn;
    const contenders: Contender[] = ours.map((o) => ({ name: `ours:${o.name}`, fn: o.fn }));
    for (const b of BACKENDS) {
      await use(b);
      contenders.push({ name: b, before: () => use(b), fn: make(b) });
    }
    const t = await interleave(item, contenders, plan.rounds(rounds), plan.sampling({ minSamples, maxTime }));
    ours.forEach((o, i) => {
      const row = { item: i === 0 ? item : `${item} [${o.name}]`, ours: t.get(`ours:${o.name}`)!, cpu: t.get('cpu')!, wasm: t.get('wasm')! };
      log(`${row.item}: ours ${fmt(row.ours.medianMs)} ms, tfjs-cpu ${fmt(row.cpu.medianMs)} ms, tfjs-wasm ${fmt(row.wasm.medianMs)} ms`);
      rows.push(row);
    });
  };

  for (const D of crossDims) {
    const d = crossData(CROSS_B, D, CROSS_L);
    const ours = OUR_CROSS.map((v) => ({ name: v, c: ourCross(d, v) }));
    const theirs = new Map<TfBackend, ReturnType<typeof tfCross>>();
    const get = (b: TfBackend): ReturnType<typeof tfCross> => {
      if (!theirs.has(b)) theirs.set(b, tfCross(d));
      return theirs.get(b)!;
    };
    await race(`cross D=${D} forward`, ours.map(({ name, c }) => ({ name, fn: () => void c.forward() })), (b) => { const c = get(b); return () => c.forward(); }, 2, 3, 0.5);
    await race(`cross D=${D} forward+backward`, ours.map(({ name, c }) => ({ name, fn: () => void c.forwardBackward() })), (b) => { const c = get(b); return () => c.forwardBackward(); }, 2, 3, 0.5);
  }
  const flops: Record<string, number> = {};
  for (const n of matmulSizes) {
    const [a, b] = matmulOperands(n);
    for (const layout of layouts) {
      const f = layoutFlags(layout);
      const item = `matmul ${n}³ ${layout}`;
      flops[item] = 2 * n ** 3;
      await race(item, () => void matmul(a, b, f), () => {
        const ta = tf.tensor2d(a.data as Float32Array, [n, n]);
        const tb = tf.tensor2d(b.data as Float32Array, [n, n]);
        return () => tf.tidy(() => void tf.matMul(ta, tb, f.transA, f.transB));
      }, 2, 3, n > 512 ? 1.5 : 0.8);
    }
  }
  {
    const data = mmoeData();
    const ours = ourMmoe(data);
    await race('mmoe step', () => void ours.step(), () => {
      const m = tfMmoe(ours.model, data);
      return () => m.step();
    }, 3, 5, 1.5);
  }
  {
    const ours = ourPaperMmoe(paperData());
    await race('paper mmoe step', () => void ours.step(), () => {
      const m = tfPaperMmoe(ours.model, paperData());
      return () => m.step();
    }, 4, 10, 1);
  }

  const speed = (ours: Timing, theirs: Timing): string => ratio(theirs.medianMs / ours.medianMs);
  const perf = (r: TfRow, t: Timing): string =>
    r.item in flops ? `${fmt(flops[r.item] / (t.medianMs * 1e6))} GFLOP/s`
      : r.item === 'mmoe step' ? `${fmt(MMOE.batch / (t.medianMs / 1000))} samples/s`
        : r.item === 'paper mmoe step' ? `${fmt(PAPER.batch / (t.medianMs / 1000))} samples/s` : '';
  const table = markdownTable(
    ['item', 'ours ms', 'tfjs-cpu ms', 'tfjs-wasm ms', 'ours ÷ tfjs-cpu', 'ours ÷ tfjs-wasm', 'ours', 'tfjs-cpu', 'tfjs-wasm'],
    rows.map((r) => [r.item, msRange(r.ours), msRange(r.cpu), msRange(r.wasm), speed(r.ours, r.cpu), speed(r.ours, r.wasm), perf(r, r.ours), perf(r, r.cpu), perf(r, r.wasm)]),
  );
  return { info: { tfjs: tf.version_core, ...tfInfo }, rows, table };
}
