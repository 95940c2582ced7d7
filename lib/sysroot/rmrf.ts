// Removing a deployment tree: its root carries the immutable attribute
// (chattr +i, set by deploy), which must be cleared before anything in it can
// be unlinked (_ostree_sysroot_rmrf_deployment).
import { promises as fsp } from 'node:fs';
import { native } from '../binding';
import { isErrno } from '../errors';

/** rm -rf `p`, clearing the immutable bit of the top directory first; a missing path is fine. */
export async function removeTree(p: string): Promise<void> {
  try {
    await native().fs_set_immutable(p, false);
  } catch (e) {
    if (isErrno(e, 'ENOENT')) return;
    if (!isErrno(e, 'ELOOP') && !isErrno(e, 'ENOTDIR')) throw e;
  }
  await fsp.rm(p, { recursive: true, force: true });
}
