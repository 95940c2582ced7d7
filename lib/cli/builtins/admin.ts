// ostree admin (ot-builtin-admin.c): picks the sub-command; each one lives in
// admin/<name>.ts and is loaded only when invoked.
import type { CommandSpec, ParsedArgs } from '../options';
import { parseArgs, UsageError } from '../options';
import type { Builtin, Ctx } from '../context';
import { ADMIN_OPTIONS, withSysroot } from './admin/common';

/** name -> [summary, loader, hidden], in ostree's order. */
const SUBCOMMANDS: Array<[string, string, () => Builtin, boolean?]> = [
  ['cleanup', 'Delete untagged deployments and repository objects', () => require('./admin/cleanup')],
  ['config-diff', 'Diff current /etc configuration versus default', () => require('./admin/config-diff')],
  ['deploy', 'Checkout revision REFSPEC as the new default deployment', () => require('./admin/deploy')],
  ['finalize-staged', 'Internal command to run at shutdown time', () => require('./admin/finalize-staged'), true],
  ['init-fs', 'Initialize a root filesystem', () => require('./admin/init-fs')],
  ['instutil', 'Deprecated commands intended for installer programs', () => require('./admin/instutil'), true],
  ['os-init', 'Initialize empty state for given operating system', () => require('./admin/os-init')],
  ['pin', 'Change the "pinning" state of a deployment', () => require('./admin/pin')],
  ['set-origin', 'Set Origin and create a new origin file', () => require('./admin/set-origin')],
  ['status', 'List deployments', () => require('./admin/status')],
  ['switch', 'Construct new tree from REFSPEC and deploy it', () => require('./admin/switch')],
  ['undeploy', 'Delete deployment INDEX', () => require('./admin/undeploy')],
  ['unlock', 'Make the current deployment mutable (as a hotfix or development)', () => require('./admin/unlock')],
  ['upgrade', 'Construct new tree from current origin and deploy it, if it changed', () => require('./admin/upgrade')],
  ['kargs', 'Change kernel arguments', () => require('./admin/kargs')],
];

export const spec: CommandSpec = {
  name: 'admin',
  params: '--print-current-dir|COMMAND',
  summary: 'Commands for managing a host system booted with ostree',
  description: 'Builtin "admin" Commands:' + SUBCOMMANDS.filter((s) => !s[3]).map(([n, s]) => `\n  ${n.padEnd(19)}${s}`).join(''),
  options: ADMIN_OPTIONS,
};

/** `ostree admin` alone: --print-current-dir works, anything else is a usage error. */
const bare: Builtin = {
  spec,
  async run(args: ParsedArgs, ctx: Ctx): Promise<number> {
    if (args.opts['print-current-dir']) return withSysroot(args, ctx, { unlocked: true }, async () => 0);
    throw new UsageError('No "admin" subcommand specified', true);
  },
};

export function subcommand(argv: string[], _out: (s: string) => void, err: (s: string) => void): { builtin: Builtin; argv: string[] } | number {
  // The first non-option argument is the sub-command (options may come first).
  let idx = -1;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--') break;
    if (!argv[i].startsWith('-')) {
      idx = i;
      break;
    }
    if (argv[i] === '--sysroot' || argv[i] === '--repo') i++;
  }
  if (idx < 0) {
    if (argv.some((a) => a === '--print-current-dir' || a === '--help' || a === '-h' || a === '--version')) return { builtin: bare, argv };
    const { formatHelp } = require('../options') as typeof import('../options');
    err(formatHelp(spec));
    err('error: No "admin" subcommand specified\n');
    return 1;
  }
  const entry = SUBCOMMANDS.find(([n]) => n === argv[idx]);
  if (!entry) {
    try {
      parseArgs(spec, argv.filter((_, i) => i !== idx));
    } catch {
      // ostree reports the unknown sub-command regardless.
    }
    const { formatHelp } = require('../options') as typeof import('../options');
    err(formatHelp(spec));
    err(`error: Unknown "admin" subcommand '${argv[idx]}'\n`);
    return 1;
  }
  return { builtin: entry[2](), argv: [...argv.slice(0, idx), ...argv.slice(idx + 1)] };
}

export async function run(): Promise<number> {
  throw new UsageError('No "admin" subcommand specified');
}
