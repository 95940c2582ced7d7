// Property tests of the static delta superblock parser (FORMATS.md §8.1–§8.3)
// and its signed wrapper: arbitrary bytes, and valid superblocks (built with
// serializeSuperblock) mutated, truncated and extended. parseSuperblock must
// either return a superblock whose every field is consistent or throw an
// OstreeError — no other exception, and quickly. Seeds are fixed and printed.
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { OstreeError } from '../lib/errors';
import { serialize, Variant } from '../lib/gvariant/codec';
import { ObjectType, serializeCommit, sha256Hex, isValidChecksum } from '../lib/objects/formats';
import {
  parseSuperblock,
  serializeSuperblock,
  unwrapSignedSuperblock,
  wrapSignedSuperblock,
  inlinePart,
  inlinePartKey,
  superblockCommitMeta,
  Superblock,
  Endianness,
} from '../lib/deltas/superblock';
import { FUZZ_SEED, corpus, saveCrasher } from './fuzz/corpus';

const U64_MAX = (1n << 64n) - 1n;
/** One parse may take this long at most (the largest input here is ~64 kB). */
const PARSE_BUDGET_MS = 500;

/** The superblock, or the OstreeError it was refused with; anything else fails the test (and is kept with FUZZ_SAVE=1). */
function parseOrRefuse(bytes: Buffer): Superblock | OstreeError {
  const t0 = performance.now();
  try {
    return parseSuperblock(bytes);
  } catch (err) {
    if (!(err instanceof OstreeError)) saveCrasher('superblock', bytes);
    expect(err).toBeInstanceOf(OstreeError);
    return err as OstreeError;
  } finally {
    expect(performance.now() - t0).toBeLessThan(PARSE_BUDGET_MS);
  }
}

const u64ok = (v: bigint) => typeof v === 'bigint' && v >= 0n && v <= U64_MAX;

/** Every field of a parsed superblock within its type's range, and the commit matching `to`. */
function expectConsistent(sb: Superblock): void {
  expect(isValidChecksum(sb.to)).toBe(true);
  if (sb.from !== null) expect(isValidChecksum(sb.from)).toBe(true);
  expect(sha256Hex(sb.commit)).toBe(sb.to);
  expect(['little', 'big', 'invalid']).toContain(sb.endianness);
  expect(u64ok(sb.timestamp)).toBe(true);
  for (const p of sb.parts) {
    expect(Number.isInteger(p.version) && p.version >= 0 && p.version <= 0xffffffff).toBe(true);
    expect(isValidChecksum(p.checksum)).toBe(true);
    expect(u64ok(p.size) && u64ok(p.usize)).toBe(true);
    for (const o of p.objects) {
      expect(o.type >= ObjectType.File && o.type <= ObjectType.CommitMeta).toBe(true);
      expect(isValidChecksum(o.checksum)).toBe(true);
    }
  }
  for (const f of sb.fallbacks) {
    expect(f.type >= ObjectType.File && f.type <= ObjectType.CommitMeta).toBe(true);
    expect(isValidChecksum(f.checksum)).toBe(true);
    expect(u64ok(f.size) && u64ok(f.usize)).toBe(true);
  }
  // The accessors over the metadata refuse ill-typed entries with an OstreeError too.
  for (let i = 0; i < sb.parts.length; i++) {
    try {
      const b = inlinePart(sb, i);
      if (b) expect(b.length).toBeGreaterThanOrEqual(1);
    } catch (err) {
      expect(err).toBeInstanceOf(OstreeError);
    }
  }
  try {
    superblockCommitMeta(sb);
  } catch (err) {
    expect(err).toBeInstanceOf(OstreeError);
  }
}

// ---------------------------------------------------------------- generators

const hex32 = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => Buffer.from(b).toString('hex'));
const u64 = fc.bigInt({ min: 0n, max: U64_MAX });
const objType = fc.constantFrom(ObjectType.File, ObjectType.DirTree, ObjectType.DirMeta, ObjectType.Commit, ObjectType.CommitMeta);

const commitArb = fc
  .record({ subject: fc.string({ maxLength: 40 }), parent: fc.option(hex32, { nil: null }), ts: u64, tree: hex32, meta: hex32 })
  .map((c) => serializeCommit({ metadata: [], parent: c.parent, related: [], subject: c.subject, body: '', timestamp: c.ts, rootTree: c.tree, rootMeta: c.meta }));

const partArb = fc.record({
  version: fc.constantFrom(0, 0, 1, 0xffffffff),
  checksum: hex32,
  size: u64,
  usize: u64,
  objects: fc.array(fc.record({ type: objType, checksum: hex32 }), { maxLength: 6 }),
});

const fallbackArb = fc.record({ type: objType, checksum: hex32, size: u64, usize: u64 });

/** Metadata entries a superblock may carry: endianness, inline parts, detached metadata (well- and ill-typed), and noise. */
const metaEntryArb = fc.oneof(
  fc.constant({ k: 'end', v: { type: 'y', value: 0 } as Variant }),
  fc.record({ c: fc.constantFrom(0, 0x78, 7), p: fc.uint8Array({ maxLength: 40 }) }).map((x) => ({ k: 'inline0', v: { type: '(yay)', value: [x.c, Buffer.from(x.p)] } as Variant })),
  fc.constant({ k: 'inline0', v: { type: 's', value: 'not a part' } as Variant }),
  fc.constant({ k: 'commitmeta', v: { type: 'a{sv}', value: [['x', { type: 's', value: 'y' }]] } as Variant }),
  fc.constant({ k: 'commitmeta', v: { type: 'u', value: 5 } as Variant }),
  fc.string({ minLength: 1, maxLength: 12 }).map((s) => ({ k: `x-${s}`, v: { type: 't', value: 7n } as Variant })),
);

/** A valid superblock (its own parser must accept it) and its serialization. */
const superblockArb = fc
  .record({ commit: commitArb, from: fc.option(hex32, { nil: null }), ts: u64, parts: fc.array(partArb, { maxLength: 4 }), fallbacks: fc.array(fallbackArb, { maxLength: 3 }), meta: fc.array(metaEntryArb, { maxLength: 4 }), endianness: fc.constantFrom<Endianness>('little', 'big') })
  .map((r) => {
    const to = sha256Hex(r.commit);
    const keyed = r.meta.map(({ k, v }): [string, Variant] => {
      // Point the generic names at this delta's real metadata keys (superblock.ts inlinePartKey).
      if (k === 'inline0') return [inlinePartKey(r.from, to, 0), v];
      if (k === 'commitmeta') return [inlinePartKey(r.from, to, 'commitmeta'), v];
      if (k === 'end') return ['ostree.endianness', { type: 'y', value: r.endianness === 'little' ? 0x6c : 0x42 }];
      return [k, v];
    });
    const dedup = new Map(keyed);
    if (!dedup.has('ostree.endianness')) dedup.set('ostree.endianness', { type: 'y', value: r.endianness === 'little' ? 0x6c : 0x42 });
    const sb: Superblock = { metadata: [...dedup], timestamp: r.ts, from: r.from, to, commit: r.commit, parts: r.parts as Superblock['parts'], fallbacks: r.fallbacks as Superblock['fallbacks'], endianness: r.endianness };
    return { sb, bytes: serializeSuperblock(sb) };
  });

type Mutation = { kind: 'flip'; at: number; xor: number } | { kind: 'truncate'; at: number } | { kind: 'extend'; bytes: Uint8Array } | { kind: 'word'; at: number; v: bigint; width: 4 | 8 } | { kind: 'splice'; at: number; bytes: Uint8Array };

const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), xor: fc.integer({ min: 1, max: 255 }) }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('extend' as const), bytes: fc.uint8Array({ minLength: 1, maxLength: 64 }) }),
  fc.record({ kind: fc.constant('word' as const), at: fc.nat(), v: fc.constantFrom(0n, 1n, 0x7fffffffn, 0xffffffffn, 1n << 63n, U64_MAX), width: fc.constantFrom(4 as const, 8 as const) }),
  fc.record({ kind: fc.constant('splice' as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 16 }) }),
);

function mutate(src: Buffer, muts: Mutation[]): Buffer {
  let b = Buffer.from(src);
  for (const m of muts) {
    if (b.length === 0) break;
    const at = 'at' in m ? m.at % b.length : 0;
    switch (m.kind) {
      case 'flip':
        b[at] ^= m.xor;
        break;
      case 'truncate':
        b = b.subarray(0, at);
        break;
      case 'extend':
        b = Buffer.concat([b, m.bytes]);
        break;
      case 'word':
        if (at + m.width <= b.length) {
          if (m.width === 8) b.writeBigUInt64LE(m.v, at);
          else b.writeUInt32LE(Number(m.v & 0xffffffffn), at);
        }
        break;
      case 'splice':
        b = Buffer.concat([b.subarray(0, at), m.bytes, b.subarray(at)]);
        break;
    }
  }
  return b;
}

const params = (numRuns: number) => ({ seed: FUZZ_SEED, numRuns });

describe('superblock parser (fast-check)', () => {
  it(`seed ${FUZZ_SEED}: arbitrary bytes are parsed consistently or refused with an OstreeError`, () => {
    console.log(`deltas-fuzz-superblock: seed ${FUZZ_SEED} (FUZZ_SEED=… to change)`);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 512 }), (b) => {
        const r = parseOrRefuse(Buffer.from(b));
        if (!(r instanceof OstreeError)) expectConsistent(r);
      }),
      params(3000),
    );
  });

  it('valid superblocks round-trip through the parser', () => {
    fc.assert(
      fc.property(superblockArb, ({ sb, bytes }) => {
        const got = parseSuperblock(bytes);
        expectConsistent(got);
        expect(got.to).toBe(sb.to);
        expect(got.from).toBe(sb.from);
        expect(got.endianness).toBe(sb.endianness);
        expect(got.timestamp).toBe(sb.timestamp);
        expect(got.parts).toEqual(sb.parts);
        expect(got.fallbacks).toEqual(sb.fallbacks);
        expect(got.commit.equals(sb.commit)).toBe(true);
      }),
      params(300),
    );
  });

  it('mutated, truncated and extended superblocks are consistent or refused', () => {
    let refused = 0;
    let accepted = 0;
    fc.assert(
      fc.property(superblockArb, fc.array(mutationArb, { minLength: 1, maxLength: 4 }), ({ bytes }, muts) => {
        const r = parseOrRefuse(mutate(bytes, muts));
        if (r instanceof OstreeError) refused++;
        else {
          accepted++;
          expectConsistent(r);
        }
      }),
      params(1500),
    );
    // The mutations do reach both outcomes (a test that only ever refuses proves little).
    expect(refused).toBeGreaterThan(100);
    expect(accepted).toBeGreaterThan(10);
  });

  it('the signed wrapper: arbitrary and mutated wrappers unwrap to a well-formed value, null, or an OstreeError', () => {
    const check = (bytes: Buffer) => {
      let w;
      try {
        w = unwrapSignedSuperblock(bytes);
      } catch (err) {
        if (!(err instanceof OstreeError)) saveCrasher('signed-superblock', bytes);
        expect(err).toBeInstanceOf(OstreeError);
        return;
      }
      if (w === null) return;
      expect(Buffer.isBuffer(w.superblock)).toBe(true);
      expect(w.signatures.length).toBeGreaterThan(0);
      for (const [k, sigs] of w.signatures) {
        expect(k.startsWith('ostree.sign.')).toBe(true);
        for (const s of sigs) expect(Buffer.isBuffer(s)).toBe(true);
      }
      // What it wraps goes through the same parser.
      const r = parseOrRefuse(w.superblock);
      if (!(r instanceof OstreeError)) expectConsistent(r);
    };
    fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), (b) => check(Buffer.from(b))), params(1500));
    let unwrapped = 0;
    fc.assert(
      fc.property(
        superblockArb,
        fc.array(fc.tuple(fc.constantFrom('ostree.sign.ed25519', 'ostree.sign.dummy', 'other.key'), fc.array(fc.uint8Array({ maxLength: 70 }), { maxLength: 2 })), { minLength: 1, maxLength: 2 }),
        fc.array(mutationArb, { maxLength: 3 }),
        ({ bytes }, sigs, muts) => {
          const wrapped = mutate(wrapSignedSuperblock(bytes, sigs.map(([k, s]) => [k, s.map((x) => Buffer.from(x))])), muts);
          if (muts.length === 0 && sigs.some(([k]) => k.startsWith('ostree.sign.'))) {
            expect(unwrapSignedSuperblock(wrapped)?.superblock.equals(bytes)).toBe(true);
            unwrapped++;
          }
          check(wrapped);
        },
      ),
      params(600),
    );
    expect(unwrapped).toBeGreaterThan(10);
  });

  it('a superblock declaring huge counts is refused without allocating them', () => {
    // A framing offset rewritten to claim an array far longer than the input.
    const sb = serialize('(a{sv}tayay(a{sv}aya(say)sstayay)aya(uayttay)a(yaytt))', [[], 0n, Buffer.alloc(0), Buffer.alloc(32), [[], Buffer.alloc(0), [], '', '', 0n, Buffer.alloc(32), Buffer.alloc(32)], Buffer.alloc(0), [], []]);
    const before = process.memoryUsage().rss;
    for (const v of [0xffffffffn, U64_MAX]) {
      for (let at = 0; at + 4 <= sb.length; at++) {
        const b = Buffer.from(sb);
        if (v === U64_MAX && at + 8 <= b.length) b.writeBigUInt64LE(v, at);
        else b.writeUInt32LE(Number(v & 0xffffffffn), at);
        parseOrRefuse(b);
      }
    }
    expect(process.memoryUsage().rss - before).toBeLessThan(64 * 1024 * 1024);
  });

  it('replays the superblock corpus', () => {
    const files = corpus('superblock');
    expect(files.length).toBeGreaterThan(0);
    for (const [name, bytes] of files) {
      const r = parseOrRefuse(bytes);
      if (!(r instanceof OstreeError)) expectConsistent(r);
      else expect(r.code, name).toBe('OSTREE_CORRUPT_OBJECT');
    }
    for (const [, bytes] of corpus('signed-superblock')) unwrapSignedSuperblock(bytes);
  });
});

