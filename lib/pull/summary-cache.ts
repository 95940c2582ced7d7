// The per-remote summary cache (FORMATS.md §3.7, §7.2):
// CACHEDIR/summaries/REMOTE and REMOTE.sig, where CACHEDIR is REPO/tmp/cache
// unless a cache dir is given. The HTTP ETag of each file is kept in its
// `user.etag` xattr and Last-Modified as its mtime; both are sent back as
// If-None-Match / If-Modified-Since on the next pull. Failures to read or
// store the validators are not errors (the cache is an optimisation).
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { isErrno } from '../errors';
import { Repo, writeFileAtomic } from '../repo/repo';
import { native } from '../binding';

export interface CacheValidators {
  etag?: string;
  /** Seconds since the epoch; 0 = none. */
  lastModified: number;
}

/**
 * The summary cache directory: CACHEDIR/summaries with an explicit cache dir
 * (`--cache-dir`), else REPO/tmp/cache/summaries, or null when the repo has
 * no cache (OSTREE_SKIP_CACHE set, as ostree_repo_open honours it).
 */
export function summaryCacheDir(repo: Repo, cacheDir?: string): string | null {
  if (cacheDir !== undefined) return path.join(cacheDir, 'summaries');
  if (process.env.OSTREE_SKIP_CACHE !== undefined) return null;
  return path.join(repo.path, 'tmp', 'cache', 'summaries');
}

/**
 * Delete cached summaries (and .sig files) of remotes that no longer exist,
 * as ostree's prune does (_ostree_repo_prune_tmp).
 */
export async function pruneSummaryCache(repo: Repo, remotes: string[]): Promise<void> {
  const dir = summaryCacheDir(repo);
  if (!dir) return;
  let names: string[];
  try {
    names = await fsp.readdir(dir);
  } catch (err) {
    if (isErrno(err, 'ENOENT') || isErrno(err, 'ENOTDIR')) return;
    throw err;
  }
  const known = new Set(remotes);
  for (const n of names) {
    const remote = n.length > 4 && n.endsWith('.sig') ? n.slice(0, -4) : n;
    if (!known.has(remote)) await fsp.rm(path.join(dir, n), { force: true });
  }
}

export class SummaryCache {
  readonly dir: string;

  /** The cache of `remote`'s summary, or null when the repo has no cache (see summaryCacheDir). */
  static open(repo: Repo, remote: string, cacheDir?: string): SummaryCache | null {
    const dir = summaryCacheDir(repo, cacheDir);
    return dir === null ? null : new SummaryCache(dir, remote);
  }

  private constructor(
    dir: string,
    readonly remote: string,
  ) {
    this.dir = dir;
  }

  private file(sig: boolean): string {
    return path.join(this.dir, this.remote + (sig ? '.sig' : ''));
  }

  async load(sig: boolean): Promise<Buffer | null> {
    try {
      return await fsp.readFile(this.file(sig));
    } catch (err) {
      if (isErrno(err, 'ENOENT') || isErrno(err, 'ENOTDIR')) return null;
      throw err;
    }
  }

  async validators(sig: boolean): Promise<CacheValidators> {
    const f = this.file(sig);
    let st;
    try {
      st = await fsp.stat(f);
    } catch {
      return { lastModified: 0 };
    }
    let etag: string | undefined;
    try {
      const x = (await native().xattrs_get(f)).find(([k]) => k === 'user.etag');
      // Loosely valid (RFC 7232 §2.3): no embedded NULs.
      if (x && x[1].length > 0 && !x[1].includes(0)) etag = x[1].toString('latin1');
    } catch {
      /* no xattr support */
    }
    return { etag, lastModified: Math.floor(st.mtimeMs / 1000) };
  }

  /** Remove a cached signature (a signature without its summary is useless). */
  async dropSig(): Promise<void> {
    await fsp.rm(this.file(true), { force: true });
  }

  async save(sig: boolean, data: Buffer, v: CacheValidators): Promise<void> {
    await fsp.mkdir(this.dir, { recursive: true, mode: 0o775 });
    const f = this.file(sig);
    await writeFileAtomic(f, data);
    try {
      await native().xattrs_set(f, v.etag ? [['user.etag', Buffer.from(v.etag, 'latin1')]] : []);
    } catch {
      /* non-fatal */
    }
    if (v.lastModified > 0) {
      try {
        await fsp.utimes(f, (await fsp.stat(f)).atime, v.lastModified);
      } catch {
        /* non-fatal */
      }
    }
  }
}
