// ostree admin instutil (ot-admin-builtin-instutil.c,
// ot-admin-instutil-builtin-set-kargs.c, ot-admin-instutil-builtin-grub2-generate.c):
// deprecated installer helpers. selinux-ensure-labeled is not offered (no SELinux).
import { promises as fsp } from 'node:fs';
import type { CommandSpec, ParsedArgs } from '../../options';
import { UsageError, strs } from '../../options';
import type { Builtin, Ctx } from '../../context';
import { OstreeError } from '../../../errors';
import { ADMIN_OPTIONS, withSysroot } from './common';

const SUBCOMMANDS: Array<[string, string]> = [
  ['set-kargs', 'Set new kernel command line arguments(Not stable)'],
  ['grub2-generate', 'Generate GRUB2 configuration from given BLS entries'],
];

export const spec: CommandSpec = {
  name: 'admin instutil',
  params: 'COMMAND',
  summary: 'Deprecated commands intended for installer programs',
  description: 'Builtin "admin instutil" Commands:' + SUBCOMMANDS.map(([n, s]) => `\n  ${n.padEnd(24)}${s}`).join(''),
  options: [{ long: 'sysroot', arg: 'filename', argName: 'PATH', description: 'Create a new OSTree sysroot at PATH' }],
};

const setKargs: Builtin = {
  spec: {
    name: 'admin instutil set-kargs',
    params: 'ARGS',
    summary: '',
    options: [
      ...ADMIN_OPTIONS,
      { long: 'import-proc-cmdline', arg: 'none', description: 'Import current /proc/cmdline' },
      { long: 'merge', arg: 'none', description: 'Merge with previous command line' },
      { long: 'replace', arg: 'strings', argName: 'NAME=VALUE', description: 'Set kernel argument, like root=/dev/sda1; this overrides any earlier argument with the same name' },
      { long: 'append', arg: 'strings', argName: 'NAME=VALUE', description: 'Append kernel argument; useful with e.g. console= that can be used multiple times' },
    ],
  },
  async run(args: ParsedArgs, ctx: Ctx): Promise<number> {
    // ostree runs this one without the sysroot lock (OSTREE_ADMIN_BUILTIN_FLAG_UNLOCKED).
    return withSysroot(args, ctx, { superuser: true, unlocked: true }, async (sysroot) => {
      const first = sysroot.deployments[0];
      if (!first) throw new OstreeError('OSTREE_NOT_FOUND', 'Unable to find a deployment in sysroot');
      const { instutilSetKargs } = await import('../../../sysroot/instutil');
      const { setDeploymentKargs } = await import('../../../sysroot/write-deployments');
      const procCmdline = args.opts['import-proc-cmdline'] ? await fsp.readFile('/proc/cmdline', 'utf8') : undefined;
      const kargs = instutilSetKargs(first.bootconfig.get('options') ?? '', {
        procCmdline,
        merge: !!args.opts.merge,
        replace: strs(args.opts.replace),
        append: strs(args.opts.append),
        args: args.positional,
      });
      await setDeploymentKargs(sysroot, first, kargs.toArgv());
    });
  },
};

const grub2Generate: Builtin = {
  spec: { name: 'admin instutil grub2-generate', params: '[BOOTVERSION]', summary: 'Generate GRUB2 configuration from given BLS entries', options: ADMIN_OPTIONS },
  async run(args: ParsedArgs, ctx: Ctx): Promise<number> {
    return withSysroot(args, ctx, { superuser: true, unlocked: true }, async (sysroot) => {
      let bootversion: number;
      if (args.positional.length >= 1) {
        bootversion = strtoull(args.positional[0]);
        if (bootversion !== 0 && bootversion !== 1) throw new OstreeError('OSTREE_INVALID_ARGUMENT', `Invalid bootversion: ${bootversion}`);
      } else {
        const env = process.env._OSTREE_GRUB2_BOOTVERSION;
        bootversion = env !== undefined ? strtoull(env) : sysroot.bootversion;
        if (bootversion !== 0 && bootversion !== 1) throw new OstreeError('OSTREE_INVALID_ARGUMENT', `Invalid bootversion: ${bootversion}`);
      }
      // ostree asserts these (it is meant to be called from the 15_ostree grub.d hook).
      const bootDeviceId = process.env.GRUB2_BOOT_DEVICE_ID;
      const prepareRootCache = process.env.GRUB2_PREPARE_ROOT_CACHE;
      if (bootDeviceId === undefined || prepareRootCache === undefined) {
        throw new OstreeError('OSTREE_INVALID_ARGUMENT', 'GRUB2_BOOT_DEVICE_ID and GRUB2_PREPARE_ROOT_CACHE must be set (run from the grub.d hook)');
      }
      const { generateGrub2Config } = await import('../../../sysroot/bootloader/grub2');
      const entries = (await sysroot.readBootLoaderConfigs(bootversion)).map((bc) => ({
        title: bc.get('title'),
        options: bc.get('options'),
        linux: bc.get('linux'),
        initrd: bc.get('initrd'),
        devicetree: bc.get('devicetree'),
      }));
      ctx.out(generateGrub2Config(entries, { bootDeviceId, prepareRootCache, isEfi: process.env._OSTREE_GRUB2_IS_EFI !== undefined }));
    });
  },
};

/** g_ascii_strtoull(s, NULL, 10): leading digits, else 0 (too large saturates). */
function strtoull(s: string): number {
  const m = /^\s*\+?(\d+)/.exec(s);
  return m ? Number(m[1]) : 0;
}

export function subcommand(argv: string[], out: (s: string) => void, err: (s: string) => void): { builtin: Builtin; argv: string[] } | number {
  const { formatHelp } = require('../../options') as typeof import('../../options');
  let idx = -1;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--') break;
    if (!argv[i].startsWith('-')) {
      idx = i;
      break;
    }
  }
  const builtin = idx < 0 ? undefined : { 'set-kargs': setKargs, 'grub2-generate': grub2Generate }[argv[idx]];
  if (!builtin) {
    if (idx < 0 && (argv.includes('--help') || argv.includes('-h'))) {
      out(formatHelp(spec));
      return 0;
    }
    err(formatHelp(spec));
    err(idx < 0 ? 'error: No "admin instutil" subcommand specified\n' : `error: Unknown "admin instutil" subcommand '${argv[idx]}'\n`);
    return 1;
  }
  return { builtin, argv: [...argv.slice(0, idx), ...argv.slice(idx + 1)] };
}

export async function run(): Promise<number> {
  throw new UsageError('No "admin instutil" subcommand specified');
}
