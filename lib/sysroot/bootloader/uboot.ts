// u-boot (ostree-bootloader-uboot.c): boot/loader.N/uEnv.txt is generated
// from the entries (kernel_image, ramdisk_image, fdt_file, fdtdir, bootargs;
// suffix "" for the default entry, i+1 for the others). The default
// deployment's usr/lib/ostree-boot/uEnv.txt, if any, is inserted verbatim
// after its bootargs line. The existing boot/loader/uEnv.txt must be readable
// but its contents are not used.
import * as path from 'node:path';
import { OstreeError, throwAborted, withContext } from '../../errors';
import { writeFileAtomic } from '../../repo/repo';
import { KernelArgs } from '../kargs';
import { BootEntry, Bootloader, WriteConfigOptions } from './types';
import { joinLines, readUtf8File, lexists } from './lines';

export const UBOOT_CONFIG_PATH = 'boot/loader/uEnv.txt';
/** Where a deployment ships extra u-boot environment. */
export const SYSTEM_UENV_PATH = 'usr/lib/ostree-boot/uEnv.txt';

/** Whether boot/loader/uEnv.txt exists (lstat of the file itself). */
export async function queryUboot(sysrootPath: string): Promise<boolean> {
  return lexists(path.join(sysrootPath, UBOOT_CONFIG_PATH));
}

/** The deployment's uEnv.txt, found through the last `ostree=` of the default entry's options; null if it has none. */
async function systemUenv(sysrootPath: string, bootargs: string): Promise<string | null> {
  const ostreeArg = KernelArgs.parse(bootargs).get('ostree');
  if (ostreeArg == null) {
    throw new OstreeError('OSTREE_INVALID_ARGUMENT', 'No ostree= kernel argument found in boot loader configuration file');
  }
  // ostree skips the first character (the leading '/') and opens the rest
  // relative to the sysroot; here it always stays inside the sysroot.
  const rel = `${ostreeArg.slice(1)}/${SYSTEM_UENV_PATH}`;
  try {
    return await readUtf8File(path.join(sysrootPath, rel), true);
  } catch (err) {
    throw withContext(`Reading ${rel}`, err);
  }
}

/** The uEnv.txt lines for the entries (one element for the system uEnv.txt). */
async function uenvLines(sysrootPath: string, entries: readonly BootEntry[]): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i];
    const s = i === 0 ? '' : String(i + 1);
    if (e.linux === undefined) throw new OstreeError('OSTREE_INVALID_ARGUMENT', 'No "linux" key in bootloader config');
    out.push(`kernel_image${s}=/boot${e.linux}`);
    if (e.initrd !== undefined) out.push(`ramdisk_image${s}=/boot${e.initrd}`);
    if (e.devicetree !== undefined) out.push(`fdt_file${s}=/boot${e.devicetree}`);
    if (e.fdtdir !== undefined) out.push(`fdtdir${s}=/boot${e.fdtdir}`);
    if (e.options !== undefined) {
      out.push(`bootargs${s}=${e.options}`);
      if (i === 0) {
        const extra = await systemUenv(sysrootPath, e.options);
        if (extra !== null) out.push(extra);
      }
    }
  }
  return out;
}

/** The new uEnv.txt text (reads only the deployment's uEnv.txt). */
export async function buildUbootConfig(sysrootPath: string, entries: readonly BootEntry[]): Promise<string> {
  return joinLines(await uenvLines(sysrootPath, entries));
}

/** The u-boot backend ("U-Boot"): writes `boot/loader.N/uEnv.txt` atomically. */
export const uboot: Bootloader = {
  name: 'uboot',
  label: 'U-Boot',
  isAtomic: true,
  async writeConfig(sysrootPath: string, newBootversion: 0 | 1, entries: readonly BootEntry[], opts: WriteConfigOptions = {}) {
    throwAborted(opts.signal);
    await readUtf8File(path.join(sysrootPath, UBOOT_CONFIG_PATH));
    const text = await buildUbootConfig(sysrootPath, entries);
    throwAborted(opts.signal);
    await writeFileAtomic(path.join(sysrootPath, `boot/loader.${newBootversion}/uEnv.txt`), text, { fsync: true, mode: 0o644 });
  },
};
