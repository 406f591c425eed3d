import { parseArgs } from 'node:util';
import { unknownKey } from '../validation/options.js';

/**
 * A small strict flag parser: every flag must be declared, every value is checked for its type
 * and range, and every problem is a UsageError with one line naming the flag, so the CLI can
 * print it and exit 2 instead of showing a stack trace.
 */

export class UsageError extends Error {
  override name = 'UsageError';
}

export type FlagType = 'int' | 'number' | 'string' | 'boolean' | 'numbers';

export interface FlagSpec {
  type: FlagType;
  description: string;
  /** Shown in the help as the value's placeholder. */
  placeholder?: string;
  /** Inclusive lower bound for 'int' / 'number' / 'numbers'. */
  min?: number;
  /** Inclusive upper bound for 'int' / 'number' / 'numbers'. */
  max?: number;
  /** Allowed values of a 'string' flag. */
  choices?: readonly string[];
}

export type FlagValue = number | string | boolean | number[];
export type FlagValues = Record<string, FlagValue | undefined>;

function parseValue(flag: string, spec: FlagSpec, raw: string): FlagValue {
  const num = (s: string): number => {
    const v = s.trim() === '' ? NaN : Number(s);
    if (!Number.isFinite(v)) throw new UsageError(`--${flag} expects a number, got '${s}'`);
    if (spec.type === 'int' && !Number.isInteger(v)) throw new UsageError(`--${flag} expects an integer, got '${s}'`);
    if (spec.min !== undefined && v < spec.min) throw new UsageError(`--${flag} must be >= ${spec.min}, got ${s}`);
    if (spec.max !== undefined && v > spec.max) throw new UsageError(`--${flag} must be <= ${spec.max}, got ${s}`);
    return v;
  };
  switch (spec.type) {
    case 'int':
    case 'number':
      return num(raw);
    case 'numbers':
      return raw.split(',').map(num);
    case 'string':
      // `--out=` would otherwise reach the command as '' and fail only after the whole run.
      if (raw === '') throw new UsageError(`--${flag} needs a non-empty value`);
      if (spec.choices && !spec.choices.includes(raw)) throw new UsageError(`--${flag} must be one of ${spec.choices.join(', ')}, got '${raw}'`);
      return raw;
    case 'boolean':
      if (raw === 'true') return true;
      if (raw === 'false') return false;
      throw new UsageError(`--${flag} takes no value (or true/false), got '${raw}'`);
  }
}

/**
 * Parses `--name value`, `--name=value` and boolean `--name` with node:util's parseArgs (its
 * tokens, so each problem gets this CLI's one-line message); positional arguments are rejected,
 * and an unknown flag gets the did-you-mean of unknown config keys and options (unknownKey).
 */
export function parseFlags(command: string, argv: readonly string[], specs: Record<string, FlagSpec>): FlagValues {
  const options: Record<string, { type: 'string' | 'boolean' }> = {};
  for (const [name, spec] of Object.entries(specs)) options[name] = { type: spec.type === 'boolean' ? 'boolean' : 'string' };
  const { tokens } = parseArgs({ args: [...argv], options, strict: false, allowPositionals: true, tokens: true });
  const out: FlagValues = {};
  for (const t of tokens) {
    if (t.kind === 'positional' || t.kind === 'option-terminator') {
      const arg = t.kind === 'positional' ? t.value : '--';
      throw new UsageError(`${command}: unexpected argument '${arg}' (flags start with --; see mmoe-ts ${command} --help)`);
    }
    const name = t.name;
    if (t.rawName.startsWith('-') && !t.rawName.startsWith('--')) {
      throw new UsageError(`${command}: unexpected argument '${t.rawName}' (flags start with --; see mmoe-ts ${command} --help)`);
    }
    const spec = Object.prototype.hasOwnProperty.call(specs, name) ? specs[name] : undefined;
    if (!spec) {
      const near = unknownKey({ [name]: true }, Object.keys(specs))?.near;
      throw new UsageError(`${command}: unknown flag --${name}${near === undefined ? '' : ` (did you mean --${near}?)`} (see mmoe-ts ${command} --help)`);
    }
    if (out[name] !== undefined) throw new UsageError(`${command}: --${name} given twice`);
    if (spec.type === 'boolean' && t.value === undefined) {
      out[name] = true;
      continue;
    }
    // parseArgs takes the next argument as a string flag's value whatever it is; `--epochs --quiet`
    // means the value is missing, while `--lr -1` is a (negative) value for the range check.
    const raw = t.value;
    if (raw === undefined || (!t.inlineValue && raw.startsWith('--') && raw.length > 2)) {
      throw new UsageError(`${command}: --${name} needs a value (${spec.placeholder ?? spec.type})`);
    }
    try {
      out[name] = parseValue(name, spec, raw);
    } catch (e) {
      throw e instanceof UsageError ? new UsageError(`${command}: ${e.message}`) : e;
    }
  }
  return out;
}

/** The flag list of a command's help text, one aligned line per flag. */
export function formatFlagHelp(specs: Record<string, FlagSpec>): string {
  const rows = Object.entries(specs).map(([name, s]) => {
    const ph = s.type === 'boolean' ? '' : ` ${s.placeholder ?? (s.type === 'string' ? 'TEXT' : s.type === 'numbers' ? 'N,N,…' : 'N')}`;
    return [`  --${name}${ph}`, s.description] as const;
  });
  const width = Math.max(...rows.map(([l]) => l.length)) + 2;
  return rows.map(([l, d]) => l.padEnd(width) + d).join('\n');
}

/** A numeric flag's value, or undefined when it was not given. */
export function getNumber(v: FlagValues, name: string): number | undefined {
  const x = v[name];
  return typeof x === 'number' ? x : undefined;
}

export function getString(v: FlagValues, name: string): string | undefined {
  const x = v[name];
  return typeof x === 'string' ? x : undefined;
}
