// OpenPGP key stores: per-remote keyrings (REPO/NAME.trustedkeys.gpg), the
// global trusted.gpg.d directory, gpgkeypath, GnuPG home directories and
// plain key files. Keys are handled with the `openpgp` package.
//
// Supported stores (see /work/notes/README-remotes.md):
//  * binary keyrings: pubring.gpg, secring.gpg, trustedkeys.gpg, NAME.trustedkeys.gpg, any *.gpg;
//  * ASCII-armored key files (public or private) and binary key files;
//  * GnuPG >= 2.1 homes (pubring.kbx + private-keys-v1.d) only through the `gpg`
//    binary (`gpg --export[-secret-keys]`), when it is installed.
import * as fsp from 'fs/promises';
import * as path from 'path';
import * as os from 'os';
import { execFile } from 'child_process';
import type * as OpenPGP from 'openpgp' with { 'resolution-mode': 'import' };
import type { Repo } from '../repo/repo';
import { writeFileAtomic } from '../repo/repo';
import { OstreeError, isErrno } from '../errors';
import { getRemote, remotesConfigDir, remoteListWithSeparatorChoice } from '../remotes/remotes';

let pgp: typeof OpenPGP | null = null;
/** The openpgp module, loaded on first use (it is large). */
export function openpgp(): typeof OpenPGP {
  if (!pgp) pgp = require('openpgp') as typeof OpenPGP;
  return pgp;
}

export type Key = OpenPGP.Key;
export type PrivateKey = OpenPGP.PrivateKey;

function isArmored(b: Buffer): boolean {
  const head = b.subarray(0, Math.min(b.length, 4096)).toString('latin1');
  return head.includes('-----BEGIN PGP');
}

/** Parse every key in a buffer (binary keyring or armored block(s)); unusable blocks are skipped. */
export async function parseKeys(data: Buffer): Promise<Key[]> {
  const o = openpgp();
  if (data.length === 0) return [];
  if (isArmored(data)) {
    const text = data.toString('utf8');
    const blocks = text.match(/-----BEGIN PGP (PUBLIC|PRIVATE) KEY BLOCK-----[\s\S]*?-----END PGP \1 KEY BLOCK-----/g) ?? [];
    const out: Key[] = [];
    for (const armoredKeys of blocks) out.push(...(await o.readKeys({ armoredKeys })));
    return out;
  }
  return o.readKeys({ binaryKeys: new Uint8Array(data.buffer, data.byteOffset, data.length) });
}

/**
 * The keys of FILE. With `importLike`, data holding no usable OpenPGP key
 * (a GnuPG trustdb.gpg, a text file) gives no keys rather than an error, as
 * gpgme's import does for ostree's gpgkeypath files.
 */
export async function readKeyFile(file: string, opts: { importLike?: boolean } = {}): Promise<Key[]> {
  let data: Buffer;
  try {
    data = await fsp.readFile(file);
  } catch (e) {
    throw new OstreeError('OSTREE_NOT_FOUND', `GPG: Unable to read ${file}: ${(e as Error).message}`, { cause: e });
  }
  try {
    return await parseKeys(data);
  } catch (e) {
    if (opts.importLike) return [];
    throw new OstreeError('OSTREE_INVALID_ARGUMENT', `GPG: Unable to parse keys in ${file}: ${(e as Error).message}`, { cause: e });
  }
}

async function exists(p: string): Promise<boolean> {
  try {
    await fsp.access(p);
    return true;
  } catch {
    return false;
  }
}

/** Merge keys by fingerprint (later copies are merged into the first). */
export async function mergeKeys(keys: Key[]): Promise<Key[]> {
  const byFpr = new Map<string, Key>();
  for (const k of keys) {
    const f = k.getFingerprint();
    const prev = byFpr.get(f);
    if (!prev) byFpr.set(f, k);
    else {
      try {
        byFpr.set(f, prev.isPrivate() || !k.isPrivate() ? await prev.update(k) : await k.update(prev));
      } catch {
        /* keep the first */
      }
    }
  }
  return [...byFpr.values()];
}

/** Serialize keys as a binary keyring (concatenated transferable public keys). */
export function writeKeyring(keys: Key[]): Buffer {
  return Buffer.concat(keys.map((k) => Buffer.from(k.toPublic().write())));
}

/** Where the keyring of remote NAME lives (REPO, then the remotes.d dir, then parents), or null. */
export async function remoteKeyringPath(repo: Repo, name: string): Promise<string | null> {
  const base = `${name}.trustedkeys.gpg`;
  const own = path.join(repo.path, base);
  if (await exists(own)) return own;
  const dir = remotesConfigDir(repo);
  if (dir && (await exists(path.join(dir, base)))) return path.join(dir, base);
  if (repo.parent) return remoteKeyringPath(repo.parent, name);
  return null;
}

/** The global keyring directory ($OSTREE_GPG_HOME or /usr/share/ostree/trusted.gpg.d). */
export function globalKeyringDir(): string {
  return process.env.OSTREE_GPG_HOME || '/usr/share/ostree/trusted.gpg.d';
}

/** Keyrings of a keyring directory: *.gpg, but not GnuPG's trustdb.gpg or secring.gpg (as ostree). */
const isKeyring = (n: string) => n.endsWith('.gpg') && n !== 'trustdb.gpg' && n !== 'secring.gpg';

async function keysInDir(dir: string, filter: (n: string) => boolean, opts: { importLike?: boolean } = {}): Promise<Key[]> {
  let names: string[];
  try {
    names = (await fsp.readdir(dir)).sort();
  } catch (e) {
    if (isErrno(e, 'ENOENT') || isErrno(e, 'ENOTDIR')) return [];
    throw e;
  }
  const out: Key[] = [];
  for (const n of names.filter(filter)) {
    const p = path.join(dir, n);
    try {
      // Regular files only (ostree looks at d_type: symlinks are skipped).
      if (!(await fsp.lstat(p)).isFile()) continue;
    } catch {
      continue;
    }
    out.push(...(await readKeyFile(p, opts)));
  }
  return out;
}

/** Keys of the global keyring directory, plus every *.gpg keyring in DIR (ostree's keyringdir). */
export async function keysInDirPublic(dir?: string): Promise<Key[]> {
  const keys = await keysInDir(globalKeyringDir(), isKeyring);
  if (dir) keys.push(...(await keysInDir(dir, isKeyring)));
  return mergeKeys(keys);
}

/**
 * One gpgkeypath entry, as ostree reads it: opened as a directory, every
 * regular file in it is imported; an entry that is not a directory is one
 * key file. Anything else that stops opendir (ENOENT…) is an error worded
 * like ostree's: `opendir(PATH): No such file or directory`.
 */
async function keysOfKeyPath(entry: string): Promise<Key[]> {
  let dir: import('node:fs').Dir;
  try {
    dir = await fsp.opendir(entry);
  } catch (e) {
    if (isErrno(e, 'ENOTDIR')) return readKeyFile(entry, { importLike: true });
    const { describeErrno } = await import('../errors');
    const why = isErrno(e) ? describeErrno(e.code as string) : (e as Error).message;
    throw new OstreeError('OSTREE_NOT_FOUND', `opendir(${entry}): ${why}`, { cause: e, data: { gpgkeypath: entry } });
  }
  await dir.close();
  return keysInDir(entry, () => true, { importLike: true });
}

/**
 * The trusted keys of a remote (FORMATS.md §3.10): its own keyring if there
 * is one, else the global keyring directory; plus every gpgkeypath entry.
 */
export async function remoteTrustedKeys(repo: Repo, name: string, opts: { global?: boolean } = {}): Promise<Key[]> {
  const remote = await getRemote(repo, name);
  const keys: Key[] = [];
  const ring = await remoteKeyringPath(repo, name);
  if (ring) keys.push(...(await readKeyFile(ring)));
  else if (opts.global !== false) keys.push(...(await keysInDir(globalKeyringDir(), isKeyring)));
  for (const entry of remoteListWithSeparatorChoice(remote, 'gpgkeypath', ';,') ?? []) keys.push(...(await keysOfKeyPath(entry)));
  return mergeKeys(keys);
}

/** Hex id matching like gpgme: full fingerprint, 16- or 8-hex key id, optionally 0x-prefixed; else a UID substring. */
export function keyMatches(key: Key, id: string): boolean {
  const want = id.replace(/^0x/i, '').toUpperCase();
  const ids: string[] = [];
  for (const k of [key, ...key.getSubkeys()]) ids.push(k.getFingerprint().toUpperCase());
  if (/^[0-9A-F]+$/.test(want) && want.length >= 8) return ids.some((f) => f.endsWith(want));
  const low = id.toLowerCase();
  return key.getUserIDs().some((u) => u.toLowerCase().includes(low));
}

function run(cmd: string, args: string[], input?: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = execFile(cmd, args, { encoding: 'buffer', maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      if (err) {
        (err as Error & { stderr?: string }).stderr = Buffer.from(stderr ?? '').toString();
        reject(err);
      } else resolve(stdout);
    });
    if (input) child.stdin?.end(input);
    else child.stdin?.end();
  });
}

export function defaultGpgHome(): string {
  return process.env.GNUPGHOME || path.join(os.homedir(), '.gnupg');
}

/**
 * Public (and, with `secret`, private) keys of a GnuPG home directory:
 * legacy pubring.gpg/secring.gpg/trustedkeys.gpg are read directly; a
 * keybox-only (GnuPG 2.1+) home is exported through the `gpg` binary.
 */
export async function homedirKeys(homedir: string, opts: { secret?: boolean; ids?: string[] } = {}): Promise<Key[]> {
  const files = opts.secret ? ['secring.gpg'] : ['pubring.gpg', 'trustedkeys.gpg'];
  const keys: Key[] = [];
  for (const f of files) {
    const p = path.join(homedir, f);
    if (await exists(p)) keys.push(...(await readKeyFile(p)));
  }
  const usable = opts.ids?.length ? keys.filter((k) => opts.ids!.some((id) => keyMatches(k, id))) : keys;
  if (usable.length && (!opts.ids?.length || opts.ids.every((id) => usable.some((k) => keyMatches(k, id))))) return mergeKeys(usable);
  // GnuPG 2.1+: keys live in pubring.kbx / private-keys-v1.d; ask gpg.
  if ((await exists(path.join(homedir, 'pubring.kbx'))) || (await exists(path.join(homedir, 'private-keys-v1.d')))) {
    const args = ['--homedir', homedir, '--batch', '--no-tty', '--pinentry-mode', 'loopback', '--passphrase', ''];
    args.push(opts.secret ? '--export-secret-keys' : '--export', ...(opts.ids ?? []));
    let out: Buffer;
    try {
      out = await run(process.env.OSTREE_GPG_BINARY || 'gpg', args);
    } catch (e) {
      if (isErrno(e, 'ENOENT')) {
        throw new OstreeError('OSTREE_NOT_FOUND', `GPG: ${homedir} is a GnuPG 2.1+ home (pubring.kbx); reading it needs the gpg binary, which is not installed`, { cause: e });
      }
      throw new OstreeError('OSTREE_IO', `GPG: exporting keys from ${homedir} failed: ${(e as { stderr?: string }).stderr || (e as Error).message}`, { cause: e });
    }
    if (out.length) keys.push(...(await parseKeys(out)));
  }
  const res = opts.ids?.length ? keys.filter((k) => opts.ids!.some((id) => keyMatches(k, id))) : keys;
  return mergeKeys(res);
}

/** The decrypted private key for KEYID from a GnuPG home (or a key file path). */
export async function loadSigningKey(keyId: string, homedir?: string): Promise<PrivateKey> {
  const o = openpgp();
  let keys: Key[];
  const home = homedir ?? defaultGpgHome();
  let st = null;
  try {
    st = await fsp.stat(home);
  } catch {
    /* missing */
  }
  if (st?.isFile()) keys = await readKeyFile(home);
  else keys = await homedirKeys(home, { secret: true, ids: [keyId] });
  const match = keys.find((k) => k.isPrivate() && keyMatches(k, keyId)) as PrivateKey | undefined;
  if (!match) {
    throw new OstreeError('OSTREE_NOT_FOUND', `No gpg key found with ID ${keyId} (homedir: ${homedir ?? '<default>'})`, { data: { keyId } });
  }
  if (!match.isDecrypted()) {
    const pass = process.env.OSTREE_GPG_PASSPHRASE;
    if (pass === undefined) throw new OstreeError('OSTREE_INVALID_ARGUMENT', `GPG key ${keyId} is passphrase-protected; set OSTREE_GPG_PASSPHRASE`);
    return o.decryptKey({ privateKey: match, passphrase: pass });
  }
  return match;
}

/**
 * `ostree remote gpg-import`: merge keys from files/stdin/the default GnuPG
 * home into REPO/NAME.trustedkeys.gpg. Returns the number of new keys.
 */
export async function importKeysToRemote(
  repo: Repo,
  name: string,
  src: { files?: string[]; data?: Buffer[]; keyIds?: string[] } = {},
): Promise<number> {
  await getRemote(repo, name);
  let incoming: Key[] = [];
  for (const f of src.files ?? []) incoming.push(...(await readKeyFile(f)));
  for (const d of src.data ?? []) incoming.push(...(await parseKeys(d)));
  if (!src.files?.length && !src.data?.length) incoming = await homedirKeys(defaultGpgHome(), { ids: src.keyIds });
  if (src.keyIds?.length) {
    for (const id of src.keyIds) {
      if (!incoming.some((k) => keyMatches(k, id))) throw new OstreeError('OSTREE_NOT_FOUND', `GPG: Unable to find key "${id}"`);
    }
    incoming = incoming.filter((k) => src.keyIds!.some((id) => keyMatches(k, id)));
  }
  if (incoming.length === 0) throw new OstreeError('OSTREE_INVALID_ARGUMENT', 'GPG: Unable to export keys: No data');
  const target = path.join(repo.path, `${name}.trustedkeys.gpg`);
  let existing: Key[] = [];
  if (await exists(target)) existing = await readKeyFile(target);
  const have = new Set(existing.map((k) => k.getFingerprint()));
  const added = new Set(incoming.map((k) => k.getFingerprint()).filter((f) => !have.has(f)));
  const merged = await mergeKeys([...existing, ...incoming.map((k) => k.toPublic())]);
  await writeFileAtomic(target, writeKeyring(merged));
  return added.size;
}
