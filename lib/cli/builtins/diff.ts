// ostree diff (ot-builtin-diff.c): compare two commits and/or local
// directories; optionally object-count statistics for two commits.
import type { CommandSpec, ParsedArgs } from '../options';
import type { Ctx } from '../context';
import { formatHelp } from '../options';

export const spec: CommandSpec = {
  name: 'diff',
  params: 'REV_OR_DIR REV_OR_DIR',
  summary: 'Compare directory TARGETDIR against revision REV',
  repo: true,
  options: [
    { long: 'stats', arg: 'none', description: 'Print various statistics' },
    { long: 'fs-diff', arg: 'none', description: 'Print filesystem diff' },
    { long: 'no-xattrs', arg: 'none', description: 'Skip output of extended attributes' },
    { long: 'owner-uid', arg: 'int', argName: 'UID', description: 'Use file ownership user id for local files' },
    { long: 'owner-gid', arg: 'int', argName: 'GID', description: 'Use file ownership group id for local files' },
  ],
};

export async function run(args: ParsedArgs, ctx: Ctx): Promise<number> {
  const repo = await ctx.openRepo();
  if (args.positional.length === 0) {
    ctx.err(formatHelp(spec) + '\n');
    throw new Error('REV must be specified');
  }
  const [src, target] = args.positional.length === 1 ? [args.positional[0] + '^', args.positional[0]] : args.positional;
  const o = args.opts;
  const stats = !!o.stats;
  const fsDiff = !!o['fs-diff'] || !stats;

  if (fsDiff) {
    const [{ diffDirs, formatDiff }, { RepoFile }, { LocalFile }] = await Promise.all([
      import('../../diff'),
      import('../../read/repo-file'),
      import('../../read/local-file'),
    ]);
    const open = async (arg: string) => {
      if (arg.startsWith('/') || arg.startsWith('./')) {
        const path = await import('node:path');
        return new LocalFile(path.resolve(arg));
      }
      return (await RepoFile.forCommit(repo, arg)).root;
    };
    const a = await open(src);
    const b = await open(target);
    const res = await diffDirs(a, b, {
      ignoreXattrs: !!o['no-xattrs'],
      ownerUid: o['owner-uid'] as number | undefined,
      ownerGid: o['owner-gid'] as number | undefined,
    });
    ctx.out(formatDiff(res));
  }

  if (stats) {
    const [{ resolveRev }, { traverseCommit, parseObjectKey }, { formatSize }, { promises: fsp }] = await Promise.all([
      import('../../refs/refs'),
      import('../../traverse'),
      import('../../read/dump'),
      import('node:fs'),
    ]);
    const revA = (await resolveRev(repo, src)) as string;
    const revB = (await resolveRev(repo, target)) as string;
    const reachA = new Set<string>();
    const reachB = new Set<string>();
    await traverseCommit(repo, revA, reachA, { maxDepth: 0 });
    await traverseCommit(repo, revB, reachB, { maxDepth: 0 });
    let out = `[A] Object Count: ${reachA.size}\n[B] Object Count: ${reachB.size}\n`;
    let common = 0;
    let total = 0n;
    for (const key of reachA) {
      if (!reachB.has(key)) continue;
      const [csum, type] = parseObjectKey(key);
      common++;
      total += BigInt((await fsp.lstat(repo.objectPath(csum, type))).size);
    }
    out += `Common Object Count: ${common}\nCommon Object Size: ${formatSize(total)}\n`;
    ctx.out(out);
  }
  return 0;
}
