// ostree admin set-origin REMOTENAME URL [BRANCH] (ot-admin-builtin-set-origin.c).
import type { CommandSpec, ParsedArgs } from '../../options';
import { UsageError, strs } from '../../options';
import type { Ctx } from '../../context';
import { OstreeError } from '../../../errors';
import { ADMIN_OPTIONS, indexedDeployment, withSysroot } from './common';

export const spec: CommandSpec = {
  name: 'admin set-origin',
  params: 'REMOTENAME URL [BRANCH]',
  summary: 'Set Origin and create a new origin file',
  options: [
    ...ADMIN_OPTIONS,
    { long: 'set', short: 's', arg: 'strings', argName: 'KEY=VALUE', description: 'Set config option KEY=VALUE for remote' },
    { long: 'index', arg: 'int', argName: 'INDEX', description: 'Operate on the deployment INDEX, starting from zero' },
  ],
};

export async function run(args: ParsedArgs, ctx: Ctx): Promise<number> {
  return withSysroot(args, ctx, { superuser: true }, async (sysroot) => {
    if (args.positional.length < 2) throw new UsageError('REMOTENAME and URL must be specified', true);
    const [remote, url, branch] = args.positional;
    const index = (args.opts.index as number | undefined) ?? -1;
    let target;
    if (index === -1) {
      if (!sysroot.booted) throw new OstreeError('OSTREE_INVALID_ARGUMENT', 'Not currently booted into an OSTree system');
      target = sysroot.booted;
    } else target = indexedDeployment(sysroot, index);
    const set: Record<string, string> = {};
    for (const kv of strs(args.opts.set)) {
      const eq = kv.indexOf('=');
      if (eq < 0) throw new OstreeError('OSTREE_INVALID_ARGUMENT', `Missing '=' in KEY=VALUE pair '${kv}'`);
      set[kv.slice(0, eq)] = kv.slice(eq + 1);
    }
    const { setOrigin } = await import('../../../sysroot/origin');
    await setOrigin(sysroot, target, remote, url, branch, set);
  });
}
