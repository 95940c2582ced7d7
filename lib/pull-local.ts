// Copying commits between two local repositories (ostree pull-local: a pull
// from a file:// remote). Mirrors the local-import path of ostree-repo-pull.c
// (FORMATS.md §3.6, §7.6, §7.7): commits are written first with a
// .commitpartial marker, then dirtrees, dirmetas and content the destination
// lacks; the markers go once a full pull is complete. Metadata is always
// checksummed and structure-checked; content objects are re-checksummed
// whenever they are re-encoded for a different repo mode, and for same-mode
// copies (hardlinks) only with `untrusted`.
import * as path from 'node:path';
import { promises as fsp } from 'node:fs';
import { OstreeError, throwAborted, isErrno } from './errors';
import { Repo } from './repo/repo';
import { Transaction, mapLimit, chunk } from './repo/transaction';
import { withRepoLock } from './lock';
import { listRefs, resolveRev } from './refs/refs';
import { verifyBindings } from './refs/bindings';
import { ObjectType, sha256Hex, isValidChecksum, parseCommit, parseDirTree, parseDirMeta, validateDirTree, validateDirMeta } from './objects/formats';
import { markCommitPartial, clearCommitPartial } from './repo/commit-partial';
import type { Progress } from './progress';
import { withPullTransaction, importContentFromRepo } from './pull/common';
import { crashPoint } from './crash-point';

const CONTENT_BATCH = 64;
const CONTENT_PARALLEL = 4;

/** 'metadata' (objects scanned; total not known) → 'content' (objects copied, of those missing). */
export type PullLocalProgress = Progress<'metadata' | 'content'>;

export interface PullLocalOptions {
  /** The source repository: a path (or a Repo already open). */
  source: string | Repo;
  /** Refs or commits to copy; default: every local ref of the source. */
  refs?: string[];
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
  /** Skip fsync/syncfs for this pull (the repo configuration is unchanged). */
  disableFsync?: boolean;
  /**
   * Do not check that each commit is bound to the ref it is pulled by and,
   * when the source has a core.collection-id, to that collection.
   */
  disableVerifyBindings?: boolean;
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

function splitSubpath(subpath: string | undefined): string[] {
  if (!subpath) return [];
  return subpath.split('/').filter((p) => p.length > 0);
}

/**
 * `ostree pull-local`: copy `refs` (all local refs of the source when none
 * are given) from the repository `source` into `repo`, then point the refs at
 * them, in one transaction.
 *
 * @example
 * import { pullLocal } from 'node-ostree';
 * await pullLocal(repo, { source: '/var/cache/exampleos/repo', refs: ['exampleos/stable'] });
 */
export async function pullLocal(repo: Repo, opts: PullLocalOptions): Promise<PullLocalResult> {
  if (opts.depth !== undefined && (!Number.isInteger(opts.depth) || opts.depth < -1)) throw new RangeError(`Invalid depth ${opts.depth}`);
  const refs = opts.refs ?? [];
  const srcPath = typeof opts.source === 'string' ? opts.source : opts.source.path;
  let src: Repo;
  try {
    src = typeof opts.source === 'string' ? await Repo.open(srcPath) : opts.source;
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

  await withPullTransaction(repo, { disableFsync: opts.disableFsync, signal }, async (tx) => {
    await pullObjects(tx, repo, src, roots, opts, result);
    for (const r of roots) {
      if (!r.ref) continue;
      const spec = opts.remote ? `${opts.remote}:${r.ref}` : r.ref;
      tx.setRef(spec, r.checksum);
      result.refs[spec] = r.checksum;
    }
  });
  // A full pull leaves every commit it touched complete.
  if (!opts.commitMetadataOnly && !opts.subpath) for (const c of result.commits) await clearCommitPartial(repo, c);
  return result;
}

/** Hardlink object CHECKSUM of SRC into REPO; false where a link cannot be made (another filesystem…). */
async function linkObjectFrom(src: Repo, repo: Repo, checksum: string, type: ObjectType): Promise<boolean> {
  const to = repo.objectPath(checksum, type);
  await fsp.mkdir(path.dirname(to), { recursive: true });
  crashPoint();
  try {
    await fsp.link(src.objectPath(checksum, type), to);
    return true;
  } catch (err) {
    if (isErrno(err, 'EEXIST')) return true;
    if (isErrno(err, 'EXDEV') || isErrno(err, 'EMLINK') || isErrno(err, 'EPERM') || isErrno(err, 'EACCES')) return false;
    throw err;
  }
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
  const progress = () => opts.onProgress?.({ phase: 'metadata', loaded: ++scanned, total: null, unit: 'objects' });

  const copyMetadata = async (type: ObjectType, checksum: string, bytes: Buffer) => {
    if (await repo.hasObject(type, checksum, { includeParent: false })) return;
    // Metadata objects are stored alike in every mode: hardlinked from the
    // source when its bytes check out (as ostree's local import), else written.
    if (sha256Hex(bytes) === checksum && (await linkObjectFrom(src, repo, checksum, type))) {
      tx.stats.metadataTotal++;
      tx.stats.metadataWritten++;
      // As a written commit does, this one replaces its tombstone.
      if (type === ObjectType.Commit) await fsp.rm(repo.objectPath(checksum, ObjectType.TombstoneCommit), { force: true });
    } else {
      await tx.writeMetadata(type, bytes, checksum);
    }
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

  const pullCommit = async (checksum: string, ref: string | null, depth: number, isRoot: boolean) => {
    let csum: string | null = checksum;
    let left = depth;
    let boundRef = ref;
    while (csum && !seenCommits.has(csum)) {
      seenCommits.add(csum);
      throwAborted(signal);
      const bytes = await src.loadMetadata(ObjectType.Commit, csum, { allowNoent: !isRoot });
      if (!bytes) break; // history the source never had
      isRoot = false;
      const commit = parseCommit(bytes);
      // As a pull from a file:// remote: the source's collection ID binds its commits.
      if (!opts.disableVerifyBindings) {
        try {
          verifyBindings(src.collectionId, boundRef, commit.metadata);
        } catch (err) {
          (err as Error).message = `Commit ${csum}: ${(err as Error).message}`;
          throw err;
        }
      }
      boundRef = null; // parents are reached by checksum
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

  for (const r of roots) await pullCommit(r.checksum, r.ref, opts.depth ?? 0, true);

  // Content the destination lacks.
  // As ostree_repo_has_object: content the parent repo (core.parent) has is not copied.
  const missing: string[] = [];
  for (const c of wanted) if (!(await repo.hasObject(ObjectType.File, c))) missing.push(c);
  let copied = 0;
  await mapLimit(chunk(missing, CONTENT_BATCH), CONTENT_PARALLEL, async (batch) => {
    throwAborted(signal);
    const r = await importContentFromRepo(tx, repo, src, batch, { untrusted: opts.untrusted, bareuseronlyFiles: opts.bareuseronlyFiles });
    result.contentImported += r.imported;
    result.contentBytesWritten += r.bytesWritten;
    copied += batch.length;
    opts.onProgress?.({ phase: 'content', loaded: copied, total: missing.length, unit: 'objects' });
  });
}
