import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { Generator, getNumThreads, setNumThreads } from '../../src/tensor/index.js';
import { wasmFeatures } from '../../src/tensor/wasm/features.js';
import { THREAD_MIN_WORK, poolChunkCounts, setRelaxedSimd, threadsReady, wasmGemm } from '../../src/tensor/wasm/runtime.js';

/*
 * The worker pool splits a product over output rows, columns or whole products, never over K,
 * so every thread count must give the same bits. Each count is checked to have really started
 * its workers before the comparison (a pool that silently ran on one thread would pass vacuously).
 */

const gen = new Generator(21);
const rand = (n: number): Float32Array => gen.fillNormal(new Float32Array(n));

interface Case { batch: number; M: number; N: number; K: number; ta: boolean; tb: boolean; shareA?: boolean }

const cases: Case[] = [
  { batch: 1, M: 192, N: 160, K: 300, ta: false, tb: false }, // rows split (M ≥ N in tiles)
  { batch: 1, M: 37, N: 515, K: 257, ta: true, tb: false }, // columns split, edge tiles
  { batch: 1, M: 130, N: 67, K: 513, ta: false, tb: true },
  { batch: 1, M: 99, N: 101, K: 431, ta: true, tb: true },
  { batch: 5, M: 64, N: 48, K: 300, ta: false, tb: true }, // whole products per thread
  { batch: 2, M: 128, N: 96, K: 200, ta: true, tb: false, shareA: true }, // fewer products than threads
];

function run(c: Case, A: Float32Array, B: Float32Array): Float32Array {
  const C = new Float32Array(c.batch * c.M * c.N);
  expect(c.batch * c.M * c.N * c.K).toBeGreaterThanOrEqual(THREAD_MIN_WORK);
  expect(wasmGemm(c.batch, c.M, c.N, c.K, A, 0, c.shareA ? 0 : c.M * c.K, c.ta, B, 0, c.K * c.N, c.tb, C, 0, false)).toBe(true);
  return C;
}

function sameBits(a: Float32Array, b: Float32Array): boolean {
  if (a.length !== b.length) return false;
  for (let j = 0; j < a.length; j++) if (!Object.is(a[j], b[j])) return false;
  return true;
}

describe.skipIf(!wasmFeatures().threads)('WebAssembly GEMM on 1, 2 and 3 threads', () => {
  const before = getNumThreads();
  afterAll(() => {
    setNumThreads(before);
    setRelaxedSimd(true);
  });

  for (const relaxed of [false, true]) {
    it.skipIf(relaxed && !wasmFeatures().relaxedSimd)(`gives bit-identical results (${relaxed ? 'relaxed FMA' : 'mul+add'})`, async () => {
      setRelaxedSimd(relaxed);
      const inputs = cases.map((c) => [rand(c.batch * c.M * c.K), rand(c.batch * c.K * c.N)] as const);
      const results = new Map<number, Float32Array[]>();
      for (const n of [1, 2, 3]) {
        setNumThreads(n);
        expect(getNumThreads()).toBe(n);
        expect(await threadsReady()).toBe(n);
        const before = poolChunkCounts();
        // Repeated until every worker has taken part (on a busy machine a worker can sleep
        // through a run: the awake threads then claim its chunks, which is what makes the
        // split timing-proof), and at least until some worker has.
        const ran = (): number[] => poolChunkCounts().map((x, id) => x - (before[id] ?? 0)).slice(1, n);
        let out: Float32Array[] = [];
        for (let rep = 0; rep < 25; rep++) {
          out = cases.map((c, i) => run(c, inputs[i][0], inputs[i][1]));
          // Every repetition (a different claim of chunks by threads) gives the same bits.
          if (results.has(1)) out.forEach((o, i) => expect(sameBits(o, results.get(1)![i]), `${n} threads, rep ${rep}, case ${i}`).toBe(true));
          if (rep >= 3 && ran().every((x) => x > 0)) break;
        }
        results.set(n, out);
        if (n > 1) expect(ran().reduce((a, b) => a + b, 0), `no worker of ${n} threads ran a chunk`).toBeGreaterThan(0);
      }
      for (const n of [2, 3]) {
        cases.forEach((c, i) => {
          const one = results.get(1)![i], many = results.get(n)![i];
          let diff = 0;
          for (let j = 0; j < one.length; j++) if (!Object.is(one[j], many[j])) diff++;
          expect(diff, `${n} threads, case ${JSON.stringify(c)}: ${diff} elements differ`).toBe(0);
        });
      }
    });
  }

  it('starts its workers in a process whose eval code is an ES module (--input-type=module)', () => {
    // Workers inherit execArgv; a worker that used require() died there, leaving one thread.
    const runtime = fileURLToPath(new URL('../../src/tensor/wasm/runtime.ts', import.meta.url));
    const code = `const rt = await import(${JSON.stringify(runtime)}); const { setThreadCount, threadsReady } = rt;`
      + ' setThreadCount(2); console.log(await threadsReady());';
    const out = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { encoding: 'utf8', timeout: 30_000 });
    expect(out.trim()).toBe('2');
  });

  it('setNumThreads rejects a bad count by name', () => {
    expect(() => setNumThreads(0)).toThrow(/setNumThreads: expected an integer from 1 to 64, got 0/);
    expect(() => setNumThreads(1.5)).toThrow(/setNumThreads/);
  });
});
