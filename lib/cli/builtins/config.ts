// ostree config (ot-builtin-config.c): get/set/unset SECTION.KEY in the repo config.
import type { CommandSpec, ParsedArgs } from '../options';
import { UsageError, str } from '../options';
import type { Ctx } from '../context';
import { OstreeError } from '../../errors';

export const spec: CommandSpec = {
  name: 'config',
  params: '(get KEY|set KEY VALUE|unset KEY)',
  summary: 'Change repo configuration settings',
  repo: true,
  options: [{ long: 'group', arg: 'string', description: 'Group name' }],
};

function splitKey(key: string): [string, string] {
  const dot = key.lastIndexOf('.');
  if (dot < 0) throw new OstreeError('OSTREE_INVALID_ARGUMENT', `Key "${key}" is not of the form SECTION.KEY`);
  return [key.slice(0, dot), key.slice(dot + 1)];
}

export async function run(args: ParsedArgs, ctx: Ctx): Promise<number> {
  const [op, ...rest] = args.positional;
  if (!op) throw new UsageError('OPERATION must be specified', true);
  // As ostree: `set` takes KEY VALUE, everything else one KEY (checked before the operation is known).
  if (rest.length > (op === 'set' ? 2 : 1)) throw new UsageError('Too many arguments given', true);
  const repo = await ctx.openRepo();
  const group = str(args.opts.group);
  const target = (key: string | undefined): [string, string] => {
    if (group) {
      if (key === undefined) throw new OstreeError('OSTREE_INVALID_ARGUMENT', 'Group name and key must be specified');
      return [group, key];
    }
    if (key === undefined) throw new OstreeError('OSTREE_INVALID_ARGUMENT', 'KEY must be specified');
    return splitKey(key);
  };
  const kf = repo.config;
  switch (op) {
    case 'get': {
      const [g, k] = target(rest[0]);
      if (!kf.hasGroup(g)) throw new OstreeError('OSTREE_CONFIG', `Key file does not have group “${g}”`);
      const v = kf.get(g, k);
      if (v === undefined) throw new OstreeError('OSTREE_CONFIG', `Key file does not have key “${k}” in group “${g}”`);
      ctx.out(v + '\n');
      return 0;
    }
    case 'set': {
      let g: string;
      let k: string;
      let v: string | undefined;
      if (group) {
        [g, k, v] = [group, rest[0], rest[1]];
        if (k === undefined || v === undefined) throw new OstreeError('OSTREE_INVALID_ARGUMENT', 'GROUP name, KEY and VALUE must be specified');
      } else {
        if (rest[0] === undefined || rest[1] === undefined) throw new OstreeError('OSTREE_INVALID_ARGUMENT', 'KEY and VALUE must be specified');
        [g, k] = splitKey(rest[0]);
        v = rest[1];
      }
      kf.set(g, k, v);
      await repo.writeConfig(kf);
      return 0;
    }
    case 'unset': {
      const [g, k] = target(rest[0]);
      // Like ostree: a missing group or key is not an error.
      if (kf.remove(g, k)) await repo.writeConfig(kf);
      return 0;
    }
    default:
      throw new OstreeError('OSTREE_INVALID_ARGUMENT', `Unknown operation ${op}`);
  }
}
