// ostree show (ot-builtin-show.c): a commit (or other metadata object),
// one of its metadata values, its related commits or its size metadata.
import type { CommandSpec, ParsedArgs } from '../options';
import type { Ctx } from '../context';
import { usageError } from '../output';
import { JSON_OPTION } from '../json';
import { lookup } from '../../gvariant/codec';

export const spec: CommandSpec = {
  name: 'show',
  params: 'OBJECT',
  summary: 'Output a metadata object',
  repo: true,
  options: [
    { long: 'print-related', arg: 'none', description: 'Show the "related" commits' },
    {
      long: 'print-variant-type',
      arg: 'string',
      argName: 'TYPE',
      description: 'Memory map OBJECT (in this case a filename) to the GVariant type string',
    },
    { long: 'print-metadata-key', arg: 'string', argName: 'KEY', description: 'Print string value of metadata key' },
    { long: 'print-detached-metadata-key', arg: 'string', argName: 'KEY', description: 'Print string value of detached metadata key' },
    { long: 'print-sizes', arg: 'none', description: 'Show the commit size metadata' },
    { long: 'raw', arg: 'none', description: 'Show raw variant data' },
    { long: 'no-byteswap', short: 'B', arg: 'none', description: 'Do not automatically convert variant data from big endian' },
    { long: 'gpg-homedir', arg: 'filename', argName: 'HOMEDIR', description: 'GPG Homedir to use when looking for keyrings' },
    { long: 'gpg-verify-remote', arg: 'string', argName: 'REMOTE', description: 'Use REMOTE name for GPG configuration' },
    JSON_OPTION,
  ],
};

export async function run(args: ParsedArgs, ctx: Ctx): Promise<number> {
  const repo = await ctx.openRepo();
  if (args.positional.length === 0) throw usageError(ctx, spec, 'An object argument is required');
  const rev = args.positional[0];
  const o = args.opts;
  const [{ resolveRev }, dump, formats] = await Promise.all([
    import('../../refs/refs'),
    import('../../read/dump'),
    import('../../objects/formats'),
  ]);
  const { ObjectType } = formats;
  const noByteswap = !!o['no-byteswap'];
  const json = o.json ? await import('../json') : null;

  const metaKey = (o['print-detached-metadata-key'] ?? o['print-metadata-key']) as string | undefined;
  if (metaKey !== undefined) {
    const detached = o['print-detached-metadata-key'] !== undefined;
    const csum = (await resolveRev(repo, rev)) as string;
    let metadata;
    if (detached) {
      metadata = await repo.readDetachedMetadata(csum);
      if (!metadata) throw new Error(`No detached metadata for commit ${csum}`);
    } else {
      metadata = (await repo.readCommit(csum)).metadata;
    }
    const hit = metadata.find(([k]) => k === metaKey);
    if (!hit) throw new Error(`No such metadata key '${metaKey}'`);
    const v = hit[1];
    if (json) {
      json.printJson(ctx, { key: metaKey, type: v.type, value: json.variantToJson(v.type, v.value) });
    } else if (noByteswap) {
      const { printVariant } = await import('../../gvariant/text');
      ctx.out(printVariant(v.type, v.value, true) + '\n');
    } else {
      ctx.out(dump.dumpVariant(v.type, v.value));
    }
    return 0;
  }

  if (o['print-related']) {
    const csum = (await resolveRev(repo, rev)) as string;
    const c = await repo.readCommit(csum);
    if (json) json.printJson(ctx, { related: c.related.map(([name, checksum]) => ({ name, checksum })) });
    else ctx.out(c.related.map(([name, cs]) => `${name} ${cs}\n`).join(''));
    return 0;
  }

  if (o['print-variant-type'] !== undefined) {
    const type = o['print-variant-type'] as string;
    const [{ promises: fsp }, { deserialize }] = await Promise.all([import('node:fs'), import('../../gvariant/codec')]);
    const data = await fsp.readFile(rev);
    if (json) json.printJson(ctx, { type, value: json.variantToJson(type, deserialize(type, data)) });
    else ctx.out(dump.dumpVariant(type, deserialize(type, data)));
    return 0;
  }

  if (o['print-sizes']) {
    const csum = (await resolveRev(repo, rev)) as string;
    let c;
    try {
      c = await repo.readCommit(csum);
    } catch (err) {
      throw new Error(`Failed to read commit: ${(err as Error).message}`, { cause: err });
    }
    const { commitObjectSizes } = await import('../../read/commit-sizes');
    let archived = 0n, unpacked = 0n, newArchived = 0n, newUnpacked = 0n, objects = 0, newObjects = 0;
    for (const e of commitObjectSizes(c)) {
      archived += e.archived;
      unpacked += e.unpacked;
      objects++;
      if (!(await repo.hasObject(e.type, e.checksum))) {
        newArchived += e.archived;
        newUnpacked += e.unpacked;
        newObjects++;
      }
    }
    if (json) {
      const n = (v: bigint) => Number(v);
      json.printJson(ctx, {
        compressed: { needed: n(newArchived), total: n(archived) },
        unpacked: { needed: n(newUnpacked), total: n(unpacked) },
        objects: { needed: newObjects, total: objects },
      });
      return 0;
    }
    const fs = dump.formatSize;
    ctx.out(
      `Compressed size (needed/total): ${fs(newArchived)}/${fs(archived)}\n` +
        `Unpacked size (needed/total): ${fs(newUnpacked)}/${fs(unpacked)}\n` +
        `Number of objects (needed/total): ${newObjects}/${objects}\n`,
    );
    return 0;
  }

  const dumpOpts = { raw: !!o.raw, noByteswap };
  const printObject = async (type: (typeof ObjectType)[keyof typeof ObjectType], csum: string) => {
    const data = (await repo.loadMetadata(type, csum)) as Buffer;
    if (json) {
      if (type === ObjectType.Commit) {
        const c = formats.parseCommit(data);
        const detached = await repo.readDetachedMetadata(csum);
        json.printJson(ctx, { ...json.commitToJson(csum, c, formats.commitContentChecksum(c)), detachedMetadata: detached ? json.metadataToJson(detached) : null });
      } else if (type === ObjectType.DirTree) json.printJson(ctx, json.dirTreeToJson(csum, formats.parseDirTree(data)));
      else json.printJson(ctx, json.dirMetaToJson(csum, formats.parseDirMeta(data)));
      return;
    }
    ctx.out(dump.dumpMetadataObject(type, csum, data, dumpOpts));
    if (type === ObjectType.Commit) await printGpgSignatures(repo, csum, data, o, ctx);
  };
  if (!formats.isValidChecksum(rev)) {
    await printObject(ObjectType.Commit, (await resolveRev(repo, rev)) as string);
    return 0;
  }
  for (const t of [ObjectType.Commit, ObjectType.DirMeta, ObjectType.DirTree]) {
    if (await repo.hasObject(t, rev)) {
      await printObject(t, rev);
      return 0;
    }
  }
  const { loadContentObject } = await import('../../read/repo-file');
  const obj = await loadContentObject(repo, rev);
  if (json) {
    json.printJson(ctx, json.fileToJson(rev, obj.header, obj.size));
    return 0;
  }
  ctx.out(dump.formatFileObject(rev, obj.header, obj.size));
  return 0;
}

/** ostree show's signature block for signed commits ("Found N signature(s):"). */
async function printGpgSignatures(repo: import('../../repo/repo').Repo, csum: string, data: Buffer, o: ParsedArgs['opts'], ctx: Ctx): Promise<void> {
  const remote = o['gpg-verify-remote'] as string | undefined;
  const homedir = o['gpg-homedir'] as string | undefined;
  const detached = await repo.readDetachedMetadata(csum);
  if (remote !== undefined) await (await import('../../remotes/remotes')).getRemote(repo, remote);
  // Most commits carry no signature: the OpenPGP modules (key stores, child_process, openpgp) load only for one that does.
  const sigs = detached && lookup(detached, 'ostree.gpgsigs');
  if (!sigs || sigs.type !== 'aay' || (sigs.value as Buffer[]).length === 0) return;
  const v = await import('../../gpg/verify');
  const res = remote !== undefined ? await v.inspectCommitGpg(repo, remote, data, detached) : await v.verifyWithKeys(data, detached, await v.keysForHomedir(homedir, repo));
  ctx.out(v.describeResult(res));
}
