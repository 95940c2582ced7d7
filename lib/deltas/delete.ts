// Deleting a static delta (_ostree_repo_static_delta_delete): its whole
// directory below deltas/.
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { OstreeError, isErrno } from '../errors';
import type { Repo } from '../repo/repo';
import { deltaRelDir } from './superblock';
import { parseDeltaId } from './show';

/**
 * `ostree static-delta delete`: remove a static delta (`FROM-TO` or `TO`)
 * and its parts. Throws OSTREE_NOT_FOUND when there is no such delta.
 *
 * @example
 * import { deleteDelta, listDeltas } from 'node-ostree';
 * for (const name of await listDeltas(repo)) await deleteDelta(repo, name);
 */
export async function deleteDelta(repo: Repo, name: string): Promise<void> {
  const { from, to } = parseDeltaId(name);
  const dir = path.join(repo.path, deltaRelDir(from, to));
  try {
    await fsp.stat(dir);
  } catch (err) {
    if (isErrno(err, 'ENOENT')) throw new OstreeError('OSTREE_NOT_FOUND', `Can't find delta ${name}`, { data: { name } });
    throw err;
  }
  await fsp.rm(dir, { recursive: true, force: true });
}
