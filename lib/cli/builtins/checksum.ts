// ostree checksum (ot-builtin-checksum.c): the object checksum a file,
// symlink or directory (its dirmeta) would have if committed.
import type { CommandSpec, ParsedArgs } from '../options';
import type { Ctx } from '../context';

export const spec: CommandSpec = {
  name: 'checksum',
  params: 'PATH',
  summary: 'Checksum a file or directory',
  options: [{ long: 'ignore-xattrs', arg: 'none', description: "Don't include xattrs in checksum" }],
};

export async function run(args: ParsedArgs, ctx: Ctx): Promise<number> {
  if (args.positional.length === 0) throw new Error('A filename must be given');
  const { LocalFile, checksumLocal } = await import('../../read/local-file');
  const { describeErrno } = await import('../../errors');
  const p = args.positional[0];
  const ignoreXattrs = !!args.opts['ignore-xattrs'];
  // Without flags ostree goes through GIO (GIO's error text); with them, through fstatat.
  let info;
  try {
    info = await new LocalFile(p).queryInfo();
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause;
    if (ignoreXattrs && cause?.code) throw new Error(`fstatat(${p}): ${describeErrno(cause.code)}`, { cause: err });
    throw err;
  }
  ctx.out((await checksumLocal(p, { info, skipXattrs: ignoreXattrs })) + '\n');
  return 0;
}
