// Rewriting a deployment's origin (`ostree admin set-origin`,
// ostree_sysroot_write_origin_file; FORMATS.md §9.5).
import { parseRefspec } from '../refs/refs';
import { originFromRefspec, writeOrigin } from './deploy';
import { Deployment } from './deployment';
import type { Sysroot } from './sysroot';

/**
 * Point a deployment's origin at `REMOTE:BRANCH` (BRANCH defaults to the old
 * ref), adding the remote with `url` and `set` options if it does not exist.
 * The new origin has only `[origin] refspec`.
 *
 * @example
 * import { Sysroot, setOrigin } from 'node-ostree';
 * const sysroot = await Sysroot.open('/mnt/sysroot');
 * await sysroot.withLock(() => setOrigin(sysroot, sysroot.deployments[0], 'origin', 'https://example.com/repo'));
 */
export async function setOrigin(sysroot: Sysroot, d: Deployment, remote: string, url: string, branch?: string, set: Record<string, string> = {}): Promise<void> {
  const repo = await sysroot.repo();
  const { addRemote } = await import('../remotes/remotes');
  await addRemote(repo, remote, url, { set, ifNotExists: true });
  const oldRef = parseRefspec(d.refspec ?? '').ref;
  const origin = originFromRefspec(`${remote}:${branch ?? oldRef}`);
  await writeOrigin(sysroot, d, origin, true);
  d.origin = origin;
  await sysroot.bumpMtime();
}
