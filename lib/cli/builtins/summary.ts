// ostree summary (ot-builtin-summary.c): -u regenerates REPO/summary
// (optionally signing summary.sig), --view / --raw print it.
import type { CommandSpec, ParsedArgs } from '../options';
import { str, strs } from '../options';
import type { Ctx } from '../context';
import { JSON_OPTION } from '../json';

export const spec: CommandSpec = {
  name: 'summary',
  params: '',
  summary: 'Manage summary metadata',
  repo: true,
  options: [
    { long: 'update', short: 'u', arg: 'none', description: 'Update the summary' },
    { long: 'view', short: 'v', arg: 'none', description: 'View the local summary file' },
    { long: 'raw', arg: 'none', description: 'View the raw bytes of the summary file' },
    { long: 'gpg-sign', arg: 'strings', argName: 'KEY-ID', description: 'GPG Key ID to sign the summary with' },
    { long: 'gpg-homedir', arg: 'filename', argName: 'HOMEDIR', description: 'GPG Homedir to use when looking for keyrings' },
    { long: 'sign', arg: 'strings', argName: 'KEY-ID', description: 'Key ID to sign the summary with' },
    { long: 'sign-type', arg: 'string', argName: 'NAME', description: "Signature type to use (defaults to 'ed25519')" },
    { long: 'add-metadata', short: 'm', arg: 'strings', argName: 'KEY=VALUE', description: 'Additional metadata field to add to the summary' },
    JSON_OPTION,
  ],
};

export async function run(args: ParsedArgs, ctx: Ctx): Promise<number> {
  const repo = await ctx.openRepo();
  const o = args.opts;
  const signKeys = strs(o.sign);
  const sign = signKeys.length ? { type: str(o['sign-type']) ?? 'ed25519', keys: signKeys } : undefined;
  if (sign) (await import('../../sign/engine')).signEngine(sign.type);
  if (o.update) {
    if (!(await repo.isWritable())) throw new Error('Repository is read-only');
    const addMetadata: Array<[string, { type: string; value: unknown }]> = [];
    const meta = strs(o['add-metadata']);
    if (meta.length) {
      const { parseVariant } = await import('../../gvariant/text');
      for (const kv of meta) {
        const eq = kv.indexOf('=');
        if (eq < 0) throw new Error(`Missing '=' in KEY=VALUE metadata '${kv}'`);
        const text = kv.slice(eq + 1);
        let v;
        try {
          v = parseVariant(text);
        } catch (e) {
          throw new Error(`Error parsing variant ‘${text}’: ${(e as Error).message}`, { cause: e });
        }
        addMetadata.push([kv.slice(0, eq), { type: v.type, value: v.value }]);
      }
    }
    const { generateSummary } = await import('../../summary');
    await generateSummary(repo, {
      addMetadata,
      gpgSign: strs(o['gpg-sign']),
      gpgHomedir: str(o['gpg-homedir']),
      sign,
    });
    return 0;
  }
  if (o.view || o.raw) {
    const fsp = await import('fs/promises');
    const path = await import('path');
    let bytes: Buffer;
    try {
      bytes = await fsp.readFile(path.join(repo.path, 'summary'));
    } catch (e) {
      throw new Error(`openat(summary): No such file or directory`, { cause: e });
    }
    if (o.json && !o.raw) {
      ctx.out(await summaryJson(bytes));
      return 0;
    }
    const { formatSummary } = await import('../../summary');
    ctx.out(await formatSummary(bytes, { raw: !!o.raw }));
    return 0;
  }
  throw new Error('No option specified; use -u to update summary');
}

/**
 * --view --json: `{ collectionId, refs: [...], metadata: {...} }`; refs of
 * the main collection then of each collection in the collection map, as
 * `{ name, collectionId, checksum, size, timestamp, date, version, metadata }`.
 */
export async function summaryJson(bytes: Buffer): Promise<string> {
  const { parseSummary, summaryCollectionMap } = await import('../../summary');
  const json = await import('../json');
  const s = parseSummary(bytes);
  const cidV = s.metadata.find(([k]) => k === 'ostree.summary.collection-id')?.[1];
  const cid = cidV && cidV.type === 's' ? (cidV.value as string) : null;
  const refs = s.refs.map((r) => json.summaryRefToJson(r, cid));
  for (const [c, rs] of summaryCollectionMap(s)) refs.push(...rs.map((r) => json.summaryRefToJson(r, c)));
  return JSON.stringify({ collectionId: cid, refs, metadata: json.summaryMetadataToJson(s.metadata) }, null, 2) + '\n';
}
