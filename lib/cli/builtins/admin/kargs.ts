// ostree admin kargs edit-in-place (ot-admin-builtin-kargs.c,
// ot-admin-kargs-builtin-edit-in-place.c).
import type { CommandSpec, ParsedArgs } from '../../options';
import { UsageError, strs } from '../../options';
import type { Builtin, Ctx } from '../../context';
import { OstreeError } from '../../../errors';
import { ADMIN_OPTIONS, withSysroot } from './common';

// ostree 2022.7 lists no sub-command under its heading (edit-in-place is left out).
export const spec: CommandSpec = {
  name: 'admin kargs',
  params: 'COMMAND',
  summary: 'Change kernel arguments',
  description: 'Builtin "admin kargs" Commands:',
  options: [{ long: 'sysroot', arg: 'filename', argName: 'PATH', description: 'Create a new OSTree sysroot at PATH' }],
};

const editInPlace: Builtin = {
  spec: {
    name: 'admin kargs edit-in-place',
    params: 'ARGS',
    summary: '',
    options: [...ADMIN_OPTIONS, { long: 'append-if-missing', arg: 'strings', argName: 'NAME=VALUE', description: 'Append kernel arguments if they do not exist' }],
  },
  async run(args: ParsedArgs, ctx: Ctx): Promise<number> {
    return withSysroot(args, ctx, { superuser: true }, async (sysroot) => {
      if (sysroot.deployments.length === 0) throw new OstreeError('OSTREE_NOT_FOUND', 'Unable to find a deployment in sysroot');
      const { setKargsInPlace } = await import('../../../sysroot/write-deployments');
      const { KernelArgs } = await import('../../../sysroot/kargs');
      for (const d of sysroot.deployments) {
        const kargs = KernelArgs.parse(d.bootconfig.get('options'));
        for (const a of strs(args.opts['append-if-missing'])) kargs.appendIfMissing(a);
        await setKargsInPlace(sysroot, d, kargs.toString());
      }
    });
  },
};

export function subcommand(argv: string[], out: (s: string) => void, err: (s: string) => void): { builtin: Builtin; argv: string[] } | number {
  const { formatHelp } = require('../../options') as typeof import('../../options');
  const idx = argv.findIndex((a) => !a.startsWith('-'));
  if (idx < 0) {
    if (argv.includes('--help') || argv.includes('-h')) {
      out(formatHelp(spec));
      return 0;
    }
    err(formatHelp(spec));
    err('error: No "admin kargs" subcommand specified\n');
    return 1;
  }
  if (argv[idx] !== 'edit-in-place') {
    err(formatHelp(spec));
    err(`error: Unknown "admin kargs" subcommand '${argv[idx]}'\n`);
    return 1;
  }
  return { builtin: editInPlace, argv: [...argv.slice(0, idx), ...argv.slice(idx + 1)] };
}

export async function run(): Promise<number> {
  throw new UsageError('No "admin kargs" subcommand specified');
}
