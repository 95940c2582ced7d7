// Repository consistency check. Mirrors ot-builtin-fsck.c and
// ostree_repo_fsck_object (FORMATS.md §10): every commit object that is not
// partial is walked (depth 0; a parent is a commit object of its own), and
// every object reached is re-checksummed from its stored representation in
// the repo's mode. Missing objects mark the commits containing them partial
// (state/<commit>.commitpartial = "f"), as ostree does; with `delete`,
// corrupt objects are removed and treated the same way.
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { promisify } from 'node:util';
import { isErrno, throwAborted } from './errors';
import type { Repo } from './repo/repo';
import { withRepoLock } from './lock';
import { listRefs, resolveRev } from './refs/refs';
import { listCollectionRefs } from './refs/collection-refs';
import * as bindings from './refs/bindings';
import { OstreeError } from './errors';
import { isNormalForm } from './gvariant/codec';
import {
  ObjectType,
  OBJECT_TYPE_NAMES,
  COMMIT_TYPE,
  DIRTREE_TYPE,
  DIRMETA_TYPE,
  sha256Hex,
  parseCommit,
  parseDirTree,
  parseDirMeta,
  validateDirTree,
  validateDirMeta,
  validateFileMode,
  splitFramedHeader,
  parseZlibHeader,
  contentChecksum,
  isLink,
} from './objects/formats';
import { native, ChecksumOptions } from './binding';
import { objectKey, parseObjectKey, traverseCommit, commitsContaining, readMetadataBatch, listObjectsFast, repoChain, DEFAULT_PARALLELISM } from './traverse';
import { mapLimit } from './repo/transaction';
import type { Progress } from './progress';
import { markCommitPartial, commitPartialState } from './repo/commit-partial';

const inflateRaw = promisify(zlib.inflateRaw);

/** Objects per native verify call; metadata objects verified per round. */
const CONTENT_BATCH = 256;
const META_ROUND = 4096;
const ARCHIVE_PARALLEL = 8;

/** 'refs' → 'collection-refs' → 'commits' (totals not known) → 'verify' (commits to verify) → 'objects'. */
export type FsckProgress = Progress<'refs' | 'collection-refs' | 'commits' | 'verify' | 'objects'>;

export interface FsckIssue {
  kind: 'missing' | 'corrupt';
  checksum: string;
  type: ObjectType;
  /** Commits whose trees contain the object (sorted); empty for a ref's own commit. */
  commits: string[];
  /** The ref being validated, when the issue was found through one. */
  ref?: string;
  /** Message as ostree prints it (without the "In commits …: " prefix). */
  message: string;
  /** Commits marked partial because of this issue. */
  markedPartial: string[];
  /** True when `delete` removed the object. */
  deleted: boolean;
  /** Where `quarantine` moved the corrupt object. */
  movedTo?: string;
}

export interface FsckOptions {
  /** Don't stop at the first corrupt object (ostree fsck --all). */
  all?: boolean;
  /** Remove corrupt objects and mark the commits containing them partial. */
  delete?: boolean;
  /**
   * Like `delete`, but move each corrupt object into this directory (created
   * if needed; on the repo's filesystem, e.g. REPO/tmp/corrupt-…) as
   * CHECKSUM.TYPE, keeping the evidence: what repairRepo does.
   */
  quarantine?: string;
  /**
   * fsck --add-tombstones, as ostree does it: every commit whose parent
   * commit is missing is deleted, leaving a tombstone-commit in its place
   * (core.tombstone-commits is switched on).
   */
  addTombstones?: boolean;
  /**
   * Verify commits an earlier fsck marked partial (FSCK_PARTIAL) instead of
   * skipping them; they are still listed in partialCommits and
   * fsckPartialCommits. Used by repairRepo.
   */
  verifyFsckPartial?: boolean;
  signal?: AbortSignal;
  onProgress?: (p: FsckProgress) => void;
  /** Called as each missing or corrupt object is found. */
  onIssue?: (issue: FsckIssue) => void;
  /** Native jobs in flight (default 4; 1 = single-threaded). */
  parallelism?: number;
  /**
   * Check each ref's commit is bound to it (ostree.ref-binding, and for
   * collection refs ostree.collection-binding): fsck --verify-bindings.
   * A mismatch rejects with OSTREE_INVALID_REF.
   */
  verifyBindings?: boolean;
  /**
   * Check every ref a commit is bound to exists and points at it (fsck
   * --verify-back-refs; implies verifyBindings). A mismatch rejects with
   * OSTREE_INVALID_REF.
   */
  verifyBackRefs?: boolean;
}

export interface FsckResult {
  /** Commits whose trees were verified (the N of "object fsck of N commits"). */
  commitsVerified: number;
  objectsChecked: number;
  /** Commits skipped because they are partial (state/*.commitpartial). */
  partialCommits: string[];
  /** The subset marked partial by an earlier fsck (FSCK_PARTIAL). */
  fsckPartialCommits: string[];
  issues: FsckIssue[];
  /** Set when the check stopped early (first corrupt object without `all`, or a ref whose commit is missing). */
  fatal: FsckIssue | null;
  /** True when no issue was found and no commit is partial from an earlier fsck. */
  ok: boolean;
  /** Commits replaced by a tombstone (addTombstones). */
  tombstonesAdded: string[];
}

type Check = { ok: true } | { ok: false; missing: boolean; message: string };

const OK: Check = { ok: true };

function mismatch(what: string, expected: string, actual: string): string {
  return `Corrupted ${what} object; checksum expected='${expected}' actual='${actual}'`;
}

/** Verify one metadata object: checksum of the bytes, normal form, structure. */
export async function fsckMetadataObject(repo: Repo, checksum: string, type: ObjectType): Promise<Check> {
  const name = OBJECT_TYPE_NAMES[type];
  const prefix = `fsck ${checksum}.${name}: `;
  let bytes: Buffer;
  try {
    bytes = await fsp.readFile(repo.objectPath(checksum, type));
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return { ok: false, missing: true, message: `${checksum}.${name}` };
    return { ok: false, missing: false, message: prefix + (err as Error).message };
  }
  return verifyMetadataBytes(checksum, type, bytes);
}

/** The checks of fsckMetadataObject on bytes already read (`actual`: their SHA-256 if known). */
function verifyMetadataBytes(checksum: string, type: ObjectType, bytes: Buffer, actual = sha256Hex(bytes)): Check {
  const name = OBJECT_TYPE_NAMES[type];
  const prefix = `fsck ${checksum}.${name}: `;
  if (actual !== checksum) return { ok: false, missing: false, message: prefix + mismatch(name, checksum, actual) };
  try {
    switch (type) {
      case ObjectType.Commit:
        if (!isNormalForm(COMMIT_TYPE, bytes)) throw new Error('Invalid commit: not normal form');
        parseCommit(bytes);
        break;
      case ObjectType.DirTree:
        if (!isNormalForm(DIRTREE_TYPE, bytes)) throw new Error('Invalid dirtree: not normal form');
        validateDirTree(parseDirTree(bytes));
        break;
      case ObjectType.DirMeta:
        if (!isNormalForm(DIRMETA_TYPE, bytes)) throw new Error('Invalid dirmeta: not normal form');
        validateDirMeta(parseDirMeta(bytes));
        break;
      default:
        break;
    }
  } catch (err) {
    return { ok: false, missing: false, message: prefix + (err as Error).message };
  }
  return OK;
}

function contentPrefix(checksum: string): string {
  return `fsck content object ${checksum}: `;
}

/** Native checksum options for reading a content object stored in `repo`. */
export function contentChecksumOptions(repo: Repo): ChecksumOptions {
  switch (repo.mode) {
    case 'bare-user':
      return { source: 'bare-user' };
    case 'bare-user-only':
      return { source: 'fs', uid: 0, gid: 0, skipXattrs: true };
    default:
      return { source: 'fs', skipXattrs: repo.disableXattrs };
  }
}

/**
 * Verify a batch of content objects in one native call (any repo mode). An
 * object that doesn't verify cleanly is checked again the per-object way, so
 * every message is exactly what that path reports.
 */
async function fsckContentBatch(repo: Repo, checksums: string[]): Promise<Check[]> {
  let r;
  try {
    r = await native().content_verify_batch(repo.path, repo.mode, checksums.join(''), { disableXattrs: repo.disableXattrs });
  } catch {
    return fsckContentSlow(repo, checksums);
  }
  const out: Check[] = new Array(checksums.length);
  const redo: number[] = [];
  for (let i = 0; i < checksums.length; i++) {
    const actual = r.checksums.slice(64 * i, 64 * i + 64);
    if (r.status[i] === 0 && actual === checksums[i]) {
      const chk = judgeNative(checksums[i], { checksum: actual, mode: r.modes[i] });
      if (chk.ok) {
        out[i] = chk;
        continue;
      }
    }
    redo.push(i);
  }
  if (redo.length) {
    const again = await fsckContentSlow(repo, redo.map((i) => checksums[i]));
    redo.forEach((i, j) => (out[i] = again[j]));
  }
  return out;
}

/** The per-object checks (archive: inflate in JS; other modes: checksum_files). */
async function fsckContentSlow(repo: Repo, checksums: string[]): Promise<Check[]> {
  if (repo.mode === 'archive') return mapLimit(checksums, ARCHIVE_PARALLEL, (c) => fsckArchiveObject(repo, c));
  const opts = contentChecksumOptions(repo);
  const paths = checksums.map((c) => repo.objectPath(c, ObjectType.File));
  let results;
  try {
    results = await native().checksum_files(paths, opts);
  } catch {
    // Some object in the batch can't be read: check them one by one.
    return mapLimit(checksums, 1, async (c, i) => {
      try {
        const [r] = await native().checksum_files([paths[i]], opts);
        return judgeNative(c, r);
      } catch (err) {
        if (isErrno(err, 'ENOENT')) return { ok: false, missing: true, message: `${c}.file` } as Check;
        return { ok: false, missing: false, message: contentPrefix(c) + (err as Error).message } as Check;
      }
    });
  }
  return results.map((r, i) => judgeNative(checksums[i], r));
}

function judgeNative(checksum: string, r: { checksum: string; mode: number }): Check {
  try {
    validateFileMode(r.mode);
  } catch (err) {
    return { ok: false, missing: false, message: contentPrefix(checksum) + (err as Error).message };
  }
  if (r.checksum !== checksum) return { ok: false, missing: false, message: contentPrefix(checksum) + mismatch('file', checksum, r.checksum) };
  return OK;
}

/** Archive: inflate the .filez and checksum the re-serialised object stream. */
async function fsckArchiveObject(repo: Repo, checksum: string): Promise<Check> {
  let raw: Buffer;
  try {
    raw = await fsp.readFile(repo.objectPath(checksum, ObjectType.File));
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return { ok: false, missing: true, message: `${checksum}.file` };
    return { ok: false, missing: false, message: contentPrefix(checksum) + (err as Error).message };
  }
  try {
    const { header, payloadOffset } = splitFramedHeader(raw);
    const { size, ...h } = parseZlibHeader(header);
    validateFileMode(h.mode);
    let payload = Buffer.alloc(0);
    if (!isLink(h.mode)) {
      payload = await inflateRaw(raw.subarray(payloadOffset)).catch((err) => {
        throw new Error(zlibMessage(err));
      });
      if (BigInt(payload.length) !== size) {
        throw new Error(`Corrupted file object; size ${payload.length} does not match header ${size}`);
      }
    }
    const actual = contentChecksum(h, payload);
    if (actual !== checksum) return { ok: false, missing: false, message: contentPrefix(checksum) + mismatch('file', checksum, actual) };
    return OK;
  } catch (err) {
    return { ok: false, missing: false, message: contentPrefix(checksum) + (err as Error).message };
  }
}

/** GLib's GZlibDecompressor wording for inflate failures. */
export function zlibMessage(err: unknown): string {
  switch ((err as { code?: string }).code) {
    case 'Z_BUF_ERROR':
      return 'Need more input';
    case 'Z_DATA_ERROR':
    case 'Z_NEED_DICT':
      return 'Invalid compressed data';
    default:
      return (err as Error).message;
  }
}

/** fsckMetadataObject for many objects: native reads grouped by type, several in flight. */
async function verifyMetadataRound(repo: Repo, objs: Array<[string, ObjectType]>, parallelism: number): Promise<Check[]> {
  const out: Check[] = new Array(objs.length);
  const byType = new Map<ObjectType, number[]>();
  objs.forEach(([, t], i) => {
    let l = byType.get(t);
    if (!l) byType.set(t, (l = []));
    l.push(i);
  });
  for (const [type, idx] of byType) {
    let r;
    try {
      r = await readMetadataBatch(repo, type, idx.map((i) => objs[i][0]), { parallelism, sha256: true, localOnly: true, dirtree: type === ObjectType.DirTree });
    } catch {
      // Something other than a missing object: the per-object path describes it.
      for (const i of idx) out[i] = await fsckMetadataObject(repo, objs[i][0], type);
      continue;
    }
    idx.forEach((i, j) => {
      const [csum] = objs[i];
      const bytes = r.data[j];
      if (!bytes) out[i] = { ok: false, missing: true, message: `${csum}.${OBJECT_TYPE_NAMES[type]}` };
      // A dirtree the native reader found well-formed (normal form, valid
      // sorted names) with the right checksum passes every check below.
      else if (type === ObjectType.DirTree && r.dirtreeValid[j] === 1 && r.sha256[j] === csum) out[i] = OK;
      else out[i] = verifyMetadataBytes(csum, type, bytes, r.sha256[j]);
    });
  }
  return out;
}

/** Delete one loose object (content or metadata) of this repo. */
async function deleteObject(repo: Repo, checksum: string, type: ObjectType): Promise<void> {
  await fsp.rm(repo.objectPath(checksum, type), { force: true });
}

/** Move one loose object into `dir` as CHECKSUM.TYPE (a rename: same filesystem). */
async function quarantineObject(repo: Repo, checksum: string, type: ObjectType, dir: string): Promise<string> {
  await fsp.mkdir(dir, { recursive: true, mode: 0o755 });
  const dest = path.join(dir, `${checksum}.${OBJECT_TYPE_NAMES[type]}`);
  await fsp.rename(repo.objectPath(checksum, type), dest);
  return dest;
}

/** Remove a corrupt object the way the options ask (delete or quarantine); false when neither. */
async function removeCorrupt(repo: Repo, opts: FsckOptions, issue: FsckIssue): Promise<boolean> {
  if (opts.quarantine) issue.movedTo = await quarantineObject(repo, issue.checksum, issue.type, opts.quarantine);
  else if (opts.delete) await deleteObject(repo, issue.checksum, issue.type);
  else return false;
  issue.deleted = true;
  return true;
}

/**
 * The objects to verify, in the order of traverseCommit(repo, c, set,
 * {maxDepth: 0}) over every commit in turn, split as that set's iteration
 * would be: the metadata objects (commits included) and the content objects,
 * as raw 32-byte checksums (hex only for the few being worked on: a million
 * 'csum.type' strings take hundreds of MB).
 */
export interface ReachList {
  metaTypes: Uint8Array;
  metaCsums: Buffer;
  content: Buffer;
}

/**
 * The ReachList through one native walk over all commits. Null (nothing
 * read) when the generic walk must do it: a commit missing, unreadable or
 * partial, or anything the native walker doesn't take (a missing or
 * malformed dirtree...), which the generic walk handles and reports in its
 * own way. (Exported for tests.)
 */
export async function reachableNative(repo: Repo, commits: string[]): Promise<ReachList | null> {
  if (!commits.length) return { metaTypes: new Uint8Array(0), metaCsums: Buffer.alloc(0), content: Buffer.alloc(0) };
  const roots: Array<{ tree: string; meta: string }> = [];
  for (const commit of commits) {
    const bytes = await repo.loadMetadata(ObjectType.Commit, commit, { allowNoent: true });
    if (!bytes || (await repo.isCommitPartial(commit))) return null;
    try {
      const c = parseCommit(bytes);
      roots.push({ tree: c.rootTree, meta: c.rootMeta });
    } catch {
      return null;
    }
  }
  // Per root: its dirmeta, then the walk; each object once over all roots,
  // as in the Set the generic walk fills.
  const r = await native().tree_reachable(
    repoChain(repo).map((x) => x.path),
    roots.map((x) => x.tree + x.meta).join(''),
  );
  if (!r) return null;
  // Each commit, then the metadata reached first from it.
  const n = commits.length + r.metaTypes.length;
  const metaTypes = new Uint8Array(n);
  const metaCsums = Buffer.allocUnsafe(32 * n);
  let i = 0;
  let from = 0;
  commits.forEach((commit, k) => {
    metaTypes[i] = ObjectType.Commit;
    metaCsums.write(commit, 32 * i, 'hex');
    i++;
    const to = r.metaEnds[k];
    metaTypes.set(r.metaTypes.subarray(from, to), i);
    r.metaCsums.copy(metaCsums, 32 * i, 32 * from, 32 * to);
    i += to - from;
    from = to;
  });
  return { metaTypes, metaCsums, content: r.content };
}

/** The ReachList of the generic walk (traverseCommit into one Set). (Exported for tests.) */
export async function reachableGeneric(repo: Repo, commits: string[], signal: AbortSignal | undefined, parallelism: number): Promise<ReachList> {
  const reachable = new Set<string>();
  for (const c of commits) {
    throwAborted(signal);
    await traverseCommit(repo, c, reachable, { maxDepth: 0, onUnreadable: () => undefined, parallelism });
  }
  let nContent = 0;
  for (const key of reachable) if (parseObjectKey(key)[1] === ObjectType.File) nContent++;
  const metaTypes = new Uint8Array(reachable.size - nContent);
  const metaCsums = Buffer.alloc(32 * metaTypes.length);
  const content = Buffer.alloc(32 * nContent);
  let m = 0;
  let c = 0;
  for (const key of reachable) {
    const [csum, type] = parseObjectKey(key);
    if (type === ObjectType.File) content.write(csum, 32 * c++, 'hex');
    else {
      metaTypes[m] = type;
      metaCsums.write(csum, 32 * m++, 'hex');
    }
  }
  return { metaTypes, metaCsums, content };
}

/** Hex checksums [from, to) of a buffer of raw ones. */
function hexRange(raw: Buffer, from: number, to: number): string[] {
  const out: string[] = new Array(to - from);
  for (let i = from; i < to; i++) out[i - from] = raw.toString('hex', 32 * i, 32 * i + 32);
  return out;
}

/**
 * `ostree fsck`: check that every object reachable from the refs and commits
 * is present and has the checksum it is named by. Resolves with a result
 * listing every missing or corrupt object (`ok` is true when none); it
 * rejects only on I/O errors it cannot attribute to an object, or with
 * OSTREE_ABORTED. With `delete`, corrupt objects are removed and the commits
 * containing them marked partial, under the exclusive lock.
 *
 * @example
 * import { fsck } from 'node-ostree';
 * const res = await fsck(repo, { all: true, onIssue: (i) => console.error(i.kind, i.checksum) });
 * if (!res.ok) process.exitCode = 1;
 */
export async function fsck(repo: Repo, opts: FsckOptions = {}): Promise<FsckResult> {
  const run = () => fsckLocked(repo, opts);
  // Deleting objects must not race with writers or pulls: exclusive. Otherwise
  // a shared hold, like any reader that may write state/ markers.
  const writes = opts.delete || opts.quarantine || opts.addTombstones;
  return withRepoLock(repo, writes ? 'exclusive' : 'shared', run, { signal: opts.signal });
}

/**
 * fsck --verify-back-refs for one commit: every ref in its ostree.ref-binding
 * (of its ostree.collection-binding collection, when it has one) must exist
 * and point at it.
 */
async function checkBackRefs(repo: Repo, csum: string): Promise<void> {
  const md = parseCommit((await repo.loadMetadata(ObjectType.Commit, csum)) as Buffer).metadata;
  const cid = bindings.collectionBinding(md);
  for (const ref of bindings.refBindings(md) ?? []) {
    let target: string | null;
    if (cid !== null) target = (await listCollectionRefs(repo, { collectionId: cid })).find((e) => e.ref === ref)?.checksum ?? null;
    else target = (await resolveRev(repo, ref, { allowNoent: true })) ?? null;
    const what = cid !== null ? `Collection–ref (${cid}, ${ref})` : `Ref ‘${ref}’`;
    if (target === null) throw new OstreeError('OSTREE_INVALID_REF', `${what} in bindings for commit ${csum} does not exist`, { data: { checksum: csum, ref } });
    if (target !== csum) throw new OstreeError('OSTREE_INVALID_REF', `${what} in bindings for commit ${csum} does not resolve to that commit`, { data: { checksum: csum, ref } });
  }
}

async function fsckLocked(repo: Repo, opts: FsckOptions): Promise<FsckResult> {
  const { signal, onProgress } = opts;
  const parallelism = Math.max(1, Math.floor(opts.parallelism ?? DEFAULT_PARALLELISM));
  const result: FsckResult = {
    commitsVerified: 0,
    objectsChecked: 0,
    partialCommits: [],
    fsckPartialCommits: [],
    issues: [],
    fatal: null,
    ok: false,
    tombstonesAdded: [],
  };
  const report = (issue: FsckIssue) => {
    result.issues.push(issue);
    opts.onIssue?.(issue);
  };

  // --- refs: each ref's commit object must be present and intact.
  // Returns false when the check must stop here.
  const checkRefCommit = async (ref: string, csum: string): Promise<boolean> => {
    throwAborted(signal);
    const chk = await fsckMetadataObject(repo, csum, ObjectType.Commit);
    if (chk.ok) return true;
    const issue: FsckIssue = {
      kind: chk.missing ? 'missing' : 'corrupt',
      checksum: csum,
      type: ObjectType.Commit,
      commits: [],
      ref,
      message: chk.message,
      markedPartial: [],
      deleted: false,
    };
    if (!chk.missing) await removeCorrupt(repo, opts, issue);
    report(issue);
    // A missing (or just deleted) commit can't be loaded: ostree stops.
    if (chk.missing || issue.deleted || !opts.all) {
      result.fatal = issue;
      return false;
    }
    return true;
  };
  const verifyBindings = !!(opts.verifyBindings || opts.verifyBackRefs);
  const checkBindings = async (collectionId: string | null, ref: string, csum: string) => {
    if (!verifyBindings) return;
    const bytes = (await repo.loadMetadata(ObjectType.Commit, csum)) as Buffer;
    try {
      bindings.verifyBindings(collectionId, ref, parseCommit(bytes).metadata);
    } catch (err) {
      (err as Error).message = `Commit ${csum}: ${(err as Error).message}`;
      throw err;
    }
  };
  onProgress?.({ phase: 'refs', loaded: 0, total: null, unit: 'refs' });
  for (const r of await listRefs(repo)) {
    if (!(await checkRefCommit(r.name, r.checksum))) return result;
    await checkBindings(null, r.ref, r.checksum);
  }
  onProgress?.({ phase: 'collection-refs', loaded: 0, total: null, unit: 'refs' });
  for (const m of await listCollectionRefs(repo, { excludeRemotes: true })) {
    if (!(await checkRefCommit(`(${m.collectionId}, ${m.ref})`, m.checksum))) return result;
    await checkBindings(m.collectionId, m.ref, m.checksum);
  }

  // --- every commit object; partial ones are not verified.
  onProgress?.({ phase: 'commits', loaded: 0, total: null, unit: 'commits' });
  const commits: string[] = [];
  const tombstones: string[] = [];
  for (const [csum, type] of await listObjectsFast(repo, { parallelism, only: ObjectType.Commit })) {
    if (type !== ObjectType.Commit) continue;
    if (opts.verifyBackRefs) await checkBackRefs(repo, csum);
    if (opts.addTombstones && (await parentMissing(repo, csum))) tombstones.push(csum);
    const st = await commitPartialState(repo, csum);
    if (st === 'none' || (st === 'fsck' && opts.verifyFsckPartial)) commits.push(csum);
    if (st !== 'none') {
      result.partialCommits.push(csum);
      if (st === 'fsck') result.fsckPartialCommits.push(csum);
    }
  }
  onProgress?.({ phase: 'verify', loaded: 0, total: commits.length, unit: 'commits' });
  result.commitsVerified = commits.length;

  // --- reachable objects. Which trees contain what is only needed to report
  // an issue: worked out by a second (generic) walk the first time one is found,
  // before anything is deleted or marked.
  const reach = (await reachableNative(repo, commits)) ?? (await reachableGeneric(repo, commits, signal, parallelism));
  let containers: Map<string, Set<string>> | null = null;
  const containersOf = async (): Promise<Map<string, Set<string>>> => {
    if (!containers) {
      const edges = new Map<string, Set<string>>();
      const seen = new Set<string>();
      for (const c of commits) await traverseCommit(repo, c, seen, { maxDepth: 0, containers: edges, onUnreadable: () => undefined, parallelism });
      containers = edges;
    }
    return containers;
  };

  const nMeta = reach.metaTypes.length;
  const nContent = reach.content.length / 32;
  const total = nMeta + nContent;
  let done = 0;
  let stop = false;
  const tick = () => {
    done++;
    onProgress?.({ phase: 'objects', loaded: done, total, unit: 'objects' });
  };

  const handle = async (csum: string, type: ObjectType, chk: Check) => {
    if (chk.ok) return;
    const commitsOf = commitsContaining(await containersOf(), objectKey(csum, type));
    const issue: FsckIssue = {
      kind: chk.missing ? 'missing' : 'corrupt',
      checksum: csum,
      type,
      commits: commitsOf,
      message: chk.message,
      markedPartial: [],
      deleted: false,
    };
    if (!chk.missing && !opts.delete && !opts.quarantine && !opts.all) {
      stop = true;
      result.fatal = issue;
      report(issue);
      return;
    }
    const removed = !chk.missing && (await removeCorrupt(repo, opts, issue));
    if (chk.missing || removed) {
      for (const c of commitsOf) await markCommitPartial(repo, c, 'fsck');
      issue.markedPartial = commitsOf;
    }
    report(issue);
  };

  // Content objects are verified in the background (native jobs, `parallelism`
  // in flight) while the metadata is checked; the results are handled after
  // the metadata, batch by batch, as if checked then.
  // A slot holds a batch's checks, or null checks when all of them passed.
  const nBatches = Math.ceil(nContent / CONTENT_BATCH);
  const batch = (b: number) => hexRange(reach.content, b * CONTENT_BATCH, Math.min(nContent, (b + 1) * CONTENT_BATCH));
  type Slot = { checks?: Check[] | null; error?: unknown } | null;
  const slots = Array.from({ length: nBatches }, () => {
    let resolve!: (v: Slot) => void;
    const p = new Promise<Slot>((r) => (resolve = r));
    return { p, resolve };
  });
  let cancelled = false;
  const runner = mapLimit(Array.from({ length: nBatches }, (_, b) => b), parallelism, async (b) => {
    if (cancelled) return slots[b].resolve(null);
    try {
      const checks = await fsckContentBatch(repo, batch(b));
      slots[b].resolve({ checks: checks.every((c) => c.ok) ? null : checks });
    } catch (error) {
      slots[b].resolve({ error });
    }
  });
  try {
    // Metadata: read in native batches (with their SHA-256), checked in order.
    for (let from = 0; from < nMeta && !stop; from += META_ROUND) {
      throwAborted(signal);
      const to = Math.min(nMeta, from + META_ROUND);
      const csums = hexRange(reach.metaCsums, from, to);
      const round = csums.map((c, i): [string, ObjectType] => [c, reach.metaTypes[from + i] as ObjectType]);
      const checks = await verifyMetadataRound(repo, round, parallelism);
      for (let i = 0; i < round.length && !stop; i++) {
        await handle(round[i][0], round[i][1], checks[i]);
        if (!stop) tick();
      }
    }
    for (let b = 0; b < nBatches && !stop; b++) {
      throwAborted(signal);
      const r = await slots[b].p;
      if (!r) break;
      if (r.error) throw r.error;
      const checks = r.checks;
      const csums = batch(b);
      for (let i = 0; i < csums.length && !stop; i++) {
        await handle(csums[i], ObjectType.File, checks ? checks[i] : OK);
        if (!stop) tick();
      }
    }
  } finally {
    // No native job may outlive the check (and its repo lock).
    cancelled = true;
    await runner;
  }
  result.objectsChecked = done;
  if (tombstones.length) {
    const { enableTombstones, deleteObject: deleteWithTombstone } = await import('./prune');
    await enableTombstones(repo);
    for (const c of tombstones) {
      await deleteWithTombstone(repo, c, ObjectType.Commit);
      result.tombstonesAdded.push(c);
    }
  }
  result.ok = result.issues.length === 0 && result.fsckPartialCommits.length === 0;
  return result;
}


/** A commit (loadable) names a parent whose commit object is absent. */
async function parentMissing(repo: Repo, csum: string): Promise<boolean> {
  const bytes = await repo.loadMetadata(ObjectType.Commit, csum, { allowNoent: true });
  if (!bytes) return false;
  const parent = parseCommit(bytes).parent;
  if (!parent) return false;
  return (await repo.loadMetadata(ObjectType.Commit, parent, { allowNoent: true })) === null;
}
