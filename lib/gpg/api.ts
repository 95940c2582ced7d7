// The OpenPGP part of the public API, declared with our own types only: the
// implementations (and the openpgp package) load on first use, and a
// consumer's type checker never has to read openpgp's declarations.
import type { Repo } from '../repo/repo';
import type { Metadata } from '../objects/formats';
import type { VerifyResult } from './result';

export type { SignatureInfo, VerifyResult } from './result';

/** Where `importKeysToRemote` takes keys from. */
export interface ImportKeysOptions {
  /** Keyring or armored key files. */
  files?: string[];
  /** Key data (armored or binary). */
  data?: Buffer[];
  /** Only these key ids (default: every key found). */
  keyIds?: string[];
}

/**
 * `ostree remote gpg-import`: add keys to the remote's keyring
 * (REPO/NAME.trustedkeys.gpg); returns how many were imported.
 *
 * @example
 * import { importKeysToRemote } from 'node-ostree';
 * await importKeysToRemote(repo, 'origin', { files: ['/etc/pki/app.gpg'] });
 */
export async function importKeysToRemote(repo: Repo, name: string, src: ImportKeysOptions = {}): Promise<number> {
  return (await import('./keys')).importKeysToRemote(repo, name, src);
}

/**
 * Verify a commit's OpenPGP signatures (`ostree.gpgsigs` in its detached
 * metadata) against the keys trusted for `remote`, as a pull does; throws
 * OSTREE_GPG_VERIFY_FAILED when no signature is valid.
 *
 * @example
 * import { verifyCommitGpg, resolveRev, ObjectType } from 'node-ostree';
 * const c = (await resolveRev(repo, 'origin:exampleos/stable'))!;
 * const bytes = (await repo.loadMetadata(ObjectType.Commit, c))!;
 * const { valid } = await verifyCommitGpg(repo, 'origin', c, bytes, await repo.readDetachedMetadata(c));
 * console.log(valid.map((s) => s.fingerprint));
 */
export async function verifyCommitGpg(repo: Repo, remote: string, commitChecksum: string, commitBytes: Buffer, detached: Metadata | null): Promise<VerifyResult> {
  return (await import('./verify')).verifyCommitGpg(repo, remote, commitChecksum, commitBytes, detached);
}

/**
 * Verify summary.sig's OpenPGP signatures of `summary` against the keys
 * trusted for `remote` (ostree_repo_verify_summary); throws
 * OSTREE_GPG_VERIFY_FAILED when no signature is valid.
 *
 * @example
 * import { verifySummaryGpg } from 'node-ostree';
 * import { readFile } from 'node:fs/promises';
 * await verifySummaryGpg(repo, 'origin', await readFile('/srv/repo/summary'), await readFile('/srv/repo/summary.sig'));
 */
export async function verifySummaryGpg(repo: Repo, remote: string, summary: Buffer, sig: Buffer): Promise<VerifyResult> {
  return (await import('./verify')).verifySummaryGpg(repo, remote, summary, sig);
}

/**
 * `ostree gpg-sign`: sign a commit with secret keys of a GnuPG home directory
 * (default ~/.gnupg), adding to its detached metadata. A passphrase-protected
 * key needs OSTREE_GPG_PASSPHRASE in the environment.
 *
 * @example
 * import { gpgSignCommit, resolveRev } from 'node-ostree';
 * await gpgSignCommit(repo, (await resolveRev(repo, 'exampleos/stable'))!, ['0123456789ABCDEF'], '/etc/exampleos/gnupg');
 */
export async function gpgSignCommit(repo: Repo, commitChecksum: string, keyIds: string[], homedir?: string): Promise<void> {
  return (await import('./sign')).gpgSignCommit(repo, commitChecksum, keyIds, homedir);
}

/**
 * `ostree gpg-sign --delete`: remove the signatures of these keys from a
 * commit's detached metadata; returns how many were removed.
 *
 * @example
 * import { gpgDeleteSignatures } from 'node-ostree';
 * const removed = await gpgDeleteSignatures(repo, checksum, ['0123456789ABCDEF']);
 */
export async function gpgDeleteSignatures(repo: Repo, commitChecksum: string, keyIds: string[], homedir?: string): Promise<number> {
  return (await import('./sign')).gpgDeleteSignatures(repo, commitChecksum, keyIds, homedir);
}
