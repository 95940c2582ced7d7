// Pinning (ostree_sysroot_deployment_set_pinned; FORMATS.md §9.5, §9.7): a
// `[libostree-transient] pinned=true` key in the origin keeps a deployment
// from being dropped by the default write policy. Only the origin changes.
import { OstreeError } from '../errors';
import { KeyFile } from '../repo/keyfile';
import { writeOrigin } from './deploy';
import { Deployment } from './deployment';
import type { Sysroot } from './sysroot';

/**
 * Pin or unpin a deployment (rewrites its origin file; no-op when already so).
 *
 * @example
 * import { Sysroot, setPinned } from 'node-ostree';
 * const sysroot = await Sysroot.open('/mnt/sysroot');
 * await sysroot.withLock(() => setPinned(sysroot, sysroot.deployments[1], true));
 */
export async function setPinned(sysroot: Sysroot, d: Deployment, pinned: boolean): Promise<void> {
  if (d.pinned === pinned) return;
  if (d.staged) throw new OstreeError('OSTREE_INVALID_ARGUMENT', 'Cannot pin staged deployment');
  const origin = d.origin ? KeyFile.parse(d.origin.serialize()) : KeyFile.parse('');
  if (pinned) origin.set('libostree-transient', 'pinned', 'true');
  else origin.remove('libostree-transient', 'pinned');
  await writeOrigin(sysroot, d, origin, true);
  d.origin = origin;
  await sysroot.bumpMtime();
}
