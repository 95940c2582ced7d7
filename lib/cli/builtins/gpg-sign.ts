// ostree gpg-sign (ot-builtin-gpg-sign.c): add (or --delete) OpenPGP
// signatures in a commit's detached metadata.
import type { CommandSpec, ParsedArgs } from '../options';
import { str } from '../options';
import type { Ctx } from '../context';
import { usageError } from '../output';

export const spec: CommandSpec = {
  name: 'gpg-sign',
  params: 'COMMIT KEY-ID...',
  summary: 'Sign a commit',
  repo: true,
  options: [
    { long: 'delete', short: 'd', arg: 'none', description: 'Delete signatures having any of the GPG KEY-IDs' },
    { long: 'gpg-homedir', arg: 'filename', argName: 'HOMEDIR', description: 'GPG Homedir to use when looking for keyrings' },
  ],
};

export async function run(args: ParsedArgs, ctx: Ctx): Promise<number> {
  const repo = await ctx.openRepo();
  if (args.positional.length < 1) throw usageError(ctx, spec, 'Need a COMMIT to sign');
  if (args.positional.length < 2) throw usageError(ctx, spec, 'Need at least one GPG KEY-ID to sign with');
  const [rev, ...keyIds] = args.positional;
  const { resolveRev } = await import('../../refs/refs');
  const csum = (await resolveRev(repo, rev)) as string;
  const homedir = str(args.opts['gpg-homedir']);
  const { gpgSignCommit, gpgDeleteSignatures } = await import('../../gpg/sign');
  if (args.opts.delete) {
    const n = await gpgDeleteSignatures(repo, csum, keyIds, homedir);
    ctx.out(`Signatures deleted: ${n}\n`);
    return 0;
  }
  await gpgSignCommit(repo, csum, keyIds, homedir);
  return 0;
}
