// Repository locking: a recursive shared/exclusive lock on REPO/.lock, one
// per Repo object, shared by all async operations on it. Mirrors the
// "Repository locking" section of ostree-repo.c (FORMATS.md §5): OFD locks
// with a flock fallback (native), push/pop counters, and a timeout taken from
// core.lock-timeout-secs. Waiting is a poll on non-blocking attempts, so
// neither the event loop nor a libuv pool thread is ever parked.
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { OstreeError } from './errors';
import { native } from './binding';

export type LockType = 'shared' | 'exclusive';

export interface LockOptions {
  /** Seconds to wait; -1 waits forever, 0 tries once. Defaults to core.lock-timeout-secs (30). */
  timeout?: number;
  signal?: AbortSignal;
}

/** Default as ostree's locking was designed (2017.14 – 2023.5). */
export const DEFAULT_LOCK_TIMEOUT_SECS = 30;

const POLL_MIN_MS = 5;
const POLL_MAX_MS = 50;

/** Minimal view of a Repo that the lock needs (avoids an import cycle). */
export interface LockableRepo {
  path: string;
  config: { getBoolean(g: string, k: string, d: boolean): boolean; getInteger(g: string, k: string, d: number): number };
  isWritable(): Promise<boolean>;
  lockState: RepoLock | null;
}

export class RepoLock {
  readonly file: string;
  private handle: object | null = null;
  private shared = 0;
  private exclusive = 0;
  /** Serialises state transitions (one syscall sequence at a time). */
  private queue: Promise<unknown> = Promise.resolve();
  private readonly defaultTimeout: number;
  /** True when the repo doesn't lock (core.locking=false or read-only). */
  readonly disabled: boolean;

  constructor(file: string, defaultTimeout: number, disabled: boolean) {
    this.file = file;
    this.defaultTimeout = defaultTimeout;
    this.disabled = disabled;
  }

  /** Current effective state. */
  get state(): 'unlocked' | LockType {
    return this.exclusive > 0 ? 'exclusive' : this.shared > 0 ? 'shared' : 'unlocked';
  }

  get counts(): { shared: number; exclusive: number } {
    return { shared: this.shared, exclusive: this.exclusive };
  }

  /** Which primitive is in use ('ofd' | 'flock'), once the lock file is open. */
  get kind(): string | null {
    return this.handle ? native().lock_kind(this.handle) : null;
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Take (or count) a hold of `type`. */
  push(type: LockType, opts: LockOptions = {}): Promise<void> {
    checkType(type);
    if (this.disabled) return Promise.resolve();
    return this.serial(async () => {
      const cur = this.state;
      if (cur === 'exclusive' || cur === type) {
        this.bump(type, 1);
        return;
      }
      await this.acquire(type, opts);
      this.bump(type, 1);
    });
  }

  /** Release one hold of `type`; downgrades or unlocks as needed. */
  pop(type: LockType, opts: LockOptions = {}): Promise<void> {
    checkType(type);
    if (this.disabled) return Promise.resolve();
    return this.serial(async () => {
      if ((type === 'shared' ? this.shared : this.exclusive) === 0) {
        throw new OstreeError('OSTREE_INVALID_ARGUMENT', `Cannot pop repo lock: no ${type} lock is held`);
      }
      const total = this.shared + this.exclusive;
      if (total === 1) {
        await native().lock_try(this.handle as object, 'unlock');
        await native().lock_close(this.handle as object);
        this.handle = null;
      } else if (type === 'exclusive' && this.exclusive === 1 && this.shared > 0) {
        await this.acquire('shared', opts);
      }
      this.bump(type, -1);
    });
  }

  /** Run `fn` while holding `type`; always released. */
  async with<T>(type: LockType, fn: () => Promise<T>, opts: LockOptions = {}): Promise<T> {
    await this.push(type, opts);
    try {
      return await fn();
    } finally {
      await this.pop(type, opts);
    }
  }

  private bump(type: LockType, d: number): void {
    if (type === 'shared') this.shared += d;
    else this.exclusive += d;
  }

  private async acquire(type: LockType, opts: LockOptions): Promise<void> {
    const n = native();
    if (!this.handle) this.handle = await n.lock_open(this.file);
    const timeout = opts.timeout ?? this.defaultTimeout;
    const start = Date.now();
    let delay = POLL_MIN_MS;
    for (;;) {
      if (opts.signal?.aborted) {
        await this.closeIfUnheld();
        throw new OstreeError('OSTREE_ABORTED', `Waiting for ${type} repo lock was cancelled`, { cause: opts.signal.reason });
      }
      if (await n.lock_try(this.handle as object, type)) return;
      const waited = (Date.now() - start) / 1000;
      if (timeout >= 0 && waited >= timeout) {
        await this.closeIfUnheld();
        throw new OstreeError(
          'OSTREE_LOCKED',
          `Locking repo ${type} failed: ${this.file} is held by another process; waited ${waited.toFixed(1)}s (timeout ${timeout}s)`,
          { data: { file: this.file, type, waited, timeout } },
        );
      }
      const remaining = timeout >= 0 ? timeout * 1000 - (Date.now() - start) : Infinity;
      try {
        await sleep(Math.max(1, Math.min(delay, remaining)), undefined, opts.signal ? { signal: opts.signal } : undefined);
      } catch {
        /* aborted: checked at the top of the loop */
      }
      delay = Math.min(POLL_MAX_MS, delay * 2);
    }
  }

  private async closeIfUnheld(): Promise<void> {
    if (this.handle && this.shared + this.exclusive === 0) {
      await native().lock_close(this.handle);
      this.handle = null;
    }
  }
}

function checkType(type: string): void {
  if (type !== 'shared' && type !== 'exclusive') throw new TypeError(`Invalid lock type '${type}'`);
}

/** The lock of a repo object (created on first use). */
export async function repoLock(repo: LockableRepo): Promise<RepoLock> {
  if (!repo.lockState) {
    const enabled = repo.config.getBoolean('core', 'locking', true) && (await repo.isWritable());
    const timeout = repo.config.getInteger('core', 'lock-timeout-secs', DEFAULT_LOCK_TIMEOUT_SECS);
    repo.lockState ??= new RepoLock(path.join(repo.path, '.lock'), timeout, !enabled);
  }
  return repo.lockState;
}

/** Run `fn` holding the repo lock of `type` (released on every path). */
export async function withRepoLock<T>(repo: LockableRepo, type: LockType, fn: () => Promise<T>, opts: LockOptions = {}): Promise<T> {
  const lock = await repoLock(repo);
  return lock.with(type, fn, opts);
}
