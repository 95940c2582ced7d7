// ostree rev-parse (ot-builtin-rev-parse.c)
import type { CommandSpec, ParsedArgs } from '../options';
import { UsageError } from '../options';
import type { Ctx } from '../context';

export const spec: CommandSpec = {
  name: 'rev-parse',
  params: 'REV',
  summary: 'Output the target of a rev',
  repo: true,
  options: [
    {
      long: 'single',
      short: 'S',
      arg: 'none',
      description: 'If the repository has exactly one commit, then print it; any other case will result in an error',
    },
  ],
};

export async function run(args: ParsedArgs, ctx: Ctx): Promise<number> {
  const repo = await ctx.openRepo();
  if (args.opts.single) {
    if (args.positional.length) throw new UsageError('Cannot specify arguments with --single', true);
    const { ObjectType } = await import('../../objects/formats');
    const commits: string[] = [];
    for await (const [csum, type] of repo.listObjects()) if (type === ObjectType.Commit) commits.push(csum);
    if (commits.length === 0) throw new Error('No commit objects found');
    if (commits.length > 1) throw new Error('Multiple commit objects found');
    ctx.out(commits[0] + '\n');
    return 0;
  }
  if (args.positional.length === 0) throw new UsageError('REV must be specified', true);
  const { resolveRev } = await import('../../refs/refs');
  for (const rev of args.positional) ctx.out((await resolveRev(repo, rev)) + '\n');
  return 0;
}
