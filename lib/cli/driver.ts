// node-ostree CLI driver: the same sub-commands, flags, output and exit codes
// as `ostree` 2022.7. A thin client of the library; each builtin is loaded
// only when invoked so start-up stays close to bare `node`. The process entry
// point is ./main (it loads this module from the CLI bundle, see ./bundle).
import { parseArgs, formatHelp, CommandSpec, ParsedArgs, UsageError, allOptions } from './options';
import type { Ctx, Builtin } from './context';
import type { Repo } from '../repo/repo';
import { setSmallFilesBlocking } from '../repo/small-files';

export type { Ctx, Builtin } from './context';

/** name -> [summary, loader]. Order is ostree's help order. */
export const COMMANDS: Array<[string, string, () => Builtin]> = [
  ['admin', 'Commands for managing a host system booted with ostree', () => require('./builtins/admin')],
  ['cat', 'Concatenate contents of files', () => require('./builtins/cat')],
  ['checkout', 'Check out a commit into a filesystem tree', () => require('./builtins/checkout')],
  ['checksum', 'Checksum a file or directory', () => require('./builtins/checksum')],
  ['commit', 'Commit a new revision', () => require('./builtins/commit')],
  ['config', 'Change repo configuration settings', () => require('./builtins/config')],
  ['diff', 'Compare directory TARGETDIR against revision REV', () => require('./builtins/diff')],
  ['fsck', 'Check the repository for consistency', () => require('./builtins/fsck')],
  ['gpg-sign', 'Sign a commit', () => require('./builtins/gpg-sign')],
  ['init', 'Initialize a new empty repository', () => require('./builtins/init')],
  ['log', 'Show log starting at commit or ref', () => require('./builtins/log')],
  ['ls', 'List file paths', () => require('./builtins/ls')],
  ['prune', 'Search for unreachable objects', () => require('./builtins/prune')],
  ['pull-local', 'Copy data from SRC_REPO', () => require('./builtins/pull-local')],
  ['pull', 'Download data from remote repository', () => require('./builtins/pull')],
  ['refs', 'List refs', () => require('./builtins/refs')],
  ['remote', 'Remote commands that may involve internet access', () => require('./builtins/remote')],
  ['reset', 'Reset a REF to a previous COMMIT', () => require('./builtins/reset')],
  ['rev-parse', 'Output the target of a rev', () => require('./builtins/rev-parse')],
  ['sign', 'Sign a commit', () => require('./builtins/sign')],
  ['show', 'Output a metadata object', () => require('./builtins/show')],
  ['static-delta', 'Static delta related commands', () => require('./builtins/static-delta')],
  ['summary', 'Manage summary metadata', () => require('./builtins/summary')],
  ['trivial-httpd', 'Simple webserver', () => require('./builtins/trivial-httpd')],
];

export const VERSION = '0.1.0';

/** The libostree release whose behaviour (formats, CLI, messages) we reproduce. */
export const OSTREE_VERSION = '2022.7';

/**
 * The libostree features we really provide, under ostree's names and in its
 * order: scripts (and ostree's own tests) grep `ostree --version` for them to
 * decide what to run. `gpgme`: OpenPGP signing and verification; `sign-ed25519`:
 * `ostree sign` and `sign-verify` with ed25519; `release`: a release build (no
 * `Git:` key).
 */
export const FEATURES = ['gpgme', 'sign-ed25519', 'release'];

/** ostree's YAML version document, plus our own version as an extra key. */
export function versionText(): string {
  return (
    `libostree:\n Version: '${OSTREE_VERSION}'\n Features:\n${FEATURES.map((f) => `  - ${f}\n`).join('')}` +
    `node-ostree:\n Version: '${VERSION}'\n`
  );
}

function topHelp(): string {
  const cmds = COMMANDS.map(([n, s]) => `  ${n.padEnd(18)}${s}\n`).join('');
  return (
    'Usage:\n  ostree [OPTION…] COMMAND\n\nBuiltin Commands:\n' +
    cmds +
    '\nHelp Options:\n  -h, --help        Show help options\n\nApplication Options:\n' +
    '  -v, --verbose     Print debug information during command processing\n' +
    '  --version         Print version information and exit\n\n'
  );
}

/**
 * A writer for fd 1 or 2 that writes synchronously with fs.writeSync, as
 * process.stdout does for files, pipes and terminals on Linux, without
 * creating the stream (its modules cost a few ms of every start-up); as both
 * write synchronously, output through either keeps its order. A reader
 * that went away (EPIPE: `ostree show … | head`) is ignored as ostree (GLib
 * ignores SIGPIPE, g_print drops what it cannot write) ignores it: the rest of
 * the output is dropped and the command ends with its own status. A non-blocking
 * descriptor that fills up (EAGAIN) hands this and all later output to the
 * stream, which waits; so does output that went through the stream already.
 */
export function fdWriter(fd: 1 | 2): (s: string) => void {
  const fs = require('node:fs') as typeof import('node:fs');
  const stream = () => (fd === 1 ? process.stdout : process.stderr);
  let viaStream = false;
  let readerGone = false;
  return (s: string) => {
    if (readerGone) return;
    if (!viaStream) {
      const buf = Buffer.from(s);
      let off = 0;
      try {
        while (off < buf.length) off += fs.writeSync(fd, buf, off);
        return;
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'EPIPE') {
          readerGone = true;
          return;
        }
        if (code !== 'EAGAIN') throw e;
        viaStream = true;
        stream().write(buf.subarray(off));
        return;
      }
    }
    stream().write(s);
  };
}

export async function main(argv: string[]): Promise<number> {
  // A short-lived process with nothing else on its event loop: small files are read with direct syscalls.
  setSmallFilesBlocking(true);
  const out = fdWriter(1);
  const err = fdWriter(2);
  // The command is the first non-option argument (options may precede it).
  let cmdIndex = -1;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('-')) {
      cmdIndex = i;
      break;
    }
    if (a === '--repo' || a === '--sysroot') i++;
  }
  if (cmdIndex < 0) {
    if (argv.includes('--version')) {
      out(versionText());
      return 0;
    }
    if (argv.includes('--help') || argv.includes('-h')) {
      out(topHelp());
      return 0;
    }
    err(topHelp());
    err('error: No command specified\n');
    return 1;
  }
  const name = argv[cmdIndex];
  const entry = COMMANDS.find(([n]) => n === name);
  if (!entry) {
    const { lookupExternal, runExternal } = require('./external') as typeof import('./external');
    const ext = lookupExternal(name);
    if (ext) return runExternal(ext, argv, err);
    err(topHelp());
    err(`error: Unknown command '${name}'\n`);
    return 1;
  }
  let builtin = entry[2]();
  let rest = [...argv.slice(0, cmdIndex), ...argv.slice(cmdIndex + 1)];
  // Sub-commands may nest (`admin kargs edit-in-place`).
  while (builtin.subcommand) {
    const sub = builtin.subcommand(rest, out, err);
    if (typeof sub === 'number') return sub;
    if (sub.builtin === builtin) break;
    ({ builtin, argv: rest } = sub);
  }
  let args: ParsedArgs;
  try {
    args = parseArgs(builtin.spec, rest);
  } catch (e) {
    if (e instanceof UsageError) {
      err(`error: ${e.message}\n`);
      return 1;
    }
    throw e;
  }
  if (args.opts.help) {
    out(formatHelp(builtin.spec, 'ostree', { extensions: true }));
    return 0;
  }
  if (args.opts.version) {
    out(versionText());
    return 0;
  }
  let repoCache: Promise<Repo> | null = null;
  const ctx: Ctx = {
    repoPath() {
      return (args.opts.repo as string | undefined) ?? defaultRepoPath();
    },
    openRepo() {
      if (!repoCache) {
        const { Repo } = require('../repo/repo') as typeof import('../repo/repo');
        const explicit = args.opts.repo as string | undefined;
        repoCache = Repo.open(explicit ?? defaultRepoPath()).catch((e) => {
          if (!explicit && (e as { code?: string }).code === 'OSTREE_REPO_NOT_FOUND') {
            // ostree falls back to the sysroot's repo, then asks for --repo.
            const sysroot = process.env.OSTREE_SYSROOT || '/';
            return Repo.open(require('node:path').join(sysroot, 'ostree', 'repo')).catch(() => {
              throw new UsageError('Command requires a --repo argument', true);
            });
          }
          throw e;
        });
      }
      return repoCache;
    },
    out,
    err,
    verbose: !!args.opts.verbose,
  };
  try {
    const rc = await builtin.run(args, ctx);
    return rc ?? 0;
  } catch (e) {
    if (e instanceof UsageError && e.showHelp) err(formatHelp(builtin.spec) + '\n');
    err(`error: ${(e as Error).message}\n`);
    if (process.env.OSTREE_DEBUG_STACK) err(`${(e as Error).stack}\n`);
    return 1;
  }
}

/**
 * ostree_repo_new_default(): the current directory when it is a repository,
 * else $OSTREE_REPO, else /ostree/repo.
 */
function defaultRepoPath(): string {
  const fs = require('node:fs') as typeof import('node:fs');
  if (fs.existsSync('objects') && fs.existsSync('config')) return '.';
  return process.env.OSTREE_REPO || '/ostree/repo';
}

/** Used by builtins to report usage mistakes like GLib's usage errors. */
export function usageError(spec: CommandSpec, msg: string): UsageError {
  void allOptions(spec);
  return new UsageError(msg);
}
