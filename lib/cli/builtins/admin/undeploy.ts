// ostree admin undeploy INDEX (ot-admin-builtin-undeploy.c).
import type { CommandSpec, ParsedArgs } from '../../options';
import { UsageError } from '../../options';
import type { Ctx } from '../../context';
import { OstreeError } from '../../../errors';
import { ADMIN_OPTIONS, atoi, indexedDeployment, withSysroot } from './common';

export const spec: CommandSpec = { name: 'admin undeploy', params: 'INDEX', summary: 'Delete deployment INDEX', options: ADMIN_OPTIONS };

export async function run(args: ParsedArgs, ctx: Ctx): Promise<number> {
  return withSysroot(args, ctx, { superuser: true }, async (sysroot) => {
    if (args.positional.length < 1) throw new UsageError('INDEX must be specified', true);
    const d = indexedDeployment(sysroot, atoi(args.positional[0]));
    if (sysroot.booted && d === sysroot.booted) throw new OstreeError('OSTREE_INVALID_ARGUMENT', `Cannot undeploy currently booted deployment ${d.index}`);
    const { writeDeployments } = await import('../../../sysroot/write-deployments');
    await writeDeployments(sysroot, sysroot.deployments.filter((x) => x !== d));
    ctx.out(`Deleted deployment ${d.name}\n`);
  });
}
