// Moving a ref from outside a transaction (ostree_repo_set_ref_immediate):
// the update runs in a transaction of its own, so it takes the repo lock and
// syncs as any other write does, whichever door it comes in by.
import type { Repo } from '../repo/repo';
import { withTransaction, TransactionOptions } from '../repo/transaction';
import { checkRefUpdate } from './refs';

/**
 * Point `refspec` (`ref` or `remote:ref`) at `checksum`, or delete it with
 * null, atomically and under the repo's shared lock (with
 * core.auto-update-summary, the summary follows).
 *
 * @example
 * import { setRef } from 'node-ostree';
 * await setRef(repo, 'exampleos/stable', checksum);
 * await setRef(repo, 'origin:exampleos/old', null);
 */
export async function setRef(repo: Repo, refspec: string, checksum: string | null, opts: TransactionOptions = {}): Promise<void> {
  checkRefUpdate(refspec, checksum);
  await withTransaction(repo, async (tx) => tx.setRef(refspec, checksum), opts);
}
