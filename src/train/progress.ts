/**
 * Training progress for humans: on a terminal, a bar updated in place (epoch, step/total, loss,
 * samples/s, ETA); elsewhere (logs, CI, pipes) exactly one line per epoch, so files stay readable.
 */

export interface ProgressStream {
  write(s: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export interface ProgressOptions {
  stream?: ProgressStream;
  /** Force the in-place bar (true) or per-epoch lines (false); default: the stream's isTTY. */
  tty?: boolean;
  /** Minimum milliseconds between bar redraws. */
  refreshMs?: number;
  /** Clock in milliseconds (injectable for tests). */
  now?: () => number;
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  if (seconds < 60) return `${seconds.toFixed(seconds < 10 ? 1 : 0)}s`;
  const m = Math.floor(seconds / 60);
  const s = Math.round(seconds - 60 * m);
  if (m < 60) return `${m}m${String(s).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

export function formatNumber(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  return a !== 0 && (a < 1e-3 || a >= 1e5) ? v.toExponential(3) : v.toFixed(4);
}

/** `key value` pairs joined for a log line, numbers at 4 decimals. */
export function formatLogs(logs: Record<string, number>): string {
  return Object.entries(logs).map(([k, v]) => `${k} ${formatNumber(v)}`).join(' - ');
}

/**
 * Node's stderr where there is one; elsewhere (a browser page, a Web Worker) whole lines to
 * console.log, which is not a terminal, so the bar falls back to one line per epoch. Read through
 * globalThis so that nothing here refers to `process` where it does not exist.
 */
function defaultStream(): ProgressStream {
  const stderr = (globalThis as { process?: { stderr?: ProgressStream } }).process?.stderr;
  if (stderr !== undefined && typeof stderr.write === 'function') return stderr;
  let pending = '';
  return {
    isTTY: false,
    write(s: string) {
      pending += s;
      let nl: number;
      while ((nl = pending.indexOf('\n')) >= 0) {
        console.log(pending.slice(0, nl));
        pending = pending.slice(nl + 1);
      }
    },
  };
}

export class ProgressBar {
  private readonly stream: ProgressStream;
  private readonly tty: boolean;
  private readonly refreshMs: number;
  private readonly now: () => number;
  private epochStart = 0;
  private lastDraw = -Infinity;
  private epoch = 0;
  private epochs = 0;
  private steps = 0;
  /** A bar is drawn and no newline ended it yet. */
  private midLine = false;

  constructor(opts: ProgressOptions = {}) {
    this.stream = opts.stream ?? defaultStream();
    this.tty = opts.tty ?? this.stream.isTTY === true;
    this.refreshMs = opts.refreshMs ?? 100;
    this.now = opts.now ?? (() => performance.now());
  }

  epochBegin(epoch: number, epochs: number, steps: number): void {
    this.epoch = epoch;
    this.epochs = epochs;
    this.steps = steps;
    this.epochStart = this.now();
    this.lastDraw = -Infinity;
  }

  /** After each step: `step` is 1-based, `loss` the running mean, `samples` seen this epoch. */
  step(step: number, loss: number, samples: number): void {
    if (!this.tty) return;
    const t = this.now();
    // A stream's step count is unknown (NaN): then every redraw is throttled and no bar or ETA is drawn.
    const known = Number.isFinite(this.steps);
    if (!(step >= this.steps) && t - this.lastDraw < this.refreshMs) return;
    this.lastDraw = t;
    const elapsed = (t - this.epochStart) / 1000;
    const rate = elapsed > 0 ? samples / elapsed : 0;
    const eta = step > 0 ? (elapsed / step) * (this.steps - step) : NaN;
    const width = 24;
    const filled = this.steps > 0 ? Math.round((width * step) / this.steps) : width;
    const bar = '='.repeat(Math.max(0, filled - 1)) + (filled > 0 ? (step === this.steps ? '=' : '>') : '') + '.'.repeat(width - filled);
    const line = known
      ? `epoch ${this.epoch}/${this.epochs} [${bar}] ${step}/${this.steps} - loss ${formatNumber(loss)} - ${Math.round(rate)} samples/s - ETA ${formatDuration(eta)}`
      : `epoch ${this.epoch}/${this.epochs} - step ${step} - loss ${formatNumber(loss)} - ${Math.round(rate)} samples/s`;
    const cols = this.stream.columns ?? 0;
    const fitted = cols > 10 && line.length >= cols ? line.slice(0, cols - 1) : line;
    this.stream.write(`\r\x1b[2K${fitted}`);
    this.midLine = true;
  }

  /** At the end of an epoch: the bar is replaced by (or, off a terminal, becomes) one summary line. */
  epochEnd(logs: Record<string, number>, seconds: number, samplesPerSecond: number): void {
    const line = `epoch ${this.epoch}/${this.epochs} - ${formatDuration(seconds)} - ${Math.round(samplesPerSecond)} samples/s - ${formatLogs(logs)}`;
    this.stream.write(this.tty ? `\r\x1b[2K${line}\n` : `${line}\n`);
    this.midLine = false;
  }

  message(text: string): void {
    this.stream.write(this.tty ? `\r\x1b[2K${text}\n` : `${text}\n`);
    this.midLine = false;
  }

  /** When training ends, also by an error or an abort: a bar left mid-line gets its newline. */
  end(): void {
    if (this.midLine) this.stream.write('\n');
    this.midLine = false;
  }
}
