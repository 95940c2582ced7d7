// ostree init (ot-builtin-init.c)
import type { CommandSpec, ParsedArgs } from '../options';
import type { Ctx } from '../context';
import { OstreeError } from '../../errors';

export const spec: CommandSpec = {
  name: 'init',
  params: '',
  summary: 'Initialize a new empty repository',
  repo: true,
  options: [
    { long: 'mode', arg: 'string', description: 'Initialize repository in given mode (bare, bare-user, bare-user-only, archive)' },
    { long: 'collection-id', arg: 'string', argName: 'COLLECTION-ID', description: 'Globally unique ID for this repository as an collection of refs for redistribution to other repositories' },
  ],
};

export async function run(args: ParsedArgs, ctx: Ctx): Promise<number> {
  const { Repo, parseRepoMode } = await import('../../repo/repo');
  const modeStr = (args.opts.mode as string | undefined) ?? 'bare';
  let mode;
  try {
    mode = parseRepoMode(modeStr);
  } catch {
    throw new OstreeError('OSTREE_UNSUPPORTED_MODE', `Invalid mode '${modeStr}' in repository configuration`);
  }
  await Repo.create(ctx.repoPath(), { mode, collectionId: args.opts['collection-id'] as string | undefined });
  return 0;
}
