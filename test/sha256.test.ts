// The small-input SHA-256 (lib/sha256.ts) against node:crypto, and its
// constants against their definition (FIPS 180-4 §4.2.2).
import { describe, it, expect } from 'vitest';
import { createHash } from 'node:crypto';
import { sha256HexSmall, ROUND_CONSTANTS, SMALL_MAX } from '../lib/sha256';
import { sha256Hex } from '../lib/objects/formats';

const primes = (n: number) => {
  const out: number[] = [];
  for (let k = 2; out.length < n; k++) if (out.every((p) => k % p !== 0)) out.push(k);
  return out;
};

describe('sha256HexSmall', () => {
  it('its round constants are the cube roots of the first 64 primes', () => {
    // 2^32 * frac(cbrt(p)), computed exactly enough with BigInt: the largest x with x^3 <= p * 2^96.
    const want = primes(64).map((p) => {
      const target = BigInt(p) << 96n;
      let lo = 0n;
      let hi = 1n << 40n;
      while (lo < hi) {
        const mid = (lo + hi + 1n) >> 1n;
        if (mid * mid * mid <= target) lo = mid;
        else hi = mid - 1n;
      }
      return Number(lo & 0xffffffffn);
    });
    expect(ROUND_CONSTANTS).toEqual(want);
  });

  it('equals node:crypto for every length around the block and padding boundaries, and split inputs', () => {
    let seed = 7;
    const bytes = (n: number) => Buffer.from(Array.from({ length: n }, () => (seed = (seed * 1103515245 + 12345) >>> 0) >>> 24));
    for (let len = 0; len <= 300; len++) {
      const b = bytes(len);
      const want = createHash('sha256').update(b).digest('hex');
      expect(sha256HexSmall([b]), `length ${len}`).toBe(want);
      const cut = len >> 1;
      expect(sha256HexSmall([b.subarray(0, cut), Buffer.alloc(0), b.subarray(cut)]), `length ${len}, split`).toBe(want);
    }
    for (const len of [SMALL_MAX - 1, SMALL_MAX, SMALL_MAX + 1, 100_000]) {
      const b = bytes(len);
      expect(sha256Hex(b), `sha256Hex, length ${len}`).toBe(createHash('sha256').update(b).digest('hex'));
    }
  });
});
