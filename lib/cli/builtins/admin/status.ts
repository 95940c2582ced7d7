// ostree admin status (ot-admin-builtin-status.c): the deployment list as
// ostree prints it, or `--json` (ours).
import type { CommandSpec, ParsedArgs } from '../../options';
import type { Ctx } from '../../context';
import { ADMIN_OPTIONS, withSysroot } from './common';

export const spec: CommandSpec = {
  name: 'admin status',
  params: '',
  summary: 'List deployments',
  options: [
    ...ADMIN_OPTIONS,
    { long: 'verify', short: 'V', arg: 'none', description: 'Print the commit verification status' },
    { long: 'json', arg: 'none', description: 'Print the deployments as JSON', extension: true },
  ],
};

export async function run(args: ParsedArgs, ctx: Ctx): Promise<number> {
  return withSysroot(args, ctx, { unlocked: true }, async (sysroot) => {
    const { formatStatus, statusJson } = await import('../../../sysroot/status');
    if (args.opts.json) {
      ctx.out(JSON.stringify(await statusJson(sysroot), null, 2) + '\n');
      return;
    }
    await formatStatus(sysroot, { verify: !!args.opts.verify, out: ctx.out });
  });
}
