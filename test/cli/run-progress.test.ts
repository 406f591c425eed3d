import { describe, expect, it } from 'vitest';
import { RunProgress } from '../../src/cli/run-progress.js';

function sink(isTTY: boolean) {
  const chunks: string[] = [];
  return { chunks, stream: { isTTY, columns: 80, write: (s: string) => { chunks.push(s); return true; } } };
}

describe('RunProgress', () => {
  it('off a terminal: one plain line per tenth of the work, with an ETA from this call\'s pace', () => {
    let t = 0;
    const { chunks, stream } = sink(false);
    const p = new RunProgress(stream, 'synthetic demo', () => t);
    for (let done = 1; done <= 20; done++) { t += 1000; p.update(done, 20); }
    p.finish();
    expect(chunks.every((c) => c.endsWith('\n') && !c.includes('\r'))).toBe(true);
    expect(chunks).toHaveLength(11);
    expect(chunks[0]).toBe('synthetic demo: 1/20 runs (5%), 1.0s elapsed, ETA 19s\n');
    expect(chunks[10]).toBe('synthetic demo: 20/20 runs (100%), 20s elapsed, ETA 0s\n');
  });

  it('on a terminal: one line redrawn in place, ended by finish()', () => {
    let t = 0;
    const { chunks, stream } = sink(true);
    const p = new RunProgress(stream, 'x', () => t);
    t = 2000; p.update(1, 4, 'MMoE ρ=0.5 run 1');
    t = 4000; p.update(2, 4);
    p.finish();
    expect(chunks).toHaveLength(3);
    expect(chunks[0].startsWith('\rx: 1/4 runs (25%), 2.0s elapsed, ETA 6.0s — MMoE ρ=0.5 run 1')).toBe(true);
    expect(chunks[0]).toHaveLength(80);
    expect(chunks[2]).toBe('\n');
  });

  it('resuming: the ETA counts only the runs this call trained', () => {
    let t = 0;
    const { chunks, stream } = sink(false);
    const p = new RunProgress(stream, 'paper', () => t);
    t = 10_000; p.update(51, 100);
    expect(chunks[0]).toBe('paper: 51/100 runs (51%), 10s elapsed, ETA 8m10s\n');
  });
});
