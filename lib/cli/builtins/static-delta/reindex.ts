// ostree static-delta reindex [--to=CHECKSUM]: regenerate delta-indexes/.
import type { CommandSpec, ParsedArgs } from '../../options';
import { str } from '../../options';
import type { Ctx } from '../../context';

export const spec: CommandSpec = {
  name: 'static-delta reindex',
  params: '',
  summary: 'Regenerate static delta indexes',
  repo: true,
  options: [{ long: 'to', arg: 'string', argName: 'REV', description: 'Only update delta index to revision REV' }],
};

export async function run(args: ParsedArgs, ctx: Ctx): Promise<number> {
  const repo = await ctx.openRepo();
  const { reindexDeltas } = await import('../../../deltas/indexes');
  await reindexDeltas(repo, { to: str(args.opts.to) });
  return 0;
}
