// ostree prune (ot-builtin-prune.c)
import type { CommandSpec, ParsedArgs } from '../options';
import { UsageError, str, strs } from '../options';
import type { Ctx } from '../context';

export const spec: CommandSpec = {
  name: 'prune',
  params: '',
  summary: 'Search for unreachable objects',
  repo: true,
  options: [
    { long: 'no-prune', arg: 'none', description: "Only display unreachable objects; don't delete" },
    { long: 'refs-only', arg: 'none', description: 'Only compute reachability via refs' },
    { long: 'depth', arg: 'int', argName: 'DEPTH', description: 'Only traverse DEPTH parents for each commit (default: -1=infinite)' },
    { long: 'delete-commit', arg: 'string', argName: 'COMMIT', description: 'Specify a commit to delete' },
    { long: 'keep-younger-than', arg: 'string', argName: 'DATE', description: 'Prune all commits older than the specified date' },
    {
      long: 'static-deltas-only',
      arg: 'none',
      description: 'Change the behavior of delete-commit and keep-younger-than to prune only static deltas',
    },
    { long: 'retain-branch-depth', arg: 'strings', argName: 'BRANCH=DEPTH', description: 'Additionally retain BRANCH=DEPTH commits' },
    { long: 'only-branch', arg: 'strings', argName: 'BRANCH', description: 'Only prune BRANCH (may be specified multiple times)' },
    { long: 'commit-only', arg: 'none', description: 'Only traverse and delete commit objects.' },
  ],
};

export async function run(args: ParsedArgs, ctx: Ctx): Promise<number> {
  if (args.positional.length) throw new UsageError(`Unknown argument ${args.positional[0]}`);
  const repo = await ctx.openRepo();
  const { prune } = await import('../../prune');
  const { formatSize } = await import('../console');
  const retain: Record<string, number> = {};
  for (const spec of strs(args.opts['retain-branch-depth'])) {
    const eq = spec.indexOf('=');
    if (eq < 0) throw new Error(`Invalid value ${spec}, must specify BRANCH=DEPTH`);
    const d = spec.slice(eq + 1);
    if (!/^[-+]?\d+$/.test(d)) throw new Error(`Invalid depth ${d}`);
    retain[spec.slice(0, eq)] = Number(d);
  }
  const noPrune = !!args.opts['no-prune'];
  const commitOnly = !!args.opts['commit-only'];
  const { progressLine } = await import('../status');
  const status = progressLine(ctx.out, { reachability: 'Finding reachable objects', prune: 'Pruning' });
  const r = await prune(repo, {
    noPrune,
    refsOnly: !!args.opts['refs-only'],
    depth: typeof args.opts.depth === 'number' ? args.opts.depth : -1,
    deleteCommit: str(args.opts['delete-commit']),
    keepYoungerThan: str(args.opts['keep-younger-than']),
    staticDeltasOnly: !!args.opts['static-deltas-only'],
    onlyBranch: strs(args.opts['only-branch']),
    retainBranchDepth: retain,
    commitOnly,
    onProgress: status.onProgress,
  }).finally(() => status.line.end());
  ctx.out(commitOnly ? `Total (commit only) objects: ${r.total}\n` : `Total objects: ${r.total}\n`);
  if (r.pruned === 0) ctx.out('No unreachable objects\n');
  else if (noPrune) ctx.out(`Would delete: ${r.pruned} objects, freeing ${formatSize(r.freedBytes)}\n`);
  else ctx.out(`Deleted ${r.pruned} objects, ${formatSize(r.freedBytes)} freed\n`);
  return 0;
}
