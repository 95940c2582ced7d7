// Sysroot cleanup (ostree-sysroot-cleanup.c; FORMATS.md §9.8, §9.9): the
// other bootversion's loader and bootlinks, deployment directories and boot
// directories no deployment uses, the `ostree/B/S/N` deployment refs, and
// (optionally) a depth-0 prune of the system repository.
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { crashPoint } from '../crash-point';
import { OstreeError, isErrno } from '../errors';
import { formatSize } from '../format-size';
import { prune } from '../prune';
import { listRefsRaw } from '../refs/refs';
import { withTransaction } from '../repo/transaction';
import { isValidChecksum } from '../objects/formats';
import { removeTree } from './rmrf';
import { Deployment } from './deployment';
import type { Sysroot } from './sysroot';

export interface CleanupOptions {
  /** Prune the system repo (refs only, depth 0) afterwards; ostree_sysroot_cleanup vs prepare_cleanup. */
  prune?: boolean;
}

export interface CleanupResult {
  /** Bytes freed by the prune (0 without prune). */
  freedBytes: number;
}

async function cleanupOtherBootversions(sysroot: Sysroot): Promise<void> {
  const other = sysroot.bootversion === 0 ? 1 : 0;
  const otherSub = sysroot.subbootversion === 0 ? 1 : 0;
  for (const rel of [`boot/loader.${other}`, `ostree/boot.${other}`, `ostree/boot.${other}.0`, `ostree/boot.${other}.1`, `ostree/boot.${sysroot.bootversion}.${otherSub}`]) {
    await fsp.rm(path.join(sysroot.path, rel), { recursive: true, force: true });
  }
}

/** Remove a deployment directory and its origin, never the running root (_ostree_sysroot_rmrf_deployment). */
export async function rmrfDeployment(sysroot: Sysroot, d: Deployment): Promise<void> {
  const dir = sysroot.deploymentDirectory(d);
  const st = await fsp.stat(dir);
  if (st.dev === sysroot.rootDev && st.ino === sysroot.rootIno) return;
  await fsp.rm(path.join(sysroot.path, d.originRelpath), { recursive: true, force: true });
  await removeTree(dir);
}

async function cleanupOldDeployments(sysroot: Sysroot): Promise<void> {
  const active = new Set(sysroot.deployments.map((d) => d.relpath));
  const bootcsums = new Set(sysroot.deployments.map((d) => d.bootcsum));
  const overlays = new Set(sysroot.deployments.flatMap((d) => d.bootconfig.overlayInitrds.map((p) => path.basename(p))));
  for (const d of await sysroot.listDeploymentDirs()) {
    if (!active.has(d.relpath)) {
      crashPoint();
      await rmrfDeployment(sysroot, d);
    }
  }
  // Leftovers of our own interrupted deploys (temporary checkout names in a stateroot).
  for (const os of await sysroot.stateroots()) {
    const dir = path.join(sysroot.path, 'ostree/deploy', os);
    for (const n of await fsp.readdir(dir)) if (n.startsWith('.deploy-')) await removeTree(path.join(dir, n));
  }
  const bootOstree = path.join(sysroot.path, 'boot/ostree');
  let ents: import('node:fs').Dirent[] = [];
  try {
    ents = await fsp.readdir(bootOstree, { withFileTypes: true });
  } catch (e) {
    if (!isErrno(e, 'ENOENT')) throw e;
  }
  for (const e of ents) {
    if (!e.isDirectory()) continue;
    const dash = e.name.lastIndexOf('-');
    if (dash < 0 || !isValidChecksum(e.name.slice(dash + 1))) continue;
    if (bootcsums.has(e.name.slice(dash + 1))) continue;
    await fsp.rm(path.join(bootOstree, e.name), { recursive: true, force: true });
  }
  const ovl = path.join(bootOstree, 'initramfs-overlays');
  let names: import('node:fs').Dirent[] = [];
  try {
    names = await fsp.readdir(ovl, { withFileTypes: true });
  } catch (e) {
    if (!isErrno(e, 'ENOENT')) throw e;
  }
  for (const n of names) if (n.isFile() && !overlays.has(n.name)) await fsp.rm(path.join(ovl, n.name), { force: true });
}

/** `ostree/B/S/i` = commit of deployment i; refs of the other bootversion / subbootversion go (generate_deployment_refs). */
async function generateDeploymentRefs(sysroot: Sysroot): Promise<void> {
  const repo = await sysroot.repo();
  const b = sysroot.bootversion;
  const s = sysroot.subbootversion;
  const stale = [`ostree/${b === 0 ? 1 : 0}/0/`, `ostree/${b === 0 ? 1 : 0}/1/`, `ostree/${b}/${s === 0 ? 1 : 0}/`];
  const refs = await listRefsRaw(repo);
  crashPoint();
  await withTransaction(repo, async (tx) => {
    for (const [name] of refs) if (stale.some((p) => name.startsWith(p))) tx.setRef(name, null);
    sysroot.deployments.forEach((d, i) => tx.setRef(`ostree/${b}/${s}/${i}`, d.csum));
  });
}

/**
 * Remove what no deployment uses and regenerate the deployment refs
 * (ostree_sysroot_cleanup; with `prune: false`, ostree_sysroot_prepare_cleanup).
 *
 * @example
 * import { Sysroot, cleanupSysroot } from 'node-ostree';
 * const sysroot = await Sysroot.open('/mnt/sysroot');
 * const { freedBytes } = await sysroot.withLock(() => cleanupSysroot(sysroot, { prune: true }));
 * console.log(`freed ${freedBytes} bytes`);
 */
export async function cleanup(sysroot: Sysroot, opts: CleanupOptions = {}): Promise<CleanupResult> {
  const step = async (what: string, fn: () => Promise<void>) => {
    try {
      await fn();
    } catch (e) {
      if (e instanceof OstreeError) throw new OstreeError(e.code, `${what}: ${e.message}`, { cause: e, data: e.data });
      throw Object.assign(new Error(`${what}: ${(e as Error).message}`, { cause: e }), { code: (e as NodeJS.ErrnoException).code });
    }
  };
  await step('Cleaning bootversions', () => cleanupOtherBootversions(sysroot));
  await step('Cleaning deployments', () => cleanupOldDeployments(sysroot));
  await step('Generating deployment refs', () => generateDeploymentRefs(sysroot));
  let freedBytes = 0;
  if (opts.prune) {
    const repo = await sysroot.repo();
    try {
      freedBytes = (await prune(repo, { refsOnly: true, depth: 0 })).freedBytes;
    } catch (e) {
      throw new OstreeError((e as OstreeError).code ?? 'OSTREE_IO', `Pruning system repository: ${(e as Error).message}`, { cause: e });
    }
    if (freedBytes > 0) sysroot.emit(`Freed objects: ${formatSize(freedBytes)}`);
  }
  return { freedBytes };
}
