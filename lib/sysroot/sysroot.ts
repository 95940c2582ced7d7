// The sysroot: a root filesystem holding deployments (ostree-sysroot.c;
// FORMATS.md §9.1, §9.6). Reading side: bootversion and subbootversion,
// the deployment list from the current BLS entries, the booted deployment,
// merge-deployment policy. Writing goes through deploy.ts,
// write-deployments.ts and cleanup.ts, under the sysroot lock.
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { OstreeError, isErrno } from '../errors';
import { KeyFile } from '../repo/keyfile';
import { Repo } from '../repo/repo';
import { BootConfig, strverscmp } from './bls';
import { Deployment, parseDeployPathName } from './deployment';
import { SysrootLock, SysrootLockOptions } from './lock';

/** /run/ostree-booted: a flag written by ostree-prepare-root in a booted system. */
export const OSTREE_BOOTED_PATH = '/run/ostree-booted';
const RUN_DEPLOYMENT_STATE = '/run/ostree/deployment-state/';

export interface SysrootOpenOptions {
  /** Path of /run/ostree-booted (tests). */
  bootedFlagPath?: string;
}

/**
 * A sysroot (`/`, or an image being built): its deployments read from the
 * active `boot/loader` entries, and the operations `ostree admin` offers.
 *
 * @example
 * import { Sysroot } from 'node-ostree';
 * const sysroot = await Sysroot.open('/mnt/sysroot');
 * console.log(sysroot.bootversion, sysroot.deployments.map((d) => d.name));
 * console.log(sysroot.booted ? `booted: ${sysroot.booted.name}` : 'not booted');
 */
export class Sysroot {
  readonly path: string;
  bootversion = 0;
  subbootversion = 0;
  deployments: Deployment[] = [];
  booted: Deployment | null = null;
  staged: Deployment | null = null;
  /** True when this sysroot is the running system's root (/run/ostree-booted and same inode as /). */
  rootIsOstreeBooted = false;
  rootDev = 0;
  rootIno = 0;
  /** Receives the progress lines ostree emits as "journal-msg" (the CLI prints them). */
  onMessage: ((msg: string) => void) | null = null;
  private repoCache: Promise<Repo> | null = null;
  private lockHeld: SysrootLock | null = null;

  private constructor(p: string) {
    this.path = p;
  }

  /** Open and load a sysroot (default `/`). */
  static async open(sysrootPath = '/', opts: SysrootOpenOptions = {}): Promise<Sysroot> {
    const self = new Sysroot(path.resolve(sysrootPath));
    await self.initialize(opts);
    await self.load();
    return self;
  }

  private async initialize(opts: SysrootOpenOptions): Promise<void> {
    const flag = await fsp.stat(opts.bootedFlagPath ?? OSTREE_BOOTED_PATH).then(() => true, () => false);
    const root = await fsp.stat('/');
    this.rootDev = root.dev;
    this.rootIno = root.ino;
    const st = await fsp.stat(this.path).catch((e) => {
      if (isErrno(e, 'ENOENT')) throw new OstreeError('OSTREE_NOT_FOUND', `opendir(${this.path}): No such file or directory`, { cause: e });
      throw e;
    });
    this.rootIsOstreeBooted = flag && st.dev === root.dev && st.ino === root.ino;
  }

  /**
   * False when this sysroot is a deployment (booted, or with a `sysroot/`
   * directory, where the physical root gets bind-mounted): then the repo's
   * remotes live in the deployment's /etc/ostree/remotes.d.
   */
  isPhysical = true;

  /** The system repository, `ostree/repo`. */
  repo(): Promise<Repo> {
    this.repoCache ??= Repo.open(path.join(this.path, 'ostree', 'repo')).then(async (repo) => {
      if (!this.isPhysical) {
        const { setRemotesConfigDir } = await import('../remotes/remotes');
        setRemotesConfigDir(repo, path.join(this.path, 'etc/ostree/remotes.d'));
      }
      return repo;
    });
    return this.repoCache;
  }

  /** Absolute path of a deployment's root directory. */
  deploymentDirectory(d: Deployment): string {
    return path.join(this.path, d.relpath);
  }

  /** Take the sysroot lock (`ostree/lock`); until unlock() the sysroot is ours. */
  async lock(opts: SysrootLockOptions = {}): Promise<void> {
    if (this.lockHeld) return;
    this.lockHeld = await SysrootLock.acquire(this.path, opts);
  }

  async unlock(): Promise<void> {
    const l = this.lockHeld;
    this.lockHeld = null;
    if (l) await l.release();
  }

  /** Run `fn` holding the sysroot lock, released on every path. */
  async withLock<T>(fn: () => Promise<T>, opts: SysrootLockOptions = {}): Promise<T> {
    if (this.lockHeld) return fn();
    await this.lock(opts);
    try {
      return await fn();
    } finally {
      await this.unlock();
    }
  }

  /** (Re)read bootversion, subbootversion and the deployment list (ostree_sysroot_load). */
  async load(): Promise<void> {
    this.bootversion = await this.readBootversion();
    this.subbootversion = await this.readSubbootversion(this.bootversion);
    const configs = await this.readBootLoaderConfigs(this.bootversion);
    this.booted = null;
    const list: Deployment[] = [];
    for (const bc of configs) list.push(await this.deploymentFromBootEntry(bc));
    if (this.rootIsOstreeBooted && !this.booted) {
      const hasLoader = await fsp.lstat(path.join(this.path, 'boot/loader')).then(() => true, () => false);
      throw new OstreeError(
        'OSTREE_INVALID_ARGUMENT',
        hasLoader
          ? `Unexpected state: ${OSTREE_BOOTED_PATH} found and in / sysroot, but bootloader entry not found`
          : `Unexpected state: ${OSTREE_BOOTED_PATH} found, but no /boot/loader directory`,
      );
    }
    // Staged deployments exist only in a booted system (/run/ostree/staged-deployment).
    this.staged = null;
    list.forEach((d, i) => (d.index = i));
    this.deployments = list;
    this.isPhysical = !this.booted && !(await fsp.stat(path.join(this.path, 'sysroot')).then(() => true, () => false));
  }

  private async readBootversion(): Promise<number> {
    const p = path.join(this.path, 'boot/loader');
    let st;
    try {
      st = await fsp.lstat(p);
    } catch (e) {
      if (isErrno(e, 'ENOENT')) return 0;
      throw e;
    }
    if (!st.isSymbolicLink()) throw new OstreeError('OSTREE_CORRUPT_OBJECT', 'Not a symbolic link: boot/loader');
    const target = await fsp.readlink(p);
    if (target === 'loader.0') return 0;
    if (target === 'loader.1') return 1;
    throw new OstreeError('OSTREE_CORRUPT_OBJECT', `Invalid target '${target}' in boot/loader`);
  }

  /** The M of `ostree/boot.N -> boot.N.M` (0 when missing). */
  async readSubbootversion(bootversion: number): Promise<number> {
    const p = path.join(this.path, `ostree/boot.${bootversion}`);
    let target: string;
    try {
      target = await fsp.readlink(p);
    } catch (e) {
      if (isErrno(e, 'ENOENT')) return 0;
      throw e;
    }
    if (target.endsWith('.0')) return 0;
    if (target.endsWith('.1')) return 1;
    throw new OstreeError('OSTREE_CORRUPT_OBJECT', `Invalid target '${target}' in ostree/boot.${bootversion}`);
  }

  /** BLS entries `ostree-*.conf` of `boot/loader.N/entries`, sorted by `version` descending. */
  async readBootLoaderConfigs(bootversion: number): Promise<BootConfig[]> {
    const dir = path.join(this.path, `boot/loader.${bootversion}/entries`);
    let names: string[];
    try {
      names = await fsp.readdir(dir);
    } catch (e) {
      if (isErrno(e, 'ENOENT')) return [];
      throw e;
    }
    const out: BootConfig[] = [];
    for (const n of names) {
      if (!n.startsWith('ostree-') || !n.endsWith('.conf')) continue;
      const st = await fsp.stat(path.join(dir, n));
      if (!st.isFile()) continue;
      try {
        out.push(BootConfig.parse(await fsp.readFile(path.join(dir, n), 'utf8')));
      } catch (e) {
        throw new OstreeError('OSTREE_CORRUPT_OBJECT', `Parsing ${n}: ${(e as Error).message}`, { cause: e });
      }
    }
    return out.sort(compareBootConfigs);
  }

  private async deploymentFromBootEntry(bc: BootConfig): Promise<Deployment> {
    const opts = bc.get('options');
    const arg = opts?.split(' ').find((o) => o.startsWith('ostree='));
    if (!arg) throw new OstreeError('OSTREE_CORRUPT_OBJECT', 'No ostree= kernel argument found');
    const bootlink = arg.slice('ostree='.length);
    const m = /^\/ostree\/boot.([01])\/([^/]+)\/([^/]+)\/([0-9]+)$/.exec(bootlink);
    if (!m) {
      throw new OstreeError('OSTREE_CORRUPT_OBJECT', `Invalid ostree= argument '${bootlink}', expected ostree=/ostree/boot.BOOTVERSION/OSNAME/BOOTCSUM/TREESERIAL`);
    }
    const [, , osname, bootcsum, serial] = m;
    const prefix = `Parsing deployment ${bootlink} in stateroot '${osname}'`;
    const linkPath = path.join(this.path, bootlink.slice(1));
    let target: string;
    try {
      target = await fsp.readlink(linkPath);
    } catch (e) {
      throw new OstreeError('OSTREE_CORRUPT_OBJECT', `${prefix}: readlinkat: ${(e as Error).message}`, { cause: e });
    }
    const parsed = parseDeployPathName(path.basename(target));
    if (!parsed) throw new OstreeError('OSTREE_CORRUPT_OBJECT', `${prefix}: Invalid deploy name '${path.basename(target)}', expected CHECKSUM.TREESERIAL`);
    let st;
    try {
      st = await fsp.stat(linkPath);
    } catch (e) {
      throw new OstreeError('OSTREE_CORRUPT_OBJECT', `${prefix}: opendir(${bootlink.slice(1)}): ${(e as Error).message}`, { cause: e });
    }
    const d = new Deployment({ osname, csum: parsed.csum, deployserial: parsed.deployserial, bootcsum, bootserial: Number(serial), bootconfig: bc });
    d.origin = await this.loadOrigin(d);
    const runstate = `${RUN_DEPLOYMENT_STATE}${d.name}/`;
    if (await exists(`${runstate}unlocked-development`)) d.unlocked = 'development';
    else if (await exists(`${runstate}unlocked-transient`)) d.unlocked = 'transient';
    else if (d.origin?.get('origin', 'unlocked') === 'hotfix') d.unlocked = 'hotfix';
    if (this.rootIsOstreeBooted && !this.booted && st.dev === this.rootDev && st.ino === this.rootIno) this.booted = d;
    return d;
  }

  async loadOrigin(d: Deployment): Promise<KeyFile | null> {
    let text: string;
    try {
      text = await fsp.readFile(path.join(this.path, d.originRelpath), 'utf8');
    } catch (e) {
      if (isErrno(e, 'ENOENT')) return null;
      throw e;
    }
    try {
      return KeyFile.parse(text);
    } catch (e) {
      throw new OstreeError('OSTREE_CORRUPT_OBJECT', `Parsing ${d.originRelpath}: ${(e as Error).message}`, { cause: e });
    }
  }

  /** First deployment of `osname` before / after the booted one (ostree_sysroot_query_deployments_for). */
  queryDeploymentsFor(osname: string | null): { pending: Deployment | null; rollback: Deployment | null } {
    const os = osname ?? this.booted?.osname;
    if (!os) throw new TypeError('osname is required when the system is not booted');
    let foundBooted = false;
    let pending: Deployment | null = null;
    let rollback: Deployment | null = null;
    for (const d of this.deployments) {
      if (d.osname !== os) continue;
      if (this.booted && d.equals(this.booted)) {
        foundBooted = true;
        continue;
      }
      if (!foundBooted && !pending) pending = d;
      else if (foundBooted && !rollback) rollback = d;
    }
    return { pending, rollback };
  }

  /** The deployment whose /etc and kernel arguments a new one inherits: the booted one if of `osname`, else that stateroot's first. */
  mergeDeployment(osname: string | null): Deployment | null {
    const os = osname ?? this.booted?.osname;
    if (!os) throw new TypeError('osname is required when the system is not booted');
    if (this.booted && this.booted.osname === os) return this.booted;
    return this.queryDeploymentsFor(os).pending;
  }

  /** The stateroots present in `ostree/deploy`. */
  async stateroots(): Promise<string[]> {
    const dir = path.join(this.path, 'ostree/deploy');
    const ents = await fsp.readdir(dir, { withFileTypes: true }).catch((e) => {
      if (isErrno(e, 'ENOENT')) return [];
      throw e;
    });
    return ents.filter((e) => e.isDirectory()).map((e) => e.name);
  }

  /** Every `CSUM.SERIAL` directory under `ostree/deploy/OS/deploy` (leftovers included). */
  async listDeploymentDirs(osname?: string): Promise<Deployment[]> {
    const out: Deployment[] = [];
    for (const os of osname ? [osname] : await this.stateroots()) {
      const dir = path.join(this.path, 'ostree/deploy', os, 'deploy');
      const ents = await fsp.readdir(dir, { withFileTypes: true }).catch((e) => {
        if (isErrno(e, 'ENOENT')) return [];
        throw e;
      });
      for (const e of ents) {
        if (!e.isDirectory()) continue;
        const p = parseDeployPathName(e.name);
        if (!p) throw new OstreeError('OSTREE_CORRUPT_OBJECT', `Invalid deploy name '${e.name}', expected CHECKSUM.TREESERIAL`);
        out.push(new Deployment({ osname: os, csum: p.csum, deployserial: p.deployserial }));
      }
    }
    return out;
  }

  /** Report a progress line (ostree's journal-msg signal). */
  emit(msg: string): void {
    this.onMessage?.(msg);
  }

  /** Signal other processes that the deployment list changed (mtime of `ostree/deploy`). */
  async bumpMtime(): Promise<void> {
    const now = new Date();
    await fsp.utimes(path.join(this.path, 'ostree/deploy'), now, now);
  }
}

/** Sort BLS entries by `version`, highest first; entries without one go last. */
export function compareBootConfigs(a: BootConfig, b: BootConfig): number {
  const av = a.get('version');
  const bv = b.get('version');
  if (av !== undefined && bv !== undefined) return -strverscmp(av, bv);
  if (av !== undefined) return -1;
  return 1;
}

async function exists(p: string): Promise<boolean> {
  return fsp.lstat(p).then(() => true, () => false);
}
