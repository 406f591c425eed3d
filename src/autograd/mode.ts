/** Global autograd switches: grad recording (noGrad) and anomaly detection. */

let gradEnabled = true;
let anomalyEnabled = false;

export function isGradEnabled(): boolean {
  return gradEnabled;
}

/** Runs fn with recording off (nothing inside builds a graph), like `with torch.no_grad()`. */
export function noGrad<T>(fn: () => T): T {
  const prev = gradEnabled;
  gradEnabled = false;
  try {
    return fn();
  } finally {
    gradEnabled = prev;
  }
}

/** Runs fn with recording on, even inside noGrad. */
export function enableGrad<T>(fn: () => T): T {
  const prev = gradEnabled;
  gradEnabled = true;
  try {
    return fn();
  } finally {
    gradEnabled = prev;
  }
}

/**
 * Opt-in anomaly mode: while on, the first op whose output (forward) or input gradient (backward)
 * holds NaN or Inf throws an error naming the op.
 *
 * Two forms, like PyTorch's `torch.autograd.detect_anomaly` (a scope) and
 * `set_detect_anomaly(bool)` (a switch): `detectAnomaly(() => …)` turns it on for the call and
 * restores the previous state afterwards, even when fn throws, and returns fn's result;
 * `detectAnomaly(true | false)` sets it until changed. Anything else is a TypeError, so that
 * `detectAnomaly()` or `detectAnomaly('on')` cannot silently turn it off.
 */
export function detectAnomaly<T>(fn: () => T): T;
export function detectAnomaly(on: boolean): void;
export function detectAnomaly<T>(arg: boolean | (() => T)): T | void {
  if (typeof arg === 'function') {
    const prev = anomalyEnabled;
    anomalyEnabled = true;
    try {
      return arg();
    } finally {
      anomalyEnabled = prev;
    }
  }
  if (typeof arg !== 'boolean') {
    throw new TypeError(`detectAnomaly: expected a boolean (set the mode) or a function (run it with the mode on), got ${arg === null ? 'null' : typeof arg}`);
  }
  anomalyEnabled = arg;
}

export function isAnomalyEnabled(): boolean {
  return anomalyEnabled;
}
