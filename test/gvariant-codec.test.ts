// GVariant binary codec: golden bytes from GLib (spec vectors), every object
// of the reference archive repo, a round-trip property test, and malformed input.
import { describe, it, expect } from 'vitest';
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import * as path from 'node:path';
import { inflateRawSync } from 'node:zlib';
import fc from 'fast-check';
import { serialize, deserialize, isNormalForm, parseType, GVType } from '../lib/gvariant/codec';
import { parseVariant } from '../lib/gvariant/text';
import {
  parseCommit,
  serializeCommit,
  parseDirTree,
  serializeDirTree,
  parseDirMeta,
  serializeDirMeta,
  parseZlibHeader,
  splitFramedHeader,
  contentChecksum,
  sha256Hex,
  COMMIT_TYPE,
  DIRTREE_TYPE,
  DIRMETA_TYPE,
  FILE_HEADER_TYPE,
} from '../lib/objects/formats';
import { OstreeError } from '../lib/errors';

// Copied from ../shared/spec/vectors, so a clone on its own runs them.
const VECTORS = path.resolve(__dirname, 'fixtures', 'vectors');

describe('golden GLib serialisations (vectors/gvariant-examples.txt)', () => {
  const file = path.join(VECTORS, 'gvariant-examples.txt');
  const blocks = readFileSync(file, 'utf8')
    .split(/\n\s*\n/)
    .map((b) => Object.fromEntries(b.split('\n').filter(Boolean).map((l) => [l.slice(0, 5).trim(), l.slice(6)])))
    .filter((b) => b.type && b.hex !== undefined);
  it('has vectors', () => expect(blocks.length).toBeGreaterThan(20));
  for (const b of blocks) {
    it(`${b.type} ${b.value.slice(0, 50)}`, () => {
      const hex = (b.hex as string).replace(/\s+/g, '');
      const bytes = Buffer.from(hex, 'hex');
      const parsed = parseVariant(b.value, b.type);
      expect(serialize(b.type, parsed.value).toString('hex')).toBe(hex);
      expect(serialize(b.type, deserialize(b.type, bytes)).toString('hex')).toBe(hex);
      expect(isNormalForm(b.type, bytes)).toBe(true);
    });
  }
});

describe('reference archive repo (vectors/repo-archive)', () => {
  const objDir = path.join(VECTORS, 'repo-archive', 'objects');
  const objects: string[] = [];
  if (existsSync(objDir)) {
    for (const pre of readdirSync(objDir)) for (const n of readdirSync(path.join(objDir, pre))) objects.push(path.join(pre, n));
  }
  it('has objects', () => expect(objects.length).toBeGreaterThan(10));
  for (const rel of objects) {
    const [pre, name] = rel.split('/');
    const [rest, ext] = name.split('.');
    const csum = pre + rest;
    it(`${ext} ${csum.slice(0, 12)}`, () => {
      const data = readFileSync(path.join(objDir, rel));
      switch (ext) {
        case 'commit':
          expect(sha256Hex(data)).toBe(csum);
          expect(serializeCommit(parseCommit(data)).equals(data)).toBe(true);
          break;
        case 'dirtree':
          expect(sha256Hex(data)).toBe(csum);
          expect(serializeDirTree(parseDirTree(data)).equals(data)).toBe(true);
          break;
        case 'dirmeta':
          expect(sha256Hex(data)).toBe(csum);
          expect(serializeDirMeta(parseDirMeta(data)).equals(data)).toBe(true);
          break;
        case 'filez': {
          const { header, payloadOffset } = splitFramedHeader(data);
          const { size, ...h } = parseZlibHeader(header);
          const payload = (h.mode & 0o170000) === 0o120000 ? Buffer.alloc(0) : inflateRawSync(data.subarray(payloadOffset));
          expect(BigInt(payload.length)).toBe(size);
          expect(contentChecksum(h, payload)).toBe(csum);
          break;
        }
        case 'commitmeta':
          expect(() => deserialize('a{sv}', data)).not.toThrow();
          break;
        default:
          break;
      }
    });
  }
});

// ---------------------------------------------------------------- property test

/** Arbitrary GVariant type strings (depth-limited). */
const basicCodes = ['b', 'y', 'n', 'q', 'i', 'u', 'x', 't', 'd', 's', 'o', 'g'];
const typeArb: fc.Arbitrary<string> = fc.letrec((tie) => ({
  t: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constantFrom(...basicCodes, 'v'),
    tie('t').map((t) => `a${t}`),
    tie('t').map((t) => `m${t}`),
    fc.array(tie('t') as fc.Arbitrary<string>, { maxLength: 4 }).map((ts) => `(${ts.join('')})`),
    fc.tuple(fc.constantFrom(...basicCodes), tie('t') as fc.Arbitrary<string>).map(([k, v]) => `a{${k}${v}}`),
  ),
})).t as fc.Arbitrary<string>;

function valueArb(t: GVType, depth = 0): fc.Arbitrary<unknown> {
  switch (t.kind) {
    case 'basic':
      switch (t.code) {
        case 'b': return fc.boolean();
        case 'y': return fc.integer({ min: 0, max: 255 });
        case 'n': return fc.integer({ min: -32768, max: 32767 });
        case 'q': return fc.integer({ min: 0, max: 65535 });
        case 'i': return fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 });
        case 'u': return fc.integer({ min: 0, max: 2 ** 32 - 1 });
        case 'x': return fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n });
        case 't': return fc.bigInt({ min: 0n, max: 2n ** 64n - 1n });
        case 'd': return fc.double({ noNaN: true });
        case 'o': return fc.constantFrom('/', '/a', '/org/example/Obj_1');
        case 'g': return fc.constantFrom('', 's', 'a{sv}', '(uu)');
        default: return fc.string({ unit: 'grapheme', maxLength: 300 }).map((s) => s.replace(/\0/g, ''));
      }
    case 'variant':
      return depth > 3
        ? fc.constant({ type: 's', value: 'leaf' })
        : typeArb.chain((ts) => valueArb(parseType(ts), depth + 1).map((value) => ({ type: ts, value })));
    case 'maybe': {
      // Nested maybes collapse Nothing (null) in our representation: only test Just/Nothing of non-maybes.
      if (t.elem.kind === 'maybe') return fc.constant(null);
      return fc.option(valueArb(t.elem, depth + 1), { nil: null });
    }
    case 'array':
      if (t.elem.kind === 'basic' && t.elem.code === 'y') return fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a));
      return fc.array(valueArb(t.elem, depth + 1), { maxLength: depth > 2 ? 3 : 70 });
    case 'tuple':
      return fc.tuple(...t.members.map((m) => valueArb(m, depth + 1)));
  }
}

describe('property: deserialize(serialize(x)) == x', () => {
  it('random types and values', () => {
    fc.assert(
      fc.property(
        typeArb.chain((ts) => valueArb(parseType(ts)).map((v) => [ts, v] as const)),
        ([ts, v]) => {
          const bytes = serialize(ts, v);
          const back = deserialize(ts, bytes);
          expect(serialize(ts, back).equals(bytes)).toBe(true);
          expect(normalize(back)).toEqual(normalize(v));
          expect(isNormalForm(ts, bytes)).toBe(true);
        },
      ),
      { numRuns: 1500 },
    );
  });
  it('containers crossing the 255 / 65535-byte framing boundaries', () => {
    for (const n of [250, 251, 252, 253, 254, 255, 256, 257, 65530, 65533, 65535, 65536, 65540]) {
      const v = ['x'.repeat(n), 'y'];
      const b = serialize('as', v);
      expect(deserialize('as', b)).toEqual(v);
      const t = ['a'.repeat(n), 7];
      expect(deserialize('(su)', serialize('(su)', t))).toEqual(t);
    }
  });
});

function normalize(v: unknown): unknown {
  if (Buffer.isBuffer(v)) return [...v];
  if (Array.isArray(v)) return v.map(normalize);
  if (typeof v === 'number' && Object.is(v, -0)) return '-0';
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, normalize(x)]));
  return v;
}

// ---------------------------------------------------------------- malformed input

describe('malformed input raises a clear error and never hangs', () => {
  const commit = readFileSync(path.join(VECTORS, 'repo-archive', 'objects', '38', 'da37e6b1bfa976c90ad3eb2f814994d7aa88bd73f5466ca956197a9498df85.commit'));
  it('every truncation of a commit is rejected or re-encodes differently (never silently equal)', () => {
    for (let n = 0; n < commit.length; n++) {
      const cut = commit.subarray(0, n);
      try {
        const c = parseCommit(cut);
        expect(serializeCommit(c).equals(cut)).toBe(false);
      } catch (e) {
        expect(e).toBeInstanceOf(OstreeError);
        expect((e as OstreeError).code).toBe('OSTREE_CORRUPT_OBJECT');
      }
    }
  });
  it('bad framing offsets', () => {
    const bad = Buffer.from(commit);
    bad[bad.length - 1] = 0xff; // first member's end offset beyond the body
    expect(() => parseCommit(bad)).toThrow(OstreeError);
    expect(() => deserialize('as', Buffer.from([0x61, 0x00, 0x09]))).toThrow(/framing|range/);
    expect(() => deserialize('as', Buffer.from([0x61, 0x62, 0x02]))).toThrow(/NUL/);
    expect(() => deserialize('(uu)', Buffer.alloc(7))).toThrow(/size/);
    expect(() => deserialize('b', Buffer.from([2]))).toThrow(/boolean/);
    expect(() => deserialize('s', Buffer.from([0xff, 0xfe, 0]))).toThrow(/UTF-8/);
    expect(() => deserialize('v', Buffer.from([1, 0, 0x28]))).toThrow(/type/);
  });
  it('random bytes for every ostree type: an OstreeError or a value, quickly', () => {
    const types = [COMMIT_TYPE, DIRTREE_TYPE, DIRMETA_TYPE, FILE_HEADER_TYPE, 'a{sv}', 'aay', '(a(s(taya{sv}))a{sv})'];
    fc.assert(
      fc.property(fc.constantFrom(...types), fc.uint8Array({ maxLength: 400 }), (t, bytes) => {
        const start = Date.now();
        try {
          deserialize(t, Buffer.from(bytes));
        } catch (e) {
          expect(e).toBeInstanceOf(OstreeError);
        }
        expect(Date.now() - start).toBeLessThan(1000);
      }),
      { numRuns: 3000 },
    );
  });
  it('a huge claimed element count does not over-allocate', () => {
    // 4-byte offsets claiming an array end far beyond the buffer.
    const b = Buffer.alloc(70000, 0x61);
    b.writeUInt32LE(0xfffffff0, b.length - 4);
    expect(() => deserialize('as', b)).toThrow(OstreeError);
  });
  it('non-normal form is detected', () => {
    // (su) with a 2-byte framing offset where 1 byte suffices.
    const good = serialize('(su)', ['ab', 1]);
    expect(isNormalForm('(su)', good)).toBe(true);
    const padded = Buffer.from(good);
    padded[3] = 1; // non-zero padding byte
    expect(isNormalForm('(su)', padded)).toBe(false);
  });
});
