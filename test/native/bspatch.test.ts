// bspatch (native/bspatch.h): the mendsley/bsdiff record stream that static
// deltas carry (FORMATS.md §8.6). Patches built here by the format's rules
// rebuild their target exactly; malformed and random patches fail with
// OSTREE_CORRUPT_OBJECT or give exactly newSize bytes — never a crash, never
// a read or write outside the buffers (the bspatch CVE class).
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { native } from '../../lib/binding';

/** "offtout": little-endian magnitude in the low 63 bits, sign in bit 63. */
function off(v: bigint): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(v < 0n ? -v | (1n << 63n) : v);
  return b;
}

interface Rec {
  diff: number;
  extra: number;
  seek: number;
}

/** A patch turning `old` into `neu` with the given record layout. */
function buildPatch(old: Buffer, neu: Buffer, recs: Rec[]): Buffer {
  const parts: Buffer[] = [];
  let oldpos = 0;
  let newpos = 0;
  for (const r of recs) {
    parts.push(off(BigInt(r.diff)), off(BigInt(r.extra)), off(BigInt(r.seek)));
    const d = Buffer.alloc(r.diff);
    for (let i = 0; i < r.diff; i++) {
      const o = oldpos + i;
      const ob = o >= 0 && o < old.length ? old[o] : 0;
      d[i] = (neu[newpos + i] - ob) & 0xff;
    }
    parts.push(d);
    newpos += r.diff;
    oldpos += r.diff;
    parts.push(neu.subarray(newpos, newpos + r.extra));
    newpos += r.extra;
    oldpos += r.seek;
  }
  return Buffer.concat(parts);
}

const patch = (old: Buffer, p: Buffer, n: number) => native().bspatch_apply(old, p, n);

describe('bspatch', () => {
  it("rebuilds FORMATS.md's hello.txt vector: one record (14, 6, 0)", () => {
    const old = Buffer.from('Hello, OSTree!\n');
    const p = Buffer.concat([off(14n), off(6n), off(0n), Buffer.alloc(14), Buffer.from(' (v2)\n')]);
    expect(patch(old, p, 20).toString()).toBe('Hello, OSTree! (v2)\n');
  });

  it('any record layout built by the format rebuilds the new file exactly', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 300 }),
        fc.uint8Array({ maxLength: 300 }),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: -400, max: 400 })), { maxLength: 6 }),
        (o, n, cuts) => {
          const old = Buffer.from(o);
          const neu = Buffer.from(n);
          // Split neu into records: (diff, extra) pairs from the cuts, the rest in a last record.
          const recs: Rec[] = [];
          let left = neu.length;
          for (const [c, seek] of cuts) {
            const diff = Math.min(left, c % 50);
            const extra = Math.min(left - diff, (c >> 6) % 50);
            recs.push({ diff, extra, seek });
            left -= diff + extra;
          }
          recs.push({ diff: left, extra: 0, seek: 0 });
          expect(patch(old, buildPatch(old, neu, recs), neu.length).equals(neu)).toBe(true);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('rejects every malformed record', () => {
    const old = Buffer.from('0123456789');
    const rec = (d: bigint, e: bigint, s: bigint, data = Buffer.alloc(0)) => Buffer.concat([off(d), off(e), off(s), data]);
    const bad: Array<[string, Buffer, number]> = [
      ['negative diff length', rec(-1n, 0n, 0n), 4],
      ['negative extra length', rec(0n, -5n, 0n), 4],
      ['diff length above 2^31-1', rec(2n ** 31n, 0n, 0n), 4],
      ['extra length above 2^31-1', rec(0n, 2n ** 31n, 0n), 4],
      ['diff past the new size', rec(5n, 0n, 0n, Buffer.alloc(5)), 4],
      ['extra past the new size', rec(2n, 3n, 0n, Buffer.alloc(5)), 4],
      ['truncated control', rec(1n, 1n, 0n).subarray(0, 20), 4],
      ['truncated diff data', rec(4n, 0n, 0n, Buffer.alloc(2)), 4],
      ['truncated extra data', rec(0n, 4n, 0n, Buffer.alloc(2)), 4],
      ['no records at all', Buffer.alloc(0), 1],
      ['seek beyond 2^62', Buffer.concat([rec(1n, 0n, 2n ** 62n + 1n, Buffer.alloc(1)), rec(1n, 0n, 0n, Buffer.alloc(1))]), 2],
    ];
    for (const [what, p, n] of bad) {
      let err: (Error & { code?: string }) | undefined;
      try {
        patch(old, p, n);
      } catch (e) {
        err = e as Error;
      }
      expect(err?.code, what).toBe('OSTREE_CORRUPT_OBJECT');
    }
    // Seeks outside the old file are allowed: those bytes count as 0.
    expect(patch(old, rec(3n, 0n, 0n, Buffer.from([1, 2, 3])), 3).equals(Buffer.from([0x31, 0x33, 0x35]))).toBe(true);
    const far = Buffer.concat([rec(0n, 0n, -1000n), rec(2n, 0n, 0n, Buffer.from([7, 8]))]);
    expect(patch(old, far, 2).equals(Buffer.from([7, 8]))).toBe(true);
    // Bytes after the record that completes the file are ignored.
    expect(patch(old, Buffer.concat([rec(0n, 1n, 0n, Buffer.from('z')), Buffer.from('garbage')]), 1).toString()).toBe('z');
  });

  it('random patches fail cleanly or give exactly newSize bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), fc.uint8Array({ maxLength: 200 }), fc.nat({ max: 100 }), (o, p, n) => {
        try {
          expect(patch(Buffer.from(o), Buffer.from(p), n).length).toBe(n);
        } catch (e) {
          expect((e as { code?: string }).code).toBe('OSTREE_CORRUPT_OBJECT');
        }
      }),
      { numRuns: 2000 },
    );
  });
});
