// ed25519 signatures as ostree's sign API stores them: `ostree.sign.ed25519`
// (aay of raw 64-byte signatures over the exact commit bytes) in the detached
// metadata, appended through a GVariantDict (FORMATS.md §4.3). Keys use
// libsodium's layout, base64-encoded: public = 32 bytes, secret = seed(32) ||
// public(32). Implemented with Node's crypto (no native dependency).
import * as crypto from 'crypto';
import * as fsp from 'fs/promises';
import * as path from 'path';
import type { Repo } from '../repo/repo';
import type { Metadata } from '../objects/formats';
import { ObjectType } from '../objects/formats';
import { OstreeError } from '../errors';
import { lookup } from '../gvariant/codec';

export const ED25519_KEY = 'ostree.sign.ed25519';
const SIG_BYTES = 64;
const PK_BYTES = 32;
const SK_BYTES = 64;

function b64url(b: Buffer): string {
  return b.toString('base64url');
}

/** Decode a base64 public key (32 bytes) or throw like ostree. */
export function decodePublicKey(s: string | Buffer): Buffer {
  const b = typeof s === 'string' ? Buffer.from(s.trim(), 'base64') : s;
  if (b.length !== PK_BYTES) throw new OstreeError('OSTREE_INVALID_ARGUMENT', 'Incorrect ed25519 public key');
  return b;
}

/** Decode a base64 secret key (libsodium: 64 bytes = seed || public key). */
export function decodeSecretKey(s: string | Buffer): Buffer {
  const b = typeof s === 'string' ? Buffer.from(s.trim(), 'base64') : s;
  if (b.length !== SK_BYTES) throw new OstreeError('OSTREE_INVALID_ARGUMENT', 'Incorrect ed25519 secret key');
  return b;
}

/**
 * A new ed25519 key pair, base64 as `ostree sign` and remotes'
 * verification-ed25519-key expect (the secret key is libsodium's 64 bytes:
 * seed then public key).
 *
 * @example
 * import { generateEd25519KeyPair, addRemote } from 'node-ostree';
 * const { publicKey, secretKey } = generateEd25519KeyPair();
 * await addRemote(repo, 'origin', 'https://updates.example.com/repo', { signVerify: [`ed25519=inline:${publicKey}`] });
 */
export function generateKeyPair(): { publicKey: string; secretKey: string } {
  const { publicKey, privateKey } = crypto.generateKeyPairSync('ed25519');
  const jwk = privateKey.export({ format: 'jwk' }) as { d: string; x: string };
  const pk = Buffer.from(jwk.x, 'base64url');
  const seed = Buffer.from(jwk.d, 'base64url');
  void publicKey;
  return { publicKey: pk.toString('base64'), secretKey: Buffer.concat([seed, pk]).toString('base64') };
}

/** The public key (base64) of a secret key. */
export function publicKeyOf(secretKey: string | Buffer): string {
  return decodeSecretKey(secretKey).subarray(32).toString('base64');
}

export function signData(data: Buffer, secretKey: string | Buffer): Buffer {
  const sk = decodeSecretKey(secretKey);
  const key = crypto.createPrivateKey({ key: { kty: 'OKP', crv: 'Ed25519', d: b64url(sk.subarray(0, 32)), x: b64url(sk.subarray(32)) }, format: 'jwk' });
  return crypto.sign(null, data, key);
}

export function verifyData(data: Buffer, signature: Buffer, publicKey: string | Buffer): boolean {
  if (signature.length !== SIG_BYTES) return false;
  const key = crypto.createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: b64url(decodePublicKey(publicKey)) }, format: 'jwk' });
  try {
    return crypto.verify(null, data, key, signature);
  } catch {
    return false;
  }
}

export function signaturesOf(md: Metadata | null): Buffer[] {
  const v = md ? lookup(md, ED25519_KEY) : undefined;
  return v && v.type === 'aay' ? (v.value as Buffer[]) : [];
}

/** Keys of a keys file: one base64 key per line (blank lines and '#' comments skipped). */
export async function readKeysFile(file: string): Promise<string[]> {
  let text: string;
  try {
    const st = await fsp.stat(file);
    if (!st.isFile()) throw new Error('not a regular file');
    text = await fsp.readFile(file, 'utf8');
  } catch (e) {
    throw new OstreeError('OSTREE_NOT_FOUND', `File object '${file}' is not a regular file`, { cause: e });
  }
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
}

async function readKeysDir(dir: string): Promise<string[]> {
  const out: string[] = [];
  let names: string[] = [];
  try {
    names = (await fsp.readdir(dir)).sort();
  } catch {
    return out;
  }
  for (const n of names) {
    try {
      out.push(...(await readKeysFile(path.join(dir, n))));
    } catch {
      /* skip non-files */
    }
  }
  return out;
}

/**
 * ostree's default key locations: BASEDIR/trusted.ed25519 and
 * BASEDIR/trusted.ed25519.d/* (minus revoked.ed25519[.d]) for BASEDIR in
 * /etc/ostree and /usr/share/ostree, or only the given basedir.
 */
export async function loadDefaultKeys(basedir?: string): Promise<{ trusted: string[]; revoked: string[] }> {
  const dirs = basedir ? [basedir] : ['/usr/share/ostree', '/etc/ostree'];
  const trusted: string[] = [];
  const revoked: string[] = [];
  for (const d of dirs) {
    for (const [list, base] of [
      [trusted, 'trusted.ed25519'],
      [revoked, 'revoked.ed25519'],
    ] as Array<[string[], string]>) {
      try {
        list.push(...(await readKeysFile(path.join(d, base))));
      } catch {
        /* none */
      }
      list.push(...(await readKeysDir(path.join(d, `${base}.d`))));
    }
  }
  return { trusted, revoked };
}

/**
 * Verify DATA's signatures against PUBLICKEYS (ostree's rules: the first
 * signature/key pair that verifies wins). Returns ostree's success message;
 * throws OSTREE_SIGN_VERIFY_FAILED with ostree's error text otherwise.
 */
export function verifySignatures(data: Buffer, sigs: Buffer[], publicKeys: string[], revoked: string[] = []): string {
  if (sigs.length === 0) throw new OstreeError('OSTREE_SIGN_VERIFY_FAILED', 'ed25519: commit have no signatures of my type', { data: { reason: 'no-signature' } });
  if (publicKeys.length === 0) throw new OstreeError('OSTREE_SIGN_VERIFY_FAILED', 'signature: ed25519: no keys loaded', { data: { reason: 'no-keys' } });
  const pks = publicKeys.map((k) => decodePublicKey(k));
  const rv = new Set(revoked.map((k) => decodePublicKey(k).toString('hex')));
  const invalid: string[] = [];
  for (const sig of sigs) {
    if (sig.length !== SIG_BYTES) {
      throw new OstreeError('OSTREE_SIGN_VERIFY_FAILED', `Invalid signature length of ${sig.length} bytes, expected ${SIG_BYTES}`, { data: { reason: 'bad-length' } });
    }
    for (const pk of pks) {
      if (rv.has(pk.toString('hex'))) continue;
      if (verifyData(data, sig, pk)) return `ed25519: Signature verified successfully with key '${pk.toString('hex')}'`;
      invalid.push(`key '${pk.toString('hex')}'`);
    }
  }
  const keys = pks.map((p) => p.toString('base64'));
  if (invalid.length > 3) throw new OstreeError('OSTREE_SIGN_VERIFY_FAILED', `ed25519: Signature couldn't be verified; tried ${invalid.length} keys`, { data: { keys, reason: 'invalid-signature' } });
  if (invalid.length) throw new OstreeError('OSTREE_SIGN_VERIFY_FAILED', `ed25519: Signature couldn't be verified with: ${invalid.join('; ')}`, { data: { keys, reason: 'invalid-signature' } });
  throw new OstreeError('OSTREE_SIGN_VERIFY_FAILED', 'ed25519: no signatures found', { data: { keys, reason: 'no-signature' } });
}

/**
 * `ostree sign`: append an ed25519 signature by each secret key (base64,
 * libsodium's 64-byte form) to the commit's detached metadata.
 *
 * @example
 * import { generateEd25519KeyPair, signCommitEd25519 } from 'node-ostree';
 * const { secretKey } = generateEd25519KeyPair();
 * await signCommitEd25519(repo, checksum, [secretKey]);
 */
export async function signCommitEd25519(repo: Repo, commitChecksum: string, secretKeys: string[]): Promise<void> {
  const { dictRebuild, writeDetachedMetadata } = await import('../gpg/sign');
  const commitBytes = (await repo.loadMetadata(ObjectType.Commit, commitChecksum)) as Buffer;
  for (const sk of secretKeys) {
    const sig = signData(commitBytes, sk);
    const md = await repo.readDetachedMetadata(commitChecksum);
    const next = dictRebuild(md, [[ED25519_KEY, { type: 'aay', value: [...signaturesOf(md), sig] }]]);
    await writeDetachedMetadata(repo, commitChecksum, next);
  }
}

/** Remove signatures that verify with any of PUBLICKEYS; returns how many were removed. */
export async function deleteCommitEd25519(repo: Repo, commitChecksum: string, publicKeys: string[]): Promise<number> {
  const { dictRebuild, writeDetachedMetadata } = await import('../gpg/sign');
  const commitBytes = (await repo.loadMetadata(ObjectType.Commit, commitChecksum)) as Buffer;
  const md = await repo.readDetachedMetadata(commitChecksum);
  const sigs = signaturesOf(md);
  const pks = publicKeys.map((k) => {
    const b = Buffer.from(k.trim(), 'base64');
    return b.length === SK_BYTES ? b.subarray(32) : decodePublicKey(b);
  });
  const keep = sigs.filter((s) => !pks.some((pk) => verifyData(commitBytes, s, pk)));
  const n = sigs.length - keep.length;
  if (n === 0) return 0;
  await writeDetachedMetadata(repo, commitChecksum, keep.length ? dictRebuild(md, [[ED25519_KEY, { type: 'aay', value: keep }]]) : dictRebuild(md, [], [ED25519_KEY]));
  return n;
}

/** Public keys for a remote: verification-ed25519-key (inline) and/or -file, else ostree's default locations. */
export async function remoteEd25519Keys(repo: Repo, remote: string): Promise<{ trusted: string[]; revoked: string[] }> {
  const { getRemote } = await import('../remotes/remotes');
  const r = await getRemote(repo, remote);
  const inline = r.options['verification-ed25519-key'];
  const file = r.options['verification-ed25519-file'];
  const trusted: string[] = [];
  if (inline !== undefined) trusted.push(...inline.split(/[;\s]+/).filter(Boolean));
  if (file !== undefined) trusted.push(...(await readKeysFile(file)));
  if (inline === undefined && file === undefined) return loadDefaultKeys();
  return { trusted, revoked: [] };
}

/**
 * Verify `ostree.sign.ed25519` in a commit's detached metadata with the
 * remote's verification-ed25519-key / -file (else ostree's default key
 * files), as a pull does; throws OSTREE_SIGN_VERIFY_FAILED when no signature
 * is valid.
 *
 * @example
 * import { verifyCommitEd25519, ObjectType } from 'node-ostree';
 * const bytes = (await repo.loadMetadata(ObjectType.Commit, checksum))!;
 * await verifyCommitEd25519(repo, 'origin', bytes, await repo.readDetachedMetadata(checksum));
 */
export async function verifyCommitEd25519(repo: Repo, remote: string, commitBytes: Buffer, detached: Metadata | null): Promise<void> {
  const { trusted, revoked } = await remoteEd25519Keys(repo, remote);
  try {
    verifySignatures(commitBytes, signaturesOf(detached), trusted, revoked);
  } catch (e) {
    if (e instanceof OstreeError) {
      const commit = crypto.createHash('sha256').update(commitBytes).digest('hex');
      throw new OstreeError('OSTREE_SIGN_VERIFY_FAILED', `Can't verify commit ${commit}: ${e.message}`, { cause: e, data: { ...e.data, commit, remote } });
    }
    throw e;
  }
}

/** Verify summary.sig's ostree.sign.ed25519 over the summary bytes for a remote. */
export async function verifySummaryEd25519(repo: Repo, remote: string, summary: Buffer, sigMetadata: Metadata | null): Promise<void> {
  const { trusted, revoked } = await remoteEd25519Keys(repo, remote);
  verifySignatures(summary, signaturesOf(sigMetadata), trusted, revoked);
}
