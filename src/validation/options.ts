/*
 * Option-object checking shared by every layer (it sits in the lowest one so that nn, models,
 * train and cli can all import it): an unknown key is almost always a typo (`epoch` for
 * `epochs`), and silently ignoring it trains with the default the user meant to override.
 */

/** Edit distance (insertions, deletions, substitutions and adjacent transpositions), case-insensitive. */
export function editDistance(a: string, b: string): number {
  a = a.toLowerCase();
  b = b.toLowerCase();
  const m = a.length, n = b.length;
  // Three rolling rows: the transposition step looks two rows back.
  let prev2 = new Array<number>(n + 1).fill(0);
  let prev = Array.from({ length: n + 1 }, (_, j) => j);
  let cur = new Array<number>(n + 1).fill(0);
  for (let i = 1; i <= m; i++) {
    cur[0] = i;
    for (let j = 1; j <= n; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, prev2[j - 2] + 1);
      cur[j] = d;
    }
    [prev2, prev, cur] = [prev, cur, prev2];
  }
  return prev[n];
}

/**
 * The candidate closest to `key`, or undefined when none is close enough to be a plausible typo:
 * within 40% of the longer name's length in edits (at least 1), so `epoch` finds `epochs` and
 * `numExpert` finds `numExperts`, while `x` suggests nothing rather than an unrelated `lr`.
 */
export function closestMatch(key: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of candidates) {
    const d = editDistance(key, c);
    const limit = Math.max(1, Math.floor(0.4 * Math.max(key.length, c.length)));
    if (d <= limit && d < bestD) {
      best = c;
      bestD = d;
    }
  }
  return best;
}

/**
 * Throws unless `options` is undefined or a plain object whose own keys are all in `allowedKeys`.
 * The error names the function, the unknown key, the closest allowed key when one is near, and
 * every allowed key: `fit: unknown option 'epoch' (did you mean 'epochs'?); allowed: epochs, …`.
 * A key given with the value undefined is still checked: the typo is there either way.
 */
export function checkOptions(fnName: string, options: unknown, allowedKeys: readonly string[]): void {
  if (options === undefined) return;
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    const got = options === null ? 'null' : Array.isArray(options) ? 'an array' : typeof options;
    throw new TypeError(`${fnName}: options must be an object, got ${got}`);
  }
  const bad = unknownKey(options, allowedKeys);
  if (bad === undefined) return;
  const hint = bad.near === undefined ? '' : ` (did you mean '${bad.near}'?)`;
  throw new TypeError(`${fnName}: unknown option '${bad.key}'${hint}; allowed: ${allowedKeys.join(', ')}`);
}

/**
 * The first own key of `o` not in `allowedKeys`, with the closest allowed key when one is near
 * (never a key starting with '$', which marks a comment): the one test behind every unknown-key
 * error, whatever its wording (checkOptions here, the CLI's config file and flags).
 */
export function unknownKey(o: object, allowedKeys: readonly string[]): { key: string; near?: string } | undefined {
  // No Set: the lists are short, and tensor creation checks its options on every call.
  for (const key of Object.keys(o)) {
    if (allowedKeys.includes(key)) continue;
    const near = closestMatch(key, allowedKeys.filter((a) => !a.startsWith('$')));
    return near === undefined ? { key } : { key, near };
  }
  return undefined;
}

/**
 * Every key of an options type, as an object the compiler checks both ways: a key of T missing
 * here, or a key here that T lacks, fails the build, so the runtime list of allowed option names
 * cannot drift from the declared options (jax-js's mapped-type trick).
 */
export type OptionKeys<T> = { readonly [K in keyof Required<T>]: true };

/** checkOptions against the keys of an OptionKeys record. */
export function checkOptionKeys<T>(fnName: string, options: unknown, keys: OptionKeys<T>): void {
  checkOptions(fnName, options, Object.keys(keys));
}
