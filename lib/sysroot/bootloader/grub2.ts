// grub2 (ostree-bootloader-grub2.c): the system's grub-mkconfig (or
// $OSTREE_GRUB2_EXEC) writes the config; ostree's /etc/grub.d/15_ostree hook
// calls back into `ostree admin instutil grub2-generate`, whose menu entries
// generateGrub2Config() produces. BIOS: boot/loader.N/grub.cfg (atomic with
// the loader swap); EFI: boot/efi/EFI/<vendor>/grub.cfg replaced in place
// (the previous one kept as grub.cfg.old).
import { promises as fsp } from 'node:fs';
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { OstreeError, throwAborted } from '../../errors';
import { LocalFile } from '../../read/local-file';
import { KernelArgs } from '../kargs';
import { BootEntry, Bootloader, WriteConfigOptions } from './types';

/** Debian's grub-mkconfig (ostree's GRUB2_MKCONFIG_PATH there). */
export const GRUB2_MKCONFIG_PATH = '/usr/sbin/grub-mkconfig';
const BIOS_CONFIG_PATHS = ['boot/grub/grub.cfg', 'boot/grub2/grub.cfg'];
const EFI_BASEDIR = 'boot/efi/EFI';

/** g_file_query_exists: any lstat-level existence (a dangling symlink counts); errors mean no. */
async function queryExists(p: string): Promise<boolean> {
  return fsp.lstat(p).then(
    () => true,
    () => false,
  );
}

/** g_file_test(EXISTS): follows symlinks. */
async function testExists(p: string): Promise<boolean> {
  return fsp.stat(p).then(
    () => true,
    () => false,
  );
}

/**
 * grub2 detection: the BIOS configs first; else the first directory (other
 * than BOOT, in GLib's enumeration order) of boot/efi/EFI holding grub.cfg.
 * Resolves the backend (EFI or BIOS) or null when not found.
 */
export async function queryGrub2(sysrootPath: string): Promise<Bootloader | null> {
  for (const rel of BIOS_CONFIG_PATHS) {
    if (await queryExists(path.join(sysrootPath, rel))) return grub2(null);
  }
  const efiBase = path.join(sysrootPath, EFI_BASEDIR);
  if (!(await queryExists(efiBase))) return null;
  for (const { file, info } of await new LocalFile(efiBase).children()) {
    const name = path.basename(file.fsPath);
    if (name === 'BOOT' || info.type !== 'directory') continue;
    const cfg = path.join(efiBase, name, 'grub.cfg');
    if (await testExists(cfg)) return grub2(cfg);
  }
  return null;
}

/** g_shell_quote: single quotes, an inner `'` as `'\''`. */
export function shellQuote(s: string): string {
  return `'${s.replace(/'/g, "'\\''")}'`;
}

export interface Grub2GenerateOptions {
  /** GRUB2_BOOT_DEVICE_ID from the 15_ostree hook. */
  bootDeviceId: string;
  /** GRUB2_PREPARE_ROOT_CACHE from the 15_ostree hook. */
  prepareRootCache: string;
  /** _OSTREE_GRUB2_IS_EFI was set. */
  isEfi?: boolean;
  /**
   * ostree built without WITH_MODERN_GRUB: `linux16`/`initrd16` on x86 BIOS,
   * `linuxefi`/`initrdefi` on EFI except aarch64 (Debian's 2022.7 is modern).
   */
  legacyCommands?: boolean;
  /** For legacyCommands: the architecture (default process.arch). */
  arch?: string;
}

/**
 * The menu entries `ostree admin instutil grub2-generate` writes
 * (_ostree_bootloader_grub2_generate_config), one per entry, default first.
 *
 * @example
 * import { generateGrub2Config } from 'node-ostree';
 * const text = generateGrub2Config(
 *   [{ title: 'OS 1.0 (ostree:0)', linux: '/ostree/os-abcd/vmlinuz', options: 'root=/dev/vda1 ostree=/ostree/boot.1/os/abcd/0' }],
 *   { bootDeviceId: 'abcd-1234', prepareRootCache: 'search --no-floppy --fs-uuid --set=root abcd-1234' },
 * );
 */
export function generateGrub2Config(entries: readonly BootEntry[], opts: Grub2GenerateOptions): string {
  let suffix = '';
  if (opts.legacyCommands) {
    const arch = opts.arch ?? process.arch;
    if (opts.isEfi) suffix = arch === 'arm64' ? '' : 'efi';
    else suffix = arch === 'x64' || arch === 'ia32' ? '16' : '';
  }
  let out = '';
  entries.forEach((e, i) => {
    const title = e.title ?? '(Untitled)';
    const id = `ostree-${i}-${opts.bootDeviceId}`;
    out += `menuentry ${shellQuote(title)} --class gnu-linux --class gnu --class os --unrestricted ${shellQuote(id)} {\n`;
    out += 'load_video\nset gfxpayload=keep\ninsmod gzio\n';
    out += `${opts.prepareRootCache}\n`;
    if (e.linux === undefined) throw new OstreeError('OSTREE_INVALID_ARGUMENT', 'No "linux" key in bootloader config');
    out += `linux${suffix} ${e.linux}`;
    if (e.options !== undefined) out += ` ${e.options}`;
    out += '\n';
    if (e.initrd !== undefined) out += `initrd${suffix} ${e.initrd}\n`;
    if (e.devicetree !== undefined) out += `devicetree ${e.devicetree}\n`;
    out += '}\n';
  });
  return out;
}

/** The deployment directory entry 0's `ostree=` bootlink points at. */
function firstDeploymentRoot(sysrootPath: string, entries: readonly BootEntry[]): string {
  const bootlink = entries.length ? KernelArgs.parse(entries[0].options ?? '').get('ostree') : null;
  if (!bootlink) throw new OstreeError('OSTREE_INVALID_ARGUMENT', 'No ostree= kernel argument found in boot loader configuration file');
  return path.join(sysrootPath, bootlink);
}

/** Run the generator; rejects with ostree's `<exe>: <status>` message. */
async function runGenerator(exe: string, args: string[], env: NodeJS.ProcessEnv, debug: boolean, signal?: AbortSignal): Promise<void> {
  const status = await new Promise<number | string>((resolve, reject) => {
    const child = spawn(exe, args, { env, stdio: debug ? 'inherit' : 'ignore', signal });
    child.on('error', (err: NodeJS.ErrnoException) => {
      if (signal?.aborted) reject(new OstreeError('OSTREE_ABORTED', 'Operation was cancelled', { cause: signal.reason }));
      else reject(new OstreeError('OSTREE_IO', `Failed to execute child process “${exe}” (${err.message})`, { cause: err }));
    });
    child.on('exit', (code, sig) => resolve(sig ?? (code as number)));
  });
  if (status !== 0) {
    const how = typeof status === 'number' ? `Child process exited with code ${status}` : `Child process killed by signal ${status}`;
    throw new OstreeError('OSTREE_IO', `${exe}: ${how}`, { data: { status } });
  }
}

async function fdatasyncFile(p: string): Promise<void> {
  const fh = await fsp.open(p, 'r');
  try {
    await fh.datasync();
  } finally {
    await fh.close();
  }
}

/**
 * The grub2 backend; `efiConfig` is the detected EFI grub.cfg, or null for
 * BIOS. With the system grub-mkconfig, not booted and a sysroot other than
 * `/`, the generator runs chrooted into the first new deployment in a private
 * mount namespace (here through unshare(1) and chroot(1)).
 */
export function grub2(efiConfig: string | null): Bootloader {
  return {
    name: 'grub2',
    label: 'grub2',
    isAtomic: efiConfig === null,
    async writeConfig(sysrootPath, newBootversion, entries, opts: WriteConfigOptions = {}) {
      throwAborted(opts.signal);
      const baseEnv = opts.env ?? process.env;
      const configured = baseEnv.OSTREE_GRUB2_EXEC;
      const exe = configured ?? GRUB2_MKCONFIG_PATH;
      const systemMkconfig = exe.endsWith(GRUB2_MKCONFIG_PATH);
      const chrootDir =
        systemMkconfig && !opts.booted && path.resolve(sysrootPath) !== '/'
          ? opts.deploymentRoot ?? firstDeploymentRoot(sysrootPath, entries)
          : null;
      let out: string;
      if (efiConfig) {
        out = path.join(path.dirname(efiConfig), 'grub.cfg.new');
        await fsp.rm(out, { force: true });
      } else {
        out = path.join(sysrootPath, `boot/loader.${newBootversion}/grub.cfg`);
      }
      const env: NodeJS.ProcessEnv = { ...baseEnv, _OSTREE_GRUB2_BOOTVERSION: String(newBootversion) };
      if (efiConfig) env._OSTREE_GRUB2_IS_EFI = '1';
      const debug = baseEnv.OSTREE_DEBUG_GRUB2 !== undefined;
      if (chrootDir) {
        await runGenerator('unshare', ['--mount', '--propagation', 'private', 'chroot', chrootDir, exe, '-o', out], env, debug, opts.signal);
      } else {
        await runGenerator(exe, ['-o', out], env, debug, opts.signal);
      }
      await fdatasyncFile(out);
      if (efiConfig) {
        // Not atomic (FAT): keep the old one, then replace.
        const old = path.join(path.dirname(efiConfig), 'grub.cfg.old');
        await fsp.rm(old, { force: true });
        await fsp.copyFile(efiConfig, old);
        await fsp.rm(efiConfig, { force: true });
        await fsp.rename(out, efiConfig);
      }
    },
  };
}
