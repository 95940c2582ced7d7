// ostree static-delta (ot-builtin-static-delta.c): picks the sub-command; each
// one lives in static-delta/<name>.ts and is loaded only when invoked.
import type { CommandSpec } from '../options';
import { UsageError } from '../options';
import type { Builtin } from '../context';

/** name -> [summary, loader], in ostree's help order. */
const SUBCOMMANDS: Array<[string, string, () => Builtin]> = [
  ['list', 'List static delta files', () => require('./static-delta/list')],
  ['show', 'Dump information on a delta', () => require('./static-delta/show')],
  ['delete', 'Remove a delta', () => require('./static-delta/delete')],
  ['generate', 'Generate static delta files', () => require('./static-delta/generate')],
  ['apply-offline', 'Apply static delta file', () => require('./static-delta/apply-offline')],
  ['verify', 'Verify static delta signatures', () => require('./static-delta/verify')],
  ['indexes', 'List static delta indexes', () => require('./static-delta/indexes')],
  ['reindex', 'Regenerate static delta indexes', () => require('./static-delta/reindex')],
];

export const spec: CommandSpec = {
  name: 'static-delta',
  params: 'COMMAND',
  summary: 'Static delta related commands',
  options: [],
};

/** ostree prints its own usage here (not GOption's): "[OPTION...]" and no option sections. */
function usage(): string {
  return (
    'Usage:\n  ostree static-delta [OPTION...] COMMAND\n\nBuiltin "static-delta" Commands:\n' +
    SUBCOMMANDS.map(([n, s]) => `  ${n.padEnd(17)}${s}\n`).join('') +
    '\n'
  );
}

export function subcommand(argv: string[], out: (s: string) => void, err: (s: string) => void): { builtin: Builtin; argv: string[] } | number {
  const idx = argv.findIndex((a) => !a.startsWith('-'));
  if (idx < 0) {
    if (argv.includes('--help') || argv.includes('-h')) {
      out(usage());
      return 0;
    }
    err(usage());
    err('error: No command specified\n');
    return 1;
  }
  const entry = SUBCOMMANDS.find(([n]) => n === argv[idx]);
  if (!entry) {
    err(usage());
    err(`error: Unknown "static-delta" subcommand '${argv[idx]}'\n`);
    return 1;
  }
  return { builtin: entry[2](), argv: [...argv.slice(0, idx), ...argv.slice(idx + 1)] };
}

export async function run(): Promise<number> {
  throw new UsageError('No command specified');
}
