// Describing a static delta (`ostree static-delta show`,
// _ostree_repo_static_delta_dump): the superblock's fields, each part's
// header and a dry run of its operations, line for line as ostree prints
// them (FORMATS.md §9.12).
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { OstreeError, isErrno, throwAborted } from '../errors';
import type { Repo } from '../repo/repo';
import { isValidChecksum } from '../objects/formats';
import { deserialize } from '../gvariant/codec';
import { formatSize } from '../format-size';
import { describeErrno } from '../errors';
import { SUPERBLOCK_TYPE, deltaRelDir, parseSuperblock, unwrapSignedSuperblock, type Superblock, type FallbackObject } from './superblock';
import { executePart } from './part';

/** _ostree_parse_delta_name: "FROM-TO" or "TO", each a full checksum ("Invalid rev X" otherwise). */
export function parseDeltaId(name: string): { from: string | null; to: string } {
  const dash = name.indexOf('-');
  const first = dash < 0 ? name : name.slice(0, dash);
  const second = dash < 0 ? null : name.slice(dash + 1);
  for (const c of second === null ? [first] : [first, second]) {
    if (!isValidChecksum(c)) throw new OstreeError('OSTREE_INVALID_ARGUMENT', `Invalid rev ${c}`);
  }
  return second === null ? { from: null, to: first } : { from: first, to: second };
}

async function readAt(file: string, shown: string): Promise<Buffer> {
  try {
    return await fsp.readFile(file);
  } catch (err) {
    if (isErrno(err)) throw new OstreeError(err.code === 'ENOENT' ? 'OSTREE_NOT_FOUND' : 'OSTREE_IO', `openat(${shown}): ${describeErrno(err.code as string)}`, { cause: err });
    throw err;
  }
}

/** Fails as ostree's openat() would when `file` cannot be opened for reading. */
async function openable(file: string, shown: string): Promise<void> {
  try {
    await (await fsp.open(file, 'r')).close();
  } catch (err) {
    if (isErrno(err)) throw new OstreeError(err.code === 'ENOENT' ? 'OSTREE_NOT_FOUND' : 'OSTREE_IO', `openat(${shown}): ${describeErrno(err.code as string)}`, { cause: err });
    throw err;
  }
}

/**
 * The superblock bytes of a delta given by name, or by a path (anything
 * containing '/'), and whether it is signed.
 */
export async function readDeltaSuperblock(repo: Repo, id: string): Promise<{ bytes: Buffer; signed: boolean }> {
  let raw: Buffer;
  if (id.includes('/')) raw = await readAt(id, id);
  else {
    const { from, to } = parseDeltaId(id);
    const rel = `${deltaRelDir(from, to)}/superblock`;
    raw = await readAt(path.join(repo.path, rel), rel);
  }
  const signed = unwrapSignedSuperblock(raw);
  return signed ? { bytes: signed.superblock, signed: true } : { bytes: raw, signed: false };
}

const u64 = (n: bigint) => BigInt.asUintN(64, n);
const sized = (n: bigint) => `${n} (${formatSize(n)})`;

/** What `static-delta show` reports about one part. */
export interface DeltaPartInfo {
  /** Objects the part creates. */
  objects: number;
  /** Size of the part file (compressed), and the sum of the sizes of its objects. */
  size: bigint;
  usize: bigint;
  /** Modes, xattr sets, blob bytes and op bytes in its payload. */
  nmodes: number;
  nxattrs: number;
  blobsize: number;
  opsize: number;
  /** Operations by kind. */
  ops: { openSpliceClose: number; open: number; write: number; setRead: number; unsetRead: number; close: number; bspatch: number };
}

/** A delta's description, as `static-delta show` prints it. */
export interface DeltaInfo {
  /** The name it was asked by (FROM-TO, TO, or a superblock path). */
  id: string;
  signed: boolean;
  from: string | null;
  to: string;
  endianness: Superblock['endianness'];
  endiannessGuessed: boolean;
  /** Generation time, seconds since the epoch. */
  timestamp: bigint;
  /** Commits the superblock lists as parents of the target. */
  parents: number;
  fallbacks: FallbackObject[];
  parts: DeltaPartInfo[];
}

async function deltaHeader(repo: Repo, id: string): Promise<{ sb: Superblock; signed: boolean; parents: number }> {
  const { bytes, signed } = await readDeltaSuperblock(repo, id);
  const sb = parseSuperblock(bytes);
  const recurse = deserialize<unknown[]>(SUPERBLOCK_TYPE, bytes)[5] as Buffer;
  return { sb, signed, parents: Math.floor(recurse.length / 64) };
}

/** Part i's payload statistics, read from the repository's deltas/ directory (as ostree does). */
async function partInfo(repo: Repo, sb: Superblock, i: number): Promise<DeltaPartInfo> {
  const p = sb.parts[i];
  const rel = `${deltaRelDir(sb.from, sb.to)}/${i}`;
  const file = path.join(repo.path, rel);
  await openable(file, rel);
  const s = await executePart(repo, file, p, { verifyChecksum: false, statsOnly: true });
  const o = s.ops;
  return {
    objects: p.objects.length,
    size: p.size,
    usize: p.usize,
    nmodes: s.nmodes,
    nxattrs: s.nxattrs,
    blobsize: s.blobsize,
    opsize: s.opsize,
    ops: { openSpliceClose: o[0], open: o[1], write: o[2], setRead: o[3], unsetRead: o[4], close: o[5], bspatch: o[6] },
  };
}

/**
 * Describe a static delta of `repo` (`ostree static-delta show`): its
 * superblock and, for each part, what its payload holds.
 *
 * @example
 * import { showDelta, resolveRev } from 'node-ostree';
 * const from = await resolveRev(repo, 'exampleos/stable^');
 * const to = await resolveRev(repo, 'exampleos/stable');
 * const info = await showDelta(repo, `${from}-${to}`);
 * console.log(info.parts.length, info.fallbacks.length);
 */
export async function showDelta(repo: Repo, id: string, opts: { signal?: AbortSignal } = {}): Promise<DeltaInfo> {
  throwAborted(opts.signal);
  const { sb, signed, parents } = await deltaHeader(repo, id);
  const parts: DeltaPartInfo[] = [];
  for (let i = 0; i < sb.parts.length; i++) {
    throwAborted(opts.signal);
    parts.push(await partInfo(repo, sb, i));
  }
  return { id, signed, from: sb.from, to: sb.to, endianness: sb.endianness, endiannessGuessed: !!sb.endiannessGuessed, timestamp: sb.timestamp, parents, fallbacks: sb.fallbacks, parts };
}

/**
 * Print a delta's description through `out` as ostree does, line by line,
 * so a failure part-way leaves what ostree would have printed.
 */
export async function printDelta(repo: Repo, id: string, out: (line: string) => void): Promise<void> {
  const { sb, signed, parents } = await deltaHeader(repo, id);
  out(`Delta: ${id}\n`);
  out(`Signed: ${signed ? 'yes' : 'no'}\n`);
  out(sb.from ? `From: ${sb.from}\n` : 'From <scratch>\n');
  out(`To: ${sb.to}\n`);
  const e = sb.endianness === 'invalid' ? 'invalid' : `${sb.endianness}${sb.endiannessGuessed ? ' (heuristic)' : ''}`;
  out(`Endianness: ${e}\n`);
  out(`Timestamp: ${sb.timestamp}\n`);
  out(`Number of parents: ${parents}\n`);
  out(`Number of fallback entries: ${sb.fallbacks.length}\n`);
  let fsize = 0n;
  let fusize = 0n;
  for (const f of sb.fallbacks) {
    out(`  ${f.checksum}\n`);
    fsize = u64(fsize + f.size);
    fusize = u64(fusize + f.usize);
  }
  out(`Total Fallback Size: ${sized(fsize)}\n`);
  out(`Total Fallback Uncompressed Size: ${sized(fusize)}\n`);
  out(`Number of parts: ${sb.parts.length}\n`);
  let size = 0n;
  let usize = 0n;
  for (let i = 0; i < sb.parts.length; i++) {
    const p = sb.parts[i];
    size = u64(size + p.size);
    usize = u64(usize + p.usize);
    out(`PartMeta${i}: nobjects=${p.objects.length} size=${p.size} usize=${p.usize}\n`);
    const s = await partInfo(repo, sb, i);
    out(`PartPayload${i}: nmodes=${s.nmodes} nxattrs=${s.nxattrs} blobsize=${s.blobsize} opsize=${s.opsize}\n`);
    const o = s.ops;
    out(`PartPayloadOps${i}: openspliceclose=${o.openSpliceClose} open=${o.open} write=${o.write} setread=${o.setRead} unsetread=${o.unsetRead} close=${o.close} bspatch=${o.bspatch}\n`);
  }
  out(`Total Part Size: ${sized(size)}\n`);
  out(`Total Part Uncompressed Size: ${sized(usize)}\n`);
  out(`Total Size: ${sized(u64(size + fsize))}\n`);
  out(`Total Uncompressed Size: ${sized(u64(usize + fusize))}\n`);
}
