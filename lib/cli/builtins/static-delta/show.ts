// ostree static-delta show DELTA: the superblock and a dry run of each part.
import type { CommandSpec, ParsedArgs } from '../../options';
import type { Ctx } from '../../context';

export const spec: CommandSpec = { name: 'static-delta show', params: '', summary: 'Dump information on a delta', repo: true, options: [] };

export async function run(args: ParsedArgs, ctx: Ctx): Promise<number> {
  const repo = await ctx.openRepo();
  if (args.positional.length < 1) throw new Error('DELTA must be specified');
  const { printDelta } = await import('../../../deltas/show');
  await printDelta(repo, args.positional[0], (line) => ctx.out(line));
  return 0;
}
