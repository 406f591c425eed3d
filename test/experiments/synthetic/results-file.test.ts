import { appendFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SyntheticResultsFile } from '../../../src/experiments/synthetic/results-file.js';

const dir = mkdtempSync(join(tmpdir(), 'mmoe-results-file-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function fileWith(name: string, line: string): string {
  const path = join(dir, name);
  new SyntheticResultsFile(path, { protocol: 1 }).close();
  appendFileSync(path, `${line}\n`);
  return path;
}

describe('SyntheticResultsFile: a line of the wrong shape names the file, the line and what is missing', () => {
  it('a JSON line with no outcome', () => {
    const path = fileWith('a.jsonl', '{"key":"k1"}');
    expect(() => new SyntheticResultsFile(path, { protocol: 1 }))
      .toThrow(`SyntheticResultsFile: ${path}:2: a job line lacks outcome (an object); fields present: key`);
  });
  it('an outcome without its run and label correlation', () => {
    const path = fileWith('b.jsonl', '{"key":"k1","outcome":{}}');
    expect(() => new SyntheticResultsFile(path, { protocol: 1 }))
      .toThrow(`SyntheticResultsFile: ${path}:2: a job line lacks outcome.run (an object), outcome.labelCorrelation (a number)`);
  });
  it('a line that is not an object, and a header that is not JSON', () => {
    const path = fileWith('c.jsonl', '[1,2]');
    expect(() => new SyntheticResultsFile(path, { protocol: 1 })).toThrow(`SyntheticResultsFile: ${path}:2: expected a job line`);
    const bad = join(dir, 'd.jsonl');
    appendFileSync(bad, 'not json\n');
    expect(() => new SyntheticResultsFile(bad, { protocol: 1 })).toThrow(`SyntheticResultsFile: ${bad}:1 is not valid JSON (expected the header line)`);
  });
});
