import { readFileSync } from 'fs';
import { join } from 'path';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { deserialize, serialize } from '../lib/gvariant/codec';
import { formatDouble, parseVariant, printVariant, unicharIsPrint } from '../lib/gvariant/text';
import { OstreeError } from '../lib/errors';

// Golden data produced by GLib 2.74 (test/fixtures/gen-gvariant-text.py).
type Outcome = { type: string; hex: string } | { error: string | null };
interface PrintCase {
  type: string;
  hex: string;
  annotated: string;
  plain: string;
  parse_annotated: Outcome;
  parse_plain_typed: Outcome;
}
interface ParseCase {
  text: string;
  with_type: string | null;
  result: Outcome;
}
const fixture = JSON.parse(readFileSync(join(__dirname, 'fixtures/gvariant-text.json'), 'utf8')) as {
  glib: string;
  print: PrintCase[];
  parse: ParseCase[];
};

function label(s: string): string {
  return JSON.stringify(s).slice(0, 90);
}

/** Run parseVariant and report the outcome in the fixture's shape. */
function outcome(text: string, type?: string): Outcome {
  try {
    const r = parseVariant(text, type);
    return { type: r.type, hex: serialize(r.type, r.value).toString('hex') };
  } catch (e) {
    if (!(e instanceof OstreeError)) throw e;
    expect(e.code).toBe('OSTREE_INVALID_ARGUMENT');
    return { error: e.message };
  }
}

function expectOutcome(got: Outcome, want: Outcome): void {
  if ('error' in want) {
    expect('error' in got, `expected an error, got ${JSON.stringify(got)}`).toBe(true);
    // GLib returns NULL without a GError for a few inputs (critical warning);
    // we only require that we reject them.
    if (want.error !== null) expect((got as { error: string }).error).toBe(want.error);
  } else {
    // Nested maybes holding "just nothing" are not representable in the
    // codec's value model (both fold to null); compare against the folded
    // value for those (the only inputs where a codec round trip is lossy).
    const folded = serialize(want.type, deserialize(want.type, Buffer.from(want.hex, 'hex'))).toString('hex');
    expect(got).toEqual({ type: want.type, hex: folded });
  }
}

describe('GVariant text: golden values from GLib ' + fixture.glib, () => {
  it('has a useful number of vectors', () => {
    expect(fixture.print.length).toBeGreaterThan(150);
    expect(fixture.parse.length).toBeGreaterThan(150);
  });

  describe('printVariant', () => {
    for (const c of fixture.print) {
      it(`${c.type} ${label(c.annotated)}`, () => {
        const v = deserialize(c.type, Buffer.from(c.hex, 'hex'));
        expect(printVariant(c.type, v, true)).toBe(c.annotated);
        expect(printVariant(c.type, v, false)).toBe(c.plain);
        // default is annotated
        expect(printVariant(c.type, v)).toBe(c.annotated);
      });
    }
  });

  describe('parseVariant of printed text', () => {
    for (const c of fixture.print) {
      it(`${c.type} ${label(c.annotated)}`, () => {
        expectOutcome(outcome(c.annotated), c.parse_annotated);
        expectOutcome(outcome(c.plain, c.type), c.parse_plain_typed);
        if (!('error' in c.parse_annotated)) {
          // the annotated form is self-describing, so it also parses with the type given
          expectOutcome(outcome(c.annotated, c.type), { type: c.type, hex: c.hex });
        }
      });
    }
  });

  describe('parseVariant of arbitrary input', () => {
    for (const c of fixture.parse) {
      it(`${label(c.text)}${c.with_type ? ' as ' + c.with_type : ''}`, () => {
        expectOutcome(outcome(c.text, c.with_type ?? undefined), c.result);
      });
    }
  });
});

describe('GVariant text: specifics', () => {
  it('parses typical --add-metadata values', () => {
    expect(parseVariant('uint64 42')).toEqual({ type: 't', value: 42n });
    expect(parseVariant('42')).toEqual({ type: 'i', value: 42 });
    expect(parseVariant('42', 't')).toEqual({ type: 't', value: 42n });
    expect(parseVariant('3.5')).toEqual({ type: 'd', value: 3.5 });
    expect(parseVariant("'hello'")).toEqual({ type: 's', value: 'hello' });
    expect(parseVariant('"x"')).toEqual({ type: 's', value: 'x' });
    expect(parseVariant('true')).toEqual({ type: 'b', value: true });
    expect(parseVariant("['a', 'b']")).toEqual({ type: 'as', value: ['a', 'b'] });
    expect(parseVariant('@as []')).toEqual({ type: 'as', value: [] });
    expect(parseVariant("<'x'>")).toEqual({ type: 'v', value: { type: 's', value: 'x' } });
    expect(parseVariant("(1, 'a')")).toEqual({ type: '(is)', value: [1, 'a'] });
    expect(parseVariant("{'a': <1>}")).toEqual({ type: 'a{sv}', value: [['a', { type: 'i', value: 1 }]] });
    expect(parseVariant("b'ab'")).toEqual({ type: 'ay', value: Buffer.from('ab\0') });
    expect(parseVariant('[byte 0x01, 0x02]')).toEqual({ type: 'ay', value: Buffer.from([1, 2]) });
    expect(parseVariant('int64 -5')).toEqual({ type: 'x', value: -5n });
    expect(parseVariant('just 5')).toEqual({ type: 'mi', value: 5 });
    expect(parseVariant('@ms nothing')).toEqual({ type: 'ms', value: null });
    expect(parseVariant("objectpath '/a'")).toEqual({ type: 'o', value: '/a' });
    expect(parseVariant("signature 'ay'")).toEqual({ type: 'g', value: 'ay' });
    expect(parseVariant('@t 5')).toEqual({ type: 't', value: 5n });
  });

  it('accepts a parsed type object and rejects indefinite types', () => {
    expect(parseVariant('5', 'mmt')).toEqual({ type: 'mmt', value: 5n });
    expect(() => parseVariant('5', 'r')).toThrow(OstreeError);
  });

  it('reports errors as OSTREE_INVALID_ARGUMENT with GLib-style locations', () => {
    try {
      parseVariant("[1, 'a']");
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(OstreeError);
      expect((e as OstreeError).code).toBe('OSTREE_INVALID_ARGUMENT');
      expect((e as OstreeError).message).toBe('1-2,4-7:unable to find a common type');
    }
    expect(() => parseVariant('[]')).toThrow('0-2:unable to infer type');
  });

  it('uses byte offsets in error locations', () => {
    expect(() => parseVariant("'\u00e9' x")).toThrow('5:expected end of input');
  });

  it('treats NUL as the end of the text', () => {
    expect(parseVariant('5\0garbage')).toEqual({ type: 'i', value: 5 });
  });

  it('prints ostree xattrs like `ostree ls -X`', () => {
    const xattrs = [
      [Buffer.from('user.alpha\0'), Buffer.from('first')],
      [Buffer.from('user.zeta\0'), Buffer.from('last')],
    ];
    expect(printVariant('a(ayay)', xattrs)).toBe(
      "[(b'user.alpha', [byte 0x66, 0x69, 0x72, 0x73, 0x74]), (b'user.zeta', [0x6c, 0x61, 0x73, 0x74])]",
    );
    expect(printVariant('a(ayay)', [])).toBe('@a(ayay) []');
  });

  it('accepts byte arrays as Uint8Array or number[]', () => {
    expect(printVariant('ay', new Uint8Array([0x61, 0]))).toBe("b'a'");
    expect(printVariant('ay', [1, 2])).toBe('[byte 0x01, 0x02]');
  });

  it('rejects values that do not fit the type', () => {
    expect(() => printVariant('s', 5)).toThrow(OstreeError);
    expect(() => printVariant('(ii)', [1])).toThrow(OstreeError);
    expect(() => printVariant('v', 'x')).toThrow(OstreeError);
  });

  it('cannot represent nested "just nothing" (documented limitation)', () => {
    // GLib: `@mmi just nothing`; our value model folds it to null.
    expect(parseVariant('just nothing', 'mmi')).toEqual({ type: 'mmi', value: null });
    expect(printVariant('mmi', null)).toBe('@mmi nothing');
  });

  it('formats doubles like %.17g, rounding ties to even', () => {
    expect(formatDouble(1)).toBe('1.0');
    expect(formatDouble(-0)).toBe('-0.0');
    expect(formatDouble(0.1)).toBe('0.10000000000000001');
    expect(formatDouble(1e100)).toBe('1e+100');
    expect(formatDouble(1e-5)).toBe('1.0000000000000001e-05');
    expect(formatDouble(1000000000000000.25)).toBe('1000000000000000.2');
    expect(formatDouble(Infinity)).toBe('inf');
    expect(formatDouble(NaN)).toBe('nan');
  });

  it('round-trips arbitrary doubles through text', () => {
    fc.assert(
      fc.property(fc.double({ noNaN: true }), (d) => {
        const text = printVariant('d', d);
        const a = Math.abs(d);
        if (a !== 0 && a < 2.2250738585072014e-308) {
          // GLib rejects subnormals when parsing ("number too big for any type")
          expect(() => parseVariant(text)).toThrow('number too big for any type');
          return;
        }
        expect(Object.is(parseVariant(text).value, d)).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });

  it('round-trips strings through text', () => {
    fc.assert(
      fc.property(fc.fullUnicodeString(), (s) => {
        const clean = s.replace(/\0/g, '');
        expect(parseVariant(printVariant('s', clean))).toEqual({ type: 's', value: clean });
      }),
      { numRuns: 1000 },
    );
  });

  it('round-trips bytestrings and byte arrays', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), (b) => {
        const buf = Buffer.from(b);
        const r = parseVariant(printVariant('ay', buf));
        expect(r.type).toBe('ay');
        expect(Buffer.from(r.value as Buffer).equals(buf)).toBe(true);
      }),
      { numRuns: 1000 },
    );
  });

  it('round-trips a{sv} metadata of many types', () => {
    const value = [
      ['s', { type: 's', value: "it's \"q\"\n" }],
      ['t', { type: 't', value: 18446744073709551615n }],
      ['x', { type: 'x', value: -9223372036854775808n }],
      ['ay', { type: 'ay', value: Buffer.from([0, 1, 2]) }],
      ['as', { type: 'as', value: [] }],
      ['v', { type: 'v', value: { type: 'mv', value: null } }],
      ['d', { type: 'd', value: -0 }],
      ['tuple', { type: '(uqny)', value: [1, 2, -3, 4] }],
      ['dict', { type: 'a{ob}', value: [['/a', true]] }],
    ];
    for (const annotate of [true, false]) {
      const text = printVariant('a{sv}', value, annotate);
      const r = parseVariant(text, annotate ? undefined : 'a{sv}');
      expect(r.type).toBe('a{sv}');
      expect(serialize('a{sv}', r.value).equals(serialize('a{sv}', value))).toBe(true);
    }
  });

  it('knows GLib 2.74 printable characters', () => {
    expect(unicharIsPrint(0x41)).toBe(true);
    expect(unicharIsPrint(0x7f)).toBe(false);
    expect(unicharIsPrint(0xad)).toBe(false); // Cf
    expect(unicharIsPrint(0xa0)).toBe(true); // Zs
    expect(unicharIsPrint(0x2028)).toBe(true); // Zl
    expect(unicharIsPrint(0xe000)).toBe(true); // Co
    expect(unicharIsPrint(0x1acf)).toBe(false); // unassigned in Unicode 15
    expect(unicharIsPrint(0x10ffff)).toBe(false);
  });
});
