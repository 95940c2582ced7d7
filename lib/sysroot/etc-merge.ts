// The three-way /etc merge of a deploy (ostree-sysroot-deploy.c,
// merge_configuration_from and copy_modified_config_file) and `ostree admin
// config-diff`. The merge deployment's /usr/etc is the base, its /etc the
// locally modified copy; what the admin changed (diffed ignoring xattrs) is
// applied onto the new deployment's /etc, which starts as a copy of the new
// /usr/etc. The local version always wins; there is no content merge.
//
// Phases: diff (lib/diff.ts) → removals (rm -rf) → plan (directories are
// created and replaced files unlinked as ostree does, in its order; file
// copies and directory attributes are collected) → one metadata scan per
// kind of entry → one native batch that writes the files and attributes.
import { promises as fsp, Stats } from 'node:fs';
import * as path from 'node:path';
import { native, CheckoutOp } from '../binding';
import { diffDirs, formatDiff, DiffResult } from '../diff';
import { LocalFile } from '../read/local-file';
import { OstreeError, isErrno, throwAborted, withContext } from '../errors';

/** What an /etc differs from its defaults by, as paths relative to the /etc roots. */
export interface ConfigDiff {
  modified: string[];
  removed: string[];
  added: string[];
  /** The underlying diff (its files are rooted at the two directories). */
  diff: DiffResult;
}

export interface ConfigDiffOptions {
  signal?: AbortSignal;
}

export interface MergeEtcOptions {
  signal?: AbortSignal;
  /** Copy no xattrs (ostree's OSTREE_SYSROOT_DEBUG=no-xattrs). */
  noXattrs?: boolean;
}

export interface MergeEtcResult {
  modified: number;
  removed: number;
  added: number;
  /** The line ostree prints: `Copying /etc changes: N modified, N removed, N added`. */
  message: string;
}

/**
 * The local changes of an /etc against its defaults (`ostree admin
 * config-diff`): both trees are compared ignoring xattrs, in ostree's order.
 * Print them with {@link formatConfigDiff}.
 *
 * @example
 * import { configDiff, formatConfigDiff } from 'node-ostree';
 * const deployment = '/ostree/deploy/os/deploy/0123abcd.0';
 * const diff = await configDiff(`${deployment}/usr/etc`, `${deployment}/etc`);
 * process.stdout.write(formatConfigDiff(diff)); // "M    hostname\n" …
 */
export async function configDiff(origUsrEtc: string, etc: string, opts: ConfigDiffOptions = {}): Promise<ConfigDiff> {
  const diff = await diffDirs(new LocalFile(origUsrEtc), new LocalFile(etc), { ignoreXattrs: true, signal: opts.signal });
  return {
    modified: diff.modified.map((m) => (m.target as LocalFile).rel),
    removed: diff.removed.map((f) => (f as LocalFile).rel),
    added: diff.added.map((f) => (f as LocalFile).rel),
    diff,
  };
}

/**
 * The text `ostree admin config-diff` prints: `M`, then `D`, then `A` lines
 * (four spaces, then the path relative to /etc).
 *
 * @example
 * import { configDiff, formatConfigDiff } from 'node-ostree';
 * console.log(formatConfigDiff(await configDiff('/usr/etc', '/etc')));
 */
export function formatConfigDiff(diff: ConfigDiff): string {
  return formatDiff(diff.diff);
}

interface Plan {
  /** Directories whose owner, mode and xattrs are copied: [source, destination]. */
  dirs: Array<[string, string]>;
  /** Regular files and symlinks to copy: [source, destination, source stat]. */
  files: Array<[string, string, Stats]>;
  /** ops in ostree's order, as indices into dirs (d) or files (f). */
  order: Array<['d' | 'f', number]>;
}

async function lstatOrNull(p: string): Promise<Stats | null> {
  try {
    return await fsp.lstat(p);
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return null;
    throw err;
  }
}

function addDir(plan: Plan, src: string, dest: string): void {
  plan.order.push(['d', plan.dirs.push([src, dest]) - 1]);
}

function addFile(plan: Plan, src: string, dest: string, st: Stats): void {
  plan.order.push(['f', plan.files.push([src, dest, st]) - 1]);
}

function unsupported(name: string): OstreeError {
  return new OstreeError('OSTREE_UNSUPPORTED_FILE_TYPE', `Copying ${name}: Cannot copy non-regular/non-symlink file: ${name}`, {
    data: { path: name },
  });
}

/** copy_dir_recurse: the directory, its attributes, then every entry below it. */
async function planCopyDir(plan: Plan, src: string, dest: string, signal?: AbortSignal): Promise<void> {
  throwAborted(signal);
  const entries = await fsp.readdir(src);
  await mkdirIfMissing(dest);
  addDir(plan, src, dest);
  for (const name of entries) {
    const s = path.join(src, name);
    const d = path.join(dest, name);
    const st = await fsp.lstat(s);
    if (st.isDirectory()) await planCopyDir(plan, s, d, signal);
    else if (st.isFile() || st.isSymbolicLink()) addFile(plan, s, d, st);
    else throw unsupported(name);
  }
}

async function mkdirIfMissing(p: string): Promise<void> {
  try {
    await fsp.mkdir(p, 0o700);
  } catch (err) {
    if (!isErrno(err, 'EEXIST')) throw err;
  }
}

/**
 * ensure_directory_from_template: create `rel` (and missing parents) in the
 * new /etc, copying owner, mode and xattrs from the modified /etc. Existing
 * parents further up are left alone.
 */
async function ensureDirFromTemplate(plan: Plan, modifiedEtc: string, newEtc: string, rel: string): Promise<void> {
  const src = path.join(modifiedEtc, rel);
  const st = await fsp.stat(src);
  if (!st.isDirectory()) {
    const e = new Error(`ENOTDIR: not a directory, opendir '${src}'`) as NodeJS.ErrnoException;
    e.code = 'ENOTDIR';
    throw e;
  }
  const dest = path.join(newEtc, rel);
  for (;;) {
    try {
      await fsp.mkdir(dest, 0o700);
      break;
    } catch (err) {
      if (isErrno(err, 'EEXIST')) break;
      const parent = path.posix.dirname(rel);
      if (!isErrno(err, 'ENOENT') || parent === '.') throw err;
      await ensureDirFromTemplate(plan, modifiedEtc, newEtc, parent);
    }
  }
  addDir(plan, src, dest);
}

/** copy_modified_config_file for one path relative to the /etc roots. */
async function planModified(plan: Plan, modifiedEtc: string, newEtc: string, rel: string, signal?: AbortSignal): Promise<void> {
  throwAborted(signal);
  const src = path.join(modifiedEtc, rel);
  let st: Stats;
  try {
    st = await fsp.lstat(src);
  } catch (err) {
    throw withContext('Reading modified config file', err);
  }
  if (rel.includes('/')) await ensureDirFromTemplate(plan, modifiedEtc, newEtc, path.posix.dirname(rel));
  const dest = path.join(newEtc, rel);
  const existing = await lstatOrNull(dest);
  if (existing?.isDirectory()) {
    if (!st.isDirectory()) {
      throw new OstreeError('OSTREE_EXISTS', `Modified config file newly defaults to directory '${rel}', cannot merge`, {
        data: { path: rel },
      });
    }
    return; // the directory was copied with its parent already
  }
  if (existing) await fsp.unlink(dest);
  if (st.isDirectory()) await planCopyDir(plan, src, dest, signal);
  else if (st.isFile() || st.isSymbolicLink()) addFile(plan, src, dest, st);
  // Anything else (fifos, sockets, devices) is ignored, as ostree does.
}

/** Owner, mode and xattrs of the planned sources: one batch per kind. */
async function executePlan(plan: Plan, opts: MergeEtcOptions): Promise<void> {
  if (plan.order.length === 0) return;
  const n = native();
  const dirMeta = plan.dirs.length ? await n.dirs_scan(plan.dirs.map(([s]) => s), { xattrs: !opts.noXattrs }) : [];
  const fileMeta = plan.files.length ? await n.checksum_files(plan.files.map(([s]) => s), { skipXattrs: !!opts.noXattrs }) : [];
  throwAborted(opts.signal);
  const ops: CheckoutOp[] = plan.order.map(([kind, i]): CheckoutOp => {
    if (kind === 'd') {
      const m = dirMeta[i];
      return { op: 'dirmeta', path: plan.dirs[i][1], mode: m.mode & 0o7777, uid: m.uid, gid: m.gid, xattrs: m.xattrs };
    }
    const [src, dest] = plan.files[i];
    const m = fileMeta[i];
    if (m.symlinkTarget !== null) return { op: 'symlink', target: m.symlinkTarget, dest, uid: m.uid, gid: m.gid, xattrs: m.xattrs };
    return { op: 'copy', src, dest, mode: m.mode & 0o7777, uid: m.uid, gid: m.gid, xattrs: m.xattrs, keepTimes: true };
  });
  // keepTimes: glnx_file_copy_at keeps the access and modification times of regular files.
  await n.checkout_batch(ops, { overwrite: 'replace', copyFallback: false });
}

/**
 * The /etc merge of a deploy (ostree's merge_configuration_from): what
 * differs between `origUsrEtc` (the merge deployment's /usr/etc) and
 * `modifiedEtc` (its /etc), ignoring xattrs, is applied to `newEtc` (the new
 * deployment's /etc, a copy of its /usr/etc): removed paths are deleted,
 * modified and added files, symlinks and directories are copied over with
 * owner, mode, xattrs (and file times); the local version always wins.
 * Directories that are new in `newEtc` keep their new defaults' attributes
 * unless a path below them is copied; fifos and other special files are
 * skipped. A locally modified file where the new defaults have a directory
 * fails with OSTREE_EXISTS. Errors are prefixed `During /etc merge: `.
 *
 * @example
 * import { mergeEtc } from 'node-ostree';
 * const oldDep = '/ostree/deploy/os/deploy/0123abcd.0';
 * const newDep = '/ostree/deploy/os/deploy/4567ef01.0';
 * const r = await mergeEtc(`${oldDep}/usr/etc`, `${oldDep}/etc`, `${newDep}/etc`);
 * console.log(r.message); // Copying /etc changes: 2 modified, 0 removed, 1 added
 */
export async function mergeEtc(
  origUsrEtc: string,
  modifiedEtc: string,
  newEtc: string,
  opts: MergeEtcOptions = {},
): Promise<MergeEtcResult> {
  try {
    let d: ConfigDiff;
    try {
      d = await configDiff(origUsrEtc, modifiedEtc, { signal: opts.signal });
    } catch (err) {
      throw withContext('While computing configuration diff', err);
    }
    const message = `Copying /etc changes: ${d.modified.length} modified, ${d.removed.length} removed, ${d.added.length} added`;
    for (const rel of d.removed) {
      throwAborted(opts.signal);
      await fsp.rm(path.join(newEtc, rel), { recursive: true, force: true });
    }
    const plan: Plan = { dirs: [], files: [], order: [] };
    for (const rel of [...d.modified, ...d.added]) await planModified(plan, modifiedEtc, newEtc, rel, opts.signal);
    await executePlan(plan, opts);
    return { modified: d.modified.length, removed: d.removed.length, added: d.added.length, message };
  } catch (err) {
    if (err instanceof OstreeError && err.code === 'OSTREE_ABORTED') throw err;
    throw withContext('During /etc merge', err);
  }
}
