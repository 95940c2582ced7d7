// Reachability: walk commits (and their parents up to a depth), dirtrees and
// dirmetas, collecting object names. Mirrors ostree-repo-traverse.c. Shared by
// fsck (which also wants to know which commits contain an object) and prune.
//
// Dirtrees are read ahead breadth-first in native batches (several in
// parallel), then walked depth-first in the same order as a plain recursive
// walk, so every caller sees the same insertion order into `reachable`.
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { OstreeError } from './errors';
import type { Repo } from './repo/repo';
import { ObjectType, OBJECT_TYPE_NAMES, parseCommit, parseDirTree, Commit, DirTree } from './objects/formats';
import { native } from './binding';
import { mapLimit, chunk } from './repo/transaction';

/** Default number of native jobs in flight for the read-ahead. */
export const DEFAULT_PARALLELISM = 4;
/** Objects per native read job. */
const READ_BATCH = 256;

/** `"<checksum>.<type name>"`, ostree's string form of an object name. */
export function objectKey(checksum: string, type: ObjectType): string {
  return `${checksum}.${OBJECT_TYPE_NAMES[type]}`;
}

/** Split an object key back into checksum and type. */
export function parseObjectKey(key: string): [string, ObjectType] {
  return [key.slice(0, 64), TYPE_BY_NAME.get(key.slice(65)) as ObjectType];
}

const TYPE_BY_NAME = new Map<string, ObjectType>(Object.entries(OBJECT_TYPE_NAMES).map(([k, v]) => [v, Number(k) as ObjectType]));

export interface TraverseOptions {
  /** Parents to follow: 0 = only this commit, -1 = the whole history. */
  maxDepth?: number;
  /** Only commit objects (prune --commit-only). */
  commitOnly?: boolean;
  /**
   * Record containment edges: child key -> keys of the dirtrees/commits that
   * list it. `commitsContaining()` walks them up to the commits.
   */
  containers?: Map<string, Set<string>>;
  /**
   * Called for a dirtree that exists but can't be parsed (fsck reports it
   * later by checksum); without it the parse error propagates.
   */
  onUnreadable?: (key: string, err: unknown) => void;
  /** Commits for which this returns true are left out, and the walk stops there (prune --keep-younger-than). */
  skipCommit?: (checksum: string, commit: Commit) => boolean;
  /** Native read jobs in flight (1 = one at a time). */
  parallelism?: number;
}

/** The repo and its core.parent chain: where metadata is looked up, in order. */
export function repoChain(repo: Repo): Repo[] {
  const out: Repo[] = [];
  for (let r: Repo | null = repo; r; r = r.parent) out.push(r);
  return out;
}

/**
 * Read metadata objects of one type in native batches, `parallelism` jobs in
 * flight; null for objects no repo in the chain has.
 */
export async function readMetadataBatch(
  repo: Repo,
  type: ObjectType,
  checksums: string[],
  opts: { parallelism?: number; sha256?: boolean; localOnly?: boolean; dirtree?: boolean } = {},
): Promise<{ data: Array<Buffer | null>; sha256: string[]; dirtreeValid: Uint8Array }> {
  const repos = opts.localOnly ? [repo.path] : repoChain(repo).map((r) => r.path);
  const ext = OBJECT_TYPE_NAMES[type];
  const data: Array<Buffer | null> = new Array(checksums.length);
  const sums: string[] = opts.sha256 ? new Array(checksums.length) : [];
  const valid = new Uint8Array(opts.dirtree ? checksums.length : 0);
  const batches = chunk(
    checksums.map((_, i) => i),
    READ_BATCH,
  );
  await mapLimit(batches, Math.max(1, opts.parallelism ?? DEFAULT_PARALLELISM), async (idx) => {
    const rels = idx.map((i) => `${checksums[i].slice(0, 2)}/${checksums[i].slice(2)}.${ext}`);
    const r = await native().metadata_read_batch(repos, rels, { sha256: !!opts.sha256, dirtree: !!opts.dirtree });
    idx.forEach((i, j) => {
      data[i] = r.data[j];
      if (opts.dirtree) valid[i] = (r.dirtreeValid as Uint8Array)[j];
      if (opts.sha256) sums[i] = (r.sha256 as string).slice(64 * j, 64 * j + 64);
    });
  });
  return { data, sha256: sums, dirtreeValid: valid };
}

/**
 * repo.listObjects() as an array, in the same order, with the fan-out
 * directories read by native batches (several in flight).
 */
export async function listObjectsFast(repo: Repo, opts: { parallelism?: number; only?: ObjectType } = {}): Promise<Array<[string, ObjectType]>> {
  const objDir = path.join(repo.path, 'objects');
  let prefixes: string[];
  try {
    prefixes = (await fsp.readdir(objDir)).filter((d) => /^[0-9a-f]{2}$/.test(d)).sort();
  } catch {
    return [];
  }
  const byExt = new Map<string, ObjectType>();
  for (const k of Object.keys(OBJECT_TYPE_NAMES)) byExt.set(OBJECT_TYPE_NAMES[Number(k)], Number(k) as ObjectType);
  byExt.set('filez', ObjectType.File);
  const archive = repo.mode === 'archive';
  // With `only`: names of other types are skipped before any parsing.
  const onlySuffix = opts.only === undefined ? null : opts.only === ObjectType.File ? (archive ? '.filez' : '.file') : `.${OBJECT_TYPE_NAMES[opts.only]}`;
  const parts = await mapLimit(chunk(prefixes, 32), Math.max(1, opts.parallelism ?? DEFAULT_PARALLELISM), async (pres) => {
    let dirs;
    try {
      dirs = await native().dirs_scan(
        pres.map((p) => path.join(objDir, p)),
        { xattrs: false, sizes: false },
      );
    } catch {
      // A fan-out directory vanished or is unreadable: one at a time, skipping those.
      dirs = await Promise.all(pres.map((p) => native().dirs_scan([path.join(objDir, p)], { xattrs: false, sizes: false }).then((d) => d[0], () => null)));
    }
    const out: Array<[string, ObjectType]> = [];
    dirs.forEach((d, i) => {
      if (!d) return;
      const pre = pres[i];
      for (const name of d.names) {
        if (onlySuffix && !name.endsWith(onlySuffix)) continue;
        const dot = name.indexOf('.');
        if (dot !== 62) continue;
        const csum = pre + name.slice(0, 62);
        if (!/^[0-9a-f]{64}$/.test(csum)) continue;
        const ext = name.slice(dot + 1);
        const type = byExt.get(ext);
        if (!type) continue;
        if (type === ObjectType.File && (ext === 'filez') !== archive) continue;
        out.push([csum, type]);
      }
    });
    return out;
  });
  return parts.flat();
}

export type Prefetched = DirTree | null | { error: unknown };

/**
 * Read (and parse) every dirtree under `root` that isn't already reachable,
 * level by level. Missing ones map to null; unparseable ones to {error}.
 */
export async function prefetchTrees(
  repo: Repo,
  root: string,
  reachable: Set<string>,
  parallelism: number,
): Promise<Map<string, Prefetched>> {
  const out = new Map<string, Prefetched>();
  let level = reachable.has(objectKey(root, ObjectType.DirTree)) ? [] : [root];
  const queued = new Set(level);
  while (level.length) {
    const { data } = await readMetadataBatch(repo, ObjectType.DirTree, level, { parallelism });
    const next: string[] = [];
    for (let i = 0; i < level.length; i++) {
      const bytes = data[i];
      if (!bytes) {
        out.set(level[i], null);
        continue;
      }
      let tree: DirTree;
      try {
        tree = parseDirTree(bytes);
      } catch (error) {
        out.set(level[i], { error });
        continue;
      }
      out.set(level[i], tree);
      for (const [, sub] of tree.dirs) {
        if (queued.has(sub) || reachable.has(objectKey(sub, ObjectType.DirTree))) continue;
        queued.add(sub);
        next.push(sub);
      }
    }
    level = next;
  }
  return out;
}

/**
 * Add everything reachable from `commit` to `reachable` (ostree_repo_traverse_commit_union).
 * A missing commit ends the walk quietly (history that was never pulled); a
 * missing dirtree is tolerated only in a partial commit.
 */
export async function traverseCommit(repo: Repo, commit: string, reachable: Set<string>, opts: TraverseOptions = {}): Promise<void> {
  let depth = opts.maxDepth ?? -1;
  let csum: string | null = commit;
  while (csum) {
    const ckey = objectKey(csum, ObjectType.Commit);
    const bytes = await repo.loadMetadata(ObjectType.Commit, csum, { allowNoent: true });
    if (!bytes) break;
    const c = parseCommit(bytes);
    if (opts.skipCommit?.(csum, c)) break;
    reachable.add(ckey);
    if (!opts.commitOnly) {
      const partial = await repo.isCommitPartial(csum);
      const metaKey = objectKey(c.rootMeta, ObjectType.DirMeta);
      addEdge(opts.containers, metaKey, ckey);
      reachable.add(metaKey);
      await traverseDirTree(repo, c.rootTree, ckey, reachable, partial, opts);
    }
    if (depth === 0 || !c.parent) break;
    if (depth > 0) depth--;
    csum = c.parent;
  }
}

function addEdge(containers: Map<string, Set<string>> | undefined, child: string, parent: string): void {
  if (!containers) return;
  let s = containers.get(child);
  if (!s) containers.set(child, (s = new Set()));
  s.add(parent);
}

async function traverseDirTree(
  repo: Repo,
  csum: string,
  parentKey: string,
  reachable: Set<string>,
  ignoreMissing: boolean,
  opts: TraverseOptions,
): Promise<void> {
  const trees = await prefetchTrees(repo, csum, reachable, Math.max(1, Math.floor(opts.parallelism ?? DEFAULT_PARALLELISM)));
  // Iterative DFS; a dirtree already reached was fully walked before.
  const stack: Array<[string, string]> = [[csum, parentKey]];
  while (stack.length) {
    const [dt, from] = stack.pop() as [string, string];
    const key = objectKey(dt, ObjectType.DirTree);
    addEdge(opts.containers, key, from);
    if (reachable.has(key)) continue;
    const got = trees.get(dt);
    trees.delete(dt);
    if (!got) {
      if (ignoreMissing) continue;
      throw new OstreeError('OSTREE_OBJECT_NOT_FOUND', `No such metadata object ${key}`, {
        data: { checksum: dt, type: 'dirtree' },
      });
    }
    reachable.add(key);
    if ('error' in got) {
      if (!opts.onUnreadable) throw got.error;
      opts.onUnreadable(key, got.error);
      continue;
    }
    const tree = got;
    for (const [, fc] of tree.files) {
      const fkey = objectKey(fc, ObjectType.File);
      addEdge(opts.containers, fkey, key);
      reachable.add(fkey);
    }
    for (const [, sub, meta] of tree.dirs) {
      const mkey = objectKey(meta, ObjectType.DirMeta);
      addEdge(opts.containers, mkey, key);
      reachable.add(mkey);
      stack.push([sub, key]);
    }
  }
}

/** The commits whose trees contain `key`, sorted (from the containment edges). */
export function commitsContaining(containers: Map<string, Set<string>>, key: string): string[] {
  const out = new Set<string>();
  const seen = new Set<string>([key]);
  const queue = [key];
  while (queue.length) {
    const k = queue.pop() as string;
    if (k.endsWith('.commit')) {
      out.add(k.slice(0, 64));
      continue;
    }
    for (const p of containers.get(k) ?? []) {
      if (!seen.has(p)) {
        seen.add(p);
        queue.push(p);
      }
    }
  }
  return [...out].sort();
}
