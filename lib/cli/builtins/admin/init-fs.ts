// ostree admin init-fs PATH (ot-admin-builtin-init-fs.c).
import type { CommandSpec, ParsedArgs } from '../../options';
import { UsageError } from '../../options';
import type { Ctx } from '../../context';
import { ADMIN_OPTIONS } from './common';

export const spec: CommandSpec = {
  name: 'admin init-fs',
  params: 'PATH',
  summary: 'Initialize a root filesystem',
  options: [...ADMIN_OPTIONS, { long: 'modern', arg: 'none', description: 'Only create /boot and /ostree' }],
};

export async function run(args: ParsedArgs, _ctx: Ctx): Promise<number> {
  if (args.positional.length < 1) throw new UsageError('PATH must be specified', true);
  const { initFs } = await import('../../../sysroot/init');
  await initFs(args.positional[0], { modern: !!args.opts.modern });
  return 0;
}
