// Writing a new deployment list (ostree_sysroot_write_deployments_with_options
// and ostree_sysroot_simple_write_deployment; FORMATS.md §9.6, §9.7): either a
// subbootversion swap (only the ostree/boot.N.M bootlinks change) or a
// bootversion swap (new boot/loader.N' entries and kernels, then the atomic
// rename of boot/loader.tmp over boot/loader, the commit point).
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { native } from '../binding';
import { crashPoint } from '../crash-point';
import { OstreeError, withContext } from '../errors';
import { commitVersion } from '../read/dump';
import { tmpName, writeFileAtomic } from '../repo/repo';
import type { Repo } from '../repo/repo';
import { Deployment } from './deployment';
import { findKernel, KernelLayout } from './kernel';
import { cleanup } from './cleanup';
import { KernelArgs } from './kargs';
import { selectBootloader, Bootloader, BootEntry } from './bootloader';
import type { Sysroot } from './sysroot';

export interface WriteDeploymentsOptions {
  /** Run cleanup (with repo prune) afterwards; default true. */
  postclean?: boolean;
}

/** Atomically point `linkPath` at `target` (symlink_at_replace). */
export async function symlinkReplace(target: string, linkPath: string): Promise<void> {
  const tmp = path.join(path.dirname(linkPath), tmpName('link'));
  await fsp.symlink(target, tmp);
  try {
    await fsp.rename(tmp, linkPath);
  } catch (e) {
    await fsp.rm(tmp, { force: true });
    throw e;
  }
}

function assignBootserials(list: Deployment[]): void {
  const serials = new Map<string, number>();
  for (const d of list) {
    const n = serials.get(d.bootcsum) ?? 0;
    serials.set(d.bootcsum, n + 1);
    d.bootserial = n;
  }
}

/** Kernel arguments with `ostree=` dropped (get_deployment_nonostree_kargs). */
function nonOstreeKargs(d: Deployment): string {
  return KernelArgs.parse(d.bootconfig.get('options')).replace('ostree').toString();
}

async function versionOf(repo: Repo, csum: string): Promise<string | null> {
  try {
    return commitVersion(await repo.readCommit(csum));
  } catch {
    return null;
  }
}

async function bootconfigsEqual(repo: Repo, a: Deployment, b: Deployment): Promise<boolean> {
  if (a.bootcsum !== b.bootcsum) return false;
  if (a.bootconfig.overlayInitrds.join('\0') !== b.bootconfig.overlayInitrds.join('\0')) return false;
  if (nonOstreeKargs(a) !== nonOstreeKargs(b)) return false;
  return (await versionOf(repo, a.csum)) === (await versionOf(repo, b.csum));
}

/** full_system_sync: syncfs() of the sysroot and the freeze/thaw cycle of /boot (lib/sysroot/fsfreeze.ts). */
async function fullSync(sysroot: Sysroot): Promise<void> {
  await (await import('./fsfreeze')).fullSync(sysroot.path);
}

/** ostree/boot.B.M' symlink farm for `list`, M' = 1 - current M of B; returns M'. */
async function createBootlinks(sysroot: Sysroot, bootversion: number, list: Deployment[]): Promise<number> {
  const old = bootversion === sysroot.bootversion ? sysroot.subbootversion : await sysroot.readSubbootversion(bootversion);
  const sub = old === 0 ? 1 : 0;
  const dir = path.join(sysroot.path, 'ostree', `boot.${bootversion}.${sub}`);
  await fsp.rm(dir, { recursive: true, force: true });
  await fsp.mkdir(dir, { recursive: true, mode: 0o755 });
  for (const d of list) {
    const parent = path.join(dir, d.osname, d.bootcsum);
    await fsp.mkdir(parent, { recursive: true, mode: 0o755 });
    await symlinkReplace(`../../../deploy/${d.osname}/deploy/${d.name}`, path.join(parent, String(d.bootserial)));
  }
  return sub;
}

async function swapBootlinks(sysroot: Sysroot, bootversion: number, sub: number): Promise<string> {
  crashPoint();
  const name = `boot.${bootversion}.${sub}`;
  await symlinkReplace(name, path.join(sysroot.path, 'ostree', `boot.${bootversion}`));
  return name;
}

/** Hardlink (or copy on EXDEV/EMLINK, keeping owner and mode) a boot file into /boot (install_into_boot). */
async function installIntoBoot(src: string, dest: string): Promise<void> {
  try {
    await fsp.link(src, dest);
    return;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'EXDEV' && code !== 'EMLINK') throw new OstreeError('OSTREE_IO', `linkat(${path.basename(dest)}): ${(e as Error).message}`, { cause: e });
  }
  const st = await fsp.stat(src);
  const tmp = path.join(path.dirname(dest), tmpName('boot'));
  try {
    await fsp.copyFile(src, tmp);
    await fsp.chown(tmp, st.uid, st.gid);
    await fsp.chmod(tmp, st.mode & 0o7777);
    await native().fs_fsync(tmp);
    await fsp.link(tmp, dest);
  } finally {
    await fsp.rm(tmp, { force: true });
  }
}

async function copyDirRecurse(src: string, dest: string): Promise<void> {
  await fsp.mkdir(dest, { recursive: true });
  for (const e of await fsp.readdir(src, { withFileTypes: true })) {
    const s = path.join(src, e.name);
    const t = path.join(dest, e.name);
    if (e.isDirectory()) await copyDirRecurse(s, t);
    else if (!(await exists(t))) await installIntoBoot(s, t);
  }
}

async function exists(p: string): Promise<boolean> {
  return fsp.lstat(p).then(() => true, () => false);
}

/** PRETTY_NAME/ID etc. from os-release text (parse_os_release: KEY=VALUE, shell quoting removed). */
export function parseOsRelease(text: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const eq = line.indexOf('=');
    if (eq < 0) continue;
    m.set(line.slice(0, eq), unquoteShell(line.slice(eq + 1)));
  }
  return m;
}

/** g_shell_unquote for the common forms: '…', "…" with \ escapes, bare words with \ escapes. */
function unquoteShell(s: string): string {
  let out = '';
  let i = 0;
  while (i < s.length) {
    const c = s[i];
    if (c === "'") {
      const end = s.indexOf("'", i + 1);
      if (end < 0) return s;
      out += s.slice(i + 1, end);
      i = end + 1;
    } else if (c === '"') {
      i++;
      while (i < s.length && s[i] !== '"') {
        if (s[i] === '\\' && i + 1 < s.length && '"\\$`\n'.includes(s[i + 1])) i++;
        out += s[i++];
      }
      i++;
    } else if (c === '\\' && i + 1 < s.length) {
      out += s[i + 1];
      i += 2;
    } else {
      out += c;
      i++;
    }
  }
  return out;
}

/** Kernel, initramfs, devicetree into boot/ostree/OS-BOOTCSUM and the BLS entry (install_deployment_kernel). */
async function installDeploymentKernel(sysroot: Sysroot, repo: Repo, newBootversion: number, d: Deployment, n: number, showOsname: boolean): Promise<void> {
  const root = sysroot.deploymentDirectory(d);
  let layout: KernelLayout;
  try {
    layout = await findKernel(root);
  } catch (e) {
    throw new OstreeError((e as OstreeError).code ?? 'OSTREE_IO', `Installing kernel: ${(e as Error).message}`, { cause: e });
  }
  const bootcsumdir = `ostree/${d.osname}-${d.bootcsum}`;
  const bootcsumPath = path.join(sysroot.path, 'boot', bootcsumdir);
  const entries = path.join(sysroot.path, `boot/loader.${newBootversion}/entries`);
  await fsp.mkdir(bootcsumPath, { recursive: true, mode: 0o775 });
  await fsp.mkdir(entries, { recursive: true, mode: 0o775 });
  const src = (name: string) => path.join(root, layout.bootDir, name);
  const install = async (s: string | null, namever: string | null) => {
    if (!s || !namever) return;
    if (!(await exists(path.join(bootcsumPath, namever)))) await installIntoBoot(src(s), path.join(bootcsumPath, namever));
  };
  await install(layout.kernelSrc, layout.kernelNamever);
  await install(layout.initramfsSrc, layout.initramfsNamever);
  if (layout.devicetreeSrc) {
    if (layout.devicetreeNamever) await install(layout.devicetreeSrc, layout.devicetreeNamever);
    else await copyDirRecurse(src(layout.devicetreeSrc), path.join(bootcsumPath, layout.devicetreeSrc));
  }
  await install(layout.hmacSrc, layout.hmacNamever);

  let osRelease: string;
  if (await exists(path.join(root, 'usr/lib/os-release'))) osRelease = await fsp.readFile(path.join(root, 'usr/lib/os-release'), 'utf8');
  else {
    try {
      osRelease = await fsp.readFile(path.join(root, 'etc/os-release'), 'utf8');
    } catch (e) {
      throw new OstreeError('OSTREE_NOT_FOUND', `Installing kernel: Reading /etc/os-release: ${(e as Error).message}`, { cause: e });
    }
  }
  const rel = parseOsRelease(osRelease);
  const name = rel.get('PRETTY_NAME') ?? rel.get('ID');
  if (name === undefined) throw new OstreeError('OSTREE_INVALID_ARGUMENT', 'Installing kernel: No PRETTY_NAME or ID in /etc/os-release');
  const version = await versionOf(repo, d.csum);
  let title = name;
  if (version && !name.includes(version)) title += ` ${version}`;
  title += ` (ostree${showOsname ? `:${d.osname}` : ''}:${d.index})`;
  const bc = d.bootconfig;
  bc.set('title', title);
  bc.set('version', String(n - d.index));
  bc.set('linux', `/${bootcsumdir}/${layout.kernelNamever}`);
  const kargs = KernelArgs.parse(bc.get('options'));
  if (layout.initramfsNamever) bc.set('initrd', `/${bootcsumdir}/${layout.initramfsNamever}`);
  else kargs.replace(`init=/ostree/boot.${newBootversion}/${d.osname}/${d.bootcsum}/${d.bootserial}/usr/lib/ostree/ostree-prepare-root`);
  if (layout.devicetreeNamever) bc.set('devicetree', `/${bootcsumdir}/${layout.devicetreeNamever}`);
  else if (layout.devicetreeSrc) bc.set('fdtdir', `/${bootcsumdir}/${layout.devicetreeSrc}`);
  kargs.replace(`ostree=/ostree/boot.${newBootversion}/${d.osname}/${d.bootcsum}/${d.bootserial}`);
  bc.set('options', kargs.toString());
  if (d.index !== 0) {
    for (const [k, v] of blsAppend(repo)) bc.set(k, v);
  }
  crashPoint();
  await writeFileAtomic(path.join(entries, `ostree-${n - d.index}-${d.osname}.conf`), bc.serialize(), { mode: 0o644 });
}

/** `[sysroot] bls-append-except-default=key=value;…` of the repo config. */
function blsAppend(repo: Repo): Array<[string, string]> {
  const v = repo.config.getList('sysroot', 'bls-append-except-default') ?? [];
  const out: Array<[string, string]> = [];
  for (const item of v) {
    const eq = item.indexOf('=');
    if (eq > 0) out.push([item.slice(0, eq), item.slice(eq + 1)]);
  }
  return out;
}

async function bootswap(sysroot: Sysroot, repo: Repo, list: Deployment[], bootloader: Bootloader | null): Promise<string> {
  const newBootversion = sysroot.bootversion === 0 ? 1 : 0;
  const entries = path.join(sysroot.path, `boot/loader.${newBootversion}/entries`);
  await fsp.rm(entries, { recursive: true, force: true });
  await fsp.mkdir(entries, { recursive: true, mode: 0o755 });
  const showOsname = list.some((d) => d.osname !== list[0].osname);
  for (const d of list) await installDeploymentKernel(sysroot, repo, newBootversion, d, list.length, showOsname);
  const sub = await createBootlinks(sysroot, newBootversion, list);
  const subbootdir = await swapBootlinks(sysroot, newBootversion, sub);
  if (bootloader) {
    const entries: BootEntry[] = (await sysroot.readBootLoaderConfigs(newBootversion)).map((bc) => {
      const e: BootEntry = {};
      for (const k of ['title', 'version', 'options', 'linux', 'initrd', 'devicetree', 'fdtdir'] as const) {
        const v = bc.get(k);
        if (v !== undefined) e[k] = v;
      }
      return e;
    });
    crashPoint();
    try {
      await bootloader.writeConfig(sysroot.path, newBootversion as 0 | 1, entries, { booted: !!sysroot.booted });
    } catch (e) {
      throw withContext('Bootloader write config', e);
    }
  }
  const bootBoot = path.join(sysroot.path, 'boot/boot');
  await fsp.symlink('.', bootBoot).catch((e) => {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
  });
  await symlinkReplace(`loader.${newBootversion}`, path.join(sysroot.path, 'boot/loader.tmp'));
  await fullSync(sysroot);
  crashPoint();
  await fsp.rename(path.join(sysroot.path, 'boot/loader.tmp'), path.join(sysroot.path, 'boot/loader'));
  await native().fs_fsync(path.join(sysroot.path, 'boot'));
  await bootloader?.postBlsSync?.(sysroot.path, newBootversion as 0 | 1, { booted: !!sysroot.booted });
  return subbootdir;
}

/**
 * Make `newList` the sysroot's deployment list, in that order (index 0 boots
 * by default), then reload and (unless `postclean` is false) clean up.
 *
 * @example
 * import { Sysroot, writeDeployments } from 'node-ostree';
 * const sysroot = await Sysroot.open('/mnt/sysroot');
 * // Roll back: make the second deployment the default.
 * await sysroot.withLock(async () => {
 *   const [a, b, ...rest] = sysroot.deployments;
 *   await writeDeployments(sysroot, [b, a, ...rest]);
 * });
 */
export async function writeDeployments(sysroot: Sysroot, newList: Deployment[], opts: WriteDeploymentsOptions = {}): Promise<void> {
  const repo = await sysroot.repo();
  const list = newList.filter((d) => !d.staged);
  assignBootserials(list);
  const current = sysroot.deployments.filter((d) => !d.staged);
  let requiresNewBootversion = list.length !== current.length;
  if (!requiresNewBootversion) {
    let noop = true;
    for (let i = 0; i < list.length; i++) {
      if (!(await bootconfigsEqual(repo, current[i], list[i]))) {
        requiresNewBootversion = true;
        noop = false;
        break;
      }
      if (current[i] !== list[i]) noop = false;
    }
    if (noop) return;
  }
  let foundBooted = false;
  for (let i = 0; i < list.length; i++) {
    const d = list[i];
    if (sysroot.booted && d === sysroot.booted) foundBooted = true;
    if (!(await exists(sysroot.deploymentDirectory(d)))) {
      throw new OstreeError('OSTREE_NOT_FOUND', `Unable to find expected deployment root: ${sysroot.deploymentDirectory(d)}`);
    }
    d.index = i;
  }
  if (sysroot.booted && !foundBooted) throw new OstreeError('OSTREE_INVALID_ARGUMENT', 'Attempting to remove booted deployment');

  let subbootdir: string;
  let atomic: boolean;
  if (!requiresNewBootversion) {
    const sub = await createBootlinks(sysroot, sysroot.bootversion, list);
    await fullSync(sysroot);
    subbootdir = await swapBootlinks(sysroot, sysroot.bootversion, sub);
    atomic = true;
  } else {
    // The `none` backend stands for ostree's "no bootloader" (BLS entries only).
    const found = await selectBootloader(sysroot.path, repo.config.get('sysroot', 'bootloader') ?? 'auto');
    const bootloader = found.name === 'none' ? null : found;
    atomic = bootloader !== null && bootloader.isAtomic;
    subbootdir = await bootswap(sysroot, repo, list, bootloader);
  }
  sysroot.emit(
    `${atomic ? 'Transaction complete' : 'Bootloader updated'}; bootconfig swap: ${requiresNewBootversion ? 'yes' : 'no'}; ` +
      `bootversion: ${subbootdir}, deployment count change: ${list.length - sysroot.deployments.length}`,
  );
  await sysroot.bumpMtime();
  await sysroot.load();
  for (const d of sysroot.deployments) await fsp.rm(path.join(sysroot.path, 'ostree/deploy', d.osname, 'current'), { force: true });
  if (opts.postclean ?? true) await cleanup(sysroot, { prune: true });
}

export interface SimpleWriteOptions {
  retain?: boolean;
  retainPending?: boolean;
  retainRollback?: boolean;
  /** Insert after the booted (or merge) deployment instead of first. */
  notDefault?: boolean;
  /** Skip the final cleanup (ostree's NO_CLEAN flag). */
  noClean?: boolean;
}

/** The default policy of `admin deploy`/`upgrade`/`switch` (ostree_sysroot_simple_write_deployment). *
 * @example
 * import { Sysroot, deployTree, simpleWriteDeployment } from 'node-ostree';
 * const sysroot = await Sysroot.open('/mnt/sysroot');
 * await sysroot.withLock(async () => {
 *   const merge = sysroot.mergeDeployment('exampleos');
 *   const d = await deployTree(sysroot, checksum, { osname: 'exampleos', mergeDeployment: merge });
 *   await simpleWriteDeployment(sysroot, 'exampleos', d, merge, { retainRollback: true });
 * });
 */
export async function simpleWriteDeployment(sysroot: Sysroot, osname: string | null, newDeployment: Deployment, merge: Deployment | null, o: SimpleWriteOptions = {}): Promise<void> {
  const booted = sysroot.booted;
  const os = osname ?? booted?.osname ?? null;
  const out: Deployment[] = [];
  let added = false;
  if (!o.notDefault) {
    out.push(newDeployment);
    added = true;
  }
  let retain = !!o.retain;
  if (!booted && !merge && (o.retainPending || o.retainRollback)) retain = true;
  let beforeBooted = true;
  let beforeMerge = true;
  for (const d of sysroot.deployments) {
    const osMatches = os === null || d.osname === os;
    const isBooted = d.equals(booted);
    const isMerge = d.equals(merge);
    if (isBooted) beforeBooted = false;
    if (isMerge) beforeMerge = false;
    const passed = booted ? !beforeBooted : !beforeMerge;
    if (retain || d.pinned || !osMatches || (o.retainPending && !passed) || isBooted || isMerge || (o.retainRollback && passed)) out.push(d);
    if (!added && passed) {
      out.push(newDeployment);
      added = true;
    }
  }
  if (!added) out.push(newDeployment);
  await writeDeployments(sysroot, out, { postclean: !o.noClean });
}

/** Rewrite a deployment's BLS entry with new `options`, in place: no swap, no bootloader files (ostree_sysroot_deployment_set_kargs_in_place). */
export async function setKargsInPlace(sysroot: Sysroot, d: Deployment, options: string): Promise<void> {
  if (d.staged) throw new OstreeError('OSTREE_UNSUPPORTED_MODE', 'Staged deployments are not supported yet');
  d.bootconfig.set('options', options);
  const name = `ostree-${sysroot.deployments.length - d.index}-${d.osname}.conf`;
  await writeFileAtomic(path.join(sysroot.path, `boot/loader.${sysroot.bootversion}/entries`, name), d.bootconfig.serialize(), { mode: 0o644 });
}

/**
 * Give deployment `d` new kernel arguments by writing a new deployment list
 * in which a copy of it carries `kargs` as its BLS `options`: a full
 * bootversion swap (ostree_sysroot_deployment_set_kargs), unlike
 * {@link setKargsInPlace}. `kargs` are parsed as one argument each
 * (duplicates kept, in order).
 *
 * @example
 * import { Sysroot, setDeploymentKargs } from 'node-ostree';
 * const sysroot = await Sysroot.open('/mnt/sysroot');
 * await sysroot.withLock(() => setDeploymentKargs(sysroot, sysroot.deployments[0], ['root=/dev/vda1', 'quiet']));
 */
export async function setDeploymentKargs(sysroot: Sysroot, d: Deployment, kargs: readonly string[], opts: WriteDeploymentsOptions = {}): Promise<void> {
  if (d.staged) throw new OstreeError('OSTREE_UNSUPPORTED_MODE', 'Staged deployments are not supported yet');
  if (!sysroot.deployments.includes(d)) throw new OstreeError('OSTREE_INVALID_ARGUMENT', `Deployment ${d.name} is not in the sysroot's list`);
  const copy = d.clone();
  copy.bootconfig.set('options', new KernelArgs().appendArgv(kargs).toString());
  await writeDeployments(
    sysroot,
    sysroot.deployments.map((x) => (x === d ? copy : x)),
    opts,
  );
}
