// OpenPGP verification of ostree detached signatures (`ostree.gpgsigs`, an
// `aay` of binary detached signature packets over the exact commit or summary
// bytes; FORMATS.md §4.3, §4.5, §7.5) with the openpgp package.
import type { Repo } from '../repo/repo';
import type { Metadata } from '../objects/formats';
import type * as OpenPGP from 'openpgp' with { 'resolution-mode': 'import' };
import { OstreeError, withContext } from '../errors';
import { deserialize, lookup } from '../gvariant/codec';
import { openpgp, remoteTrustedKeys, keysInDirPublic, type Key } from './keys';
import type { SignatureInfo, VerifyResult } from './result';

export type { SignatureInfo, VerifyResult } from './result';

const ALGO_NAMES: Record<string, string> = {
  rsaEncryptSign: 'RSA',
  rsaEncrypt: 'RSA',
  rsaSign: 'RSA',
  dsa: 'DSA',
  elgamal: 'ELG',
  ecdsa: 'ECDSA',
  eddsaLegacy: 'EdDSA',
  ed25519: 'EdDSA',
  ed448: 'EdDSA',
  ecdh: 'ECDH',
};

function algoName(o: typeof OpenPGP, algo: number | null | undefined): string {
  if (algo === undefined || algo === null) return 'unknown';
  const name = (o.enums.read as (e: object, v: number) => string)(o.enums.publicKey, algo);
  return ALGO_NAMES[name] ?? 'unknown';
}

/** Split the `aay` of signatures into one binary buffer (ostree verifies them as one stream). */
export function signaturesFromMetadata(md: Metadata | null): Buffer[] {
  if (!md) return [];
  const v = lookup(md, 'ostree.gpgsigs');
  if (!v || v.type !== 'aay') return [];
  return v.value as Buffer[];
}

function toHex(b: Uint8Array | string): string {
  return typeof b === 'string' ? b.toUpperCase() : Buffer.from(b).toString('hex').toUpperCase();
}

/**
 * Verify detached OpenPGP signatures over DATA against KEYS; never throws for
 * bad signatures (they are reported in `all`). `now` is the time against which
 * key expiry is judged (default: the current time).
 */
export async function verifyDetached(data: Buffer, sigs: Buffer[], keys: Key[], now: Date = new Date()): Promise<VerifyResult> {
  const o = openpgp();
  const all: SignatureInfo[] = [];
  if (sigs.length === 0) return { valid: [], all };
  let sigObj: Awaited<ReturnType<typeof o.readSignature>>;
  try {
    const bin = Buffer.concat(sigs);
    sigObj = await o.readSignature({ binarySignature: new Uint8Array(bin.buffer, bin.byteOffset, bin.length) });
  } catch (e) {
    throw new OstreeError('OSTREE_GPG_VERIFY_FAILED', `GPG: Unable to parse signatures: ${(e as Error).message}`, { cause: e });
  }
  for (const pkt of sigObj.packets) {
    const issuerFpr = pkt.issuerFingerprint ? toHex(pkt.issuerFingerprint) : '';
    const keyId = issuerFpr ? issuerFpr.slice(-16) : toHex(pkt.issuerKeyID.toHex());
    const created = pkt.created ? Math.floor(pkt.created.getTime() / 1000) : 0;
    const sigExpires = pkt.signatureExpirationTime ? created + Number(pkt.signatureExpirationTime) : 0;
    const info: SignatureInfo = {
      keyId,
      fingerprint: '',
      primaryFingerprint: '',
      valid: false,
      expired: false,
      revoked: false,
      keyMissing: true,
      timestamp: created,
      sigExpires,
      sigExpired: sigExpires > 0 && sigExpires * 1000 <= now.getTime(),
      keyExpires: 0,
      primaryKeyExpires: 0,
      pubkeyAlgo: algoName(o, pkt.publicKeyAlgorithm),
      userName: '',
      userEmail: '',
    };
    all.push(info);
    const wantId = keyId.toLowerCase();
    let key: Key | undefined;
    let sub: ReturnType<Key['getKeys']>[number] | undefined;
    for (const k of keys) {
      sub = k.getKeys().find((x) => x.getKeyID().toHex() === wantId);
      if (sub) {
        key = k;
        break;
      }
    }
    if (!key || !sub) continue;
    info.keyMissing = false;
    info.fingerprint = sub.getFingerprint().toUpperCase();
    info.primaryFingerprint = key.getFingerprint().toUpperCase();
    let u: OpenPGP.UserIDPacket | null | undefined;
    try {
      u = (await key.getPrimaryUser(undefined, undefined, undefined)).user.userID;
    } catch {
      u = key.users.find((x) => x.userID)?.userID;
    }
    [info.userName, info.userEmail] = splitUserId(u);
    // Revocation (any time) of the primary key or the signing subkey.
    try {
      info.revoked = (await key.isRevoked(undefined, undefined, now)) || (sub !== key && (await (sub as OpenPGP_Subkey).isRevoked(undefined as unknown as OpenPGP.SignaturePacket, undefined as unknown as OpenPGP.PublicKeyPacket, now)));
    } catch {
      info.revoked = false;
    }
    // Key expiry as of now.
    try {
      const pexp = await key.getExpirationTime();
      if (pexp instanceof Date && pexp.getTime() !== Infinity) info.primaryKeyExpires = Math.floor(pexp.getTime() / 1000);
      if (sub === key) info.keyExpires = info.primaryKeyExpires;
      else {
        const sexp = await subkeyExpiration(sub as OpenPGP_Subkey, key);
        info.keyExpires = sexp;
        if (info.primaryKeyExpires && (!sexp || info.primaryKeyExpires < sexp)) info.keyExpires = sexp || info.primaryKeyExpires;
      }
    } catch {
      /* no valid self-signature */
    }
    const expAt = [info.keyExpires, info.primaryKeyExpires].filter((x) => x > 0);
    info.expired = expAt.some((x) => x * 1000 <= now.getTime());
    // Cryptographic check, judged at the signature's creation time.
    let cryptoOk = false;
    try {
      const list = new o.PacketList<OpenPGP.SignaturePacket>();
      list.push(pkt);
      const single = new o.Signature(list);
      // A message per signature: openpgp.js does not verify a second signature over a message object it has used.
      const message = await o.createMessage({ binary: new Uint8Array(data.buffer, data.byteOffset, data.length) });
      const res = await o.verify({ message, signature: single, verificationKeys: [key], date: pkt.created ?? now, expectSigned: false });
      await res.signatures[0].verified;
      cryptoOk = true;
    } catch {
      // openpgp.js judges the key by the self-signatures in force at `date`
      // and can reject a key whose expiry was set and then lifted later; gpgme
      // goes by the key's current state, which expired/revoked above hold. So
      // check the signature itself against the (sub)key packet, and that a
      // subkey is bound to its primary key.
      cryptoOk = await packetLevelCheck(o, pkt, key, sub, data);
    }
    info.valid = cryptoOk && !info.revoked && !info.expired && !info.sigExpired;
  }
  return { valid: all.filter((s) => s.valid), all };
}

type OpenPGP_Subkey = OpenPGP.Subkey;

async function packetLevelCheck(o: typeof OpenPGP, pkt: OpenPGP.SignaturePacket, key: Key, sub: Key | OpenPGP_Subkey, data: Buffer): Promise<boolean> {
  try {
    if (sub !== key) {
      const s = sub as OpenPGP_Subkey;
      const bind = { key: key.keyPacket, bind: s.keyPacket };
      let bound = false;
      for (const b of s.bindingSignatures) {
        try {
          await b.verify(key.keyPacket, o.enums.signature.subkeyBinding, bind, null as unknown as Date);
          bound = true;
          break;
        } catch {
          /* next binding signature */
        }
      }
      if (!bound) return false;
    }
    const msg = await o.createMessage({ binary: new Uint8Array(data.buffer, data.byteOffset, data.length) });
    const lit = msg.packets.findPacket(o.enums.packet.literalData);
    if (!lit) return false;
    await pkt.verify((sub as Key).keyPacket as OpenPGP.PublicKeyPacket, o.enums.signature.binary, lit, pkt.created ?? undefined, true);
    return true;
  } catch {
    return false;
  }
}

async function subkeyExpiration(sub: OpenPGP_Subkey, _key: Key): Promise<number> {
  try {
    const t = await sub.getExpirationTime();
    if (t instanceof Date && t.getTime() !== Infinity) return Math.floor(t.getTime() / 1000);
  } catch {
    /* none */
  }
  return 0;
}

/** ostree's error text for a result without valid signatures (last signature's description). */
export function describeFailure(res: VerifyResult): string {
  if (res.all.length === 0) return 'No GPG signatures found';
  let s = '';
  for (let i = res.all.length - 1; i >= 0; i--) s += describeSignature(res.all[i], '');
  return s.replace(/\s+$/, '');
}

/** g_date_time_format(local, "%c") in the C locale (GLib pads %e with a FIGURE SPACE, U+2007). */
export function formatCDate(secs: number): string {
  const d = new Date(secs * 1000);
  const days = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
  const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  const p = (n: number) => String(n).padStart(2, '0');
  return `${days[d.getDay()]} ${months[d.getMonth()]} ${String(d.getDate()).padStart(2, '\u2007')} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())} ${d.getFullYear()}`;
}

/** One signature described like ostree_gpg_verify_result_describe(). */
export function describeSignature(s: SignatureInfo, prefix = '  '): string {
  const keyId = s.fingerprint ? s.fingerprint.slice(-16) : s.keyId;
  let out = `${prefix}Signature made ${formatCDate(s.timestamp)} using ${s.pubkeyAlgo} key ID ${keyId}\n`;
  out += prefix;
  if (s.keyMissing) out += "Can't check signature: public key not found\n";
  else if (s.valid) out += `Good signature from "${s.userName} <${s.userEmail}>"\n`;
  else if (s.revoked) out += 'Key revoked\n';
  else if (s.sigExpired) out += `Expired signature from "${s.userName} <${s.userEmail}>"\n`;
  else out += `BAD signature from "${s.userName} <${s.userEmail}>"\n`;
  const differs = !s.keyMissing && s.fingerprint !== s.primaryFingerprint;
  if (differs) out += `${prefix}Primary key ID ${s.primaryFingerprint.slice(-16)}\n`;
  const exp = (what: string, t: number, expired: boolean) => `${prefix}${what} ${expired ? 'expired' : 'expires'} ${formatCDate(t)}\n`;
  if (s.sigExpires > 0) out += exp('Signature', s.sigExpires, s.sigExpired);
  if (s.keyExpires > 0) out += exp('Key', s.keyExpires, s.expired);
  if (s.primaryKeyExpires > 0 && differs) out += exp('Primary key', s.primaryKeyExpires, s.expired);
  return out;
}

/** `Found N signature(s):` block as printed by `ostree show`. */
export function describeResult(res: VerifyResult, header = 'Found'): string {
  let out = `${header} ${res.all.length} signature${res.all.length === 1 ? '' : 's'}:\n`;
  for (const s of res.all) out += '\n' + describeSignature(s, '  ');
  return out;
}

/** ostree's error text: "Commit CSUM: " + the description (summaries: the description alone). */
function fail(res: VerifyResult, prefix: string, data: Record<string, unknown>): never {
  const keyIds = res.all.map((s) => (s.fingerprint ? s.fingerprint.slice(-16) : s.keyId));
  const last = res.all[res.all.length - 1];
  const reason = !last ? 'no-signature' : last.keyMissing ? 'missing-key' : last.revoked ? 'revoked-key' : last.expired ? 'expired-key' : last.sigExpired ? 'expired-signature' : 'invalid-signature';
  const msg = res.all.length === 0 ? `${prefix}GPG verification enabled, but no signatures found (use gpg-verify=false in remote config to disable)` : `${prefix}${describeFailure(res)}`;
  throw new OstreeError('OSTREE_GPG_VERIFY_FAILED', msg, { data: { ...data, keyIds, reason, result: res } });
}

/** Verify against explicit keys (no remote); does not throw on failure. */
export async function verifyWithKeys(data: Buffer, detached: Metadata | null, keys: Key[]): Promise<VerifyResult> {
  return verifyDetached(data, signaturesFromMetadata(detached), keys);
}

/**
 * Keys for `ostree show` without a remote (ostree_repo_verify_commit_ext):
 * every REPO/*.gpg keyring (all remotes), the global keyrings, and
 * HOMEDIR/*.gpg (like ostree, a GnuPG 2 pubring.kbx is not read).
 */
export async function keysForHomedir(homedir?: string, repo?: Repo): Promise<Key[]> {
  const keys = await keysInDirPublic(homedir);
  if (repo) keys.push(...(await keysInDirPublic(repo.path)));
  return keys;
}

/**
 * Name and email of a user ID as gpgme gives them: "Name (comment) <email>";
 * a user ID without <…> is all name (openpgp.js leaves name empty for it).
 */
function splitUserId(u: OpenPGP.UserIDPacket | null | undefined): [string, string] {
  if (!u) return ['', ''];
  if (u.name || u.email) return [u.name ?? '', u.email ?? ''];
  const m = /^(.*?)\s*(?:\((.*)\))?\s*<([^<>]*)>\s*$/.exec(u.userID);
  return m ? [m[1], m[3]] : [u.userID.trim(), ''];
}

/** Verify `ostree.gpgsigs` in the detached metadata of a commit against the remote's keyrings; throws OSTREE_GPG_VERIFY_FAILED (data: { commit, keyIds }) when no valid signature from a trusted, unexpired, unrevoked key exists. */
export async function verifyCommitGpg(repo: Repo, remote: string, commitChecksum: string, commitBytes: Buffer, detached: Metadata | null): Promise<VerifyResult> {
  const keys = await remoteTrustedKeys(repo, remote).catch((e) => {
    throw withContext(`Commit ${commitChecksum}`, e);
  });
  const res = await verifyDetached(commitBytes, signaturesFromMetadata(detached), keys);
  if (res.valid.length === 0) fail(res, `Commit ${commitChecksum}: `, { commit: commitChecksum, remote });
  return res;
}

/** Like verifyCommitGpg but never throws for a bad/missing signature (for `show --gpg-verify-remote`). */
export async function inspectCommitGpg(repo: Repo, remote: string, commitBytes: Buffer, detached: Metadata | null): Promise<VerifyResult> {
  return verifyDetached(commitBytes, signaturesFromMetadata(detached), await remoteTrustedKeys(repo, remote));
}

/** Verify summary.sig bytes (a{sv} with ostree.gpgsigs) over the summary bytes; throws OSTREE_GPG_VERIFY_FAILED. */
export async function verifySummaryGpg(repo: Repo, remote: string, summary: Buffer, sig: Buffer): Promise<VerifyResult> {
  // GLib reads bytes that are not a valid a{sv} as an empty (or partial)
  // dictionary, so ostree reports a mangled summary.sig as unsigned.
  let md: Metadata;
  try {
    md = deserialize<Metadata>('a{sv}', sig);
  } catch {
    md = [];
  }
  const keys = await remoteTrustedKeys(repo, remote);
  const res = await verifyDetached(summary, signaturesFromMetadata(md), keys);
  if (res.valid.length === 0) fail(res, '', { remote, summary: true });
  return res;
}
