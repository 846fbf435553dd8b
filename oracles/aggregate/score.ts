/** Integer scoring helpers: every oracle must get the same bigints from the same inputs. */

export const PPM = 1_000_000n;
export const BPS = 10_000n;

/**
 * Quality in [0, 1] as parts per million, rounded down; NaN and values below 0 count as 0, above 1 as 1.
 * `Math.floor(q * 1e6)` is exact IEEE-754 arithmetic, so it is the same on every JS engine.
 */
export function qualityPpm(quality: number): bigint {
  if (Number.isNaN(quality) || quality <= 0) return 0n;
  if (quality >= 1) return PPM;
  return BigInt(Math.floor(quality * 1_000_000));
}

/** floor(emission x bps / 10 000). */
export function classPot(emission: bigint, bps: number): bigint {
  return (emission * BigInt(bps)) / BPS;
}

/** floor(pot x score / total); 0 when the class has no score. */
export function shareOf(pot: bigint, score: bigint, total: bigint): bigint {
  return total === 0n ? 0n : (pot * score) / total;
}

/** Ascending by numeric address value (same as lowercase-hex order), so output order ignores input order. */
export function compareAddress(a: string, b: string): number {
  const x = a.toLowerCase();
  const y = b.toLowerCase();
  return x < y ? -1 : x > y ? 1 : 0;
}
