import { Generator, exportOnnx, predict, randn } from '../../src/index.js';
import { PAPER, paperModel } from '../lib/paper-mmoe.js';
import { PAPER_PRODUCTS, forwardFlops } from '../lib/step-flops.js';
import { sampleAsync } from '../lib/timing.js';
import { check } from './check.js';
import { racePeer, useThreads, type PeerRow } from './peer-race.js';
import type { Plan } from './plan.js';

/*
 * `predict` on the paper-size MMoE against onnxruntime-node running the same model as exported by
 * exportOnnx, at batch 1 (calls/s: per-call overhead) and batch 4096 (rows/s: throughput). Both on
 * one thread (ONNX Runtime: intraOpNumThreads 1, sequential). Outputs are checked first, to 1e-4.
 * ONNX Runtime's run() is asynchronous, so its samples are taken by awaiting calls in turn (the
 * cost a Node caller pays); ours is the synchronous predict().
 */

export const PREDICT_BATCHES = [1, 4096] as const;
const PEER = 'onnxruntime-node' as const;

type Ort = typeof import('onnxruntime-node');

export async function loadOrt(): Promise<{ ort: Ort; version: string } | { skipped: string }> {
  try {
    const ort = await import('onnxruntime-node');
    const { createRequire } = await import('node:module');
    const version = (createRequire(import.meta.url)('onnxruntime-node/package.json') as { version: string }).version;
    return { ort, version };
  } catch (e) {
    return { skipped: `skipped: onnxruntime-node cannot be loaded (a devDependency: run npm ci): ${(e as Error).message.split('\n')[0]}` };
  }
}

export async function runOrtRows(ort: Ort, plan: Plan, log: (s: string) => void): Promise<PeerRow[]> {
  const model = paperModel();
  const bytes = exportOnnx(model);
  const threads = 1;
  const session = await ort.InferenceSession.create(bytes, {
    intraOpNumThreads: threads, interOpNumThreads: 1, executionMode: 'sequential', graphOptimizationLevel: 'all',
  });
  const [input] = session.inputNames;
  const [output] = session.outputNames;
  const rows: PeerRow[] = [];
  await useThreads(threads);
  for (const B of PREDICT_BATCHES) {
    const item = `predict paper mmoe, batch ${B}`;
    const x = randn([B, PAPER.dim], { generator: new Generator(17 + B) });
    // A copy: x.data may be a view of our WebAssembly arena, detached when the arena grows.
    const feeds = { [input]: new ort.Tensor('float32', Float32Array.from(x.data), [B, PAPER.dim]) };
    const ours = predict(model, x, { batchSize: B });
    const theirs = (await session.run(feeds))[output];
    check(`${item} output`, PEER, theirs.data as Float32Array, ours.data);
    const t = await racePeer(plan, item, threads, () => void predict(model, x, { batchSize: B }),
      (o) => sampleAsync(() => session.run(feeds), o), { rounds: 8, minSamples: 10, maxTime: 0.4 }, log);
    rows.push({
      item, peer: PEER, threads, ...t, unit: B === 1 ? 'calls/s' : 'rows/s', rows: B,
      flops: forwardFlops(PAPER_PRODUCTS, PAPER.batch, B),
    });
  }
  await session.release();
  return rows;
}
