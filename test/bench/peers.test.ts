import { existsSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { checkAdamStep, checks, relErr, TOL } from '../../bench/peers/check.js';
import { parsePlan } from '../../bench/peers/plan.js';
import { BENCH_PRODUCTS, PAPER_PRODUCTS, forwardFlops, stepFlops } from '../../bench/lib/step-flops.js';
import { ourPaperMmoe, paperData, paperModel, PAPER } from '../../bench/lib/paper-mmoe.js';
import { interleave, pairedRatio, sampleAsync, summarize } from '../../bench/lib/timing.js';
import { ourStackedPaper, stackedApi } from '../../bench/peers/stacked-ours.js';
import { PYTHON, TorchPeer } from '../../bench/peers/torch.js';

/* bench:peers' machinery that decides what "the same work" is; no timing is asserted here. */

describe('bench:peers checks', () => {
  it('relErr is relative to the reference array\'s scale, and Infinity on a length mismatch', () => {
    expect(relErr([1, 2, 4.0004], [1, 2, 4])).toBeCloseTo(1e-4, 9);
    expect(relErr([1e-9, 2], [0, 2])).toBeCloseTo(5e-10, 15);
    expect(relErr([1, 2], [1, 2, 3])).toBe(Infinity);
  });

  it('checkAdamStep holds noise-level gradient entries to Adam\'s bound and all others to TOL', () => {
    const lr = 5e-3;
    const ours = Float32Array.from([0.4, -0.2, 0.1]);
    const gOurs = [0.06, -3.8e-9, 0.01];
    const gTheirs = [0.06, -3.4e-9, 0.01];
    // entry 1: the update is lr·g/(|g|+eps) of two noises; 1.3e-4 apart is what Adam's first step does there.
    checkAdamStep('w', 'test', [0.4, -0.2 + 1.3e-4, 0.1], ours, { ours: gOurs, theirs: gTheirs }, lr);
    expect(checks.at(-1)).toMatchObject({ what: 'w', noiseEntries: 1 });
    expect(() => checkAdamStep('w', 'test', [0.4, -0.2 + 3 * lr, 0.1], ours, { ours: gOurs, theirs: gTheirs }, lr)).toThrow(/entry 1 .* more than one Adam step/);
    // a real difference on an entry with a real gradient fails at TOL
    expect(() => checkAdamStep('w', 'test', [0.4, -0.2, 0.1 + 100 * TOL], ours, { ours: gOurs, theirs: gTheirs }, lr)).toThrow(/differ on w: relative error/);
  });
});

describe('bench:peers command line', () => {
  it('parses --quick and --only, and names what it does not know', () => {
    const p = parsePlan(['--quick', '--only=pytorch,predict']);
    expect(p.quick).toBe(true);
    expect(p.wants('tfjs')).toBe(false);
    expect(p.wants('pytorch', 'paper')).toBe(true);
    expect(p.wants('ort', 'predict')).toBe(true);
    expect(p.sampling({ minSamples: 10, maxTime: 1 })).toEqual({ minSamples: 3, maxTime: 0.2 });
    expect(parsePlan([]).wants('stacked')).toBe(true);
    expect(() => parsePlan(['--only=torch'])).toThrow(/^bench:peers: --only: unknown group 'torch'/);
    expect(() => parsePlan(['--fast'])).toThrow(/^bench:peers: unknown argument '--fast'/);
  });
});

describe('bench:peers timing and the stacked row', () => {
  it('interleave keeps each round\'s median; pairedRatio divides them round by round', async () => {
    let round = 0;
    // A machine that slows down 10× after the first round: pooled medians blur it, per-round ratios do not.
    const t = await interleave('drift', [
      { name: 'fast', before: () => void round++, samples: async () => [round === 1 ? 1 : 10, round === 1 ? 1 : 10] },
      { name: 'slow', samples: async () => [round === 1 ? 2 : 20, round === 1 ? 2 : 20] },
    ], 3);
    const fast = t.get('fast')!, slow = t.get('slow')!;
    expect(fast.roundMediansMs).toEqual([1, 10, 10]);
    expect(slow.roundMediansMs).toEqual([2, 20, 20]);
    expect(pairedRatio(fast, slow)).toEqual({ median: 2, min: 2, max: 2, rounds: 3 });
    expect(pairedRatio(summarize([1, 2]), slow)).toBeNull();
  });

  it('sampleAsync takes at least minSamples per-call samples of an async function', async () => {
    let calls = 0;
    const s = await sampleAsync(async () => { calls++; }, { minSamples: 3, maxTime: 0 });
    expect(s.length).toBeGreaterThanOrEqual(3);
    expect(s.every((x) => x >= 0 && Number.isFinite(x))).toBe(true);
    expect(calls).toBeGreaterThan(3);
  });

  it('our stacked step is skipped without the API, else bit-identical to the runs stepped alone', () => {
    const R = 3;
    const data = Array.from({ length: R }, (_, r) => paperData(3 + r));
    const stacked = ourStackedPaper(Array.from({ length: R }, (_, r) => paperModel(5 + r)), data, PAPER.lr);
    if ('missing' in stackedApi()) {
      expect(stacked).toEqual({ skipped: 'skipped: no stacked API in this build' });
      return;
    }
    if ('skipped' in stacked) throw new Error(stacked.skipped);
    const alone = data.map((d, r) => ourPaperMmoe(d, 5 + r));
    for (let k = 0; k < 2; k++) {
      stacked.step();
      for (const a of alone) a.step();
    }
    const got = stacked.runParameters();
    alone.forEach((a, r) => a.model.parameters().forEach((p, i) => expect(got[r][i], `run ${r} parameter ${i}`).toEqual(p.data)));
  });
});

describe('step flops', () => {
  it('counts the paper-size step\'s products by hand', () => {
    const fwd = 2 * 128 * (100 * 128 + 100 * 16) + 2 * 128 * 2 * 8 * 16 + 2 * (2 * 128 * 16 * 8 + 2 * 128 * 8 * 1);
    const weightGrads = fwd;
    const inputGrads = 2 * 128 * 2 * 8 * 16 + 2 * (2 * 128 * 16 * 8 + 2 * 128 * 8 * 1);
    expect(stepFlops(PAPER_PRODUCTS)).toBe(fwd + weightGrads + inputGrads);
    expect(forwardFlops(PAPER_PRODUCTS, 128, 1)).toBe(fwd / 128);
    expect(stepFlops(BENCH_PRODUCTS)).toBeGreaterThan(30 * stepFlops(PAPER_PRODUCTS));
  });
});

function hasTorch(): boolean {
  if (!existsSync(PYTHON)) return false;
  try {
    execFileSync(PYTHON, ['-c', 'import torch'], { stdio: 'ignore', timeout: 60_000 });
    return true;
  } catch {
    return false;
  }
}

describe.skipIf(!hasTorch())('the PyTorch peer (Debian python3-torch)', () => {
  it('computes our paper-size step: loss, every gradient and every Adam-updated weight', async () => {
    const started = await TorchPeer.start();
    if ('skipped' in started) throw new Error(started.skipped);
    const { peer, info } = started;
    try {
      expect(info.torchThreads).toBe(1);
      const data = paperData();
      const ours = ourPaperMmoe(data);
      const named = ours.model.namedParameters();
      const n = data.x.shape[0];
      const batchRows = new Int32Array(data.batchRows.length * PAPER.batch);
      data.batchRows.forEach((r, i) => batchRows.set(r, i * PAPER.batch));
      await peer.load('paper', 'paper', {
        x: { data: data.x.data as Float32Array, shape: data.x.shape },
        y: { data: data.y, shape: [n, PAPER.tasks] },
        batchRows: { data: batchRows, shape: [data.batchRows.length, PAPER.batch] },
        ...Object.fromEntries(named.map(([k, p]) => [k, { data: Float32Array.from(p.data), shape: p.shape }])),
      }, { ...PAPER });
      const theirs = await peer.check('paper');
      const loss = ours.step();
      expect(relErr(theirs.get('loss')!, [loss])).toBeLessThan(TOL);
      for (const [k, p] of named) {
        expect(relErr(theirs.get(`grad.${k}`)!, p.grad!.data), k).toBeLessThan(TOL);
        checkAdamStep(`weight ${k}`, 'pytorch', theirs.get(`weight.${k}`), p.data, { ours: p.grad!.data, theirs: theirs.get(`grad.${k}`) }, PAPER.lr);
      }
      // a wrong start must show: the second step (from our stepped weights) is not PyTorch's first
      const again = await peer.check('paper');
      expect(relErr(again.get('loss')!, [loss])).toBeGreaterThan(TOL);
    } finally {
      peer.close();
    }
  });
});
