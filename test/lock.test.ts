// Unit tests of the repository lock (FORMATS.md §5, issue 3): the push/pop
// state machine, checked against the real lock file through a second Repo
// object and a second process, and the sharing of one Repo's lock state by
// concurrent async operations.
import { describe, it, expect, afterAll } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Repo } from '../lib/repo/repo';
import { RepoLock, RepoLockHold, repoLock, withRepoLock, DEFAULT_LOCK_TIMEOUT_SECS } from '../lib/lock';
import type { LockPrimitives, LockType } from '../lib/lock';
import { OstreeError } from '../lib/errors';
import { tmpdir, cleanupTmp, ROOT } from './helpers/interop';
import { canTake } from './helpers/lock';

afterAll(cleanupTmp);

const PROBE = path.join(ROOT, 'test', 'helpers', 'lock-probe.js');

async function newRepo(config: Record<string, string> = {}): Promise<Repo> {
  const repo = await Repo.create(path.join(tmpdir('node-ostree-lock-'), 'repo'), { mode: 'bare' });
  if (Object.keys(config).length) {
    for (const [k, v] of Object.entries(config)) repo.config.set('core', k, v);
    await repo.writeConfig();
  }
  return repo;
}

/** The same question asked from another process. */
function canTakeFromProcess(repoPath: string, type: LockType): boolean {
  const r = spawnSync(process.execPath, [PROBE, repoPath, type], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`lock-probe failed: ${r.stderr}`);
  return r.stdout.trim() === 'free';
}

/** What another holder could take: [shared, exclusive]. */
async function othersCan(repoPath: string): Promise<[boolean, boolean]> {
  return [await canTake(repoPath, 'shared'), await canTake(repoPath, 'exclusive')];
}

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    return (err as OstreeError).code;
  }
  return 'resolved';
}

describe('RepoLock push/pop state machine', () => {
  it('push shared locks REPO/.lock shared; the last pop really unlocks it', async () => {
    const repo = await newRepo();
    const lock = await repoLock(repo);
    expect(lock.state).toBe('unlocked');
    expect(await othersCan(repo.path)).toEqual([true, true]);

    await lock.push('shared');
    expect(lock.state).toBe('shared');
    expect(lock.kind).toBe('ofd');
    expect(existsSync(path.join(repo.path, '.lock'))).toBe(true);
    expect(await othersCan(repo.path)).toEqual([true, false]);
    expect(canTakeFromProcess(repo.path, 'shared')).toBe(true);
    expect(canTakeFromProcess(repo.path, 'exclusive')).toBe(false);

    await lock.push('shared'); // recursive: only counts
    expect(lock.counts).toEqual({ shared: 2, exclusive: 0 });
    await lock.pop('shared');
    expect(lock.state).toBe('shared');
    expect(await othersCan(repo.path)).toEqual([true, false]);

    await lock.pop('shared');
    expect(lock.state).toBe('unlocked');
    expect(lock.kind).toBeNull(); // lock file closed
    expect(await othersCan(repo.path)).toEqual([true, true]);
    expect(canTakeFromProcess(repo.path, 'exclusive')).toBe(true);
  });

  it('exclusive on shared upgrades; popping the last exclusive downgrades back to shared', async () => {
    const repo = await newRepo();
    const lock = await repoLock(repo);
    await lock.push('shared');
    await lock.push('exclusive');
    expect(lock.state).toBe('exclusive');
    expect(lock.counts).toEqual({ shared: 1, exclusive: 1 });
    expect(await othersCan(repo.path)).toEqual([false, false]);
    expect(canTakeFromProcess(repo.path, 'shared')).toBe(false);

    // Anything pushed on exclusive only counts.
    await lock.push('shared');
    await lock.push('exclusive');
    expect(lock.counts).toEqual({ shared: 2, exclusive: 2 });
    await lock.pop('exclusive');
    await lock.pop('shared');
    expect(lock.state).toBe('exclusive');
    expect(await othersCan(repo.path)).toEqual([false, false]);

    await lock.pop('exclusive'); // last exclusive, a shared hold remains
    expect(lock.state).toBe('shared');
    expect(lock.counts).toEqual({ shared: 1, exclusive: 0 });
    expect(await othersCan(repo.path)).toEqual([true, false]);
    expect(canTakeFromProcess(repo.path, 'shared')).toBe(true);

    await lock.pop('shared');
    expect(lock.state).toBe('unlocked');
    expect(await othersCan(repo.path)).toEqual([true, true]);
  });

  it('exclusive first, then shared pushed and popped: stays exclusive until the last pop', async () => {
    const repo = await newRepo();
    const lock = await repoLock(repo);
    await lock.push('exclusive');
    await lock.push('shared');
    await lock.pop('shared');
    expect(lock.state).toBe('exclusive');
    expect(await othersCan(repo.path)).toEqual([false, false]);
    await lock.pop('exclusive');
    expect(lock.state).toBe('unlocked');
    expect(canTakeFromProcess(repo.path, 'exclusive')).toBe(true);
  });

  it('popping a type that was not pushed is an error and changes nothing', async () => {
    const repo = await newRepo();
    const lock = await repoLock(repo);
    expect(await codeOf(lock.pop('shared'))).toBe('OSTREE_INVALID_ARGUMENT');
    expect(await codeOf(lock.pop('exclusive'))).toBe('OSTREE_INVALID_ARGUMENT');

    await lock.push('shared');
    expect(await codeOf(lock.pop('exclusive'))).toBe('OSTREE_INVALID_ARGUMENT');
    expect(lock.counts).toEqual({ shared: 1, exclusive: 0 });
    expect(await othersCan(repo.path)).toEqual([true, false]); // still really held

    await lock.pop('shared');
    await lock.push('exclusive');
    expect(await codeOf(lock.pop('shared'))).toBe('OSTREE_INVALID_ARGUMENT');
    expect(lock.counts).toEqual({ shared: 0, exclusive: 1 });
    expect(await othersCan(repo.path)).toEqual([false, false]);
    await lock.pop('exclusive');
    expect(await othersCan(repo.path)).toEqual([true, true]);
  });

  it('invalid arguments throw synchronously, before any I/O', async () => {
    const repo = await newRepo();
    const lock = await repoLock(repo);
    expect(() => lock.push('both' as LockType)).toThrow(TypeError);
    expect(() => lock.pop('none' as LockType)).toThrow(TypeError);
    expect(() => repo.lock('x' as LockType)).toThrow(TypeError);
    expect(() => lock.push('shared', { timeout: -5 })).toThrow(RangeError);
    expect(() => lock.push('shared', { timeout: Number.NaN })).toThrow(TypeError);
    expect(lock.state).toBe('unlocked');
  });

  it('a timeout of 0 tries once; core.lock-timeout-secs is the default; the per-call timeout overrides it', async () => {
    const repo = await newRepo({ 'lock-timeout-secs': '1' });
    const holder = await Repo.open(repo.path);
    await holder.withLock('exclusive', async () => {
      const lock = await repoLock(repo);
      expect(lock.defaultTimeout).toBe(1);

      let t = performance.now();
      expect(await codeOf(lock.push('shared', { timeout: 0 }))).toBe('OSTREE_LOCKED');
      expect(performance.now() - t).toBeLessThan(500);

      t = performance.now();
      const err = await lock.push('shared').catch((e: OstreeError) => e);
      const waited = performance.now() - t;
      expect(err).toBeInstanceOf(OstreeError);
      expect((err as OstreeError).code).toBe('OSTREE_LOCKED');
      expect((err as OstreeError).data).toMatchObject({ type: 'shared', heldBy: 'exclusive', timeout: 1, file: path.join(repo.path, '.lock') });
      expect(waited).toBeGreaterThanOrEqual(990);
      expect(waited).toBeLessThan(3000);

      t = performance.now();
      expect(await codeOf(lock.push('exclusive', { timeout: 0.2 }))).toBe('OSTREE_LOCKED');
      expect(performance.now() - t).toBeGreaterThanOrEqual(195);
      expect(performance.now() - t).toBeLessThan(900);
      // A failed push leaves nothing behind.
      expect(lock.state).toBe('unlocked');
      expect(lock.kind).toBeNull();
    });
    expect((await repoLock(await Repo.open((await newRepo()).path))).defaultTimeout).toBe(DEFAULT_LOCK_TIMEOUT_SECS);
  });

  it('core.locking=false and read-only repositories take no lock', async () => {
    const repo = await newRepo({ locking: 'false' });
    const lock = await repoLock(repo);
    expect(lock.disabled).toBe(true);
    await lock.push('exclusive');
    expect(lock.state).toBe('unlocked');
    expect(await othersCan(repo.path)).toEqual([true, true]);
    await lock.pop('exclusive');
    expect(existsSync(path.join(repo.path, '.lock'))).toBe(false);

    // objects/ not writable (as root we cannot make that true on disk, so ask the repo).
    const ro = await Repo.open((await newRepo()).path);
    ro.isWritable = async () => false;
    await ro.withLock('exclusive', async () => {
      expect(ro.lockState?.disabled).toBe(true);
      expect(existsSync(path.join(ro.path, '.lock'))).toBe(false);
      expect(await othersCan(ro.path)).toEqual([true, true]);
    });
  });
});

describe('one Repo object: lock state shared by concurrent async operations', () => {
  it("one operation's exclusive section and others' shared sections cooperate instead of deadlocking", async () => {
    const repo = await newRepo();
    const events: string[] = [];
    const reader = async (name: string) =>
      repo.withLock('shared', async () => {
        events.push(`${name} in`);
        await sleep(60);
        await repo.withLock('shared', () => sleep(10)); // nested
        events.push(`${name} out`);
      });
    const pruner = async () => {
      await sleep(20);
      await repo.withLock('exclusive', async () => {
        events.push('exclusive in');
        expect(await othersCan(repo.path)).toEqual([false, false]);
        await sleep(30);
        events.push('exclusive out');
      }, { timeout: 2 });
    };
    const t = performance.now();
    await Promise.all([reader('a'), reader('b'), pruner()]);
    expect(performance.now() - t).toBeLessThan(1500);
    // The exclusive section ran while the readers' shared holds were still open.
    expect(events.indexOf('exclusive in')).toBeLessThan(events.indexOf('a out'));
    expect(repo.lockState?.state).toBe('unlocked');
    expect(await othersCan(repo.path)).toEqual([true, true]);
  });

  it('an operation waiting to upgrade does not stall the other operations on the same Repo', async () => {
    const repo = await newRepo();
    const other = await Repo.open(repo.path); // another holder keeps shared
    const otherHold = await other.lock('shared');
    const lock = await repoLock(repo);
    await lock.push('shared');

    const upgrading = lock.push('exclusive', { timeout: 5 });
    await sleep(30);
    // Meanwhile, sibling operations push and pop shared without waiting.
    const t = performance.now();
    await lock.push('shared');
    await lock.pop('shared');
    await repo.withLock('shared', () => undefined);
    expect(performance.now() - t).toBeLessThan(200);
    expect(lock.state).toBe('shared');

    const released = performance.now();
    await otherHold.release();
    await upgrading;
    expect(performance.now() - released).toBeLessThan(500);
    expect(lock.counts).toEqual({ shared: 1, exclusive: 1 });
    expect(await othersCan(repo.path)).toEqual([false, false]);
    await lock.pop('exclusive');
    await lock.pop('shared');
    expect(await othersCan(repo.path)).toEqual([true, true]);
  });

  it('separate Repo objects in one process exclude each other', async () => {
    const repo = await newRepo();
    const a = await Repo.open(repo.path);
    const b = await Repo.open(repo.path);
    await a.withLock('exclusive', async () => {
      expect(await codeOf(b.withLock('shared', () => undefined, { timeout: 0.1 }))).toBe('OSTREE_LOCKED');
    });
    await b.withLock('exclusive', () => undefined, { timeout: 0 });
  });
});

describe('scoped forms: withLock, repo.lock handles, await using', () => {
  it('withLock releases on success and on a throw, and keeps the original error', async () => {
    const repo = await newRepo();
    expect(await repo.withLock('exclusive', async () => 42)).toBe(42);
    const boom = new Error('boom');
    await expect(
      withRepoLock(repo, 'exclusive', async () => {
        expect(repo.lockState?.state).toBe('exclusive');
        throw boom;
      }),
    ).rejects.toBe(boom);
    expect(repo.lockState?.state).toBe('unlocked');
    expect(await othersCan(repo.path)).toEqual([true, true]);
  });

  it('repo.lock returns a hold released exactly once', async () => {
    const repo = await newRepo();
    const outer = await repo.lock('shared');
    const inner = await repo.lock('shared');
    expect(inner).toBeInstanceOf(RepoLockHold);
    expect(inner.type).toBe('shared');
    await inner.release();
    await inner.release(); // no double pop
    expect(inner.released).toBe(true);
    expect(repo.lockState?.counts).toEqual({ shared: 1, exclusive: 0 });
    await outer.release();
    expect(repo.lockState?.state).toBe('unlocked');
  });

  it('holds are AsyncDisposable: `await using` releases at the end of the block, also on a throw', async () => {
    expect(typeof Symbol.asyncDispose).toBe('symbol');
    const repo = await newRepo();
    {
      await using held = await repo.lock('exclusive');
      expect(held.type).toBe('exclusive');
      expect(await othersCan(repo.path)).toEqual([false, false]);
    }
    expect(await othersCan(repo.path)).toEqual([true, true]);
    const f = async () => {
      await using _held = await repo.lock('shared');
      throw new Error('inside');
    };
    await expect(f()).rejects.toThrow('inside');
    expect(repo.lockState?.state).toBe('unlocked');
  });
});

/**
 * A lock table standing in for the kernel, to reach failure paths that real
 * OFD locks never take: fds are handles; `flock` mode converts by unlocking
 * first, as flock(2) does.
 */
class FakeLocks implements LockPrimitives {
  handles = new Set<{ held: 'unlocked' | LockType; open: boolean }>();
  failClose = false;
  failUnlock = false;
  refuseDowngrade = false;
  constructor(readonly kind: 'ofd' | 'flock') {}

  async lock_open(): Promise<object> {
    const h = { held: 'unlocked' as 'unlocked' | LockType, open: true };
    this.handles.add(h);
    return h;
  }
  async lock_try(handle: object, type: LockType | 'unlock'): Promise<boolean> {
    const h = handle as { held: 'unlocked' | LockType; open: boolean };
    if (!h.open) throw Object.assign(new Error('EBADF: bad file descriptor, fcntl'), { code: 'EBADF' });
    if (type === 'unlock') {
      if (this.failUnlock) throw Object.assign(new Error('EIO: i/o error, fcntl'), { code: 'EIO' });
      h.held = 'unlocked';
      return true;
    }
    if (type === 'shared' && h.held === 'exclusive' && this.refuseDowngrade) {
      if (this.kind === 'flock') h.held = 'unlocked';
      return false;
    }
    const conflict = [...this.handles].some((o) => o !== h && o.open && (o.held === 'exclusive' || (type === 'exclusive' && o.held === 'shared')));
    if (conflict) {
      if (this.kind === 'flock') h.held = 'unlocked';
      return false;
    }
    h.held = type;
    return true;
  }
  async lock_close(handle: object): Promise<void> {
    const h = handle as { held: 'unlocked' | LockType; open: boolean };
    h.open = false;
    h.held = 'unlocked';
    this.handles.delete(h);
    if (this.failClose) throw Object.assign(new Error('EIO: i/o error, close'), { code: 'EIO' });
  }
  lock_kind(): string {
    return this.kind;
  }
  /** What the other holders could take now. */
  async othersCan(): Promise<[boolean, boolean]> {
    const out: boolean[] = [];
    for (const t of ['shared', 'exclusive'] as const) {
      const h = await this.lock_open();
      out.push(await this.lock_try(h, t));
      await this.lock_close(h);
    }
    return out as [boolean, boolean];
  }
}

describe('failure paths (simulated primitives)', () => {
  it('a pop whose syscalls fail still moves the counters; the next push starts clean', async () => {
    const fake = new FakeLocks('ofd');
    const lock = new RepoLock('/fake/.lock', 0, false, fake);
    await lock.push('shared');
    fake.failUnlock = true;
    fake.failClose = true;
    expect(await codeOf(lock.pop('shared'))).toBe('EIO');
    expect(lock.counts).toEqual({ shared: 0, exclusive: 0 });
    expect(lock.state).toBe('unlocked');
    expect(lock.kind).toBeNull();
    fake.failUnlock = false;
    fake.failClose = false;
    await lock.push('exclusive');
    expect(lock.state).toBe('exclusive');
    expect(await fake.othersCan()).toEqual([false, false]);
    await lock.pop('exclusive');
    expect(await fake.othersCan()).toEqual([true, true]);
  });

  it('flock fallback: a refused upgrade (which drops the hold) takes the shared hold back', async () => {
    const fake = new FakeLocks('flock');
    const lock = new RepoLock('/fake/.lock', 0, false, fake);
    const other = await fake.lock_open();
    await fake.lock_try(other, 'shared');
    await lock.push('shared');
    expect(await codeOf(lock.push('exclusive', { timeout: 0 }))).toBe('OSTREE_LOCKED');
    expect(lock.counts).toEqual({ shared: 1, exclusive: 0 });
    // Still really held shared: nobody can get exclusive.
    await fake.lock_close(other);
    expect(await fake.othersCan()).toEqual([true, false]);
    await lock.push('exclusive', { timeout: 0 });
    expect(await fake.othersCan()).toEqual([false, false]);
    await lock.pop('exclusive');
    await lock.pop('shared');
    expect(await fake.othersCan()).toEqual([true, true]);
  });

  it('a refused downgrade is reported under flock, and the next push takes shared again', async () => {
    const fake = new FakeLocks('flock');
    const lock = new RepoLock('/fake/.lock', 0, false, fake);
    await lock.push('shared');
    await lock.push('exclusive');
    fake.refuseDowngrade = true;
    expect(await codeOf(lock.pop('exclusive'))).toBe('OSTREE_LOCKED');
    expect(lock.counts).toEqual({ shared: 1, exclusive: 0 });
    fake.refuseDowngrade = false;
    expect(await fake.othersCan()).toEqual([true, true]); // the hold was lost...
    await lock.push('shared'); // ...and is re-taken by the next push
    expect(await fake.othersCan()).toEqual([true, false]);
    await lock.pop('shared');
    await lock.pop('shared');
    expect(await fake.othersCan()).toEqual([true, true]);
  });

  it('with OFD locks a refused downgrade keeps the (stronger) exclusive hold and is not an error', async () => {
    const fake = new FakeLocks('ofd');
    const lock = new RepoLock('/fake/.lock', 0, false, fake);
    await lock.push('shared');
    await lock.push('exclusive');
    fake.refuseDowngrade = true;
    await lock.pop('exclusive');
    expect(lock.state).toBe('shared');
    expect(await fake.othersCan()).toEqual([false, false]);
    await lock.pop('shared');
    expect(await fake.othersCan()).toEqual([true, true]);
  });
});
