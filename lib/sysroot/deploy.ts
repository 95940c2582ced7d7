// Deploying a commit (ostree_sysroot_deploy_tree in ostree-sysroot-deploy.c;
// FORMATS.md §9.3): allocate the deployserial, check the tree out as a
// hardlink farm, find the kernel, prepare /etc, carry the merge
// deployment's kernel arguments, write the origin, make the root immutable.
// The checkout happens under a temporary name in the stateroot and is renamed
// into `deploy/CSUM.SERIAL` only once complete, so a failed or aborted deploy
// leaves nothing that looks like a deployment.
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { native } from '../binding';
import { checkout, CheckoutProgress } from '../checkout/checkout';
import { crashPoint } from '../crash-point';
import { OstreeError, throwAborted, withContext } from '../errors';
import { KeyFile } from '../repo/keyfile';
import { tmpName, writeFileAtomic } from '../repo/repo';
import { BootConfig } from './bls';
import { Deployment } from './deployment';
import { findKernel } from './kernel';
import { KernelArgs } from './kargs';
import { mergeEtc } from './etc-merge';
import { removeTree } from './rmrf';
import type { Sysroot } from './sysroot';
import { cleanup } from './cleanup';
import { simpleWriteDeployment } from './write-deployments';

export interface DeployTreeOptions {
  /** Stateroot; defaults to the booted deployment's. */
  osname?: string | null;
  /** The origin keyfile to write (e.g. `[origin] refspec=…`); none when null. */
  origin?: KeyFile | null;
  /** Deployment whose /etc changes and kernel arguments carry over; null for none. */
  mergeDeployment?: Deployment | null;
  /** Kernel arguments; when omitted the merge deployment's are used. */
  kargs?: string[] | null;
  signal?: AbortSignal;
  onProgress?: (p: CheckoutProgress) => void;
}

/** A new `[origin] refspec=REFSPEC` keyfile (ostree_sysroot_origin_new_from_refspec). */
export function originFromRefspec(refspec: string): KeyFile {
  const kf = KeyFile.parse('');
  kf.set('origin', 'refspec', refspec);
  return kf;
}

/** 1 + the highest serial of `revision` among the checkouts present in the stateroot (0 when none). */
async function allocateDeployserial(sysroot: Sysroot, osname: string, revision: string): Promise<number> {
  let serial = 0;
  for (const d of await sysroot.listDeploymentDirs(osname)) {
    if (d.csum === revision) serial = Math.max(serial, d.deployserial + 1);
  }
  return serial;
}

async function exists(p: string): Promise<boolean> {
  return fsp.lstat(p).then(() => true, () => false);
}

/** /etc handling: a tree's /etc moves to /usr/etc, then /usr/etc is copied to /etc (prepare_deployment_etc). */
async function prepareEtc(sysroot: Sysroot, root: string, csum: string, signal?: AbortSignal): Promise<void> {
  const etc = path.join(root, 'etc');
  const usrEtc = path.join(root, 'usr/etc');
  let usrEtcExists = await exists(usrEtc);
  if (await exists(etc)) {
    if (usrEtcExists) throw new OstreeError('OSTREE_INVALID_ARGUMENT', 'Preparing /etc: Tree contains both /etc and /usr/etc');
    await fsp.rename(etc, usrEtc);
    usrEtcExists = true;
  }
  if (usrEtcExists) {
    try {
      await checkout(await sysroot.repo(), csum, etc, { forceCopy: true, subpath: '/usr/etc', signal });
    } catch (e) {
      throw withContext('Preparing /etc', e);
    }
  }
}

/**
 * Check out `revision` as a new deployment of `osname` and prepare it
 * (ostree_sysroot_deploy_tree). The deployment list is not changed: pass the
 * result to writeDeployments() / simpleWriteDeployment().
 *
 * @example
 * import { Sysroot, deployTree, simpleWriteDeployment, resolveRev } from 'node-ostree';
 * const sysroot = await Sysroot.open('/mnt/sysroot');
 * await sysroot.withLock(async () => {
 *   const merge = sysroot.mergeDeployment('exampleos');
 *   const rev = (await resolveRev(await sysroot.repo(), 'exampleos/stable'))!;
 *   const d = await deployTree(sysroot, rev, { osname: 'exampleos', mergeDeployment: merge });
 *   await simpleWriteDeployment(sysroot, 'exampleos', d, merge);
 * });
 */
export async function deployTree(sysroot: Sysroot, revision: string, opts: DeployTreeOptions = {}): Promise<Deployment> {
  const osname = opts.osname ?? sysroot.booted?.osname;
  if (!osname) throw new TypeError('osname is required when the system is not booted');
  const { signal } = opts;
  throwAborted(signal);
  const repo = await sysroot.repo();
  const deployserial = await allocateDeployserial(sysroot, osname, revision);
  const d = new Deployment({ index: 0, osname, csum: revision, deployserial });
  d.origin = opts.origin ?? null;
  const osdeploy = path.join(sysroot.path, 'ostree/deploy', osname, 'deploy');
  await fsp.mkdir(osdeploy, { recursive: true, mode: 0o775 });
  const finalPath = path.join(osdeploy, d.name);
  const tmpPath = path.join(sysroot.path, 'ostree/deploy', osname, tmpName(`deploy-${d.name}`));
  try {
    try {
      await checkout(repo, revision, tmpPath, { signal, onProgress: opts.onProgress });
    } catch (e) {
      throw withContext('Checking out deployment tree', e);
    }
    const layout = await findKernel(tmpPath);
    d.bootcsum = layout.bootcsum;
    d.bootconfig = new BootConfig();
    if (opts.kargs) d.bootconfig.set('options', KernelArgs.fromArgv(opts.kargs).toString());
    await prepareEtc(sysroot, tmpPath, revision, signal);
    await finalizeDeployment(sysroot, d, tmpPath, opts.mergeDeployment ?? null, signal);
    throwAborted(signal);
    await removeTree(finalPath);
    crashPoint();
    await fsp.rename(tmpPath, finalPath);
  } catch (e) {
    await removeTree(tmpPath).catch(() => undefined);
    throw e;
  }
  await writeOrigin(sysroot, d, d.origin);
  if (!process.env.OSTREE_SYSROOT_DEBUG?.split(',').includes('mutable-deployments')) {
    await native().fs_set_immutable(finalPath, true);
  }
  return d;
}

/** The parts of sysroot_finalize_deployment that precede the rename: kernel arguments, /etc merge, .updated stamps, /var labelling stamp. */
async function finalizeDeployment(sysroot: Sysroot, d: Deployment, root: string, merge: Deployment | null, signal?: AbortSignal): Promise<void> {
  if (merge && d.bootconfig.get('options') === undefined) {
    const k = merge.bootconfig.get('options');
    if (k !== undefined) d.bootconfig.set('options', k);
  }
  if (merge) {
    const from = sysroot.deploymentDirectory(merge);
    const r = await mergeEtc(path.join(from, 'usr/etc'), path.join(from, 'etc'), path.join(root, 'etc'), { signal });
    sysroot.emit(r.message);
  }
  const osdeploy = path.join(sysroot.path, 'ostree/deploy', d.osname);
  const varDir = sysroot.booted && sysroot.booted.osname === d.osname ? '/var' : path.join(osdeploy, 'var');
  await fsp.rm(path.join(root, 'etc/.updated'), { force: true });
  await fsp.rm(path.join(varDir, '.updated'), { force: true });
  const stamp = path.join(osdeploy, 'var/.ostree-selabeled');
  if (!(await exists(stamp))) {
    sysroot.emit("Relabeling /var (no stamp file 'var/.ostree-selabeled' found)");
    await writeFileAtomic(stamp, '', { fsync: true, mode: 0o644 });
  }
}

/** Replace a deployment's `.origin` file atomically (none written for a null origin). */
export async function writeOrigin(sysroot: Sysroot, d: Deployment, origin: KeyFile | null, fsync = false): Promise<void> {
  if (!origin) return;
  try {
    await writeFileAtomic(path.join(sysroot.path, d.originRelpath), origin.serialize(), { mode: 0o644, fsync });
  } catch (e) {
    throw withContext('Writing out origin file', e);
  }
}

export interface DeployOptions {
  /** Stateroot (`--os`); required when not booted. */
  osname?: string;
  /** The origin keyfile to write instead of `[origin] refspec=REFSPEC` (`--origin-file`, loaded). */
  origin?: KeyFile;
  /** Don't merge /etc and kernel arguments from the booted or first deployment (`--no-merge`). */
  noMerge?: boolean;
  retain?: boolean;
  retainPending?: boolean;
  retainRollback?: boolean;
  /** Insert after the booted or merge deployment instead of first (`--not-as-default`). */
  notAsDefault?: boolean;
  /** Skip the repo prune at the end (`--no-prune`). */
  noPrune?: boolean;
  /** `--karg`: set, replacing any argument with the same key. */
  karg?: string[];
  /** `--karg-append`. */
  kargAppend?: string[];
  /** `--karg-delete`. */
  kargDelete?: string;
  /** `--karg-none`: start from no arguments instead of the merge deployment's. */
  kargNone?: boolean;
  /** `--karg-proc-cmdline`: start from /proc/cmdline. */
  kargProcCmdline?: boolean;
  /** `--stage`: only possible in a booted system. */
  stage?: boolean;
  /** `--overlay-initrd` files. */
  overlayInitrds?: string[];
  signal?: AbortSignal;
  onProgress?: (p: CheckoutProgress) => void;
}

/** The kernel arguments `admin deploy` passes on (null = inherit the merge deployment's unchanged). */
export async function deployKargs(merge: Deployment | null, o: DeployOptions): Promise<string[] | null> {
  let kargs: KernelArgs | null = null;
  if (o.kargNone) kargs = new KernelArgs();
  else if (o.kargProcCmdline) kargs = new KernelArgs().appendProcCmdline(await fsp.readFile('/proc/cmdline', 'utf8'));
  else if (merge && (o.karg?.length || o.kargAppend?.length || o.kargDelete)) kargs = KernelArgs.fromArgv((merge.bootconfig.get('options') ?? '').split(' '));
  if (o.karg?.length) kargs = (kargs ?? new KernelArgs()).replaceArgv(o.karg);
  if (o.kargAppend?.length) kargs = (kargs ?? new KernelArgs()).appendArgv(o.kargAppend);
  if (o.kargDelete) kargs = (kargs ?? new KernelArgs()).delete(o.kargDelete);
  return kargs ? kargs.toArgv() : null;
}

/**
 * `ostree admin deploy REFSPEC`: resolve REFSPEC in the system repo, deploy it
 * as the new default (or per the retain/not-as-default options), then clean
 * up (and prune unless `noPrune`). Runs under the sysroot lock.
 *
 * @example
 * import { Sysroot, deploySysroot } from 'node-ostree';
 * const sysroot = await Sysroot.open('/mnt/sysroot');
 * const d = await deploySysroot(sysroot, 'origin:exampleos/stable', { osname: 'exampleos', karg: ['quiet'] });
 * console.log(d.name, d.bootcsum);
 */
export async function deploy(sysroot: Sysroot, refspec: string, o: DeployOptions = {}): Promise<Deployment> {
  if (o.kargProcCmdline && o.kargNone) throw new OstreeError('OSTREE_INVALID_ARGUMENT', "Can't specify both --karg-proc-cmdline and --karg-none");
  if (o.kargNone && o.kargDelete) throw new OstreeError('OSTREE_INVALID_ARGUMENT', "Can't specify both --karg-none and --karg-delete");
  if (o.noMerge && o.kargDelete) throw new OstreeError('OSTREE_INVALID_ARGUMENT', "Can't specify both --no-merge and --karg-delete");
  return sysroot.withLock(async () => {
    await sysroot.load();
    if (!o.osname && !sysroot.booted) {
      throw new OstreeError('OSTREE_INVALID_ARGUMENT', 'Looking for booted deployment: Not currently booted into an OSTree system and no --os= argument given');
    }
    const osname = o.osname ?? (sysroot.booted as Deployment).osname;
    const origin = o.origin ?? originFromRefspec(refspec);
    const repo = await sysroot.repo();
    const { resolveRev } = await import('../refs/refs');
    const revision = (await resolveRev(repo, refspec)) as string;
    const merge = o.noMerge ? null : sysroot.mergeDeployment(osname);
    try {
      await cleanup(sysroot, { prune: false });
    } catch (e) {
      throw withContext('Performing initial cleanup', e);
    }
    const kargs = await deployKargs(merge, o);
    if (o.overlayInitrds?.length) throw new OstreeError('OSTREE_UNSUPPORTED_MODE', '--overlay-initrd is not supported yet');
    if (o.stage) {
      if (o.retainPending || o.retainRollback) throw new OstreeError('OSTREE_INVALID_ARGUMENT', '--stage cannot currently be combined with --retain arguments');
      if (o.notAsDefault) throw new OstreeError('OSTREE_INVALID_ARGUMENT', '--stage cannot currently be combined with --not-as-default');
      if (!sysroot.booted) throw new OstreeError('OSTREE_INVALID_ARGUMENT', 'Cannot stage deployment: Not currently booted into an OSTree system');
      throw new OstreeError('OSTREE_UNSUPPORTED_MODE', 'Staged deployments are not supported yet');
    }
    const d = await deployTree(sysroot, revision, { osname, origin, mergeDeployment: merge, kargs, signal: o.signal, onProgress: o.onProgress });
    await simpleWriteDeployment(sysroot, osname, d, merge, {
      retain: o.retain,
      retainPending: !o.retain && o.retainPending,
      retainRollback: !o.retain && o.retainRollback,
      notDefault: o.notAsDefault,
      noClean: true,
    });
    await cleanup(sysroot, { prune: !o.noPrune });
    return sysroot.deployments.find((x) => x.equals(d)) ?? d;
  });
}
