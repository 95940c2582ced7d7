// ostree checkout (ot-builtin-checkout.c)
import * as path from 'node:path';
import { promises as fsp } from 'node:fs';
import type { CommandSpec, ParsedArgs, OptionSpec } from '../options';
import { UsageError, str } from '../options';
import type { Ctx } from '../context';

const flag = (long: string, description: string, short?: string): OptionSpec => ({ long, short, arg: 'none', description });

export const spec: CommandSpec = {
  name: 'checkout',
  params: 'COMMIT [DESTINATION]',
  summary: 'Check out a commit into a filesystem tree',
  repo: true,
  options: [
    flag('user-mode', 'Do not change file ownership or initialize extended attributes', 'U'),
    flag('disable-cache', 'Do not update or use the internal repository uncompressed object cache'),
    { long: 'subpath', arg: 'string', argName: 'PATH', description: 'Checkout sub-directory PATH' },
    flag('union', 'Keep existing directories, overwrite existing files'),
    flag('union-add', 'Keep existing files/directories, only add new'),
    flag('union-identical', 'When layering checkouts, error out if a file would be replaced with a different version, but add new files and directories'),
    flag('whiteouts', "Process 'whiteout' (Docker style) entries"),
    flag('allow-noent', 'Do nothing if specified path does not exist'),
    { long: 'fsync', arg: 'string', argName: 'POLICY', description: 'Specify how to invoke fsync()' },
    flag('require-hardlinks', 'Do not fall back to full copies if hardlinking fails', 'H'),
    // Hidden and without effect, as in ostree 2022.7: zero-sized files are always copied.
    { long: 'force-copy-zerosized', short: 'z', arg: 'none', description: 'Do not hardlink zero-sized files', hidden: true },
    flag('force-copy', 'Never hardlink (but may reflink if available)', 'C'),
    flag('bareuseronly-dirs', 'Suppress mode bits outside of 0775 for directories (suid, world writable, etc.)', 'M'),
    { long: 'skip-list', arg: 'filename', argName: 'FILE', description: 'File containing list of files to skip' },
  ],
};

export async function run(args: ParsedArgs, ctx: Ctx): Promise<number> {
  const o = args.opts;
  if (args.positional.length < 1) throw new UsageError('COMMIT must be specified', true);
  if (args.positional.length > 2) throw new UsageError('Too many arguments');
  const nUnion = [o.union, o['union-add'], o['union-identical']].filter(Boolean).length;
  if (nUnion > 1) throw new UsageError('Cannot specify more than one of --union, --union-add, --union-identical');
  if (o['union-identical'] && !o['require-hardlinks']) throw new UsageError('--union-identical requires --require-hardlinks');
  if (o['require-hardlinks'] && o['force-copy']) throw new UsageError('Cannot specify both --require-hardlinks and --force-copy');
  const repo = await ctx.openRepo();
  const { resolveRev } = await import('../../refs/refs');
  const { checkout } = await import('../../checkout/checkout');
  const rev = args.positional[0];
  const dest = args.positional[1] ?? path.basename(rev);
  const commit = (await resolveRev(repo, rev)) as string;
  const fsyncOpt = str(o.fsync);
  const subpath = str(o.subpath);
  // One path per line, as ostree's ot_parse_file_by_line (empty lines are not paths).
  const skipFile = str(o['skip-list']);
  const skipList = skipFile ? new Set((await fsp.readFile(skipFile, 'utf8')).split('\n').filter((l) => l !== '')) : undefined;
  const { progressLine } = await import('../status');
  const status = progressLine(ctx.out, { checkout: 'Checking out' });
  try {
    await checkout(repo, commit, dest, {
      mode: o['user-mode'] ? 'user' : 'none',
      overwrite: o.union ? 'union-files' : o['union-add'] ? 'add-files' : o['union-identical'] ? 'union-identical' : 'none',
      subpath,
      whiteouts: !!o.whiteouts,
      requireHardlinks: !!o['require-hardlinks'],
      forceCopy: !!o['force-copy'],
      bareuseronlyDirs: !!o['bareuseronly-dirs'],
      fsync: fsyncOpt === undefined ? false : /^(true|1|yes)$/.test(fsyncOpt),
      disableCache: !!o['disable-cache'],
      skipList,
      onProgress: status.onProgress,
    });
  } catch (err) {
    if (o['allow-noent'] && (err as { code?: string }).code === 'OSTREE_NOT_FOUND') return 0;
    throw err;
  } finally {
    status.line.end();
  }
  return 0;
}
