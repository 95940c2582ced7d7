// GVariant serialisation, byte-compatible with GLib (little-endian hosts).
// Mirrors glib/gvariant-serialiser.c as described in FORMATS.md §1.
//
// Value representation (JS <-> GVariant):
//   b -> boolean; y n q i u h -> number; x t -> bigint; d -> number
//   s o g -> string; ay -> Buffer; other aT -> T[]; mT -> T | null
//   (..) and {KV} -> unknown[] (tuple members in order; a{KV} is an array of [k, v])
//   v -> Variant { type, value }
import { OstreeError } from '../errors';

export interface Variant {
  type: string;
  value: unknown;
}

export type GVType =
  | { kind: 'basic'; code: string; align: number; size: number | null }
  | { kind: 'array'; elem: GVType; align: number; size: null; str: string }
  | { kind: 'maybe'; elem: GVType; align: number; size: null; str: string }
  | { kind: 'tuple'; members: GVType[]; align: number; size: number | null; str: string; dict: boolean }
  | { kind: 'variant'; align: 8; size: null };

const BASIC_FIXED: Record<string, [number, number]> = {
  b: [1, 1], y: [1, 1], n: [2, 2], q: [2, 2], i: [4, 4], u: [4, 4], h: [4, 4], x: [8, 8], t: [8, 8], d: [8, 8],
};

const typeCache = new Map<string, GVType>();

/** Parse a complete GVariant type string (e.g. "(a{sv}aya(say)sstayay)"). */
export function parseType(str: string): GVType {
  let t = typeCache.get(str);
  if (t) return t;
  const [parsed, end] = parseTypeAt(str, 0);
  if (end !== str.length) throw badType(str);
  t = parsed;
  typeCache.set(str, t);
  return t;
}

function badType(str: string): OstreeError {
  return new OstreeError('OSTREE_INVALID_ARGUMENT', `Invalid GVariant type string '${str}'`);
}

function parseTypeAt(str: string, pos: number): [GVType, number] {
  const c = str[pos];
  if (c === undefined) throw badType(str);
  if (c in BASIC_FIXED) {
    const [align, size] = BASIC_FIXED[c];
    return [{ kind: 'basic', code: c, align, size }, pos + 1];
  }
  if (c === 's' || c === 'o' || c === 'g') return [{ kind: 'basic', code: c, align: 1, size: null }, pos + 1];
  if (c === 'v') return [{ kind: 'variant', align: 8, size: null }, pos + 1];
  if (c === 'a' || c === 'm') {
    const [elem, end] = parseTypeAt(str, pos + 1);
    const kind = c === 'a' ? 'array' : 'maybe';
    return [{ kind, elem, align: elem.align, size: null, str: str.slice(pos, end) } as GVType, end];
  }
  if (c === '(' || c === '{') {
    const close = c === '(' ? ')' : '}';
    const members: GVType[] = [];
    let p = pos + 1;
    while (str[p] !== close) {
      if (p >= str.length) throw badType(str);
      const [m, e] = parseTypeAt(str, p);
      members.push(m);
      p = e;
    }
    if (c === '{') {
      if (members.length !== 2 || members[0].kind !== 'basic') throw badType(str);
    }
    let align = 1;
    let fixed = true;
    let off = 0;
    for (const m of members) {
      align = Math.max(align, m.align);
      if (m.size === null) fixed = false;
      else off = alignUp(off, m.align) + m.size;
    }
    let size: number | null = null;
    if (fixed) size = members.length === 0 ? 1 : alignUp(off, align);
    return [{ kind: 'tuple', members, align, size, str: str.slice(pos, p + 1), dict: c === '{' }, p + 1];
  }
  throw badType(str);
}

export function typeString(t: GVType): string {
  return t.kind === 'basic' ? t.code : t.kind === 'variant' ? 'v' : t.str;
}

function alignUp(n: number, a: number): number {
  return (n + a - 1) & ~(a - 1);
}

function offsetWidth(bodyLen: number, nOffsets: number): number {
  if (bodyLen === 0 && nOffsets === 0) return 0;
  for (const w of [1, 2, 4]) {
    if (bodyLen + nOffsets * w <= 2 ** (8 * w) - 1) return w;
  }
  return 8;
}

function widthForSize(n: number): number {
  if (n === 0) return 0;
  if (n <= 0xff) return 1;
  if (n <= 0xffff) return 2;
  if (n <= 0xffffffff) return 4;
  return 8;
}

// ---------------------------------------------------------------- writing

class Writer {
  chunks: Buffer[] = [];
  len = 0;
  push(b: Buffer): void {
    if (b.length === 0) return;
    this.chunks.push(b);
    this.len += b.length;
  }
  pad(align: number): void {
    const n = alignUp(this.len, align) - this.len;
    if (n) this.push(Buffer.alloc(n));
  }
  writeOffsets(offsets: number[], w: number): void {
    if (!offsets.length) return;
    const b = Buffer.alloc(offsets.length * w);
    offsets.forEach((o, i) => writeUIntLE(b, o, i * w, w));
    this.push(b);
  }
}

function writeUIntLE(b: Buffer, v: number, at: number, w: number): void {
  if (w === 8) b.writeBigUInt64LE(BigInt(v), at);
  else b.writeUIntLE(v, at, w);
}

function readUIntLE(b: Buffer, at: number, w: number): number {
  if (w === 8) {
    const v = b.readBigUInt64LE(at);
    return v > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(v);
  }
  return b.readUIntLE(at, w);
}

/** Serialise `value` of type `type` (a type string or parsed type). */
export function serialize(type: string | GVType, value: unknown): Buffer {
  const t = typeof type === 'string' ? parseType(type) : type;
  const parts: Buffer[] = [];
  writeValue(t, value, parts);
  return parts.length === 1 ? parts[0] : Buffer.concat(parts);
}

function typeErr(t: GVType, v: unknown): OstreeError {
  return new OstreeError('OSTREE_INVALID_ARGUMENT', `Value ${describe(v)} does not fit GVariant type '${typeString(t)}'`);
}

function describe(v: unknown): string {
  try {
    return typeof v === 'bigint' ? `${v}n` : JSON.stringify(v)?.slice(0, 40) ?? String(v);
  } catch {
    return String(v);
  }
}

function writeValue(t: GVType, v: unknown, out: Buffer[]): void {
  out.push(encode(t, v));
}

function encode(t: GVType, v: unknown): Buffer {
  switch (t.kind) {
    case 'basic':
      return encodeBasic(t.code, v, t);
    case 'variant': {
      const vv = v as Variant;
      if (!vv || typeof vv.type !== 'string') throw typeErr(t, v);
      const inner = encode(parseType(vv.type), vv.value);
      return Buffer.concat([inner, Buffer.from([0]), Buffer.from(vv.type, 'ascii')]);
    }
    case 'maybe': {
      if (v === null || v === undefined) return Buffer.alloc(0);
      const inner = encode(t.elem, v);
      return t.elem.size !== null ? inner : Buffer.concat([inner, Buffer.from([0])]);
    }
    case 'array': {
      if (t.elem.kind === 'basic' && t.elem.code === 'y') {
        if (Buffer.isBuffer(v)) return v;
        if (v instanceof Uint8Array) return Buffer.from(v);
        if (Array.isArray(v)) return Buffer.from(v as number[]);
        throw typeErr(t, v);
      }
      if (!Array.isArray(v)) throw typeErr(t, v);
      const w = new Writer();
      if (t.elem.size !== null) {
        for (const e of v) w.push(encode(t.elem, e));
        return Buffer.concat(w.chunks, w.len);
      }
      const ends: number[] = [];
      for (const e of v) {
        w.pad(t.elem.align);
        w.push(encode(t.elem, e));
        ends.push(w.len);
      }
      w.writeOffsets(ends, offsetWidth(w.len, ends.length));
      return Buffer.concat(w.chunks, w.len);
    }
    case 'tuple': {
      if (!Array.isArray(v) || v.length !== t.members.length) throw typeErr(t, v);
      if (t.members.length === 0) return Buffer.from([0]);
      const w = new Writer();
      const ends: number[] = [];
      t.members.forEach((m, i) => {
        w.pad(m.align);
        w.push(encode(m, v[i]));
        if (m.size === null && i !== t.members.length - 1) ends.push(w.len);
      });
      if (t.size !== null) {
        w.pad(t.align);
        return Buffer.concat(w.chunks, w.len);
      }
      ends.reverse();
      w.writeOffsets(ends, offsetWidth(w.len, ends.length));
      return Buffer.concat(w.chunks, w.len);
    }
  }
}

function encodeBasic(code: string, v: unknown, t: GVType): Buffer {
  let b: Buffer;
  switch (code) {
    case 'b':
      if (typeof v !== 'boolean') throw typeErr(t, v);
      return Buffer.from([v ? 1 : 0]);
    case 'y':
      checkInt(v, 0, 0xff, t);
      return Buffer.from([v as number]);
    case 'n':
      checkInt(v, -0x8000, 0x7fff, t);
      b = Buffer.alloc(2);
      b.writeInt16LE(v as number);
      return b;
    case 'q':
      checkInt(v, 0, 0xffff, t);
      b = Buffer.alloc(2);
      b.writeUInt16LE(v as number);
      return b;
    case 'i':
    case 'h':
      checkInt(v, -0x80000000, 0x7fffffff, t);
      b = Buffer.alloc(4);
      b.writeInt32LE(v as number);
      return b;
    case 'u':
      checkInt(v, 0, 0xffffffff, t);
      b = Buffer.alloc(4);
      b.writeUInt32LE(v as number);
      return b;
    case 'x':
    case 't': {
      const big = typeof v === 'bigint' ? v : typeof v === 'number' && Number.isInteger(v) ? BigInt(v) : null;
      if (big === null) throw typeErr(t, v);
      b = Buffer.alloc(8);
      if (code === 'x') {
        if (big < -(2n ** 63n) || big >= 2n ** 63n) throw typeErr(t, v);
        b.writeBigInt64LE(big);
      } else {
        if (big < 0n || big >= 2n ** 64n) throw typeErr(t, v);
        b.writeBigUInt64LE(big);
      }
      return b;
    }
    case 'd':
      if (typeof v !== 'number') throw typeErr(t, v);
      b = Buffer.alloc(8);
      b.writeDoubleLE(v);
      return b;
    default: {
      if (typeof v !== 'string' || v.includes('\0')) throw typeErr(t, v);
      const s = Buffer.from(v, 'utf8');
      return Buffer.concat([s, Buffer.from([0])]);
    }
  }
}

function checkInt(v: unknown, min: number, max: number, t: GVType): void {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) throw typeErr(t, v);
}

// ---------------------------------------------------------------- reading

export function corrupt(msg: string): OstreeError {
  return new OstreeError('OSTREE_CORRUPT_OBJECT', msg);
}

/**
 * Deserialise `data` as `type`. Strict: anything GLib would not consider
 * well-formed (bad framing offsets, wrong fixed sizes, bad strings) throws
 * OSTREE_CORRUPT_OBJECT. Use isNormalForm() to additionally check canonical
 * encoding.
 */
export function deserialize<T = unknown>(type: string | GVType, data: Buffer | Uint8Array): T {
  const t = typeof type === 'string' ? parseType(type) : type;
  const b = Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  try {
    return decode(t, b, 0, b.length, 0) as T;
  } catch (err) {
    // Any out-of-bounds read that slipped past the explicit checks is still corruption.
    if (err instanceof RangeError) throw corrupt(`Malformed GVariant of type '${typeString(t)}': ${err.message}`);
    throw err;
  }
}

const MAX_DEPTH = 64;

function decode(t: GVType, b: Buffer, start: number, end: number, depth: number): unknown {
  if (depth > MAX_DEPTH) throw corrupt('GVariant nesting too deep');
  const len = end - start;
  switch (t.kind) {
    case 'basic': {
      if (t.size !== null && len !== t.size) throw corrupt(`GVariant '${t.code}' has size ${len}, expected ${t.size}`);
      switch (t.code) {
        case 'b': {
          const x = b[start];
          if (x > 1) throw corrupt('GVariant boolean is not 0 or 1');
          return x === 1;
        }
        case 'y': return b[start];
        case 'n': return b.readInt16LE(start);
        case 'q': return b.readUInt16LE(start);
        case 'i': case 'h': return b.readInt32LE(start);
        case 'u': return b.readUInt32LE(start);
        case 'x': return b.readBigInt64LE(start);
        case 't': return b.readBigUInt64LE(start);
        case 'd': return b.readDoubleLE(start);
        default: {
          if (len === 0 || b[end - 1] !== 0) throw corrupt('GVariant string is not NUL-terminated');
          const nul = b.indexOf(0, start);
          if (nul !== end - 1) throw corrupt('GVariant string contains an embedded NUL');
          const s = b.toString('utf8', start, end - 1);
          if (!isUtf8(b.subarray(start, end - 1))) throw corrupt('GVariant string is not valid UTF-8');
          return s;
        }
      }
    }
    case 'variant': {
      if (len === 0) throw corrupt('GVariant variant is empty');
      const sep = b.lastIndexOf(0, end - 1);
      if (sep < start) throw corrupt('GVariant variant has no type separator');
      const ts = b.toString('latin1', sep + 1, end);
      let inner: GVType;
      try {
        inner = parseType(ts);
      } catch {
        throw corrupt(`GVariant variant has invalid type '${ts}'`);
      }
      return { type: ts, value: decode(inner, b, start, sep, depth + 1) } as Variant;
    }
    case 'maybe': {
      if (len === 0) return null;
      if (t.elem.size !== null) {
        if (len !== t.elem.size) throw corrupt('GVariant maybe has wrong size');
        return decode(t.elem, b, start, end, depth + 1);
      }
      if (b[end - 1] !== 0) throw corrupt('GVariant maybe lacks its trailing NUL');
      return decode(t.elem, b, start, end - 1, depth + 1);
    }
    case 'array': {
      if (t.elem.kind === 'basic' && t.elem.code === 'y') return b.subarray(start, end);
      if (t.elem.size !== null) {
        const sz = t.elem.size;
        if (len % sz !== 0) throw corrupt('GVariant fixed array size is not a multiple of its element size');
        const out: unknown[] = [];
        for (let p = start; p < end; p += sz) out.push(decode(t.elem, b, p, p + sz, depth + 1));
        return out;
      }
      if (len === 0) return [];
      const w = widthForSize(len);
      if (len < w) throw corrupt('GVariant array too small');
      const lastEnd = readUIntLE(b, end - w, w);
      if (lastEnd > len - w) throw corrupt('GVariant array framing offset out of range');
      const tableLen = len - lastEnd;
      if (tableLen % w !== 0) throw corrupt('GVariant array offset table misaligned');
      const n = tableLen / w;
      const out: unknown[] = [];
      let prev = 0;
      for (let i = 0; i < n; i++) {
        const e = readUIntLE(b, start + lastEnd + i * w, w);
        const s = alignUp(prev, t.elem.align);
        if (e < s || e > lastEnd) throw corrupt('GVariant array framing offsets are not increasing');
        out.push(decode(t.elem, b, start + s, start + e, depth + 1));
        prev = e;
      }
      return out;
    }
    case 'tuple': {
      if (t.members.length === 0) {
        if (len !== 1) throw corrupt('GVariant unit tuple has wrong size');
        return [];
      }
      if (t.size !== null && len !== t.size) throw corrupt(`GVariant tuple '${t.str}' has size ${len}, expected ${t.size}`);
      const w = t.size !== null ? 0 : widthForSize(len);
      const out: unknown[] = [];
      let pos = 0;
      let k = 0;
      t.members.forEach((m, i) => {
        pos = alignUp(pos, m.align);
        let mEnd: number;
        if (m.size !== null) {
          mEnd = pos + m.size;
        } else if (i === t.members.length - 1) {
          mEnd = len - k * w;
        } else {
          k++;
          if (w === 0 || k * w > len) throw corrupt('GVariant tuple framing offsets out of range');
          mEnd = readUIntLE(b, end - k * w, w);
        }
        if (pos > mEnd || mEnd > len - k * w) throw corrupt(`GVariant tuple '${t.str}' member ${i} out of range`);
        out.push(decode(m, b, start + pos, start + mEnd, depth + 1));
        pos = mEnd;
      });
      return out;
    }
  }
}

function isUtf8(b: Buffer): boolean {
  // Fast path for ASCII.
  for (let i = 0; i < b.length; i++) if (b[i] >= 0x80) return Buffer.from(b.toString('utf8'), 'utf8').equals(b);
  return true;
}

/** True when `data` is `type`'s canonical (normal-form) serialisation. */
export function isNormalForm(type: string | GVType, data: Buffer): boolean {
  try {
    const v = deserialize(type, data);
    return serialize(type, v).equals(data);
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------- helpers

/** Build a variant. */
export function variant(type: string, value: unknown): Variant {
  return { type, value };
}

/** Look up a key in a decoded a{sv}. */
export function lookup(dict: Array<[string, Variant]>, key: string): Variant | undefined {
  for (const [k, v] of dict) if (k === key) return v;
  return undefined;
}

/** Byte-swap helpers for ostree's "canonical" big-endian integers stored in u/t slots. */
export function bswap32(v: number): number {
  return (((v & 0xff) << 24) | ((v & 0xff00) << 8) | ((v >>> 8) & 0xff00) | (v >>> 24)) >>> 0;
}

export function bswap64(v: bigint): bigint {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(v);
  return b.readBigUInt64BE();
}
