// ostree log (ot-builtin-log.c): each commit from REV back through its parents.
import type { CommandSpec, ParsedArgs } from '../options';
import type { Ctx } from '../context';
import { usageError } from '../output';
import { JSON_OPTION } from '../json';

export const spec: CommandSpec = {
  name: 'log',
  params: 'REV',
  summary: 'Show log starting at commit or ref',
  repo: true,
  options: [{ long: 'raw', arg: 'none', description: 'Show raw variant data' }, JSON_OPTION],
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
  // --json: { "commits": [newest first…], "complete": false when history beyond the last one is not fetched }
  const json = args.opts.json ? await import('../json') : null;
  const { commitContentChecksum } = await import('../../objects/formats');
  const commits: unknown[] = [];
  let complete = true;
  while (csum) {
    const data = await repo.loadMetadata(ObjectType.Commit, csum, { allowNoent: !first });
    if (!data) {
      complete = false;
      if (!json) ctx.out('<< History beyond this commit not fetched >>\n');
      break;
    }
    const c = parseCommit(data);
    if (json) commits.push(json.commitToJson(csum, c, commitContentChecksum(c)));
    else ctx.out(dumpMetadataObject(ObjectType.Commit, csum, data, { raw: !!args.opts.raw }));
    csum = c.parent;
    first = false;
  }
  if (json) json.printJson(ctx, { commits, complete });
  return 0;
}
