// ostree ls (ot-builtin-ls.c): list paths in a commit, one line per entry.
import type { CommandSpec, ParsedArgs } from '../options';
import type { Ctx } from '../context';
import { usageError, OutputBuffer } from '../output';
import type { RepoFile as RF } from '../../read/repo-file';

export const spec: CommandSpec = {
  name: 'ls',
  params: 'COMMIT [PATH...]',
  summary: 'List file paths',
  repo: true,
  options: [
    { long: 'dironly', short: 'd', arg: 'none', description: 'Do not recurse into directory arguments' },
    { long: 'recursive', short: 'R', arg: 'none', description: 'Print directories recursively' },
    { long: 'checksum', short: 'C', arg: 'none', description: 'Print checksum' },
    { long: 'xattrs', short: 'X', arg: 'none', description: 'Print extended attributes' },
    { long: 'nul-filenames-only', arg: 'none', description: 'Print only filenames, NUL separated' },
  ],
};

export async function run(args: ParsedArgs, ctx: Ctx): Promise<number> {
  const repo = await ctx.openRepo();
  if (args.positional.length === 0) throw usageError(ctx, spec, 'An COMMIT argument is required');
  const [{ RepoFile }, { formatLsLine }] = await Promise.all([import('../../read/repo-file'), import('../../read/ls')]);
  const o = args.opts;
  const fmt = { checksum: !!o.checksum, xattrs: !!o.xattrs, nulFilenamesOnly: !!o['nul-filenames-only'] };
  const buf = new OutputBuffer(ctx.out);

  const recurse = async (dir: RF, depth: number): Promise<void> => {
    for (const { file, info } of await dir.children()) {
      buf.push(await formatLsLine(file, info, fmt));
      if (info.type === 'directory' && depth !== 1) await recurse(file, depth > 0 ? depth - 1 : depth);
    }
  };
  const one = async (root: RF, arg: string): Promise<void> => {
    const f = root.resolveRelativePath(arg);
    const info = await f.queryInfo();
    buf.push(await formatLsLine(f, info, fmt));
    if (info.type === 'directory') {
      if (o.recursive) await recurse(f, -1);
      else if (!o.dironly) await recurse(f, 1);
    }
  };

  try {
    const { root } = await RepoFile.forCommit(repo, args.positional[0]);
    if (args.positional.length > 1) {
      for (const arg of args.positional.slice(1)) {
        try {
          await one(root, arg);
        } catch (err) {
          throw new Error(`Inspecting path '${arg}': ${(err as Error).message}`, { cause: err });
        }
      }
    } else {
      await one(root, '/');
    }
  } finally {
    buf.flush();
  }
  return 0;
}
