// Expiry of REPO/tmp at the end of a transaction. Mirrors cleanup_tmpdir in
// ostree-repo-commit.c (FORMATS.md §3.7): every entry of tmp/ but `cache`
// whose mtime is more than core.tmp-expiry-secs (default one day) in the
// past is removed, whole; entries from the future stay; `staging-*`
// directories (ostree's transactions) go only when their lock can be taken
// and they are not this boot's, which ostree may reuse. Besides, temp files
// our older versions left in refs/ (`.atomic-*`, a ref write killed half-way)
// and in the repo root expire by the same rule. With no boot id to tell
// this boot's staging dirs from others', all of them are kept.
// Transactions make and hold their own staging dir (claimStagingDir).
import { promises as fsp, Stats } from 'node:fs';
import * as path from 'node:path';
import { isErrno, withContext } from '../errors';
import { native } from '../binding';
import type { Repo } from './repo';

/** core.tmp-expiry-secs when unset: one day. */
export const DEFAULT_TMP_EXPIRY_SECS = 86400;

const STAGING_PREFIX = 'staging-';
/** tmpName('atomic') of lib/repo/repo.ts: `.atomic-PID-TIME-COUNTER-RANDOM`. */
const ATOMIC_TMP_RE = /^\.atomic-\d+-[0-9a-z]+-\d+-[0-9a-z]*$/;
/** The native writers' named temp files (where O_TMPFILE is missing), see TempPathIn in native/fsutil.cc. */
const NATIVE_TMP_PREFIX = '.ostree-tmp-';

/**
 * core.tmp-expiry-secs read as ostree reads it (g_ascii_strtoull): leading
 * digits after optional blanks and sign, 0 when there are none; a negative
 * value wraps to a huge one, i.e. never expires.
 */
export function tmpExpirySecs(repo: Repo): number {
  const v = repo.config.get('core', 'tmp-expiry-secs');
  if (v === undefined) return DEFAULT_TMP_EXPIRY_SECS;
  const m = /^\s*([+-]?)(\d+)/.exec(v);
  if (!m) return 0;
  const n = Number(m[2]);
  return m[1] === '-' && n !== 0 ? Infinity : n;
}

/** This boot's id, as ostree names its staging dirs: $OSTREE_BOOTID or the kernel's. */
async function bootId(): Promise<string | null> {
  if (process.env.OSTREE_BOOTID) return process.env.OSTREE_BOOTID;
  try {
    return (await fsp.readFile('/proc/sys/kernel/random/boot_id', 'utf8')).split('\n')[0];
  } catch {
    return null;
  }
}

/**
 * The age rule: strictly older than `expiry` seconds, by whole seconds as
 * ostree counts; mtimes in the future never expire. Our native writers set
 * mtime 0 on a named temp file before they link it, so theirs is aged by
 * ctime, which only moves forward: a file another process is still writing
 * is never taken for a stale one.
 */
function expired(name: string, st: Stats, nowSecs: number, expiry: number): boolean {
  const t = Math.floor((name.startsWith(NATIVE_TMP_PREFIX) ? st.ctimeMs : st.mtimeMs) / 1000);
  if (t > nowSecs) return false;
  return nowSecs - t > expiry;
}

async function lstatOrNull(p: string): Promise<Stats | null> {
  try {
    return await fsp.lstat(p);
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return null; // another cleanup won
    throw err;
  }
}

/**
 * An ostree staging dir: removed when its sibling `NAME-lock` can be locked
 * (no transaction uses it) and it is from another boot. The lock is held
 * while removing, so no transaction claims the dir half-deleted; then the
 * lock file goes too, as libglnx drops a lock file it held exclusively.
 */
async function cleanupStagingDir(tmp: string, name: string, thisBoot: string | null): Promise<void> {
  if (thisBoot === null || name.startsWith(`${STAGING_PREFIX}${thisBoot}-`)) return;
  const n = native();
  const lockFile = path.join(tmp, `${name}-lock`);
  const h = await n.lock_open(lockFile);
  try {
    if (!(await n.lock_try(h, 'exclusive'))) return;
    await fsp.rm(path.join(tmp, name), { recursive: true, force: true });
    await fsp.rm(lockFile, { force: true });
  } finally {
    await n.lock_close(h);
  }
}

/** Stale `.atomic-*` files directly in `dir` (and its subdirectories with `recurse`). */
async function expireAtomicTemps(dir: string, recurse: boolean, nowSecs: number, expiry: number): Promise<void> {
  let ents;
  try {
    ents = await fsp.readdir(dir, { withFileTypes: true });
  } catch (err) {
    if (isErrno(err, 'ENOENT') || isErrno(err, 'ENOTDIR')) return;
    throw err;
  }
  const subdirs: string[] = [];
  for (const e of ents) {
    if (e.isDirectory()) {
      if (recurse) subdirs.push(e.name);
    } else if (ATOMIC_TMP_RE.test(e.name)) {
      const p = path.join(dir, e.name);
      const st = await lstatOrNull(p);
      if (st && !st.isDirectory() && expired(e.name, st, nowSecs, expiry)) await fsp.rm(p, { force: true });
    }
  }
  for (const s of subdirs) await expireAtomicTemps(path.join(dir, s), true, nowSecs, expiry);
}

/**
 * cleanup_tmpdir: run by a transaction's commit and abort while the shared
 * repo lock is held. Errors carry the prefix "tmpdir cleanup".
 */
export async function cleanupTmpdir(repo: Repo): Promise<void> {
  try {
    const expiry = tmpExpirySecs(repo);
    const nowSecs = Math.floor(Date.now() / 1000);
    const tmp = path.join(repo.path, 'tmp');
    let names: string[];
    try {
      names = await fsp.readdir(tmp);
    } catch (err) {
      if (!isErrno(err, 'ENOENT')) throw err;
      names = [];
    }
    let thisBoot: string | null | undefined;
    for (const name of names) {
      if (name === 'cache') continue;
      const p = path.join(tmp, name);
      const st = await lstatOrNull(p);
      if (!st) continue;
      if (name.startsWith(STAGING_PREFIX) && st.isDirectory()) {
        if (thisBoot === undefined) thisBoot = await bootId();
        await cleanupStagingDir(tmp, name, thisBoot);
        continue;
      }
      if (!expired(name, st, nowSecs, expiry)) continue;
      try {
        await fsp.rm(p, { recursive: true, force: true });
      } catch (err) {
        throw withContext(`Removing ${name}`, err);
      }
    }
    await expireAtomicTemps(path.join(repo.path, 'refs'), true, nowSecs, expiry);
    await expireAtomicTemps(repo.path, false, nowSecs, expiry);
  } catch (err) {
    throw withContext('tmpdir cleanup', err);
  }
}

/** A transaction's staging dir and the lock on its `NAME-lock` file. */
export interface StagingDir {
  path: string;
  /** After a successful commit: delete the dir and its lock file (still locked). */
  remove(): Promise<void>;
  /** Unlock (the lock file goes); the dir stays for a later transaction of this boot to reuse. */
  release(): Promise<void>;
}

/**
 * ostree's commit staging dir (_ostree_repo_allocate_tmpdir with prefix
 * `staging-BOOTID-`): an unlocked one this boot left behind (a failed or
 * killed transaction) is reused, else a new one is made; its `NAME-lock`
 * is held until the transaction ends. Null without a boot id.
 */
export async function claimStagingDir(repo: Repo): Promise<StagingDir | null> {
  const boot = await bootId();
  if (boot === null) return null;
  const tmp = path.join(repo.path, 'tmp');
  const prefix = `${STAGING_PREFIX}${boot}-`;
  const n = native();
  const tryClaim = async (name: string): Promise<StagingDir | null> => {
    const lockFile = path.join(tmp, `${name}-lock`);
    const h = await n.lock_open(lockFile);
    if (!(await n.lock_try(h, 'exclusive'))) {
      await n.lock_close(h);
      return null;
    }
    const dir = path.join(tmp, name);
    return {
      path: dir,
      async remove() {
        await fsp.rm(dir, { recursive: true, force: true });
        await fsp.rm(lockFile, { force: true });
      },
      async release() {
        // As libglnx drops a lock file it held exclusively.
        await fsp.rm(lockFile, { force: true }).finally(() => n.lock_close(h));
      },
    };
  };
  for (const e of await fsp.readdir(tmp, { withFileTypes: true })) {
    if (!e.isDirectory() || !e.name.startsWith(prefix)) continue;
    const got = await tryClaim(e.name);
    if (got) return got;
  }
  const chars = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  for (let attempt = 0; attempt < 100; attempt++) {
    let suffix = '';
    for (let i = 0; i < 6; i++) suffix += chars[Math.floor(Math.random() * chars.length)];
    const name = prefix + suffix;
    try {
      await fsp.mkdir(path.join(tmp, name), { mode: 0o700 });
    } catch (err) {
      if (isErrno(err, 'EEXIST')) continue;
      throw err;
    }
    const got = await tryClaim(name);
    if (got) return got;
  }
  throw new Error(`Could not create a staging directory in ${tmp}`);
}
