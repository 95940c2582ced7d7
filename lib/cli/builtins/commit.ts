// ostree commit (ot-builtin-commit.c)
import { promises as fsp } from 'node:fs';
import type { CommandSpec, ParsedArgs, OptionSpec } from '../options';
import { UsageError, str, strs } from '../options';
import type { Ctx } from '../context';
import { OstreeError } from '../../errors';
import type { Variant } from '../../gvariant/codec';

const o = (long: string, arg: OptionSpec['arg'], argName: string | undefined, description: string, short?: string): OptionSpec => ({
  long,
  arg,
  argName,
  description,
  short,
});

export const spec: CommandSpec = {
  name: 'commit',
  params: '[PATH]',
  summary: 'Commit a new revision',
  repo: true,
  options: [
    o('parent', 'string', 'COMMIT', 'Parent commit checksum, or "none"'),
    o('subject', 'string', 'SUBJECT', 'One line subject', 's'),
    o('body', 'string', 'BODY', 'Full description', 'm'),
    o('body-file', 'filename', 'FILE', 'Commit message from FILE path', 'F'),
    o('branch', 'string', 'BRANCH', 'Branch', 'b'),
    o('orphan', 'none', undefined, 'Create a commit without writing a ref'),
    o('no-bindings', 'none', undefined, 'Do not write any ref bindings'),
    o('bind-ref', 'strings', 'BRANCH', 'Add a ref to ref binding commit metadata'),
    o('base', 'string', 'REV', 'Start from the given commit as a base (no modifiers apply)'),
    o('tree', 'strings', 'dir=PATH or tar=TARFILE or ref=COMMIT', 'Overlay the given argument as a tree'),
    o('add-metadata-string', 'strings', 'KEY=VALUE', 'Add a key/value pair to metadata'),
    o('add-metadata', 'strings', 'KEY=VALUE', 'Add a key/value pair to metadata, where the KEY is a string, and VALUE is in GVariant Text Format'),
    o('keep-metadata', 'strings', 'KEY', 'Keep metadata KEY and its associated VALUE from parent'),
    o('add-detached-metadata-string', 'strings', 'KEY=VALUE', 'Add a key/value pair to detached metadata'),
    o('owner-uid', 'int', 'UID', 'Set file ownership user id'),
    o('owner-gid', 'int', 'GID', 'Set file ownership group id'),
    o('canonical-permissions', 'none', undefined, 'Canonicalize permissions in the same way bare-user does for hardlinked files'),
    o('bootable', 'none', undefined, 'Flag this commit as a bootable OSTree (e.g. contains a Linux kernel)'),
    o('mode-ro-executables', 'none', undefined, 'Ensure executable files are not writable'),
    o('no-xattrs', 'none', undefined, 'Do not import extended attributes'),
    o('link-checkout-speedup', 'none', undefined, 'Optimize for commits of trees composed of hardlinks into the repository'),
    o('devino-canonical', 'none', undefined, 'Assume hardlinked objects are unmodified.  Implies --link-checkout-speedup', 'I'),
    o('tar-autocreate-parents', 'none', undefined, 'When loading tar archives, automatically create parent directories as needed'),
    o('skip-if-unchanged', 'none', undefined, 'If the contents are unchanged from previous commit, do nothing'),
    o('statoverride', 'filename', 'PATH', 'File containing list of modifications to make to permissions'),
    o('skip-list', 'filename', 'PATH', 'File containing list of files to skip'),
    o('consume', 'none', undefined, 'Consume (delete) content after commit (for local directories)'),
    o('table-output', 'none', undefined, 'Output more information in a KEY: VALUE format'),
    o('gpg-sign', 'strings', 'KEY-ID', 'GPG Key ID to sign the commit with'),
    o('gpg-homedir', 'filename', 'HOMEDIR', 'GPG Homedir to use when looking for keyrings'),
    o('sign', 'strings', 'KEY_ID', 'Sign the commit with'),
    o('sign-type', 'string', 'NAME', "Signature type to use (defaults to 'ed25519')"),
    o('generate-sizes', 'none', undefined, 'Generate size information along with commit metadata'),
    o('fsync', 'string', 'POLICY', 'Specify how to invoke fsync()'),
    o('timestamp', 'string', 'TIMESTAMP', 'Override the timestamp of the commit'),
  ],
};

/**
 * Parse --timestamp like gnulib's parse_datetime for the forms scripts use.
 * A date before 1970 wraps around as ostree stores it (a guint64).
 */
export function parseTimestamp(s: string): bigint {
  const t = s.trim();
  if (/^@-?\d+$/.test(t)) return BigInt.asUintN(64, BigInt(t.slice(1)));
  const ms = Date.parse(/(Z|[+-]\d\d:?\d\d|UTC)$/i.test(t) ? t.replace(/ UTC$/i, 'Z') : t + 'Z');
  if (Number.isNaN(ms)) throw new OstreeError('OSTREE_INVALID_ARGUMENT', `Could not parse '${s}'`);
  return BigInt.asUintN(64, BigInt(Math.floor(ms / 1000)));
}

function splitKV(s: string, opt: string): [string, string] {
  const eq = s.indexOf('=');
  if (eq < 0) throw new UsageError(`Missing '=' in KEY=VALUE metadata '${s}'`);
  void opt;
  return [s.slice(0, eq), s.slice(eq + 1)];
}

/** Metadata in ostree's builder order: every --add-metadata-string, then every --add-metadata (each in command-line order). */
async function metadataFromArgs(strings: string[], variants: string[]): Promise<Array<[string, Variant]>> {
  const out: Array<[string, Variant]> = [];
  for (const kv of strings) {
    const [k, v] = splitKV(kv, 'add-metadata-string');
    out.push([k, { type: 's', value: v }]);
  }
  if (variants.length) {
    const { parseVariant } = await import('../../gvariant/text');
    for (const kv of variants) {
      const [k, v] = splitKV(kv, 'add-metadata');
      const pv = parseVariant(v);
      out.push([k, { type: pv.type, value: pv.value }]);
    }
  }
  return out;
}

/** --sign keys of --sign-type (default ed25519). */
function signKeys(opts: ParsedArgs['opts']): { type: string; keys: string[] } | undefined {
  const keys = strs(opts.sign);
  return keys.length ? { type: str(opts['sign-type']) ?? 'ed25519', keys } : undefined;
}

export async function run(args: ParsedArgs, ctx: Ctx): Promise<number> {
  const repo = await ctx.openRepo();
  const { commit, parseStatOverride } = await import('../../commit/commit');
  const opts = args.opts;
  const branch = str(opts.branch);
  if (!branch && !opts.orphan) throw new UsageError('A branch must be specified with --branch, or use --orphan');
  const trees: Array<{ dir: string } | { ref: string; base?: boolean } | { tar: string }> = [];
  if (str(opts.base)) trees.push({ ref: str(opts.base) as string, base: true });
  for (const t of strs(opts.tree)) {
    const eq = t.indexOf('=');
    const kind = eq < 0 ? '' : t.slice(0, eq);
    const v = t.slice(eq + 1);
    if (kind === 'dir') trees.push({ dir: v });
    else if (kind === 'ref') trees.push({ ref: v });
    else if (kind === 'tar') trees.push({ tar: v });
    else throw new UsageError(`Invalid tree type specification '${eq < 0 ? t : kind}'`);
  }
  // Like ostree, only the first PATH is used.
  if (args.positional.length >= 1) trees.push({ dir: args.positional[0] });
  else if (trees.length === 0) trees.push({ dir: '.' });

  let body = str(opts.body);
  if (str(opts['body-file'])) body = await fsp.readFile(str(opts['body-file']) as string, 'utf8');
  const metadata = await metadataFromArgs(strs(opts['add-metadata-string']), strs(opts['add-metadata']));
  let detached: Array<[string, Variant]> | undefined;
  for (const kv of strs(opts['add-detached-metadata-string'])) {
    const [k, v] = splitKV(kv, 'add-detached-metadata-string');
    (detached ??= []).push([k, { type: 's', value: v }]);
  }
  const modifier: import('../../commit/commit').CommitModifier = {};
  if (opts['owner-uid'] !== undefined) modifier.ownerUid = opts['owner-uid'] as number;
  if (opts['owner-gid'] !== undefined) modifier.ownerGid = opts['owner-gid'] as number;
  if (opts['canonical-permissions']) modifier.canonicalPermissions = true;
  if (opts['mode-ro-executables']) modifier.roExecutables = true;
  if (opts['no-xattrs']) modifier.skipXattrs = true;
  if (str(opts['skip-list'])) {
    const text = await fsp.readFile(str(opts['skip-list']) as string, 'utf8');
    modifier.skipList = new Set(text.split('\n').map((l) => l.trim()).filter(Boolean));
  }
  if (str(opts.statoverride)) modifier.statOverride = parseStatOverride(await fsp.readFile(str(opts.statoverride) as string, 'utf8'));
  const fsyncOpt = str(opts.fsync);
  if (fsyncOpt !== undefined) {
    if (!/^(true|false|1|0|yes|no)$/.test(fsyncOpt)) throw new UsageError(`Invalid fsync policy '${fsyncOpt}'`);
    repo.config.set('core', 'fsync', /^(true|1|yes)$/.test(fsyncOpt) ? 'true' : 'false');
  }
  const { progressLine } = await import('../status');
  const status = progressLine(ctx.out, { content: 'Committing' });
  const result = await commit(repo, {
    branch,
    orphan: !!opts.orphan,
    trees,
    subject: str(opts.subject),
    body,
    parent: str(opts.parent) === undefined ? undefined : str(opts.parent) === 'none' ? null : str(opts.parent),
    timestamp: str(opts.timestamp) !== undefined ? parseTimestamp(str(opts.timestamp) as string) : undefined,
    metadata,
    detachedMetadata: detached,
    gpgSign: strs(opts['gpg-sign']),
    gpgHomedir: str(opts['gpg-homedir']),
    sign: signKeys(opts),
    keepMetadata: strs(opts['keep-metadata']),
    bindRefs: strs(opts['bind-ref']),
    noBindings: !!opts['no-bindings'],
    modifier,
    skipIfUnchanged: !!opts['skip-if-unchanged'],
    consume: !!opts.consume,
    bootable: !!opts.bootable,
    generateSizes: !!opts['generate-sizes'],
    linkCheckoutSpeedup: !!(opts['link-checkout-speedup'] || opts['devino-canonical']),
    tarAutocreateParents: !!opts['tar-autocreate-parents'],
    onProgress: status.onProgress,
  }).finally(() => status.line.end());
  if (opts['table-output']) {
    ctx.out(`Commit: ${result.checksum}\n`);
    ctx.out(`Metadata Total: ${result.stats.metadataTotal}\n`);
    ctx.out(`Metadata Written: ${result.stats.metadataWritten}\n`);
    ctx.out(`Content Total: ${result.stats.contentTotal}\n`);
    ctx.out(`Content Written: ${result.stats.contentWritten}\n`);
    ctx.out(`Content Cache Hits: ${result.stats.contentCacheHits}\n`);
    ctx.out(`Content Bytes Written: ${result.stats.contentBytesWritten}\n`);
  } else {
    ctx.out(result.checksum + '\n');
  }
  return 0;
}
