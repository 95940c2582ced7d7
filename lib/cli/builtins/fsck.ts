// ostree fsck (ot-builtin-fsck.c)
import { UsageError, str, strs, type CommandSpec, type ParsedArgs } from '../options';
import type { Ctx } from '../context';
import type { FsckIssue } from '../../fsck';
import { OstreeError } from '../../errors';

export const spec: CommandSpec = {
  name: 'fsck',
  params: '',
  summary: 'Check the repository for consistency',
  repo: true,
  options: [
    { long: 'add-tombstones', arg: 'none', description: 'Add tombstones for missing commits' },
    { long: 'quiet', short: 'q', arg: 'none', description: 'Only print error messages' },
    { long: 'all', short: 'a', arg: 'none', description: "Don't stop on first error" },
    { long: 'delete', arg: 'none', description: 'Remove corrupted objects' },
    { long: 'verify-bindings', arg: 'none', description: 'Verify ref bindings' },
    { long: 'verify-back-refs', arg: 'none', description: 'Verify back-references (implies --verify-bindings)' },
    { long: 'repair', arg: 'none', description: 'Move corrupt objects aside and fetch corrupt and missing objects again' },
    { long: 'remote', arg: 'string', argName: 'NAME', description: 'Remote to repair from (with --repair)' },
    { long: 'localcache-repo', short: 'L', arg: 'strings', argName: 'REPO', description: 'Local repo to repair from (with --repair)' },
  ],
};

export async function run(args: ParsedArgs, ctx: Ctx): Promise<number> {
  if (args.opts.repair) return runRepair(args, ctx);
  if (args.opts.remote !== undefined || args.opts['localcache-repo'] !== undefined) throw new UsageError('--remote and --localcache-repo need --repair');
  const repo = await ctx.openRepo();
  const { fsck } = await import('../../fsck');
  const { ConsoleProgress } = await import('../console');
  const { OBJECT_TYPE_NAMES } = await import('../../objects/formats');
  const quiet = !!args.opts.quiet;
  const say = (s: string) => {
    if (!quiet) ctx.out(s);
  };
  const console = new ConsoleProgress(ctx.out);
  let mod = 1;

  const onIssue = (i: FsckIssue) => {
    if (i.kind === 'missing') {
      if (i.commits.length) ctx.err(`Object missing in commits ${i.commits.join(', ')}: ${i.message}\n`);
      else ctx.err(`Object missing: ${i.message}\n`);
      if (i.ref) return; // reported as the fatal error below
    } else {
      const msg = i.commits.length ? `In commits ${i.commits.join(', ')}: ${i.message}` : i.message;
      if (!args.opts.all && !args.opts.delete) return; // fatal: printed as "error: …"
      ctx.err(`${msg}\n`);
    }
    for (const c of i.markedPartial) ctx.err(`Marking commit as partial: ${c}\n`);
  };

  const result = await fsck(repo, {
    all: !!args.opts.all,
    delete: !!args.opts.delete,
    addTombstones: !!args.opts['add-tombstones'],
    verifyBindings: !!args.opts['verify-bindings'],
    verifyBackRefs: !!args.opts['verify-back-refs'],
    onIssue,
    onProgress: (p) => {
      switch (p.phase) {
        case 'refs':
          say('Validating refs...\n');
          break;
        case 'collection-refs':
          say('Validating refs in collections...\n');
          break;
        case 'commits':
          say('Enumerating commits...\n');
          break;
        case 'verify':
          say(`Verifying content integrity of ${p.total} commit objects...\n`);
          break;
        case 'objects': {
          const total = p.total ?? 0;
          if (p.loaded === 1) {
            console.lock();
            mod = Math.floor(total / 10);
          }
          // ostree reports item i+1 when i % (total/10) == 0, then the final count.
          if (mod === 0 || (p.loaded - 1) % mod === 0) console.nItems('fsck objects', p.loaded, total);
          if (p.loaded === total) console.nItems('fsck objects', total, total);
          break;
        }
      }
    },
  });
  console.unlock();

  if (result.fatal) {
    const i = result.fatal;
    if (i.ref && (i.kind === 'missing' || i.deleted)) {
      throw new Error(`Loading commit for ref ${i.ref}: No such metadata object ${i.checksum}.${OBJECT_TYPE_NAMES[i.type]}`);
    }
    throw new Error(i.commits.length ? `In commits ${i.commits.join(', ')}: ${i.message}` : i.message);
  }
  if (args.opts['add-tombstones']) {
    for (const c of result.tombstonesAdded) ctx.out(`Adding tombstone for commit ${c}\n`);
  } else if (result.partialCommits.length > 0) ctx.out(`${result.partialCommits.length} partial commits not verified\n`);
  if (result.issues.length > 0) throw new Error('Repository corruption encountered');
  if (result.fsckPartialCommits.length > 0) {
    throw new Error(`${result.fsckPartialCommits.length} partial commits from fsck-detected corruption`);
  }
  ctx.out(`object fsck of ${result.commitsVerified} commits completed successfully - no errors found.\n`);
  return 0;
}

/** fsck --repair: repairRepo, then what was done. */
async function runRepair(args: ParsedArgs, ctx: Ctx): Promise<number> {
  const repo = await ctx.openRepo();
  const { repairRepo } = await import('../../repair');
  const quiet = !!args.opts.quiet;
  const caches = strs(args.opts['localcache-repo']);
  const res = await repairRepo(repo, {
    remote: str(args.opts.remote),
    localcacheRepo: caches?.length ? caches : undefined,
    onIssue: (i) => {
      const where = i.commits.length ? ` in commits ${i.commits.join(', ')}` : '';
      if (i.kind === 'missing') ctx.err(`Object missing${where}: ${i.message}\n`);
      else ctx.err(`${where ? `In commits ${i.commits.join(', ')}: ` : ''}${i.message}\n`);
      if (i.movedTo) ctx.err(`Moved corrupt object to ${i.movedTo}\n`);
    },
    onProgress: (p) => {
      if (!quiet && p.phase === 'check' && p.loaded > 1) ctx.out('Checking again...\n');
    },
  });
  const n = res.issues.length;
  if (!quiet || n > 0) {
    const corrupt = res.issues.filter((i) => i.kind === 'corrupt').length;
    ctx.out(`Found ${corrupt} corrupt and ${n - corrupt} missing objects\n`);
    if (res.quarantineDir) ctx.out(`Corrupt objects moved to ${res.quarantineDir}\n`);
    for (const c of res.repaired) ctx.out(`Repaired commit ${c}\n`);
  }
  for (const u of res.unrepaired) ctx.err(`Commit ${u.commit} could not be repaired and is marked partial: ${u.error.message}\n`);
  if (!res.ok) throw new OstreeError('OSTREE_CORRUPT_OBJECT', `Repository corruption remains: ${res.unrepaired.length} commits could not be repaired`);
  ctx.out(`object fsck of ${res.final.commitsVerified} commits completed successfully - no errors found.\n`);
  return 0;
}
