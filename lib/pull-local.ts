// Copying commits between two local repositories (ostree pull-local: a pull
// from a file:// remote). Mirrors the local-import path of ostree-repo-pull.c
// (FORMATS.md §3.6, §7.6, §7.7): commits are written first with a
// .commitpartial marker, then dirtrees, dirmetas and content the destination
// lacks; the markers go once a full pull is complete. Metadata is always
// checksummed and structure-checked; content objects are re-checksummed
// whenever they are re-encoded for a different repo mode, and for same-mode
// copies (hardlinks) only with `untrusted`.
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { promisify } from 'node:util';
import { OstreeError, isErrno, throwAborted } from './errors';
import { Repo, tmpName } from './repo/repo';
import { Transaction, ContentSource, mapLimit, chunk, linkNoReplace } from './repo/transaction';
import { withRepoLock } from './lock';
import { listRefs, resolveRev } from './refs/refs';
import {
  ObjectType,
  FileHeader,
  isValidChecksum,
  isLink,
  isReg,
  S_IFMT,
  parseCommit,
  parseDirTree,
  parseDirMeta,
  validateDirTree,
  validateDirMeta,
  validateFileMode,
  splitFramedHeader,
  parseZlibHeader,
  contentChecksum,
} from './objects/formats';
import { native } from './binding';
import { markCommitPartial, clearCommitPartial, contentChecksumOptions } from './fsck';

const inflateRaw = promisify(zlib.inflateRaw);

const CONTENT_BATCH = 64;
const CONTENT_PARALLEL = 4;

export interface PullLocalProgress {
  phase: 'metadata' | 'content';
  loaded: number;
  total: number;
}

export interface PullLocalOptions {
  /** Parent commits to pull as well: 0 (default) none, -1 all. */
  depth?: number;
  /** Only this subtree (e.g. "/usr/bin"); the commit stays partial. */
  subpath?: string;
  /** Re-checksum content objects even when they are copied as they are. */
  untrusted?: boolean;
  /** Only the commit objects (and detached metadata); commits stay partial. */
  commitMetadataOnly?: boolean;
  /** Write refs/remotes/REMOTE/REF instead of local refs. */
  remote?: string;
  /** Reject regular files whose mode has bits outside 0775 (suid, o+w, …). */
  bareuseronlyFiles?: boolean;
  /** Skip fsync/syncfs for this pull (core.fsync=false for its duration). */
  disableFsync?: boolean;
  signal?: AbortSignal;
  onProgress?: (p: PullLocalProgress) => void;
}

export interface PullLocalResult {
  metadataImported: number;
  contentImported: number;
  /** Payload bytes written for re-encoded content (hardlinked/copied-as-is objects count 0, as in ostree). */
  contentBytesWritten: number;
  /** Refs written: refspec -> commit. */
  refs: Record<string, string>;
  /** Commits pulled (roots and parents), in the order visited. */
  commits: string[];
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

function splitSubpath(subpath: string | undefined): string[] {
  if (!subpath) return [];
  return subpath.split('/').filter((p) => p.length > 0);
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

function checkInspected(o: Inspected, opts: PullLocalOptions): void {
  validateFileMode(o.header.mode);
  if (o.actual !== o.checksum) {
    throw new OstreeError('OSTREE_CORRUPT_OBJECT', `Corrupted file object; checksum expected='${o.checksum}' actual='${o.actual}'`, {
      data: { checksum: o.checksum },
    });
  }
  if (opts.bareuseronlyFiles && isReg(o.header.mode)) {
    const bad = o.header.mode & ~S_IFMT & ~0o775;
    if (bad) {
      throw new OstreeError(
        'OSTREE_INVALID_ARGUMENT',
        `Content object ${o.checksum}: invalid mode 0${o.header.mode.toString(8).padStart(4, '0')} with bits 0${bad.toString(8).padStart(4, '0')}`,
      );
    }
  }
}

/**
 * Copy `refs` (all local refs of the source when empty) from the repository
 * at `srcPath` into `repo`, then point the refs at them, in one transaction.
 */
export async function pullLocal(repo: Repo, srcPath: string, refs: string[] = [], opts: PullLocalOptions = {}): Promise<PullLocalResult> {
  if (opts.depth !== undefined && (!Number.isInteger(opts.depth) || opts.depth < -1)) throw new RangeError(`Invalid depth ${opts.depth}`);
  let src: Repo;
  try {
    src = await Repo.open(srcPath);
  } catch (err) {
    if (err instanceof OstreeError && err.code === 'OSTREE_REPO_NOT_FOUND') {
      throw new OstreeError('OSTREE_REPO_NOT_FOUND', `opening repo: opendir(${path.resolve(srcPath)}): No such file or directory`, { cause: err });
    }
    throw err;
  }
  // Keep the source from being pruned under us.
  return withRepoLock(src, 'shared', () => pullLocked(repo, src, refs, opts), { signal: opts.signal });
}

async function pullLocked(repo: Repo, src: Repo, refArgs: string[], opts: PullLocalOptions): Promise<PullLocalResult> {
  const { signal } = opts;
  const result: PullLocalResult = { metadataImported: 0, contentImported: 0, contentBytesWritten: 0, refs: {}, commits: [] };
  const names = refArgs.length ? refArgs : (await listRefs(src)).filter((r) => r.remote === null).map((r) => r.name);

  // Resolve everything in the source before touching the destination.
  const roots: Array<{ ref: string | null; checksum: string }> = [];
  for (const name of names) {
    if (isValidChecksum(name)) roots.push({ ref: null, checksum: name });
    else roots.push({ ref: name, checksum: (await resolveRev(src, name)) as string });
  }

  const savedFsync = repo.config.get('core', 'fsync');
  if (opts.disableFsync) repo.config.set('core', 'fsync', 'false');
  try {
    const tx = await Transaction.begin(repo, { signal });
    try {
      await pullObjects(tx, repo, src, roots, opts, result);
      for (const r of roots) {
        if (!r.ref) continue;
        const spec = opts.remote ? `${opts.remote}:${r.ref}` : r.ref;
        tx.setRef(spec, r.checksum);
        result.refs[spec] = r.checksum;
      }
      await tx.commit();
    } catch (err) {
      await tx.abort();
      throw err;
    }
  } finally {
    if (opts.disableFsync) {
      if (savedFsync === undefined) repo.config.remove('core', 'fsync');
      else repo.config.set('core', 'fsync', savedFsync);
    }
  }
  // A full pull leaves every commit it touched complete.
  if (!opts.commitMetadataOnly && !opts.subpath) for (const c of result.commits) await clearCommitPartial(repo, c);
  return result;
}

async function pullObjects(
  tx: Transaction,
  repo: Repo,
  src: Repo,
  roots: Array<{ ref: string | null; checksum: string }>,
  opts: PullLocalOptions,
  result: PullLocalResult,
): Promise<void> {
  const { signal } = opts;
  const subpath = splitSubpath(opts.subpath);
  const seenCommits = new Set<string>();
  const seenMeta = new Set<string>();
  const wanted = new Set<string>();
  let scanned = 0;
  const progress = () => opts.onProgress?.({ phase: 'metadata', loaded: ++scanned, total: 0 });

  const copyMetadata = async (type: ObjectType, checksum: string, bytes: Buffer) => {
    if (await repo.hasObject(type, checksum, { includeParent: false })) return;
    await tx.writeMetadata(type, bytes, checksum);
    result.metadataImported++;
  };

  /** Load from the destination when present (a rescan), else from the source. */
  const loadMeta = async (type: ObjectType, checksum: string): Promise<{ bytes: Buffer; have: boolean }> => {
    const have = await repo.loadMetadata(type, checksum, { allowNoent: true });
    if (have) return { bytes: have, have: true };
    return { bytes: (await src.loadMetadata(type, checksum)) as Buffer, have: false };
  };

  const scanDirMeta = async (checksum: string) => {
    const key = `${checksum}.dirmeta`;
    if (seenMeta.has(key)) return;
    seenMeta.add(key);
    const { bytes, have } = await loadMeta(ObjectType.DirMeta, checksum);
    validateDirMeta(parseDirMeta(bytes));
    if (!have) await copyMetadata(ObjectType.DirMeta, checksum, bytes);
    progress();
  };

  const scanDirTree = async (checksum: string, depthInPath: number): Promise<void> => {
    const key = `${checksum}.dirtree:${Math.min(depthInPath, subpath.length)}`;
    if (seenMeta.has(key)) return;
    seenMeta.add(key);
    throwAborted(signal);
    const { bytes, have } = await loadMeta(ObjectType.DirTree, checksum);
    const tree = parseDirTree(bytes);
    validateDirTree(tree);
    if (!have) await copyMetadata(ObjectType.DirTree, checksum, bytes);
    progress();
    const inTarget = depthInPath >= subpath.length;
    if (inTarget) for (const [, c] of tree.files) wanted.add(c);
    for (const [name, sub, meta] of tree.dirs) {
      if (!inTarget && name !== subpath[depthInPath]) continue;
      await scanDirMeta(meta);
      await scanDirTree(sub, depthInPath + 1);
    }
  };

  const pullCommit = async (checksum: string, depth: number, isRoot: boolean) => {
    let csum: string | null = checksum;
    let left = depth;
    while (csum && !seenCommits.has(csum)) {
      seenCommits.add(csum);
      throwAborted(signal);
      const bytes = await src.loadMetadata(ObjectType.Commit, csum, { allowNoent: !isRoot });
      if (!bytes) break; // history the source never had
      isRoot = false;
      const commit = parseCommit(bytes);
      const had = await repo.hasObject(ObjectType.Commit, csum, { includeParent: false });
      const wasPartial = had && (await repo.isCommitPartial(csum));
      if (!had) {
        await markCommitPartial(repo, csum);
        await copyMetadata(ObjectType.Commit, csum, bytes);
      }
      const detached = await src.loadMetadata(ObjectType.CommitMeta, csum, { allowNoent: true });
      if (detached) await tx.writeCommitMeta(csum, detached);
      result.commits.push(csum);
      progress();
      if (!opts.commitMetadataOnly && (!had || wasPartial)) {
        await scanDirMeta(commit.rootMeta);
        await scanDirTree(commit.rootTree, 0);
      }
      if (left === 0) break;
      if (left > 0) left--;
      csum = commit.parent;
    }
  };

  for (const r of roots) await pullCommit(r.checksum, opts.depth ?? 0, true);

  // Content the destination lacks.
  const missing: string[] = [];
  for (const c of wanted) if (!(await repo.hasObject(ObjectType.File, c, { includeParent: false }))) missing.push(c);
  let copied = 0;
  await mapLimit(chunk(missing, CONTENT_BATCH), CONTENT_PARALLEL, async (batch) => {
    throwAborted(signal);
    await importContent(tx, repo, src, batch, opts, result);
    copied += batch.length;
    opts.onProgress?.({ phase: 'content', loaded: copied, total: missing.length });
  });
}

/** Copy a batch: same-mode objects as they are (hardlink, else copy), others re-encoded. */
async function importContent(tx: Transaction, repo: Repo, src: Repo, batch: string[], opts: PullLocalOptions, result: PullLocalResult): Promise<void> {
  const sameMode = src.mode === repo.mode;
  const verify = !sameMode || opts.untrusted || opts.bareuseronlyFiles;
  const inspected = verify ? await inspectBatch(src, batch) : null;
  if (inspected) for (const o of inspected) checkInspected(o, opts);

  const reencode: string[] = [];
  if (sameMode) {
    for (const c of batch) {
      if (await copyAsIs(repo, src, c)) result.contentImported++;
      else reencode.push(c);
    }
    if (reencode.length === 0) return;
  } else {
    reencode.push(...batch);
  }
  const objs = inspected ? inspected.filter((o) => reencode.includes(o.checksum)) : await inspectBatch(src, reencode);
  if (!inspected) for (const o of objs) checkInspected(o, opts);
  const sources: ContentSource[] = objs.map((o) => ({ checksum: o.checksum, header: o.header, payload: o.payload, path: o.payload ? undefined : o.path }));
  await tx.writeContent(sources);
  result.contentImported += objs.length;
  if (!sameMode) for (const o of objs) result.contentBytesWritten += o.size;
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
