// Deployments of an application (an Electron or Node app, no bootloader)
// from an OSTree repository into an install directory: versions side by side
// as hardlinked checkouts, an atomically switched `current` symlink,
// rollback, pins, cleanup keeping N versions. The app counterpart of
// ostree's sysroot deployments (ostree-sysroot-deploy.c, ostree-sysroot-
// cleanup.c); the layout is in layout.ts, the state file in state.ts, the
// deploy phases in deploy.ts.
//
// Every change takes INSTALL/.lock exclusively (the repo lock's primitives,
// lib/lock.ts: OFD locks, so two updaters — two processes, or two objects in
// one process — exclude each other), reconciles the state with the disk, and
// removes leftovers of interrupted operations first.
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import { OstreeError, throwAborted } from '../errors';
import { Repo } from '../repo/repo';
import { RepoLock, DEFAULT_LOCK_TIMEOUT_SECS } from '../lock';
import { listRefs, isValidRefName } from '../refs/refs';
import { withTransaction } from '../repo/transaction';
import { prune, PruneResult } from '../prune';
import type { Metadata } from '../objects/formats';
import { AppState, DeploymentRecord, STATE_FORMAT, readState, writeState } from './state';
import { CURRENT_LINK, LOCK_FILE, TMP_PREFIX, VERSIONS_DIR, readDisk, reconcile, sameState } from './layout';
import { AppDeployOptions, deployVersion, switchTo } from './deploy';
import { removeTree } from './tree-ops';

export type { AppDeployOptions, AppDeployProgress } from './deploy';

export interface AppDeploymentsOptions {
  /** The repository deployments come from (bare-user for a non-root app; on the install directory's filesystem, so checkouts hardlink). */
  repo: Repo;
  /**
   * Ref prefix keeping deployed commits in the repo (refs PREFIX/COMMIT.SERIAL),
   * fixed when the install directory is first opened; default
   * `app-deployments/<hash of the install directory's path>`.
   */
  refPrefix?: string;
  /** Seconds to wait for another updater's lock (default 30; 0 tries once, -1 waits forever). */
  lockTimeout?: number;
}

/** One deployed version, as {@link AppDeployments.deployments} lists it. */
export interface AppDeployment {
  /** `COMMIT.SERIAL`, the directory name under versions/. */
  name: string;
  commit: string;
  serial: number;
  /** Absolute path of the version's tree. */
  path: string;
  current: boolean;
  /** The rollback target. */
  previous: boolean;
  pinned: boolean;
  /** The commit's `version` metadata, if any. */
  version: string | null;
  subject: string | null;
  /** The commit's timestamp (null if the commit object is gone). */
  timestamp: Date | null;
  deployedAt: Date;
  /** The rev deployed (a ref or a checksum). */
  origin: string | null;
  mergeDirs: string[];
}

export interface AppCleanupOptions {
  /** The newest versions to keep (default 3); current, previous and pinned versions are kept besides. */
  keep?: number;
  /** Also prune the repository (refs only) once the refs of removed versions are gone. */
  prune?: boolean;
  signal?: AbortSignal;
}

export interface AppCleanupResult {
  /** Names of the versions removed. */
  removed: string[];
  /** Temporary leftovers of interrupted operations removed. */
  leftovers: number;
  pruned: PruneResult | null;
}

function metaString(m: Metadata, key: string): string | null {
  const v = m.find(([k]) => k === key)?.[1];
  return v && v.type === 's' && typeof v.value === 'string' ? v.value : null;
}

function defaultRefPrefix(installDir: string): string {
  return `app-deployments/${createHash('sha256').update(installDir).digest('hex').slice(0, 16)}`;
}

/**
 * The deployments of an application install directory: `versions/COMMIT.SERIAL/`
 * checkouts (hardlinked from `repo`, in user mode, so no root is needed),
 * `current` → the running version, swapped atomically, a rollback target,
 * pins, and a cleanup that keeps N versions. Crash-safe at every step: the
 * `current` link always names a complete version, and leftovers of an
 * interrupted deploy are removed by the next open or cleanup.
 *
 * @example
 * import { Repo, AppDeployments } from 'node-ostree';
 * const repo = await Repo.open('/opt/myapp/repo');
 * const app = await AppDeployments.open('/opt/myapp', { repo });
 * const d = await app.deploy('myapp/stable', { mergeDirs: ['config'] });
 * console.log('now running', d.version, 'from', d.path);
 * const healthy = (dir: string) => dir.length > 0; // e.g. start the app from dir and probe it
 * if (!healthy(d.path)) await app.rollback();
 * await app.cleanup({ keep: 2 });
 */
export class AppDeployments {
  readonly installDir: string;
  readonly repo: Repo;
  private readonly lock: RepoLock;
  private readonly refPrefix: string;
  /** Serialises this object's own operations (the file lock is recursive within one object). */
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(installDir: string, repo: Repo, lock: RepoLock, refPrefix: string) {
    this.installDir = installDir;
    this.repo = repo;
    this.lock = lock;
    this.refPrefix = refPrefix;
  }

  /**
   * Open (creating it and its state if needed) the install directory
   * `installDir`. When no other updater holds the directory, leftovers of an
   * interrupted operation are removed and the state reconciled with the disk.
   *
   * @example
   * import { Repo, AppDeployments } from 'node-ostree';
   * const app = await AppDeployments.open('/opt/myapp', { repo: await Repo.open('/opt/myapp/repo') });
   * console.log((await app.current())?.version);
   */
  static async open(installDir: string, opts: AppDeploymentsOptions): Promise<AppDeployments> {
    if (!opts || !(opts.repo instanceof Repo)) throw new TypeError('AppDeployments.open needs { repo: Repo }');
    if (opts.refPrefix !== undefined && !isValidRefName(opts.refPrefix)) throw new OstreeError('OSTREE_INVALID_REF', `Invalid ref prefix ${opts.refPrefix}`, { data: { ref: opts.refPrefix } });
    const t = opts.lockTimeout ?? DEFAULT_LOCK_TIMEOUT_SECS;
    if (typeof t !== 'number' || Number.isNaN(t) || t < -1) throw new RangeError(`Invalid lockTimeout ${String(t)}`);
    const dir = path.resolve(installDir);
    await fsp.mkdir(path.join(dir, VERSIONS_DIR), { recursive: true });
    const lock = new RepoLock(path.join(dir, LOCK_FILE), t === Infinity ? -1 : t, false);
    let state = await readState(dir);
    if (!state) {
      // First open: the state is created under the lock (two first opens agree on it).
      await lock.with('exclusive', async () => {
        state = await readState(dir);
        if (!state) {
          state = { format: STATE_FORMAT, refPrefix: opts.refPrefix ?? defaultRefPrefix(dir), current: null, previous: null, deployments: [] };
          await writeState(dir, state);
        }
      });
    }
    const s = state as unknown as AppState;
    if (opts.refPrefix !== undefined && opts.refPrefix !== s.refPrefix) {
      throw new OstreeError('OSTREE_INVALID_ARGUMENT', `${dir} keeps its deployments under refs ${s.refPrefix}, not ${opts.refPrefix}`, { data: { refPrefix: s.refPrefix } });
    }
    const app = new AppDeployments(dir, opts.repo, lock, s.refPrefix);
    // Tidy up after a crash, unless another updater is at work right now.
    let held = false;
    try {
      await lock.push('exclusive', { timeout: 0 });
      held = true;
    } catch (err) {
      if (!(err instanceof OstreeError && err.code === 'OSTREE_LOCKED')) throw err;
    }
    if (held) {
      try {
        await app.repair();
      } finally {
        await lock.pop('exclusive');
      }
    }
    return app;
  }

  /**
   * Run `fn` holding the install directory's lock, on the repaired state,
   * after this object's earlier operations.
   */
  private locked<T>(fn: (state: AppState, leftovers: number) => Promise<T>, signal?: AbortSignal): Promise<T> {
    const run = async () => {
      throwAborted(signal);
      return this.lock.with(
        'exclusive',
        async () => {
          const r = await this.repair();
          return fn(r.state, r.leftovers);
        },
        { signal },
      );
    };
    const p = this.queue.then(run, run);
    this.queue = p.catch(() => undefined);
    return p;
  }

  /** The state reconciled with the disk (read-only: nothing is written). */
  private async view(): Promise<AppState> {
    const state = await readState(this.installDir);
    if (!state) throw new OstreeError('OSTREE_INVALID_STATE', `${this.installDir} has no deployment state`, { data: { path: this.installDir } });
    return reconcile(state, await readDisk(this.installDir));
  }

  /**
   * Under the lock: reconcile the state with the disk and write it if it
   * changed, remove temporary leftovers and unlisted version directories,
   * and make the repo refs match the list (one ref per deployment).
   */
  private async repair(): Promise<{ state: AppState; leftovers: number }> {
    const saved = await readState(this.installDir);
    if (!saved) throw new OstreeError('OSTREE_INVALID_STATE', `${this.installDir} has no deployment state`, { data: { path: this.installDir } });
    const disk = await readDisk(this.installDir);
    const state = reconcile(saved, disk);
    if (!sameState(state, saved)) await writeState(this.installDir, state);
    let leftovers = 0;
    for (const p of disk.leftovers) {
      await removeTree(p);
      leftovers++;
    }
    const listed = new Set(state.deployments.map((d) => d.name));
    for (const name of disk.dirs) {
      if (listed.has(name)) continue;
      // A version renamed into place whose deploy died before listing it, or removed from the list by a cleanup that died.
      await this.removeVersionDir(name);
      leftovers++;
    }
    const refs = await listRefs(this.repo, { prefix: this.refPrefix });
    const changes: Array<[string, string | null]> = [];
    const have = new Map(refs.map((r) => [r.ref.slice(this.refPrefix.length + 1), r.checksum]));
    for (const [name] of have) if (!listed.has(name)) changes.push([`${this.refPrefix}/${name}`, null]);
    for (const d of state.deployments) if (have.get(d.name) !== d.commit) changes.push([`${this.refPrefix}/${d.name}`, d.commit]);
    await this.setRefs(changes);
    return { state, leftovers };
  }

  private async setRefs(changes: Array<[string, string | null]>): Promise<void> {
    if (!changes.length) return;
    await withTransaction(this.repo, async (tx) => {
      for (const [ref, c] of changes) tx.setRef(ref, c);
    });
  }

  /** Make a version directory disappear at once (rename to a temporary name), then delete it. */
  private async removeVersionDir(name: string): Promise<void> {
    const from = path.join(this.installDir, VERSIONS_DIR, name);
    const to = path.join(this.installDir, VERSIONS_DIR, `${TMP_PREFIX}remove-${name}`);
    await removeTree(to);
    await fsp.rename(from, to);
    await removeTree(to);
  }

  private async describe(state: AppState, d: DeploymentRecord): Promise<AppDeployment> {
    let version: string | null = null;
    let subject: string | null = null;
    let timestamp: Date | null = null;
    try {
      const c = await this.repo.readCommit(d.commit);
      version = metaString(c.metadata, 'version');
      subject = c.subject;
      timestamp = new Date(Number(c.timestamp) * 1000);
    } catch (err) {
      if (!(err instanceof OstreeError && err.code === 'OSTREE_OBJECT_NOT_FOUND')) throw err;
    }
    return {
      name: d.name,
      commit: d.commit,
      serial: d.serial,
      path: path.join(this.installDir, VERSIONS_DIR, d.name),
      current: state.current === d.name,
      previous: state.previous === d.name,
      pinned: d.pinned,
      version,
      subject,
      timestamp,
      deployedAt: new Date(d.deployedAt),
      origin: d.origin,
      mergeDirs: [...d.mergeDirs],
    };
  }

  private find(state: AppState, version: string | AppDeployment): DeploymentRecord {
    const name = typeof version === 'string' ? version : version?.name;
    if (typeof name !== 'string') throw new TypeError('Expected a deployment name (COMMIT.SERIAL) or an AppDeployment');
    const d = state.deployments.find((x) => x.name === name);
    if (!d) throw new OstreeError('OSTREE_NOT_FOUND', `No deployment ${name} in ${this.installDir}`, { data: { name } });
    return d;
  }

  /**
   * Every deployed version, newest first, with its flags (current, previous,
   * pinned) and its commit's version metadata. Takes no lock.
   *
   * @example
   * for (const d of await app.deployments()) console.log(d.current ? '*' : ' ', d.name, d.version);
   */
  async deployments(): Promise<AppDeployment[]> {
    const state = await this.view();
    return Promise.all(state.deployments.map((d) => this.describe(state, d)));
  }

  /**
   * The version `current` points to, or null before the first switch.
   *
   * @example
   * const cur = await app.current();
   * if (cur) console.log(cur.path, cur.commit);
   */
  async current(): Promise<AppDeployment | null> {
    const state = await this.view();
    const d = state.deployments.find((x) => x.name === state.current);
    return d ? this.describe(state, d) : null;
  }

  /**
   * Check `rev` (a ref, a checksum, any rev) out as a new version and, unless
   * `switch: false`, make it current; `mergeDirs` carries the user's changes
   * to those directories over from the current version (three-way, as
   * /etc). Rejects with OSTREE_ABORTED when `signal` fires before the version
   * is in place (then nothing of it remains), OSTREE_LOCKED when another
   * updater holds the directory.
   *
   * @example
   * const d = await app.deploy('myapp/stable', {
   *   mergeDirs: ['config'],
   *   onProgress: (p) => console.log(p.phase, p.loaded, p.total),
   * });
   */
  async deploy(rev: string, opts: AppDeployOptions = {}): Promise<AppDeployment> {
    if (typeof rev !== 'string' || rev === '') throw new TypeError('deploy needs a rev (a ref or a commit checksum)');
    return this.locked(async (state) => {
      const ctx = { installDir: this.installDir, repo: this.repo, state, setRefs: (c: Array<[string, string | null]>) => this.setRefs(c) };
      const { record, state: next } = await deployVersion(ctx, rev, opts);
      return this.describe(next, record);
    }, opts.signal);
  }

  /**
   * Make a deployed version current (atomically); the version that was
   * current becomes the rollback target.
   *
   * @example
   * const [newest] = await app.deployments();
   * await app.switchTo(newest.name);
   */
  async switchTo(version: string | AppDeployment): Promise<AppDeployment> {
    return this.locked(async (state) => {
      const d = this.find(state, version);
      return this.describe(await switchTo(this.installDir, state, d.name), d);
    });
  }

  /**
   * Switch back to the rollback target: the version that was current before
   * the last switch or, when it is gone, the newest version older than the
   * current one. The version left becomes the rollback target (a second
   * rollback returns). Rejects with OSTREE_NO_ROLLBACK_TARGET when there is
   * no other version.
   *
   * @example
   * const back = await app.rollback();
   * console.log('rolled back to', back.version);
   */
  async rollback(): Promise<AppDeployment> {
    return this.locked(async (state) => {
      let target = state.previous;
      if (!target) {
        const i = state.deployments.findIndex((d) => d.name === state.current);
        target = i >= 0 ? (state.deployments[i + 1]?.name ?? null) : null;
      }
      if (!target) throw new OstreeError('OSTREE_NO_ROLLBACK_TARGET', `No version to roll back to in ${this.installDir}`, { data: { current: state.current } });
      return this.describe(await switchTo(this.installDir, state, target), this.find(state, target));
    });
  }

  /**
   * Pin a version: cleanup never removes it.
   *
   * @example
   * await app.pin((await app.current())!);
   */
  async pin(version: string | AppDeployment): Promise<void> {
    await this.setPinned(version, true);
  }

  /**
   * Unpin a version (cleanup may remove it again).
   *
   * @example
   * await app.unpin('0123…abcd.0');
   */
  async unpin(version: string | AppDeployment): Promise<void> {
    await this.setPinned(version, false);
  }

  private async setPinned(version: string | AppDeployment, pinned: boolean): Promise<void> {
    await this.locked(async (state) => {
      const d = this.find(state, version);
      if (d.pinned === pinned) return;
      const next: AppState = { ...state, deployments: state.deployments.map((x) => (x === d ? { ...x, pinned } : x)) };
      await writeState(this.installDir, next);
    });
  }

  /**
   * Remove old versions, keeping the `keep` newest plus the current, the
   * previous (rollback target) and pinned ones; also removes what
   * interrupted operations left. Their refs go with them, so with `prune`
   * (or a later {@link prune}) their objects leave the repository.
   *
   * @example
   * const { removed } = await app.cleanup({ keep: 2, prune: true });
   */
  async cleanup(opts: AppCleanupOptions = {}): Promise<AppCleanupResult> {
    const keep = opts.keep ?? 3;
    if (!Number.isInteger(keep) || keep < 0) throw new RangeError(`Invalid keep ${String(keep)}: expected an integer ≥ 0`);
    const removed: string[] = [];
    let leftovers = 0;
    await this.locked(async (state, tidied) => {
      leftovers = tidied;
      const kept = state.deployments.filter((d, i) => i < keep || d.pinned || d.name === state.current || d.name === state.previous);
      if (kept.length === state.deployments.length) return;
      const gone = state.deployments.filter((d) => !kept.includes(d));
      // The list first (a crash after it leaves unlisted directories, removed by the next repair), then the refs and trees.
      await writeState(this.installDir, { ...state, deployments: kept });
      await this.setRefs(gone.map((d) => [`${this.refPrefix}/${d.name}`, null]));
      for (const d of gone) {
        throwAborted(opts.signal);
        await this.removeVersionDir(d.name);
        removed.push(d.name);
      }
    }, opts.signal);
    const pruned = opts.prune ? await prune(this.repo, { refsOnly: true, signal: opts.signal }) : null;
    return { removed, leftovers, pruned };
  }

  /** The path of the `current` symlink (what a launcher starts from). */
  get currentPath(): string {
    return path.join(this.installDir, CURRENT_LINK);
  }
}
