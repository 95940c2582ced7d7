// Delta indexes (FORMATS.md §4.6): delta-indexes/XX/REST.index per target
// commit, listing the deltas that end there with their superblock digests.
// `static-delta indexes` lists them, `static-delta reindex` (and summary -u)
// rewrites them as ostree_repo_static_delta_reindex does.
import { promises as fsp } from 'node:fs';
import * as crypto from 'node:crypto';
import * as path from 'node:path';
import type { Repo } from '../repo/repo';
import { writeFileAtomic } from '../repo/repo';
import { serialize, type Variant } from '../gvariant/codec';
import { OstreeError, isErrno } from '../errors';
import { isValidChecksum } from '../objects/formats';
import { ghashOrder } from '../ghash';
import { listStaticDeltaNames } from '../summary';
import { checksumFromB64, deltaIndexRelPath, deltaRelDir, parseDeltaName } from './superblock';

/** Entries of a directory in readdir order (fs.readdir sorts; ostree does not). */
async function readdirRaw(dir: string): Promise<Array<{ name: string; isDir: boolean; isFile: boolean }>> {
  const out: Array<{ name: string; isDir: boolean; isFile: boolean }> = [];
  const d = await fsp.opendir(dir);
  for await (const e of d) out.push({ name: e.name, isDir: e.isDirectory(), isFile: e.isFile() });
  return out;
}

/** Target commits that have an index file, in readdir order. */
export async function listDeltaIndexes(repo: Repo): Promise<string[]> {
  const root = path.join(repo.path, 'delta-indexes');
  let tops;
  try {
    tops = await readdirRaw(root);
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return [];
    throw err;
  }
  const out: string[] = [];
  for (const t of tops) {
    if (!t.isDir || t.name.length !== 2) continue;
    for (const f of await readdirRaw(path.join(root, t.name))) {
      if (!f.isFile || f.name.length !== 41 + '.index'.length || !f.name.endsWith('.index')) continue;
      try {
        out.push(checksumFromB64(t.name + f.name.slice(0, 41)));
      } catch {
        // ostree decodes whatever is there; a name that is not base64 is not an index of ours.
      }
    }
  }
  return out;
}

/** The bytes of the index file for `to` listing `froms` (null = from scratch). */
export async function buildDeltaIndex(repo: Repo, to: string, froms: Array<string | null>): Promise<Buffer> {
  const values = new Map<string, Variant>();
  // ostree sorts the sources (g_strcmp0: from-scratch first, then byte order) before filling the GVariantDict, so the
  // hash table's order, which depends on insertion order when keys collide, is reproducible.
  const sorted = [...froms].sort((a, b) => (a === b ? 0 : a === null ? -1 : b === null ? 1 : a < b ? -1 : 1));
  for (const from of sorted) {
    const sb = await fsp.readFile(path.join(repo.path, deltaRelDir(from, to), 'superblock'));
    values.set(from ? `${from}-${to}` : to, { type: 'ay', value: crypto.createHash('sha256').update(sb).digest() });
  }
  const deltas = ghashOrder([...values.keys()]).map((k): [string, Variant] => [k, values.get(k) as Variant]);
  return serialize('a{sv}', [['ostree.static-deltas', { type: 'a{sv}', value: deltas }]]);
}

/**
 * `ostree static-delta reindex`: rewrite delta-indexes/ from the deltas
 * present (only the index of `to` when given): set core.indexed-deltas=true,
 * write changed index files, remove those whose target has no delta left.
 *
 * @example
 * import { reindexDeltas } from 'node-ostree';
 * await reindexDeltas(repo);
 */
export async function reindexDeltas(repo: Repo, opts: { to?: string } = {}): Promise<void> {
  const hold = await repo.lock('shared');
  try {
    if (!repo.config.getBoolean('core', 'indexed-deltas', false)) {
      await repo.reloadConfig();
      repo.config.set('core', 'indexed-deltas', 'true');
      await repo.writeConfig();
    }
    const byTo = new Map<string, Array<string | null> | null>();
    if (opts.to === undefined) {
      for (const t of await listDeltaIndexes(repo)) byTo.set(t, null);
    } else {
      if (!isValidChecksum(opts.to)) throw new OstreeError('OSTREE_INVALID_CHECKSUM', `Invalid rev ${opts.to}`);
      byTo.set(opts.to, null);
    }
    for (const name of await listStaticDeltaNames(repo)) {
      const { from, to } = parseDeltaName(name);
      if (opts.to !== undefined && to !== opts.to) continue;
      const froms = byTo.get(to) ?? [];
      froms.push(from);
      byTo.set(to, froms);
    }
    for (const [to, froms] of byTo) {
      const file = path.join(repo.path, deltaIndexRelPath(to));
      if (froms === null) {
        await fsp.rm(file, { force: true });
        continue;
      }
      const bytes = await buildDeltaIndex(repo, to, froms);
      const old = await fsp.readFile(file).catch(() => null);
      if (old && old.equals(bytes)) continue;
      await fsp.mkdir(path.dirname(file), { recursive: true, mode: 0o775 });
      await writeFileAtomic(file, bytes, { mode: 0o644, fsync: repo.fsyncEnabled });
    }
  } finally {
    await hold.release();
  }
}
