// Deploying a commit into an application install directory, in phases
// (ostree-sysroot-deploy.c's sysroot_deploy, without a bootloader):
//   1. a ref PREFIX/COMMIT.SERIAL in the repo (prune keeps the commit);
//   2. a hardlinked user-mode checkout into versions/.tmp-deploy-…;
//   3. the user-data directories made private copies and merged (merge-dirs.ts);
//   4. syncfs, then the rename into versions/COMMIT.SERIAL (the directory fsynced);
//   5. the state written with the new version listed;
//   6. (switch) `current` replaced by a new symlink renamed over it, the
//      directory fsynced, and the state written again (current, previous).
// Until the rename in 4, a failure or an abort removes what was made (the
// temporary tree, the ref) and nothing is visible; a crash leaves only
// temporary names, which the next open or cleanup removes. After it, the
// deploy completes; a crash leaves a complete version that reconciliation
// either lists (after 5) or removes (before 5), and `current` always names a
// complete version.
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { OstreeError, throwAborted } from '../errors';
import type { Repo } from '../repo/repo';
import { checkout, resolveSubpath } from '../checkout/checkout';
import { resolveRev } from '../refs/refs';
import { isValidChecksum } from '../objects/formats';
import { native } from '../binding';
import type { Progress } from '../progress';
import { AppState, DeploymentRecord, deploymentName, writeState } from './state';
import { CURRENT_LINK, TMP_PREFIX, VERSIONS_DIR } from './layout';
import { breakHardlinks, removeTree } from './tree-ops';
import { mergeUserDir } from './merge-dirs';

/** Deploy progress: `checkout` counts files placed; `merge` (one step per user-data directory), `sync` and `switch` count steps. */
export type AppDeployProgress = Progress<'checkout' | 'merge' | 'sync' | 'switch'>;

export interface AppDeployOptions {
  /** Make the new version current (default true); else it is only deployed (switch later with switchTo). */
  switch?: boolean;
  /**
   * User-data directories (relative to the version root, e.g. 'config')
   * carried over from the current version by a three-way merge, and kept as
   * private copies (not hardlinks into the repository) so the application may
   * write to them.
   */
  mergeDirs?: string[];
  signal?: AbortSignal;
  onProgress?: (p: AppDeployProgress) => void;
}

/** What a deploy needs from the AppDeployments object. */
export interface DeployContext {
  installDir: string;
  repo: Repo;
  state: AppState;
  /** Write (or delete) the repo refs of deployments in one transaction. */
  setRefs(changes: Array<[string, string | null]>): Promise<void>;
}

/**
 * Fault injection for the crash tests: NODE_OSTREE_FAULT=app-deploy:PHASE
 * kills the process (SIGKILL) when the deploy reaches PHASE.
 */
function faultAt(phase: string): void {
  if (process.env.NODE_OSTREE_FAULT === `app-deploy:${phase}`) process.kill(process.pid, 'SIGKILL');
}

/** Validate a user-data directory name: relative, inside the version, normalised. */
export function checkMergeDir(d: unknown): string {
  if (typeof d !== 'string' || d === '') throw new TypeError('mergeDirs entries must be non-empty relative paths');
  const n = path.posix.normalize(d).replace(/\/+$/, '');
  if (path.posix.isAbsolute(n) || n === '.' || n === '..' || n.startsWith('../')) {
    throw new RangeError(`Invalid merge directory '${d}': expected a path inside the version, like 'config'`);
  }
  return n;
}

/** The commit a rev names (a checksum as is, else a ref or rev expression). */
async function commitOf(repo: Repo, rev: string): Promise<string> {
  return isValidChecksum(rev) ? rev : ((await resolveRev(repo, rev)) as string);
}

/** A fresh temporary name under versions/. */
function tmpIn(installDir: string, what: string): string {
  return path.join(installDir, VERSIONS_DIR, `${TMP_PREFIX}${what}-${process.pid}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`);
}

/** Phase 3: private copies of the user-data directories, with the user's changes from the current version merged in. */
async function mergeUserDirs(ctx: DeployContext, tmp: string, dirs: string[], opts: AppDeployOptions): Promise<void> {
  const cur = ctx.state.deployments.find((d) => d.name === ctx.state.current) ?? null;
  let done = 0;
  for (const dir of dirs) {
    throwAborted(opts.signal);
    await breakHardlinks(path.join(tmp, dir), opts.signal);
    if (cur) {
      // The previous version's pristine copy: its commit's tree, checked out aside.
      let pristine: string | null = tmpIn(ctx.installDir, 'pristine');
      const c = await ctx.repo.readCommit(cur.commit);
      const there = await resolveSubpath(ctx.repo, c.rootTree, c.rootMeta, dir).catch((err) => {
        if (err instanceof OstreeError && err.code === 'OSTREE_NOT_FOUND') return null;
        throw err;
      });
      try {
        if (there?.kind === 'dir') await checkout(ctx.repo, cur.commit, pristine, { mode: 'user', subpath: dir, signal: opts.signal });
        else pristine = null;
        await mergeUserDir(pristine, path.join(ctx.installDir, VERSIONS_DIR, cur.name, dir), path.join(tmp, dir), opts.signal);
      } finally {
        if (pristine) await removeTree(pristine);
      }
    }
    opts.onProgress?.({ phase: 'merge', loaded: ++done, total: dirs.length, unit: 'steps' });
  }
}

/** Replace `current` atomically: a new symlink beside it renamed over it, the directory fsynced. */
export async function switchCurrentLink(installDir: string, name: string): Promise<void> {
  const tmp = path.join(installDir, `${TMP_PREFIX}current-${process.pid}-${Date.now().toString(36)}`);
  await fsp.symlink(`${VERSIONS_DIR}/${name}`, tmp);
  try {
    faultAt('link-created');
    await fsp.rename(tmp, path.join(installDir, CURRENT_LINK));
  } catch (err) {
    await fsp.rm(tmp, { force: true });
    throw err;
  }
  await native().fs_fsync(installDir);
}

/**
 * Deploy `rev` (phases above); returns the new record and the new state.
 * The caller holds the install directory's lock and has reconciled the state.
 */
export async function deployVersion(ctx: DeployContext, rev: string, opts: AppDeployOptions): Promise<{ record: DeploymentRecord; state: AppState }> {
  const { installDir, repo } = ctx;
  const mergeDirs = (opts.mergeDirs ?? []).map(checkMergeDir);
  throwAborted(opts.signal);
  const commit = await commitOf(repo, rev);
  await repo.readCommit(commit); // fails early (OSTREE_OBJECT_NOT_FOUND) for a commit that is not there
  const serial = Math.max(-1, ...ctx.state.deployments.filter((d) => d.commit === commit).map((d) => d.serial)) + 1;
  const name = deploymentName(commit, serial);
  const ref = `${ctx.state.refPrefix}/${name}`;
  const tmp = tmpIn(installDir, `deploy-${commit.slice(0, 12)}.${serial}`);
  const final = path.join(installDir, VERSIONS_DIR, name);

  // Phases 1–4: nothing visible until the rename; undone on failure.
  await ctx.setRefs([[ref, commit]]);
  faultAt('ref-written');
  let renamed = false;
  try {
    await checkout(repo, commit, tmp, {
      mode: 'user',
      signal: opts.signal,
      onProgress: opts.onProgress ? (p) => opts.onProgress?.({ phase: 'checkout', loaded: p.loaded, total: p.total, unit: 'files' }) : undefined,
    });
    faultAt('checked-out');
    if (mergeDirs.length) await mergeUserDirs(ctx, tmp, mergeDirs, opts);
    faultAt('merged');
    throwAborted(opts.signal);
    opts.onProgress?.({ phase: 'sync', loaded: 0, total: 1, unit: 'steps' });
    await native().fs_syncfs(tmp);
    throwAborted(opts.signal);
    faultAt('synced');
    await fsp.rename(tmp, final);
    renamed = true;
    await native().fs_fsync(path.join(installDir, VERSIONS_DIR));
    opts.onProgress?.({ phase: 'sync', loaded: 1, total: 1, unit: 'steps' });
  } catch (err) {
    if (!renamed) {
      await removeTree(tmp).catch(() => undefined);
      await ctx.setRefs([[ref, null]]).catch(() => undefined);
    }
    throw err;
  }
  faultAt('renamed');

  // Phase 5: listed.
  const record: DeploymentRecord = { name, commit, serial, deployedAt: new Date().toISOString(), pinned: false, origin: rev, mergeDirs };
  let state: AppState = { ...ctx.state, deployments: [record, ...ctx.state.deployments] };
  await writeState(installDir, state);
  faultAt('state-added');

  // Phase 6: switched.
  if (opts.switch ?? true) {
    opts.onProgress?.({ phase: 'switch', loaded: 0, total: 1, unit: 'steps' });
    state = await switchTo(installDir, state, name);
    opts.onProgress?.({ phase: 'switch', loaded: 1, total: 1, unit: 'steps' });
  }
  return { record, state };
}

/** Make `name` current: the link, then the state (the old current becomes the previous). */
export async function switchTo(installDir: string, state: AppState, name: string): Promise<AppState> {
  if (state.current === name) return state;
  await switchCurrentLink(installDir, name);
  faultAt('switched');
  const next: AppState = { ...state, current: name, previous: state.current };
  await writeState(installDir, next);
  return next;
}
