// Describing a static delta (`ostree static-delta show`,
// _ostree_repo_static_delta_dump): the superblock's fields, each part's
// header and a dry run of its operations, line for line as ostree prints
// them (FORMATS.md §9.12).
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { OstreeError, isErrno } from '../errors';
import type { Repo } from '../repo/repo';
import { isValidChecksum } from '../objects/formats';
import { deserialize } from '../gvariant/codec';
import { formatSize } from '../format-size';
import { describeErrno } from '../read/local-file';
import { SUPERBLOCK_TYPE, deltaRelDir, parseSuperblock, unwrapSignedSuperblock } from './superblock';
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

/**
 * Print a delta's description through `out` (line by line, so a failure
 * part-way leaves what ostree would have printed). Parts are always read
 * from the repository's deltas/ directory, as ostree does.
 */
export async function showDelta(repo: Repo, id: string, out: (line: string) => void): Promise<void> {
  const { bytes, signed } = await readDeltaSuperblock(repo, id);
  const sb = parseSuperblock(bytes);
  out(`Delta: ${id}\n`);
  out(`Signed: ${signed ? 'yes' : 'no'}\n`);
  out(sb.from ? `From: ${sb.from}\n` : 'From <scratch>\n');
  out(`To: ${sb.to}\n`);
  const e = sb.endianness === 'invalid' ? 'invalid' : `${sb.endianness}${sb.endiannessGuessed ? ' (heuristic)' : ''}`;
  out(`Endianness: ${e}\n`);
  out(`Timestamp: ${sb.timestamp}\n`);
  const recurse = deserialize<unknown[]>(SUPERBLOCK_TYPE, bytes)[5] as Buffer;
  out(`Number of parents: ${Math.floor(recurse.length / 64)}\n`);
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
    const rel = `${deltaRelDir(sb.from, sb.to)}/${i}`;
    const file = path.join(repo.path, rel);
    await openable(file, rel);
    const s = await executePart(repo, file, p, { verifyChecksum: false, statsOnly: true });
    out(`PartPayload${i}: nmodes=${s.nmodes} nxattrs=${s.nxattrs} blobsize=${s.blobsize} opsize=${s.opsize}\n`);
    const o = s.ops;
    out(`PartPayloadOps${i}: openspliceclose=${o[0]} open=${o[1]} write=${o[2]} setread=${o[3]} unsetread=${o[4]} close=${o[5]} bspatch=${o[6]}\n`);
  }
  out(`Total Part Size: ${sized(size)}\n`);
  out(`Total Part Uncompressed Size: ${sized(usize)}\n`);
  out(`Total Size: ${sized(u64(size + fsize))}\n`);
  out(`Total Uncompressed Size: ${sized(u64(usize + fusize))}\n`);
}
