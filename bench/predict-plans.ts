/*
 * predict's traced plans on a feature-column model (the input layer op by op, the rest replayed)
 * against op by op: an MMoE over 8 sparse columns and 13 dense values, one thread, plans on and off
 * in alternating rounds of one process, seven rounds each; medians with min–max per call.
 * Usage: npx tsx --experimental-wasm-relaxed-simd bench/predict-plans.ts
 */
import { DenseFeat, Generator, SparseFeat, createModel, predict, randn, setNumThreads, type Tensor } from '../src/index.js';
type FeatureBatch = Record<string, Tensor | Int32Array>;
import { setInferencePlans } from '../src/train/inference-plan.js';
setNumThreads(1);
const features = [...Array.from({ length: 8 }, (_, i) => SparseFeat(`s${i}`, 1000, { embeddingDim: 8 })), DenseFeat('d', 13)];
const model = createModel('MMoE', { features, taskTypes: ['binary', 'binary'], numExperts: 8, expertHiddenUnits: [16], towerHiddenUnits: [8], seed: 1 });
const g = new Generator(2);
const batch = (rows: number): FeatureBatch => { const b: FeatureBatch = { d: randn([rows, 13], { generator: g }) }; for (let i = 0; i < 8; i++) b[`s${i}`] = Int32Array.from({ length: rows }, () => g.randint(1000)); return b; };
for (const B of [1, 64]) {
  const x = batch(B);
  const res: Record<string, number[]> = { off: [], on: [] };
  const N = B === 1 ? 4000 : 1000;
  for (let r = 0; r < 7; r++) for (const mode of ['off', 'on'] as const) {
    setInferencePlans(mode === 'on');
    for (let i = 0; i < 200; i++) predict(model, x, { batchSize: B });
    const t0 = performance.now();
    for (let i = 0; i < N; i++) predict(model, x, { batchSize: B });
    res[mode].push((performance.now() - t0) / N * 1000);
  }
  const med = (v: number[]) => [...v].sort((a, b) => a - b)[3];
  console.log(`batch ${B}: off ${med(res.off).toFixed(1)} us (${Math.min(...res.off).toFixed(1)}-${Math.max(...res.off).toFixed(1)}), on ${med(res.on).toFixed(1)} us (${Math.min(...res.on).toFixed(1)}-${Math.max(...res.on).toFixed(1)}), ratio ${(med(res.off) / med(res.on)).toFixed(2)}x`);
}
