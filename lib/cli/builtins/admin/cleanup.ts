// ostree admin cleanup (ot-admin-builtin-cleanup.c).
import type { CommandSpec, ParsedArgs } from '../../options';
import type { Ctx } from '../../context';
import { ADMIN_OPTIONS, withSysroot } from './common';

export const spec: CommandSpec = { name: 'admin cleanup', params: '', summary: 'Delete untagged deployments and repository objects', options: ADMIN_OPTIONS };

export async function run(args: ParsedArgs, ctx: Ctx): Promise<number> {
  return withSysroot(args, ctx, { superuser: true }, async (sysroot) => {
    const { cleanup } = await import('../../../sysroot/cleanup');
    await cleanup(sysroot, { prune: true });
  });
}
