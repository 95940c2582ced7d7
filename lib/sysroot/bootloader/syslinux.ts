// syslinux (ostree-bootloader-syslinux.c): boot/loader.N/syslinux.cfg is the
// old config (read through boot/syslinux/syslinux.cfg, the installer's
// symlink to ../loader/syslinux.cfg) with ostree's own LABEL blocks and the
// DEFAULT line taken out, then a block per entry appended.
import * as path from 'node:path';
import { OstreeError, throwAborted } from '../../errors';
import { writeFileAtomic } from '../../repo/repo';
import { BootEntry, Bootloader, WriteConfigOptions } from './types';
import { joinLines, splitLines, readUtf8File, lexists } from './lines';

export const SYSLINUX_CONFIG_PATH = 'boot/syslinux/syslinux.cfg';

/** Whether boot/syslinux/syslinux.cfg exists (lstat: a dangling symlink counts). */
export async function querySyslinux(sysrootPath: string): Promise<boolean> {
  return lexists(path.join(sysrootPath, SYSLINUX_CONFIG_PATH));
}

function noLinux(): OstreeError {
  return new OstreeError('OSTREE_INVALID_ARGUMENT', 'No "linux" key in bootloader config');
}

/** The old config's lines that stay, and whether the DEFAULT line is to be regenerated. */
function keptLines(lines: readonly string[]): { kept: string[]; regenerateDefault: boolean } {
  const kept: string[] = [];
  let block: string[] = [];
  let kernel: string | null = null; // not reset between blocks, as in ostree
  let inLabel = false;
  let sawDefault = false;
  let regenerateDefault = false;
  for (let i = 0; i <= lines.length; i++) {
    const line = i < lines.length ? lines[i] : null;
    if (inLabel && (line === null || !line.startsWith('\t'))) {
      inLabel = false;
      if (kernel === null) throw new OstreeError('OSTREE_INVALID_ARGUMENT', 'No KERNEL argument found after LABEL');
      // ostree's own blocks are dropped (also the pre-2020.4 ones without /boot)
      if (!kernel.startsWith('/ostree/') && !kernel.startsWith('/boot/ostree/')) kept.push(...block);
      block = [];
    }
    if (line === null) break;
    let skip = false;
    if (!inLabel && line.startsWith('LABEL ')) {
      inLabel = true;
      block = [];
    } else if (inLabel && line.startsWith('\tKERNEL ')) {
      kernel = line.slice('\tKERNEL '.length);
    } else if (!inLabel && line.startsWith('DEFAULT ')) {
      sawDefault = true;
      if (line.startsWith('DEFAULT ostree:') || line.includes('(ostree')) regenerateDefault = true;
      skip = true;
    }
    if (!skip) (inLabel ? block : kept).push(line);
  }
  return { kept, regenerateDefault: regenerateDefault || !sawDefault };
}

/** The new syslinux.cfg text from the old one and the entries (pure). */
export function buildSyslinuxConfig(oldConfig: string, entries: readonly BootEntry[]): string {
  const { kept, regenerateDefault } = keptLines(splitLines(oldConfig));
  const out = kept;
  entries.forEach((e, i) => {
    const title = e.title ?? '(Untitled)';
    if (regenerateDefault && i === 0) out.push(`DEFAULT ${title}`);
    out.push(`LABEL ${title}`);
    if (e.linux === undefined) throw noLinux();
    out.push(`\tKERNEL /boot${e.linux}`);
    if (e.initrd !== undefined) out.push(`\tINITRD /boot${e.initrd}`);
    if (e.devicetree !== undefined) out.push(`\tDEVICETREE /boot${e.devicetree}`);
    if (e.options !== undefined) out.push(`\tAPPEND ${e.options}`);
  });
  return joinLines(out);
}

/**
 * The syslinux backend: reads `boot/syslinux/syslinux.cfg` (following its
 * symlink to the current loader) and writes `boot/loader.N/syslinux.cfg`
 * atomically; non-ostree LABEL blocks and other lines are kept.
 */
export const syslinux: Bootloader = {
  name: 'syslinux',
  label: 'syslinux',
  isAtomic: true,
  async writeConfig(sysrootPath: string, newBootversion: 0 | 1, entries: readonly BootEntry[], opts: WriteConfigOptions = {}) {
    throwAborted(opts.signal);
    const old = (await readUtf8File(path.join(sysrootPath, SYSLINUX_CONFIG_PATH))) as string;
    const text = buildSyslinuxConfig(old, entries);
    throwAborted(opts.signal);
    await writeFileAtomic(path.join(sysrootPath, `boot/loader.${newBootversion}/syslinux.cfg`), text, { fsync: true, mode: 0o644 });
  },
};
