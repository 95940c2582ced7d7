// ostree fsck (ot-builtin-fsck.c)
import type { CommandSpec, ParsedArgs } from '../options';
import type { Ctx } from '../context';
import type { FsckIssue } from '../../fsck';

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
  ],
};

export async function run(args: ParsedArgs, ctx: Ctx): Promise<number> {
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
    verifyBindings: !!args.opts['verify-bindings'],
    verifyBackRefs: !!args.opts['verify-back-refs'],
    addTombstones: !!args.opts['add-tombstones'],
    onTombstone: (c) => ctx.out(`Adding tombstone for commit ${c}\n`),
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
  if (!args.opts['add-tombstones'] && result.partialCommits.length > 0) ctx.out(`${result.partialCommits.length} partial commits not verified\n`);
  if (result.issues.length > 0) throw new Error('Repository corruption encountered');
  if (result.fsckPartialCommits.length > 0) {
    throw new Error(`${result.fsckPartialCommits.length} partial commits from fsck-detected corruption`);
  }
  ctx.out(`object fsck of ${result.commitsVerified} commits completed successfully - no errors found.\n`);
  return 0;
}
