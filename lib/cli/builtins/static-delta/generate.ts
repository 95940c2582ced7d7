// ostree static-delta generate (ot-builtin-static-delta.c): resolve FROM/TO
// as ostree does (default FROM = TO^), print the header, generate; the
// compiler's statistics go to stderr.
import type { CommandSpec, ParsedArgs } from '../../options';
import { str, strs } from '../../options';
import type { Ctx } from '../../context';

export const spec: CommandSpec = {
  name: 'static-delta generate',
  params: '[TO]',
  summary: 'Generate static delta files',
  repo: true,
  options: [
    { long: 'from', arg: 'string', argName: 'REV', description: 'Create delta from revision REV' },
    { long: 'empty', arg: 'none', description: 'Create delta from scratch' },
    { long: 'inline', arg: 'none', description: 'Inline delta parts into main delta' },
    { long: 'to', arg: 'string', argName: 'REV', description: 'Create delta to revision REV' },
    { long: 'disable-bsdiff', arg: 'none', description: 'Disable use of bsdiff' },
    { long: 'if-not-exists', short: 'n', arg: 'none', description: 'Only generate if a delta does not already exist' },
    { long: 'set-endianness', arg: 'string', argName: 'ENDIAN', description: "Choose metadata endianness ('l' or 'B')" },
    { long: 'swap-endianness', arg: 'none', description: 'Swap metadata endianness from host order' },
    { long: 'min-fallback-size', arg: 'string', description: 'Minimum uncompressed size in megabytes for individual HTTP request' },
    { long: 'max-bsdiff-size', arg: 'string', description: 'Maximum size in megabytes to consider bsdiff compression for input files' },
    { long: 'max-chunk-size', arg: 'string', description: 'Maximum size of delta chunks in megabytes' },
    {
      long: 'filename',
      arg: 'string',
      argName: 'PATH',
      description: 'Write the delta content to PATH (a directory).  If not specified, the OSTree repository is used',
    },
    { long: 'sign', arg: 'strings', argName: 'KEY_ID', description: 'Sign the delta with' },
    { long: 'sign-type', arg: 'string', argName: 'NAME', description: "Signature type to use (defaults to 'ed25519')" },
  ],
};

export async function run(args: ParsedArgs, ctx: Ctx): Promise<number> {
  const o = args.opts;
  const repo = await ctx.openRepo();
  if (!(await repo.isWritable())) throw new Error('Repository is read-only');
  const toRev = str(o.to) ?? args.positional[0];
  if (toRev === undefined) throw new Error('TO revision must be specified');
  const fromRev = str(o.from);
  let fromSource: string | null;
  if (o.empty) {
    if (fromRev !== undefined) throw new Error('Cannot specify both --empty and --from=REV');
    fromSource = null;
  } else fromSource = fromRev ?? `${toRev}^`;

  const { resolveRev } = await import('../../../refs/refs');
  const from = fromSource === null ? null : ((await resolveRev(repo, fromSource)) as string);
  const to = (await resolveRev(repo, toRev)) as string;

  const { deltaName, deltaRelDir } = await import('../../../deltas/superblock');
  if (o['if-not-exists']) {
    const fsp = await import('node:fs/promises');
    const path = await import('node:path');
    const exists = await fsp
      .access(path.join(repo.path, deltaRelDir(from, to), 'superblock'))
      .then(() => true)
      .catch(() => false);
    if (exists) {
      ctx.out(`Delta ${deltaName(from, to)} already exists.\n`);
      return 0;
    }
  }

  let endianness: 'little' | 'big' = 'little';
  const e = str(o['set-endianness']);
  if (e !== undefined) {
    if (e === 'l') endianness = 'little';
    else if (e === 'B') endianness = 'big';
    else throw new Error(`Invalid endianness '${e}'`);
  }
  if (o['swap-endianness']) endianness = endianness === 'little' ? 'big' : 'little';

  const { generateStaticDelta, parseSizeOption } = await import('../../../deltas/generate');
  const size = (k: string) => {
    const v = str(o[k]);
    return v === undefined ? undefined : parseSizeOption(v);
  };
  const keys = strs(o.sign);
  const signType = str(o['sign-type']) ?? 'ed25519';
  if (signType === '') throw new Error("Invalid 'sign-name' parameter");
  const filename = str(o.filename);
  if (filename === '') throw new Error("Invalid 'filename' parameter");

  ctx.out('Generating static delta:\n');
  ctx.out(`  From: ${from ?? 'empty'}\n`);
  ctx.out(`  To:   ${to}\n`);
  const { progressLine } = await import('../../status');
  const status = progressLine(ctx.out, { scan: 'Scanning objects', compile: 'Compiling delta', write: 'Writing delta parts' });
  await generateStaticDelta(repo, {
    from,
    to,
    inline: !!o.inline,
    disableBsdiff: !!o['disable-bsdiff'],
    minFallbackSize: size('min-fallback-size'),
    maxBsdiffSize: size('max-bsdiff-size'),
    maxChunkSize: size('max-chunk-size'),
    endianness,
    filename,
    sign: keys.length ? { type: signType, keys } : undefined,
    onMessage: (line) => status.line.interrupt(() => ctx.err(line + '\n')),
    onProgress: status.onProgress,
  }).finally(() => status.line.end());
  return 0;
}

