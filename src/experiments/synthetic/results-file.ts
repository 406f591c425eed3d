import { closeSync, existsSync, fsyncSync, openSync, readFileSync, truncateSync, writeSync } from 'node:fs';
import { Tensor } from '../../autograd/index.js';
import { jobKey, type SyntheticJob, type SyntheticJobOutcome, type SyntheticSettings } from './experiment.js';

/*
 * A results file for long synthetic runs: JSON lines, one header naming the settings, then one line
 * per finished job, each written with one write and an fsync. A run that is interrupted leaves a
 * prefix of complete lines (and at most one torn last line, which reopening cuts off); reopening with
 * the same settings gives back every finished job, so a resumed run trains only the rest. JSON keeps
 * every double exactly (shortest round-trip form), so resumed results equal uninterrupted ones.
 */

const FORMAT = 'mmoe-ts synthetic results v1';

interface HeaderLine { format: string; settings: unknown }
interface JobLine {
  key: string;
  outcome: Omit<SyntheticJobOutcome, 'state'> & { state?: Record<string, { shape: number[]; data: string }> };
}

function encodeState(state: Record<string, Tensor>): NonNullable<JobLine['outcome']['state']> {
  const out: NonNullable<JobLine['outcome']['state']> = {};
  for (const [k, t] of Object.entries(state)) {
    const f = Float32Array.from(t.data);
    out[k] = { shape: t.shape.slice(), data: Buffer.from(f.buffer, f.byteOffset, f.byteLength).toString('base64') };
  }
  return out;
}

function decodeState(state: NonNullable<JobLine['outcome']['state']>): Record<string, Tensor> {
  const out: Record<string, Tensor> = {};
  for (const [k, v] of Object.entries(state)) {
    const b = Buffer.from(v.data, 'base64');
    const f = new Float32Array(b.byteLength / 4);
    new Uint8Array(f.buffer).set(b);
    out[k] = new Tensor(f, v.shape);
  }
  return out;
}

/**
 * Throws naming the file, the line and the missing field unless `line` has what a resume reads:
 * a well-formed JSON line of another shape would otherwise fail as a bare destructuring TypeError.
 */
function checkJobLine(path: string, lineNo: number, line: unknown): asserts line is JobLine {
  const at = `SyntheticResultsFile: ${path}:${lineNo}`;
  const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
  if (!isObj(line)) throw new Error(`${at}: expected a job line (an object with key and outcome), got ${JSON.stringify(line)?.slice(0, 60)}`);
  const missing: string[] = [];
  if (typeof line.key !== 'string') missing.push('key (a string)');
  const o = line.outcome;
  if (!isObj(o)) missing.push('outcome (an object)');
  else {
    if (!isObj(o.run)) missing.push('outcome.run (an object)');
    if (typeof o.labelCorrelation !== 'number') missing.push('outcome.labelCorrelation (a number)');
    if (o.state !== undefined && (!isObj(o.state) || !Object.values(o.state).every((v) => isObj(v) && Array.isArray(v.shape) && typeof v.data === 'string'))) {
      missing.push('outcome.state (name → { shape, data })');
    }
  }
  if (missing.length > 0) throw new Error(`${at}: a job line lacks ${missing.join(', ')}; fields present: ${Object.keys(line).join(', ') || 'none'}`);
}

export class SyntheticResultsFile {
  private readonly done = new Map<string, SyntheticJobOutcome>();
  private fd: number | null = null;

  /**
   * Opens (or creates) `path` for `settings`. An existing file must name the same settings — the
   * experiment it holds — or this throws, so results of different protocols never mix.
   */
  constructor(readonly path: string, settings: object) {
    const header = JSON.stringify({ format: FORMAT, settings } satisfies HeaderLine);
    if (existsSync(path)) {
      const text = readFileSync(path, 'utf8');
      const end = text.lastIndexOf('\n') + 1;
      // A torn last line (a write cut short) is dropped; every complete line before it is kept.
      if (end < text.length) truncateSync(path, Buffer.byteLength(text.slice(0, end)));
      const lines = text.slice(0, end).split('\n').filter((l) => l.length > 0);
      if (lines.length > 0) {
        let first: HeaderLine;
        try {
          first = JSON.parse(lines[0]) as HeaderLine;
        } catch {
          throw new Error(`SyntheticResultsFile: ${path}:1 is not valid JSON (expected the header line)`);
        }
        if (first === null || typeof first !== 'object' || first.format !== FORMAT) throw new Error(`SyntheticResultsFile: ${path} is not a synthetic results file (first line: ${lines[0].slice(0, 60)})`);
        if (JSON.stringify(first) !== header) {
          throw new Error(`SyntheticResultsFile: ${path} holds results of other settings; move it away or give another --results file (it has ${JSON.stringify(first.settings)}, this run ${JSON.stringify(settings)})`);
        }
        lines.slice(1).forEach((l, i) => {
          let line: JobLine;
          try {
            line = JSON.parse(l) as JobLine;
          } catch {
            throw new Error(`SyntheticResultsFile: ${path}:${i + 2} is not valid JSON`);
          }
          checkJobLine(path, i + 2, line);
          const { state, ...rest } = line.outcome;
          this.done.set(line.key, { ...rest, ...(state && { state: decodeState(state) }) });
        });
      }
      this.fd = openSync(path, 'a');
      if (lines.length === 0) this.append(header);
    } else {
      this.fd = openSync(path, 'a');
      this.append(header);
    }
  }

  /** Finished jobs of `jobs`, by job index; `study` names the part of a protocol they belong to (keys are prefixed with it). */
  finished(s: SyntheticSettings, jobs: readonly SyntheticJob[], study = ''): Map<number, SyntheticJobOutcome> {
    const out = new Map<number, SyntheticJobOutcome>();
    for (const j of jobs) {
      const o = this.done.get(study + jobKey(s, j));
      if (o) out.set(j.index, o);
    }
    return out;
  }

  get count(): number {
    return this.done.size;
  }

  record(s: SyntheticSettings, job: SyntheticJob, o: SyntheticJobOutcome, study = ''): void {
    const key = study + jobKey(s, job);
    const { state, ...rest } = o;
    const line: JobLine = { key, outcome: { ...rest, ...(state && { state: encodeState(state) }) } };
    this.append(JSON.stringify(line));
    this.done.set(key, o);
  }

  private append(line: string): void {
    if (this.fd === null) throw new Error(`SyntheticResultsFile: ${this.path} is closed`);
    const bytes = Buffer.from(`${line}\n`);
    let at = 0;
    while (at < bytes.length) at += writeSync(this.fd, bytes, at);
    fsyncSync(this.fd);
  }

  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }
}
