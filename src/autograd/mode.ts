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
 */
export function detectAnomaly(on: boolean): void {
  anomalyEnabled = on;
}

export function isAnomalyEnabled(): boolean {
  return anomalyEnabled;
}
