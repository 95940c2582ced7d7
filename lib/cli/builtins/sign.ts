// ostree sign (ot-builtin-sign.c): ed25519 signatures (ostree.sign.ed25519)
// in a commit's detached metadata; --verify checks them.
import type { CommandSpec, ParsedArgs } from '../options';
import { str } from '../options';
import type { Ctx } from '../context';
import { usageError } from '../output';

export const spec: CommandSpec = {
  name: 'sign',
  params: 'COMMIT KEY-ID...',
  summary: 'Sign a commit',
  repo: true,
  options: [
    { long: 'delete', short: 'd', arg: 'none', description: 'Delete signatures having any of the KEY-IDs' },
    { long: 'verify', arg: 'none', description: 'Verify signatures' },
    { long: 'sign-type', short: 's', arg: 'string', argName: 'NAME', description: "Signature type to use (defaults to 'ed25519')" },
    { long: 'keys-file', arg: 'string', argName: 'NAME', description: 'Read key(s) from file' },
    {
      long: 'keys-dir',
      arg: 'string',
      argName: 'NAME',
      description: 'Redefine system-wide directories with public and revoked keys for verification',
    },
  ],
};

export async function run(args: ParsedArgs, ctx: Ctx): Promise<number> {
  const repo = await ctx.openRepo();
  const o = args.opts;
  if (args.positional.length < 1) throw usageError(ctx, spec, 'Need a COMMIT to sign or verify');
  const keysFile = str(o['keys-file']);
  if (!o.verify && !keysFile && args.positional.length < 2) throw usageError(ctx, spec, 'Need at least one KEY-ID to sign with');
  const [rev, ...keyIds] = args.positional;
  const { resolveRev } = await import('../../refs/refs');
  const csum = (await resolveRev(repo, rev)) as string;
  const type = str(o['sign-type']) ?? 'ed25519';
  if (type !== 'ed25519') throw new Error('Requested signature type is not implemented');
  const ed = await import('../../sign/ed25519');
  const { ObjectType } = await import('../../objects/formats');
  if (o.delete) {
    const keys = [...keyIds, ...(keysFile ? await ed.readKeysFile(keysFile) : [])];
    const n = await ed.deleteCommitEd25519(repo, csum, keys);
    ctx.out(`Signatures deleted: ${n}\n`);
    return 0;
  }
  if (o.verify) {
    const data = (await repo.loadMetadata(ObjectType.Commit, csum)) as Buffer;
    const sigs = ed.signaturesOf(await repo.readDetachedMetadata(csum));
    let lastErr: unknown = null;
    for (const k of keyIds) {
      try {
        ctx.out(ed.verifySignatures(data, sigs, [k]) + '\n');
        return 0;
      } catch (e) {
        lastErr = e;
      }
    }
    if (keyIds.length === 0 || keysFile) {
      const keys = keysFile ? { trusted: await ed.readKeysFile(keysFile), revoked: [] } : await ed.loadDefaultKeys(str(o['keys-dir']));
      ctx.out(ed.verifySignatures(data, sigs, keys.trusted, keys.revoked) + '\n');
      return 0;
    }
    // ostree exits 1 without a message when only explicit keys were given and none verified.
    if (lastErr && process.env.OSTREE_DEBUG_STACK) ctx.err(`${(lastErr as Error).message}\n`);
    return 1;
  }
  const keys = [...keyIds];
  if (keysFile) keys.push(...(await ed.readKeysFile(keysFile)));
  await ed.signCommitEd25519(repo, csum, keys);
  return 0;
}
