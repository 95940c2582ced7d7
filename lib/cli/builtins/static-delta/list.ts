// ostree static-delta list (ot-builtin-static-delta.c): one delta name per line.
import type { CommandSpec } from '../../options';
import type { Ctx } from '../../context';

export const spec: CommandSpec = { name: 'static-delta list', params: '', summary: 'List static delta files', repo: true, options: [] };

export async function run(_args: unknown, ctx: Ctx): Promise<number> {
  const repo = await ctx.openRepo();
  const { listDeltas } = await import('../../../deltas/list');
  const names = await listDeltas(repo);
  ctx.out(names.length === 0 ? '(No static deltas)\n' : names.map((n) => `${n}\n`).join(''));
  return 0;
}
