// GVariant text format: printing and parsing, compatible with GLib 2.74's
// g_variant_print() / g_variant_parse() (glib/gvariant.c, glib/gvariant-parser.c).
//
// Values use the codec's JS representation (see codec.ts):
//   b -> boolean; y n q i u h -> number; x t -> bigint; d -> number
//   s o g -> string; ay -> Buffer; other aT -> T[]; mT -> T | null
//   (..) and {KV} -> unknown[]; a{KV} -> Array<[K, V]>; v -> { type, value }
//
// Known representation limit: a nested maybe that is "just nothing" (e.g.
// `@mmi just nothing`) cannot be distinguished from "nothing" in this value
// model (both are null), so such values print/parse as plain `nothing`.
import { OstreeError } from '../errors';
import { GVType, Variant, parseType, typeString } from './codec';

// ============================================================ shared helpers

function invalid(msg: string, data?: Record<string, unknown>): OstreeError {
  return new OstreeError('OSTREE_INVALID_ARGUMENT', msg, data ? { data } : {});
}

function toType(type: string | GVType): GVType {
  return typeof type === 'string' ? parseType(type) : type;
}

// Code points that GLib 2.74 (Unicode 15.0) g_unichar_isprint() rejects:
// general categories Cc, Cf, Cn (unassigned) and Cs. Embedded rather than
// using \p{..} regexes because the JS engine's Unicode version differs.
// Encoding: comma-separated "gap.len" (base 36); range start = previous
// range end + 1 + gap, range end = start + len. Generated from GLib itself.
const NONPRINT_TABLE =
'0.v,2n.w,d.0,ju.1,6.3,7.0,1.0,k.0,b1.0,12.1,1e.1,3.0,1j.7,r.3,6.g,m.0,5c.0,1c.1,1n.1,2t.d,1n.1,1d.1,' +
  'f.0,s.1,1.0,b.4,v.8,22.0,4h.0,8.1,2.1,m.0,7.0,1.2,4.1,9.1,2.1,4.7,1.3,2.0,5.1,p.1,3.0,6.3,2.1,m.0,7.' +
  '0,2.0,2.0,2.1,1.0,5.3,2.1,3.2,1.6,4.0,1.6,h.9,3.0,9.0,3.0,m.0,7.0,2.0,5.1,a.0,3.0,3.1,1.e,4.1,c.6,7.' +
  '0,3.0,8.1,2.1,m.0,7.0,2.0,5.1,9.1,2.1,3.6,3.3,2.0,5.1,i.9,2.0,6.2,3.0,4.2,2.0,1.0,2.2,2.2,3.2,c.3,5.' +
  '2,3.0,4.1,1.5,1.d,l.4,d.0,3.0,n.0,g.1,9.0,3.0,4.6,2.0,3.1,1.1,4.1,a.6,m.0,3.0,n.0,a.0,5.1,9.0,3.0,4.' +
  '6,2.5,2.0,4.1,a.0,3.b,d.0,3.0,1f.0,3.0,6.3,g.1,q.0,3.0,i.2,o.0,9.0,1.1,7.2,1.3,6.0,1.0,8.5,a.1,3.b,1' +
  'm.3,t.10,2.0,1.0,5.0,o.0,1.0,n.1,5.0,1.0,7.0,a.1,4.v,20.0,10.3,13.0,10.0,f.0,d.10,5i.0,1.4,1.1,ah.0,' +
  '4.1,7.0,1.0,4.1,15.0,4.1,x.0,4.1,7.0,1.0,4.1,f.0,1l.0,4.1,1v.1,w.2,q.5,2e.1,6.1,il.2,2h.6,m.8,o.8,k.' +
  'b,d.0,3.0,2.b,2m.1,a.5,a.5,e.0,b.5,2h.6,17.4,1y.9,v.0,c.3,c.3,1.2,16.1,5.a,18.3,q.5,b.2,1q.1,1t.0,t.' +
  '1,b.5,a.5,e.1,v.1c,25.2,1b.0,38.7,1o.2,f.2,1o.6,17.1,b.7,17.4,eu.1,6.1,12.1,6.1,8.0,1.0,1.0,1.0,v.1,' +
  '1h.0,f.0,e.1,6.0,j.1,3.0,9.0,b.4,q.4,1d.f,2.1,r.0,d.2,x.e,x.e,3w.3,if.o,b.k,1ec.1,w.0,9p.4,19.0,1.4,' +
  '1.1,1k.6,2.d,o.8,7.0,7.0,7.0,7.0,7.0,7.0,7.0,7.0,3i.x,q.0,2h.b,5y.p,c.3,1s.0,2e.1,2v.4,17.0,2m.0,2c.' +
  'b,1b.0,mlp.2,1j.8,9o.j,54.7,5n.4,2.0,1.0,5.n,1n.2,a.5,1k.7,1y.7,c.5,38.a,u.2,26.0,b.3,x.0,1j.8,e.1,a' +
  '.1,2v.n,s.9,6.1,6.1,6.8,7.0,7.0,1o.3,3i.1,a.5,8mc.b,n.3,1d.1kz,57y.1,2y.11,7.b,5.4,q.0,5.0,1.0,2.0,2' +
  '.0,3h.f,cd.1,1i.6,1.v,16.5,1f.0,j.0,4.3,5.0,3r.3,5a.2,6.1,6.1,6.1,3.2,7.0,7.c,2.1,c.0,q.0,j.0,2.0,f.' +
  '1,e.x,3f.4,3.3,19.2,2g.0,d.2,1.1a,1a.3l,t.2,1d.e,s.3,10.8,u.4,17.4,u.0,11.3,e.15,4e.1,a.5,10.3,10.3,' +
  '14.7,1g.a,c.0,f.0,7.0,2.0,b.0,f.0,7.0,2.1u,8n.8,m.9,8.n,6.0,16.0,9.1w,6.1,1.0,18.0,2.2,1.1,n.0,20.7,' +
  '9.1b,j.0,2.4,x.2,r.4,1.1r,1k.3,k.1,1e.0,2.4,8.0,3.0,t.1,3.3,a.6,9.6,1s.v,13.3,c.8,1i.2,t.1,r.4,q.6,4' +
  '.b,7.27,21.1i,1f.c,1f.6,1a.7,a.85,v.0,16.0,3.1,2.22,17.7,16.l,q.11,s.j,n.8,26.3,10.8,1q.0,5.c,p.6,a.' +
  '5,1h.0,i.7,13.8,2o.0,k.a,i.0,1b.1p,7.0,1.0,4.0,f.0,b.5,1n.4,a.5,4.0,8.1,2.1,m.0,7.0,2.0,5.0,a.1,2.1,' +
  '3.1,1.5,1.4,7.1,7.2,5.3u,2k.0,5.t,20.7,a.4l,1i.1,12.x,1x.a,a.5,d.i,1m.5,a.1h,r.1,f.3,n.54,1o.2r,2b.b' +
  ',8.1,1.1,8.0,2.0,u.0,2.1,c.8,a.1x,8.1,1a.1,b.q,20.7,2b.c,21.6,a.6t,9.0,19.0,e.9,t.2,w.1,m.0,e.20,7.0' +
  ',2.0,18.2,1.0,2.0,9.7,a.5,6.0,2.0,11.0,2.0,6.6,a.8l,p.6,h.0,15.2,s.2d,1.e,1e.c,pn.2t,33.0,5.a,5g.217' +
  ',2r.c,ts.f,m.33d,g7.6ns,ft.6,v.0,a.3,29.0,a.5,u.1,6.9,1y.9,a.0,7.0,l.4,j.j3,2j.2s,23.3,1l.6,h.1r,5.a' +
  ',2.d,4qg.7,ye.15,9.6w6,4.0,7.0,2.0,83.e,1.s,3.1,1.d,4.7,b0.1s3,2z.4,d.2,9.6,a.1,4.3mn,1a.1,n.8,38.1n' +
  ',6u.9,13.1,22.7,34.k,1y.3d,k.b,k.b,2f.8,p.3q,2d.0,1z.0,2.1,1.1,2.1,4.0,c.0,1.0,7.0,1t.0,4.1,8.0,7.0,' +
  's.0,4.0,5.0,1.2,7.0,9g.1,84.1,ji.e,5.0,f.un,v.5,6.5w,7.0,h.1,7.0,2.0,5.4,1q.w,1.33,19.2,e.1,a.3,2.8v' +
  ',v.g,1m.4,1.cv,16.kl,7.0,4.0,2.0,f.0,5h.1,g.14,24.3,a.3,2.ls,1w.23,1p.5d,4.0,r.0,2.0,1.1,1.0,a.0,4.0' +
  ',1.0,1.5,1.3,1.0,1.0,1.0,3.0,2.0,1.1,1.0,1.0,1.0,1.0,1.0,2.0,1.1,4.0,7.0,4.0,4.0,1.0,a.0,h.4,3.0,5.0' +
  ',h.1f,2.7h,18.3,2s.b,f.1,f.0,f.0,11.9,4u.1j,t.c,18.3,9.6,2.d,6.49,rc.3,h.2,d.2,3b.3,2n.5,c.3,1.e,c.3' +
  ',1k.7,a.5,14.7,u.1,2.25,9g.b,e.1,d.2,9.6,1a.0,7.7,e.3,9.6,9.6,43.0,1j.10,a.sl,wyo.v,37e.5,66.1,4g2.d' +
  ',5rl.2e6,f2.15t,3t7.4,38g.f9e7,6o.1e6n,1eke.1,1eke.1';

let nonPrintStarts: Uint32Array | null = null;
let nonPrintEnds: Uint32Array | null = null;

function loadNonPrint(): void {
  const parts = NONPRINT_TABLE.split(',');
  nonPrintStarts = new Uint32Array(parts.length);
  nonPrintEnds = new Uint32Array(parts.length);
  let prev = 0;
  parts.forEach((p, i) => {
    const dot = p.indexOf('.');
    const start = prev + parseInt(p.slice(0, dot), 36);
    const end = start + parseInt(p.slice(dot + 1), 36);
    nonPrintStarts![i] = start;
    nonPrintEnds![i] = end;
    prev = end + 1;
  });
}

/** g_unichar_isprint() as of GLib 2.74. */
export function unicharIsPrint(cp: number): boolean {
  if (cp >= 0x20 && cp < 0x7f) return true;
  if (!nonPrintStarts) loadNonPrint();
  const starts = nonPrintStarts!;
  const ends = nonPrintEnds!;
  let lo = 0;
  let hi = starts.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (cp < starts[mid]) hi = mid - 1;
    else if (cp > ends[mid]) lo = mid + 1;
    else return false;
  }
  return true;
}

// ============================================================ printing

/**
 * Format a double like GLib's printer: g_ascii_dtostr() ("%.17g", round
 * half to even on the exact binary value), then ".0" appended when the
 * result has no '.', 'e', 'n' or 'N' (so 3 -> "3.0", -0 -> "-0.0").
 */
export function formatDouble(d: number): string {
  let s: string;
  if (Number.isNaN(d)) {
    s = nanIsNegative(d) ? '-nan' : 'nan';
  } else if (d === Infinity) {
    s = 'inf';
  } else if (d === -Infinity) {
    s = '-inf';
  } else if (d === 0) {
    s = Object.is(d, -0) ? '-0' : '0';
  } else {
    s = formatG17(d);
  }
  if (!/[.enN]/.test(s)) s += '.0';
  return s;
}

function nanIsNegative(d: number): boolean {
  const b = Buffer.alloc(8);
  b.writeDoubleLE(d);
  return (b[7] & 0x80) !== 0;
}

/** C printf("%.17g", d) for finite non-zero d, computed exactly. */
function formatG17(d: number): string {
  const P = 17;
  const neg = d < 0;
  const b = Buffer.alloc(8);
  b.writeDoubleBE(Math.abs(d));
  const bits = b.readBigUInt64BE();
  const bexp = Number((bits >> 52n) & 0x7ffn);
  let mant = bits & ((1n << 52n) - 1n);
  let e2: number;
  if (bexp === 0) {
    e2 = -1074;
  } else {
    mant |= 1n << 52n;
    e2 = bexp - 1075;
  }
  // |d| = digits * 10^k exactly
  let digits: bigint;
  let k: number;
  if (e2 >= 0) {
    digits = mant << BigInt(e2);
    k = 0;
  } else {
    digits = mant * 5n ** BigInt(-e2);
    k = e2;
  }
  let ds = digits.toString();
  if (ds.length > P) {
    const drop = ds.length - P;
    const pow = 10n ** BigInt(drop);
    let q = digits / pow;
    const r = digits % pow;
    const half = pow / 2n;
    if (r > half || (r === half && (q & 1n) === 1n)) q += 1n;
    k += drop;
    ds = q.toString();
    if (ds.length > P) {
      // rounded up to a power of ten
      ds = ds.slice(0, P);
      k += 1;
    }
  }
  const X = ds.length - 1 + k; // decimal exponent of the leading digit
  const sig = ds.replace(/0+$/, '') || '0';
  let out: string;
  if (X < P && X >= -4) {
    if (X >= 0) {
      const intPart = sig.length > X + 1 ? sig.slice(0, X + 1) : sig + '0'.repeat(X + 1 - sig.length);
      const frac = sig.length > X + 1 ? sig.slice(X + 1) : '';
      out = frac ? `${intPart}.${frac}` : intPart;
    } else {
      out = `0.${'0'.repeat(-X - 1)}${sig}`;
    }
  } else {
    const mantissa = sig.length > 1 ? `${sig[0]}.${sig.slice(1)}` : sig;
    const ax = Math.abs(X);
    out = `${mantissa}e${X < 0 ? '-' : '+'}${ax < 10 ? '0' : ''}${ax}`;
  }
  return neg ? `-${out}` : out;
}

/** g_strescape(str, NULL) over raw bytes. */
function strescape(bytes: Uint8Array): string {
  let out = '';
  for (const c of bytes) {
    switch (c) {
      case 0x08: out += '\\b'; break;
      case 0x0c: out += '\\f'; break;
      case 0x0a: out += '\\n'; break;
      case 0x0d: out += '\\r'; break;
      case 0x09: out += '\\t'; break;
      case 0x0b: out += '\\v'; break;
      case 0x5c: out += '\\\\'; break;
      case 0x22: out += '\\"'; break;
      default:
        if (c < 0x20 || c >= 0x7f) out += '\\' + c.toString(8).padStart(3, '0');
        else out += String.fromCharCode(c);
    }
  }
  return out;
}

const STRING_ESCAPES: Record<number, string> = {
  0x07: 'a', 0x08: 'b', 0x0c: 'f', 0x0a: 'n', 0x0d: 'r', 0x09: 't', 0x0b: 'v',
};

function printString(s: string): string {
  const quote = s.includes("'") ? '"' : "'";
  let out = quote;
  for (const ch of s) {
    let cp = ch.codePointAt(0)!;
    // A lone surrogate cannot be in a GVariant string; it would be
    // serialised (by Buffer.from(.., 'utf8')) as U+FFFD.
    if (cp >= 0xd800 && cp <= 0xdfff) cp = 0xfffd;
    if (ch === quote || ch === '\\') out += '\\';
    if (unicharIsPrint(cp)) {
      out += String.fromCodePoint(cp);
    } else if (cp < 0x10000) {
      out += '\\' + (STRING_ESCAPES[cp] ?? 'u' + cp.toString(16).padStart(4, '0'));
    } else {
      out += '\\U' + cp.toString(16).padStart(8, '0');
    }
  }
  return out + quote;
}

function printErr(t: GVType, v: unknown): OstreeError {
  let d: string;
  try {
    d = typeof v === 'bigint' ? `${v}n` : JSON.stringify(v)?.slice(0, 40) ?? String(v);
  } catch {
    d = String(v);
  }
  return invalid(`Value ${d} does not fit GVariant type '${typeString(t)}'`);
}

function asBytes(t: GVType, v: unknown): Uint8Array {
  if (v instanceof Uint8Array) return v;
  if (Array.isArray(v)) return Uint8Array.from(v as number[]);
  throw printErr(t, v);
}

function intText(t: GVType, v: unknown): string {
  if (typeof v === 'number' && Number.isInteger(v)) return String(v);
  if (typeof v === 'bigint') return v.toString();
  throw printErr(t, v);
}

const INT_ANNOTATION: Record<string, string> = {
  n: 'int16 ', q: 'uint16 ', u: 'uint32 ', x: 'int64 ', t: 'uint64 ', h: 'handle ', i: '',
};

function printInto(t: GVType, v: unknown, annotate: boolean, out: string[]): void {
  switch (t.kind) {
    case 'basic':
      switch (t.code) {
        case 'b':
          if (typeof v !== 'boolean') throw printErr(t, v);
          out.push(v ? 'true' : 'false');
          return;
        case 'y': {
          if (typeof v !== 'number' || !Number.isInteger(v)) throw printErr(t, v);
          if (annotate) out.push('byte ');
          out.push('0x' + (v & 0xff).toString(16).padStart(2, '0'));
          return;
        }
        case 'd':
          if (typeof v !== 'number') throw printErr(t, v);
          out.push(formatDouble(v));
          return;
        case 's':
          if (typeof v !== 'string') throw printErr(t, v);
          out.push(printString(v));
          return;
        case 'o':
        case 'g':
          if (typeof v !== 'string') throw printErr(t, v);
          if (annotate) out.push(t.code === 'o' ? 'objectpath ' : 'signature ');
          out.push(`'${v}'`);
          return;
        default:
          if (annotate) out.push(INT_ANNOTATION[t.code]);
          out.push(intText(t, v));
          return;
      }
    case 'variant': {
      const vv = v as Variant;
      if (!vv || typeof vv !== 'object' || typeof vv.type !== 'string') throw printErr(t, v);
      out.push('<');
      printInto(parseType(vv.type), vv.value, true, out);
      out.push('>');
      return;
    }
    case 'maybe': {
      if (annotate) out.push(`@${t.str} `);
      if (v === null || v === undefined) {
        out.push('nothing');
        return;
      }
      // Nested maybes with no Nothing inside print just the base value.
      let base: GVType = t.elem;
      while (base.kind === 'maybe') base = base.elem;
      printInto(base, v, false, out);
      return;
    }
    case 'array': {
      const elem = t.elem;
      if (elem.kind === 'basic' && elem.code === 'y') {
        const bytes = asBytes(t, v);
        const nul = bytes.indexOf(0);
        if (bytes.length > 0 && nul === bytes.length - 1) {
          const body = bytes.subarray(0, nul);
          const q = body.includes(0x27) ? '"' : "'";
          out.push(`b${q}${strescape(body)}${q}`);
          return;
        }
        printArray(t, Array.from(bytes), annotate, out);
        return;
      }
      if (!Array.isArray(v)) throw printErr(t, v);
      printArray(t, v, annotate, out);
      return;
    }
    case 'tuple': {
      if (!Array.isArray(v) || v.length !== t.members.length) throw printErr(t, v);
      if (t.dict) {
        out.push('{');
        printInto(t.members[0], v[0], annotate, out);
        out.push(', ');
        printInto(t.members[1], v[1], annotate, out);
        out.push('}');
        return;
      }
      out.push('(');
      t.members.forEach((m, i) => {
        if (i > 0) out.push(', ');
        printInto(m, v[i], annotate, out);
      });
      if (t.members.length === 1) out.push(',');
      out.push(')');
      return;
    }
  }
}

function printArray(t: GVType & { kind: 'array' }, items: unknown[], annotate: boolean, out: string[]): void {
  const elem = t.elem;
  const isDict = elem.kind === 'tuple' && elem.dict;
  if (items.length === 0) {
    if (annotate) out.push(`@${t.str} `);
    out.push(isDict ? '{}' : '[]');
    return;
  }
  if (isDict) {
    const [kt, vt] = (elem as GVType & { kind: 'tuple' }).members;
    out.push('{');
    items.forEach((e, i) => {
      if (!Array.isArray(e) || e.length !== 2) throw printErr(elem, e);
      if (i > 0) out.push(', ');
      printInto(kt, e[0], annotate, out);
      out.push(': ');
      printInto(vt, e[1], annotate, out);
      annotate = false;
    });
    out.push('}');
    return;
  }
  out.push('[');
  items.forEach((e, i) => {
    if (i > 0) out.push(', ');
    printInto(elem, e, annotate, out);
    annotate = false;
  });
  out.push(']');
}

/**
 * The text form of a GVariant value, identical to GLib's
 * g_variant_print(value, typeAnnotate), as `ostree show` and
 * `ostree summary --view` print metadata.
 *
 * @example
 * import { printVariant } from 'node-ostree';
 * printVariant('a{sv}', [['version', { type: 's', value: '42' }]]); // "{'version': <'42'>}"
 * printVariant('t', 5n); // 'uint64 5'
 */
export function printVariant(type: string | GVType, value: unknown, typeAnnotate = true): string {
  const out: string[] = [];
  printInto(toType(type), value, typeAnnotate, out);
  return out.join('');
}

// ============================================================ parsing

/** Error raised while parsing; message is GLib's ("START-END:what"). */
interface SourceRef {
  start: number;
  end: number;
}

function parseError(ref: SourceRef, other: SourceRef | null, msg: string): OstreeError {
  let loc = ref.start === ref.end ? `${ref.start}` : `${ref.start}-${ref.end}`;
  if (other) loc += `,${other.start}-${other.end}`;
  return invalid(`${loc}:${msg}`, { start: ref.start, end: ref.end, reason: msg });
}

const C_0 = 0x30;

function isDigit(c: number | undefined): boolean {
  return c !== undefined && c >= C_0 && c <= 0x39;
}
function isAlpha(c: number | undefined): boolean {
  return c !== undefined && ((c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a));
}
function isAlnum(c: number | undefined): boolean {
  return isDigit(c) || isAlpha(c);
}
function isSpace(c: number | undefined): boolean {
  // g_ascii_isspace: space, \t, \n, \v, \f, \r
  return c === 0x20 || (c !== undefined && c >= 0x09 && c <= 0x0d);
}
function isXDigit(c: number | undefined): boolean {
  return isDigit(c) || (c !== undefined && ((c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66)));
}

class TokenStream {
  pos = 0; // start of unconsumed input (end of current token once prepared)
  thisStart = -1; // start of the prepared token, -1 when none prepared

  constructor(readonly buf: Buffer) {}

  /** Prepare the next token; false at end of input. */
  prepare(): boolean {
    if (this.thisStart >= 0) return this.thisStart < this.pos;
    const b = this.buf;
    let p = this.pos;
    while (p < b.length && isSpace(b[p])) p++;
    if (p >= b.length) {
      this.thisStart = p;
      this.pos = p;
      return false;
    }
    const c = b[p];
    let end: number;
    if (c === 0x2d || c === 0x2b || c === 0x2e || isDigit(c)) {
      end = p;
      while (end < b.length && (isAlnum(b[end]) || b[end] === 0x2d || b[end] === 0x2b || b[end] === 0x2e)) end++;
    } else if (c === 0x62 /* b */ && p + 1 < b.length && (b[p + 1] === 0x27 || b[p + 1] === 0x22)) {
      end = this.scanQuoted(p + 1);
    } else if (c >= 0x61 && c <= 0x7a) {
      end = p;
      while (end < b.length && isAlnum(b[end])) end++;
    } else if (c === 0x27 || c === 0x22) {
      end = this.scanQuoted(p);
    } else if (c === 0x40 /* @ */ || c === 0x25 /* % */) {
      let brackets = 0;
      end = p + 1;
      for (; end < b.length; end++) {
        const x = b[end];
        if (x === 0x2c || x === 0x3a || x === 0x3e || x === 0x5d || isSpace(x)) break;
        if (x === 0x28 || x === 0x7b) brackets++;
        else if (x === 0x29 || x === 0x7d) {
          if (brackets === 0) break;
          brackets--;
        }
      }
    } else {
      end = p + 1;
    }
    this.thisStart = p;
    this.pos = end;
    return true;
  }

  /** Scan a quoted token whose opening quote is at q; returns its end. */
  private scanQuoted(q: number): number {
    const b = this.buf;
    const quote = b[q];
    let end = q + 1;
    for (; end < b.length; end++) {
      if (b[end] === quote) break;
      if (b[end] === 0x5c) {
        end++;
        if (end >= b.length) break;
      }
    }
    if (end < b.length) end++;
    return end;
  }

  peek(c: string): boolean {
    return this.prepare() && this.buf[this.thisStart] === c.charCodeAt(0);
  }

  peek2(a: string, c: string): boolean {
    return (
      this.prepare() &&
      this.pos - this.thisStart >= 2 &&
      this.buf[this.thisStart] === a.charCodeAt(0) &&
      this.buf[this.thisStart + 1] === c.charCodeAt(0)
    );
  }

  peekString(tok: string): boolean {
    return this.prepare() && this.pos - this.thisStart === tok.length && this.buf.toString('latin1', this.thisStart, this.pos) === tok;
  }

  isKeyword(): boolean {
    return (
      this.prepare() &&
      this.pos - this.thisStart >= 2 &&
      isAlpha(this.buf[this.thisStart]) &&
      isAlpha(this.buf[this.thisStart + 1])
    );
  }

  isNumeric(): boolean {
    if (!this.prepare()) return false;
    const c = this.buf[this.thisStart];
    return isDigit(c) || c === 0x2d || c === 0x2b || c === 0x2e;
  }

  next(): void {
    this.thisStart = -1;
  }

  consume(tok: string): boolean {
    if (!this.peekString(tok)) return false;
    this.next();
    return true;
  }

  /** The current token's bytes (must be prepared). */
  get(): Buffer {
    this.prepare();
    return this.buf.subarray(this.thisStart, this.pos);
  }

  error(thisToken: boolean, msg: string): OstreeError {
    this.prepare();
    return parseError({ start: this.thisStart, end: thisToken ? this.pos : this.thisStart }, null, msg);
  }

  require(tok: string, purpose: string): void {
    if (!this.consume(tok)) throw this.error(false, `expected '${tok}'${purpose}`);
  }

  startRef(): number {
    this.prepare();
    return this.thisStart;
  }
}

type AST =
  | { k: 'array'; ref: SourceRef; children: AST[] }
  | { k: 'tuple'; ref: SourceRef; children: AST[] }
  | { k: 'variant'; ref: SourceRef; child: AST }
  | { k: 'dict'; ref: SourceRef; keys: AST[]; values: AST[]; entry: boolean }
  | { k: 'bool'; ref: SourceRef; value: boolean }
  | { k: 'number'; ref: SourceRef; token: string }
  | { k: 'maybe'; ref: SourceRef; child: AST | null }
  | { k: 'typedecl'; ref: SourceRef; type: string; child: AST }
  | { k: 'string'; ref: SourceRef; bytes: Buffer }
  | { k: 'bytestring'; ref: SourceRef; bytes: Buffer };

const MAX_DEPTH = 128; // G_VARIANT_MAX_RECURSION_DEPTH

function noRef(): SourceRef {
  return { start: 0, end: 0 };
}

function parseValue(s: TokenStream, depth: number): AST {
  if (depth === 0) throw s.error(false, 'variant nested too deeply');
  const start = s.startRef();
  let r: AST;
  if (s.peek('[')) r = parseArray(s, depth);
  else if (s.peek('(')) r = parseTuple(s, depth);
  else if (s.peek('<')) r = parseVariantAst(s, depth);
  else if (s.peek('{')) r = parseDict(s, depth);
  else if (s.consume('true')) r = { k: 'bool', ref: noRef(), value: true };
  else if (s.consume('false')) r = { k: 'bool', ref: noRef(), value: false };
  else if (s.isNumeric() || s.peekString('inf') || s.peekString('nan')) {
    const token = s.get().toString('latin1');
    s.next();
    r = { k: 'number', ref: noRef(), token };
  } else if (s.peek('n') || s.peek('j')) r = parseMaybe(s, depth);
  else if (s.peek('@') || s.isKeyword()) r = parseTypeDecl(s, depth);
  else if (s.peek("'") || s.peek('"')) r = parseString(s);
  else if (s.peek2('b', "'") || s.peek2('b', '"')) r = parseByteString(s);
  else throw s.error(false, 'expected value');
  r.ref = { start, end: s.pos };
  return r;
}

function parseArray(s: TokenStream, depth: number): AST {
  s.consume('[');
  const children: AST[] = [];
  let needComma = false;
  while (!s.consume(']')) {
    if (needComma) s.require(',', " or ']' to follow array element");
    children.push(parseValue(s, depth - 1));
    needComma = true;
  }
  return { k: 'array', ref: noRef(), children };
}

function parseTuple(s: TokenStream, depth: number): AST {
  s.consume('(');
  const children: AST[] = [];
  let needComma = false;
  let first = true;
  while (!s.consume(')')) {
    if (needComma) s.require(',', " or ')' to follow tuple element");
    children.push(parseValue(s, depth - 1));
    if (first) {
      s.require(',', ' after first tuple element');
      first = false;
    } else {
      needComma = true;
    }
  }
  return { k: 'tuple', ref: noRef(), children };
}

function parseVariantAst(s: TokenStream, depth: number): AST {
  s.consume('<');
  const child = parseValue(s, depth - 1);
  s.require('>', ' to follow variant value');
  return { k: 'variant', ref: noRef(), child };
}

function parseDict(s: TokenStream, depth: number): AST {
  s.consume('{');
  const keys: AST[] = [];
  const values: AST[] = [];
  if (s.consume('}')) return { k: 'dict', ref: noRef(), keys, values, entry: false };
  keys.push(parseValue(s, depth - 1));
  const onlyOne = s.consume(',');
  if (!onlyOne) s.require(':', " or ',' to follow dictionary entry key");
  values.push(parseValue(s, depth - 1));
  if (onlyOne) {
    s.require('}', ' at end of dictionary entry');
    return { k: 'dict', ref: noRef(), keys, values, entry: true };
  }
  while (!s.consume('}')) {
    s.require(',', " or '}' to follow dictionary entry");
    keys.push(parseValue(s, depth - 1));
    s.require(':', ' to follow dictionary entry key');
    values.push(parseValue(s, depth - 1));
  }
  return { k: 'dict', ref: noRef(), keys, values, entry: false };
}

function parseMaybe(s: TokenStream, depth: number): AST {
  if (s.consume('just')) return { k: 'maybe', ref: noRef(), child: parseValue(s, depth - 1) };
  if (s.consume('nothing')) return { k: 'maybe', ref: noRef(), child: null };
  throw s.error(true, 'unknown keyword');
}

const TYPE_KEYWORDS: Record<string, string> = {
  boolean: 'b', byte: 'y', int16: 'n', uint16: 'q', int32: 'i', handle: 'h', uint32: 'u',
  int64: 'x', uint64: 't', double: 'd', string: 's', objectpath: 'o', signature: 'g',
};

function parseTypeDecl(s: TokenStream, depth: number): AST {
  let type: string;
  if (s.peek('@')) {
    const tok = s.get().toString('latin1', 1);
    const info = scanTypeString(tok, 0);
    if (!info || info.end !== tok.length) throw s.error(true, 'invalid type declaration');
    if (info.depth > depth) throw s.error(true, 'type declaration recurses too deeply');
    if (!info.definite) throw s.error(true, 'type declarations must be definite');
    s.next();
    type = tok;
  } else {
    const word = s.get().toString('latin1');
    const t = Object.prototype.hasOwnProperty.call(TYPE_KEYWORDS, word) ? TYPE_KEYWORDS[word] : undefined;
    if (t === undefined) throw s.error(true, 'unknown keyword');
    s.next();
    type = t;
  }
  return { k: 'typedecl', ref: noRef(), type, child: parseValue(s, depth - 1) };
}

const SIMPLE_ESCAPES: Record<number, number> = {
  0x61: 0x07, 0x62: 0x08, 0x66: 0x0c, 0x6e: 0x0a, 0x72: 0x0d, 0x74: 0x09, 0x76: 0x0b,
};

/**
 * The unescaped body of a quoted token whose opening quote is at `start - 1`:
 * the escapes strings and bytestrings share (\a \b \f \n \r \t \v, an
 * escaped newline, any other escaped character as itself), plus `special`
 * for the ones they don't (\u/\U in strings, octal in bytestrings), which
 * returns the index after the escape or null.
 */
function unescapeQuoted(
  tok: Buffer,
  start: number,
  ref: SourceRef,
  special: (e: number, i: number, out: number[]) => number | null,
): number[] {
  const quote = tok[start - 1];
  const out: number[] = [];
  let i = start;
  const unterminated = (): OstreeError => parseError(ref, null, 'unterminated string constant');
  for (;;) {
    if (i >= tok.length) throw unterminated();
    const c = tok[i];
    if (c === quote) return out;
    if (c !== 0x5c) {
      out.push(c);
      i++;
      continue;
    }
    i++;
    if (i >= tok.length) throw unterminated();
    const e = tok[i];
    const next = special(e, i, out);
    if (next !== null) {
      i = next;
      continue;
    }
    if (e in SIMPLE_ESCAPES) out.push(SIMPLE_ESCAPES[e]);
    else if (e !== 0x0a) out.push(e);
    i++;
  }
}

function parseString(s: TokenStream): AST {
  const ref = { start: s.startRef(), end: s.pos };
  const tok = s.get();
  s.next();
  const out = unescapeQuoted(tok, 1, ref, (e, i, acc) =>
    e === 0x75 /* u */ || e === 0x55 /* U */ ? unicodeUnescape(tok, i, e === 0x75 ? 4 : 8, ref, acc) : null,
  );
  return { k: 'string', ref: noRef(), bytes: Buffer.from(out) };
}

function unicodeUnescape(tok: Buffer, i: number, length: number, ref: SourceRef, out: number[]): number {
  i++; // past 'u' / 'U'
  let nValid = 0;
  while (nValid < length && i + nValid < tok.length && isXDigit(tok[i + nValid])) nValid++;
  const value = nValid === length ? parseInt(tok.toString('latin1', i, i + length), 16) : 0;
  if (value === 0) {
    const start = ref.start + i;
    throw parseError({ start, end: start + nValid }, null, `invalid ${length}-character unicode escape`);
  }
  // g_unichar_to_utf8(): encodes any value, even ones that are not valid
  // scalar values (the resulting string is rejected later as invalid UTF-8).
  out.push(...unicharToUtf8(value));
  return i + length;
}

function unicharToUtf8(c: number): number[] {
  if (c < 0x80) return [c];
  let first: number;
  let len: number;
  if (c < 0x800) { first = 0xc0; len = 2; }
  else if (c < 0x10000) { first = 0xe0; len = 3; }
  else if (c < 0x200000) { first = 0xf0; len = 4; }
  else if (c < 0x4000000) { first = 0xf8; len = 5; }
  else { first = 0xfc; len = 6; }
  const r = new Array<number>(len);
  for (let i = len - 1; i > 0; i--) {
    r[i] = (c & 0x3f) | 0x80;
    c = Math.floor(c / 64);
  }
  r[0] = c | first;
  return r;
}

function parseByteString(s: TokenStream): AST {
  const ref = { start: s.startRef(), end: s.pos };
  const tok = s.get();
  s.next();
  const out = unescapeQuoted(tok, 2, ref, (e, i, acc) => {
    if (e < 0x30 || e > 0x37) return null;
    // Up to three octal digits.
    let val = e - 0x30;
    i++;
    for (let n = 0; n < 2; n++) {
      if (tok[i] >= 0x30 && tok[i] <= 0x37) {
        val = (val << 3) | (tok[i] - 0x30);
        i++;
      }
    }
    acc.push(val & 0xff);
    return i;
  });
  // g_variant_new_bytestring() takes a C string: stops at the first NUL,
  // and the NUL terminator is part of the value.
  const nul = out.indexOf(0);
  const body = nul >= 0 ? out.slice(0, nul) : out;
  return { k: 'bytestring', ref: noRef(), bytes: Buffer.from(body) };
}

// ------------------------------------------------------------ type strings

interface TypeScan {
  end: number;
  depth: number;
  definite: boolean;
}

/** g_variant_type_string_scan(), also accepting indefinite types (* ? r). */
function scanTypeString(str: string, pos: number, level = 0): TypeScan | null {
  if (level > MAX_DEPTH) return null;
  const c = str[pos];
  if (c === undefined) return null;
  if ('bynqiuxtdsogvhr*?'.includes(c)) return { end: pos + 1, depth: 1, definite: !'r*?'.includes(c) };
  if (c === 'a' || c === 'm') {
    const inner = scanTypeString(str, pos + 1, level + 1);
    return inner && { end: inner.end, depth: inner.depth + 1, definite: inner.definite };
  }
  if (c === '(') {
    let p = pos + 1;
    let depth = 0;
    let definite = true;
    while (str[p] !== ')') {
      const m = scanTypeString(str, p, level + 1);
      if (!m) return null;
      depth = Math.max(depth, m.depth);
      definite &&= m.definite;
      p = m.end;
    }
    return { end: p + 1, depth: depth + 1, definite };
  }
  if (c === '{') {
    const k = str[pos + 1];
    if (k === undefined || !'bynqihuxtdsog?'.includes(k)) return null;
    const v = scanTypeString(str, pos + 2, level + 1);
    if (!v || str[v.end] !== '}') return null;
    return { end: v.end + 1, depth: Math.max(1, v.depth) + 1, definite: k !== '?' && v.definite };
  }
  return null;
}

function isObjectPath(s: string): boolean {
  return /^\/$|^(\/[A-Za-z0-9_]+)+$/.test(s);
}

function isSignature(s: string): boolean {
  if (!/^[ybnqiuxthdvasog(){}]*$/.test(s)) return false;
  let p = 0;
  while (p < s.length) {
    const r = scanTypeString(s, p);
    if (!r) return false;
    p = r.end;
  }
  return true;
}

// ------------------------------------------------------------ patterns

function getPattern(ast: AST): string {
  switch (ast.k) {
    case 'array':
      if (ast.children.length === 0) return 'Ma*';
      return 'Ma' + arrayPattern(ast.children);
    case 'tuple':
      return 'M(' + ast.children.map(getPattern).join('') + ')';
    case 'variant':
      return 'Mv';
    case 'bool':
      return 'Mb';
    case 'number': {
      const t = ast.token;
      if (t.includes('.') || (!t.startsWith('0x') && t.includes('e')) || t.includes('inf') || t.includes('nan')) return 'Md';
      return 'MN';
    }
    case 'string':
      return 'MS';
    case 'bytestring':
      return 'May';
    case 'maybe':
      return ast.child ? 'm' + getPattern(ast.child) : 'm*';
    case 'typedecl':
      return ast.type;
    case 'dict': {
      if (!ast.entry && ast.keys.length === 0) return 'Ma{**}';
      const keyPattern = arrayPattern(ast.keys);
      const keyChar = keyPattern[0] === 'M' ? keyPattern[1] : keyPattern[0];
      if (!'bynqiuxthdsogNS'.includes(keyChar)) throw parseError(ast.ref, null, 'dictionary keys must have basic types');
      const valuePattern = getPattern(ast.values[0]);
      return `M${ast.entry ? '' : 'a'}{${keyChar}${valuePattern}}`;
    }
  }
}

function arrayPattern(items: AST[]): string {
  let pattern: string | null = getPattern(items[0]);
  for (let i = 1; i < items.length; i++) {
    const tmp = getPattern(items[i]);
    pattern = coalesce(pattern!, tmp);
    if (pattern === null) {
      // Find the first earlier element that conflicts with this one.
      for (let j = 0; j < i; j++) {
        if (coalesce(tmp, getPattern(items[j])) === null) {
          throw parseError(items[j].ref, items[i].ref, 'unable to find a common type');
        }
      }
      throw parseError(items[i].ref, null, 'unable to find a common type');
    }
  }
  return pattern!;
}

/** End of the single complete (pattern) type starting at pos. */
function skipPatternType(p: string, pos: number): number {
  while (p[pos] === 'M' || p[pos] === 'm' || p[pos] === 'a') pos++;
  const c = p[pos];
  if (c === '(' || c === '{') {
    let depth = 0;
    do {
      if (p[pos] === '(' || p[pos] === '{') depth++;
      else if (p[pos] === ')' || p[pos] === '}') depth--;
      pos++;
    } while (depth > 0 && pos < p.length);
    return pos;
  }
  return pos + 1;
}

/** Merge two type patterns into the most specific one matching both. */
function coalesce(left: string, right: string): string | null {
  const s = [left, right];
  const pos = [0, 0];
  let out = '';
  while (pos[0] < s[0].length && pos[1] < s[1].length) {
    const a = s[0][pos[0]];
    const b = s[1][pos[1]];
    if (a === b) {
      out += a;
      pos[0]++;
      pos[1]++;
      continue;
    }
    let progressed = false;
    for (const [one, other] of [[0, 1], [1, 0]]) {
      const x = s[one][pos[one]];
      const y = s[other][pos[other]];
      if (x === '*' && y !== ')') {
        const end = skipPatternType(s[other], pos[other]);
        out += s[other].slice(pos[other], end);
        pos[other] = end;
        pos[one]++;
      } else if (x === 'M' && y === 'm') {
        out += 'm';
        pos[other]++;
      } else if (x === 'M' && y !== 'm' && y !== '*') {
        pos[one]++;
      } else if (x === 'N' && 'ynqiuxthd'.includes(y)) {
        out += y;
        pos[other]++;
        pos[one]++;
      } else if (x === 'S' && 'sog'.includes(y)) {
        out += y;
        pos[other]++;
        pos[one]++;
      } else {
        continue;
      }
      progressed = true;
      break;
    }
    if (!progressed) return null;
  }
  if (pos[0] < s[0].length || pos[1] < s[1].length) return null;
  return out;
}

function resolve(ast: AST): Variant {
  const pattern = getPattern(ast);
  let t = '';
  for (const c of pattern) {
    if (c === '*') throw parseError(ast.ref, null, 'unable to infer type');
    if (c === 'M') continue;
    t += c === 'S' ? 's' : c === 'N' ? 'i' : c;
  }
  return { type: t, value: getValue(ast, parseType(t)) };
}

// ------------------------------------------------------------ values

function typeError(ast: AST, t: GVType): OstreeError {
  return parseError(ast.ref, null, `can not parse as value of type '${typeString(t)}'`);
}

function getValue(ast: AST, t: GVType): unknown {
  if (ast.k === 'maybe') {
    if (t.kind !== 'maybe') throw typeError(ast, t);
    return ast.child ? getValue(ast.child, t.elem) : null;
  }
  if (ast.k === 'typedecl') return getValue(ast.child, t);
  // maybe_wrapper: produce the base value and wrap it in Just (which, in
  // this value model, is the value itself).
  let base = t;
  while (base.kind === 'maybe') base = base.elem;
  return getBaseValue(ast, base);
}

function getBaseValue(ast: AST, t: GVType): unknown {
  switch (ast.k) {
    case 'array': {
      if (t.kind !== 'array') throw typeError(ast, t);
      const items = ast.children.map((c) => getValue(c, t.elem));
      if (t.elem.kind === 'basic' && t.elem.code === 'y') return Buffer.from(items as number[]);
      return items;
    }
    case 'tuple': {
      if (t.kind !== 'tuple' || t.dict) throw typeError(ast, t);
      const out: unknown[] = [];
      for (let i = 0; i < ast.children.length; i++) {
        if (i >= t.members.length) throw typeError(ast, t);
        out.push(getValue(ast.children[i], t.members[i]));
      }
      if (ast.children.length !== t.members.length) throw typeError(ast, t);
      return out;
    }
    case 'variant': {
      if (t.kind !== 'variant') throw typeError(ast, t);
      return resolve(ast.child);
    }
    case 'dict': {
      if (ast.entry) {
        if (t.kind !== 'tuple' || !t.dict) throw typeError(ast, t);
        return [getValue(ast.keys[0], t.members[0]), getValue(ast.values[0], t.members[1])];
      }
      if (t.kind !== 'array' || t.elem.kind !== 'tuple' || !t.elem.dict) throw typeError(ast, t);
      const [kt, vt] = t.elem.members;
      return ast.keys.map((k, i) => [getValue(k, kt), getValue(ast.values[i], vt)]);
    }
    case 'bool':
      if (t.kind !== 'basic' || t.code !== 'b') throw typeError(ast, t);
      return ast.value;
    case 'number':
      return numberValue(ast, t);
    case 'string': {
      if (t.kind !== 'basic' || !'sog'.includes(t.code)) throw typeError(ast, t);
      const str = ast.bytes.toString('utf8');
      if (t.code === 'o' && !isObjectPath(str)) throw parseError(ast.ref, null, 'not a valid object path');
      if (t.code === 'g' && !isSignature(str)) throw parseError(ast.ref, null, 'not a valid signature');
      // GLib hits a g_return_if_fail here (g_variant_new_string) and returns
      // NULL without an error; we report it properly.
      if (!Buffer.from(str, 'utf8').equals(ast.bytes)) throw parseError(ast.ref, null, 'invalid UTF-8 in string constant');
      return str;
    }
    case 'bytestring':
      if (t.kind !== 'array' || t.elem.kind !== 'basic' || t.elem.code !== 'y') throw typeError(ast, t);
      return Buffer.concat([ast.bytes, Buffer.from([0])]);
    default:
      throw typeError(ast, t);
  }
}

const U64_MAX = (1n << 64n) - 1n;

/** g_ascii_strtoull(str, &end, 0). */
function strtoull(str: string): { value: bigint; end: number; erange: boolean } {
  let i = 0;
  let negative = false;
  if (str.length === 0) return { value: 0n, end: 0, erange: false };
  if (str[0] === '-') {
    negative = true;
    i++;
  } else if (str[0] === '+') {
    i++;
  }
  let base = 10;
  if (str[i] === '0') {
    if (str[i + 1] === 'x' || str[i + 1] === 'X') {
      i += 2;
      base = 16;
    } else {
      base = 8;
    }
  }
  const save = i;
  let v = 0n;
  let overflow = false;
  const B = BigInt(base);
  for (; i < str.length; i++) {
    const ch = str.charCodeAt(i);
    let d: number;
    if (isDigit(ch)) d = ch - C_0;
    else if (isAlpha(ch)) d = (ch & ~0x20) - 0x41 + 10;
    else break;
    if (d >= base) break;
    const nv = v * B + BigInt(d);
    if (nv > U64_MAX) overflow = true;
    else if (!overflow) v = nv;
  }
  if (i === save) {
    // no conversion; "0x" followed by a non-hex-digit converts the "0"
    const end = base === 16 && save >= 2 ? save - 1 : 0;
    return { value: 0n, end, erange: false };
  }
  if (overflow) v = U64_MAX;
  if (negative) v = (-v) & U64_MAX;
  return { value: v, end: i, erange: overflow };
}

/** g_ascii_strtod(str, &end) (glibc strtod in the C locale). */
function strtod(str: string): { value: number; end: number; erange: boolean } {
  let i = 0;
  let sign = 1;
  if (str[i] === '+' || str[i] === '-') {
    if (str[i] === '-') sign = -1;
    i++;
  }
  const rest = str.slice(i).toLowerCase();
  if (rest.startsWith('inf')) {
    const n = rest.startsWith('infinity') ? 8 : 3;
    return { value: sign * Infinity, end: i + n, erange: false };
  }
  if (rest.startsWith('nan')) {
    let n = 3;
    const m = /^\(([0-9a-z_]*)\)/.exec(rest.slice(3));
    if (m) n += m[0].length;
    return { value: NaN, end: i + n, erange: false };
  }
  if (rest.startsWith('0x')) {
    const m = /^0x([0-9a-f]*)(?:\.([0-9a-f]*))?/.exec(rest)!;
    const intDigits = m[1];
    const fracDigits = m[2] ?? '';
    if (intDigits.length + fracDigits.length > 0) {
      let end = i + m[0].length;
      let exp = 0;
      const em = /^p([+-]?[0-9]+)/.exec(rest.slice(m[0].length));
      if (em) {
        exp = parseInt(em[1], 10);
        end += em[0].length;
      }
      const mant = BigInt('0x' + (intDigits + fracDigits || '0'));
      const value = sign * Number(mant) * Math.pow(2, exp - 4 * fracDigits.length);
      return finishStrtod(value, end, mant !== 0n);
    }
    // "0x" without digits: just the "0"
    return { value: sign * 0, end: i + 1, erange: false };
  }
  const m = /^([0-9]*)(\.([0-9]*))?/.exec(rest)!;
  const intDigits = m[1];
  const fracDigits = m[3] ?? '';
  if (intDigits.length + fracDigits.length === 0) return { value: 0, end: 0, erange: false };
  let end = i + m[0].length;
  let expPart = '';
  const em = /^e([+-]?[0-9]+)/.exec(rest.slice(m[0].length));
  if (em) {
    expPart = 'e' + em[1];
    end += em[0].length;
  }
  const value = sign * Number(`${intDigits || '0'}.${fracDigits || '0'}${expPart}`);
  return finishStrtod(value, end, /[1-9]/.test(intDigits + fracDigits));
}

function finishStrtod(value: number, end: number, nonzeroInput: boolean): { value: number; end: number; erange: boolean } {
  const a = Math.abs(value);
  // overflow to infinity, or a (practically always inexact) subnormal result
  const erange = (!Number.isFinite(a) && nonzeroInput) || (a !== 0 && a < 2.2250738585072014e-308);
  return { value, end, erange };
}

const INT_LIMITS: Record<string, { min: bigint; max: bigint }> = {
  y: { min: 0n, max: 0xffn },
  n: { min: -0x8000n, max: 0x7fffn },
  q: { min: 0n, max: 0xffffn },
  i: { min: -0x80000000n, max: 0x7fffffffn },
  h: { min: -0x80000000n, max: 0x7fffffffn },
  u: { min: 0n, max: 0xffffffffn },
  x: { min: -(1n << 63n), max: (1n << 63n) - 1n },
  t: { min: 0n, max: U64_MAX },
};

function numberValue(ast: AST & { k: 'number' }, t: GVType): unknown {
  const token = ast.token;
  if (t.kind === 'basic' && t.code === 'd') {
    const r = strtod(token);
    if (r.value !== 0 && r.erange) throw parseError(ast.ref, null, 'number too big for any type');
    if (r.end !== token.length) throw badNumberChar(ast, r.end);
    return r.value;
  }
  const negative = token[0] === '-';
  const off = negative ? 1 : 0;
  const r = strtoull(token.slice(off));
  if (r.value === U64_MAX && r.erange) throw parseError(ast.ref, null, 'integer too big for any type');
  if (r.end + off !== token.length) throw badNumberChar(ast, r.end + off);
  const abs = r.value;
  const neg = negative && abs !== 0n;
  if (t.kind !== 'basic' || !(t.code in INT_LIMITS)) throw typeError(ast, t);
  const { min, max } = INT_LIMITS[t.code];
  const v = neg ? -abs : abs;
  if (v < min || v > max) throw parseError(ast.ref, null, `number out of range for type '${t.code}'`);
  return t.code === 'x' || t.code === 't' ? v : Number(v);
}

function badNumberChar(ast: AST, offset: number): OstreeError {
  const start = ast.ref.start + offset;
  return parseError({ start, end: start + 1 }, null, 'invalid character in number');
}

/**
 * Parse GVariant text like g_variant_parse(type, text, NULL, NULL, &error)
 * (ostree's `--add-metadata KEY=VALUE`). Without `type` the type is inferred
 * as GLib does (integers default to int32, floats to double, strings to 's',
 * array elements are unified). Errors are OSTREE_INVALID_ARGUMENT with GLib's
 * message, e.g. "0-3:unknown keyword" (byte offsets into the UTF-8 text).
 *
 * @example
 * import { parseVariant } from 'node-ostree';
 * parseVariant('uint32 7'); // { type: 'u', value: 7 }
 * parseVariant("['a', 'b']", 'as'); // { type: 'as', value: ['a', 'b'] }
 */
export function parseVariant(text: string, type?: string | GVType): Variant {
  let buf = Buffer.from(text, 'utf8');
  const nul = buf.indexOf(0);
  if (nul >= 0) buf = buf.subarray(0, nul); // C string semantics
  const t = type === undefined ? undefined : toType(type);
  if (t) {
    const info = scanTypeString(typeString(t), 0);
    if (!info || !info.definite) throw invalid(`Invalid GVariant type string '${typeString(t)}'`);
  }
  const s = new TokenStream(buf);
  const ast = parseValue(s, MAX_DEPTH);
  const result: Variant = t ? { type: typeString(t), value: getValue(ast, t) } : resolve(ast);
  let p = s.pos;
  while (p < buf.length && isSpace(buf[p])) p++;
  if (p < buf.length) throw parseError({ start: p, end: p }, null, 'expected end of input');
  return result;
}
