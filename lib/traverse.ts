// Reachability: walk commits (and their parents up to a depth), dirtrees and
// dirmetas, collecting object names. Mirrors ostree-repo-traverse.c. Shared by
// fsck (which also wants to know which commits contain an object) and prune.
import { OstreeError } from './errors';
import type { Repo } from './repo/repo';
import { ObjectType, OBJECT_TYPE_NAMES, parseCommit, parseDirTree, Commit, DirTree } from './objects/formats';

/** `"<checksum>.<type name>"`, ostree's string form of an object name. */
export function objectKey(checksum: string, type: ObjectType): string {
  return `${checksum}.${OBJECT_TYPE_NAMES[type]}`;
}

/** Split an object key back into checksum and type. */
export function parseObjectKey(key: string): [string, ObjectType] {
  const csum = key.slice(0, 64);
  const name = key.slice(65);
  const t = Number(Object.keys(OBJECT_TYPE_NAMES).find((k) => OBJECT_TYPE_NAMES[Number(k)] === name));
  return [csum, t as ObjectType];
}

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
  // Iterative DFS; a dirtree already reached was fully walked before.
  const stack: Array<[string, string]> = [[csum, parentKey]];
  while (stack.length) {
    const [dt, from] = stack.pop() as [string, string];
    const key = objectKey(dt, ObjectType.DirTree);
    addEdge(opts.containers, key, from);
    if (reachable.has(key)) continue;
    const bytes = await repo.loadMetadata(ObjectType.DirTree, dt, { allowNoent: true });
    if (!bytes) {
      if (ignoreMissing) continue;
      throw new OstreeError('OSTREE_OBJECT_NOT_FOUND', `No such metadata object ${key}`, {
        data: { checksum: dt, type: 'dirtree' },
      });
    }
    reachable.add(key);
    let tree: DirTree;
    try {
      tree = parseDirTree(bytes);
    } catch (err) {
      if (!opts.onUnreadable) throw err;
      opts.onUnreadable(key, err);
      continue;
    }
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
