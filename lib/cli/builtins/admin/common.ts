// What every `ostree admin` sub-command shares (ostree_admin_option_context_parse
// in ot-main.c): --sysroot / OSTREE_SYSROOT, --print-current-dir, the sysroot
// lock held for the whole command, and the progress lines the sysroot emits.
import type { OptionSpec, ParsedArgs } from '../../options';
import type { Ctx } from '../../context';
import type { Sysroot } from '../../../sysroot/sysroot';
import { OstreeError } from '../../../errors';

export const ADMIN_OPTIONS: OptionSpec[] = [
  { long: 'print-current-dir', arg: 'none', description: 'Print the current deployment directory', hidden: true },
  { long: 'sysroot', arg: 'filename', argName: 'PATH', description: 'Create a new OSTree sysroot at PATH' },
];

export interface AdminFlags {
  /** Don't take the sysroot lock (status, init-fs, os-init). */
  unlocked?: boolean;
  /** Refuse to change a booted sysroot unless root. */
  superuser?: boolean;
}

export function sysrootPath(args: ParsedArgs): string {
  return (args.opts.sysroot as string | undefined) ?? (process.env.OSTREE_SYSROOT || '/');
}

/** Open (lock, load) the sysroot, run `fn`, release the lock. Handles --print-current-dir. */
export async function withSysroot(args: ParsedArgs, ctx: Ctx, flags: AdminFlags, fn: (sysroot: Sysroot) => Promise<number | void>): Promise<number> {
  const { Sysroot } = await import('../../../sysroot/sysroot');
  const sysroot = await Sysroot.open(sysrootPath(args)).catch((e) => {
    throw e;
  });
  sysroot.onMessage = (m) => ctx.out(`${m}\n`);
  if (!flags.unlocked) await sysroot.lock();
  try {
    if (!flags.unlocked) await sysroot.load();
    if (flags.superuser && sysroot.booted && process.getuid?.() !== 0) {
      throw new OstreeError('OSTREE_INVALID_ARGUMENT', 'You must be root to perform this command');
    }
    if (args.opts['print-current-dir']) {
      const first = sysroot.deployments[0];
      if (!first) throw new OstreeError('OSTREE_NOT_FOUND', 'Unable to find a deployment in sysroot');
      ctx.out(`${sysroot.deploymentDirectory(first)}\n`);
      return 0;
    }
    return (await fn(sysroot)) ?? 0;
  } finally {
    await sysroot.unlock();
  }
}

/** ot_admin_require_booted_deployment_or_osname. */
export function requireBootedOrOsname(sysroot: Sysroot, osname: string | undefined): void {
  if (!osname && !sysroot.booted) throw new OstreeError('OSTREE_INVALID_ARGUMENT', 'Not currently booted into an OSTree system and no --os= argument given');
}

/** The deployment at INDEX (ot_admin_get_indexed_deployment). */
export function indexedDeployment(sysroot: Sysroot, i: number) {
  if (i < 0) throw new OstreeError('OSTREE_NOT_FOUND', `Invalid index ${i}`);
  if (i >= sysroot.deployments.length) throw new OstreeError('OSTREE_NOT_FOUND', `Out of range deployment index ${i}, expected < ${sysroot.deployments.length}`);
  return sysroot.deployments[i];
}

/** C atoi(): leading whitespace, optional sign, digits; anything else ends the number (0 if none). */
export function atoi(s: string): number {
  const m = /^\s*([+-]?\d+)/.exec(s);
  return m ? Number(m[1]) : 0;
}
