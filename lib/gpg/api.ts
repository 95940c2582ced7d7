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
 * await importKeysToRemote(repo, 'origin', { files: ['/etc/pki/app.gpg'] });
 */
export async function importKeysToRemote(repo: Repo, name: string, src: ImportKeysOptions = {}): Promise<number> {
  return (await import('./keys')).importKeysToRemote(repo, name, src);
}

/**
 * Verify a commit's OpenPGP signatures (its detached metadata) against the
 * keys trusted for `remote`; throws OSTREE_GPG_VERIFY_FAILED when none is valid.
 */
export async function verifyCommitGpg(repo: Repo, remote: string, commitChecksum: string, commitBytes: Buffer, detached: Metadata | null): Promise<VerifyResult> {
  return (await import('./verify')).verifyCommitGpg(repo, remote, commitChecksum, commitBytes, detached);
}

/** Verify summary.sig's OpenPGP signatures of `summary` against the keys trusted for `remote`. */
export async function verifySummaryGpg(repo: Repo, remote: string, summary: Buffer, sig: Buffer): Promise<VerifyResult> {
  return (await import('./verify')).verifySummaryGpg(repo, remote, summary, sig);
}

/** `ostree gpg-sign`: sign a commit with keys of a GnuPG home directory (default ~/.gnupg). */
export async function gpgSignCommit(repo: Repo, commitChecksum: string, keyIds: string[], homedir?: string): Promise<void> {
  return (await import('./sign')).gpgSignCommit(repo, commitChecksum, keyIds, homedir);
}

/** `ostree gpg-sign --delete`: remove the signatures of these keys; returns how many were removed. */
export async function gpgDeleteSignatures(repo: Repo, commitChecksum: string, keyIds: string[], homedir?: string): Promise<number> {
  return (await import('./sign')).gpgDeleteSignatures(repo, commitChecksum, keyIds, homedir);
}
