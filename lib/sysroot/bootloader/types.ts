// The bootloader backend interface (ostree's OstreeBootloaderInterface) and
// the boot entries the backends are given.

/** The values `sysroot.bootloader` takes in ostree 2022.7. */
export const BOOTLOADER_CONFIGS = ['auto', 'none', 'grub2', 'syslinux', 'uboot', 'zipl'] as const;
export type BootloaderConfig = (typeof BOOTLOADER_CONFIGS)[number];
export type BootloaderName = Exclude<BootloaderConfig, 'auto'>;

/**
 * One boot entry as the bootloaders read it from a BLS file
 * (`boot/loader.N/entries/*.conf`): the values of its keys. ostree fails
 * without `linux`; a missing `title` is shown as `(Untitled)`.
 */
export interface BootEntry {
  title?: string;
  version?: string;
  options?: string;
  linux?: string;
  initrd?: string;
  devicetree?: string;
  fdtdir?: string;
}

export interface WriteConfigOptions {
  signal?: AbortSignal;
  /** grub2: whether the system runs from a deployment of this sysroot (no chroot then). */
  booted?: boolean;
  /**
   * grub2: the first new deployment's directory, where grub-mkconfig runs
   * chrooted when not booted (default: the bootlink of entry 0's `ostree=`).
   */
  deploymentRoot?: string;
  /** grub2: environment to read OSTREE_GRUB2_EXEC / OSTREE_DEBUG_GRUB2 from and pass on (default process.env). */
  env?: NodeJS.ProcessEnv;
}

/** A bootloader backend (ostree's OstreeBootloaderInterface). */
export interface Bootloader {
  /** The configuration name (`sysroot.bootloader` value). */
  readonly name: BootloaderName;
  /** ostree's display name (`U-Boot` for uboot). */
  readonly label: string;
  /** Whether writeConfig is atomic with the loader swap (grub2 on EFI is not). */
  readonly isAtomic: boolean;
  /** Write the config for bootversion `newBootversion` from its entries, default first. */
  writeConfig(sysrootPath: string, newBootversion: 0 | 1, entries: readonly BootEntry[], opts?: WriteConfigOptions): Promise<void>;
  /** After the BLS entries are synced (zipl only: run `zipl` if its stamp exists). */
  postBlsSync?(sysrootPath: string, bootversion: 0 | 1, opts?: WriteConfigOptions): Promise<void>;
}
