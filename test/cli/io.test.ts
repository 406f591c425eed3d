import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeOutputs } from '../../src/cli/io.js';

describe('writeOutputs', () => {
  it('writes every file and leaves no temp file behind', () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'mmoe-io-')), 'nested');
    const paths = writeOutputs(dir, { 'a.json': '{"x":1}\n', 'b.bin': new Uint8Array([1, 2, 3]) });
    expect(paths).toEqual([join(dir, 'a.json'), join(dir, 'b.bin')]);
    expect(readFileSync(join(dir, 'a.json'), 'utf8')).toBe('{"x":1}\n');
    expect([...readFileSync(join(dir, 'b.bin'))]).toEqual([1, 2, 3]);
    expect(readdirSync(dir).sort()).toEqual(['a.json', 'b.bin']);
  });

  it('a failed write removes its temp file and keeps what was there', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mmoe-io-'));
    mkdirSync(join(dir, 'model.safetensors')); // a directory where the file should go: rename fails
    expect(() => writeOutputs(dir, { 'model.safetensors': new Uint8Array(16) })).toThrow();
    expect(readdirSync(dir)).toEqual(['model.safetensors']);
  });

  it('a folder that cannot be written after the work is done: the outputs go to a temp folder the error names', () => {
    const base = mkdtempSync(join(tmpdir(), 'mmoe-io-'));
    writeFileSync(join(base, 'blocker'), 'a file where the folder should be');
    let message = '';
    try {
      writeOutputs(join(base, 'blocker', 'out'), { 'metrics.json': '{"auc":0.9}\n' });
    } catch (e) {
      message = (e as Error).message;
    }
    const m = /^write: cannot write to .*blocker\/out \(ENOTDIR\); the outputs were saved to (\S+) instead$/.exec(message);
    expect(m).not.toBeNull();
    expect(readFileSync(join(m![1], 'metrics.json'), 'utf8')).toBe('{"auc":0.9}\n');
    rmSync(m![1], { recursive: true, force: true });
  });
});
