// Remotes: [remote "NAME"] groups in REPO/config and, for the system repo,
// remotes.d/*.conf keyfiles (FORMATS.md §3.10). Per-remote GPG keyrings are
// REPO/NAME.trustedkeys.gpg (see lib/gpg/keys.ts).
import * as fsp from 'fs/promises';
import * as fs from 'fs';
import * as path from 'path';
import type { Repo } from '../repo/repo';
import { writeFileAtomic } from '../repo/repo';
import { KeyFile } from '../repo/keyfile';
import { OstreeError, isErrno } from '../errors';

export interface Remote {
  name: string;
  /** As configured (may be mirrorlist=..., file://, http(s)://); '' when only metalink= is set. */
  url: string;
  /** Every key of the [remote "NAME"] group, raw (unescaped) strings, url included. */
  options: Record<string, string>;
  /** Path of the config file that defines it. */
  source: string;
  /** Whether it comes from a remotes.d file rather than REPO/config. */
  inRemotesDir?: boolean;
  /** The repo that defines it (a core.parent repo for inherited remotes). */
  repoPath?: string;
}

export interface AddRemoteOptions {
  branches?: string[];
  set?: Record<string, string>;
  ifNotExists?: boolean;
  /** Replace an existing remote of the same name (ostree's --force). */
  force?: boolean;
  collectionId?: string;
  noGpgVerify?: boolean;
  noSignVerify?: boolean;
  contentUrl?: string;
  customBackend?: string;
  /** `TYPE=inline:KEY` / `TYPE=file:PATH` (ostree's --sign-verify). */
  signVerify?: string[];
}

const configDirs = new WeakMap<Repo, string | null>();

/**
 * Use DIR as the remotes config directory of this repo (ostree's
 * remotes-config-dir). By default only the system repository (/ostree/repo,
 * /sysroot/ostree/repo) uses /etc/ostree/remotes.d, as ostree 2022.7 does.
 */
export function setRemotesConfigDir(repo: Repo, dir: string | null): void {
  configDirs.set(repo, dir === null ? null : path.resolve(dir));
}

export function remotesConfigDir(repo: Repo): string | null {
  if (configDirs.has(repo)) return configDirs.get(repo) as string | null;
  let real = repo.path;
  try {
    real = fs.realpathSync(repo.path);
  } catch {
    /* keep as is */
  }
  const dir = real === '/ostree/repo' || real === '/sysroot/ostree/repo' ? '/etc/ostree/remotes.d' : null;
  configDirs.set(repo, dir);
  return dir;
}

export function groupName(name: string): string {
  return `remote "${name}"`;
}

function remoteNameOf(group: string): string | null {
  const m = /^remote "(.*)"$/.exec(group);
  return m ? m[1] : null;
}

/** ostree_validate_remote_name: a ref fragment (no '/'). */
export function validateRemoteName(name: string): void {
  if (!/^[\w\d][-._\w\d]*$/.test(name)) throw new OstreeError('OSTREE_INVALID_ARGUMENT', `Invalid remote name ${name}`);
}

function groupOptions(kf: KeyFile, group: string): Record<string, string> {
  const options: Record<string, string> = {};
  for (const k of kf.keys(group)) options[k] = kf.get(group, k) as string;
  return options;
}

async function readRemotesDir(dir: string): Promise<Array<{ file: string; kf: KeyFile }>> {
  let names: string[];
  try {
    names = await fsp.readdir(dir);
  } catch (e) {
    if (isErrno(e, 'ENOENT') || isErrno(e, 'ENOTDIR')) return [];
    throw e;
  }
  const out: Array<{ file: string; kf: KeyFile }> = [];
  for (const n of names.filter((x) => x.endsWith('.conf')).sort()) {
    const file = path.join(dir, n);
    try {
      if (!(await fsp.stat(file)).isFile()) continue;
    } catch {
      continue;
    }
    out.push({ file, kf: KeyFile.parse(await fsp.readFile(file, 'utf8')) });
  }
  return out;
}

/** All remotes defined by this repo itself (not its parents), by name. */
async function loadOwnRemotes(repo: Repo): Promise<Map<string, Remote>> {
  const map = new Map<string, Remote>();
  const cfgPath = path.join(repo.path, 'config');
  const add = (kf: KeyFile, file: string, inDir: boolean) => {
    for (const g of kf.groupNames()) {
      const name = remoteNameOf(g);
      if (name === null) continue;
      if (map.has(name)) throw new OstreeError('OSTREE_CONFIG', `Multiple specifications found for remote "${name}"`);
      const options = groupOptions(kf, g);
      map.set(name, { name, url: options.url ?? '', options, source: file, inRemotesDir: inDir, repoPath: repo.path });
    }
  };
  add(repo.config, cfgPath, false);
  const dir = remotesConfigDir(repo);
  if (dir) for (const { file, kf } of await readRemotesDir(dir)) add(kf, file, true);
  return map;
}

async function loadAllRemotes(repo: Repo): Promise<Map<string, Remote>> {
  const own = await loadOwnRemotes(repo);
  if (repo.parent) {
    for (const [n, r] of await loadAllRemotes(repo.parent)) if (!own.has(n)) own.set(n, r);
  }
  return own;
}

/**
 * `ostree remote list`: remote names, sorted (strcmp), from REPO/config,
 * the remotes.d directories and core.parent repositories.
 *
 * @example
 * import { listRemotes } from 'node-ostree';
 * console.log(await listRemotes(repo)); // e.g. [ 'origin' ]
 */
export async function listRemotes(repo: Repo): Promise<string[]> {
  return [...(await loadAllRemotes(repo)).keys()].sort((a, b) => (Buffer.from(a) < Buffer.from(b) ? -1 : a === b ? 0 : 1));
}

export async function hasRemote(repo: Repo, name: string): Promise<boolean> {
  return (await loadAllRemotes(repo)).has(name);
}

/**
 * One remote's configuration (`ostree remote show-url` and friends): its url
 * and every key of its `[remote "NAME"]` group. Throws
 * OSTREE_REMOTE_NOT_FOUND when no such remote is configured.
 *
 * @example
 * import { getRemote } from 'node-ostree';
 * const origin = await getRemote(repo, 'origin');
 * console.log(origin.url, origin.options['gpg-verify'] ?? 'true');
 */
export async function getRemote(repo: Repo, name: string): Promise<Remote> {
  const r = (await loadAllRemotes(repo)).get(name);
  if (!r) throw new OstreeError('OSTREE_REMOTE_NOT_FOUND', `Remote "${name}" not found`, { data: { remote: name } });
  return r;
}

/** The remote's `url`, with ostree's error when only metalink= is configured. */
export function remoteUrl(r: Remote): string {
  const u = r.options.url;
  if (u === undefined) throw new OstreeError('OSTREE_CONFIG', `No "url" option in remote "${r.name}"`);
  return u;
}

/** GLib keyfile boolean rules (true/false/1/0, surrounding whitespace ignored). */
export function remoteBool(r: Remote, key: string, dflt: boolean): boolean {
  const v = r.options[key];
  if (v === undefined) return dflt;
  const t = v.trim();
  if (t === 'true' || t === '1') return true;
  if (t === 'false' || t === '0') return false;
  throw new OstreeError('OSTREE_CONFIG', `Key file contains key “${key}” in group “remote "${r.name}"” which has a value that cannot be interpreted.`);
}

/** A ';'-separated GLib string list (trailing ';' optional, '\;' escapes). */
export function remoteList(r: Remote, key: string, sep = ';'): string[] | undefined {
  const v = r.options[key];
  if (v === undefined) return undefined;
  // GKeyFile's list syntax: SEP ends an item (a trailing one adds none), \SEP escapes it.
  const items: string[] = [];
  let cur = '';
  for (let i = 0; i < v.length; i++) {
    if (v[i] === '\\' && v[i + 1] === sep) {
      cur += sep;
      i++;
    } else if (v[i] === sep) {
      items.push(cur);
      cur = '';
    } else cur += v[i];
  }
  if (cur !== '') items.push(cur);
  return items;
}

/**
 * A list option that may use any one of SEPARATORS (ostree's
 * ot_keyfile_get_string_list_with_separator_choice: gpgkeypath takes ';' or
 * ','); a value using more than one of them is an error.
 */
export function remoteListWithSeparatorChoice(r: Remote, key: string, separators: string): string[] | undefined {
  const v = r.options[key];
  if (v === undefined) return undefined;
  const used = [...separators].filter((c) => v.includes(c));
  if (used.length > 1) throw new OstreeError('OSTREE_CONFIG', 'key value list contains more than one separator', { data: { remote: r.name, key } });
  return used.length === 0 ? [v] : remoteList(r, key, used[0]);
}

function signVerifyEntries(specs: string[]): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const s of specs) {
    const eq = s.indexOf('=');
    if (eq < 0) throw new OstreeError('OSTREE_INVALID_ARGUMENT', 'Failed to parse KEYTYPE=[inline|file]:DATA in --sign-verify');
    const type = s.slice(0, eq);
    const rest = s.slice(eq + 1);
    const colon = rest.indexOf(':');
    if (colon < 0) throw new OstreeError('OSTREE_INVALID_ARGUMENT', 'Failed to parse KEYTYPE=[inline|file]:DATA in --sign-verify');
    const how = rest.slice(0, colon);
    const data = rest.slice(colon + 1);
    if (type !== 'ed25519' && type !== 'dummy') throw new OstreeError('OSTREE_INVALID_ARGUMENT', 'Requested signature type is not implemented');
    if (how === 'inline') out.push([`verification-${type}-key`, data]);
    else if (how === 'file') out.push([`verification-${type}-file`, data]);
    else throw new OstreeError('OSTREE_INVALID_ARGUMENT', `Invalid key reference ${rest}, expected inline|file`);
  }
  return out;
}

/**
 * `ostree remote add`: write the `[remote "NAME"]` group (url= or metalink=,
 * branches=, contenturl=, the `set` keys, gpg-verify=false, sign-verify keys,
 * collection-id=) in ostree 2022.7's order. Throws OSTREE_EXISTS when the
 * remote exists, unless `ifNotExists` or `force`.
 *
 * @example
 * import { addRemote } from 'node-ostree';
 * await addRemote(repo, 'origin', 'https://updates.example.com/repo', {
 *   branches: ['exampleos/stable'],
 *   set: { 'gpg-verify': 'true' },
 * });
 */
export async function addRemote(repo: Repo, name: string, url: string, opts: AddRemoteOptions = {}): Promise<void> {
  validateRemoteName(name);
  // ostree 2022.7 does not validate --collection-id here (pulls do).
  if (opts.noSignVerify && opts.signVerify?.length) throw new OstreeError('OSTREE_INVALID_ARGUMENT', 'Cannot specify both --sign-verify and --no-sign-verify');
  const entries: Array<[string, string]> = [];
  if (url.startsWith('metalink=')) entries.push(['metalink', url.slice('metalink='.length)]);
  else entries.push(['url', url]);
  const options: Array<[string, string, 'list' | 'str']> = [];
  if (opts.branches?.length) options.push(['branches', '', 'list']);
  if (opts.contentUrl !== undefined) options.push(['contenturl', opts.contentUrl, 'str']);
  if (opts.customBackend !== undefined) options.push(['custom-backend', opts.customBackend, 'str']);
  for (const [k, v] of Object.entries(opts.set ?? {})) options.push([k, v, 'str']);
  if (opts.noGpgVerify) options.push(['gpg-verify', 'false', 'str']);
  if (opts.noSignVerify) {
    // ostree's --no-sign-verify disables GPG verification too.
    options.push(['gpg-verify', 'false', 'str']);
    options.push(['sign-verify', 'false', 'str']);
  }
  const sv = signVerifyEntries(opts.signVerify ?? []);
  if (sv.length) options.push(['sign-verify', 'true', 'str']);
  for (const [k, v] of sv) options.push([k, v, 'str']);
  if (opts.collectionId !== undefined) options.push(['collection-id', opts.collectionId, 'str']);

  await repo.reloadConfig();
  const all = await loadOwnRemotes(repo);
  const existing = all.get(name);
  if (existing) {
    if (opts.ifNotExists) return;
    if (!opts.force) {
      throw new OstreeError('OSTREE_EXISTS', `Remote configuration for "${name}" already exists: ${existing.inRemotesDir ? existing.source : '(in config)'}`, {
        data: { remote: name },
      });
    }
    await deleteRemote(repo, name, { keepKeyring: true });
  }
  const dir = remotesConfigDir(repo);
  const useDir = dir !== null && repo.config.getBoolean('core', 'add-remotes-config-dir', true);
  const kf = useDir ? new KeyFile() : repo.config;
  const g = groupName(name);
  for (const [k, v] of entries) kf.set(g, k, v);
  for (const [k, v, kind] of options) {
    if (kind === 'list') kf.setList(g, k, opts.branches as string[]);
    else kf.set(g, k, v);
  }
  if (useDir) {
    await fsp.mkdir(dir as string, { recursive: true });
    await writeFileAtomic(path.join(dir as string, `${name}.conf`), kf.serialize());
  } else {
    await repo.writeConfig(kf);
  }
}

/**
 * `ostree remote delete`: remove the remote's group (or its remotes.d file)
 * and its keyring. Throws OSTREE_REMOTE_NOT_FOUND unless `ifExists`.
 *
 * @example
 * import { deleteRemote } from 'node-ostree';
 * await deleteRemote(repo, 'origin', { ifExists: true });
 */
export async function deleteRemote(repo: Repo, name: string, opts: { ifExists?: boolean; keepKeyring?: boolean } = {}): Promise<void> {
  validateRemoteName(name);
  await repo.reloadConfig();
  const r = (await loadOwnRemotes(repo)).get(name);
  if (!r) {
    if (opts.ifExists) return;
    throw new OstreeError('OSTREE_REMOTE_NOT_FOUND', `Remote "${name}" not found`, { data: { remote: name } });
  }
  if (r.inRemotesDir) {
    await fsp.rm(r.source, { force: true });
  } else {
    repo.config.removeGroup(groupName(name));
    await repo.writeConfig();
  }
  if (!opts.keepKeyring) await fsp.rm(path.join(repo.path, `${name}.trustedkeys.gpg`), { force: true });
}
