// ostree admin upgrade (ot-admin-builtin-upgrade.c).
import type { CommandSpec, ParsedArgs } from '../../options';
import { str } from '../../options';
import type { Ctx } from '../../context';
import { OstreeError } from '../../../errors';
import { ADMIN_OPTIONS, withSysroot } from './common';

export const spec: CommandSpec = {
  name: 'admin upgrade',
  params: '',
  summary: 'Construct new tree from current origin and deploy it, if it changed',
  options: [
    ...ADMIN_OPTIONS,
    { long: 'os', arg: 'string', argName: 'OSNAME', description: 'Use a different operating system root than the current one' },
    { long: 'reboot', short: 'r', arg: 'none', description: 'Reboot after a successful upgrade' },
    { long: 'allow-downgrade', arg: 'none', description: 'Permit deployment of chronologically older trees' },
    { long: 'override-commit', arg: 'string', argName: 'CHECKSUM', description: 'Deploy CHECKSUM instead of the latest tree' },
    { long: 'pull-only', arg: 'none', description: 'Do not create a deployment, just download' },
    { long: 'deploy-only', arg: 'none', description: 'Do not pull, only deploy' },
    { long: 'stage', arg: 'none', description: 'Enable staging (finalization at reboot time)' },
  ],
};

export async function run(args: ParsedArgs, ctx: Ctx): Promise<number> {
  return withSysroot(args, ctx, { superuser: true }, async (sysroot) => {
    const o = args.opts;
    if (o['pull-only'] && o['deploy-only']) throw new OstreeError('OSTREE_INVALID_ARGUMENT', 'Cannot simultaneously specify --pull-only and --deploy-only');
    if (o['pull-only'] && o.reboot) throw new OstreeError('OSTREE_INVALID_ARGUMENT', 'Cannot simultaneously specify --pull-only and --reboot');
    // ostree skips the reboot silently when not booted; we refuse before changing anything.
    if (o.reboot && !sysroot.booted) throw new OstreeError('OSTREE_INVALID_ARGUMENT', '--reboot: not booted into this sysroot; refusing to reboot');
    if (o.stage) throw new OstreeError('OSTREE_UNSUPPORTED_MODE', 'Staged deployments are not supported yet');
    const { SysrootUpgrader } = await import('../../../sysroot/upgrader');
    const up = await SysrootUpgrader.create(sysroot, str(o.os));
    const origin = up.origin;
    // ostree_deployment_origin_remove_transient_state.
    origin.removeGroup('libostree-transient');
    origin.remove('origin', 'override-commit');
    origin.remove('origin', 'unlocked');
    const override = str(o['override-commit']);
    if (override !== undefined) origin.set('origin', 'override-commit', override);
    up.setOrigin(origin);
    let changed: boolean;
    try {
      changed = await up.pull({ allowOlder: !!o['allow-downgrade'], synthetic: !!o['deploy-only'] });
    } catch (e) {
      if (o['pull-only']) {
        const { cleanup } = await import('../../../sysroot/cleanup');
        await cleanup(sysroot, { prune: true }).catch(() => undefined);
      }
      throw e;
    }
    if (!changed) {
      ctx.out('No update available.\n');
      return;
    }
    if (!o['pull-only']) await up.deploy();
    if (o.reboot) throw new OstreeError('OSTREE_UNSUPPORTED_MODE', 'Deployed; rebooting (--reboot) is not supported, reboot the machine yourself');
  });
}
