// ostree static-delta delete DELTA: remove the delta's directory.
import type { CommandSpec, ParsedArgs } from '../../options';
import type { Ctx } from '../../context';

export const spec: CommandSpec = { name: 'static-delta delete', params: '', summary: 'Remove a delta', repo: true, options: [] };

export async function run(args: ParsedArgs, ctx: Ctx): Promise<number> {
  const repo = await ctx.openRepo();
  if (args.positional.length < 1) throw new Error('DELTA must be specified');
  const { deleteDelta } = await import('../../../deltas/delete');
  await deleteDelta(repo, args.positional[0]);
  return 0;
}
