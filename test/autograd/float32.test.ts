import { describe, expect, it } from 'vitest';
import { cases, makeInputs } from './op-cases.js';

/*
 * float32 forward results agree with float64 on the same (float32-representable) inputs within
 * 1e-5 relative; entries below 1 in magnitude are compared absolutely at 1e-5, since a relative
 * error is meaningless where a sum cancels to near zero.
 */
describe('float32 forward agrees with float64', () => {
  cases.forEach((c, i) => {
    it(c.name, () => {
      const x32 = makeInputs(c, 2000 + i, 'float32', false);
      const x64 = makeInputs(c, 2000 + i, 'float64', false);
      x32.forEach((x, k) => expect(Array.from(x.data)).toEqual(Array.from(x64[k].data)));
      const y32 = c.fn(...x32);
      const y64 = c.fn(...x64);
      expect(y64.dtype).toBe('float64');
      if (c.op !== 'cast') expect(y32.dtype).toBe('float32');
      expect(y32.shape).toEqual(y64.shape);
      let worst = 0;
      for (let k = 0; k < y64.size; k++) {
        const ref = y64.data[k];
        expect(Number.isFinite(ref)).toBe(true);
        worst = Math.max(worst, Math.abs(y32.data[k] - ref) / Math.max(1, Math.abs(ref)));
      }
      expect(worst).toBeLessThanOrEqual(1e-5);
    });
  });
});
