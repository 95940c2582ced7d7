// ostree static-delta verify DELTA [KEY…]: check a signed superblock.
import type { CommandSpec, ParsedArgs } from '../../options';
import { str } from '../../options';
import type { Ctx } from '../../context';
import { SIGN_OPTIONS, loadSignEngine } from './sign-options';

export const spec: CommandSpec = {
  name: 'static-delta verify',
  params: 'STATIC-DELTA-FILE [KEY-ID...]',
  summary: 'Verify static delta signatures',
  repo: true,
  options: SIGN_OPTIONS,
};

export async function run(args: ParsedArgs, ctx: Ctx): Promise<number> {
  const repo = await ctx.openRepo();
  if (args.positional.length < 1) throw new Error('DELTA must be specified');
  const [id, ...keys] = args.positional;
  const { verifyDeltaSignature } = await import('../../../deltas/verify');
  const type = str(args.opts['sign-type']) ?? 'ed25519';
  let ok = false;
  try {
    const sign = await loadSignEngine(type, keys, str(args.opts['keys-file']), str(args.opts['keys-dir']), true);
    ok = await verifyDeltaSignature(repo, id, sign!);
  } catch (err) {
    ctx.out('Verification fails\n');
    throw err;
  }
  ctx.out(`Verification ${ok ? 'OK' : 'fails'}\n`);
  return ok ? 0 : 1;
}
