// ostree admin config-diff (ot-admin-builtin-diff.c): /usr/etc versus /etc of
// the merge deployment (lib/sysroot/etc-merge.ts).
import * as path from 'node:path';
import type { CommandSpec, ParsedArgs } from '../../options';
import { str } from '../../options';
import type { Ctx } from '../../context';
import { OstreeError } from '../../../errors';
import { ADMIN_OPTIONS, withSysroot } from './common';

export const spec: CommandSpec = {
  name: 'admin config-diff',
  params: '',
  summary: 'Diff current /etc configuration versus default',
  options: [...ADMIN_OPTIONS, { long: 'os', arg: 'string', argName: 'OSNAME', description: 'Use a different operating system root than the current one' }],
};

export async function run(args: ParsedArgs, ctx: Ctx): Promise<number> {
  return withSysroot(args, ctx, { unlocked: true }, async (sysroot) => {
    const os = str(args.opts.os);
    if (!os && !sysroot.booted) throw new OstreeError('OSTREE_INVALID_ARGUMENT', 'Not currently booted into an OSTree system and no --os= argument given');
    const merge = sysroot.mergeDeployment(os ?? null);
    if (!merge) throw new OstreeError('OSTREE_NOT_FOUND', `No deployment for OS '${os}'`);
    const { configDiff, formatConfigDiff } = await import('../../../sysroot/etc-merge');
    const dir = sysroot.deploymentDirectory(merge);
    ctx.out(formatConfigDiff(await configDiff(path.join(dir, 'usr/etc'), path.join(dir, 'etc'))));
  });
}
