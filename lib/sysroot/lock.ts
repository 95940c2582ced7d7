// The sysroot lock, SYSROOT/ostree/lock (ostree_sysroot_lock and libglnx's
// glnx_make_lock_file / glnx_release_lock_file; FORMATS.md §9.1): an
// exclusive OFD lock (flock fallback) on a transient file that the holder
// unlinks on release, so a locker whose file was unlinked under it retries
// with a fresh one. Built on the repo lock's native primitives.
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { native } from '../binding';
import { OstreeError, throwAborted } from '../errors';

export interface SysrootLockOptions {
  /** Seconds to wait; -1 (default, as `ostree admin`) waits forever, 0 tries once. */
  timeout?: number;
  signal?: AbortSignal;
}

/** A held sysroot lock; release() unlinks the lock file and closes it. */
export class SysrootLock {
  private constructor(readonly file: string, private handle: object | null) {}

  /** Take the exclusive lock on `SYSROOT/ostree/lock`, polling until `timeout`. */
  static async acquire(sysrootPath: string, opts: SysrootLockOptions = {}): Promise<SysrootLock> {
    const file = path.join(sysrootPath, 'ostree', 'lock');
    const timeout = opts.timeout ?? -1;
    const deadline = timeout < 0 ? Infinity : Date.now() + timeout * 1000;
    let delay = 5;
    for (;;) {
      throwAborted(opts.signal);
      const h = await native().lock_open(file);
      let ok = false;
      try {
        ok = await native().lock_try(h, 'exclusive');
        if (ok) {
          // The previous holder may have unlinked the file between our open and lock.
          const st = await fsp.lstat(file).catch(() => null);
          if (st) return new SysrootLock(file, h);
          ok = false;
        }
      } finally {
        if (!ok) await native().lock_close(h);
      }
      if (Date.now() >= deadline) throw new OstreeError('OSTREE_LOCKED', `Locking sysroot: ${file} is locked by another process`, { data: { path: file } });
      await sleep(delay);
      delay = Math.min(delay * 2, 100);
    }
  }

  async release(): Promise<void> {
    const h = this.handle;
    if (!h) return;
    this.handle = null;
    await fsp.unlink(this.file).catch(() => undefined);
    await native().lock_close(h);
  }
}
