import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { captureCli, writeTinyCsv } from './capture.js';
import { loadCheckpoint } from '../../src/train/checkpoint-node.js';

/*
 * `train --config` with training.checkpoint, and `--resume`: a CLI process SIGKILLed between two
 * checkpoints, then resumed, writes the same model file, byte for byte, as a run never interrupted —
 * in memory and streamed, at epoch ends and inside epochs (everySteps).
 */

const dir = mkdtempSync(join(tmpdir(), 'mmoe-ts-cli-resume-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
writeTinyCsv(join(dir, 'rows.csv'), 300);

const config = (training: object, name = Math.random().toString(36).slice(2)): string => {
  const file = join(dir, `cfg-${name}.json`);
  writeFileSync(file, JSON.stringify({
    csv: 'rows.csv',
    labels: [{ column: 'clicked', type: 'binary' }, { column: 'spend', type: 'regression' }],
    sparse: [{ column: 'city', embeddingDim: 3 }], dense: ['age'],
    // Dropout draws from the global generator: its state must survive the kill too.
    model: { name: 'MMoE', options: { numExperts: 2, expertHiddenUnits: [8], towerHiddenUnits: [4], initStd: 0.1, dnnDropout: 0.1 } },
    training: { epochs: 5, batchSize: 16, lr: 0.01, validationSplit: 0.2, testSplit: 0.2, seed: 3, ...training },
  }));
  return file;
};

const root = join(import.meta.dirname, '..', '..');

/** The real CLI in a child process, paused after its `pauseAfter`-th last.ckpt, then SIGKILLed. */
async function killedRun(cfg: string, out: string, pauseAfter: number): Promise<void> {
  const child = spawn(process.execPath, [
    '--experimental-wasm-relaxed-simd', '--import', 'tsx', '--import', join(import.meta.dirname, 'fixtures', 'pause-after-checkpoint.ts'),
    join(root, 'src', 'cli', 'main.ts'), 'train', '--config', cfg, '--out', out, '--quiet',
  ], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, MMOE_TEST_PAUSE_AFTER: String(pauseAfter) } });
  let stdout = '', stderr = '';
  child.stderr.on('data', (b) => { stderr += String(b); });
  const exit = new Promise<string | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (b) => {
      stdout += String(b);
      if (stdout.includes('paused after checkpoint')) resolve();
    });
    child.on('exit', () => reject(new Error(`the CLI exited before its checkpoint ${pauseAfter}: ${stdout} ${stderr}`)));
  });
  child.kill('SIGKILL');
  expect(await exit).toBe('SIGKILL');
}

const historyOf = (out: string): unknown =>
  JSON.parse(readFileSync(join(out, 'metrics.json'), 'utf8')).history.epochs.map((e: { epoch: number; logs: unknown }) => [e.epoch, e.logs]);

async function interruptedEqualsUncut(training: object, pauseAfter: number, expectPartial: boolean): Promise<void> {
  const cfg = config(training);
  const ref = join(dir, `ref-${pauseAfter}-${expectPartial}`);
  const r0 = await captureCli(['train', '--config', cfg, '--out', ref, '--quiet']);
  expect(r0.stderr).toBe('');
  const killed = join(dir, `killed-${pauseAfter}-${expectPartial}`);
  await killedRun(cfg, killed, pauseAfter);
  // Killed mid-run: checkpoints (whole, no temp files left), no model file.
  expect(existsSync(join(killed, 'model.safetensors'))).toBe(false);
  expect(readdirSync(join(killed, 'checkpoints')).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  const last = join(killed, 'checkpoints', 'last.ckpt');
  const ckpt = loadCheckpoint(last);
  expect(ckpt.epoch).toBeLessThan(5);
  expect(ckpt.partial !== null).toBe(expectPartial);
  const resumed = join(dir, `resumed-${pauseAfter}-${expectPartial}`);
  const r1 = await captureCli(['train', '--config', cfg, '--out', resumed, '--quiet', '--resume', last]);
  expect(r1.stderr).toBe('');
  expect(r1.status).toBe(0);
  const a = readFileSync(join(ref, 'model.safetensors')), b = readFileSync(join(resumed, 'model.safetensors'));
  expect(b.equals(a)).toBe(true);
  expect(historyOf(resumed)).toEqual(historyOf(ref));
  // The same checkpoint with gradients clipped hard ends elsewhere: the comparison can fail.
  const other = join(dir, `other-${pauseAfter}-${expectPartial}`);
  await captureCli(['train', '--config', config({ ...training, clipGradNorm: 0.001 }), '--out', other, '--quiet', '--resume', last]);
  expect(readFileSync(join(other, 'model.safetensors')).equals(a)).toBe(false);
}

describe('train --config: training.checkpoint and --resume', () => {
  it('in memory: SIGKILLed after the epoch-2 checkpoint, resumed, the model file is byte-identical', async () => {
    await interruptedEqualsUncut({ checkpoint: { monitor: 'val_clicked_auc' } }, 2, false);
  }, 60_000);

  it('streamed, checkpointing every 7 steps: SIGKILLed inside an epoch, resumed, the model file is byte-identical', async () => {
    await interruptedEqualsUncut({ stream: true, shuffleBuffer: 50, checkpoint: { everySteps: 7, saveBest: false } }, 4, true);
  }, 60_000);

  it('in memory, checkpointing every 5 steps: SIGKILLed inside an epoch, resumed, the model file is byte-identical', async () => {
    await interruptedEqualsUncut({ checkpoint: { everySteps: 5 } }, 4, true);
  }, 60_000);

  it('writes best.ckpt and last.ckpt where training.checkpoint.dir says (relative to the config file)', async () => {
    const out = join(dir, 'out-dir');
    const r = await captureCli(['train', '--config', config({ epochs: 2, checkpoint: { dir: 'ckpts-here', monitor: 'val_loss', mode: 'min' } }), '--out', out, '--quiet']);
    expect(r.status).toBe(0);
    expect(readdirSync(join(dir, 'ckpts-here')).sort()).toEqual(['best.ckpt', 'last.ckpt']);
    expect(loadCheckpoint(join(dir, 'ckpts-here', 'last.ckpt')).epoch).toBe(2);
  });

  it('bad checkpoint options and resumes are one-line errors naming the key or flag', async () => {
    const bad = async (training: object, text: string, args: string[] = []): Promise<void> => {
      const r = await captureCli(['train', '--config', config(training), '--out', join(dir, 'bad'), '--quiet', ...args]);
      expect(r.status).toBe(2);
      expect(r.stderr).toContain(text);
    };
    await bad({ checkpoint: { every: 2 } }, "unknown key 'training.checkpoint.every'");
    await bad({ checkpoint: { everySteps: 0 } }, "'training.checkpoint.everySteps' must be a positive integer");
    await bad({ checkpoint: { mode: 'up' } }, "'training.checkpoint.mode' must be \"min\", \"max\" or \"auto\"");
    await bad({ checkpoint: { saveBest: false, saveLast: false } }, 'nothing would be written');
    await bad({ checkpoint: 'yes' }, "'training.checkpoint' must be an object");
    await bad({ epochs: 1, checkpoint: { monitor: 'val_nope' } }, "config: training.checkpoint: ModelCheckpoint: monitor 'val_nope' is not logged");
    await bad({}, '--resume: loadCheckpoint: cannot read', ['--resume', join(dir, 'nothing.ckpt')]);
    // A checkpoint of another optimizer.
    const src = join(dir, 'src-ckpt');
    await captureCli(['train', '--config', config({ epochs: 1, checkpoint: {} }), '--out', src, '--quiet']);
    await bad({ optimizer: 'sgd' }, `--resume ${join(src, 'checkpoints', 'last.ckpt')}: the checkpoint holds Adam state, this fit's optimizer is SGD`, ['--resume', join(src, 'checkpoints', 'last.ckpt')]);
  });
});
