// ostree admin unlock (ot-admin-builtin-unlock.c): an overlay over /usr of
// the booted deployment. Needs a booted system and mounts; not implemented.
import type { CommandSpec, ParsedArgs } from '../../options';
import type { Ctx } from '../../context';
import { OstreeError } from '../../../errors';
import { ADMIN_OPTIONS, withSysroot } from './common';

export const spec: CommandSpec = {
  name: 'admin unlock',
  params: '',
  summary: 'Make the current deployment mutable (as a hotfix or development)',
  options: [
    ...ADMIN_OPTIONS,
    { long: 'hotfix', arg: 'none', description: 'Retain changes across reboots' },
    { long: 'transient', arg: 'none', description: 'Mount overlayfs read-only by default' },
  ],
};

export async function run(args: ParsedArgs, ctx: Ctx): Promise<number> {
  return withSysroot(args, ctx, { superuser: true }, async (sysroot) => {
    if (!sysroot.booted) throw new OstreeError('OSTREE_INVALID_ARGUMENT', 'Not currently booted into an OSTree system');
    throw new OstreeError('OSTREE_UNSUPPORTED_MODE', 'admin unlock is not supported');
  });
}
