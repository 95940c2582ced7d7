// Finding the kernel, initramfs and devicetree of a deployment and its
// bootcsum (get_kernel_from_tree in ostree-sysroot-deploy.c; FORMATS.md §9.2):
// usr/lib/modules/$kver/{vmlinuz,initramfs.img|initramfs,devicetree|dtb/,.vmlinuz.hmac},
// or the legacy usr/lib/ostree-boot/ or boot/ with checksummed names.
import { createHash, Hash } from 'node:crypto';
import { createReadStream, promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { OstreeError, isErrno } from '../errors';
import { isValidChecksum } from '../objects/formats';

/** Where the boot files of a tree are and what they are called in /boot. */
export interface KernelLayout {
  /** Directory holding the files, relative to the deployment root. */
  bootDir: string;
  kernelSrc: string;
  kernelNamever: string;
  initramfsSrc: string | null;
  initramfsNamever: string | null;
  /** A single devicetree file, or a `dtb` directory (devicetreeNamever null). */
  devicetreeSrc: string | null;
  devicetreeNamever: string | null;
  hmacSrc: string | null;
  hmacNamever: string | null;
  bootcsum: string;
}

async function hashFile(h: Hash, p: string): Promise<void> {
  for await (const chunk of createReadStream(p)) h.update(chunk as Buffer);
}

async function statOrNull(p: string, follow = true) {
  try {
    return follow ? await fsp.stat(p) : await fsp.lstat(p);
  } catch (e) {
    if (isErrno(e, 'ENOENT') || isErrno(e, 'ENOTDIR')) return null;
    throw e;
  }
}

/** Files of a dtb/ directory in name order, recursively (checksum_dir_recurse). */
async function hashDir(h: Hash, dir: string): Promise<void> {
  const names = (await fsp.readdir(dir)).sort();
  for (const n of names) {
    const p = path.join(dir, n);
    const st = await fsp.lstat(p);
    if (st.isDirectory()) await hashDir(h, p);
    else await hashFile(h, p);
  }
}

async function fromUsrLibModules(root: string): Promise<KernelLayout | null> {
  const modules = path.join(root, 'usr/lib/modules');
  let ents;
  try {
    ents = await fsp.readdir(modules, { withFileTypes: true });
  } catch (e) {
    if (isErrno(e, 'ENOENT')) return null;
    throw e;
  }
  let kver: string | null = null;
  for (const e of ents) {
    if (!e.isDirectory()) continue;
    const st = await statOrNull(path.join(modules, e.name, 'vmlinuz'));
    if (st?.isFile()) {
      kver = e.name;
      break;
    }
  }
  if (!kver) return null;
  const dir = path.join(modules, kver);
  const h = createHash('sha256');
  await hashFile(h, path.join(dir, 'vmlinuz'));
  const layout: KernelLayout = {
    bootDir: path.relative(root, dir),
    kernelSrc: 'vmlinuz',
    kernelNamever: `vmlinuz-${kver}`,
    initramfsSrc: null,
    initramfsNamever: null,
    devicetreeSrc: null,
    devicetreeNamever: null,
    hmacSrc: null,
    hmacNamever: null,
    bootcsum: '',
  };
  for (const name of ['initramfs.img', 'initramfs']) {
    if (await statOrNull(path.join(dir, name))) {
      layout.initramfsSrc = name;
      layout.initramfsNamever = `initramfs-${kver}.img`;
      await hashFile(h, path.join(dir, name));
      break;
    }
  }
  if (await statOrNull(path.join(dir, 'devicetree'))) {
    layout.devicetreeSrc = 'devicetree';
    layout.devicetreeNamever = `devicetree-${kver}`;
    await hashFile(h, path.join(dir, 'devicetree'));
  } else if ((await statOrNull(path.join(dir, 'dtb')))?.isDirectory()) {
    layout.devicetreeSrc = 'dtb';
    await hashDir(h, path.join(dir, 'dtb'));
  }
  if (await statOrNull(path.join(dir, '.vmlinuz.hmac'), false)) {
    layout.hmacSrc = '.vmlinuz.hmac';
    layout.hmacNamever = `.${layout.kernelNamever}.hmac`;
  }
  layout.bootcsum = h.digest('hex');
  return layout;
}

async function fromLegacy(root: string): Promise<KernelLayout | null> {
  let bootDir: string | null = null;
  let names: string[] = [];
  for (const p of ['usr/lib/ostree-boot', 'boot']) {
    try {
      names = await fsp.readdir(path.join(root, p));
      bootDir = p;
      break;
    } catch (e) {
      if (!isErrno(e, 'ENOENT')) throw e;
    }
  }
  if (!bootDir) return null;
  const l: KernelLayout = {
    bootDir,
    kernelSrc: '',
    kernelNamever: '',
    initramfsSrc: null,
    initramfsNamever: null,
    devicetreeSrc: null,
    devicetreeNamever: null,
    hmacSrc: null,
    hmacNamever: null,
    bootcsum: '',
  };
  let kcsum = '';
  let icsum = '';
  let dcsum = '';
  for (const name of names) {
    const dash = name.lastIndexOf('-');
    const csum = name.slice(dash + 1);
    if (!l.kernelSrc && name.startsWith('vmlinuz-')) {
      if (isValidChecksum(csum)) [kcsum, l.kernelSrc, l.kernelNamever] = [csum, name, name.slice(0, dash)];
    } else if (!l.initramfsSrc && name.startsWith('initramfs-')) {
      if (isValidChecksum(csum)) [icsum, l.initramfsSrc, l.initramfsNamever] = [csum, name, name.slice(0, dash)];
    } else if (!l.devicetreeSrc && name.startsWith('devicetree-')) {
      if (isValidChecksum(csum)) [dcsum, l.devicetreeSrc, l.devicetreeNamever] = [csum, name, name.slice(0, dash)];
    }
    if (l.kernelSrc && l.initramfsSrc && l.devicetreeSrc) break;
  }
  if (!l.kernelSrc) return null;
  if (l.initramfsSrc && kcsum !== icsum) throw new OstreeError('OSTREE_CORRUPT_OBJECT', 'Mismatched kernel checksum vs initrd');
  if (l.devicetreeSrc && kcsum !== dcsum) throw new OstreeError('OSTREE_CORRUPT_OBJECT', 'Mismatched kernel checksum vs device tree in tree');
  l.bootcsum = kcsum;
  return l;
}

/** The boot files of the tree at `root` (a deployment directory); throws OSTREE_NOT_FOUND without a kernel. */
export async function findKernel(root: string): Promise<KernelLayout> {
  const modules = await fromUsrLibModules(root);
  const legacy = await fromLegacy(root);
  if (!legacy) {
    if (!modules) throw new OstreeError('OSTREE_NOT_FOUND', 'Failed to find kernel in /usr/lib/modules, /usr/lib/ostree-boot or /boot');
    return modules;
  }
  if (modules && !modules.initramfsSrc && legacy.initramfsSrc) return legacy;
  return modules ?? legacy;
}
