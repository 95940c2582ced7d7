// ostree admin config-diff (ot-admin-builtin-diff.c): /usr/etc versus /etc of
// the merge deployment. The comparison itself lands with lib/sysroot/etc-merge.ts.
import type { CommandSpec, ParsedArgs } from '../../options';
import { str } from '../../options';
import type { Ctx } from '../../context';
import { OstreeError } from '../../../errors';
import { ADMIN_OPTIONS, withSysroot } from './common';

export const spec: CommandSpec = {
  name: 'admin config-diff',
  params: '',
  summary: '',
  options: [...ADMIN_OPTIONS, { long: 'os', arg: 'string', argName: 'OSNAME', description: 'Use a different operating system root than the current one' }],
};

export async function run(args: ParsedArgs, ctx: Ctx): Promise<number> {
  return withSysroot(args, ctx, { unlocked: true }, async (sysroot) => {
    const os = str(args.opts.os);
    if (!os && !sysroot.booted) throw new OstreeError('OSTREE_INVALID_ARGUMENT', 'Not currently booted into an OSTree system and no --os= argument given');
    const merge = sysroot.mergeDeployment(os ?? null);
    if (!merge) throw new OstreeError('OSTREE_NOT_FOUND', `No deployment for OS '${os}'`);
    throw new OstreeError('OSTREE_UNSUPPORTED_MODE', 'admin config-diff is not supported yet');
  });
}
