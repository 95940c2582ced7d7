// ostree admin switch REFSPEC (ot-admin-builtin-switch.c).
import type { CommandSpec, ParsedArgs } from '../../options';
import { UsageError, str } from '../../options';
import type { Ctx } from '../../context';
import { OstreeError } from '../../../errors';
import { ADMIN_OPTIONS, withSysroot } from './common';

export const spec: CommandSpec = {
  name: 'admin switch',
  params: 'REFSPEC',
  summary: 'Construct new tree from REFSPEC and deploy it',
  options: [
    ...ADMIN_OPTIONS,
    { long: 'reboot', short: 'r', arg: 'none', description: 'Reboot after switching trees' },
    { long: 'os', arg: 'string', argName: 'OSNAME', description: 'Use a different operating system root than the current one' },
  ],
};

export async function run(args: ParsedArgs, ctx: Ctx): Promise<number> {
  return withSysroot(args, ctx, { superuser: true }, async (sysroot) => {
    if (args.positional.length < 1) throw new UsageError('REFSPEC must be specified', true);
    const provided = args.positional[0];
    if (args.opts.reboot && !sysroot.booted) throw new OstreeError('OSTREE_INVALID_ARGUMENT', '--reboot: not booted into this sysroot; refusing to reboot');
    const { SysrootUpgrader } = await import('../../../sysroot/upgrader');
    const { parseRefspec } = await import('../../../refs/refs');
    const { originFromRefspec } = await import('../../../sysroot/deploy');
    const { setRef } = await import('../../../refs/set-ref');
    const up = await SysrootUpgrader.create(sysroot, str(args.opts.os), { ignoreUnconfigured: true });
    const originRefspec = up.origin.get('origin', 'refspec') as string;
    const old = parseRefspec(originRefspec);
    let newRemote: string | null;
    let newRef: string;
    if (provided.endsWith(':')) {
      newRemote = provided.slice(0, -1);
      newRef = old.ref;
    } else {
      ({ remote: newRemote, ref: newRef } = parseRefspec(provided));
    }
    const remote = newRemote ?? old.remote;
    const newRefspec = remote ? `${remote}:${newRef}` : newRef;
    if (originRefspec === newRefspec) throw new OstreeError('OSTREE_INVALID_ARGUMENT', `Old and new refs are equal: ${newRefspec}`);
    up.setOrigin(originFromRefspec(newRefspec));
    await up.pull({ allowOlder: true });
    await up.deploy();
    ctx.out(`Deleting ref '${old.remote ?? '(null)'}:${old.ref}'\n`);
    await setRef(await sysroot.repo(), old.remote ? `${old.remote}:${old.ref}` : old.ref, null).catch((e) => {
      // ostree's transaction_set_ref(NULL) ignores a ref that is already gone.
      if ((e as { code?: string }).code !== 'OSTREE_REF_NOT_FOUND') throw e;
    });
    if (args.opts.reboot) throw new OstreeError('OSTREE_UNSUPPORTED_MODE', 'Deployed; rebooting (--reboot) is not supported, reboot the machine yourself');
  });
}
