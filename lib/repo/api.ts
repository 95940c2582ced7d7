// Convenience methods on Repo (the library API the CLI is a thin client of).
// Each delegates to the module that owns the concept, loaded lazily, so the
// Repo class itself stays free of import cycles (sharp's per-concern
// prototype decorators).
import { Repo } from './repo';
import type { CommitOptions, CommitResult } from '../commit/commit';
import type { CheckoutOptions, CheckoutResult } from '../checkout/checkout';
import type { RefEntry, ListRefsOptions, ResolveOptions } from '../refs/refs';
import type { FsckOptions, FsckResult } from '../fsck';
import type { PruneOptions, PruneResult } from '../prune';

declare module './repo' {
  interface Repo {
    /** `ostree commit`: see CommitOptions. */
    commit(options: CommitOptions): Promise<CommitResult>;
    /** `ostree checkout`: a commit checksum or rev into `dest`. */
    checkout(rev: string, dest: string, options?: CheckoutOptions): Promise<CheckoutResult>;
    /** `ostree rev-parse`; throws OSTREE_REF_NOT_FOUND unless `allowNoent`. */
    resolveRev(rev: string): Promise<string>;
    resolveRev(rev: string, options: ResolveOptions & { allowNoent: true }): Promise<string | null>;
    listRefs(options?: ListRefsOptions): Promise<RefEntry[]>;
    /** Point a refspec at a commit (null deletes), atomically. */
    setRef(refspec: string, checksum: string | null): Promise<void>;
    fsck(options?: FsckOptions): Promise<FsckResult>;
    prune(options?: PruneOptions): Promise<PruneResult>;
  }
}

Repo.prototype.commit = async function commit(this: Repo, options: CommitOptions) {
  return (await import('../commit/commit')).commit(this, options);
};

Repo.prototype.checkout = async function checkout(this: Repo, rev: string, dest: string, options?: CheckoutOptions) {
  const { resolveRev } = await import('../refs/refs');
  const csum = (await resolveRev(this, rev)) as string;
  return (await import('../checkout/checkout')).checkout(this, csum, dest, options);
};

Repo.prototype.resolveRev = async function resolveRev(this: Repo, rev: string, options?: ResolveOptions) {
  return (await import('../refs/refs')).resolveRev(this, rev, options) as Promise<string>;
} as Repo['resolveRev'];

Repo.prototype.listRefs = async function listRefs(this: Repo, options?: ListRefsOptions) {
  return (await import('../refs/refs')).listRefs(this, options);
};

Repo.prototype.setRef = async function setRef(this: Repo, refspec: string, checksum: string | null) {
  const { withTransaction } = await import('./transaction');
  await withTransaction(this, async (tx) => tx.setRef(refspec, checksum));
};

Repo.prototype.fsck = async function fsck(this: Repo, options?: FsckOptions) {
  return (await import('../fsck')).fsck(this, options);
};

Repo.prototype.prune = async function prune(this: Repo, options?: PruneOptions) {
  return (await import('../prune')).prune(this, options);
};

export {};
