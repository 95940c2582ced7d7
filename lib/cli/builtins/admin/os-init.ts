// ostree admin os-init OSNAME (ot-admin-builtin-os-init.c).
import type { CommandSpec, ParsedArgs } from '../../options';
import { UsageError } from '../../options';
import type { Ctx } from '../../context';
import { ADMIN_OPTIONS, sysrootPath } from './common';

export const spec: CommandSpec = { name: 'admin os-init', params: 'OSNAME', summary: 'Initialize empty state for given operating system', options: ADMIN_OPTIONS };

export async function run(args: ParsedArgs, ctx: Ctx): Promise<number> {
  const { ensureSysrootInitialized, initOsname } = await import('../../../sysroot/init');
  const root = sysrootPath(args);
  await ensureSysrootInitialized(root);
  if (args.positional.length < 1) throw new UsageError('OSNAME must be specified', true);
  const osname = args.positional[0];
  await initOsname(root, osname);
  ctx.out(`ostree/deploy/${osname} initialized as OSTree root\n`);
  return 0;
}
