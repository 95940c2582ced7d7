// The sync before a bootloader swap (full_system_sync / fsfreeze_thaw_cycle
// in ostree-sysroot-deploy.c): syncfs() of the sysroot, then a FIFREEZE +
// FITHAW cycle of /boot, because syncfs() does not flush the XFS journal that
// GRUB cannot read. A forked watchdog thaws /boot if we die while it is
// frozen (native/fsfreeze.cc). Where freezing is not allowed (no
// CAP_SYS_ADMIN, a filesystem without freeze support, already frozen) it is
// a syncfs() of /boot, as in ostree. Unlike ostree 2022.7, the watchdog also
// thaws when this process dies before signalling completion (FORMATS.md §9.6).
import * as path from 'node:path';
import { native } from '../binding';
import { OstreeError, withContext } from '../errors';

export interface FullSyncOptions {
  /**
   * ostree's `OSTREE_SYSROOT_DEBUG=test-fifreeze`: run the watchdog but
   * freeze nothing, wait for it to time out (1 s) and fail with
   * "aborting due to test-fifreeze". Default: from the environment.
   */
  testFifreeze?: boolean;
}

function envList(name: string): string[] {
  return (process.env[name] ?? '').split(',');
}

/** The freeze/thaw cycle of the filesystem holding `dir`, errors prefixed "During fsfreeze-thaw". */
export async function fsfreezeThawCycle(dir: string, testFifreeze: boolean): Promise<void> {
  try {
    const status = await native().fs_freeze_thaw(dir, testFifreeze);
    if (!testFifreeze) return;
    // The watchdog's wait status, as g_spawn_check_exit_status words it.
    if (status !== 0) {
      const how = (status & 0x7f) === 0 ? `Child process exited with code ${(status >> 8) & 0xff}` : `Child process killed by signal ${status & 0x7f}`;
      throw new OstreeError('OSTREE_IO', `test-fifreeze: : ${how}`);
    }
    throw new OstreeError('OSTREE_ABORTED', 'aborting due to test-fifreeze', { data: { reason: 'test-fifreeze' } });
  } catch (e) {
    throw withContext('During fsfreeze-thaw', e);
  }
}

/**
 * syncfs() of the sysroot, then the freeze/thaw cycle of its /boot; errors
 * prefixed "Full sync". ostree's extra global sync() (5 s at most, the only
 * part `OSTREE_SYSROOT_OPTS=skip-sync` skips) is left out.
 */
export async function fullSync(sysrootPath: string, opts: FullSyncOptions = {}): Promise<void> {
  const testFifreeze = opts.testFifreeze ?? envList('OSTREE_SYSROOT_DEBUG').includes('test-fifreeze');
  try {
    await native().fs_syncfs(sysrootPath);
  } catch (e) {
    throw withContext('Full sync', e);
  }
  try {
    await fsfreezeThawCycle(path.join(sysrootPath, 'boot'), testFifreeze);
  } catch (e) {
    throw withContext('Full sync', e);
  }
}
