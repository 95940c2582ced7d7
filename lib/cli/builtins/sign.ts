// ostree sign (ot-builtin-sign.c): signatures of a sign type (ed25519, or
// dummy for tests) in a commit's detached metadata; --verify checks them.
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
  const { signEngine, signCommit, verifyCommit } = await import('../../sign/engine');
  const engine = signEngine(str(o['sign-type']) ?? 'ed25519');
  if (o.delete) {
    if (engine.name !== 'ed25519') throw new Error('not implemented');
    const ed = await import('../../sign/ed25519');
    const keys = [...keyIds, ...(keysFile ? await ed.readKeysFile(keysFile) : [])];
    const n = await ed.deleteCommitEd25519(repo, csum, keys);
    ctx.out(`Signatures deleted: ${n}\n`);
    return 0;
  }
  if (o.verify) {
    // Each KEY-ID on its own first; the first that verifies wins.
    for (const k of keyIds) {
      try {
        ctx.out((await verifyCommit(repo, csum, engine, { trusted: [k], revoked: [] })) + '\n');
        return 0;
      } catch {
        /* next key */
      }
    }
    if (keyIds.length === 0 || keysFile) {
      const keys = keysFile ? { trusted: await engine.keysFromFile(keysFile), revoked: [] } : await loadDefault(engine, str(o['keys-dir']));
      ctx.out((await verifyCommit(repo, csum, engine, keys)) + '\n');
      return 0;
    }
    throw new Error('No valid signatures found');
  }
  const keys = [...keyIds];
  if (keysFile) keys.push(...(await engine.keysFromFile(keysFile)));
  await signCommit(repo, csum, engine, keys);
  return 0;
}

/** `--keys-dir` (or the system directories) for the engines that have default key locations. */
async function loadDefault(engine: import('../../sign/engine').SignEngine, keysDir?: string) {
  if (engine.name !== 'ed25519') return engine.defaultKeys();
  return (await import('../../sign/ed25519')).loadDefaultKeys(keysDir);
}
