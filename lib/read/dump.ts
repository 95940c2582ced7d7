// Text renderings of repository objects, byte-identical to the `ostree` CLI's.
// Mirrors ot-dump.c (commit blocks, raw variant dumps) plus GLib's
// g_format_size(), which several read commands use.
import { Commit, FileHeader, OBJECT_TYPE_NAMES, ObjectType, commitContentChecksum, objectTypeOfMeta, parseCommit } from '../objects/formats';
import { deserialize } from '../gvariant/codec';
import { byteswapValue } from '../gvariant/byteswap';
import { printVariant } from '../gvariant/text';
import { OstreeError } from '../errors';
import { xattrsToVariantValue } from './repo-file';

/** Latest instant GLib's GDateTime can represent: 9999-12-31 23:59:59 UTC. */
const MAX_GDATETIME = 253402300799n;

/** Earliest instant GLib's GDateTime can represent: 0001-01-01 00:00:00 UTC. */
const MIN_GDATETIME = -62135596800n;

/**
 * `YYYY-MM-DD HH:MM:SS +0000` for a commit timestamp (seconds since the
 * epoch, UTC). As ostree passes the guint64 to g_date_time_new_from_unix_utc
 * (a gint64), a value past 2^63 is a date before 1970.
 */
export function formatCommitDate(timestamp: bigint): string {
  const ts = BigInt.asIntN(64, timestamp);
  if (ts > MAX_GDATETIME || ts < MIN_GDATETIME) {
    throw new OstreeError('OSTREE_CORRUPT_OBJECT', `Invalid timestamp: ${timestamp}`);
  }
  const d = new Date(Number(ts) * 1000);
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return (
    `${p(d.getUTCFullYear(), 4)}-${p(d.getUTCMonth() + 1)}-${p(d.getUTCDate())} ` +
    `${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} +0000`
  );
}

/** Each line of `text` prefixed by four spaces; a final unterminated line gains a newline. */
export function indentLines(text: string): string {
  let out = '';
  let rest = text;
  for (;;) {
    const nl = rest.indexOf('\n');
    if (nl >= 0) {
      out += '    ' + rest.slice(0, nl + 1);
      rest = rest.slice(nl + 1);
    } else {
      if (rest.length) out += '    ' + rest + '\n';
      return out;
    }
  }
}

/** The commit's `version` metadata string, if it has one of type `s`. */
export function commitVersion(c: Commit): string | null {
  for (const [k, v] of c.metadata) if (k === 'version') return v.type === 's' ? (v.value as string) : null;
  return null;
}

/** The body of `ostree log`/`ostree show` for one commit (after the `commit CSUM` line). */
export function formatCommitBody(c: Commit): string {
  // Strings are NUL-terminated in C: anything after an embedded NUL is not printed.
  const cstr = (s: string) => (s.includes('\0') ? s.slice(0, s.indexOf('\0')) : s);
  const subject = cstr(c.subject);
  const body = cstr(c.body);
  let out = '';
  if (c.parent) out += `Parent:  ${c.parent}\n`;
  out += `ContentChecksum:  ${commitContentChecksum(c)}\n`;
  out += `Date:  ${formatCommitDate(c.timestamp)}\n`;
  const version = commitVersion(c);
  if (version !== null) out += `Version: ${cstr(version)}\n`;
  out += subject ? '\n' + indentLines(subject) : '(no subject)\n';
  if (body) out += '\n' + indentLines(body);
  return out + '\n';
}

/** g_variant_print(g_variant_byteswap(v), TRUE) plus a newline (ot_dump_variant). */
export function dumpVariant(type: string, value: unknown): string {
  return printVariant(type, byteswapValue(type, value), true) + '\n';
}

export interface DumpOptions {
  /** Print the whole object as GVariant text instead of the summary (`--raw`). */
  raw?: boolean;
  /** Print the unswapped variant text before the summary (`--no-byteswap`). */
  noByteswap?: boolean;
}

/** `TYPE CSUM` then the object's rendering (ot_dump_object). */
export function dumpMetadataObject(type: ObjectType, checksum: string, data: Buffer, opts: DumpOptions = {}): string {
  let out = `${OBJECT_TYPE_NAMES[type]} ${checksum}\n`;
  const gvType = objectTypeOfMeta(type);
  if (opts.noByteswap) {
    out += printVariant(gvType, deserialize(gvType, data), true) + '\n';
  } else if (opts.raw) {
    return out + dumpVariant(gvType, deserialize(gvType, data));
  }
  if (type === ObjectType.Commit) {
    out += formatCommitBody(parseCommit(data));
  }
  return out;
}

export { formatSize } from '../format-size';

/** `ostree show` of a content object: type, size or target, mode, owner, xattrs. */
export function formatFileObject(checksum: string, header: FileHeader, size: number): string {
  let out = `Object: ${checksum}\nType: file\nFile Type: `;
  const fmt = header.mode & 0o170000;
  if (fmt === 0o100000) out += `regular\nSize: ${size}\n`;
  else if (fmt === 0o120000) out += `symlink\nTarget: ${header.symlinkTarget}\n`;
  out += `Mode: 0${header.mode.toString(8).padStart(4, '0')}\n`;
  out += `Uid: ${header.uid}\nGid: ${header.gid}\n`;
  out += `Extended Attributes: { ${printVariant('a(ayay)', xattrsToVariantValue(header.xattrs), true)} }\n`;
  return out;
}
