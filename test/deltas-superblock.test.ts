// The static delta superblock (FORMATS.md §8.1–§8.3): ostree's vectors parse
// and serialize back byte for byte; names, paths and the modified base64
// round-trip; hostile superblocks fail with a clear error, never a crash.
import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import fc from 'fast-check';
import {
  parseSuperblock,
  serializeSuperblock,
  deltaRelDir,
  deltaFromRelDir,
  deltaIndexRelPath,
  checksumToB64,
  checksumFromB64,
  parseDeltaName,
  deltaName,
  unwrapSignedSuperblock,
  wrapSignedSuperblock,
  superblockCommitMeta,
} from '../lib/deltas/superblock';
import { OstreeError } from '../lib/errors';
import { ObjectType, sha256Hex } from '../lib/objects/formats';

const FIX = path.join(__dirname, 'fixtures', 'deltas');
const C1 = '38da37e6b1bfa976c90ad3eb2f814994d7aa88bd73f5466ca956197a9498df85';
const C2 = '5a9528bd29506ab18f37915ddfdea7bbd8ffee469920ade81efce794284bebba';
const FT_DIR = 'deltas/ON/o35rG_qXbJCtPrL4FJlNeqiL1z9UZsqVYZepSY34U-WpUovSlQarGPN5Fd396nu9j_7kaZIK3oHvznlChL67o';
const SCRATCH_DIR = 'deltas/Wp/UovSlQarGPN5Fd396nu9j_7kaZIK3oHvznlChL67o';
const read = (rel: string) => readFileSync(path.join(FIX, rel));

describe('static delta names and paths', () => {
  it('modified base64 as ostree writes it (no padding, / as _)', () => {
    expect(checksumToB64(C1)).toBe('ONo35rG_qXbJCtPrL4FJlNeqiL1z9UZsqVYZepSY34U');
    expect(checksumFromB64('ONo35rG_qXbJCtPrL4FJlNeqiL1z9UZsqVYZepSY34U')).toBe(C1);
    expect(() => checksumFromB64('ONo35rG/qXbJCtPrL4FJlNeqiL1z9UZsqVYZepSY34U')).toThrow(OstreeError);
    fc.assert(fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), (b) => {
      const hex = Buffer.from(b).toString('hex');
      expect(checksumFromB64(checksumToB64(hex))).toBe(hex);
    }));
  });

  it('directories of from→to and scratch deltas, and back', () => {
    expect(deltaRelDir(C1, C2)).toBe(FT_DIR);
    expect(deltaRelDir(null, C2)).toBe(SCRATCH_DIR);
    const [, p, rest] = FT_DIR.split('/');
    expect(deltaFromRelDir(p, rest)).toEqual({ from: C1, to: C2 });
    expect(deltaFromRelDir('Wp', 'UovSlQarGPN5Fd396nu9j_7kaZIK3oHvznlChL67o')).toEqual({ from: null, to: C2 });
    expect(deltaFromRelDir('Wp', 'not-a-delta')).toBeNull();
    expect(deltaIndexRelPath(C2)).toBe('delta-indexes/Wp/UovSlQarGPN5Fd396nu9j_7kaZIK3oHvznlChL67o.index');
  });

  it('delta names', () => {
    expect(parseDeltaName(deltaName(C1, C2))).toEqual({ from: C1, to: C2 });
    expect(parseDeltaName(C2)).toEqual({ from: null, to: C2 });
    expect(() => parseDeltaName(`${C1}-${C2.slice(1)}`)).toThrow(/Invalid static delta name/);
  });
});

describe('superblock', () => {
  it("parses ostree's from→to and scratch superblocks and writes them back byte for byte", () => {
    for (const [dir, from, nobjects] of [[FT_DIR, C1, 4], [SCRATCH_DIR, null, 14]] as const) {
      const bytes = read(`${dir}/superblock`);
      const sb = parseSuperblock(bytes);
      expect(sb.from).toBe(from);
      expect(sb.to).toBe(C2);
      expect(sb.timestamp).toBe(1600560000n);
      expect(sb.endianness).toBe('little');
      expect(sb.endiannessGuessed).toBe(false);
      expect(sha256Hex(sb.commit)).toBe(C2);
      expect(sb.parts).toHaveLength(1);
      expect(sb.parts[0].objects).toHaveLength(nobjects);
      expect(sb.parts[0].version).toBe(0);
      // The part header's checksum and size describe the part file.
      const part = read(`${dir}/0`);
      expect(sb.parts[0].checksum).toBe(sha256Hex(part));
      expect(sb.parts[0].size).toBe(BigInt(part.length));
      expect(sb.fallbacks).toEqual([]);
      expect(superblockCommitMeta(sb)?.map(([k]) => k)).toContain('example.detached');
      expect(serializeSuperblock(sb).equals(bytes)).toBe(true);
    }
    // The from→to part of the vector: 3 metadata objects and the changed file, as `show` lists (nobjects=4).
    const ft = parseSuperblock(read(`${FT_DIR}/superblock`));
    expect(ft.parts[0].size).toBe(609n);
    expect(ft.parts[0].usize).toBe(469n);
    expect(ft.parts[0].objects.filter((o) => o.type === ObjectType.File)).toHaveLength(2);
  });

  it('big-endian sizes are read back through ostree.endianness', () => {
    const sb = parseSuperblock(read(`${FT_DIR}/superblock`));
    const big = serializeSuperblock({ ...sb, endianness: 'big', metadata: sb.metadata.map(([k, v]) => (k === 'ostree.endianness' ? [k, { type: 'y', value: 0x42 }] : [k, v])) });
    expect(big.equals(read(`${FT_DIR}/superblock`))).toBe(false);
    const back = parseSuperblock(big);
    expect(back.endianness).toBe('big');
    expect(back.parts[0].size).toBe(609n);
    expect(back.parts[0].usize).toBe(469n);
  });

  it("without ostree.endianness, ostree's heuristic decides", () => {
    const sb = parseSuperblock(read(`${FT_DIR}/superblock`));
    const noKey = sb.metadata.filter(([k]) => k !== 'ostree.endianness');
    // A part that compresses well, written in host order: nothing suggests swapping ("invalid", read as is).
    const compressed = { ...sb, metadata: noKey, parts: [{ ...sb.parts[0], size: 400n, usize: 4000n }] };
    const plain = parseSuperblock(serializeSuperblock(compressed));
    expect(plain.endiannessGuessed).toBe(true);
    expect(plain.endianness).toBe('invalid');
    expect(plain.parts[0].size).toBe(400n);
    // The same sizes byte-swapped look absurd (size > 1.2 × usize): big-endian.
    const swapped = parseSuperblock(serializeSuperblock({ ...compressed, endianness: 'big' }));
    expect(swapped.endianness).toBe('big');
    expect(swapped.parts[0].size).toBe(400n);
    expect(swapped.parts[0].usize).toBe(4000n);
    // ostree's own vector part is larger than its usize (a tiny delta): without the key it reads as swapped too.
    expect(parseSuperblock(serializeSuperblock({ ...sb, metadata: noKey })).endianness).toBe('big');
    // An unknown ostree.endianness value is "invalid", not an error.
    const odd = sb.metadata.map(([k, v]) => (k === 'ostree.endianness' ? [k, { type: 'y', value: 0x3f }] : [k, v])) as typeof sb.metadata;
    expect(parseSuperblock(serializeSuperblock({ ...sb, metadata: odd })).endianness).toBe('invalid');
  });

  it('the signed form unwraps to the plain superblock; a plain superblock is not signed', () => {
    const bytes = read(`${FT_DIR}/superblock`);
    expect(unwrapSignedSuperblock(bytes)).toBeNull();
    const signed = wrapSignedSuperblock(bytes, [['ostree.sign.dummy', [Buffer.from('secret')]]]);
    const u = unwrapSignedSuperblock(signed);
    expect(u?.superblock.equals(bytes)).toBe(true);
    expect(u?.signatures).toEqual([['ostree.sign.dummy', [Buffer.from('secret')]]]);
    // Without an ostree.sign.* key it is not taken as signed.
    expect(unwrapSignedSuperblock(wrapSignedSuperblock(bytes, []))).toBeNull();
  });

  it('a superblock whose embedded commit does not match its to checksum is refused', () => {
    const sb = parseSuperblock(read(`${FT_DIR}/superblock`));
    const lie = serializeSuperblock({ ...sb, to: C1 });
    expect(() => parseSuperblock(lie)).toThrow(/embedded commit does not match/);
  });

  it('truncated or mutated superblocks fail with OstreeError, never anything else', () => {
    const bytes = read(`${SCRATCH_DIR}/superblock`);
    for (let n = 0; n < bytes.length; n += 7) expect(() => parseSuperblock(bytes.subarray(0, n))).toThrow(OstreeError);
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(bytes.length - 1), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 }), (muts) => {
        const b = Buffer.from(bytes);
        for (const [i, v] of muts) b[i] = v;
        try {
          const sb = parseSuperblock(b);
          // Whatever parses is self-consistent.
          expect(sha256Hex(sb.commit)).toBe(sb.to);
          for (const p of sb.parts) for (const o of p.objects) expect(o.checksum).toMatch(/^[0-9a-f]{64}$/);
        } catch (err) {
          expect(err).toBeInstanceOf(OstreeError);
        }
      }),
      { numRuns: 500 },
    );
  });
});
