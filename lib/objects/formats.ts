// Object models: pure codecs for ostree's metadata objects and the content
// object header. Mirrors ostree-core.h / ostree-core.c (FORMATS.md §2).
import { serialize, deserialize, isNormalForm, bswap32, bswap64, Variant, corrupt } from '../gvariant/codec';
import { OstreeError } from '../errors';
import { sha256HexSmall, SMALL_MAX } from '../sha256';

/** (uuua(ayay)): uid, gid, mode (all big-endian), xattrs. */
export const DIRMETA_TYPE = '(uuua(ayay))';
/** (a(say)a(sayay)): files (name, content csum), dirs (name, dirtree csum, dirmeta csum). */
export const DIRTREE_TYPE = '(a(say)a(sayay))';
/** (a{sv}aya(say)sstayay): metadata, parent, related, subject, body, timestamp (BE), root tree, root meta. */
export const COMMIT_TYPE = '(a{sv}aya(say)sstayay)';
/** Detached metadata, tombstones. */
export const COMMITMETA_TYPE = 'a{sv}';
/** (uuuusa(ayay)): uid, gid, mode (BE), rdev, symlink target, xattrs — the content object header. */
export const FILE_HEADER_TYPE = '(uuuusa(ayay))';
/** (tuuuusa(ayay)): the archive (.filez) header: size (BE) then the file header fields. */
export const ZLIB_FILE_HEADER_TYPE = '(tuuuusa(ayay))';

export const ObjectType = {
  File: 1,
  DirTree: 2,
  DirMeta: 3,
  Commit: 4,
  TombstoneCommit: 5,
  CommitMeta: 6,
  PayloadLink: 7,
} as const;
export type ObjectType = (typeof ObjectType)[keyof typeof ObjectType];

export const OBJECT_TYPE_NAMES: Record<number, string> = {
  1: 'file', 2: 'dirtree', 3: 'dirmeta', 4: 'commit', 5: 'tombstone-commit', 6: 'commitmeta', 7: 'payload-link',
};

export function objectTypeFromName(name: string): ObjectType {
  for (const [k, v] of Object.entries(OBJECT_TYPE_NAMES)) if (v === name) return Number(k) as ObjectType;
  throw new OstreeError('OSTREE_INVALID_ARGUMENT', `Invalid object type '${name}'`);
}

export function isMetaType(t: ObjectType): boolean {
  return t >= 2 && t <= 6;
}

/** Xattrs in canonical form: name (no NUL) -> value, sorted by name bytewise. */
export type Xattrs = Array<[string, Buffer]>;

export const S_IFMT = 0o170000;
export const S_IFDIR = 0o040000;
export const S_IFREG = 0o100000;
export const S_IFLNK = 0o120000;

export function isDir(mode: number): boolean {
  return (mode & S_IFMT) === S_IFDIR;
}
export function isReg(mode: number): boolean {
  return (mode & S_IFMT) === S_IFREG;
}
export function isLink(mode: number): boolean {
  return (mode & S_IFMT) === S_IFLNK;
}

const HEX64 = /^[0-9a-f]{64}$/;

export function isValidChecksum(s: string): boolean {
  return HEX64.test(s);
}

export function assertChecksum(s: string): void {
  if (!isValidChecksum(s)) throw new OstreeError('OSTREE_INVALID_CHECKSUM', `Invalid checksum of length ${s.length} expected 64`);
}

// node:crypto is loaded on first use (it costs ~8 ms of start-up), then kept;
// small inputs (a commit's ContentChecksum, most metadata) never load it.
let nodeCrypto: typeof import('node:crypto') | undefined;

export function sha256Hex(...parts: Buffer[]): string {
  let len = 0;
  for (const p of parts) len += p.length;
  if (len <= SMALL_MAX) return sha256HexSmall(parts);
  const h = (nodeCrypto ??= require('node:crypto') as typeof import('node:crypto')).createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest('hex');
}

export function csumToBytes(hex: string): Buffer {
  assertChecksum(hex);
  return Buffer.from(hex, 'hex');
}

export function csumFromBytes(b: Buffer, what = 'checksum'): string {
  if (b.length !== 32) throw corrupt(`Invalid ${what}: expected 32 bytes, got ${b.length}`);
  return b.toString('hex');
}

// ---------------------------------------------------------------- xattrs

function xattrsToGV(x: Xattrs): Array<[Buffer, Buffer]> {
  const sorted = [...x].sort((a, b) => Buffer.compare(Buffer.from(a[0]), Buffer.from(b[0])));
  return sorted.map(([n, v]) => [Buffer.concat([Buffer.from(n, 'utf8'), Buffer.from([0])]), v]);
}

function xattrsFromGV(raw: Array<[Buffer, Buffer]>): Xattrs {
  const out: Xattrs = [];
  let prev: Buffer | null = null;
  for (const [n, v] of raw) {
    if (n.length < 2 || n[n.length - 1] !== 0 || n.indexOf(0) !== n.length - 1) throw corrupt('Invalid xattr name');
    if (prev && Buffer.compare(prev, n) >= 0) throw corrupt('Xattrs are not sorted');
    prev = n;
    out.push([n.toString('utf8', 0, n.length - 1), Buffer.from(v)]);
  }
  return out;
}

// ---------------------------------------------------------------- dirmeta

export interface DirMeta {
  uid: number;
  gid: number;
  mode: number;
  xattrs: Xattrs;
}

export function serializeDirMeta(m: DirMeta): Buffer {
  return serialize(DIRMETA_TYPE, [bswap32(m.uid), bswap32(m.gid), bswap32(m.mode), xattrsToGV(m.xattrs)]);
}

export function parseDirMeta(b: Buffer): DirMeta {
  const [uid, gid, mode, x] = deserialize<[number, number, number, Array<[Buffer, Buffer]>]>(DIRMETA_TYPE, b);
  const m = { uid: bswap32(uid), gid: bswap32(gid), mode: bswap32(mode), xattrs: xattrsFromGV(x) };
  return m;
}

export function validateDirMeta(m: DirMeta): void {
  if (!isDir(m.mode)) throw corrupt(`Invalid directory metadata mode ${m.mode.toString(8)}; not a directory`);
  if (m.mode & ~(S_IFMT | 0o7777)) throw corrupt(`Invalid mode ${m.mode.toString(8)}; invalid bits in mode`);
}

// ---------------------------------------------------------------- dirtree

export interface DirTree {
  files: Array<[string, string]>; // name, content checksum
  dirs: Array<[string, string, string]>; // name, dirtree checksum, dirmeta checksum
}

function cmpName(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

export function serializeDirTree(t: DirTree): Buffer {
  const files = [...t.files].sort((a, b) => cmpName(a[0], b[0])).map(([n, c]) => [n, csumToBytes(c)]);
  const dirs = [...t.dirs].sort((a, b) => cmpName(a[0], b[0])).map(([n, c, m]) => [n, csumToBytes(c), csumToBytes(m)]);
  return serialize(DIRTREE_TYPE, [files, dirs]);
}

export function parseDirTree(b: Buffer): DirTree {
  const [files, dirs] = deserialize<[Array<[string, Buffer]>, Array<[string, Buffer, Buffer]>]>(DIRTREE_TYPE, b);
  return {
    files: files.map(([n, c]) => [n, csumFromBytes(c)]),
    dirs: dirs.map(([n, c, m]) => [n, csumFromBytes(c), csumFromBytes(m)]),
  };
}

/** FORMATS.md §11: names in a dirtree. */
export function validateFilename(name: string): void {
  if (name.length === 0) throw corrupt('Invalid empty filename');
  if (name === '.' || name === '..') throw corrupt(`Invalid special element '${name}' in filename`);
  if (name.includes('/')) throw corrupt(`Invalid / in filename ${name}`);
}

export function validateDirTree(t: DirTree): void {
  const seen = new Set<string>();
  let prev: string | null = null;
  for (const [n] of t.files) {
    validateFilename(n);
    if (prev !== null && cmpName(prev, n) >= 0) throw corrupt('Dirtree file entries are not sorted');
    prev = n;
    seen.add(n);
  }
  prev = null;
  for (const [n] of t.dirs) {
    validateFilename(n);
    if (prev !== null && cmpName(prev, n) >= 0) throw corrupt('Dirtree subdirectory entries are not sorted');
    prev = n;
    if (seen.has(n)) throw corrupt(`Dirtree names '${n}' both as a file and a directory`);
  }
}

// ---------------------------------------------------------------- commit

export type Metadata = Array<[string, Variant]>;

export interface Commit {
  metadata: Metadata;
  parent: string | null;
  related: Array<[string, string]>;
  subject: string;
  body: string;
  /** Seconds since the epoch (UTC). */
  timestamp: bigint;
  rootTree: string;
  rootMeta: string;
}

export function serializeCommit(c: Commit): Buffer {
  return serialize(COMMIT_TYPE, [
    c.metadata,
    c.parent ? csumToBytes(c.parent) : Buffer.alloc(0),
    c.related.map(([n, cs]) => [n, csumToBytes(cs)]),
    c.subject,
    c.body,
    bswap64(c.timestamp),
    csumToBytes(c.rootTree),
    csumToBytes(c.rootMeta),
  ]);
}

export function parseCommit(b: Buffer): Commit {
  const [metadata, parent, related, subject, body, ts, tree, meta] = deserialize<
    [Metadata, Buffer, Array<[string, Buffer]>, string, string, bigint, Buffer, Buffer]
  >(COMMIT_TYPE, b);
  for (const [k] of metadata) if (k.length === 0) throw corrupt('Empty metadata key');
  if (parent.length !== 0 && parent.length !== 32) throw corrupt('Invalid parent checksum length');
  return {
    metadata,
    parent: parent.length ? parent.toString('hex') : null,
    related: related.map(([n, c]) => [n, csumFromBytes(c)]),
    subject,
    body,
    timestamp: bswap64(ts),
    rootTree: csumFromBytes(tree, 'root tree checksum'),
    rootMeta: csumFromBytes(meta, 'root metadata checksum'),
  };
}

/**
 * The content checksum of a commit (ostree_commit_get_content_checksum):
 * SHA-256 over its root tree and root dirmeta checksums, equal for commits of
 * the same tree whatever their metadata.
 *
 * @example
 * import { commitContentChecksum, resolveRev } from 'node-ostree';
 * const a = await repo.readCommit((await resolveRev(repo, 'exampleos/stable'))!);
 * const b = await repo.readCommit((await resolveRev(repo, 'exampleos/testing'))!);
 * console.log(commitContentChecksum(a) === commitContentChecksum(b) ? 'same tree' : 'trees differ');
 */
export function commitContentChecksum(c: Commit): string {
  return sha256Hex(csumToBytes(c.rootTree), csumToBytes(c.rootMeta));
}

// ---------------------------------------------------------------- content objects

export interface FileHeader {
  uid: number;
  gid: number;
  mode: number;
  symlinkTarget: string; // "" for regular files
  xattrs: Xattrs;
}

export function serializeFileHeader(h: FileHeader): Buffer {
  return serialize(FILE_HEADER_TYPE, [bswap32(h.uid), bswap32(h.gid), bswap32(h.mode), 0, h.symlinkTarget, xattrsToGV(h.xattrs)]);
}

export function parseFileHeader(b: Buffer): FileHeader {
  const [uid, gid, mode, rdev, target, x] = deserialize<[number, number, number, number, string, Array<[Buffer, Buffer]>]>(FILE_HEADER_TYPE, b);
  if (rdev !== 0) throw corrupt(`Corrupted archive file; invalid rdev ${bswap32(rdev)}`);
  return { uid: bswap32(uid), gid: bswap32(gid), mode: bswap32(mode), symlinkTarget: target, xattrs: xattrsFromGV(x) };
}

export function validateFileMode(mode: number): void {
  if (!isReg(mode) && !isLink(mode)) throw corrupt(`Invalid file metadata mode ${mode.toString(8)}; not a valid file type`);
  if (mode & ~(S_IFMT | 0o7777)) throw corrupt(`Invalid mode ${mode.toString(8)}; invalid bits in mode`);
}

export function serializeZlibHeader(h: FileHeader, size: bigint): Buffer {
  return serialize(ZLIB_FILE_HEADER_TYPE, [bswap64(size), bswap32(h.uid), bswap32(h.gid), bswap32(h.mode), 0, h.symlinkTarget, xattrsToGV(h.xattrs)]);
}

export function parseZlibHeader(b: Buffer): FileHeader & { size: bigint } {
  const [size, uid, gid, mode, rdev, target, x] = deserialize<[bigint, number, number, number, number, string, Array<[Buffer, Buffer]>]>(
    ZLIB_FILE_HEADER_TYPE,
    b,
  );
  if (rdev !== 0) throw corrupt(`Corrupted archive file; invalid rdev ${bswap32(rdev)}`);
  return { size: bswap64(size), uid: bswap32(uid), gid: bswap32(gid), mode: bswap32(mode), symlinkTarget: target, xattrs: xattrsFromGV(x) };
}

/** u32be(len) ‖ 4 zero bytes: the prefix framing a header in an object stream. */
export function headerPrefix(headerLen: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeUInt32BE(headerLen, 0);
  return b;
}

/** Split a framed stream (file object stream or .filez) into header bytes and payload offset. */
export function splitFramedHeader(b: Buffer): { header: Buffer; payloadOffset: number } {
  if (b.length < 8) throw corrupt('File header too short');
  const len = b.readUInt32BE(0);
  if (8 + len > b.length) throw corrupt(`File header size ${len} exceeds size ${b.length}`);
  return { header: b.subarray(8, 8 + len), payloadOffset: 8 + len };
}

/** Checksum of a content object from its header and (whole) payload. */
export function contentChecksum(h: FileHeader, payload: Buffer): string {
  const hdr = serializeFileHeader(h);
  return sha256Hex(headerPrefix(hdr.length), hdr, payload);
}

/** bare-user `user.ostreemeta`: (uuua(ayay)) with uid, gid, full mode (BE), xattrs. */
export function serializeOstreeMeta(h: { uid: number; gid: number; mode: number; xattrs: Xattrs }): Buffer {
  return serialize(DIRMETA_TYPE, [bswap32(h.uid), bswap32(h.gid), bswap32(h.mode), xattrsToGV(h.xattrs)]);
}

export function parseOstreeMeta(b: Buffer): { uid: number; gid: number; mode: number; xattrs: Xattrs } {
  return parseDirMeta(b);
}

/** Canonical empty-directory dirtree checksum etc. are derived, never hard-coded. */
export function metadataChecksum(data: Buffer): string {
  return sha256Hex(data);
}

export function assertNormalForm(type: string, data: Buffer, what: string): void {
  if (!isNormalForm(type, data)) throw corrupt(`Invalid ${what}: not normal form`);
}

export function objectTypeOfMeta(t: ObjectType): string {
  switch (t) {
    case ObjectType.DirTree: return DIRTREE_TYPE;
    case ObjectType.DirMeta: return DIRMETA_TYPE;
    case ObjectType.Commit: return COMMIT_TYPE;
    default: return COMMITMETA_TYPE;
  }
}
