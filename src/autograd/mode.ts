/** Global autograd switches: grad recording (noGrad) and anomaly detection. */

let gradEnabled = true;
let anomalyEnabled = false;

export function isGradEnabled(): boolean {
  return gradEnabled;
}

function setGrad(on: boolean): boolean {
  const prev = gradEnabled;
  gradEnabled = on;
  return prev;
}

function setAnomaly(on: boolean): boolean {
  const prev = anomalyEnabled;
  anomalyEnabled = on;
  return prev;
}

function isThenable(v: unknown): v is PromiseLike<unknown> {
  return v !== null && (typeof v === 'object' || typeof v === 'function') && typeof (v as { then?: unknown }).then === 'function';
}

/**
 * Runs fn with a switch set, restoring its previous state afterwards even when fn throws. The
 * scope is synchronous: a Promise returned by fn would run on past the restore, its awaited parts
 * under whatever mode is current then (PyTorch's context managers don't span awaits either), so a
 * thenable result is a TypeError naming `instead`, the form that does work across awaits.
 */
function scoped<T>(name: string, set: (on: boolean) => boolean, on: boolean, fn: () => T, instead: string): T {
  const prev = set(on);
  let out: T;
  try {
    out = fn();
  } finally {
    set(prev);
  }
  if (isThenable(out)) {
    // Its rejection would otherwise surface later as an unhandled one, burying this error.
    out.then(undefined, () => {});
    throw new TypeError(`${name}: fn returned a Promise, but ${name}(fn) is synchronous: the mode is restored when fn returns, before anything it awaits runs; ${instead}`);
  }
  return out;
}

/** Runs fn with recording off (nothing inside builds a graph), like `with torch.no_grad()`. fn must be synchronous. */
export function noGrad<T>(fn: () => T): T {
  return scoped('noGrad', setGrad, false, fn, 'wrap each synchronous step in noGrad instead');
}

/** Runs fn with recording on, even inside noGrad. fn must be synchronous. */
export function enableGrad<T>(fn: () => T): T {
  return scoped('enableGrad', setGrad, true, fn, 'wrap each synchronous step in enableGrad instead');
}

/**
 * Opt-in anomaly mode: while on, the first op whose output (forward) or input gradient (backward)
 * holds NaN or Inf throws an error naming the op.
 *
 * Two forms, like PyTorch's `torch.autograd.detect_anomaly` (a scope) and
 * `set_detect_anomaly(bool)` (a switch): `detectAnomaly(() => …)` turns it on for the call and
 * restores the previous state afterwards, even when fn throws, and returns fn's result (fn must be
 * synchronous: a Promise result is a TypeError);
 * `detectAnomaly(true | false)` sets it until changed. Anything else is a TypeError, so that
 * `detectAnomaly()` or `detectAnomaly('on')` cannot silently turn it off.
 */
export function detectAnomaly<T>(fn: () => T): T;
export function detectAnomaly(on: boolean): void;
export function detectAnomaly<T>(arg: boolean | (() => T)): T | void {
  if (typeof arg === 'function') {
    return scoped('detectAnomaly', setAnomaly, true, arg, 'for async code call detectAnomaly(true) before it and detectAnomaly(false) after');
  }
  if (typeof arg !== 'boolean') {
    throw new TypeError(`detectAnomaly: expected a boolean (set the mode) or a function (run it with the mode on), got ${arg === null ? 'null' : typeof arg}`);
  }
  anomalyEnabled = arg;
}

export function isAnomalyEnabled(): boolean {
  return anomalyEnabled;
}
