// ostree log (ot-builtin-log.c): each commit from REV back through its parents.
import type { CommandSpec, ParsedArgs } from '../options';
import type { Ctx } from '../context';
import { usageError } from '../output';

export const spec: CommandSpec = {
  name: 'log',
  params: 'REV',
  summary: 'Show log starting at commit or ref',
  repo: true,
  options: [{ long: 'raw', arg: 'none', description: 'Show raw variant data' }],
};

export async function run(args: ParsedArgs, ctx: Ctx): Promise<number> {
  const repo = await ctx.openRepo();
  if (args.positional.length === 0) throw usageError(ctx, spec, 'A rev argument is required');
  const [{ resolveRev }, { dumpMetadataObject }, { ObjectType, parseCommit }] = await Promise.all([
    import('../../refs/refs'),
    import('../../read/dump'),
    import('../../objects/formats'),
  ]);
  let csum: string | null = (await resolveRev(repo, args.positional[0])) as string;
  let first = true;
  while (csum) {
    const data = await repo.loadMetadata(ObjectType.Commit, csum, { allowNoent: !first });
    if (!data) {
      ctx.out('<< History beyond this commit not fetched >>\n');
      break;
    }
    ctx.out(dumpMetadataObject(ObjectType.Commit, csum, data, { raw: !!args.opts.raw }));
    csum = parseCommit(data).parent;
    first = false;
  }
  return 0;
}
