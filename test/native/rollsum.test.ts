import * as crypto from 'node:crypto';
import * as zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { addon } from './helpers';

// Reference: FORMATS.md §8.7's pseudo-code, written out plainly.
function find(b: Buffer): number {
  let s1 = 64 * 31;
  let s2 = 64 * 63 * 31;
  const win = new Uint8Array(64);
  let w = 0;
  for (let i = 0; i < b.length; i++) {
    const d = win[w];
    s1 = (s1 + b[i] - d) >>> 0;
    s2 = (s2 + s1 - 64 * (d + 31)) >>> 0;
    win[w] = b[i];
    w = (w + 1) % 64;
    if ((s2 & 0x1fff) === 0x1fff) return i + 1;
  }
  return 0;
}
function chunks(buf: Buffer): Array<{ key: number; start: number; len: number }> {
  const out = [];
  let start = 0;
  let tail = false;
  while (start < buf.length) {
    const rem = buf.length - start;
    let o: number;
    if (!tail) {
      o = find(buf.subarray(start));
      if (o === 0) {
        tail = true;
        o = Math.min(32768, rem);
      } else if (o > 32768) o = 32768;
    } else o = Math.min(32768, rem);
    out.push({ key: zlib.crc32(buf.subarray(0, o)), start, len: o });
    start += o;
  }
  return out;
}
function reference(from: Buffer, to: Buffer) {
  const fc = chunks(from);
  const tc = chunks(to);
  const keys = new Set<number>();
  const matches: number[] = [];
  let bufmatches = 0;
  let matchSize = 0;
  for (const t of tc) {
    const cands = fc.filter((f) => f.key === t.key);
    if (!cands.length) continue;
    keys.add(t.key);
    const f = cands.find((c) => c.len === t.len && from.subarray(c.start, c.start + c.len).equals(to.subarray(t.start, t.start + t.len)));
    if (f) {
      bufmatches++;
      matchSize += t.len;
      matches.push(t.len, t.start, f.start);
    }
  }
  return { crcmatches: keys.size, bufmatches, total: tc.length, matchSize, matches };
}

describe('rollsum_matches', () => {
  const hasCrc32 = typeof (zlib as { crc32?: unknown }).crc32 === 'function';
  it.skipIf(!hasCrc32)('agrees with the reference on edited copies (insertions, deletions, changed prefixes)', async () => {
    const base = crypto.randomBytes(300_000);
    const variants = [
      Buffer.from(base),
      Buffer.concat([base.subarray(0, 200_000), Buffer.from('inserted'), base.subarray(200_000)]),
      Buffer.concat([base.subarray(0, 100_000), base.subarray(150_000)]),
      Buffer.concat([Buffer.from('new prefix'), base]),
      Buffer.alloc(100_000, 0),
      Buffer.from('tiny'),
    ];
    for (const to of variants) {
      const r = await addon.rollsum_matches(base, to);
      const ref = reference(base, to);
      expect({ ...r, matches: Array.from(r.matches) }).toEqual(ref);
    }
  });

  it('identical files match completely; a changed first byte matches nothing (ostree keys chunks by the file start)', async () => {
    const a = crypto.randomBytes(200_000);
    const same = await addon.rollsum_matches(a, Buffer.from(a));
    expect(same.bufmatches).toBe(same.total);
    expect(same.matchSize).toBe(a.length);
    const b = Buffer.from(a);
    b[0] ^= 1;
    expect((await addon.rollsum_matches(a, b)).bufmatches).toBe(0);
  });
});
