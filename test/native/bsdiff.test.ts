import * as crypto from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { addon } from './helpers';

/** The suffix array by plain sorting (reference). */
function naiveSA(t: Buffer): number[] {
  return Array.from({ length: t.length }, (_, i) => i).sort((a, b) => Buffer.compare(t.subarray(a), t.subarray(b)));
}

/** ostree's bspatch reader as FORMATS.md §8.6 specifies it (reference, strict). */
function bspatch(old: Buffer, patch: Buffer, size: number): Buffer {
  const out = Buffer.alloc(size);
  let p = 0;
  let oldpos = 0;
  let newpos = 0;
  const off = () => {
    if (p + 8 > patch.length) throw new Error('truncated control');
    const mag = patch.readBigUInt64LE(p) & 0x7fffffffffffffffn;
    const neg = (patch[p + 7] & 0x80) !== 0;
    p += 8;
    return Number(neg ? -mag : mag);
  };
  while (newpos < size) {
    const diff = off();
    const extra = off();
    const seek = off();
    if (diff < 0 || extra < 0 || newpos + diff > size) throw new Error('bad diff length');
    if (p + diff > patch.length) throw new Error('truncated diff');
    for (let i = 0; i < diff; i++) {
      const o = oldpos + i;
      out[newpos + i] = (patch[p + i] + (o >= 0 && o < old.length ? old[o] : 0)) & 0xff;
    }
    p += diff;
    newpos += diff;
    oldpos += diff;
    if (newpos + extra > size || p + extra > patch.length) throw new Error('bad extra length');
    patch.copy(out, newpos, p, p + extra);
    p += extra;
    newpos += extra;
    oldpos += seek;
  }
  expect(p).toBe(patch.length);
  return out;
}

/** Deterministic pseudo-random bytes. */
function prng(seed: number, n: number, alphabet = 256): Buffer {
  const b = Buffer.alloc(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b[i] = (x >>> 0) % alphabet;
  }
  return b;
}

describe('suffix_array (SA-IS)', () => {
  it('equals the sorted suffixes on edge cases and random texts of small alphabets', () => {
    const cases = [
      '',
      'a',
      'aa',
      'ab',
      'ba',
      'banana',
      'mississippi',
      'aaaaaaaaaa',
      'abababababab',
      'abcabcabcabx',
      'zyxwvutsrqp',
    ].map((s) => Buffer.from(s));
    for (let seed = 1; seed <= 60; seed++) cases.push(prng(seed, 1 + (seed * 37) % 400, [2, 3, 4, 256][seed % 4]));
    cases.push(Buffer.from([0, 0, 255, 0, 255, 255, 0]));
    for (const c of cases) expect(Array.from(addon.suffix_array(c))).toEqual(naiveSA(c));
  });
});

describe('bsdiff', () => {
  it('patches that the bspatch reader turns back into the new file', async () => {
    const base = prng(7, 50_000, 16);
    const edits: Array<[Buffer, Buffer]> = [
      [Buffer.alloc(0), Buffer.alloc(0)],
      [Buffer.alloc(0), Buffer.from('all new')],
      [Buffer.from('all old'), Buffer.alloc(0)],
      [Buffer.from('Hello, OSTree!\n'), Buffer.from('Hello, OSTree! (v2)\n')],
      [base, Buffer.concat([base.subarray(0, 20_000), Buffer.from('inserted text'), base.subarray(20_000)])],
      [base, Buffer.concat([base.subarray(25_000), base.subarray(0, 25_000)])],
      [base, prng(8, 30_000)],
      [prng(9, 5000, 2), prng(10, 5000, 2)],
    ];
    const b2 = Buffer.from(base);
    for (let i = 0; i < b2.length; i += 997) b2[i] ^= 0x55;
    edits.push([base, b2]);
    for (const [o, n] of edits) {
      const patch = await addon.bsdiff(o, n);
      expect(bspatch(o, patch, n.length).equals(n)).toBe(true);
    }
  });

  it('is small for a small change in a large file, and ostree\'s vector edit is one record', async () => {
    const old = crypto.randomBytes(1_000_000);
    const nw = Buffer.from(old);
    nw.write('CHANGED', 500_000);
    const patch = await addon.bsdiff(old, nw);
    expect(bspatch(old, patch, nw.length).equals(nw)).toBe(true);
    // Diff bytes are mostly zero: what xz squeezes.
    expect((await addon.xz_encode(patch)).length).toBeLessThan(2000);
    const v = await addon.bsdiff(Buffer.from('Hello, OSTree!\n'), Buffer.from('Hello, OSTree! (v2)\n'));
    expect(v.length).toBe(24 + 20);
  });

  it('rejects non-buffers', () => {
    expect(() => addon.bsdiff('x' as unknown as Buffer, Buffer.alloc(0))).toThrow(TypeError);
  });
});
