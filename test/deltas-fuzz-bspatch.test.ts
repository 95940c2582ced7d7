// Property tests of native bspatch (FORMATS.md §8.6) against a reference
// model of the format written here from the spec: random old files and
// (mostly malformed) control/diff/extra records must give exactly the
// model's output — newSize bytes, every one derived from inside the buffers —
// or fail with OSTREE_CORRUPT_OBJECT exactly when the model fails. And
// bsdiff(old, new) patched by bspatch gives new. Seeds fixed and printed.
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { native } from '../lib/binding';
import { FUZZ_SEED, corpus, decodeRecord, saveCrasher, encodeRecord } from './fuzz/corpus';

const INT31 = 2n ** 31n - 1n;

/** "offtout": little-endian magnitude in the low 63 bits, sign in bit 63. */
function offtout(v: bigint): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(v < 0n ? -v | (1n << 63n) : v);
  return b;
}

/** The format as FORMATS.md §8.6 states it: the new file, or null where a patch must fail. */
function modelPatch(old: Buffer, patch: Buffer, size: number): Buffer | null {
  const out = Buffer.alloc(size);
  let oldpos = 0n;
  let newpos = 0;
  let p = 0;
  const offtin = (at: number): bigint => {
    const raw = patch.readBigUInt64LE(at);
    const mag = raw & ((1n << 63n) - 1n);
    return raw >> 63n ? -mag : mag;
  };
  while (newpos < size) {
    if (p + 24 > patch.length) return null;
    const diff = offtin(p);
    const extra = offtin(p + 8);
    const seek = offtin(p + 16);
    p += 24;
    if (diff < 0n || diff > INT31 || extra < 0n || extra > INT31) return null;
    if (BigInt(newpos) + diff > BigInt(size)) return null;
    const d = Number(diff);
    if (p + d > patch.length) return null;
    for (let i = 0; i < d; i++) {
      const o = oldpos + BigInt(i);
      out[newpos + i] = (patch[p + i] + (o >= 0n && o < BigInt(old.length) ? old[Number(o)] : 0)) & 0xff;
    }
    p += d;
    newpos += d;
    oldpos += diff;
    if (BigInt(newpos) + extra > BigInt(size)) return null;
    const e = Number(extra);
    if (p + e > patch.length) return null;
    patch.copy(out, newpos, p, p + e);
    p += e;
    newpos += e;
    oldpos += seek;
    // Ours (not ostree) bounds the old position to ±2^62 so its arithmetic cannot overflow.
    if (oldpos > 2n ** 62n || oldpos < -(2n ** 62n)) return null;
  }
  return out;
}

function nativePatch(old: Buffer, patch: Buffer, size: number): Buffer | null {
  try {
    const out = native().bspatch_apply(old, patch, size);
    expect(out.length).toBe(size);
    return out;
  } catch (err) {
    if ((err as { code?: string }).code !== 'OSTREE_CORRUPT_OBJECT') saveCrasher('bspatch', encodeRecord({ old, patch, size }));
    expect((err as { code?: string }).code).toBe('OSTREE_CORRUPT_OBJECT');
    return null;
  }
}

/** Native and model agree: same bytes, or both refuse. */
function agree(old: Buffer, patch: Buffer, size: number): 'ok' | 'refused' {
  const want = modelPatch(old, patch, size);
  const got = nativePatch(old, patch, size);
  if (want === null) {
    if (got !== null) saveCrasher('bspatch', encodeRecord({ old, patch, size }));
    expect(got).toBeNull();
    return 'refused';
  }
  if (got === null || !got.equals(want)) saveCrasher('bspatch', encodeRecord({ old, patch, size }));
  expect(got?.equals(want)).toBe(true);
  return 'ok';
}

/** Lengths and seeks at the interesting edges: negative, zero, small, at and past 2^31, past the new size, huge. */
const lenArb = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: 0, max: 40 }).map(BigInt) },
  { weight: 1, arbitrary: fc.constantFrom(-1n, -(2n ** 62n), INT31, INT31 + 1n, 2n ** 62n, 2n ** 63n - 1n, -(2n ** 63n - 1n)) },
  { weight: 1, arbitrary: fc.bigInt({ min: -(2n ** 63n - 1n), max: 2n ** 63n - 1n }) },
);
const seekArb = fc.oneof(
  { weight: 4, arbitrary: fc.integer({ min: -80, max: 80 }).map(BigInt) },
  { weight: 1, arbitrary: fc.constantFrom(-(2n ** 62n), 2n ** 62n, 2n ** 63n - 1n, -(2n ** 63n - 1n)) },
);

/** A patch of records whose data may be shorter or longer than their control says, and may be cut anywhere. */
const patchArb = fc
  .record({
    recs: fc.array(fc.record({ diff: lenArb, extra: lenArb, seek: seekArb, data: fc.uint8Array({ maxLength: 50 }), exact: fc.boolean() }), { minLength: 0, maxLength: 6 }),
    cut: fc.option(fc.nat(), { nil: null }),
    tail: fc.uint8Array({ maxLength: 8 }),
  })
  .map(({ recs, cut, tail }) => {
    // "exact": the data is as long as the control record says (when that is small), else whatever was drawn.
    const data = (r: (typeof recs)[number]) => {
      const want = r.diff + r.extra;
      if (!r.exact || r.diff < 0n || r.extra < 0n || want > 100n) return Buffer.from(r.data);
      return Buffer.concat([Buffer.from(r.data), Buffer.alloc(100)]).subarray(0, Number(want));
    };
    const p = Buffer.concat([...recs.flatMap((r) => [offtout(r.diff), offtout(r.extra), offtout(r.seek), data(r)]), tail]);
    return cut === null ? p : p.subarray(0, cut % (p.length + 1));
  });

const params = (numRuns: number) => ({ seed: FUZZ_SEED, numRuns });

describe('bspatch (fast-check, against a model of the format)', () => {
  it(`seed ${FUZZ_SEED}: structured malformed records give the model's bytes or are refused when it refuses`, () => {
    console.log(`deltas-fuzz-bspatch: seed ${FUZZ_SEED} (FUZZ_SEED=… to change)`);
    const seen = { ok: 0, refused: 0 };
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 120 }), patchArb, fc.nat({ max: 150 }), (o, p, n) => {
        seen[agree(Buffer.from(o), p, n)]++;
      }),
      params(4000),
    );
    expect(seen.ok).toBeGreaterThan(100);
    expect(seen.refused).toBeGreaterThan(100);
  });

  it('arbitrary bytes as a patch: the model agrees with the native code', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), fc.uint8Array({ maxLength: 300 }), fc.nat({ max: 200 }), (o, p, n) => {
        agree(Buffer.from(o), Buffer.from(p), n);
      }),
      params(2000),
    );
  });

  it('bsdiff(old, new) patched by bspatch gives new', async () => {
    // Related files (edits of one another) as well as unrelated ones.
    const pair = fc.oneof(
      fc.tuple(fc.uint8Array({ maxLength: 2000 }), fc.uint8Array({ maxLength: 2000 })),
      fc
        .tuple(fc.uint8Array({ minLength: 1, maxLength: 3000 }), fc.array(fc.tuple(fc.nat(), fc.uint8Array({ maxLength: 20 }), fc.nat({ max: 20 })), { maxLength: 8 }))
        .map(([o, edits]): [Uint8Array, Uint8Array] => {
          let n = Buffer.from(o);
          for (const [at, ins, del] of edits) {
            const i = at % (n.length + 1);
            n = Buffer.concat([n.subarray(0, i), ins, n.subarray(i + del)]);
          }
          return [o, n];
        }),
    );
    await fc.assert(
      fc.asyncProperty(pair, async ([o, n]) => {
        const old = Buffer.from(o);
        const neu = Buffer.from(n);
        const patch = await native().bsdiff(old, neu);
        expect(native().bspatch_apply(old, patch, neu.length).equals(neu)).toBe(true);
        expect(modelPatch(old, patch, neu.length)?.equals(neu)).toBe(true);
      }),
      params(250),
    );
  });

  it('replays the bspatch corpus', () => {
    const files = corpus('bspatch');
    expect(files.length).toBeGreaterThan(0);
    for (const [name, bytes] of files) {
      const { old, patch, size } = decodeRecord<{ old: Buffer; patch: Buffer; size: number }>(bytes);
      expect(['ok', 'refused'], name).toContain(agree(old, patch, size));
    }
  });
});
