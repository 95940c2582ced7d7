// Listing the static deltas of a repository (ostree_repo_list_static_delta_names):
// the directories below deltas/ that hold a superblock, in directory (readdir)
// order — not sorted, as ostree.
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { isErrno } from '../errors';
import type { Repo } from '../repo/repo';
import { deltaFromRelDir, deltaName } from './superblock';

/** Subdirectory names of `dir` in readdir order (fs.readdir sorts; opendir does not). */
async function subdirs(dir: string): Promise<string[]> {
  const out: string[] = [];
  let d;
  try {
    d = await fsp.opendir(dir);
  } catch (err) {
    if (isErrno(err, 'ENOENT') || isErrno(err, 'ENOTDIR')) return out;
    throw err;
  }
  for await (const e of d) {
    if (e.isDirectory()) out.push(e.name);
    else if (e.isSymbolicLink() || (!e.isFile() && !e.isDirectory())) {
      // DT_UNKNOWN or a symlink: ostree's "ensure_dtype" stats without following.
      const st = await fsp.lstat(path.join(dir, e.name)).catch(() => null);
      if (st?.isDirectory()) out.push(e.name);
    }
  }
  return out;
}

/**
 * `ostree static-delta list`: the names (`FROM-TO` or `TO`, hex) of the
 * repo's static deltas.
 *
 * @example
 * import { listDeltas } from 'node-ostree';
 * console.log(await listDeltas(repo));
 */
export async function listDeltas(repo: Repo): Promise<string[]> {
  const root = path.join(repo.path, 'deltas');
  const names: string[] = [];
  for (const prefix of await subdirs(root)) {
    for (const rest of await subdirs(path.join(root, prefix))) {
      try {
        await fsp.lstat(path.join(root, prefix, rest, 'superblock'));
      } catch (err) {
        if (isErrno(err, 'ENOENT')) continue;
        throw err;
      }
      const d = deltaFromRelDir(prefix, rest);
      if (d) names.push(deltaName(d.from, d.to));
    }
  }
  return names;
}
