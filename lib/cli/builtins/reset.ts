// ostree reset (ot-builtin-reset.c): point REF at an older COMMIT from its history.
import type { CommandSpec, ParsedArgs } from '../options';
import { UsageError } from '../options';
import type { Ctx } from '../context';

export const spec: CommandSpec = {
  name: 'reset',
  params: 'REF COMMIT',
  summary: 'Reset a REF to a previous COMMIT',
  repo: true,
  options: [],
};

export async function run(args: ParsedArgs, ctx: Ctx): Promise<number> {
  if (args.positional.length < 2) throw new UsageError('A REF and COMMIT argument is required', true);
  const repo = await ctx.openRepo();
  const { resolveRev } = await import('../../refs/refs');
  const { setRef } = await import('../../refs/set-ref');
  const [ref, target] = args.positional;
  const current = await resolveRev(repo, ref, { allowNoent: false });
  const checksum = (await resolveRev(repo, target)) as string;
  void current;
  await setRef(repo, ref, checksum);
  return 0;
}
