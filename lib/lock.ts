// Repository locking: a recursive shared/exclusive lock on REPO/.lock, one
// per Repo object, shared by all async operations on it. Mirrors the
// "Repository locking" section of ostree-repo.c (FORMATS.md §5): OFD locks
// with a flock fallback (native), push/pop counters, and a timeout taken from
// core.lock-timeout-secs.
//
// Waiting is a poll of non-blocking attempts (5 ms, doubling to 50 ms), so
// neither the event loop nor a libuv pool thread is ever parked. Each attempt
// is one short critical section; between attempts the other operations on
// the same Repo keep pushing and popping (as ostree drops its mutex while it
// sleeps), so an operation waiting to upgrade never stalls its siblings.
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { OstreeError } from './errors';
import { native } from './binding';

export type LockType = 'shared' | 'exclusive';

export interface LockOptions {
  /**
   * Seconds to wait (fractions allowed); -1 (or Infinity) waits forever, 0
   * tries once. Defaults to the repo's core.lock-timeout-secs (30).
   */
  timeout?: number;
  /** Cancels a wait; the promise rejects with OSTREE_ABORTED. */
  signal?: AbortSignal;
}

/** Default as ostree's locking was designed (2017.14 – 2023.5; 300 s since 2023.6). */
export const DEFAULT_LOCK_TIMEOUT_SECS = 30;

const POLL_MIN_MS = 5;
const POLL_MAX_MS = 50;

/** The native primitives the lock is built on (injectable for tests). */
export interface LockPrimitives {
  lock_open(path: string): Promise<object>;
  /** One non-blocking attempt; false when another holder conflicts. */
  lock_try(handle: object, type: LockType | 'unlock'): Promise<boolean>;
  lock_close(handle: object): Promise<void>;
  lock_kind(handle: object): string;
}

/** Minimal view of a Repo that the lock needs (avoids an import cycle). */
export interface LockableRepo {
  path: string;
  config: { getBoolean(g: string, k: string, d: boolean): boolean; getInteger(g: string, k: string, d: number): number };
  isWritable(): Promise<boolean>;
  lockState: RepoLock | null;
}

type HeldState = 'unlocked' | LockType;

export class RepoLock {
  readonly file: string;
  /** Seconds: core.lock-timeout-secs, or DEFAULT_LOCK_TIMEOUT_SECS. */
  readonly defaultTimeout: number;
  /** True when the repo doesn't lock (core.locking=false or read-only); push/pop are no-ops. */
  readonly disabled: boolean;
  private readonly prims: LockPrimitives | null;
  private handle: object | null = null;
  /** What the open file description really holds (normally equal to `state`). */
  private held: HeldState = 'unlocked';
  private shared = 0;
  private exclusive = 0;
  /** Serialises critical sections (one syscall sequence at a time). */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(file: string, defaultTimeout: number, disabled: boolean, primitives?: LockPrimitives) {
    this.file = file;
    this.defaultTimeout = defaultTimeout;
    this.disabled = disabled;
    this.prims = primitives ?? null;
  }

  /** Effective state from the counters: exclusive if any exclusive hold, else shared if any, else unlocked. */
  get state(): HeldState {
    return this.exclusive > 0 ? 'exclusive' : this.shared > 0 ? 'shared' : 'unlocked';
  }

  get counts(): { shared: number; exclusive: number } {
    return { shared: this.shared, exclusive: this.exclusive };
  }

  /** Which primitive is in use ('ofd' | 'flock') while the lock file is open, else null. */
  get kind(): string | null {
    return this.handle ? this.p.lock_kind(this.handle) : null;
  }

  private get p(): LockPrimitives {
    return this.prims ?? native();
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  /**
   * Take (or count) a hold of `type`: shared on shared, or anything on
   * exclusive, only counts; exclusive on shared upgrades. Waits as `opts` (or
   * core.lock-timeout-secs) allows, then rejects with OSTREE_LOCKED; a
   * cancelled wait rejects with OSTREE_ABORTED. A failed push changes nothing.
   */
  push(type: LockType, opts: LockOptions = {}): Promise<void> {
    checkType(type);
    const timeout = checkTimeout(opts.timeout) ?? this.defaultTimeout;
    if (this.disabled) return Promise.resolve();
    return this.wait(type, timeout, opts.signal);
  }

  private async wait(type: LockType, timeout: number, signal?: AbortSignal): Promise<void> {
    const start = performance.now();
    let delay = POLL_MIN_MS;
    const wasHeld = this.state;
    try {
      for (;;) {
        if (signal?.aborted) {
          throw new OstreeError('OSTREE_ABORTED', `Waiting for the ${type} repo lock was cancelled`, { cause: signal.reason, data: { file: this.file, type } });
        }
        if (await this.serial(() => this.tryPush(type))) return;
        const elapsed = performance.now() - start;
        if (timeout >= 0 && elapsed >= timeout * 1000) {
          const waited = Math.round(elapsed) / 1000;
          const heldBy = type === 'shared' ? 'exclusively' : 'shared or exclusively';
          throw new OstreeError(
            'OSTREE_LOCKED',
            `Locking repo ${type} failed: ${this.file} is held ${heldBy} by another process; waited ${waited.toFixed(1)}s (timeout ${timeout}s)`,
            { data: { file: this.file, type, heldBy: type === 'shared' ? 'exclusive' : 'shared-or-exclusive', upgrade: wasHeld === 'shared', waited, timeout } },
          );
        }
        const remaining = timeout >= 0 ? timeout * 1000 - elapsed : Infinity;
        try {
          await sleep(Math.max(1, Math.min(delay, remaining)), undefined, signal ? { signal } : undefined);
        } catch {
          /* aborted: reported at the top of the loop */
        }
        delay = Math.min(POLL_MAX_MS, delay * 2);
      }
    } catch (err) {
      await this.serial(() => this.closeIfIdle());
      throw err;
    }
  }

  /** One attempt, inside the critical section. */
  private async tryPush(type: LockType): Promise<boolean> {
    const want: LockType = this.exclusive > 0 || type === 'exclusive' ? 'exclusive' : 'shared';
    if (!(this.held === 'exclusive' || this.held === want)) {
      if (!(await this.tryLock(want))) return false;
    }
    if (type === 'shared') this.shared++;
    else this.exclusive++;
    return true;
  }

  /** One non-blocking lock operation; keeps `held` truthful. */
  private async tryLock(want: LockType): Promise<boolean> {
    const p = this.p;
    if (!this.handle) this.handle = await p.lock_open(this.file);
    const before = this.held;
    if (await p.lock_try(this.handle, want)) {
      this.held = want;
      return true;
    }
    if (before !== 'unlocked' && p.lock_kind(this.handle) === 'flock') {
      // flock(2) converts by unlocking first, so a failed conversion dropped
      // our hold: take it back at once (this fails only if someone else
      // slipped in; the next push then retries).
      this.held = 'unlocked';
      if (await p.lock_try(this.handle, before)) this.held = before;
    }
    return false;
  }

  private async closeIfIdle(): Promise<void> {
    if (this.handle && this.shared + this.exclusive === 0) {
      const h = this.handle;
      this.handle = null;
      this.held = 'unlocked';
      await this.p.lock_close(h);
    }
  }

  /**
   * Release one hold of `type`: popping the last hold unlocks (and closes the
   * lock file); popping the last exclusive while shared holds remain
   * downgrades to shared. Popping a type with no hold is an
   * OSTREE_INVALID_ARGUMENT error and changes nothing. Otherwise the counters
   * always move, even if a syscall fails (the error is still reported).
   */
  pop(type: LockType): Promise<void> {
    checkType(type);
    if (this.disabled) return Promise.resolve();
    return this.serial(async () => {
      if ((type === 'shared' ? this.shared : this.exclusive) === 0) {
        throw new OstreeError('OSTREE_INVALID_ARGUMENT', `Cannot pop repo lock: no ${type} lock is held`, { data: { file: this.file, type } });
      }
      if (type === 'shared') this.shared--;
      else this.exclusive--;
      const next = this.state;
      if (next === 'unlocked') {
        const h = this.handle as object;
        this.handle = null;
        this.held = 'unlocked';
        // Unlock explicitly (a forked child may briefly share the open file
        // description), then close; closing alone also releases the lock.
        await this.p.lock_try(h, 'unlock').catch(() => undefined);
        await this.p.lock_close(h);
      } else if (next === 'shared' && this.held === 'exclusive') {
        // Neither OFD nor flock can refuse this conversion; if the primitive
        // ever does, say so rather than leave shared holders unprotected.
        const p = this.p;
        if (await p.lock_try(this.handle as object, 'shared')) {
          this.held = 'shared';
        } else if (p.lock_kind(this.handle as object) === 'flock') {
          this.held = 'unlocked';
          throw new OstreeError('OSTREE_LOCKED', `Setting repo lock to shared failed: ${this.file} was taken by another process`, {
            data: { file: this.file, type: 'shared' },
          });
        }
      }
    });
  }

  /** Run `fn` while holding `type`; the hold is released on every path. */
  async with<T>(type: LockType, fn: () => Promise<T> | T, opts: LockOptions = {}): Promise<T> {
    await this.push(type, opts);
    let result: T;
    try {
      result = await fn();
    } catch (err) {
      await this.pop(type).catch(() => undefined);
      throw err;
    }
    await this.pop(type);
    return result;
  }

  /** Take a hold and return it as a handle (`release()`, `await using`). */
  async hold(type: LockType, opts: LockOptions = {}): Promise<RepoLockHold> {
    await this.push(type, opts);
    return new RepoLockHold(this, type);
  }
}

/**
 * One hold on a repo lock, from `repo.lock(type)`. `release()` pops it (a
 * second call does nothing). Where `Symbol.asyncDispose` exists (Node ≥ 18.18 /
 * 20.4) it is also an AsyncDisposable: `await using l = await repo.lock('shared')`.
 */
export class RepoLockHold {
  readonly type: LockType;
  private readonly lock: RepoLock;
  private done = false;

  constructor(lock: RepoLock, type: LockType) {
    this.lock = lock;
    this.type = type;
  }

  get released(): boolean {
    return this.done;
  }

  async release(): Promise<void> {
    if (this.done) return;
    this.done = true;
    await this.lock.pop(this.type);
  }

  declare [Symbol.asyncDispose]: () => Promise<void>;
}

if (typeof Symbol.asyncDispose === 'symbol') {
  Object.defineProperty(RepoLockHold.prototype, Symbol.asyncDispose, {
    value: function (this: RepoLockHold) {
      return this.release();
    },
    writable: true,
    configurable: true,
  });
}

function checkType(type: string): void {
  if (type !== 'shared' && type !== 'exclusive') throw new TypeError(`Invalid lock type '${type}': expected 'shared' or 'exclusive'`);
}

function checkTimeout(t: unknown): number | undefined {
  if (t === undefined) return undefined;
  if (typeof t !== 'number' || Number.isNaN(t)) throw new TypeError('The "timeout" option must be a number of seconds');
  if (t < -1) throw new RangeError(`Invalid lock timeout ${t}: expected -1 (forever), 0 (one try) or a number of seconds`);
  return t === Infinity ? -1 : t;
}

/** The lock of a repo object (created on first use from its config). */
export async function repoLock(repo: LockableRepo): Promise<RepoLock> {
  if (!repo.lockState) {
    const enabled = repo.config.getBoolean('core', 'locking', true) && (await repo.isWritable());
    // -1 waits forever (as does any other negative value here; ostree treats -2 as core.locking=false).
    const t = repo.config.getInteger('core', 'lock-timeout-secs', DEFAULT_LOCK_TIMEOUT_SECS);
    repo.lockState ??= new RepoLock(path.join(repo.path, '.lock'), t < 0 ? -1 : t, !enabled);
  }
  return repo.lockState;
}

/**
 * Run `fn` holding the repository lock (REPO/.lock, ostree's
 * ostree_repo_auto_lock_push) of `type`: 'shared' while writing, 'exclusive'
 * for what must not race writers (prune, fsck --delete). Holds are recursive
 * per Repo object and released on every path. Rejects with OSTREE_LOCKED when
 * `timeout` seconds pass, OSTREE_ABORTED when `signal` aborts.
 *
 * @example
 * import { withRepoLock } from 'node-ostree';
 * await withRepoLock(repo, 'exclusive', async () => {
 *   // no other process writes to the repository here
 * }, { timeout: 5 });
 */
export async function withRepoLock<T>(repo: LockableRepo, type: LockType, fn: () => Promise<T> | T, opts: LockOptions = {}): Promise<T> {
  checkType(type);
  const lock = await repoLock(repo);
  return lock.with(type, fn, opts);
}
