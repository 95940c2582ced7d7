// Moving a ref from outside a transaction (ostree_repo_set_ref_immediate):
// the update runs in a transaction of its own, so it takes the repo lock and
// syncs as any other write does, whichever door it comes in by.
import type { Repo } from '../repo/repo';
import { withTransaction, TransactionOptions } from '../repo/transaction';
import { checkRefUpdate } from './refs';
import { checkCollectionRefUpdate } from './collection-refs';
import type { CollectionRef } from './collection-refs';

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

/**
 * Point a collection ref at `checksum`, or delete it with null
 * (ostree_repo_set_collection_ref_immediate): in a transaction of its own,
 * under the repo lock; with core.auto-update-summary the summary follows.
 *
 * @example
 * import { setCollectionRef } from 'node-ostree';
 * await setCollectionRef(repo, { collectionId: 'org.example.Os', ref: 'os/stable' }, checksum);
 */
export async function setCollectionRef(repo: Repo, cref: CollectionRef, checksum: string | null): Promise<void> {
  checkCollectionRefUpdate(cref, checksum);
  await withTransaction(repo, async (tx) => tx.setCollectionRef(cref, checksum));
}
