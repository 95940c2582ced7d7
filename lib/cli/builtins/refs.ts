// ostree refs (ot-builtin-refs.c): listings come out in GHashTable order, as ostree prints them.
import type { CommandSpec, ParsedArgs } from '../options';
import { UsageError, str } from '../options';
import type { Ctx } from '../context';
import { OstreeError } from '../../errors';
import { JSON_OPTION } from '../json';

export const spec: CommandSpec = {
  name: 'refs',
  params: '[PREFIX]',
  summary: 'List refs',
  repo: true,
  options: [
    { long: 'delete', arg: 'none', description: 'Delete refs which match PREFIX, rather than listing them' },
    { long: 'list', arg: 'none', description: 'Do not remove the prefix from the refs' },
    { long: 'alias', short: 'A', arg: 'none', description: 'If used with --create, create an alias, otherwise just list aliases' },
    { long: 'create', arg: 'string', argName: 'NEWREF', description: 'Create a new ref for an existing commit' },
    { long: 'collections', short: 'c', arg: 'none', description: 'Enable listing collection IDs for refs' },
    { long: 'force', arg: 'none', description: 'Overwrite existing refs when creating' },
    JSON_OPTION,
  ],
};

export async function run(args: ParsedArgs, ctx: Ctx): Promise<number> {
  const repo = await ctx.openRepo();
  const refs = await import('../../refs/refs');
  const { ghashOrder } = await import('../../ghash');
  const create = str(args.opts.create);
  const del = !!args.opts.delete;
  const alias = !!args.opts.alias;
  if (create && args.positional.length > 1) throw new UsageError('You must specify only 1 existing ref when creating a new ref');
  if (args.positional.length === 0) {
    if (del) throw new UsageError('At least one PREFIX is required when deleting refs');
    if (create) throw new UsageError('You must specify a revision when creating a new ref');
  }
  if (args.opts.json) return listJson(repo, args, ctx);
  if (args.opts.collections) {
    for (const prefix of args.positional.length ? args.positional : [null]) await refsWithCollections(repo, prefix, { create, del, force: !!args.opts.force }, ctx);
    return 0;
  }
  const prefixes = args.positional.length ? args.positional : [null];
  for (const prefix of prefixes) {
    if (create) {
      // As ostree_repo_resolve_rev_ext: no fallback to remote refs of the same name.
      const existing = await refs.resolveRev(repo, create, { allowNoent: true, fallbackRemote: false });
      const aliasMap = new Map(await refs.listRefsRaw(repo, { aliases: true }));
      const replacingAlias = alias && aliasMap.has(create);
      if (!replacingAlias && existing && !args.opts.force) {
        throw new OstreeError('OSTREE_EXISTS', `--create specified but ref ${create} already exists`);
      }
      const target = refs.parseRefspec(create);
      if (alias) {
        if (target.remote) throw new OstreeError('OSTREE_INVALID_REF', `Cannot create alias to remote ref: ${target.remote}`);
        const all = new Map(await refs.listRefsRaw(repo, {}));
        if (!all.has(prefix as string)) throw new OstreeError('OSTREE_REF_NOT_FOUND', `Cannot create alias to non-existent ref: ${prefix}`);
        await refs.setRefAlias(repo, create, prefix as string);
        await (await import('../../summary')).maybeRegenerateSummary(repo);
      } else {
        const csum = (await refs.resolveRev(repo, prefix as string)) as string;
        // In a transaction of its own: locked, and the summary follows (core.auto-update-summary).
        await (await import('../../refs/set-ref')).setRef(repo, create, csum);
      }
      continue;
    }
    const list = await refs.listRefsRaw(repo, { prefix, cutPrefix: !(del || args.opts.list || alias), aliases: alias && !del });
    if (del) {
      // A ref an alias points at stays (ostree checks the ref name, whatever the remote).
      const aliasTargets = await refs.listRefsRaw(repo, { aliases: true });
      for (const [name] of list) {
        const { ref } = refs.parseRefspec(name);
        const a = aliasTargets.find(([, target]) => target === ref);
        if (a) throw new OstreeError('OSTREE_INVALID_REF', `Ref '${ref}' has an active alias: '${a[0]}'`);
      }
      if (list.length) {
        const { withTransaction } = await import('../../repo/transaction');
        await withTransaction(repo, async (tx) => {
          for (const [name] of list) tx.setRef(name, null);
        });
      }
      continue;
    }
    const values = new Map(list);
    for (const name of ghashOrder(list.map(([n]) => n))) {
      ctx.out(alias ? `${name} -> ${values.get(name)}\n` : `${name}\n`);
    }
  }
  return 0;
}

/**
 * --json: `{ "refs": [{ name, checksum, alias, collectionId? }] }`, sorted by
 * name; names are full (`remote:ref`), whatever the prefix; `alias` is the
 * target ref of an alias, else null; with --alias only aliases are listed;
 * with -c every entry has its collectionId (null when the repo has none)
 * and mirrored refs are included.
 */
async function listJson(repo: import('../../repo/repo').Repo, args: ParsedArgs, ctx: Ctx): Promise<number> {
  const { jsonConflicts, printJson } = await import('../json');
  jsonConflicts(args.opts, ['delete', 'create']);
  const refs = await import('../../refs/refs');
  type Entry = { name: string; checksum: string; alias: string | null; collectionId?: string | null };
  const byName = new Map<string, Entry>();
  const aliases = new Map(await refs.listRefsRaw(repo, { aliases: true }));
  const collections = !!args.opts.collections;
  for (const prefix of args.positional.length ? args.positional : [null]) {
    for (const [name, checksum] of await refs.listRefsRaw(repo, { prefix, cutPrefix: false })) {
      const alias = aliases.get(name) ?? null;
      if (args.opts.alias && alias === null) continue;
      const e: Entry = { name, checksum, alias };
      if (collections) {
        if (name.includes(':')) continue; // as `refs -c`: local refs and mirrors only
        e.collectionId = repo.collectionId ?? null;
      }
      byName.set(name, e);
    }
  }
  const list = [...byName.values()];
  if (collections && !args.opts.alias) {
    for (const m of await refs.listMirrorRefs(repo)) list.push({ name: m.ref, checksum: m.checksum, alias: null, collectionId: m.collectionId });
  }
  list.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : (a.collectionId ?? '') < (b.collectionId ?? '') ? -1 : 1));
  printJson(ctx, { refs: list });
  return 0;
}

/**
 * `refs --collections` (do_ref_with_collections): PREFIX is a collection ID;
 * lists `(collection, ref)` in GHashTable order, deletes every ref of the
 * collection with --delete, or with --create=COLLECTION:REF makes a
 * collection ref (refs/mirrors/, or refs/heads/ for the repo's own).
 */
async function refsWithCollections(
  repo: import('../../repo/repo').Repo,
  prefix: string | null,
  o: { create?: string; del: boolean; force: boolean },
  ctx: Ctx,
): Promise<void> {
  const { create, del } = o;
  const cr = await import('../../refs/collection-refs');
  const refs = await import('../../refs/refs');
  const list = await cr.listCollectionRefs(repo, { collectionId: create ? null : prefix });
  if (create) {
    const existing = await refs.resolveRev(repo, create, { allowNoent: true });
    if (existing && !o.force) throw new OstreeError('OSTREE_EXISTS', `--create specified but ref ${create} already exists`);
    const csum = (await refs.resolveRev(repo, prefix as string)) as string;
    // An abuse of the refspec syntax, as ostree's: COLLECTION-ID:REF.
    const colon = create.indexOf(':');
    const cref = { collectionId: colon >= 0 ? create.slice(0, colon) : create, ref: colon >= 0 ? create.slice(colon + 1) : '' };
    await (await import('../../refs/set-ref')).setCollectionRef(repo, cref, csum);
    return;
  }
  if (del) {
    if (list.length === 0) return;
    const { withTransaction } = await import('../../repo/transaction');
    await withTransaction(repo, async (tx) => {
      for (const e of list) tx.setCollectionRef(e, null);
    });
    return;
  }
  for (const e of cr.collectionRefHashOrder(list)) ctx.out(`(${e.collectionId}, ${e.ref})\n`);
}
