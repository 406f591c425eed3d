/*
 * "Same work" before any timing: a peer's outputs, gradients and updated weights must match ours
 * to TOL relative. Every comparison is recorded (for the results JSON); a mismatch throws, which
 * fails the row (or the section) that asked, loudly, and the run's exit code.
 */

export const TOL = 1e-4;

/** max |a - b| / max |b|: relative to the array's scale, so near-zero entries do not blow it up. */
export function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity;
  let diff = 0, scale = 0;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return scale === 0 ? diff : diff / scale;
}

export interface CheckRecord {
  what: string;
  peer: string;
  relErr: number;
  /** checkAdamStep: entries compared only to Adam's bound, their gradient being rounding noise. */
  noiseEntries?: number;
}

export const checks: CheckRecord[] = [];

export function check(what: string, peer: string, theirs: ArrayLike<number> | undefined, ours: ArrayLike<number>): void {
  if (theirs === undefined) throw new Error(`bench:peers: ${peer} returned no ${what}`);
  const e = relErr(theirs, ours);
  checks.push({ what, peer, relErr: e });
  if (!(e <= TOL)) {
    const sizes = theirs.length === ours.length ? '' : ` (${theirs.length} values against our ${ours.length})`;
    throw new Error(`bench:peers: ${peer} and ours differ on ${what}: relative error ${e.toExponential(2)} > ${TOL}${sizes}`);
  }
}

/** Adam's eps (ours, PyTorch's and TF.js's default). */
const ADAM_EPS = 1e-8;
/** Below this |gradient| Adam's first step lr·g/(|g| + eps) turns rounding noise in g into a visible update. */
const NOISE_GRAD = 100 * ADAM_EPS;

/**
 * Weights after one Adam step from the same start. Adam's first update is lr·g/(|g| + eps): for
 * |g| near eps (a gradient that is float32 rounding noise next to the tensor's largest, e.g.
 * 4e-9 beside 6e-2) it is the ratio of two noises, and two correct implementations differ by up
 * to lr there. Such entries (|g| < 100·eps on either side) are held only to what Adam guarantees,
 * |difference| ≤ 2·lr (each side moved at most lr); every other entry is compared to TOL as usual.
 * The gradients themselves have been compared to TOL before this.
 */
export function checkAdamStep(
  what: string, peer: string, theirs: ArrayLike<number> | undefined, ours: ArrayLike<number>,
  grads: { ours: ArrayLike<number>; theirs: ArrayLike<number> | undefined }, lr: number,
): void {
  if (theirs === undefined || grads.theirs === undefined) throw new Error(`bench:peers: ${peer} returned no ${what}`);
  if (theirs.length !== ours.length || grads.ours.length !== ours.length || grads.theirs.length !== ours.length) {
    return check(what, peer, theirs, ours); // fails on the length
  }
  const masked = Float32Array.from(theirs);
  let noise = 0;
  for (let i = 0; i < masked.length; i++) {
    if (Math.abs(grads.ours[i]) >= NOISE_GRAD && Math.abs(grads.theirs[i]) >= NOISE_GRAD) continue;
    noise++;
    if (!(Math.abs(theirs[i] - ours[i]) <= 2 * lr)) {
      throw new Error(`bench:peers: ${peer} and ours differ on ${what} at entry ${i} by ${Math.abs(theirs[i] - ours[i]).toExponential(2)}, more than one Adam step (2·lr = ${2 * lr}) can explain`);
    }
    masked[i] = ours[i];
  }
  check(what, peer, masked, ours);
  checks[checks.length - 1].noiseEntries = noise;
}
