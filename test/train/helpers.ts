import { Tensor, randn } from '../../src/autograd/index.js';
import { Generator } from '../../src/tensor/index.js';
import { MMoE, type MultiTaskModel } from '../../src/models/index.js';

/** Two tasks from a fixed random linear teacher: task 0 regression, task 1 binary. */
export function teacherData(n: number, f: number, seed: number): { x: Tensor; y: Tensor } {
  const g = new Generator(seed);
  const x = randn([n, f], { generator: g });
  const w1 = Array.from({ length: f }, () => g.normal());
  const w2 = Array.from({ length: f }, () => g.normal());
  const y = new Float32Array(n * 2);
  for (let i = 0; i < n; i++) {
    let a = 0, b = 0;
    for (let j = 0; j < f; j++) { a += w1[j] * x.data[i * f + j]; b += w2[j] * x.data[i * f + j]; }
    y[2 * i] = a / Math.sqrt(f);
    y[2 * i + 1] = b > 0 ? 1 : 0;
  }
  return { x, y: new Tensor(y, [n, 2]) };
}

/** Random features, task 0 a coin-flip binary label and task 1 a uniform regression target in [-1, 1). */
export function binaryRegressionData(n: number, f: number, seed: number): { x: Tensor; y: Tensor } {
  const g = new Generator(seed);
  const x = randn([n, f], { generator: g });
  const y = new Float32Array(n * 2);
  for (let i = 0; i < n; i++) {
    y[2 * i] = g.random() < 0.5 ? 1 : 0;
    y[2 * i + 1] = g.random() * 2 - 1;
  }
  return { x, y: new Tensor(y, [n, 2]) };
}

export function smallMMoE(seed = 1, extra: Partial<ConstructorParameters<typeof MMoE>[0]> = {}): MMoE {
  return new MMoE({
    inputDim: 6, numExperts: 3, expertHiddenUnits: [8], towerHiddenUnits: [4],
    taskTypes: ['regression', 'binary'], taskNames: ['value', 'click'], initStd: 0.3, seed, ...extra,
  });
}

export const copyWeights = (m: MultiTaskModel): Float32Array[] => m.parameters().map((p) => Float32Array.from(p.data));

/** A progress stream that keeps what was written. */
export const sink = (isTTY: boolean): { isTTY: boolean; text: string; write(s: string): void } =>
  ({ isTTY, text: '', write(s: string) { this.text += s; } });
