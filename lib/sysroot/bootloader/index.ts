// Bootloader backends (OstreeBootloaderInterface): which bootloader a sysroot
// uses (`sysroot.bootloader`, or probing as ostree 2022.7 does) and each
// backend's config writer, run during a bootversion swap with the BLS entries
// of the new bootversion, default first.
import { OstreeError } from '../../errors';
import { BOOTLOADER_CONFIGS, BootloaderConfig, Bootloader } from './types';
import { syslinux, querySyslinux } from './syslinux';
import { uboot, queryUboot } from './uboot';
import { grub2, queryGrub2 } from './grub2';
import { zipl } from './zipl';

export { BOOTLOADER_CONFIGS } from './types';
export type { BootloaderConfig, BootloaderName, BootEntry, Bootloader, WriteConfigOptions } from './types';
export { syslinux, uboot, grub2, zipl };

/** `none`: BLS entries only. */
export const none: Bootloader = {
  name: 'none',
  label: 'none',
  isAtomic: true,
  async writeConfig() {},
};

/**
 * The bootloader of a sysroot (_ostree_sysroot_query_bootloader): the one
 * configured (`sysroot.bootloader` in the repo config; a configured grub2 is
 * the BIOS variant, unprobed), or with `auto` (default) the first found of
 * syslinux (`boot/syslinux/syslinux.cfg`), grub2 (`boot/grub/grub.cfg`,
 * `boot/grub2/grub.cfg`, or EFI: `boot/efi/EFI/<dir>/grub.cfg`) and u-boot
 * (`boot/loader/uEnv.txt`); the `none` backend when nothing is found. An
 * unknown value is OSTREE_CONFIG (`Invalid bootloader configuration: 'X'`).
 *
 * @example
 * import { selectBootloader } from 'node-ostree';
 * const bl = await selectBootloader('/', 'auto');
 * await bl.writeConfig('/', 1, [
 *   { title: 'OS 1.0 (ostree:0)', version: '1', options: 'root=LABEL=root ostree=/ostree/boot.1/os/abcd/0',
 *     linux: '/ostree/os-abcd/vmlinuz-6.1', initrd: '/ostree/os-abcd/initramfs-6.1.img' },
 * ]);
 */
export async function selectBootloader(sysrootPath: string, configured: string = 'auto'): Promise<Bootloader> {
  if (!(BOOTLOADER_CONFIGS as readonly string[]).includes(configured)) {
    throw new OstreeError('OSTREE_CONFIG', `Invalid bootloader configuration: '${configured}'`, { data: { bootloader: configured } });
  }
  switch (configured as BootloaderConfig) {
    case 'none':
      return none;
    case 'syslinux':
      return syslinux;
    case 'uboot':
      return uboot;
    case 'zipl':
      return zipl;
    case 'grub2':
      return grub2(null);
    case 'auto':
      break;
  }
  if (await querySyslinux(sysrootPath)) return syslinux;
  const g = await queryGrub2(sysrootPath);
  if (g) return g;
  if (await queryUboot(sysrootPath)) return uboot;
  return none;
}
