// Collection refs: (collection ID, ref name) pairs (ostree-repo-refs.c,
// ostree_repo_list_collection_refs and _ostree_repo_write_ref). A ref of the
// repo's own collection (core.collection-id) lives in refs/heads, one of
// another collection in refs/mirrors/COLLECTION-ID, and a remote's refs
// belong to the remote's collection-id when it has one.
import * as path from 'node:path';
import { promises as fsp } from 'node:fs';
import type { Repo } from '../repo/repo';
import { validateCollectionId } from '../repo/repo';
import { OstreeError, isErrno } from '../errors';
import { gStrHashRaw, ghashOrderBy } from '../ghash';
import { isValidChecksum } from '../objects/formats';
import { readRefFile, validateRef, walkRefs, writeRefAt } from './refs';

/** A ref qualified by the collection it belongs to. */
export interface CollectionRef {
  collectionId: string;
  ref: string;
}

/** A collection ref and the commit it points at. */
export interface CollectionRefEntry extends CollectionRef {
  checksum: string;
}

export interface ListCollectionRefsOptions {
  /** Only refs of this collection (validated). */
  collectionId?: string | null;
  /** Leave out refs/remotes (OSTREE_REPO_LIST_REFS_EXT_EXCLUDE_REMOTES). */
  excludeRemotes?: boolean;
  /** Leave out refs/mirrors (OSTREE_REPO_LIST_REFS_EXT_EXCLUDE_MIRRORS). */
  excludeMirrors?: boolean;
}

/**
 * All collection refs of a repository, as ostree_repo_list_collection_refs
 * finds them: refs/heads under core.collection-id (none without one), each
 * refs/mirrors/COLLECTION-ID, and each refs/remotes/REMOTE whose remote has a
 * valid collection-id; in that enumeration order (readdir order within a
 * directory). A ref seen twice keeps its first checksum.
 *
 * @example
 * import { listCollectionRefs } from 'node-ostree';
 * for (const r of await listCollectionRefs(repo)) console.log(`(${r.collectionId}, ${r.ref})`, r.checksum);
 */
export async function listCollectionRefs(repo: Repo, opts: ListCollectionRefsOptions = {}): Promise<CollectionRefEntry[]> {
  const match = opts.collectionId ?? null;
  if (match !== null) {
    try {
      validateCollectionId(match);
    } catch (err) {
      throw new OstreeError('OSTREE_INVALID_ARGUMENT', `Listing refs: ${(err as Error).message}`, { cause: err });
    }
  }
  const out: CollectionRefEntry[] = [];
  const seen = new Set<string>();
  const addDir = async (cid: string, dir: string) => {
    const items: Array<[string, string, string | null]> = [];
    await walkRefs(dir, '', items);
    for (const [ref, file] of items) {
      const checksum = await readRefFile(file);
      const key = `${cid}\0${ref}`;
      if (checksum === null || seen.has(key)) continue;
      seen.add(key);
      out.push({ collectionId: cid, ref, checksum });
    }
  };
  const mainCid = repo.collectionId;
  if (mainCid !== null && (match === null || match === mainCid)) {
    await addDir(mainCid, path.join(repo.path, 'refs', 'heads'));
  }
  if (!opts.excludeMirrors) {
    for (const cid of await subdirs(path.join(repo.path, 'refs', 'mirrors'))) {
      if (match !== null && cid !== match) continue;
      await addDir(cid, path.join(repo.path, 'refs', 'mirrors', cid));
    }
  }
  if (!opts.excludeRemotes) {
    const { getRemote } = await import('../remotes/remotes');
    for (const remote of await subdirs(path.join(repo.path, 'refs', 'remotes'))) {
      let cid: string | undefined;
      try {
        cid = (await getRemote(repo, remote)).options['collection-id']?.trim();
        if (cid !== undefined) validateCollectionId(cid);
      } catch {
        cid = undefined; // no remote of that name, or no valid collection ID: ignored, as by ostree
      }
      if (cid === undefined || (match !== null && cid !== match)) continue;
      await addDir(cid, path.join(repo.path, 'refs', 'remotes', remote));
    }
  }
  return out;
}

/** Subdirectories of `dir` in readdir order; none when it does not exist (older repos have no refs/mirrors). */
async function subdirs(dir: string): Promise<string[]> {
  let d;
  try {
    d = await fsp.opendir(dir);
  } catch (err) {
    if (isErrno(err, 'ENOENT') || isErrno(err, 'ENOTDIR')) return [];
    throw err;
  }
  const names: string[] = [];
  for await (const e of d) if (e.isDirectory()) names.push(e.name);
  return names;
}

/**
 * Collection refs in the order ostree prints them (`refs --collections`):
 * the iteration order of a GHashTable keyed by ostree_collection_ref_hash
 * (g_str_hash of the collection ID xor g_str_hash of the ref name).
 */
export function collectionRefHashOrder<T extends CollectionRef>(entries: T[]): T[] {
  return ghashOrderBy(
    entries,
    (e) => (gStrHashRaw(e.collectionId) ^ gStrHashRaw(e.ref)) >>> 0,
    (e) => `${e.collectionId}\0${e.ref}`,
  );
}

/** The file of a collection ref: refs/heads for the repo's own collection, else refs/mirrors/COLLECTION-ID. */
export function collectionRefFile(repo: Repo, cref: CollectionRef): string {
  if (cref.collectionId === repo.collectionId) return path.join(repo.path, 'refs', 'heads', cref.ref);
  return path.join(repo.path, 'refs', 'mirrors', cref.collectionId, cref.ref);
}

/** The checks a collection ref update must pass before anything is written. */
export function checkCollectionRefUpdate(cref: CollectionRef, checksum: string | null): void {
  validateCollectionId(cref.collectionId);
  validateRef(cref.ref);
  if (checksum !== null && !isValidChecksum(checksum)) throw new OstreeError('OSTREE_INVALID_CHECKSUM', `Invalid checksum ${checksum}`);
}

/**
 * Write (or delete, with null) a collection ref atomically, without the repo
 * lock: what a Transaction does at commit. Deleting a missing ref is not an
 * error (as ostree). Callers outside a transaction use setCollectionRef() (./set-ref).
 */
export async function writeCollectionRef(repo: Repo, cref: CollectionRef, checksum: string | null, opts: { fsync?: boolean } = {}): Promise<void> {
  checkCollectionRefUpdate(cref, checksum);
  const label = `(${cref.collectionId}, ${cref.ref})`;
  await writeRefAt(repo, collectionRefFile(repo, cref), label, checksum, { ...opts, missingOk: true });
}
