// `--json` for scripts (refs, log, show, summary --view, remote list): one
// JSON document on stdout, with stable keys. Checksums are hex; times are
// both `timestamp` (seconds since the epoch, UTC) and `date` (ISO-8601, UTC);
// GVariant values become natural JSON (see variantToJson). The shapes are
// documented in README ("CLI: --json").
import type { OptionSpec } from './options';
import { UsageError } from './options';
import type { Ctx } from './context';
import type { Variant } from '../gvariant/codec';
import type { Commit, DirMeta, DirTree, FileHeader, Xattrs } from '../objects/formats';

export const JSON_OPTION: OptionSpec = {
  long: 'json',
  arg: 'none',
  description: 'Print the result as one JSON document (for scripts)',
  extension: true,
};

/** Print one JSON document (two-space indented, newline-terminated). */
export function printJson(ctx: Ctx, doc: unknown): void {
  ctx.out(JSON.stringify(doc, null, 2) + '\n');
}

/** Refuse --json with options that do something other than print (`--delete`, `--create`…). */
export function jsonConflicts(opts: Record<string, unknown>, names: string[]): void {
  for (const n of names) if (opts[n] !== undefined && opts[n] !== false) throw new UsageError(`--json cannot be used with --${n}`);
}

/** 64-bit integers: a number when exact, else a decimal string. */
function int64(v: bigint): number | string {
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v.toString();
}

/** Seconds since the epoch as ISO-8601 UTC ("2020-09-13T12:26:40Z"); null when out of Date's range. */
export function isoDate(secs: bigint | number): string | null {
  const ms = Number(secs) * 1000;
  if (!Number.isFinite(ms) || Math.abs(ms) > 8.64e15) return null;
  return new Date(ms).toISOString().replace('.000Z', 'Z');
}

/** `{ timestamp, date }` for a time in seconds. */
function when(secs: bigint): { timestamp: number | string; date: string | null } {
  return { timestamp: int64(secs), date: isoDate(secs) };
}

/**
 * A GVariant value as natural JSON: b → boolean; y n q i u h d → number;
 * x t → number (a decimal string beyond 2^53); s o g → string; ay → hex
 * string; a{sv} and other dictionaries with string keys → object; other
 * arrays and tuples → array; maybe → null or the value; v → its value.
 */
export function variantToJson(type: string, value: unknown): unknown {
  if (type === 'v') {
    const v = value as Variant;
    return variantToJson(v.type, v.value);
  }
  if (type === 'ay') return Buffer.from(value as Uint8Array).toString('hex');
  if (typeof value === 'bigint') return int64(value);
  if (type.startsWith('m')) return value === null ? null : variantToJson(type.slice(1), value);
  if (type.startsWith('a{')) {
    const [k, v] = splitDictEntry(type.slice(1));
    const entries = value as Array<[unknown, unknown]>;
    if ('sog'.includes(k)) return Object.fromEntries(entries.map(([key, val]) => [key, variantToJson(v, val)]));
    return entries.map(([key, val]) => [variantToJson(k, key), variantToJson(v, val)]);
  }
  if (type.startsWith('a')) return (value as unknown[]).map((e) => variantToJson(type.slice(1), e));
  if (type.startsWith('(')) {
    const members = splitTuple(type);
    return (value as unknown[]).map((e, i) => variantToJson(members[i], e));
  }
  return value;
}

/** The complete type at the start of `s`. */
function oneType(s: string): string {
  const c = s[0];
  if (c === 'a' || c === 'm') return c + oneType(s.slice(1));
  if (c === '(' || c === '{') {
    let i = 1;
    while (s[i] !== ')' && s[i] !== '}') i += oneType(s.slice(i)).length;
    return s.slice(0, i + 1);
  }
  return c;
}

function splitTuple(type: string): string[] {
  const out: string[] = [];
  for (let i = 1; i < type.length - 1; ) {
    const t = oneType(type.slice(i));
    out.push(t);
    i += t.length;
  }
  return out;
}

function splitDictEntry(type: string): [string, string] {
  const k = oneType(type.slice(1));
  return [k, oneType(type.slice(1 + k.length))];
}

/** An a{sv} as an object of natural JSON values (a later duplicate key wins). */
export function metadataToJson(meta: Array<[string, Variant]>): Record<string, unknown> {
  return Object.fromEntries(meta.map(([k, v]) => [k, variantToJson(v.type, v.value)]));
}

function xattrsToJson(x: Xattrs): Record<string, string> {
  return Object.fromEntries(x.map(([k, v]) => [k, v.toString('hex')]));
}

/** A commit object. */
export function commitToJson(checksum: string, c: Commit, contentChecksum: string) {
  const version = c.metadata.find(([k]) => k === 'version')?.[1];
  return {
    type: 'commit',
    checksum,
    parent: c.parent,
    contentChecksum,
    ...when(c.timestamp),
    version: version && version.type === 's' ? (version.value as string) : null,
    subject: c.subject,
    body: c.body,
    rootTree: c.rootTree,
    rootMeta: c.rootMeta,
    related: c.related.map(([name, cs]) => ({ name, checksum: cs })),
    metadata: metadataToJson(c.metadata),
  };
}

export function dirTreeToJson(checksum: string, t: DirTree) {
  return {
    type: 'dirtree',
    checksum,
    files: t.files.map(([name, cs]) => ({ name, checksum: cs })),
    dirs: t.dirs.map(([name, tree, meta]) => ({ name, dirtree: tree, dirmeta: meta })),
  };
}

export function dirMetaToJson(checksum: string, m: DirMeta) {
  return { type: 'dirmeta', checksum, uid: m.uid, gid: m.gid, mode: m.mode, xattrs: xattrsToJson(m.xattrs) };
}

export function fileToJson(checksum: string, h: FileHeader, size: number) {
  const symlink = (h.mode & 0o170000) === 0o120000;
  return {
    type: 'file',
    checksum,
    kind: symlink ? 'symlink' : 'regular',
    size,
    uid: h.uid,
    gid: h.gid,
    mode: h.mode,
    symlinkTarget: symlink ? h.symlinkTarget : null,
    xattrs: xattrsToJson(h.xattrs),
  };
}

/** Summary metadata keys ostree stores as big-endian uint64 seconds. */
const BE_TIMES = new Set(['ostree.summary.last-modified', 'ostree.summary.expires', 'ostree.commit.timestamp']);

function beU64(v: bigint): bigint {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(v);
  return b.readBigUInt64BE();
}

/** Summary (or summary ref) metadata: like metadataToJson, with the big-endian times as seconds. */
export function summaryMetadataToJson(meta: Array<[string, Variant]>): Record<string, unknown> {
  return Object.fromEntries(
    meta
      .filter(([k]) => k !== 'ostree.summary.collection-map')
      .map(([k, v]) => [k, BE_TIMES.has(k) && v.type === 't' ? int64(beU64(v.value as bigint)) : variantToJson(v.type, v.value)]),
  );
}

/** One ref of a summary: name, collection, checksum, commit size, and time/version when the summary has them. */
export function summaryRefToJson(r: { name: string; checksum: string; size: bigint; metadata: Array<[string, Variant]> }, collectionId: string | null) {
  const ts = r.metadata.find(([k]) => k === 'ostree.commit.timestamp')?.[1];
  const version = r.metadata.find(([k]) => k === 'ostree.commit.version')?.[1];
  const secs = ts && ts.type === 't' ? beU64(ts.value as bigint) : null;
  return {
    name: r.name,
    collectionId,
    checksum: r.checksum,
    size: int64(r.size),
    timestamp: secs === null ? null : int64(secs),
    date: secs === null ? null : isoDate(secs),
    version: version && version.type === 's' ? (version.value as string) : null,
    metadata: summaryMetadataToJson(r.metadata),
  };
}
