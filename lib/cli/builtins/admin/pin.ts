// ostree admin pin INDEX… (ot-admin-builtin-pin.c).
import type { CommandSpec, ParsedArgs } from '../../options';
import { UsageError } from '../../options';
import type { Ctx } from '../../context';
import { OstreeError } from '../../../errors';
import { ADMIN_OPTIONS, indexedDeployment, withSysroot } from './common';

export const spec: CommandSpec = {
  name: 'admin pin',
  params: 'INDEX',
  summary: 'Change the "pinning" state of a deployment',
  options: [...ADMIN_OPTIONS, { long: 'unpin', short: 'u', arg: 'none', description: 'Unset pin' }],
};

export async function run(args: ParsedArgs, ctx: Ctx): Promise<number> {
  return withSysroot(args, ctx, { superuser: true }, async (sysroot) => {
    if (args.positional.length < 1) throw new UsageError('INDEX must be specified', true);
    const { setPinned } = await import('../../../sysroot/pin');
    const unpin = !!args.opts.unpin;
    for (const idx of args.positional) {
      if (!/^[0-9]+$/.test(idx)) throw new OstreeError('OSTREE_INVALID_ARGUMENT', `Invalid index: ${idx}`);
      const d = indexedDeployment(sysroot, Number(idx));
      const word = unpin ? 'unpinned' : 'pinned';
      if (d.pinned === !unpin) {
        ctx.out(`Deployment ${idx} is already ${word}\n`);
        continue;
      }
      await setPinned(sysroot, d, !unpin);
      ctx.out(`Deployment ${idx} is now ${word}\n`);
    }
  });
}
