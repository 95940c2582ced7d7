// Verification of what a pull downloads before any of it is written
// (ostree-repo-pull.c: the remote's gpg-verify / sign-verify policy,
// ostree_verify_unwritten_commit, ref bindings and --timestamp-check).
import { OstreeError } from '../errors';
import type { Repo } from '../repo/repo';
import { resolveRev } from '../refs/refs';
import { verifyBindings } from '../refs/bindings';
import { deserialize } from '../gvariant/codec';
import { ObjectType, Commit, Metadata, parseCommit } from '../objects/formats';
import { remoteBool, remoteList, Remote } from '../remotes/remotes';
// GPG and ed25519 verification are loaded only by pulls that verify (start-up cost).
import type { VerifyResult } from '../gpg/result';

/** What a remote (and the pull's overrides) ask to be verified. */
export interface VerifyPolicy {
  gpgVerify: boolean;
  gpgVerifySummary: boolean;
  /** Signature types for commits (sign-verify) and for the summary (sign-verify-summary). */
  signVerify: string[];
  signVerifySummary: string[];
}

/** The remote's policy, with a pull's gpg-verify overrides; unknown signature types are refused. */
export function verifyPolicy(remote: Remote, overrides: { gpgVerify?: boolean; gpgVerifySummary?: boolean }): VerifyPolicy {
  const signTypes = (key: string): string[] => {
    const v = remote.options[key];
    if (v === undefined || v === '' || v === 'false' || v === '0') return [];
    // "true": every type ostree has (each with the keys configured for it, if any).
    if (v === 'true' || v === '1') return ['ed25519', 'dummy'];
    return remoteList(remote, key) ?? [];
  };
  const policy: VerifyPolicy = {
    gpgVerify: overrides.gpgVerify ?? remoteBool(remote, 'gpg-verify', true),
    gpgVerifySummary: overrides.gpgVerifySummary ?? remoteBool(remote, 'gpg-verify-summary', false),
    signVerify: signTypes('sign-verify'),
    signVerifySummary: signTypes('sign-verify-summary'),
  };
  const known = ['ed25519', 'dummy'];
  for (const t of [...policy.signVerify, ...policy.signVerifySummary]) {
    if (!known.includes(t)) throw new OstreeError('OSTREE_INVALID_ARGUMENT', 'Requested signature type is not implemented', { data: { signType: t } });
  }
  return policy;
}

export function metaValue(md: Metadata, key: string): unknown {
  const e = md.find(([k]) => k === key);
  return e ? e[1].value : undefined;
}

/**
 * The engines of a sign-verify list with the remote's keys for each
 * (_signapi_init_for_remote): keys are required for types named in the
 * list, optional when the option is just `true`.
 */
async function remoteVerifiers(repo: Repo, remote: Remote | string, types: string[], key: 'sign-verify' | 'sign-verify-summary') {
  const { signEngine, remotePublicKeys } = await import('../sign/engine');
  const name = typeof remote === 'string' ? remote : remote.name;
  const { getRemote } = await import('../remotes/remotes');
  const raw = (typeof remote === 'string' ? await getRemote(repo, remote) : remote).options[key];
  const required = !(raw === 'true' || raw === '1');
  const out = [];
  for (const t of types) {
    const engine = signEngine(t);
    out.push({ engine, keys: await remotePublicKeys(repo, name, engine, required) });
  }
  return out;
}

/**
 * Signature-API commit verification with ostree's pull wording: "Can't
 * verify commit without detached metadata", "Can't verify commit: No
 * signatures found", "Can't verify commit: <why>".
 */
async function verifyCommitSign(repo: Repo, remote: string, checksum: string, bytes: Buffer, detached: Metadata | null, types: string[], localSource = false): Promise<void> {
  const { verifyForRemote, signaturesIn } = await import('../sign/engine');
  const data = { commit: checksum, remote };
  if (localSource) {
    // ostree's scan_commit_object: each type's ostree_sign_commit_verify, the first failure reported.
    let first: OstreeError | null = null;
    for (const { engine, keys } of await remoteVerifiers(repo, remote, types, 'sign-verify')) {
      try {
        engine.verify(bytes, signaturesIn(detached, engine), keys);
        return;
      } catch (e) {
        if (!(e instanceof OstreeError)) throw e;
        first ??= e;
      }
    }
    const e = first as OstreeError;
    throw new OstreeError('OSTREE_SIGN_VERIFY_FAILED', `Can't verify commit ${checksum}: ${e.message}`, { cause: e, data: { ...e.data, ...data } });
  }
  if (!detached) throw new OstreeError('OSTREE_SIGN_VERIFY_FAILED', "Can't verify commit without detached metadata", { data: { ...data, reason: 'no-signature' } });
  const verifiers = await remoteVerifiers(repo, remote, types, 'sign-verify');
  try {
    verifyForRemote(verifiers, bytes, detached);
  } catch (e) {
    if (!(e instanceof OstreeError)) throw e;
    throw new OstreeError('OSTREE_SIGN_VERIFY_FAILED', `Can't verify commit: ${e.message}`, { cause: e, data: { ...e.data, ...data } });
  }
}

/** summary.sig's signatures over the summary bytes (ostree's message, unprefixed). */
export async function verifySummarySign(repo: Repo, remote: string, summary: Buffer, sig: Buffer, types: string[] = ['ed25519']): Promise<void> {
  const { verifyForRemote } = await import('../sign/engine');
  // As GLib reads it: bytes that are no valid a{sv} give an empty dictionary.
  let md: Metadata;
  try {
    md = deserialize<Metadata>('a{sv}', sig);
  } catch {
    md = [];
  }
  const verifiers = await remoteVerifiers(repo, remote, types, 'sign-verify-summary');
  try {
    verifyForRemote(verifiers, summary, md);
  } catch (e) {
    if (e instanceof OstreeError) e.data.summary = true;
    throw e;
  }
}

/** A commit as downloaded (or found locally), before anything from it is written. */
export interface UnverifiedCommit {
  checksum: string;
  bytes: Buffer;
  commit: Commit;
  detached: Metadata | null;
  /** The ref it was asked for by (null for parents and checksums). */
  ref: string | null;
}

export interface CommitChecks {
  repo: Repo;
  remote: string;
  policy: VerifyPolicy;
  disableVerifyBindings?: boolean;
  /**
   * The collection ID commits must be bound to (get_remote_repo_collection_id):
   * a local source repo's core.collection-id, else the remote's collection-id;
   * null when there is none.
   */
  collectionId?: string | null;
  /** --timestamp-check: the refspec whose current commit must not be newer. */
  timestampCheckRef?: (ref: string) => string;
  /** --timestamp-check-from-rev: a local commit no fetched commit may be older than. */
  timestampCheckFromRev?: string;
  onGpgVerifyResult?: (commit: string, result: VerifyResult) => void;
  /**
   * The source is a local repo (file://): ostree imports such commits and
   * checks them afterwards, with its scan-time wording ("Can't verify commit
   * CHECKSUM: …"); we still check before writing.
   */
  localSource?: boolean;
}

/**
 * Everything a pull checks of a commit before writing it: GPG and ed25519
 * signatures as the policy asks, the ostree.ref-binding list, and with
 * --timestamp-check that the ref does not move back in time.
 */
export async function verifyPulledCommit(c: UnverifiedCommit, checks: CommitChecks): Promise<void> {
  const { repo, remote, policy } = checks;
  const { checksum, ref, commit } = c;
  if (policy.gpgVerify) {
    const { verifyCommitGpg } = await import('../gpg/verify');
    const res = await verifyCommitGpg(repo, remote, checksum, c.bytes, c.detached);
    checks.onGpgVerifyResult?.(checksum, res);
  }
  if (policy.signVerify.length) await verifyCommitSign(repo, remote, checksum, c.bytes, c.detached, policy.signVerify, checks.localSource);
  if (!checks.disableVerifyBindings) {
    try {
      verifyBindings(checks.collectionId ?? null, ref, commit.metadata);
    } catch (err) {
      (err as Error).message = `Commit ${checksum}: ${(err as Error).message}`;
      throw err;
    }
  }
  if (checks.timestampCheckFromRev) {
    const from = checks.timestampCheckFromRev;
    const old = await repo.loadMetadata(ObjectType.Commit, from, { allowNoent: true });
    if (!old) throw new OstreeError('OSTREE_OBJECT_NOT_FOUND', `Reading ${from} for timestamp-check-from-rev: No such metadata object ${from}.commit`);
    compareTimestamps(from, parseCommit(old).timestamp, checksum, commit.timestamp);
  }
  if (ref && checks.timestampCheckRef) {
    const cur = await resolveRev(repo, checks.timestampCheckRef(ref), { allowNoent: true }).catch(() => null);
    if (cur && cur !== checksum) {
      const old = await repo.loadMetadata(ObjectType.Commit, cur, { allowNoent: true });
      if (old && parseCommit(old).timestamp > commit.timestamp) {
        throw new OstreeError('OSTREE_INVALID_ARGUMENT', `Upgrade target revision '${checksum}' with timestamp '${commit.timestamp}' is chronologically older than current revision '${cur}' with timestamp '${parseCommit(old).timestamp}'; use --allow-downgrade to permit`, {
          data: { checksum, current: cur },
        });
      }
    }
  }
}

/** g_date_time_format(dt, "%c") in the C locale, UTC. */
function cDateUtc(ts: bigint): string {
  const d = new Date(Number(ts) * 1000);
  const days = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
  const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  const p = (n: number) => String(n).padStart(2, '0');
  return `${days[d.getUTCDay()]} ${months[d.getUTCMonth()]} ${String(d.getUTCDate()).padStart(2, ' ')} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} ${d.getUTCFullYear()}`;
}

/**
 * _ostree_compare_timestamps: a newer commit, an equal timestamp or the same
 * commit is fine; an older one is OSTREE_INVALID_ARGUMENT ("… is
 * chronologically older …; use --allow-downgrade to permit").
 */
export function compareTimestamps(currentRev: string, currentTs: bigint, newRev: string, newTs: bigint): void {
  if (newTs > currentTs || newTs === currentTs || currentRev === newRev) return;
  throw new OstreeError(
    'OSTREE_INVALID_ARGUMENT',
    `Upgrade target revision '${newRev}' with timestamp '${cDateUtc(newTs)}' is chronologically older than current revision '${currentRev}' with timestamp '${cDateUtc(currentTs)}'; use --allow-downgrade to permit`,
    { data: { checksum: newRev, current: currentRev } },
  );
}

/**
 * Check a commit against everything `remote` trusts, GPG and the signature
 * API alike, and describe what verified it
 * (ostree_repo_signature_verify_commit_data, as `admin status --verify`
 * uses it): the GPG signatures (`GPG: ` lines) when the remote has
 * gpg-verify, then the sign-verify engines' message. Throws when either
 * check fails, or when the remote asks for neither.
 */
export async function signatureVerifyCommitData(repo: Repo, remote: string, checksum: string, commitBytes: Buffer, detached: Metadata | null): Promise<string> {
  if (!detached) throw new OstreeError('OSTREE_SIGN_VERIFY_FAILED', "Can't verify commit without detached metadata", { data: { commit: checksum, remote, reason: 'no-signature' } });
  const { getRemote } = await import('../remotes/remotes');
  const policy = verifyPolicy(await getRemote(repo, remote), {});
  const verifiers = policy.signVerify.length ? await remoteVerifiers(repo, remote, policy.signVerify, 'sign-verify') : [];
  if (!policy.gpgVerify && !verifiers.length) {
    throw new OstreeError('OSTREE_INVALID_ARGUMENT', `Cannot verify commit for remote ${remote}; GPG verification disabled, and no signapi verifiers configured`);
  }
  let text = '';
  if (policy.gpgVerify) {
    const { verifyCommitGpg, describeSignature } = await import('../gpg/verify');
    const res = await verifyCommitGpg(repo, remote, checksum, commitBytes, detached);
    text += res.all.map((s) => describeSignature(s, 'GPG: ')).join('');
  }
  if (verifiers.length) {
    const { verifyForRemote } = await import('../sign/engine');
    let msg: string;
    try {
      msg = verifyForRemote(verifiers, commitBytes, detached);
    } catch (e) {
      if (!(e instanceof OstreeError)) throw e;
      throw new OstreeError('OSTREE_SIGN_VERIFY_FAILED', `Can't verify commit: ${e.message}`, { cause: e, data: { ...e.data, commit: checksum, remote } });
    }
    text += (text ? '\n' : '') + msg;
  }
  return text;
}
