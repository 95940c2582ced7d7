// ostree static-delta indexes: the target commits with a delta index, in readdir order.
import type { CommandSpec, ParsedArgs } from '../../options';
import type { Ctx } from '../../context';

export const spec: CommandSpec = {
  name: 'static-delta indexes',
  params: '',
  summary: 'List static delta indexes',
  repo: true,
  options: [],
};

export async function run(_args: ParsedArgs, ctx: Ctx): Promise<number> {
  const repo = await ctx.openRepo();
  const { listDeltaIndexes } = await import('../../../deltas/indexes');
  const list = await listDeltaIndexes(repo);
  ctx.out(list.length ? list.map((c) => c + '\n').join('') : '(No static deltas indexes)\n');
  return 0;
}
