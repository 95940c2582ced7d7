// Static delta naming and the superblock (FORMATS.md §8.1–§8.3): the
// descriptor of a delta F→T (or from scratch → T), holding the target
// commit, its part headers and fallback objects. Parsing bounds-checks every
// length; nothing here touches the filesystem.
import { OstreeError } from '../errors';
import { serialize, deserialize, bswap32, bswap64, lookup, Variant } from '../gvariant/codec';
import { COMMIT_TYPE, Metadata, ObjectType, csumToBytes, isValidChecksum, sha256Hex } from '../objects/formats';

export const SUPERBLOCK_TYPE = '(a{sv}tayay(a{sv}aya(say)sstayay)aya(uayttay)a(yaytt))';
/** A signed superblock: magic, the plain superblock bytes, signatures by sign type. */
export const SIGNED_SUPERBLOCK_TYPE = '(taya{sv})';
export const SIGNED_MAGIC = 0x4f535453474e4454n; // "OSTSGNDT"
/** ostree caps a superblock fetched by pull at 10 MiB. */
export const MAX_SUPERBLOCK_SIZE = 10 * 1024 * 1024;
/** An object record in a part header: type byte + 32-byte checksum. */
const OBJ_RECORD = 33;

/** 'invalid': an unknown ostree.endianness value, or no key and nothing suggesting swapped sizes (read in host order, as ostree does). */
export type Endianness = 'little' | 'big' | 'invalid';
export const HOST_ENDIANNESS: Endianness = 'little';

export interface PartHeader {
  version: number;
  /** SHA-256 of the part file (compression byte + payload). */
  checksum: string;
  /** Length of the part file. */
  size: bigint;
  /** Sum of the object sizes the part creates (symlinks count 0). */
  usize: bigint;
  /** The objects the part creates, in execution order. */
  objects: Array<{ type: ObjectType; checksum: string }>;
}

export interface FallbackObject {
  type: ObjectType;
  checksum: string;
  /** Stored size of the object in the generating repo. */
  size: bigint;
  /** Its data size. */
  usize: bigint;
}

export interface Superblock {
  metadata: Metadata;
  /** Generation time, seconds since the epoch. */
  timestamp: bigint;
  from: string | null;
  to: string;
  /** The target commit object, exactly as it is stored. */
  commit: Buffer;
  parts: PartHeader[];
  fallbacks: FallbackObject[];
  /** Integer order of the part and fallback sizes (ostree.endianness, or guessed for old deltas). */
  endianness: Endianness;
  /** The order was guessed: the superblock has no ostree.endianness (deltas from before 2016). */
  endiannessGuessed?: boolean;
}

function corrupt(msg: string): OstreeError {
  return new OstreeError('OSTREE_CORRUPT_OBJECT', msg);
}

// ---------------------------------------------------------------- names

/** ostree's modified base64 of a checksum: no padding, '/' → '_'. */
export function checksumToB64(checksum: string): string {
  return csumToBytes(checksum).toString('base64').replace(/=+$/, '').replace(/\//g, '_');
}

export function checksumFromB64(s: string): string {
  if (!/^[A-Za-z0-9+_]{43}$/.test(s)) throw new OstreeError('OSTREE_INVALID_CHECKSUM', `Invalid modified base64 checksum '${s}'`);
  const b = Buffer.from(s.replace(/_/g, '/') + '=', 'base64');
  if (b.length !== 32) throw new OstreeError('OSTREE_INVALID_CHECKSUM', `Invalid modified base64 checksum '${s}'`);
  return b.toString('hex');
}

/** A delta's name: "FROM-TO", or "TO" from scratch. */
export function deltaName(from: string | null, to: string): string {
  return from ? `${from}-${to}` : to;
}

/** Split a delta name into its commits (throws on anything else). */
export function parseDeltaName(name: string): { from: string | null; to: string } {
  const dash = name.indexOf('-');
  const from = dash < 0 ? null : name.slice(0, dash);
  const to = dash < 0 ? name : name.slice(dash + 1);
  if ((from !== null && !isValidChecksum(from)) || !isValidChecksum(to)) {
    throw new OstreeError('OSTREE_INVALID_ARGUMENT', `Invalid static delta name '${name}'`);
  }
  return { from, to };
}

/** The delta's directory relative to the repo: deltas/XX/REST[-TO]. */
export function deltaRelDir(from: string | null, to: string): string {
  if (from) {
    const f = checksumToB64(from);
    return `deltas/${f.slice(0, 2)}/${f.slice(2)}-${checksumToB64(to)}`;
  }
  const t = checksumToB64(to);
  return `deltas/${t.slice(0, 2)}/${t.slice(2)}`;
}

/** The delta named by a directory below deltas/ (XX, REST), or null when the name is not one. */
export function deltaFromRelDir(prefix: string, rest: string): { from: string | null; to: string } | null {
  try {
    const dash = rest.indexOf('-');
    if (dash < 0) return { from: null, to: checksumFromB64(prefix + rest) };
    return { from: checksumFromB64(prefix + rest.slice(0, dash)), to: checksumFromB64(rest.slice(dash + 1)) };
  } catch {
    return null;
  }
}

/** delta-indexes/XX/REST.index for deltas ending at `to`. */
export function deltaIndexRelPath(to: string): string {
  const t = checksumToB64(to);
  return `delta-indexes/${t.slice(0, 2)}/${t.slice(2)}.index`;
}

// ---------------------------------------------------------------- superblock

type RawPartHeader = [number, Buffer, bigint, bigint, Buffer];
type RawFallback = [number, Buffer, bigint, bigint];
type RawSuperblock = [Metadata, bigint, Buffer, Buffer, unknown[], Buffer, RawPartHeader[], RawFallback[]];

function objectType(t: number, what: string): ObjectType {
  if (!Number.isInteger(t) || t < ObjectType.File || t > ObjectType.CommitMeta) throw corrupt(`Invalid object type ${t} in ${what}`);
  return t as ObjectType;
}

function checksum32(b: Buffer, what: string): string {
  if (b.length !== 32) throw corrupt(`Invalid checksum of length ${b.length} expected 32 (${what})`);
  return b.toString('hex');
}

/**
 * Which order the part and fallback sizes are in, as ostree decides it:
 * ostree.endianness when present ('l', 'B', anything else "invalid"), else
 * its heuristic for deltas older than the key — a part more than 1.2× its
 * uncompressed size, or more than 2^32−1 bytes per object on average, means
 * swapped; otherwise "invalid" (read in host order).
 */
function detectEndianness(metadata: Metadata, parts: RawPartHeader[]): { endianness: Endianness; guessed: boolean } {
  const v = lookup(metadata, 'ostree.endianness');
  if (v && v.type === 'y') return { endianness: v.value === 0x6c ? 'little' : v.value === 0x42 ? 'big' : 'invalid', guessed: false };
  const swapped: Endianness = HOST_ENDIANNESS === 'little' ? 'big' : 'little';
  let total = 0n;
  let objects = 0n;
  for (const [, , size, usize, objs] of parts) {
    objects += BigInt(Math.floor(objs.length / OBJ_RECORD));
    total += size;
    if (size > usize && (usize === 0n || Number(size) / Number(usize) > 1.2)) return { endianness: swapped, guessed: true };
  }
  if (objects > 0n && (total & 0xffffffffffffffffn) / objects > 0xffffffffn) return { endianness: swapped, guessed: true };
  return { endianness: 'invalid', guessed: true };
}

/** Parse a plain (unsigned) superblock. */
export function parseSuperblock(bytes: Buffer): Superblock {
  let raw: RawSuperblock;
  try {
    raw = deserialize<RawSuperblock>(SUPERBLOCK_TYPE, bytes);
  } catch (err) {
    throw corrupt(`Invalid static delta superblock: ${(err as Error).message}`);
  }
  const [metadata, ts, fromB, toB, commitV, , rawParts, rawFallbacks] = raw;
  const to = checksum32(toB, 'to');
  const from = fromB.length === 0 ? null : checksum32(fromB, 'from');
  const { endianness, guessed: endiannessGuessed } = detectEndianness(metadata, rawParts);
  const swap = endianness !== HOST_ENDIANNESS && endianness !== 'invalid';
  const u32 = (v: number) => (swap ? bswap32(v) : v);
  const u64 = (v: bigint) => (swap ? bswap64(v) : v);
  const parts = rawParts.map(([version, csum, size, usize, objs], i): PartHeader => {
    if (objs.length % OBJ_RECORD !== 0) throw corrupt(`Invalid object list length ${objs.length} in delta part ${i}`);
    const objects: PartHeader['objects'] = [];
    // One hex conversion per part, not per record (parts list thousands of objects).
    const hex = objs.toString('hex');
    for (let o = 0; o < objs.length; o += OBJ_RECORD) {
      objects.push({ type: objectType(objs[o], `delta part ${i}`), checksum: hex.slice(2 * o + 2, 2 * (o + OBJ_RECORD)) });
    }
    return { version: u32(version), checksum: checksum32(csum, `delta part ${i}`), size: u64(size), usize: u64(usize), objects };
  });
  const fallbacks = rawFallbacks.map(([type, csum, size, usize]): FallbackObject => ({
    type: objectType(type, 'fallback'),
    checksum: checksum32(csum, 'fallback'),
    size: u64(size),
    usize: u64(usize),
  }));
  // The nested commit, as stored (the codec writes normal form: a non-normal one fails the checksum check).
  const commit = serialize(COMMIT_TYPE, commitV);
  if (sha256Hex(commit) !== to) throw corrupt(`Static delta superblock: the embedded commit does not match ${to}`);
  return { metadata, timestamp: bswap64(ts), from, to, commit, parts, fallbacks, endianness, endiannessGuessed };
}

/** Serialize a superblock; `endianness` picks the order of part and fallback sizes. */
export function serializeSuperblock(sb: Superblock): Buffer {
  const swap = sb.endianness !== HOST_ENDIANNESS && sb.endianness !== 'invalid';
  const u32 = (v: number) => (swap ? bswap32(v) : v);
  const u64 = (v: bigint) => (swap ? bswap64(v) : v);
  const parts = sb.parts.map((p) => [
    u32(p.version),
    csumToBytes(p.checksum),
    u64(p.size),
    u64(p.usize),
    Buffer.concat(p.objects.map((o) => Buffer.concat([Buffer.from([o.type]), csumToBytes(o.checksum)]))),
  ]);
  const fallbacks = sb.fallbacks.map((f) => [f.type, csumToBytes(f.checksum), u64(f.size), u64(f.usize)]);
  return serialize(SUPERBLOCK_TYPE, [
    sb.metadata,
    bswap64(sb.timestamp),
    sb.from ? csumToBytes(sb.from) : Buffer.alloc(0),
    csumToBytes(sb.to),
    deserialize(COMMIT_TYPE, sb.commit),
    Buffer.alloc(0),
    parts,
    fallbacks,
  ]);
}

// ---------------------------------------------------------------- signed form

export interface SignedSuperblock {
  /** The plain superblock bytes that were signed. */
  superblock: Buffer;
  /** Sign-type metadata keys (ostree.sign.*) → signatures. */
  signatures: Array<[string, Buffer[]]>;
}

/** The signed wrapper when `bytes` is one (magic and an ostree.sign.* key), else null. */
export function unwrapSignedSuperblock(bytes: Buffer): SignedSuperblock | null {
  let v: [bigint, Buffer, Array<[string, Variant]>];
  try {
    v = deserialize(SIGNED_SUPERBLOCK_TYPE, bytes);
  } catch {
    return null;
  }
  if (bswap64(v[0]) !== SIGNED_MAGIC) return null;
  const signatures: Array<[string, Buffer[]]> = [];
  for (const [k, sv] of v[2]) if (k.startsWith('ostree.sign.') && sv.type === 'aay') signatures.push([k, sv.value as Buffer[]]);
  if (signatures.length === 0) return null;
  return { superblock: Buffer.from(v[1]), signatures };
}

export function wrapSignedSuperblock(superblock: Buffer, signatures: Array<[string, Buffer[]]>): Buffer {
  return serialize(SIGNED_SUPERBLOCK_TYPE, [bswap64(SIGNED_MAGIC), superblock, signatures.map(([k, sigs]) => [k, { type: 'aay', value: sigs }])]);
}

// ---------------------------------------------------------------- metadata keys

/** The superblock metadata key of an inline part or of the target's detached metadata. */
export function inlinePartKey(from: string | null, to: string, part: number | 'commitmeta'): string {
  return `${deltaRelDir(from, to)}/${part}`;
}

/** An inline part's bytes (the part file: compression byte + payload), or null. */
export function inlinePart(sb: Superblock, index: number): Buffer | null {
  const v = lookup(sb.metadata, inlinePartKey(sb.from, sb.to, index));
  if (!v) return null;
  if (v.type !== '(yay)') throw corrupt(`Invalid inline delta part ${index}: type ${v.type}`);
  const [c, payload] = v.value as [number, Buffer];
  return Buffer.concat([Buffer.from([c]), payload]);
}

/** The target's detached metadata carried by the superblock, or null. */
export function superblockCommitMeta(sb: Superblock): Metadata | null {
  const v = lookup(sb.metadata, inlinePartKey(sb.from, sb.to, 'commitmeta'));
  if (!v) return null;
  if (v.type !== 'a{sv}') throw corrupt(`Invalid detached metadata in static delta: type ${v.type}`);
  return v.value as Metadata;
}
