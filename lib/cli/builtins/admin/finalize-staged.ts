// ostree admin finalize-staged (ot-admin-builtin-finalize-staged.c): run at
// shutdown to write a staged deployment. Staging needs a booted system.
import type { CommandSpec, ParsedArgs } from '../../options';
import type { Ctx } from '../../context';
import { OstreeError } from '../../../errors';
import { ADMIN_OPTIONS, withSysroot } from './common';

export const spec: CommandSpec = { name: 'admin finalize-staged', params: '', summary: 'Internal command to run at shutdown time', options: ADMIN_OPTIONS };

export async function run(args: ParsedArgs, ctx: Ctx): Promise<number> {
  return withSysroot(args, ctx, { superuser: true }, async (sysroot) => {
    if (!sysroot.staged) {
      // ostree logs "No deployment staged for finalization" to the journal only.
      return;
    }
    throw new OstreeError('OSTREE_UNSUPPORTED_MODE', 'Finalizing staged deployments is not supported yet');
  });
}
