// Checkout: materialise a commit (or a subpath) into a directory. Mirrors
// ostree-repo-checkout.c (FORMATS.md §6). The common case (a new directory, no
// overwrite mode, no whiteouts) streams: the tree is walked natively in steps
// (checkout_plan_next), each step's directories made (pre-order), its files
// written in parallel native jobs (checkout_files: each job loads its objects
// and hardlinks, copies, decompresses or symlinks them), then the metadata of
// the directories it finished applied (post-order, so read-only directories
// are filled first); memory stays bounded whatever the tree's size. The other
// cases read every dirtree and dirmeta ahead in parallel native batches, walk
// them in TS into one plan, and run it the same way.
//
// Archive repos in user mode go through the uncompressed-objects cache as
// ostree does (FORMATS.md §6.5): each regular file is decompressed once into
// <repo>/uncompressed-objects-cache/XX/<rest>.file (suid/sgid stripped) and
// hardlinked from there.
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { OstreeError, throwAborted, isErrno } from '../errors';
import { Repo, tmpName } from '../repo/repo';
import { chunk, mapLimit } from '../repo/transaction';
import { ObjectType, validateDirTree, validateFilename, isLink, DirMeta, parseDirMeta, serializeDirTree, FileHeader, isValidChecksum } from '../objects/formats';
import { resolveRev } from '../refs/refs';
import { native, CheckoutOp, CheckoutFilesJob, CheckoutFilesOptions, CheckoutFilesRange, CheckoutFilesResult, CheckoutPlanChunk } from '../binding';
import type { Progress } from '../progress';

/** Checkout progress: files (and symlinks) placed, of the tree's total. */
export type CheckoutProgress = Progress<'checkout'>;
import { prefetchTrees, readMetadataBatch, repoChain, DEFAULT_PARALLELISM, Prefetched } from '../traverse';
import { crashPoint } from '../crash-point';

/** Files per native checkout job. */
const FILES_PER_JOB = 256;

export type OverwriteMode = 'none' | 'union-files' | 'add-files' | 'union-identical';

export interface CheckoutOptions {
  /** 'user' (-U): no chown, no xattrs, suid/sgid stripped from copies. */
  mode?: 'none' | 'user';
  overwrite?: OverwriteMode;
  subpath?: string;
  /** Process .wh. whiteout files. */
  whiteouts?: boolean;
  /** Paths from the tree's root not to check out (--skip-list): files as '/a/b', directories (and all below) as '/a/b/', as ostree matches them. */
  skipList?: Set<string>;
  /** Fail instead of copying when a hardlink is impossible. */
  requireHardlinks?: boolean;
  /** Always copy (-C). */
  forceCopy?: boolean;
  /** Mask directory modes with 0775 (--bareuseronly-dirs). */
  bareuseronlyDirs?: boolean;
  fsync?: boolean;
  /** Don't use (or fill) an archive repo's uncompressed-objects cache (--disable-cache). */
  disableCache?: boolean;
  /** Native jobs in flight (default 4; 1 = single-threaded). */
  parallelism?: number;
  /** Files and directories per step of the streamed tree walk (default 8192; small values are for tests). */
  stepEntries?: number;
  signal?: AbortSignal;
  onProgress?: (p: CheckoutProgress) => void;
}

export interface CheckoutResult {
  linked: number;
  copied: number;
  skipped: number;
  dirs: number;
}

interface FileTask {
  checksum: string;
  dest: string;
}

/** Resolve a path inside a commit's tree: returns a dir (tree, meta) or a file checksum. */
export async function resolveSubpath(
  repo: Repo,
  rootTree: string,
  rootMeta: string,
  subpath: string,
): Promise<{ kind: 'dir'; tree: string; meta: string } | { kind: 'file'; checksum: string; name: string }> {
  const parts = subpath.split('/').filter((p) => p !== '' && p !== '.');
  let tree = rootTree;
  let meta = rootMeta;
  for (let i = 0; i < parts.length; i++) {
    const dt = await repo.readDirTree(tree);
    const name = parts[i];
    const d = dt.dirs.find(([n]) => n === name);
    if (d) {
      tree = d[1];
      meta = d[2];
      continue;
    }
    const f = dt.files.find(([n]) => n === name);
    if (f && i === parts.length - 1) return { kind: 'file', checksum: f[1], name };
    throw new OstreeError('OSTREE_NOT_FOUND', `No such file or directory: ${subpath}`, { data: { path: subpath } });
  }
  return { kind: 'dir', tree, meta };
}

/**
 * --union-identical: returns the destinations that already hold an identical
 * file (to be left alone); throws OSTREE_EXISTS for one that differs.
 */
async function identicalFilter(
  repo: Repo,
  files: FileTask[],
  headers: Map<string, { header: FileHeader; size: number; objectPath: string; payloadIsFile: boolean }>,
): Promise<Set<string>> {
  const same = new Set<string>();
  await mapLimit(files, 16, async (f) => {
    let st;
    try {
      st = await fsp.lstat(f.dest);
    } catch (err) {
      if (isErrno(err, 'ENOENT')) return;
      throw err;
    }
    const o = headers.get(f.checksum)!;
    let identical = false;
    if (isLink(o.header.mode)) {
      identical = st.isSymbolicLink() && (await fsp.readlink(f.dest)) === o.header.symlinkTarget;
    } else if (st.isFile()) {
      const obj = await fsp.stat(o.objectPath).catch(() => null);
      if (obj && o.payloadIsFile && obj.ino === st.ino && obj.dev === st.dev) identical = true;
      else if (st.size === o.size) {
        const object = await repo.loadFile(f.checksum);
        identical = (await object.readPayload()).equals(await fsp.readFile(f.dest));
      }
    }
    if (!identical) {
      // ostree's words: the link (or, for a symlink it writes, the copy) that met the existing file.
      const name = path.basename(f.dest);
      const msg =
        isLink(o.header.mode) && repo.mode !== 'bare'
          ? `Copy checkout of ${f.checksum} to ${name}: symlinkat: File exists`
          : `Hardlinking ${Repo.relObjectPath(f.checksum, ObjectType.File, repo.mode).slice('objects/'.length)} to ${name}: File exists`;
      throw new OstreeError('OSTREE_EXISTS', msg, { data: { path: f.dest, reason: 'union-identical' } });
    }
    same.add(f.dest);
  });
  return same;
}

/** The op that gives a checked-out directory its final mode (and owner/xattrs unless -U). */
function dirMetaOpFor(repo: Repo, opts: CheckoutOptions, p: string, m: DirMeta, created: boolean): CheckoutOp {
  let mode = m.mode & 0o7777;
  if (repo.mode === 'bare-user-only' || opts.bareuseronlyDirs) mode &= 0o775;
  const op: CheckoutOp = { op: 'dirmeta', path: p, mode, mtimeZero: created && !opts.forceCopy };
  if (opts.mode !== 'user') {
    op.uid = m.uid;
    op.gid = m.gid;
    if (created && m.xattrs.length) op.xattrs = m.xattrs;
  }
  return op;
}

/** The checkout root must not exist yet (no overwrite mode). */
async function checkNewRoot(p: string): Promise<void> {
  let st;
  try {
    st = await fsp.lstat(p);
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return;
    throw err;
  }
  if (!st.isDirectory()) throw new OstreeError('OSTREE_EXISTS', `Checkout target ${p} exists and is not a directory`, { data: { path: p } });
  throw new OstreeError('OSTREE_EXISTS', `Checkout target ${p} already exists`, { data: { path: p } });
}

/** mkdir (0700) every directory, level by level (a parent before its children), each level in parallel batches. */
async function makeDirs(paths: string[], depthOf: (i: number) => number, parallelism: number, copts: CheckoutBatchOpts, signal?: AbortSignal): Promise<void> {
  const n = native();
  const levels: CheckoutOp[][] = [];
  paths.forEach((p, i) => {
    const d = depthOf(i);
    (levels[d] ??= []).push({ op: 'mkdir', path: p, mode: 0o700 });
  });
  for (const level of levels) {
    if (!level) continue;
    throwAborted(signal);
    await mapLimit(chunk(level, 64), parallelism, (batch) => n.checkout_batch(batch, copts));
  }
}

type CheckoutBatchOpts = { copyFallback: boolean; overwrite: 'error' | 'skip' | 'replace'; fsync: boolean };

/** Files and directories per step of the streamed walk (what is in memory at once, about twice). */
const STEP_ENTRIES = 8192;
/** Parsed dirmetas kept from one step to the next. */
const META_CACHE = 4096;

/**
 * The common case (a directory, no overwrite mode, no whiteouts): the tree is
 * walked natively (checkout_plan_next) in steps of STEP_ENTRIES files and
 * directories, the next step read while this one is written. Per step: the
 * new directories' dirmetas are loaded (each checksum once) and the
 * directories made (a parent first), then its files are queued as native
 * jobs (`parallelism` in flight over all steps: a step's directories are made
 * while the previous step's last jobs run), and once they are done — and the
 * previous step is finished — the directories finished in the step get their
 * metadata (post-order, so a read-only directory is filled first). A missing
 * or bad object is reported when the walk reaches it, in the generic loader's
 * words (files and directories before it may have been written, as with
 * ostree); the checkout root is checked before anything is written.
 */
async function checkoutStreamed(
  repo: Repo,
  tree: string,
  meta: string,
  target: string,
  opts: CheckoutOptions,
  parallelism: number,
): Promise<CheckoutResult> {
  const n = native();
  throwAborted(opts.signal);
  const cursor = n.checkout_plan_open(
    repoChain(repo).map((r) => r.path),
    tree,
    meta,
    target,
  );
  const s: StreamState = {
    repo,
    opts,
    parallelism,
    copts: { copyFallback: !opts.requireHardlinks, overwrite: 'error', fsync: opts.fsync ?? false },
    nopts: null as unknown as CheckoutFilesOptions,
    slots: limiter(parallelism),
    metaCache: new Map(),
    open: new Map(),
    progress: { loaded: 0, total: 0 },
    result: { linked: 0, copied: 0, skipped: 0, dirs: 0 },
    failed: null,
  };
  const stepEntries = Math.max(1, Math.floor(opts.stepEntries ?? STEP_ENTRIES));
  let pending: Promise<CheckoutPlanChunk> | null = null;
  // Each step's end (its files done, then its directories' metadata), chained in order.
  let finished: Promise<void> = Promise.resolve();
  try {
    let step = await n.checkout_plan_next(cursor, stepEntries);
    for (let first = true; ; first = false) {
      throwAborted(opts.signal);
      if (s.failed) throw s.failed.err;
      let resume: Buffer | undefined;
      if (step.need) {
        // A dirtree the native reader doesn't take: the generic loader reports
        // what is wrong with it, or its normal form lets the walk go on.
        const dt = await repo.readDirTree(step.need);
        validateDirTree(dt);
        if (step.rejected) throw new OstreeError('OSTREE_CORRUPT_OBJECT', `Invalid dirtree object ${step.need}`);
        resume = serializeDirTree(dt);
      }
      if (first) {
        await checkNewRoot(target);
        s.nopts = await fileJobOptions(repo, opts, 'error');
      }
      if (!step.done) pending = n.checkout_plan_next(cursor, stepEntries, resume);
      await makeStepDirs(s, step);
      const { started, done } = queueStepFiles(s, step);
      const cur = step;
      finished = Promise.all([finished, done]).then(() => finishStepDirs(s, cur));
      // (seen at the next step, or at the end)
      finished.catch((err) => (s.failed ??= { err }));
      await started;
      if (!pending) break;
      step = await pending;
      pending = null;
    }
    await finished;
  } catch (err) {
    // A step read ahead is of no use now (and must not become an unhandled rejection).
    pending?.catch(() => undefined);
    // Jobs already queued stop at their next check; wait for them before reporting.
    s.failed ??= { err };
    await finished.catch(() => undefined);
    throw s.failed.err;
  }
  if (opts.fsync) await n.fs_syncfs(target);
  return s.result;
}

/** What checkoutStreamed's steps share. */
interface StreamState {
  repo: Repo;
  opts: CheckoutOptions;
  parallelism: number;
  copts: CheckoutBatchOpts;
  nopts: CheckoutFilesOptions;
  /** Native file jobs in flight, over all steps. */
  slots: <T>(fn: () => Promise<T>) => Promise<T>;
  metaCache: Map<string, DirMeta>;
  /** Directories entered and not finished yet, by pre-order number. */
  open: Map<number, { path: string; meta: DirMeta }>;
  progress: { loaded: number; total: number };
  result: CheckoutResult;
  /** The first failure of a step running in the background. */
  failed: { err: unknown } | null;
}

/** Runs fn() with at most `n` running at once, in the order asked. */
function limiter(n: number): <T>(fn: () => Promise<T>) => Promise<T> {
  let free = n;
  const waiting: Array<() => void> = [];
  return async <T>(fn: () => Promise<T>): Promise<T> => {
    if (free > 0) free--;
    else await new Promise<void>((resolve) => waiting.push(resolve));
    try {
      return await fn();
    } finally {
      // The slot goes straight to the next one waiting.
      const next = waiting.shift();
      if (next) next();
      else free++;
    }
  };
}

/** A step's new directories: their dirmetas loaded (so a bad one fails before the directory is made), then made. */
async function makeStepDirs(s: StreamState, step: CheckoutPlanChunk): Promise<void> {
  const nd = step.dirs.length;
  const metas: DirMeta[] = new Array(nd);
  const missing = new Map<string, number[]>();
  for (let i = 0; i < nd; i++) {
    const c = step.metas.slice(64 * i, 64 * i + 64);
    const hit = s.metaCache.get(c);
    if (hit) metas[i] = hit;
    else {
      const at = missing.get(c);
      if (at) at.push(i);
      else missing.set(c, [i]);
    }
  }
  if (missing.size) {
    const list = [...missing.keys()];
    const { data } = await readMetadataBatch(s.repo, ObjectType.DirMeta, list, { parallelism: s.parallelism });
    if (s.metaCache.size + list.length > META_CACHE) s.metaCache.clear();
    for (let k = 0; k < list.length; k++) {
      const m = parseDirMeta(data[k] ?? ((await s.repo.loadMetadata(ObjectType.DirMeta, list[k])) as Buffer));
      s.metaCache.set(list[k], m);
      for (const i of missing.get(list[k])!) metas[i] = m;
    }
  }
  for (let i = 0; i < nd; i++) s.open.set(step.first + i, { path: step.dirs[i], meta: metas[i] });
  await makeDirs(step.dirs, (i) => step.depth[i], s.parallelism, s.copts, s.opts.signal);
  s.result.dirs += nd;
}

/**
 * Queues a step's files as native jobs. `started`: its last job has a slot
 * (time to prepare the next step); `done`: all its files are written (or the
 * first failure, in file order, as the error to report).
 */
function queueStepFiles(s: StreamState, step: CheckoutPlanChunk): { started: Promise<void>; done: Promise<void> } {
  const n = native();
  const list = step.files;
  if (!list) return { started: Promise.resolve(), done: Promise.resolve() };
  const jobs: CheckoutFilesRange[] = [];
  for (let start = 0; start < step.nfiles; start += FILES_PER_JOB) jobs.push({ list, start, end: Math.min(step.nfiles, start + FILES_PER_JOB) });
  s.progress.total += step.nfiles;
  let first: { at: number; f: FilesFailure } | null = null;
  let markStarted!: () => void;
  const started = new Promise<void>((resolve) => (markStarted = resolve));
  const runs = jobs.map((job, j) =>
    s.slots(async () => {
      if (j === jobs.length - 1) markStarted();
      if (first || s.failed) return;
      throwAborted(s.opts.signal);
      crashPoint();
      const r = await n.checkout_files(job, s.nopts);
      s.result.linked += r.linked;
      s.result.copied += r.copied;
      s.result.skipped += r.skipped;
      const prev = first as { at: number; f: FilesFailure } | null;
      if (r.failure && (!prev || job.start + r.failure.index < prev.at)) first = { at: job.start + r.failure.index, f: r.failure };
      s.progress.loaded += job.end - job.start;
      s.opts.onProgress?.({ phase: 'checkout', loaded: s.progress.loaded, total: s.progress.total, unit: 'files' });
    }),
  );
  const done = Promise.all(runs)
    .finally(() => {
      markStarted();
      // The list's memory goes now, not when the GC gets to its handle.
      n.checkout_list_free(list);
    })
    .then(async () => {
      if (first) await throwFilesFailure(s.repo, s.opts, (first as { at: number; f: FilesFailure }).f);
    });
  return { started, done };
}

/** The metadata of the directories a step finished (its files and every earlier step done). */
async function finishStepDirs(s: StreamState, step: CheckoutPlanChunk): Promise<void> {
  const ops: CheckoutOp[] = [];
  for (const i of step.finished) {
    const d = s.open.get(i)!;
    s.open.delete(i);
    ops.push(dirMetaOpFor(s.repo, s.opts, d.path, d.meta, true));
  }
  if (ops.length) await native().checkout_batch(ops, s.copts);
}

type FilesFailure = NonNullable<CheckoutFilesResult['failure']>;

/** A checkout_files failure (a missing or bad object...) as the error to throw. */
async function throwFilesFailure(repo: Repo, opts: CheckoutOptions, f: FilesFailure): Promise<never> {
  if (f.kind === 'require-hardlinks') throw noHardlinkError(repo, opts, f.dest);
  // The plain loader reports a missing or corrupt object in its own words.
  const o = await repo.loadFile(f.checksum);
  await o.readPayload();
  throw f.error;
}

/**
 * `ostree checkout REV DEST`: the tree of a commit (a checksum, or any rev:
 * `ref`, `remote:ref`, `ref^`) into `dest` as a hardlink farm or copies.
 *
 * @example
 * import { checkout } from 'node-ostree';
 * await checkout(repo, 'exampleos/stable', '/srv/deploy/new', { mode: 'user' });
 */
export async function checkout(repo: Repo, rev: string, dest: string, opts: CheckoutOptions = {}): Promise<CheckoutResult> {
  // As ostree_repo_checkout_at: a bare-user-only repo always checks out in user mode.
  if (repo.mode === 'bare-user-only' && opts.mode !== 'user') opts = { ...opts, mode: 'user' };
  const commitChecksum = isValidChecksum(rev) ? rev : ((await resolveRev(repo, rev)) as string);
  const c = await repo.readCommit(commitChecksum);
  const target = path.resolve(dest);
  const src = opts.subpath ? await resolveSubpath(repo, c.rootTree, c.rootMeta, opts.subpath) : ({ kind: 'dir', tree: c.rootTree, meta: c.rootMeta } as const);
  const userMode = opts.mode === 'user';
  const overwrite = opts.overwrite ?? 'none';
  const nativeOverwrite = overwrite === 'none' ? 'error' : overwrite === 'add-files' ? 'skip' : 'replace';
  const parallelism = Math.max(1, Math.floor(opts.parallelism ?? DEFAULT_PARALLELISM));
  if (src.kind === 'dir' && overwrite === 'none' && !opts.whiteouts && !opts.skipList?.size) {
    return checkoutStreamed(repo, src.tree, src.meta, target, opts, parallelism);
  }

  const mkdirs: CheckoutOp[] = [];
  const dirmetas: CheckoutOp[] = [];
  const files: FileTask[] = [];
  const metaCache = new Map<string, DirMeta>();
  const whiteoutRemovals: string[] = [];
  const opaqueDirs: string[] = [];

  // Read every dirtree and dirmeta of the tree ahead, in parallel batches.
  const trees: Map<string, Prefetched> = src.kind === 'dir' ? await prefetchTrees(repo, src.tree, new Set(), parallelism) : new Map();
  const metaRaw = new Map<string, Buffer | null>();
  if (src.kind === 'dir') {
    const metaSums = new Set<string>([src.meta]);
    for (const t of trees.values()) if (t && !('error' in t)) for (const [, , m] of t.dirs) metaSums.add(m);
    const list = [...metaSums];
    const { data } = await readMetadataBatch(repo, ObjectType.DirMeta, list, { parallelism });
    list.forEach((c, i) => metaRaw.set(c, data[i]));
  }
  const readTree = async (csum: string) => {
    const t = trees.get(csum);
    // Missing or unparseable: the plain loader gives the error.
    if (!t || 'error' in t) return repo.readDirTree(csum);
    return t;
  };
  const loadMeta = async (csum: string) => {
    let m = metaCache.get(csum);
    if (!m) {
      const raw = metaRaw.get(csum);
      m = parseDirMeta(raw ?? ((await repo.loadMetadata(ObjectType.DirMeta, csum)) as Buffer));
      metaCache.set(csum, m);
    }
    return m;
  };

  const dirMetaOp = (p: string, m: DirMeta, created: boolean) => dirMetaOpFor(repo, opts, p, m, created);

  const skip = (rel: string) => opts.skipList?.has(rel) ?? false;
  const walk = async (tree: string, meta: string, p: string, isRoot: boolean, rel = ''): Promise<void> => {
    throwAborted(opts.signal);
    const dt = await readTree(tree);
    validateDirTree(dt);
    let existed = false;
    if (isRoot || overwrite !== 'none') {
      try {
        const st = await fsp.lstat(p);
        if (!st.isDirectory()) {
          if (overwrite === 'union-files' && !isRoot) {
            await fsp.rm(p, { force: true });
          } else {
            throw new OstreeError('OSTREE_EXISTS', `Checkout target ${p} exists and is not a directory`, { data: { path: p } });
          }
        } else existed = true;
      } catch (err) {
        if (!isErrno(err, 'ENOENT')) throw err;
      }
      if (existed && isRoot && overwrite === 'none') {
        throw new OstreeError('OSTREE_EXISTS', `Checkout target ${p} already exists`, { data: { path: p } });
      }
    }
    if (!existed) mkdirs.push({ op: 'mkdir', path: p, mode: 0o700 });
    for (const [name, csum] of dt.files) {
      if (opts.whiteouts && name.startsWith('.wh.')) {
        if (name === '.wh..wh..opq') opaqueDirs.push(p);
        else {
          const victim = name.slice(4);
          validateFilename(victim);
          whiteoutRemovals.push(path.join(p, victim));
        }
        continue;
      }
      if (skip(`${rel}/${name}`)) continue;
      files.push({ checksum: csum, dest: path.join(p, name) });
    }
    // ostree's filter sees a directory's path with a trailing slash ('/a/b/'), a file's without.
    for (const [name, t, m] of dt.dirs) if (!skip(`${rel}/${name}/`)) await walk(t, m, path.join(p, name), false, `${rel}/${name}`);
    dirmetas.push(dirMetaOp(p, await loadMeta(meta), !existed));
  };

  if (src.kind === 'dir') {
    await walk(src.tree, src.meta, target, true);
  } else {
    validateFilename(src.name);
    try {
      await fsp.lstat(target);
    } catch {
      mkdirs.push({ op: 'mkdir', path: target, mode: 0o755 });
    }
    files.push({ checksum: src.checksum, dest: path.join(target, src.name) });
  }

  const n = native();
  // Whiteouts remove from the existing destination before anything is written.
  for (const d of opaqueDirs) {
    for (const e of await fsp.readdir(d).catch(() => [] as string[])) await fsp.rm(path.join(d, e), { recursive: true, force: true });
  }
  for (const w of whiteoutRemovals) await fsp.rm(w, { recursive: true, force: true });

  const result: CheckoutResult = { linked: 0, copied: 0, skipped: 0, dirs: mkdirs.length };
  const copts = { copyFallback: !opts.requireHardlinks, overwrite: nativeOverwrite as 'error' | 'skip' | 'replace', fsync: opts.fsync ?? false };
  const mkdirPaths = mkdirs.map((op) => (op as { path: string }).path);
  await makeDirs(mkdirPaths, (i) => mkdirPaths[i].split('/').length, parallelism, copts, opts.signal);

  if (overwrite !== 'union-identical') {
    await checkoutFilesNative(repo, flattenFiles(files), opts, nativeOverwrite as 'error' | 'skip' | 'replace', parallelism, result);
  } else {
    await checkoutFilesPlanned(repo, files, opts, copts, result);
  }
  if (dirmetas.length) await n.checkout_batch(dirmetas, copts);
  if (opts.fsync) await n.fs_syncfs(target);
  return result;
}

/** Whether regular bare objects may be hardlinked for this repo and checkout mode. */
/**
 * The error of -H/--require-hardlinks for a file that must be copied: when
 * the checkout mode does not match the repo's, ostree's words for that.
 */
function noHardlinkError(repo: Repo, opts: CheckoutOptions, dest: string): OstreeError {
  const modesMatch = (repo.mode === 'bare' && opts.mode !== 'user') || ((repo.mode === 'bare-user' || repo.mode === 'bare-user-only') && opts.mode === 'user');
  if (!modesMatch) {
    const userRepo = repo.mode === 'bare-user' || repo.mode === 'bare-user-only';
    return new OstreeError(
      'OSTREE_INVALID_ARGUMENT',
      userRepo ? 'User repository mode requires user checkout mode to hardlink' : 'Bare repository mode cannot hardlink in user checkout mode',
      { data: { path: dest } },
    );
  }
  return new OstreeError('OSTREE_INVALID_ARGUMENT', `Unable to do hardlink checkout of ${dest}: repository mode ${repo.mode} needs a copy`, { data: { path: dest } });
}

function hardlinkable(repo: Repo, opts: CheckoutOptions): boolean {
  const userMode = opts.mode === 'user';
  return !opts.forceCopy && ((repo.mode === 'bare' && !userMode) || ((repo.mode === 'bare-user' || repo.mode === 'bare-user-only') && userMode));
}

/** The uncompressed-objects cache directory to use, or null (FORMATS.md §6.5). */
async function uncompressedCache(repo: Repo, opts: CheckoutOptions): Promise<string | null> {
  if (repo.mode !== 'archive' || opts.mode !== 'user' || opts.forceCopy || opts.requireHardlinks || opts.disableCache) return null;
  if (!repo.config.getBoolean('core', 'enable-uncompressed-cache', true)) return null;
  if (!(await repo.isWritable())) return null;
  const dir = path.join(repo.path, 'uncompressed-objects-cache');
  try {
    await fsp.mkdir(dir, { mode: 0o755 });
  } catch (err) {
    if (!isErrno(err, 'EEXIST')) return null;
  }
  return dir;
}

/** Files grouped by directory: what checkout_files takes, for the whole checkout. */
interface FilePlan {
  /** Absolute destination directories. */
  dirs: string[];
  fileDir: Uint32Array;
  names: string[];
  csums: string;
}

function flattenFiles(files: FileTask[]): FilePlan {
  const dirs: string[] = [];
  const fileDir = new Uint32Array(files.length);
  const names: string[] = new Array(files.length);
  let csums = '';
  let last = '';
  files.forEach((f, i) => {
    const dir = path.dirname(f.dest);
    if (dir !== last || dirs.length === 0) {
      dirs.push(dir);
      last = dir;
    }
    fileDir[i] = dirs.length - 1;
    names[i] = path.basename(f.dest);
    csums += f.checksum;
  });
  return { dirs, fileDir, names, csums };
}

/** checkout_files options for this repo and checkout. */
async function fileJobOptions(repo: Repo, opts: CheckoutOptions, overwrite: 'error' | 'skip' | 'replace'): Promise<CheckoutFilesOptions> {
  const cache = await uncompressedCache(repo, opts);
  const nopts: CheckoutFilesOptions = {
    stores: repoChain(repo).map((r) => [r.path, r.mode, r.disableXattrs] as [string, string, boolean]),
    userMode: opts.mode === 'user',
    hardlink: hardlinkable(repo, opts),
    requireHardlinks: !!opts.requireHardlinks,
    overwrite,
    fsync: opts.fsync ?? false,
  };
  if (cache) {
    nopts.cache = cache;
    nopts.cacheTmp = path.join(repo.path, 'tmp');
    // ostree 2022.7 fsyncs every file it adds to the cache (unless core.fsync=false).
    nopts.cacheFsync = repo.fsyncEnabled;
  }
  return nopts;
}

/** The file phase through the native engine: jobs of FILES_PER_JOB files, `parallelism` in flight. */
async function checkoutFilesNative(
  repo: Repo,
  files: FilePlan,
  opts: CheckoutOptions,
  overwrite: 'error' | 'skip' | 'replace',
  parallelism: number,
  result: CheckoutResult,
): Promise<void> {
  const n = native();
  const nopts = await fileJobOptions(repo, opts, overwrite);
  // Jobs: consecutive files (a directory's files are consecutive in the plan).
  const total = files.names.length;
  const jobs: Array<{ start: number; job: CheckoutFilesJob }> = [];
  for (let start = 0; start < total; start += FILES_PER_JOB) {
    const end = Math.min(total, start + FILES_PER_JOB);
    const dirs: string[] = [];
    const fileDir = new Uint32Array(end - start);
    let last = -1;
    for (let i = start; i < end; i++) {
      const d = files.fileDir[i];
      if (d !== last) {
        dirs.push(files.dirs[d]);
        last = d;
      }
      fileDir[i - start] = dirs.length - 1;
    }
    jobs.push({ start, job: { dirs, fileDir, names: files.names.slice(start, end), csums: files.csums.slice(64 * start, 64 * end) } });
  }
  let done = 0;
  type Failure = { at: number; f: NonNullable<CheckoutFilesResult['failure']> };
  const failed: { first: Failure | null } = { first: null };
  await mapLimit(jobs, parallelism, async ({ start, job }) => {
    if (failed.first) return;
    throwAborted(opts.signal);
    crashPoint();
    const r = await n.checkout_files(job, nopts);
    result.linked += r.linked;
    result.copied += r.copied;
    result.skipped += r.skipped;
    const prev = failed.first as Failure | null;
    if (r.failure && (!prev || start + r.failure.index < prev.at)) failed.first = { at: start + r.failure.index, f: r.failure };
    done += job.names.length;
    opts.onProgress?.({ phase: 'checkout', loaded: done, total, unit: 'files' });
  });
  if (failed.first) await throwFilesFailure(repo, opts, failed.first.f);
}

/** The file phase for --union-identical: headers loaded per object, plan checked against the destination, then executed. */
async function checkoutFilesPlanned(
  repo: Repo,
  files: FileTask[],
  opts: CheckoutOptions,
  copts: { copyFallback: boolean; overwrite: 'error' | 'skip' | 'replace'; fsync: boolean },
  result: CheckoutResult,
): Promise<void> {
  const n = native();
  const userMode = opts.mode === 'user';
  const overwrite = opts.overwrite ?? 'none';

  // Files: decide per object how to materialise it.
  const headers = new Map<string, { header: FileHeader; size: number; objectPath: string; payloadIsFile: boolean }>();
  const uniq = [...new Set(files.map((f) => f.checksum))];
  await mapLimit(uniq, 16, async (csum) => {
    const o = await repo.loadFile(csum);
    headers.set(csum, { header: o.header, size: o.size, objectPath: o.objectPath, payloadIsFile: o.payloadIsFile });
  });

  const canHardlink = hardlinkable(repo, opts);
  const ops: CheckoutOp[] = [];
  const jsWrites: FileTask[] = [];
  for (const f of files) {
    const o = headers.get(f.checksum)!;
    const h = o.header;
    if (isLink(h.mode)) {
      const op: CheckoutOp = { op: 'symlink', target: h.symlinkTarget, dest: f.dest };
      if (!userMode) {
        op.uid = h.uid;
        op.gid = h.gid;
        if (h.xattrs.length) op.xattrs = h.xattrs;
      }
      ops.push(op);
      continue;
    }
    const ownerReadable = (h.mode & 0o400) !== 0;
    if (canHardlink && o.size > 0 && (ownerReadable || !userMode)) {
      ops.push({ op: 'link', src: o.objectPath, dest: f.dest });
      continue;
    }
    if (opts.requireHardlinks && !(o.size === 0)) throw noHardlinkError(repo, opts, f.dest);
    let mode = h.mode & 0o7777;
    if (userMode) {
      mode &= ~0o6000;
      mode |= 0o400;
    }
    if (o.payloadIsFile) {
      const op: CheckoutOp = { op: 'copy', src: o.objectPath, dest: f.dest, mode };
      if (!userMode) {
        op.uid = h.uid;
        op.gid = h.gid;
        if (h.xattrs.length) op.xattrs = h.xattrs;
      }
      ops.push(op);
    } else {
      jsWrites.push(f);
    }
  }
  if (overwrite === 'union-identical') {
    // An existing file must be the very same object, or identical in type, content and target.
    const keep = await identicalFilter(repo, files, headers);
    for (let i = ops.length - 1; i >= 0; i--) {
      const op = ops[i];
      if ((op.op === 'link' || op.op === 'copy' || op.op === 'symlink') && keep.has(op.dest)) ops.splice(i, 1);
    }
    for (let i = jsWrites.length - 1; i >= 0; i--) if (keep.has(jsWrites[i].dest)) jsWrites.splice(i, 1);
  }
  let done = 0;
  const total = ops.length + jsWrites.length;
  await mapLimit(chunk(ops, 512), 4, async (batch) => {
    throwAborted(opts.signal);
    const r = await n.checkout_batch(batch, copts);
    result.linked += r.linked;
    result.copied += r.copied;
    result.skipped += r.skipped;
    done += batch.length;
    opts.onProgress?.({ phase: 'checkout', loaded: done, total, unit: 'files' });
  });
  // Archive objects: decompress to a temp file next to the target, then place it natively.
  await mapLimit(chunk(jsWrites, 64), 4, async (batch) => {
    throwAborted(opts.signal);
    const staged: CheckoutOp[] = [];
    const temps: string[] = [];
    try {
      for (const f of batch) {
        const o = await repo.loadFile(f.checksum);
        const data = await o.readPayload();
        const tmp = path.join(path.dirname(f.dest), tmpName('co'));
        await fsp.writeFile(tmp, data, { mode: 0o600, flag: 'wx' });
        temps.push(tmp);
        let mode = o.header.mode & 0o7777;
        if (userMode) mode = (mode & ~0o6000) | 0o400;
        const op: CheckoutOp = { op: 'copy', src: tmp, dest: f.dest, mode };
        if (!userMode) {
          op.uid = o.header.uid;
          op.gid = o.header.gid;
          if (o.header.xattrs.length) op.xattrs = o.header.xattrs;
        }
        staged.push(op);
      }
      const r = await n.checkout_batch(staged, copts);
      result.copied += r.copied;
      result.skipped += r.skipped;
    } finally {
      await Promise.all(temps.map((t) => fsp.rm(t, { force: true })));
    }
    done += batch.length;
    opts.onProgress?.({ phase: 'checkout', loaded: done, total, unit: 'files' });
  });
}

