// OpenPGP signing of commits and summaries, stored as ostree stores them:
// `ostree.gpgsigs` (aay of binary detached signatures) in the commit's
// detached metadata (rebuilt through a GVariantDict, i.e. GLib hash-table
// order, FORMATS.md §1.8/§4.3) or in summary.sig.
import type { Repo } from '../repo/repo';
import { OstreeError } from '../errors';
import type { Metadata } from '../objects/formats';
import { ObjectType } from '../objects/formats';
import { serialize, type Variant } from '../gvariant/codec';
import { ghashOrder } from '../ghash';
import { openpgp, loadSigningKey, homedirKeys, keyMatches, type PrivateKey } from './keys';

/** A binary detached signature (one signature packet) over DATA. */
export async function signDetachedWithKey(data: Buffer, key: PrivateKey, date?: Date): Promise<Buffer> {
  const o = openpgp();
  const message = await o.createMessage({ binary: new Uint8Array(data.buffer, data.byteOffset, data.length) });
  const sig = await o.sign({ message, signingKeys: key, detached: true, format: 'binary', date });
  return Buffer.from(sig as Uint8Array);
}

/** Sign DATA with KEYID taken from a GnuPG home (or key file). */
export async function signDetached(data: Buffer, keyId: string, homedir?: string): Promise<Buffer> {
  return signDetachedWithKey(data, await loadSigningKey(keyId, homedir));
}

/**
 * Build a dictionary the way GVariantDict does: start from ENTRIES (later
 * duplicates replace earlier ones in place), apply SET/REMOVE, and emit in
 * GLib hash-table iteration order.
 */
export function dictRebuild(entries: Metadata | null, set: Array<[string, Variant]>, remove: string[] = []): Metadata {
  const values = new Map<string, Variant>();
  const order: string[] = [];
  for (const [k, v] of entries ?? []) {
    order.push(k);
    values.set(k, v);
  }
  for (const [k, v] of set) {
    order.push(k);
    values.set(k, v);
  }
  const removed = new Set(remove.filter((k) => !set.some(([s]) => s === k)));
  // GHashTable removal leaves a tombstone; iteration order of the rest is unchanged.
  const it = ghashOrder(order).filter((k) => !removed.has(k));
  return it.map((k) => [k, values.get(k) as Variant]);
}

function existingSigs(md: Metadata | null): Buffer[] {
  const v = md?.find(([k]) => k === 'ostree.gpgsigs')?.[1];
  return v && v.type === 'aay' ? [...(v.value as Buffer[])] : [];
}


async function sigIssuers(sig: Buffer): Promise<string[]> {
  const o = openpgp();
  try {
    const s = await o.readSignature({ binarySignature: new Uint8Array(sig.buffer, sig.byteOffset, sig.length) });
    const out: string[] = [];
    for (const p of s.packets) {
      if (p.issuerFingerprint) out.push(Buffer.from(p.issuerFingerprint).toString('hex').toUpperCase());
      out.push(p.issuerKeyID.toHex().toUpperCase());
    }
    return out;
  } catch {
    return [];
  }
}

/** Add a signature by each KEYID to the commit's detached metadata (`ostree gpg-sign`). */
export async function gpgSignCommit(repo: Repo, commitChecksum: string, keyIds: string[], homedir?: string): Promise<void> {
  const keys: Array<[string, PrivateKey]> = [];
  for (const keyId of keyIds) keys.push([keyId, await loadSigningKey(keyId, homedir)]);
  await gpgSignCommitWithKeys(repo, commitChecksum, keys.map(([, k]) => k), keyIds);
}

/** Like gpgSignCommit with already-loaded private keys. */
export async function gpgSignCommitWithKeys(repo: Repo, commitChecksum: string, keys: PrivateKey[], names?: string[]): Promise<void> {
  const commitBytes = (await repo.loadMetadata(ObjectType.Commit, commitChecksum)) as Buffer;
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i];
    const keyId = names?.[i] ?? key.getKeyID().toHex().toUpperCase();
    const md = await repo.readDetachedMetadata(commitChecksum);
    const sigs = existingSigs(md);
    const keyFprs = key.getKeys().map((k) => k.getFingerprint().toUpperCase());
    for (const s of sigs) {
      const iss = await sigIssuers(s);
      if (iss.some((i) => keyFprs.some((f) => f.endsWith(i)))) {
        throw new OstreeError('OSTREE_EXISTS', `Commit is already signed with GPG key ${keyId}`, { data: { commit: commitChecksum, keyId } });
      }
    }
    const sig = await signDetachedWithKey(commitBytes, key);
    const next = dictRebuild(md, [['ostree.gpgsigs', { type: 'aay', value: [...sigs, sig] }]]);
    await writeDetachedMetadata(repo, commitChecksum, next);
  }
}

/** `ostree gpg-sign --delete`: remove signatures made by any of KEYIDS; returns how many. */
export async function gpgDeleteSignatures(repo: Repo, commitChecksum: string, keyIds: string[], homedir?: string): Promise<number> {
  const md = await repo.readDetachedMetadata(commitChecksum);
  const sigs = existingSigs(md);
  if (sigs.length === 0) return 0;
  // Expand ids to every (sub)key fingerprint of matching keys we know about.
  const wanted = keyIds.map((k) => k.replace(/^0x/i, '').toUpperCase());
  try {
    const keys = await homedirKeys(homedir ?? (await import('./keys')).defaultGpgHome(), {});
    for (const k of keys) if (keyIds.some((id) => keyMatches(k, id))) for (const s of k.getKeys()) wanted.push(s.getFingerprint().toUpperCase());
  } catch {
    /* ids only */
  }
  const keep: Buffer[] = [];
  let deleted = 0;
  for (const s of sigs) {
    const iss = await sigIssuers(s);
    const hit = iss.some((i) => wanted.some((w) => w.endsWith(i) || i.endsWith(w)));
    if (hit) deleted++;
    else keep.push(s);
  }
  if (deleted === 0) return 0;
  const next = keep.length ? dictRebuild(md, [['ostree.gpgsigs', { type: 'aay', value: keep }]]) : dictRebuild(md, [], ['ostree.gpgsigs']);
  await writeDetachedMetadata(repo, commitChecksum, next);
  return deleted;
}

/** Write (or with an empty dictionary, keep as empty) the detached metadata of a commit. */
export async function writeDetachedMetadata(repo: Repo, commitChecksum: string, md: Metadata): Promise<void> {
  const { withTransaction } = await import('../repo/transaction');
  const bytes = serialize('a{sv}', md);
  await withTransaction(repo, async (tx) => {
    await tx.writeCommitMeta(commitChecksum, bytes);
  });
}

/** summary.sig contents: a{sv} with ostree.gpgsigs (one signature per key). */
export async function gpgSignSummaryBytes(summary: Buffer, keyIds: string[], homedir?: string, existing?: Metadata | null): Promise<Buffer> {
  const sigs: Buffer[] = [];
  for (const id of keyIds) sigs.push(await signDetached(summary, id, homedir));
  const md = dictRebuild(existing ?? null, [['ostree.gpgsigs', { type: 'aay', value: sigs }]]);
  return serialize('a{sv}', md);
}
