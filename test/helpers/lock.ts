// Lock test helpers shared by the in-process and cross-process lock suites.
import { Repo } from '../../lib/repo/repo';
import type { LockType } from '../../lib/lock';
import type { OstreeError } from '../../lib/errors';

/** Can a second Repo object (its own open file description) take `type` right now? */
export async function canTake(repoPath: string, type: LockType): Promise<boolean> {
  const other = await Repo.open(repoPath);
  try {
    await other.withLock(type, () => undefined, { timeout: 0 });
    return true;
  } catch (err) {
    if ((err as OstreeError).code === 'OSTREE_LOCKED') return false;
    throw err;
  }
}
