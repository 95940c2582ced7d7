// What pulls from a remote (lib/pull/pull.ts, including its local cache
// repos) and pull-local (lib/pull-local.ts) share: the transaction wrapper
// with the --disable-fsync override, the file-mode policy for bare-user-only
// (FORMATS.md §3.3), and importing content objects from another local
// repository of any mode (FORMATS.md §7.7).
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { promisify } from 'node:util';
import { OstreeError, isErrno } from '../errors';
import { Repo, tmpName } from '../repo/repo';
import { Transaction, ContentSource, mapLimit, linkNoReplace, withTransaction } from '../repo/transaction';
import { ObjectType, FileHeader, isLink, isReg, S_IFMT, validateFileMode, splitFramedHeader, parseZlibHeader, contentChecksum } from '../objects/formats';
import { native } from '../binding';
import { contentChecksumOptions } from '../fsck';

const inflateRaw = promisify(zlib.inflateRaw);

/**
 * Run `fn` in a transaction that is committed when it returns and aborted
 * when it throws; with `disableFsync`, that transaction does not sync.
 */
export async function withPullTransaction<T>(repo: Repo, opts: { disableFsync?: boolean; signal?: AbortSignal }, fn: (tx: Transaction) => Promise<T>): Promise<T> {
  return withTransaction(repo, fn, { signal: opts.signal, fsync: opts.disableFsync ? false : undefined });
}

/**
 * The mode checks applied to every content object entering `repo` by a
 * pull: a valid file type, and for regular files no bits outside 0775 when
 * `bareuseronlyFiles` is asked for (ostree's wording) or the destination is
 * a bare-user-only repo (then worded as the write failure ostree reports).
 */
export function checkContentMode(repo: Repo, checksum: string, mode: number, bareuseronlyFiles?: boolean): void {
  validateFileMode(mode);
  if (!isReg(mode) || (!bareuseronlyFiles && repo.mode !== 'bare-user-only')) return;
  const bad = mode & ~S_IFMT & ~0o775;
  if (!bad) return;
  const msg = `Content object ${checksum}: invalid mode 0${mode.toString(8).padStart(4, '0')} with bits 0${bad.toString(8).padStart(4, '0')}`;
  throw new OstreeError('OSTREE_INVALID_ARGUMENT', bareuseronlyFiles ? msg : `Writing content object: ${msg}`, { data: { checksum, mode, bits: bad } });
}

/** A source content object, inspected (and checksummed) for re-encoding. */
interface Inspected {
  checksum: string;
  actual: string;
  header: FileHeader;
  size: number;
  /** Archive sources: the inflated payload. */
  payload?: Buffer;
  /** Bare sources: the object file holding the payload. */
  path?: string;
}

/** Read one archive object: header, payload, and the checksum of what is stored. */
async function inspectArchive(src: Repo, checksum: string): Promise<Inspected> {
  const raw = await fsp.readFile(src.objectPath(checksum, ObjectType.File));
  const { header, payloadOffset } = splitFramedHeader(raw);
  const { size, ...h } = parseZlibHeader(header);
  let payload = Buffer.alloc(0);
  if (!isLink(h.mode)) {
    payload = await inflateRaw(raw.subarray(payloadOffset));
    if (BigInt(payload.length) !== size) {
      throw new OstreeError('OSTREE_CORRUPT_OBJECT', `Corrupted file object ${checksum}; size ${payload.length} does not match header ${size}`);
    }
  }
  return { checksum, actual: contentChecksum(h, payload), header: h, size: payload.length, payload };
}

/** Inspect a batch of source objects: one native call for bare sources. */
async function inspectBatch(src: Repo, checksums: string[]): Promise<Inspected[]> {
  if (src.mode === 'archive') return mapLimit(checksums, 8, (c) => inspectArchive(src, c));
  const paths = checksums.map((c) => src.objectPath(c, ObjectType.File));
  const rs = await native().checksum_files(paths, contentChecksumOptions(src));
  return rs.map((r, i) => ({
    checksum: checksums[i],
    actual: r.checksum,
    header: { uid: r.uid, gid: r.gid, mode: r.mode, symlinkTarget: r.symlinkTarget ?? '', xattrs: r.xattrs },
    size: isLink(r.mode) ? 0 : r.size,
    path: paths[i],
  }));
}

function checkInspected(repo: Repo, o: Inspected, bareuseronlyFiles?: boolean): void {
  validateFileMode(o.header.mode);
  if (o.actual !== o.checksum) {
    throw new OstreeError('OSTREE_CORRUPT_OBJECT', `Corrupted file object; checksum expected='${o.checksum}' actual='${o.actual}'`, {
      data: { checksum: o.checksum },
    });
  }
  checkContentMode(repo, o.checksum, o.header.mode, bareuseronlyFiles);
}

/**
 * Same repo mode: the stored representation is valid as it is. Hardlink it
 * (objects are immutable), or for archive objects copy the bytes. Returns
 * false when the object has to be re-encoded instead (a bare object on
 * another filesystem needs its owner/xattrs recreated).
 */
async function copyAsIs(repo: Repo, src: Repo, checksum: string): Promise<boolean> {
  const from = src.objectPath(checksum, ObjectType.File);
  const to = repo.objectPath(checksum, ObjectType.File);
  await fsp.mkdir(path.dirname(to), { recursive: true });
  try {
    await fsp.link(from, to);
    return true;
  } catch (err) {
    if (isErrno(err, 'EEXIST')) return true;
    if (!isErrno(err, 'EXDEV') && !isErrno(err, 'EMLINK') && !isErrno(err, 'EPERM')) throw err;
  }
  if (repo.mode !== 'archive') return false;
  const tmp = path.join(repo.path, 'tmp', tmpName('import'));
  await fsp.copyFile(from, tmp);
  await linkNoReplace(tmp, to);
  return true;
}

export interface ImportContentOptions {
  /** Re-checksum objects even when they are copied as they are. */
  untrusted?: boolean;
  bareuseronlyFiles?: boolean;
  /** Always write a new copy (no hardlinks into the source), counting its bytes as written. */
  rewrite?: boolean;
}

/**
 * Copy content objects `batch` (all present in `src`) into `repo` within
 * `tx`: same-mode objects as they are (hardlink, else copy), others
 * re-encoded for the destination's mode. Everything re-encoded is
 * checksummed, same-mode copies only with `untrusted` or `bareuseronlyFiles`
 * (and a bare-user-only destination). Returns how many objects were imported
 * and the payload bytes written for re-encoded ones (ostree's "content
 * written"; hardlinks count 0).
 */
export async function importContentFromRepo(tx: Transaction, repo: Repo, src: Repo, batch: string[], opts: ImportContentOptions = {}): Promise<{ imported: number; bytesWritten: number }> {
  const sameMode = src.mode === repo.mode && !opts.rewrite;
  const verify = !sameMode || opts.untrusted || opts.bareuseronlyFiles;
  const inspected = verify ? await inspectBatch(src, batch) : null;
  if (inspected) for (const o of inspected) checkInspected(repo, o, opts.bareuseronlyFiles);
  let imported = 0;
  let bytesWritten = 0;

  const reencode: string[] = [];
  if (sameMode) {
    for (const c of batch) {
      if (await copyAsIs(repo, src, c)) imported++;
      else reencode.push(c);
    }
    if (reencode.length === 0) return { imported, bytesWritten };
  } else {
    reencode.push(...batch);
  }
  const objs = inspected ? inspected.filter((o) => reencode.includes(o.checksum)) : await inspectBatch(src, reencode);
  if (!inspected) for (const o of objs) checkInspected(repo, o, opts.bareuseronlyFiles);
  const sources: ContentSource[] = objs.map((o) => ({ checksum: o.checksum, header: o.header, payload: o.payload, path: o.payload ? undefined : o.path }));
  await tx.writeContent(sources);
  imported += objs.length;
  if (!sameMode) for (const o of objs) bytesWritten += o.size;
  return { imported, bytesWritten };
}
