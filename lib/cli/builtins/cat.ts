// ostree cat (ot-builtin-cat.c): file contents from a commit, byte for byte.
import type { CommandSpec, ParsedArgs } from '../options';
import type { Ctx } from '../context';
import { usageError, writeStdout, copyFileToStdout } from '../output';

export const spec: CommandSpec = {
  name: 'cat',
  params: 'COMMIT PATH...',
  summary: 'Concatenate contents of files',
  repo: true,
  options: [],
};

export async function run(args: ParsedArgs, ctx: Ctx): Promise<number> {
  const repo = await ctx.openRepo();
  if (args.positional.length < 2) throw usageError(ctx, spec, 'A COMMIT and at least one PATH argument are required');
  const { RepoFile } = await import('../../read/repo-file');
  const { root } = await RepoFile.forCommit(repo, args.positional[0]);
  for (const p of args.positional.slice(1)) {
    const { payload, objectPath } = await root.resolveRelativePath(p).read();
    if (objectPath) await copyFileToStdout(objectPath);
    else if (payload) await writeStdout(payload);
  }
  return 0;
}
