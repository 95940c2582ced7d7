// ostree pull-local (ot-builtin-pull-local.c)
import type { CommandSpec, ParsedArgs } from '../options';
import { formatHelp, str } from '../options';
import type { Ctx } from '../context';

export const spec: CommandSpec = {
  name: 'pull-local',
  params: 'SRC_REPO [REFS...]',
  summary: 'Copy data from SRC_REPO',
  repo: true,
  options: [
    { long: 'commit-metadata-only', arg: 'none', description: 'Fetch only the commit metadata' },
    { long: 'remote', arg: 'string', argName: 'REMOTE', description: 'Add REMOTE to refspec' },
    { long: 'disable-fsync', arg: 'none', description: 'Do not invoke fsync()' },
    { long: 'per-object-fsync', arg: 'none', description: 'Perform writes in such a way that avoids stalling concurrent processes' },
    { long: 'untrusted', arg: 'none', description: 'Verify checksums of local sources (always enabled for HTTP pulls)' },
    { long: 'bareuseronly-files', arg: 'none', description: 'Reject regular files with mode outside of 0775 (world writable, suid, etc.)' },
    { long: 'require-static-deltas', arg: 'none', description: 'Require static deltas' },
    { long: 'gpg-verify', arg: 'none', description: 'GPG verify commits (must specify --remote)' },
    { long: 'gpg-verify-summary', arg: 'none', description: 'GPG verify summary (must specify --remote)' },
    { long: 'disable-verify-bindings', arg: 'none', description: 'Do not verify commit bindings' },
    { long: 'depth', arg: 'int', argName: 'DEPTH', description: 'Traverse DEPTH parents (-1=infinite) (default: 0)' },
  ],
};

export async function run(args: ParsedArgs, ctx: Ctx): Promise<number> {
  const repo = await ctx.openRepo();
  if (args.positional.length < 1) {
    ctx.err(formatHelp(spec));
    throw new Error('DESTINATION must be specified');
  }
  const remote = str(args.opts.remote);
  if ((args.opts['gpg-verify'] || args.opts['gpg-verify-summary']) && !remote) {
    throw new Error('Must specify remote name to enable gpg verification');
  }
  const [src, ...refs] = args.positional;
  if (args.opts['require-static-deltas'] || args.opts['gpg-verify'] || args.opts['gpg-verify-summary']) {
    // As ostree: the source is pulled like a remote, by URL, so that its deltas are used
    // and signatures are checked with the keys of --remote.
    const { pull } = await import('../../pull/pull');
    const path = await import('node:path');
    const { pathToFileURL } = await import('node:url');
    const url = src.includes('://') ? src : pathToFileURL(path.resolve(src)).href;
    const r = await pull(repo, {
      remote: url,
      overrideRemoteName: remote,
      refs,
      requireStaticDeltas: !!args.opts['require-static-deltas'],
      gpgVerify: !!args.opts['gpg-verify'],
      gpgVerifySummary: !!args.opts['gpg-verify-summary'],
      untrusted: !!args.opts.untrusted,
      depth: typeof args.opts.depth === 'number' ? args.opts.depth : 0,
      commitMetadataOnly: !!args.opts['commit-metadata-only'],
      bareuseronlyFiles: !!args.opts['bareuseronly-files'],
      disableFsync: !!args.opts['disable-fsync'],
      disableVerifyBindings: !!args.opts['disable-verify-bindings'],
    });
    ctx.out(`${r.status}\n`);
    return 0;
  }
  const { pullLocal } = await import('../../pull-local');
  const { formatSize } = await import('../console');
  const { progressLine } = await import('../status');
  const status = progressLine(ctx.out, { metadata: 'Copying metadata', content: 'Copying content' });
  const r = await pullLocal(repo, {
    source: src,
    refs,
    remote,
    depth: typeof args.opts.depth === 'number' ? args.opts.depth : 0,
    untrusted: !!args.opts.untrusted,
    commitMetadataOnly: !!args.opts['commit-metadata-only'],
    bareuseronlyFiles: !!args.opts['bareuseronly-files'],
    disableFsync: !!args.opts['disable-fsync'],
    disableVerifyBindings: !!args.opts['disable-verify-bindings'],
    onProgress: status.onProgress,
  }).finally(() => status.line.end());
  ctx.out(
    `${r.metadataImported} metadata, ${r.contentImported} content objects imported; ${formatSize(r.contentBytesWritten)} content written\n`,
  );
  return 0;
}
