// ostree admin deploy REFSPEC (ot-admin-builtin-deploy.c).
import { promises as fsp } from 'node:fs';
import type { CommandSpec, ParsedArgs } from '../../options';
import { UsageError, str, strs } from '../../options';
import type { Ctx } from '../../context';
import { ADMIN_OPTIONS, withSysroot } from './common';

export const spec: CommandSpec = {
  name: 'admin deploy',
  params: 'REFSPEC',
  summary: 'Checkout revision REFSPEC as the new default deployment',
  options: [
    ...ADMIN_OPTIONS,
    { long: 'os', arg: 'string', argName: 'OSNAME', description: 'Use a different operating system root than the current one' },
    { long: 'origin-file', arg: 'filename', argName: 'FILENAME', description: 'Specify origin file' },
    { long: 'no-prune', arg: 'none', description: "Don't prune the repo when done" },
    { long: 'no-merge', arg: 'none', description: 'Do not apply configuration (/etc and kernel arguments) from booted deployment' },
    { long: 'retain', arg: 'none', description: 'Do not delete previous deployments' },
    { long: 'stage', arg: 'none', description: 'Complete deployment at OS shutdown' },
    { long: 'lock-finalization', arg: 'none', description: 'Prevent automatic deployment finalization on shutdown', hidden: true },
    { long: 'retain-pending', arg: 'none', description: 'Do not delete pending deployments' },
    { long: 'retain-rollback', arg: 'none', description: 'Do not delete rollback deployments' },
    { long: 'not-as-default', arg: 'none', description: 'Append rather than prepend new deployment' },
    { long: 'karg-proc-cmdline', arg: 'none', description: 'Import current /proc/cmdline' },
    { long: 'karg', arg: 'strings', argName: 'NAME=VALUE', description: 'Set kernel argument, like root=/dev/sda1; this overrides any earlier argument with the same name' },
    { long: 'karg-append', arg: 'strings', argName: 'NAME=VALUE', description: 'Append kernel argument; useful with e.g. console= that can be used multiple times' },
    { long: 'karg-none', arg: 'none', description: 'Do not import kernel arguments' },
    { long: 'karg-delete', arg: 'string', argName: 'NAME=VALUE', description: 'Delete kernel argument if exists' },
    { long: 'overlay-initrd', arg: 'strings', argName: 'FILE', description: 'Overlay iniramfs file' },
  ],
};

export async function run(args: ParsedArgs, ctx: Ctx): Promise<number> {
  return withSysroot(args, ctx, { superuser: true }, async (sysroot) => {
    if (args.positional.length < 1) throw new UsageError('REF/REV must be specified', true);
    const o = args.opts;
    if (o['karg-proc-cmdline'] && o['karg-none']) throw new UsageError("Can't specify both --karg-proc-cmdline and --karg-none", true);
    if (o['karg-none'] && o['karg-delete']) throw new UsageError("Can't specify both --karg-none and --karg-delete", true);
    if (o['no-merge'] && o['karg-delete']) throw new UsageError("Can't specify both --no-merge and --karg-delete", true);
    const { KeyFile } = await import('../../../repo/keyfile');
    const { deploy } = await import('../../../sysroot/deploy');
    const originFile = str(o['origin-file']);
    const origin = originFile ? KeyFile.parse(await fsp.readFile(originFile, 'utf8')) : undefined;
    await deploy(sysroot, args.positional[0], {
      osname: str(o.os),
      origin,
      noMerge: !!o['no-merge'],
      retain: !!o.retain,
      retainPending: !!o['retain-pending'],
      retainRollback: !!o['retain-rollback'],
      notAsDefault: !!o['not-as-default'],
      noPrune: !!o['no-prune'],
      karg: strs(o.karg),
      kargAppend: strs(o['karg-append']),
      kargDelete: str(o['karg-delete']),
      kargNone: !!o['karg-none'],
      kargProcCmdline: !!o['karg-proc-cmdline'],
      stage: !!o.stage,
      overlayInitrds: strs(o['overlay-initrd']),
    });
  });
}
