// Commit: build a MutableTree from directories / refs, write its objects and
// a commit. Mirrors ostree-mutable-tree.c, ostree-repo-commit.c
// (write_directory_to_mtree, write_mtree, write_commit) and the
// builtins/ot-builtin-commit.c option semantics (FORMATS.md §2.12).
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { OstreeError, throwAborted, withContext, isErrno } from '../errors';
import { Repo } from '../repo/repo';
import { Transaction, MetadataItem, ContentFileOptions, mapLimit } from '../repo/transaction';
import {
  ObjectType,
  DirMeta,
  Metadata,
  serializeDirMeta,
  serializeDirTree,
  serializeCommit,
  sha256Hex,
  validateFilename,
  S_IFDIR,
  Commit,
  FileHeader,
  parseDirMeta,
  contentChecksum,
} from '../objects/formats';
import { native, ContentModeOverride, ScanDir } from '../binding';
import { Variant } from '../gvariant/codec';
import type { Progress } from '../progress';
import { MutableTree, mergeStoredTree } from './mutable-tree';
import { applyStatOverride, roExecutableMode } from './modifier';
import type { CommitModifier } from './modifier';

export { MutableTree, mergeStoredTree } from './mutable-tree';
export { parseStatOverride, roExecutableMode } from './modifier';
export type { CommitModifier } from './modifier';

/** Commit progress: content files written, of the files found (known once the scan is over). */
export type CommitProgress = Progress<'content'>;

export interface ScanOptions {
  modifier?: CommitModifier;
  signal?: AbortSignal;
  onProgress?: (p: CommitProgress) => void;
  /** Most files per native content job (default 128). */
  batchSize?: number;
  /** Native jobs in flight (default: the transaction's, 4); 1 = single-threaded. */
  parallelism?: number;
  /** "dev:ino" -> content checksum of repo objects (--link-checkout-speedup). */
  devino?: Map<string, string>;
  /**
   * The source files are consumed (commit --consume): in a bare or
   * bare-user-only repo, regular files whose metadata the commit does not
   * change are adopted, i.e. renamed into the object store, as ostree does.
   */
  consume?: boolean;
  /**
   * Write each directory's dirtree as soon as it is finished and keep it in
   * `tree` only as a stored checksum (default true): memory then grows with
   * the directories being worked on, not with the tree. With false, `tree`
   * keeps every entry in memory (as ostree's mutable tree does).
   */
  streamTrees?: boolean;
}

/** A directory this scan adds to: open until its scan and every file and subdirectory in it are done. */
interface OpenDir {
  tree: MutableTree;
  parent: OpenDir | null;
  /** Outstanding work: 1 for its own scan, then one per queued file and per subdirectory. */
  pending: number;
}

interface PendingFile {
  /** The directory holding the file (its tree is dir.tree). */
  dir: OpenDir;
  name: string;
  path: string;
  /** Path from the tree root, kept only when --statoverride needs it. */
  rel: string;
  size: number;
  /** A regular file (not a symlink): one that may be adopted. */
  regular: boolean;
}

interface PendingDir {
  path: string;
  rel: string;
  dir: OpenDir;
}

const ENTRY_REG = 0;
const ENTRY_DIR = 1;
const ENTRY_LINK = 2;
/** Payload bytes per content job; larger files get a job of their own. */
const BATCH_BYTES = 4 * 1024 * 1024;
/** Directories per scan job. */
const SCAN_BATCH = 64;
/** Stop scanning ahead while this many files wait for their content job (memory bound). */
const PENDING_HIGH_WATER = 4096;
/** Finished dirtrees/dirmetas to hold before writing them out. */
const META_FLUSH = 512;

/**
 * Add the contents of `dir` into `tree` (write_directory_to_mtree).
 *
 * A pipeline of native jobs on the thread pool, at most `parallelism` in
 * flight: directory scans (one level of up to 64 directories each: their
 * metadata and entries) feed content jobs (a batch of files checksummed and
 * stored in one read each, see Transaction.writeContentFiles). Scans go first
 * until enough files are waiting; large files go before small ones. A
 * directory whose scan, files and subdirectories are all done is finished:
 * its dirtree joins the dirmetas in a queue written out in batches of
 * META_FLUSH, and (with streamTrees) its entries leave memory.
 */
export async function writeDirectoryToMtree(tx: Transaction, dir: string, tree: MutableTree, opts: ScanOptions = {}): Promise<void> {
  const repo = tx.repo;
  const mod = opts.modifier ?? {};
  const canonical = mod.canonicalPermissions || repo.mode === 'bare-user-only';
  const skipXattrs = canonical || mod.skipXattrs || repo.disableXattrs;
  const parallelism = Math.max(1, Math.floor(opts.parallelism ?? tx.parallelism));
  const batchSize = Math.max(1, opts.batchSize ?? 128);
  const copts: ContentFileOptions = { canonicalPermissions: canonical, skipXattrs };
  if (mod.ownerUid !== undefined) copts.uid = mod.ownerUid;
  if (mod.ownerGid !== undefined) copts.gid = mod.ownerGid;

  const stream = opts.streamTrees ?? true;
  const needRel = !!mod.statOverride?.size;
  const adopt = opts.consume ? await canAdopt(tx.repo, dir, mod) : false;
  const dirs: PendingDir[] = [{ path: dir, rel: '', dir: { tree, parent: null, pending: 1 } }];
  const big: PendingFile[] = [];
  const batches: PendingFile[][] = [];
  let current: PendingFile[] = [];
  let currentBytes = 0;
  let waiting = 0; // files queued but not yet in a running content job
  let scansRunning = 0;
  let found = 0;
  let done = 0;
  // dirmetas (each distinct one once) and finished dirtrees, written out in batches
  const metaQueue: MetadataItem[] = [];
  const queuedMetas = new Set<string>();

  // One piece of `d`'s work is done; a directory with none left is finished:
  // its dirtree is queued for writing, and its parent has one piece less.
  const release = (d: OpenDir | null): void => {
    for (; d && --d.pending === 0; d = d.parent) if (stream) d.tree.collapse(metaQueue);
  };

  const queueFile = (f: PendingFile) => {
    waiting++;
    found++;
    if (f.size > BATCH_BYTES) {
      big.push(f);
      return;
    }
    current.push(f);
    currentBytes += f.size;
    if (current.length >= batchSize || currentBytes >= BATCH_BYTES) {
      batches.push(current);
      current = [];
      currentBytes = 0;
    }
  };

  const dirMeta = (st: ScanDir, rel: string): string => {
    // The commit filter (owner, statoverride), then canonical permissions.
    let mode = applyStatOverride(mod, rel, st.mode);
    let uid = mod.ownerUid ?? st.uid;
    let gid = mod.ownerGid ?? st.gid;
    if (canonical) {
      uid = 0;
      gid = 0;
      mode = mode & (S_IFDIR | 0o755);
    }
    const meta: DirMeta = { uid, gid, mode, xattrs: skipXattrs ? [] : st.xattrs };
    const data = serializeDirMeta(meta);
    const checksum = sha256Hex(data);
    if (!queuedMetas.has(checksum)) {
      queuedMetas.add(checksum);
      metaQueue.push({ type: ObjectType.DirMeta, data, checksum });
    } else {
      tx.stats.metadataTotal++; // a write of an object already there, as ostree counts it
    }
    return checksum;
  };

  const scanJob = async (job: PendingDir[]): Promise<void> => {
    let recs: ScanDir[];
    try {
      recs = await native().dirs_scan(
        job.map((d) => d.path),
        { xattrs: !skipXattrs },
      );
    } catch (err) {
      throw withContext(`opendir(${(err as { path?: string }).path ?? job[0].path})`, err);
    }
    for (let j = 0; j < job.length; j++) {
      const { path: p, rel, dir: od } = job[j];
      const t = od.tree;
      const rec = recs[j];
      await t.ensureLoaded(repo);
      t.metaChecksum = dirMeta(rec, rel || '/');
      const { names, types, sizes } = rec;
      const prefix = p.endsWith('/') ? p : `${p}/`;
      for (let i = 0; i < names.length; i++) {
        const name = names[i];
        if (name.includes('\uFFFD')) await refuseInvalidUtf8(p, name);
        validateFilename(name);
        const childRel = `${rel}/${name}`;
        if (mod.skipList?.has(childRel)) continue;
        const full = prefix + name;
        const type = types[i];
        if (type === ENTRY_DIR) {
          const sub = await t.ensureDir(repo, name);
          od.pending++;
          dirs.push({ path: full, rel: childRel, dir: { tree: sub, parent: od, pending: 1 } });
        } else if (type === ENTRY_REG || type === ENTRY_LINK) {
          if (t.dirs.has(name)) throw new OstreeError('OSTREE_EXISTS', `Can't replace directory with file: ${childRel}`);
          if (opts.devino && type === ENTRY_REG) {
            const st = await fsp.lstat(full, { bigint: true });
            const hit = st.nlink > 1n ? opts.devino.get(`${st.dev}:${st.ino}`) : undefined;
            if (hit) {
              await t.replaceFile(repo, name, hit);
              tx.stats.contentCacheHits++;
              continue;
            }
          }
          od.pending++;
          queueFile({ dir: od, name, path: full, rel: needRel ? childRel : '', size: sizes[i], regular: type === ENTRY_REG });
        } else {
          throw new OstreeError('OSTREE_UNSUPPORTED_FILE_TYPE', `Not a regular file or symlink: ${name}`, { data: { path: full } });
        }
      }
      release(od);
    }
  };

  const contentJob = async (batch: PendingFile[]): Promise<void> => {
    let overrides: ContentModeOverride[] | undefined;
    if (mod.roExecutables) {
      // The files' modes are needed here: one lstat each, only with this option.
      const modes = await Promise.all(batch.map(async (f) => (await fsp.lstat(f.path)).mode));
      batch.forEach((f, i) => {
        const ro = roExecutableMode(modes[i]);
        const o = mod.statOverride?.get(f.rel);
        if (o?.op === '=') (overrides ??= []).push([i, '=', o.mode]);
        else if (o || ro !== modes[i]) (overrides ??= []).push([i, '=', (ro | (o?.mode ?? 0)) & 0o7777]);
      });
    } else if (mod.statOverride?.size) {
      batch.forEach((f, i) => {
        const o = mod.statOverride?.get(f.rel);
        if (o) (overrides ??= []).push([i, o.op, o.mode]);
      });
    }
    // Errors come prefixed "Writing content object", as ostree's.
    const sums = await tx.writeContentFiles(
      batch.map((f) => f.path),
      copts,
      overrides,
      batch.map((f) => f.size),
    );
    if (adopt) await adoptFiles(repo, batch, sums);
    for (let i = 0; i < batch.length; i++) {
      await batch[i].dir.tree.replaceFile(repo, batch[i].name, sums[i]);
      release(batch[i].dir);
    }
    done += batch.length;
    opts.onProgress?.({ phase: 'content', loaded: done, total: dirs.length > 0 || scansRunning > 0 ? null : found, unit: 'files' });
  };

  // Pick the next job: scans first (so content jobs have work), unless many
  // files are already waiting; then large files; then full batches; a partial
  // batch only once scanning is over.
  const nextJob = (): (() => Promise<void>) | null => {
    if (metaQueue.length >= META_FLUSH) {
      const items = metaQueue.splice(0, metaQueue.length);
      return () => tx.writeMetadataBatch(items).then(() => undefined);
    }
    if (dirs.length && waiting < PENDING_HIGH_WATER) {
      const n = Math.max(1, Math.min(SCAN_BATCH, Math.ceil(dirs.length / parallelism)));
      const job = dirs.splice(dirs.length - n, n);
      scansRunning++;
      return () => scanJob(job).finally(() => scansRunning--);
    }
    let batch: PendingFile[] | undefined;
    if (big.length) batch = [big.pop() as PendingFile];
    else if (batches.length) batch = batches.shift();
    else if (current.length && !dirs.length && scansRunning === 0) {
      batch = current;
      current = [];
      currentBytes = 0;
    }
    if (!batch && dirs.length) {
      const job = dirs.splice(dirs.length - 1, 1);
      scansRunning++;
      return () => scanJob(job).finally(() => scansRunning--);
    }
    if (!batch) return null;
    waiting -= batch.length;
    const b = batch;
    return () => contentJob(b);
  };

  await new Promise<void>((resolve, reject) => {
    let active = 0;
    let failed: unknown = null;
    const pump = (): void => {
      if (failed === null) {
        try {
          throwAborted(opts.signal);
        } catch (err) {
          failed = err;
        }
      }
      if (failed !== null) {
        if (active === 0) reject(failed);
        return;
      }
      while (active < parallelism) {
        const job = nextJob();
        if (!job) break;
        active++;
        job().then(
          () => {
            active--;
            pump();
          },
          (err) => {
            active--;
            failed ??= err;
            pump();
          },
        );
      }
      if (active === 0) resolve();
    };
    pump();
  });

  await tx.writeMetadataBatch(metaQueue);
}

/**
 * Whether commit --consume may adopt files of `dir` (can_adopt in
 * ostree-repo-commit.c): a bare repo when the commit changes no file
 * metadata, a bare-user-only repo unless file modes are overridden (its
 * objects are the files with canonical permissions), never bare-user or archive (their objects are not
 * the plain files); and `dir` on the repo's filesystem.
 */
async function canAdopt(repo: Repo, dir: string, mod: CommitModifier): Promise<boolean> {
  if (repo.mode === 'bare') {
    const changesMeta =
      mod.ownerUid !== undefined || mod.ownerGid !== undefined || !!mod.statOverride?.size || !!mod.roExecutables || !!mod.canonicalPermissions || !!mod.skipXattrs || repo.disableXattrs;
    if (changesMeta) return false;
  } else if (repo.mode !== 'bare-user-only') {
    return false;
  } else if (mod.statOverride?.size || mod.roExecutables) {
    return false; // the object's mode would be the overridden one: not worth a special case
  }
  const [a, b] = await Promise.all([fsp.stat(dir), fsp.stat(path.join(repo.path, 'objects'))]);
  return a.dev === b.dev;
}

/**
 * Adopt committed files (adopt_and_commit_regfile): each regular file is
 * renamed over its object, so the object is the file itself (a bare-user-only
 * object gets its canonical mode first); the copy just stored goes. A file on
 * another filesystem (a mount below the tree) keeps the copy.
 */
async function adoptFiles(repo: Repo, batch: PendingFile[], sums: string[]): Promise<void> {
  for (let i = 0; i < batch.length; i++) {
    const f = batch[i];
    if (!f.regular) continue;
    const obj = repo.objectPath(sums[i], ObjectType.File);
    if (repo.mode === 'bare-user-only') {
      const st = await fsp.lstat(f.path);
      await fsp.chmod(f.path, st.mode & 0o755);
    }
    try {
      await fsp.rename(f.path, obj);
    } catch (err) {
      if (!isErrno(err, 'EXDEV')) throw withContext(`Storing file '${f.name}'`, err);
    }
  }
}

/**
 * A name read back with U+FFFD may stand for bytes that are no UTF-8, which
 * ostree refuses to commit (ot_util_filename_validate): look at the raw names.
 */
async function refuseInvalidUtf8(dir: string, name: string): Promise<void> {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  for (const raw of await fsp.readdir(dir, { encoding: 'buffer' })) {
    try {
      decoder.decode(raw);
    } catch {
      throw new OstreeError('OSTREE_INVALID_ARGUMENT', `Invalid UTF-8 in filename ${name}`, { data: { path: path.join(dir, name) } });
    }
  }
}

export interface WriteCommitOptions {
  parent?: string | null;
  subject?: string;
  body?: string;
  metadata?: Metadata;
  /** Seconds since the epoch; default now (or SOURCE_DATE_EPOCH). */
  timestamp?: bigint;
  rootTree: string;
  rootMeta: string;
}

/**
 * The commit time ostree_repo_write_commit uses: $SOURCE_DATE_EPOCH read as
 * strtoll does (leading blanks and sign, digits up to the first other
 * character; a negative one wraps as ostree's gint64 does), else now. No digits at all, or a value past 64 bits, is an
 * error with ostree's words.
 */
export function defaultCommitTime(env: string | undefined = process.env.SOURCE_DATE_EPOCH): bigint {
  if (env === undefined) return BigInt(Math.floor(Date.now() / 1000));
  const m = /^[ \t\n\v\f\r]*([+-]?)(\d+)/.exec(env);
  if (!m) throw new OstreeError('OSTREE_INVALID_ARGUMENT', 'Failed to convert SOURCE_DATE_EPOCH', { data: { SOURCE_DATE_EPOCH: env } });
  const v = BigInt(m[1] + m[2]);
  if (v > 0x7fffffffffffffffn || v < -0x8000000000000000n) {
    throw new OstreeError('OSTREE_INVALID_ARGUMENT', 'Parsing SOURCE_DATE_EPOCH: Numerical result out of range', { data: { SOURCE_DATE_EPOCH: env } });
  }
  // Stored as ostree stores a gint64 in the commit's big-endian u64 field.
  return BigInt.asUintN(64, v);
}

/** Serialise and store a commit object; returns its checksum. */
export async function writeCommit(tx: Transaction, o: WriteCommitOptions): Promise<string> {
  const ts = o.timestamp ?? defaultCommitTime();
  const c: Commit = {
    metadata: o.metadata ?? [],
    parent: o.parent ?? null,
    related: [],
    subject: o.subject ?? '',
    body: o.body ?? '',
    timestamp: ts,
    rootTree: o.rootTree,
    rootMeta: o.rootMeta,
  };
  return tx.writeMetadata(ObjectType.Commit, serializeCommit(c));
}

/** `base`: a --base tree, taken as stored (no modifier applies, as ostree). */
export type TreeSource = { dir: string } | { ref: string; base?: boolean } | { tar: string };

export interface CommitOptions {
  /** Branch to update (-b). Omit with orphan. */
  branch?: string;
  orphan?: boolean;
  /** Trees to overlay in order (--tree); default none. */
  trees: TreeSource[];
  subject?: string;
  body?: string;
  /** Explicit parent checksum, or 'none'; default: the branch's current commit. */
  parent?: string | null;
  timestamp?: bigint;
  /** Metadata entries in order (builder order). */
  metadata?: Metadata;
  detachedMetadata?: Metadata;
  /** GPG key ids to sign the commit with (`--gpg-sign`), keys from gpgHomedir (lib/gpg/keys.ts). */
  gpgSign?: string[];
  gpgHomedir?: string;
  /** ed25519 secret keys, base64 (`--sign --sign-type=ed25519`); the same as `sign: { type: 'ed25519', keys }`. */
  ed25519Sign?: string[];
  /** Secret keys of a signature type (`--sign KEY --sign-type=TYPE`: ed25519, or dummy in tests). */
  sign?: { type: string; keys: string[] };
  /** Keys copied from the parent commit's metadata. */
  keepMetadata?: string[];
  /** Extra refs to bind (--bind-ref). */
  bindRefs?: string[];
  noBindings?: boolean;
  modifier?: CommitModifier;
  skipIfUnchanged?: boolean;
  /** Flag the commit bootable: ostree.bootable and ostree.linux (kernel version) metadata. */
  bootable?: boolean;
  /** Reuse checksums of files hardlinked to repo objects (--link-checkout-speedup). */
  linkCheckoutSpeedup?: boolean;
  /** Record ostree.sizes (archive repos only, as ostree). */
  generateSizes?: boolean;
  /** --tar-autocreate-parents */
  tarAutocreateParents?: boolean;
  /** Delete source files once committed (--consume). */
  consume?: boolean;
  signal?: AbortSignal;
  onProgress?: (p: CommitProgress) => void;
  lockTimeout?: number;
  /** Native jobs in flight (default 4); 1 forces single-threaded execution. */
  parallelism?: number;
}

export interface CommitResult {
  checksum: string;
  /** False when skip-if-unchanged found nothing to commit. */
  changed: boolean;
  rootTree: string;
  rootMeta: string;
  stats: Transaction['stats'];
}

/**
 * `ostree commit`: write the `trees` (directories, refs or tarballs, overlaid
 * in order) as a new commit on `branch` (its current commit becomes the
 * parent), in one transaction, so the ref moves only when every object is
 * written. Options mirror ostree's flags: subject/body, metadata, modifier
 * (uid/gid, canonical permissions, xattrs), signing, skipIfUnchanged,
 * generateSizes; `onProgress` reports files written.
 *
 * @example
 * import { commit } from 'node-ostree';
 * const { checksum, changed } = await commit(repo, {
 *   branch: 'exampleos/stable',
 *   trees: [{ dir: '/build/rootfs' }],
 *   subject: 'Release 42',
 *   skipIfUnchanged: true,
 * });
 */
export async function commit(repo: Repo, opts: CommitOptions): Promise<CommitResult> {
  if (!opts.branch && !opts.orphan) {
    throw new OstreeError('OSTREE_INVALID_ARGUMENT', 'A branch must be specified with --branch, or use --orphan');
  }
  const { resolveRev, parseRefspec } = await import('../refs/refs');
  if (opts.branch) parseRefspec(opts.branch); // a refspec, as ostree: `-b origin:ref` commits to a remote ref
  // Fail on a bad SOURCE_DATE_EPOCH or unusable signing keys before writing anything.
  const commitTime = opts.timestamp ?? defaultCommitTime();
  const gpgKeys = opts.gpgSign?.length ? await Promise.all(opts.gpgSign.map(async (id) => (await import('../gpg/keys')).loadSigningKey(id, opts.gpgHomedir))) : [];
  const signWith = [...(opts.ed25519Sign?.length ? [{ type: 'ed25519', keys: opts.ed25519Sign }] : []), ...(opts.sign?.keys.length ? [opts.sign] : [])];
  const signers = [];
  for (const { type, keys } of signWith) {
    const { signEngine } = await import('../sign/engine');
    const engine = signEngine(type);
    for (const k of keys) engine.checkSecretKey(k);
    signers.push({ engine, keys });
  }
  const tx = await Transaction.begin(repo, { signal: opts.signal, timeout: opts.lockTimeout, parallelism: opts.parallelism });
  try {
    let parent: string | null = null;
    if (opts.parent === undefined) {
      parent = opts.branch ? await resolveRev(repo, opts.branch, { allowNoent: true }) : null;
    } else if (opts.parent !== null && opts.parent !== 'none') {
      parent = await resolveRev(repo, opts.parent);
    }
    let devino: Map<string, string> | undefined;
    const m = opts.modifier ?? {};
    const metadataModified = m.ownerUid !== undefined || m.ownerGid !== undefined || m.canonicalPermissions || m.skipXattrs || m.statOverride?.size || m.roExecutables;
    if (opts.linkCheckoutSpeedup && (repo.mode === 'bare' || repo.mode === 'bare-user') && !metadataModified) {
      devino = await scanHardlinks(repo);
    }
    const root = new MutableTree();
    for (const t of opts.trees) {
      if ('dir' in t) {
        await writeDirectoryToMtree(tx, t.dir, root, { modifier: opts.modifier, signal: opts.signal, onProgress: opts.onProgress, devino, consume: opts.consume });
      } else if ('ref' in t) {
        const c = await repo.readCommit(await resolveRev(repo, t.ref) as string);
        // As ostree, the commit filter (owner, permissions, xattrs, skip list) applies to a stored tree too.
        if (!t.base && (metadataModified || m.skipList?.size)) await mergeStoredTreeModified(tx, root, c.rootTree, c.rootMeta, m);
        else await mergeStoredTree(repo, root, c.rootTree, c.rootMeta);
      } else {
        const { writeTarToMtree } = await import('./tar');
        await writeTarToMtree(tx, t.tar, root, { modifier: opts.modifier, signal: opts.signal, autocreateParents: opts.tarAutocreateParents });
      }
    }
    if (!root.metaChecksum) {
      // An empty commit: root dir 0755 owned by us (like ostree with no --tree and an empty dir).
      root.metaChecksum = await tx.writeMetadata(
        ObjectType.DirMeta,
        serializeDirMeta({ uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0, mode: S_IFDIR | 0o755, xattrs: [] }),
      );
    }
    const rootTree = await root.write(tx);
    const rootMeta = root.metaChecksum;
    let parentCommit: Commit | null = null;
    if (parent) parentCommit = await repo.readCommit(parent);
    if (opts.skipIfUnchanged && parentCommit && parentCommit.rootTree === rootTree && parentCommit.rootMeta === rootMeta) {
      await tx.commit();
      return { checksum: parent as string, changed: false, rootTree, rootMeta, stats: tx.stats };
    }
    const metadata: Metadata = [...(opts.metadata ?? [])];
    if (opts.keepMetadata?.length && parentCommit) {
      for (const k of opts.keepMetadata) {
        const v = parentCommit.metadata.find(([key]) => key === k);
        if (v) metadata.push([k, v[1]]);
      }
    }
    if (opts.bootable) {
      // ostree_commit_metadata_for_bootable(): the metadata goes through a GVariantDict (hash-table order).
      const kver = await findKernelVersion(repo, root);
      const { ghashOrder } = await import('../ghash');
      const values = new Map<string, Variant>();
      const order: string[] = [];
      const put = (k: string, v: Variant) => {
        order.push(k);
        values.set(k, v);
      };
      for (const [k, v] of metadata) put(k, v);
      put('ostree.bootable', { type: 'b', value: true });
      put('ostree.linux', { type: 's', value: kver });
      metadata.splice(0, metadata.length, ...ghashOrder(order).map((k) => [k, values.get(k) as Variant] as [string, Variant]));
    }
    if (!opts.noBindings) {
      const refs = [...(opts.branch ? [opts.branch] : []), ...(opts.bindRefs ?? [])].sort();
      // ostree 2022.7 writes the binding even when empty (--orphan).
      metadata.push(['ostree.ref-binding', { type: 'as', value: refs } as Variant]);
      const cid = repo.collectionId;
      if (cid) metadata.push(['ostree.collection-binding', { type: 's', value: cid } as Variant]);
    }
    if (opts.generateSizes && repo.mode === 'archive') {
      metadata.push(['ostree.sizes', { type: 'aay', value: await sizesMetadata(repo, rootTree, rootMeta) } as Variant]);
    }
    const checksum = await writeCommit(tx, {
      parent,
      subject: opts.subject,
      body: opts.body,
      metadata,
      timestamp: commitTime,
      rootTree,
      rootMeta,
    });
    if (opts.detachedMetadata) {
      const { serialize } = await import('../gvariant/codec');
      await tx.writeCommitMeta(checksum, serialize('a{sv}', opts.detachedMetadata));
    }
    if (opts.branch) tx.setRef(opts.branch, checksum);
    await tx.commit();
    // Signatures go into the detached metadata like ostree's (ed25519 first, then GPG).
    for (const { engine, keys } of signers) await (await import('../sign/engine')).signCommit(repo, checksum, engine, keys);
    if (gpgKeys.length) await (await import('../gpg/sign')).gpgSignCommitWithKeys(repo, checksum, gpgKeys);
    if (opts.consume) {
      for (const t of opts.trees) if ('dir' in t) await consumeDir(t.dir);
    }
    return { checksum, changed: true, rootTree, rootMeta, stats: tx.stats };
  } catch (err) {
    await tx.abort();
    throw err;
  }
}

/**
 * Merge a stored tree into ROOT through the commit modifier: every dirmeta
 * and file header is rewritten as the modifier says (objects whose header
 * changes are stored anew with the same payload), skip-listed paths left out.
 */
async function mergeStoredTreeModified(tx: Transaction, root: MutableTree, tree: string, meta: string, mod: CommitModifier, rel = ''): Promise<void> {
  const repo = tx.repo;
  const canonical = mod.canonicalPermissions || repo.mode === 'bare-user-only';
  const skipXattrs = canonical || mod.skipXattrs || repo.disableXattrs;
  const owner = (uid: number, gid: number): [number, number] => (canonical ? [0, 0] : [mod.ownerUid ?? uid, mod.ownerGid ?? gid]);
  await root.ensureLoaded(repo);
  const dm = parseDirMeta((await repo.loadMetadata(ObjectType.DirMeta, meta)) as Buffer);
  const [duid, dgid] = owner(dm.uid, dm.gid);
  // The commit filter (statoverride), then canonical permissions.
  let dmode = applyStatOverride(mod, rel || '/', dm.mode);
  if (canonical) dmode &= S_IFDIR | 0o755;
  root.metaChecksum = await tx.writeMetadata(ObjectType.DirMeta, serializeDirMeta({ uid: duid, gid: dgid, mode: dmode, xattrs: skipXattrs ? [] : dm.xattrs }));
  const dt = await repo.readDirTree(tree);
  for (const [name, csum] of dt.files) {
    const childRel = `${rel}/${name}`;
    if (mod.skipList?.has(childRel)) continue;
    const o = await repo.loadFile(csum);
    const h = o.header;
    const isReg = (h.mode & 0o170000) === 0o100000;
    const [uid, gid] = owner(h.uid, h.gid);
    let mode = mod.roExecutables ? roExecutableMode(h.mode) : h.mode;
    mode = applyStatOverride(mod, childRel, mode);
    if (canonical && isReg) mode &= 0o170000 | 0o755;
    const header: FileHeader = { ...h, uid, gid, mode, xattrs: skipXattrs ? [] : h.xattrs };
    let checksum = csum;
    if (uid !== h.uid || gid !== h.gid || mode !== h.mode || header.xattrs.length !== h.xattrs.length) {
      const payload = isReg ? await o.readPayload() : Buffer.alloc(0);
      checksum = contentChecksum(header, payload);
      tx.stats.contentTotal++;
      if (!(await repo.hasObject(ObjectType.File, checksum, { includeParent: false }))) await tx.writeContent([{ checksum, header, payload }]);
    }
    await root.replaceFile(repo, name, checksum);
  }
  for (const [name, t, m] of dt.dirs) {
    const childRel = `${rel}/${name}`;
    if (mod.skipList?.has(childRel)) continue;
    await mergeStoredTreeModified(tx, await root.ensureDir(repo, name), t, m, mod, childRel);
  }
}

/** The kernel version of a bootable tree: the first usr/lib/modules/KVER holding a vmlinuz. */
async function findKernelVersion(repo: Repo, root: MutableTree): Promise<string> {
  let dir = root;
  let p = '';
  for (const name of ['usr', 'lib', 'modules']) {
    await dir.ensureLoaded(repo);
    p += `/${name}`;
    const next = dir.dirs.get(name);
    if (!next) throw new OstreeError('OSTREE_NOT_FOUND', `No such file or directory: ${p}`);
    dir = next;
  }
  await dir.ensureLoaded(repo);
  const names = [...dir.dirs.keys()].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  for (const kver of names) {
    const sub = dir.dirs.get(kver) as MutableTree;
    await sub.ensureLoaded(repo);
    if (sub.files.has('vmlinuz')) return kver;
  }
  throw new OstreeError('OSTREE_NOT_FOUND', 'No kernel found in /usr/lib/modules');
}

/** ostree_repo_scan_hardlinks: map (dev, ino) of every content object to its checksum. */
export async function scanHardlinks(repo: Repo): Promise<Map<string, string>> {
  const map = new Map<string, string>();
  const files: string[] = [];
  for await (const [csum, type] of repo.listObjects()) if (type === ObjectType.File) files.push(csum);
  await mapLimit(files, 32, async (c) => {
    const st = await fsp.lstat(repo.objectPath(c, ObjectType.File), { bigint: true });
    map.set(`${st.dev}:${st.ino}`, c);
  });
  return map;
}

function varint(n: number): Buffer {
  const out: number[] = [];
  do {
    let b = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) b |= 0x80;
    out.push(b);
  } while (n > 0);
  return Buffer.from(out);
}

/** ostree.sizes: csum ‖ varint(archived) ‖ varint(unpacked) ‖ type, for every reachable object, sorted by checksum. */
async function sizesMetadata(repo: Repo, rootTree: string, rootMeta: string): Promise<Buffer[]> {
  const seen = new Map<string, [number, number, number]>();
  const metaSize = async (type: ObjectType, csum: string) => {
    const st = await fsp.stat(repo.objectPath(csum, type));
    seen.set(csum, [st.size, st.size, type]);
  };
  const walk = async (tree: string, meta: string): Promise<void> => {
    if (!seen.has(meta)) await metaSize(ObjectType.DirMeta, meta);
    if (seen.has(tree)) return;
    await metaSize(ObjectType.DirTree, tree);
    const dt = await repo.readDirTree(tree);
    for (const [, c] of dt.files) {
      if (seen.has(c)) continue;
      const o = await repo.loadFile(c);
      const st = await fsp.stat(o.objectPath);
      seen.set(c, [st.size, o.header.symlinkTarget ? Buffer.byteLength(o.header.symlinkTarget) : o.size, ObjectType.File]);
    }
    for (const [, t, m] of dt.dirs) await walk(t, m);
  };
  await walk(rootTree, rootMeta);
  return [...seen.entries()]
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
    .map(([c, [archived, unpacked, type]]) => Buffer.concat([Buffer.from(c, 'hex'), varint(archived), varint(unpacked), Buffer.from([type])]));
}

async function consumeDir(dir: string): Promise<void> {
  const ents = await fsp.readdir(dir);
  for (const e of ents) await fsp.rm(path.join(dir, e), { recursive: true, force: true });
  // Then the directory itself, as ostree does, except when given as "." (rpm-ostree's use).
  if (dir !== '.') await fsp.rmdir(dir);
}

