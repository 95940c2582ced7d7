// ostree remote (ot-builtin-remote.c and ot-remote-builtin-*.c): add, delete,
// show-url, list, gpg-import, gpg-list-keys, refs, summary.
import type { CommandSpec, ParsedArgs, OptionSpec } from '../options';
import { UsageError, str, strs } from '../options';
import type { Ctx, Builtin } from '../context';
import { usageError } from '../output';
import { JSON_OPTION } from '../json';

const REPO: OptionSpec = {
  long: 'repo',
  arg: 'filename',
  argName: 'PATH',
  description: 'Path to OSTree repository (defaults to current directory or /sysroot/ostree/repo)',
};
const REPO_SYSROOT: OptionSpec = { ...REPO, description: 'Path to OSTree repository (defaults to /sysroot/ostree/repo)' };
const SYSROOT: OptionSpec = { long: 'sysroot', arg: 'filename', argName: 'PATH', description: 'Use sysroot at PATH (overrides --repo)' };
const CACHE_DIR: OptionSpec = { long: 'cache-dir', arg: 'none', description: 'Use custom cache dir' };

const SUBCOMMANDS: Array<[string, string]> = [
  ['add', 'Add a remote repository'],
  ['delete', 'Delete a remote repository'],
  ['show-url', 'Show remote repository URL'],
  ['list', 'List remote repository names'],
  ['gpg-import', 'Import GPG keys'],
  ['gpg-list-keys', 'Show remote GPG keys'],
  ['add-cookie', 'Add a cookie to remote'],
  ['delete-cookie', 'Remove one cookie from remote'],
  ['list-cookies', 'Show remote repository cookies'],
  ['refs', 'List remote refs'],
  ['summary', 'Show remote summary'],
];

export const spec: CommandSpec = {
  name: 'remote',
  params: 'COMMAND',
  summary: 'Remote commands that may involve internet access',
  options: [],
};

function topHelp(): string {
  return (
    'Usage:\n  ostree remote [OPTION…] COMMAND\n\nRemote commands that may involve internet access\n\nBuiltin "remote" Commands:\n' +
    SUBCOMMANDS.map(([n, s]) => `  ${n.padEnd(18)}${s}\n`).join('') +
    '\nHelp Options:\n  -h, --help        Show help options\n\nApplication Options:\n' +
    '  -v, --verbose     Print debug information during command processing\n' +
    '  --version         Print version information and exit\n\n'
  );
}

type Runner = (args: ParsedArgs, ctx: Ctx) => Promise<number>;

function sub(name: string, params: string, summary: string, options: OptionSpec[], run: Runner): Builtin {
  const s: CommandSpec = { name: `remote ${name}`, params, summary, options };
  return { spec: s, run };
}

async function openRepoFor(args: ParsedArgs, ctx: Ctx) {
  const sysroot = str(args.opts.sysroot);
  if (sysroot) {
    // Through the sysroot, so a deployment's remotes go to its /etc/ostree/remotes.d.
    const { Sysroot } = await import('../../sysroot/sysroot');
    return (await Sysroot.open(sysroot)).repo();
  }
  return ctx.openRepo();
}

function needName(args: ParsedArgs, ctx: Ctx, s: CommandSpec, what = 'NAME must be specified'): string {
  if (args.positional.length < 1) throw usageError(ctx, s, what);
  return args.positional[0];
}

const add = sub(
  'add',
  'NAME [metalink=|mirrorlist=]URL [BRANCH...]',
  'Add a remote repository',
  [
    { long: 'set', arg: 'strings', argName: 'KEY=VALUE', description: 'Set config option KEY=VALUE for remote' },
    { long: 'no-gpg-verify', arg: 'none', description: 'Disable GPG verification' },
    { long: 'no-sign-verify', arg: 'none', description: 'Disable signature verification' },
    { long: 'sign-verify', arg: 'strings', argName: 'KEYTYPE=[inline|file]:PUBKEY', description: 'Verify signatures using KEYTYPE=inline:PUBKEY or KEYTYPE=file:/path/to/key' },
    { long: 'if-not-exists', arg: 'none', description: 'Do nothing if the provided remote exists' },
    { long: 'force', arg: 'none', description: 'Replace the provided remote if it exists' },
    { long: 'gpg-import', arg: 'filename', argName: 'FILE', description: 'Import GPG key from FILE' },
    { long: 'custom-backend', arg: 'string', argName: 'NAME', description: 'This remote has content not fetched via libostree' },
    { long: 'contenturl', arg: 'string', argName: 'URL', description: 'Use URL when fetching content' },
    {
      long: 'collection-id',
      arg: 'string',
      argName: 'COLLECTION-ID',
      description: 'Globally unique ID for this repository as an collection of refs for redistribution to other repositories',
    },
    REPO_SYSROOT,
    SYSROOT,
  ],
  async (args, ctx) => {
    const o = args.opts;
    if (args.positional.length < 2) throw usageError(ctx, add.spec, args.positional.length < 1 ? 'NAME must be specified' : 'URL must be specified');
    if (o['if-not-exists'] && o.force) throw usageError(ctx, add.spec, 'Can only specify one of --if-not-exists and --force');
    const [name, url, ...branches] = args.positional;
    const set: Record<string, string> = {};
    for (const kv of strs(o.set)) {
      const eq = kv.indexOf('=');
      if (eq < 0) throw new Error(`Missing '=' in KEY=VALUE for --set`);
      set[kv.slice(0, eq)] = kv.slice(eq + 1);
    }
    const repo = await openRepoFor(args, ctx);
    const { addRemote, getRemote } = await import('../../remotes/remotes');
    let existed = false;
    if (o['if-not-exists']) {
      try {
        await getRemote(repo, name);
        existed = true;
      } catch {
        existed = false;
      }
    }
    await addRemote(repo, name, url, {
      branches,
      set,
      ifNotExists: !!o['if-not-exists'],
      force: !!o.force,
      noGpgVerify: !!o['no-gpg-verify'],
      noSignVerify: !!o['no-sign-verify'],
      signVerify: strs(o['sign-verify']),
      contentUrl: str(o.contenturl),
      customBackend: str(o['custom-backend']),
      collectionId: str(o['collection-id']),
    });
    const keyFile = str(o['gpg-import']);
    if (keyFile && !existed) {
      const { importKeysToRemote } = await import('../../gpg/keys');
      const n = await importKeysToRemote(repo, name, { files: [keyFile] });
      ctx.out(`Imported ${n} GPG key${n === 1 ? '' : 's'} to remote "${name}"\n`);
    }
    return 0;
  },
);

const del = sub(
  'delete',
  'NAME',
  'Delete a remote repository',
  [{ long: 'if-exists', arg: 'none', description: 'Do nothing if the provided remote does not exist' }, REPO_SYSROOT, SYSROOT],
  async (args, ctx) => {
    const name = needName(args, ctx, del.spec);
    const repo = await openRepoFor(args, ctx);
    const { deleteRemote } = await import('../../remotes/remotes');
    await deleteRemote(repo, name, { ifExists: !!args.opts['if-exists'] });
    return 0;
  },
);

const showUrl = sub('show-url', 'NAME', 'Show remote repository URL', [REPO], async (args, ctx) => {
  const name = needName(args, ctx, showUrl.spec);
  const repo = await ctx.openRepo();
  const { getRemote, remoteUrl } = await import('../../remotes/remotes');
  ctx.out(remoteUrl(await getRemote(repo, name)) + '\n');
  return 0;
});

const list = sub(
  'list',
  '',
  'List remote repository names',
  [REPO, { long: 'show-urls', short: 'u', arg: 'none', description: 'Show remote URLs in list' }, JSON_OPTION],
  async (args, ctx) => {
    const repo = await ctx.openRepo();
    const { listRemotes, getRemote, remoteUrl } = await import('../../remotes/remotes');
    const names = await listRemotes(repo);
    if (args.opts.json) {
      // { "remotes": [{ name, url, options: { key: raw value } }] }, in `remote list` order.
      const remotes = [];
      for (const n of names) {
        const r = await getRemote(repo, n);
        remotes.push({ name: n, url: remoteUrl(r), options: r.options });
      }
      (await import('../json')).printJson(ctx, { remotes });
      return 0;
    }
    if (args.opts['show-urls']) {
      const width = Math.max(0, ...names.map((n) => n.length));
      // Lines are printed as they go: an error on one remote leaves the previous ones printed, as in ostree.
      for (const n of names) ctx.out(`${n.padEnd(width)}  ${remoteUrl(await getRemote(repo, n))}\n`);
    } else ctx.out(names.map((n) => n + '\n').join(''));
    return 0;
  },
);

const gpgImport = sub(
  'gpg-import',
  'NAME [KEY-ID...]',
  'Import GPG keys',
  [
    REPO,
    { long: 'keyring', short: 'k', arg: 'strings', argName: 'FILE', description: 'Import keys from a keyring file (repeatable)' },
    { long: 'stdin', arg: 'none', description: 'Import keys from standard input' },
  ],
  async (args, ctx) => {
    const name = needName(args, ctx, gpgImport.spec);
    const keyrings = strs(args.opts.keyring);
    if (args.opts.stdin && keyrings.length) throw usageError(ctx, gpgImport.spec, '--keyring and --stdin are mutually exclusive');
    const repo = await ctx.openRepo();
    const data: Buffer[] = [];
    if (args.opts.stdin) {
      const chunks: Buffer[] = [];
      for await (const c of process.stdin) chunks.push(c as Buffer);
      data.push(Buffer.concat(chunks));
    }
    const { importKeysToRemote } = await import('../../gpg/keys');
    const n = await importKeysToRemote(repo, name, { files: keyrings, data, keyIds: args.positional.slice(1) });
    ctx.out(`Imported ${n} GPG key${n === 1 ? '' : 's'} to remote "${name}"\n`);
    return 0;
  },
);

const gpgListKeys = sub('gpg-list-keys', 'NAME', 'Show remote GPG keys', [REPO], async (args, ctx) => {
  const repo = await ctx.openRepo();
  const name = args.positional[0];
  const { remoteTrustedKeys, keysInDirPublic } = await import('../../gpg/keys');
  const { formatKeyListing } = await import('../../gpg/list');
  const keys = name === undefined ? await keysInDirPublic() : await remoteTrustedKeys(repo, name, { global: false });
  ctx.out(await formatKeyListing(keys));
  return 0;
});

/** summary (+ summary.sig) of a remote: file:// read directly, http(s) through lib/pull/fetcher. */
export async function fetchRemoteSummary(repo: import('../../repo/repo').Repo, name: string): Promise<{ summary: Buffer | null; sig: Buffer | null }> {
  const { getRemote, remoteUrl } = await import('../../remotes/remotes');
  const r = await getRemote(repo, name);
  const url = remoteUrl(r);
  const { createFetcher, fetcherOptionsFromRemote, readFileCapped, MAX_METADATA_SIZE } = await import('../../pull/fetcher');
  if (url.startsWith('file://')) {
    const { fileURLToPath, pathToFileURL } = await import('url');
    const path = await import('path');
    const base = fileURLToPath(url);
    const read = async (f: string) => {
      const p = path.join(base, f);
      try {
        return await readFileCapped(p, pathToFileURL(p).href, MAX_METADATA_SIZE);
      } catch (err) {
        if ((err as { code?: string }).code === 'OSTREE_HTTP') throw err;
        return null;
      }
    };
    return { summary: await read('summary'), sig: await read('summary.sig') };
  }
  const f = createFetcher(fetcherOptionsFromRemote(r.options));
  try {
    const summary = await f.fetch('summary', { optional: true, maxSize: MAX_METADATA_SIZE });
    const sig = await f.fetch('summary.sig', { optional: true, maxSize: MAX_METADATA_SIZE });
    return { summary, sig };
  } finally {
    f.close();
  }
}

async function fetchVerified(repo: import('../../repo/repo').Repo, name: string) {
  const { summary, sig } = await fetchRemoteSummary(repo, name);
  const { getRemote, remoteBool } = await import('../../remotes/remotes');
  const r = await getRemote(repo, name);
  const verify = remoteBool(r, 'gpg-verify-summary', false);
  let result = null;
  if (verify && summary) {
    if (!sig) throw new Error('GPG verification enabled, but no summary.sig found (use gpg-verify-summary=false in remote config to disable)');
    const { verifySummaryGpg } = await import('../../gpg/verify');
    result = await verifySummaryGpg(repo, name, summary, sig);
  }
  return { summary, result };
}

const refs = sub('refs', 'NAME', 'List remote refs', [REPO, CACHE_DIR], async (args, ctx) => {
  const name = needName(args, ctx, refs.spec);
  const repo = await ctx.openRepo();
  const { summary } = await fetchVerified(repo, name);
  if (!summary) throw new Error('Remote refs not available; server has no summary file');
  const { parseSummary, summaryCollectionMap } = await import('../../summary');
  const s = parseSummary(summary);
  const names = s.refs.map((r) => r.name);
  void summaryCollectionMap;
  names.sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  ctx.out(names.map((n) => `${name}:${n}\n`).join(''));
  return 0;
});

const summary = sub('summary', 'NAME', 'Show remote summary', [REPO, CACHE_DIR, { long: 'raw', arg: 'none', description: 'Show raw variant data' }], async (args, ctx) => {
  const name = needName(args, ctx, summary.spec);
  const repo = await ctx.openRepo();
  const { summary: bytes, result } = await fetchVerified(repo, name);
  if (!bytes) throw new Error('Remote server has no summary file');
  const { formatSummary } = await import('../../summary');
  let out = await formatSummary(bytes, { raw: !!args.opts.raw });
  if (result && !args.opts.raw) {
    const { describeResult } = await import('../../gpg/verify');
    out += '\n' + describeResult(result, 'GPG: Verification enabled, found');
  }
  ctx.out(out);
  return 0;
});

const unsupported = (name: string, summaryText: string): Builtin =>
  sub(name, 'NAME', summaryText, [REPO], async () => {
    throw new Error(`remote ${name} is not supported by node-ostree`);
  });

const BUILTINS: Record<string, Builtin> = {
  add,
  delete: del,
  'show-url': showUrl,
  list,
  'gpg-import': gpgImport,
  'gpg-list-keys': gpgListKeys,
  'list-gpg-keys': gpgListKeys,
  'add-cookie': unsupported('add-cookie', 'Add a cookie to remote'),
  'delete-cookie': unsupported('delete-cookie', 'Remove one cookie from remote'),
  'list-cookies': unsupported('list-cookies', 'Show remote repository cookies'),
  refs,
  summary,
};

/** Pick the sub-command: the first non-option argument. */
export function subcommand(argv: string[], out: (s: string) => void, err: (s: string) => void): { builtin: Builtin; argv: string[] } | number {
  let idx = -1;
  for (let i = 0; i < argv.length; i++) {
    if (!argv[i].startsWith('-')) {
      idx = i;
      break;
    }
  }
  if (idx < 0) {
    if (argv.includes('--help') || argv.includes('-h')) {
      out(topHelp());
      return 0;
    }
    const unknown = argv.find((a) => !['-v', '--verbose', '--version'].includes(a));
    err(topHelp());
    err(unknown ? `error: Unknown option ${unknown}\n` : 'error: No "remote" subcommand specified\n');
    return 1;
  }
  const b = BUILTINS[argv[idx]];
  if (!b) {
    err(topHelp());
    err(`error: Unknown "remote" subcommand '${argv[idx]}'\n`);
    return 1;
  }
  return { builtin: b, argv: [...argv.slice(0, idx), ...argv.slice(idx + 1)] };
}

export async function run(): Promise<number> {
  throw new UsageError('No "remote" subcommand specified');
}
