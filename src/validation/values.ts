/*
 * Option and argument value checks shared by every layer, next to the key checks in options.ts:
 * one phrasing per kind of mistake, each naming the function, the option and the value that came.
 */

/** Throws `${fn}: ${name} must be a positive integer, got v` unless v is an integer ≥ 1; returns v. */
export function checkPositiveInt(fn: string, name: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) throw new RangeError(`${fn}: ${name} must be a positive integer, got ${typeof v === 'number' ? v : describeValue(v)}`);
  return v;
}

/** Throws `${fn}: ${name} must be an integer ≥ min, got v` unless v is one; returns v. */
export function checkIntAtLeast(fn: string, name: string, v: unknown, min: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min) throw new RangeError(`${fn}: ${name} must be an integer ≥ ${min}, got ${typeof v === 'number' ? v : describeValue(v)}`);
  return v;
}

export type ValueKind = 'boolean' | 'number' | 'string' | 'function' | 'object';

/** What a value is, in words: 'the string "false"', 'null', 'an array'. */
export function describeValue(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return `the string ${JSON.stringify(v)}`;
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return `${typeof v} ${String(v)}`;
  return typeof v;
}

/**
 * Throws a TypeError naming the option unless each given (not undefined) value in `options` has
 * the kind `kinds` lists for its key: `fit: shuffle must be a boolean, got the string "false"`
 * (a string 'false' is truthy, so it would silently shuffle). Keys `kinds` omits are not checked.
 */
export function checkOptionTypes(fn: string, options: object | undefined, kinds: Readonly<Record<string, ValueKind>>): void {
  if (options === undefined || options === null) return;
  for (const [key, kind] of Object.entries(kinds)) {
    const v = (options as Record<string, unknown>)[key];
    if (v === undefined) continue;
    const ok = kind === 'object' ? typeof v === 'object' && v !== null : typeof v === kind;
    if (!ok) throw new TypeError(`${fn}: ${key} must be ${kind === 'object' ? 'an object' : `a ${kind}`}, got ${describeValue(v)}`);
  }
}
