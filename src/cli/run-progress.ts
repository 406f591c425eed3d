import { formatDuration, type ProgressStream } from '../train/progress.js';

/**
 * Progress over many training runs, with an ETA from this call's pace: on a terminal one line
 * redrawn in place; elsewhere (logs, CI, pipes) one plain line at each tenth of the work, so a log
 * stays short and readable.
 */
export class RunProgress {
  private readonly t0: number;
  private startDone = -1;
  private lastTenth = -1;
  private drawn = false;
  private readonly tty: boolean;

  constructor(private readonly stream: ProgressStream, private readonly label: string, private readonly now: () => number = () => performance.now(), tty?: boolean) {
    this.t0 = now();
    this.tty = tty ?? stream.isTTY === true;
  }

  /** After each newly finished run: `done` of `total` (done may start above 0 when resuming). */
  update(done: number, total: number, detail = ''): void {
    if (this.startDone < 0) this.startDone = done - 1;
    const elapsed = (this.now() - this.t0) / 1000;
    const trained = done - this.startDone;
    const eta = trained > 0 ? (elapsed / trained) * (total - done) : NaN;
    const pct = total > 0 ? Math.floor((100 * done) / total) : 100;
    const line = `${this.label}: ${done}/${total} runs (${pct}%), ${formatDuration(elapsed)} elapsed, ETA ${done >= total ? '0s' : formatDuration(eta)}${detail ? ` — ${detail}` : ''}`;
    if (this.tty) {
      const width = Math.max(20, (this.stream.columns ?? 100) - 1);
      this.stream.write(`\r${line.slice(0, width).padEnd(width)}`);
      this.drawn = true;
      return;
    }
    const tenth = Math.floor((10 * done) / Math.max(1, total));
    if (tenth > this.lastTenth) {
      this.lastTenth = tenth;
      this.stream.write(`${line}\n`);
    }
  }

  /** Ends the in-place line, so what follows starts on a fresh line. */
  finish(): void {
    if (this.tty && this.drawn) this.stream.write('\n');
    this.drawn = false;
  }

  /** A message between updates (a note), without garbling the in-place line. */
  note(line: string): void {
    this.finish();
    this.stream.write(`${line}\n`);
  }
}
