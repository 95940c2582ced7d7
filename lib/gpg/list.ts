// `ostree remote gpg-list-keys` output (ot_dump_gpg_key): keys, UIDs with
// their Web Key Directory update URLs, and subkeys.
import * as crypto from 'crypto';
import type { Key } from './keys';
import { formatCDate } from './verify';

const ZB32 = 'ybndrfg8ejkmcpqxot1uwisza345h769';

/** z-base-32 (as used by WKD) of a byte string. */
export function zbase32(data: Buffer): string {
  let out = '';
  let bits = 0;
  let acc = 0;
  for (const b of data) {
    acc = (acc << 8) | b;
    bits += 8;
    while (bits >= 5) {
      out += ZB32[(acc >> (bits - 5)) & 31];
      bits -= 5;
    }
    acc &= (1 << bits) - 1;
  }
  if (bits > 0) out += ZB32[(acc << (5 - bits)) & 31];
  return out;
}

/** WKD advanced and direct update URLs for an e-mail address, as ostree builds them. */
export function wkdUrls(email: string): { advanced: string; direct: string } | null {
  const parts = email.split('@');
  if (parts.length !== 2) return null;
  const [local, domain] = parts;
  const lower = (s: string) => s.replace(/[A-Z]/g, (c) => c.toLowerCase());
  const hash = zbase32(crypto.createHash('sha1').update(lower(local), 'utf8').digest());
  const esc = encodeURIComponent(local).replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase());
  return {
    advanced: `https://openpgpkey.${domain}/.well-known/openpgpkey/${lower(domain)}/hu/${hash}?l=${esc}`,
    direct: `https://${domain}/.well-known/openpgpkey/hu/${hash}?l=${esc}`,
  };
}

async function safe<T>(p: Promise<T>, d: T): Promise<T> {
  try {
    return await p;
  } catch {
    return d;
  }
}

function expSecs(t: Date | number | null): number {
  if (t instanceof Date && Number.isFinite(t.getTime())) return Math.floor(t.getTime() / 1000);
  return 0;
}

export async function formatKeyListing(keys: Key[], now = new Date()): Promise<string> {
  let out = '';
  for (const key of keys) {
    const revoked = await safe(key.isRevoked(), false);
    out += `Key: ${key.getFingerprint().toUpperCase()}${revoked ? ' (revoked)' : ''}\n`;
    out += `  Created: ${formatCDate(Math.floor(key.getCreationTime().getTime() / 1000))}\n`;
    const exp = expSecs(await safe(key.getExpirationTime(), null as Date | number | null));
    if (exp > 0) out += `  ${exp * 1000 <= now.getTime() ? 'Expired' : 'Expires'}: ${formatCDate(exp)}\n`;
    for (const u of key.users) {
      if (!u.userID) continue;
      // gpg (and so gpgme) shows every user ID and subkey of a revoked key as revoked.
      const uidRevoked = revoked || (await safe(u.isRevoked(undefined as never, undefined as never, now), false));
      out += `  UID: ${u.userID.userID}${uidRevoked ? ' (revoked)' : ''}\n`;
      const email = u.userID.email;
      const urls = email ? wkdUrls(email) : null;
      out += `  Advanced update URL: ${urls?.advanced ?? ''}\n`;
      out += `  Direct update URL: ${urls?.direct ?? ''}\n`;
    }
    for (const sub of key.getSubkeys()) {
      const sr = revoked || (await safe(sub.isRevoked(undefined as never, undefined as never, now), false));
      out += `  Subkey: ${sub.getFingerprint().toUpperCase()}${sr ? ' (revoked)' : ''}\n`;
      out += `    Created: ${formatCDate(Math.floor(sub.getCreationTime().getTime() / 1000))}\n`;
      const se = expSecs(await safe(sub.getExpirationTime(), null as Date | number | null));
      if (se > 0) out += `    ${se * 1000 <= now.getTime() ? 'Expired' : 'Expires'}: ${formatCDate(se)}\n`;
    }
  }
  return out;
}
