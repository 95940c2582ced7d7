// ostree static-delta apply-offline PATH [KEY…]: apply a delta from disk
// (a delta directory or a superblock file) in one transaction; silent.
import type { CommandSpec, ParsedArgs } from '../../options';
import { str } from '../../options';
import type { Ctx } from '../../context';
import { SIGN_OPTIONS, loadSignEngine } from './sign-options';

export const spec: CommandSpec = { name: 'static-delta apply-offline', params: '', summary: 'Apply static delta file', repo: true, options: SIGN_OPTIONS };

export async function run(args: ParsedArgs, ctx: Ctx): Promise<number> {
  const repo = await ctx.openRepo();
  if (!(await repo.isWritable())) throw new Error('Repository is read-only');
  if (args.positional.length < 1) throw new Error('PATH must be specified');
  const [source, ...keys] = args.positional;
  const sign = await loadSignEngine(str(args.opts['sign-type']) ?? 'ed25519', keys, str(args.opts['keys-file']), str(args.opts['keys-dir']), false);
  const { applyStaticDelta } = await import('../../../deltas/apply');
  const { progressLine } = await import('../../status');
  const status = progressLine(ctx.out, { 'delta-parts': 'Applying delta parts' });
  await applyStaticDelta(repo, source, { sign, onProgress: status.onProgress }).finally(() => status.line.end());
  return 0;
}
