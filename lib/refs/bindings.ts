// Ref and collection bindings of a commit (ostree.ref-binding,
// ostree.collection-binding): the checks of _ostree_repo_verify_bindings
// (ostree-repo.c), used by pull and by fsck --verify-bindings, and the
// back-reference check of fsck --verify-back-refs.
import { OstreeError } from '../errors';
import type { Metadata } from '../objects/formats';

function lookup(metadata: Metadata, key: string): unknown {
  return metadata.find(([k]) => k === key)?.[1].value;
}

/** The commit's ostree.ref-binding list, or null when it has none (or not an `as`). */
export function refBindings(metadata: Metadata): string[] | null {
  const v = lookup(metadata, 'ostree.ref-binding');
  return Array.isArray(v) && v.every((s) => typeof s === 'string') ? (v as string[]) : null;
}

/** The commit's ostree.collection-binding, or null. */
export function collectionBinding(metadata: Metadata): string | null {
  const v = lookup(metadata, 'ostree.collection-binding');
  return typeof v === 'string' ? v : null;
}

/**
 * Check that a commit reached through `refName` (null: by checksum) of the
 * collection `collectionId` (null: none known) is bound to them: the ref
 * must be in ostree.ref-binding when that exists (and it must exist when a
 * collection ID is known), and ostree.collection-binding must equal the
 * collection ID. Throws OSTREE_INVALID_REF with ostree's message otherwise.
 *
 * @example
 * import { verifyBindings } from 'node-ostree';
 * const commit = await repo.readCommit(checksum);
 * verifyBindings('org.example.Os', 'os/stable', commit.metadata);
 */
export function verifyBindings(collectionId: string | null, refName: string | null, metadata: Metadata): void {
  const fail = (message: string) => new OstreeError('OSTREE_INVALID_REF', message, { data: { collectionId, ref: refName } });
  const refs = refBindings(metadata);
  if (refs === null) {
    if (collectionId === null) return;
    throw fail('Expected commit metadata to have ref binding information, found none');
  }
  if (refName !== null && !refs.includes(refName)) {
    const list = refs.length ? refs.map((r) => `‘${r}’`).join(', ') : 'no refs';
    throw fail(`Commit has no requested ref ‘${refName}’ in ref binding metadata (${list})`);
  }
  if (collectionId !== null) {
    const bound = collectionBinding(metadata);
    if (bound === null) throw fail('Expected commit metadata to have collection ID binding information, found none');
    if (bound !== collectionId) {
      throw fail(`Commit has collection ID ‘${bound}’ in collection binding metadata, while the remote it came from has collection ID ‘${collectionId}’`);
    }
  }
}
