import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { TimingOptions } from '../lib/timing.js';

/*
 * The Node side of the PyTorch peer: starts bench/peers/torch_peer.py under Debian's
 * /usr/bin/python3 (where python3-torch lives; the pyenv python first on PATH has no torch),
 * hands it arrays as raw little-endian files in a temporary directory, and asks it, one JSON line
 * at a time, to load a workload, run one checked step, or time itself. Timing requests come from
 * the interleaved race, so PyTorch's samples alternate with ours in one run.
 */

export const PYTHON = process.env.BENCH_TORCH_PYTHON ?? '/usr/bin/python3';
const SCRIPT = join(dirname(fileURLToPath(import.meta.url)), 'torch_peer.py');

export interface TorchInfo {
  python: string;
  executable: string;
  torch: string;
  numpy: string;
  cpuCapability: string | null;
  openblas: { path: string; corename: string; config: string; threads: number } | null;
  OPENBLAS_CORETYPE: string | null;
  torchThreads: number;
}

export type PeerArray = Float32Array | Int32Array;
interface Reply { ok: boolean; error?: string; [k: string]: unknown }

export class TorchPeer {
  private readonly proc: ChildProcessWithoutNullStreams;
  private readonly lines: AsyncIterator<string>;
  private readonly dir = mkdtempSync(join(os.tmpdir(), 'mmoe-bench-torch-'));
  private stderr = '';
  private files = 0;

  private constructor() {
    this.proc = spawn(PYTHON, [SCRIPT], { stdio: ['pipe', 'pipe', 'pipe'], env: process.env });
    this.proc.stderr.on('data', (d: Buffer) => { this.stderr += d.toString(); });
    this.lines = createInterface({ input: this.proc.stdout })[Symbol.asyncIterator]();
  }

  /**
   * A running peer and what it reports about itself, or the reason there is none (no
   * /usr/bin/python3, or no torch for it): bench:peers then skips the PyTorch rows.
   */
  static async start(): Promise<{ peer: TorchPeer; info: TorchInfo } | { skipped: string }> {
    if (!existsSync(PYTHON)) return { skipped: `${PYTHON} not found (install Debian's python3-torch)` };
    const peer = new TorchPeer();
    try {
      const info = await peer.send({ cmd: 'hello' }) as unknown as TorchInfo;
      return { peer, info };
    } catch (e) {
      peer.close();
      return { skipped: `${PYTHON} cannot run the PyTorch peer (is python3-torch installed?): ${(e as Error).message.split('\n').slice(-2).join(' ')}` };
    }
  }

  private async send(cmd: Record<string, unknown>): Promise<Reply> {
    this.proc.stdin.write(`${JSON.stringify(cmd)}\n`);
    const next = await this.lines.next();
    if (next.done) throw new Error(`torch peer: exited (${this.proc.exitCode ?? 'running'}): ${this.stderr.trim().slice(-2000)}`);
    const reply = JSON.parse(next.value) as Reply;
    if (!reply.ok) throw new Error(`torch peer: ${String(cmd.cmd)} ${String(cmd.id ?? '')}: ${reply.error}`);
    return reply;
  }

  /** Writes `arrays` for the peer and builds workload `kind` from them under `id`. */
  async load(id: string, kind: 'paper' | 'bench' | 'stacked' | 'gemm', arrays: Record<string, { data: PeerArray; shape: readonly number[] }>, config: Record<string, unknown>): Promise<void> {
    const spec: Record<string, { file: string; shape: readonly number[]; dtype: string }> = {};
    for (const [name, a] of Object.entries(arrays)) {
      const n = a.shape.reduce((p, d) => p * d, 1);
      if (n !== a.data.length) throw new Error(`torch peer: load ${id}: ${name} has ${a.data.length} values for shape [${a.shape.join(', ')}]`);
      const file = `in-${this.files++}.bin`;
      writeFileSync(join(this.dir, file), littleEndianBytes(a.data));
      spec[name] = { file, shape: a.shape, dtype: a.data instanceof Int32Array ? 'int32' : 'float32' };
    }
    await this.send({ cmd: 'load', id, kind, dir: this.dir, arrays: spec, config });
  }

  /** One step of workload `id` from its loaded weights: loss, gradients, weights after, by name. */
  async check(id: string): Promise<Map<string, Float32Array>> {
    const reply = await this.send({ cmd: 'check', id, dir: this.dir, threads: 1 });
    const out = new Map<string, Float32Array>();
    for (const [name, a] of Object.entries(reply.arrays as Record<string, { file: string }>)) {
      out.set(name, fromLittleEndian(readFileSync(join(this.dir, a.file))));
    }
    return out;
  }

  /** Per-call ms samples of workload `id`'s step on `threads` threads (benchmark.js's scheme). */
  async time(id: string, threads: number, opts: TimingOptions): Promise<number[]> {
    const reply = await this.send({ cmd: 'time', id, threads, minSamples: opts.minSamples ?? 5, maxTime: opts.maxTime ?? 1 });
    return reply.samplesMs as number[];
  }

  async drop(id: string): Promise<void> {
    await this.send({ cmd: 'drop', id });
  }

  close(): void {
    if (this.proc.exitCode === null) {
      this.proc.stdin.end(`${JSON.stringify({ cmd: 'quit' })}\n`);
      this.proc.kill();
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

const littleEndian = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

function littleEndianBytes(a: PeerArray): Uint8Array {
  const bytes = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  if (littleEndian) return bytes;
  const out = new Uint8Array(a.byteLength);
  const v = new DataView(out.buffer);
  for (let i = 0; i < a.length; i++) {
    if (a instanceof Int32Array) v.setInt32(4 * i, a[i], true);
    else v.setFloat32(4 * i, a[i], true);
  }
  return out;
}

function fromLittleEndian(b: Buffer): Float32Array {
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const out = new Float32Array(b.byteLength / 4);
  for (let i = 0; i < out.length; i++) out[i] = v.getFloat32(4 * i, true);
  return out;
}
