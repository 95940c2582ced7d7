// Refs: read, list, write (atomic rename), delete, aliases and rev-parse.
// Mirrors ostree-repo-refs.c (FORMATS.md §3.5, §11).
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { OstreeError, isErrno } from '../errors';
import { Repo, tmpName, writeFileAtomic } from '../repo/repo';
import { isValidChecksum } from '../objects/formats';
import { readSmallFile } from '../repo/small-files';

const REF_RE = /^(?:[\p{L}\p{N}_][-._\p{L}\p{N}_]*\/)*[\p{L}\p{N}_][-._\p{L}\p{N}_]*$/u;
/** One path component of a ref name; also the form of a remote name. */
const FRAGMENT_RE = /^[\p{L}\p{N}_][-._\p{L}\p{N}_]*$/u;
const REMOTE_RE = FRAGMENT_RE;

/**
 * Whether `ref` is a valid ref name as ostree_validate_rev accepts it:
 * `/`-separated components of letters, digits, `_`, `-` and `.`, none
 * starting with `-` or `.`.
 *
 * @example
 * import { isValidRefName } from 'node-ostree';
 * isValidRefName('exampleos/x86_64/stable'); // true
 * isValidRefName('../etc'); // false
 */
export function isValidRefName(ref: string): boolean {
  return REF_RE.test(ref);
}

export function validateRef(ref: string): void {
  if (!isValidRefName(ref)) throw new OstreeError('OSTREE_INVALID_REF', `Invalid ref name ${ref}`, { data: { ref } });
}

export function validateRemoteName(remote: string): void {
  if (!REMOTE_RE.test(remote)) throw new OstreeError('OSTREE_INVALID_REF', `Invalid remote name ${remote}`, { data: { remote } });
}

/**
 * Split a refspec `[REMOTE:]REF` into its remote (null when none) and ref
 * (ostree_parse_refspec); throws OSTREE_INVALID_REF when either part is not
 * a valid name.
 *
 * @example
 * import { parseRefspec } from 'node-ostree';
 * const { remote, ref } = parseRefspec('origin:exampleos/stable'); // 'origin', 'exampleos/stable'
 */
export function parseRefspec(spec: string): { remote: string | null; ref: string } {
  const colon = spec.indexOf(':');
  if (colon >= 0) {
    const remote = spec.slice(0, colon);
    const ref = spec.slice(colon + 1);
    validateRemoteName(remote);
    validateRef(ref);
    return { remote, ref };
  }
  validateRef(spec);
  return { remote: null, ref: spec };
}

export interface RefEntry {
  /** Refspec as ostree prints it: `ref` or `remote:ref`. */
  name: string;
  remote: string | null;
  ref: string;
  checksum: string;
  /** For aliases: the target refspec. */
  aliasOf?: string;
}

export async function readRefFile(file: string): Promise<string | null> {
  let text: string;
  try {
    text = await readSmallFile(file);
  } catch (err) {
    if (isErrno(err, 'ENOENT') || isErrno(err, 'EISDIR') || isErrno(err, 'ENOTDIR')) return null;
    throw err;
  }
  const csum = text.trim();
  if (!isValidChecksum(csum)) throw new OstreeError('OSTREE_CORRUPT_OBJECT', `Invalid checksum in ref file ${file}: '${csum}'`);
  return csum;
}

function refFile(repo: Repo, remote: string | null, ref: string): string {
  return remote ? path.join(repo.path, 'refs', 'remotes', remote, ref) : path.join(repo.path, 'refs', 'heads', ref);
}

/** Resolve a refspec (no parent syntax) to a checksum, or null. */
async function resolveRefspec(repo: Repo, spec: string, fallbackRemote: boolean): Promise<string | null> {
  const { remote, ref } = parseRefspec(spec);
  if (remote) {
    const c = await readRefFile(refFile(repo, remote, ref));
    if (c) return c;
  } else {
    const c = await readRefFile(refFile(repo, null, ref));
    if (c) return c;
  }
  if (!remote && fallbackRemote) {
    // Fallbacks: refs/remotes/REF (i.e. "remote/ref"), then mirrors.
    const r = await readRefFile(path.join(repo.path, 'refs', 'remotes', ref));
    if (r) return r;
    // Then REF under any remote (ostree's find_ref_in_remotes: the first remote directory that has it).
    const remotesDir = path.join(repo.path, 'refs', 'remotes');
    for (const e of await fsp.readdir(remotesDir, { withFileTypes: true }).catch(() => [])) {
      if (!e.isDirectory()) continue;
      const c = await readRefFile(path.join(remotesDir, e.name, ref));
      if (c) return c;
    }
    const m = await readRefFile(path.join(repo.path, 'refs', 'mirrors', ref));
    if (m) return m;
  }
  if (repo.parent) return resolveRefspec(repo.parent, spec, fallbackRemote);
  return null;
}

export interface ResolveOptions {
  allowNoent?: boolean;
  /**
   * Look for a plain REF under the remotes when refs/heads has none (default
   * true, ostree_repo_resolve_rev); false as ostree_repo_resolve_rev_ext.
   */
  fallbackRemote?: boolean;
}

/**
 * `ostree rev-parse` (ostree_repo_resolve_rev): a checksum, a unique checksum
 * prefix, a refspec (`ref` or `remote:ref`), or any of them followed by `^`
 * (repeatable) or `~N` to walk parents. Resolves to the full checksum; a rev
 * that names nothing throws OSTREE_REF_NOT_FOUND, or resolves to null with
 * `allowNoent`.
 *
 * @example
 * import { resolveRev } from 'node-ostree';
 * const head = await resolveRev(repo, 'exampleos/stable');
 * const previous = await resolveRev(repo, 'exampleos/stable^');
 * const mirrored = await resolveRev(repo, 'origin:exampleos/stable', { allowNoent: true });
 */
export async function resolveRev(repo: Repo, rev: string, opts: ResolveOptions = {}): Promise<string | null> {
  let base = rev;
  let up = 0;
  for (;;) {
    const m = /^(.*?)(\^+|~(\d*))$/.exec(base);
    if (!m || m[1] === '') break;
    if (m[2].startsWith('^')) up += m[2].length;
    else up += m[3] === '' ? 1 : Number(m[3]);
    base = m[1];
  }
  let csum: string | null = null;
  if (isValidChecksum(base)) {
    csum = base;
  } else {
    // Like ostree, a unique partial commit checksum wins over a ref of the same name.
    if (/^[0-9a-f]{1,63}$/.test(base)) csum = await resolvePrefix(repo, base);
    if (!csum) {
      try {
        csum = await resolveRefspec(repo, base, opts.fallbackRemote ?? true);
      } catch (err) {
        if (!(err instanceof OstreeError && err.code === 'OSTREE_INVALID_REF')) throw err;
        csum = null;
      }
    }
    if (!csum) {
      if (opts.allowNoent && up === 0) return null;
      if (!isValidRefName(base.includes(':') ? base.slice(base.indexOf(':') + 1) : base)) {
        throw new OstreeError('OSTREE_INVALID_REF', `Invalid refspec ${base}`, { data: { ref: base } });
      }
      throw new OstreeError('OSTREE_REF_NOT_FOUND', `Refspec '${base}' not found`, { data: { ref: base } });
    }
  }
  for (let i = 0; i < up; i++) {
    const c = await repo.readCommit(csum);
    if (!c.parent) {
      throw new OstreeError('OSTREE_REF_NOT_FOUND', `Commit ${csum} has no parent`, { data: { checksum: csum } });
    }
    csum = c.parent;
  }
  return csum;
}

/** ostree_repo_resolve_partial_checksum: the one commit object whose checksum starts with `prefix`. */
async function resolvePrefix(repo: Repo, prefix: string): Promise<string | null> {
  const objects = path.join(repo.path, 'objects');
  let dirs: string[];
  if (prefix.length >= 2) dirs = [prefix.slice(0, 2)];
  else {
    try {
      dirs = (await fsp.readdir(objects)).filter((d) => d.length === 2 && d.startsWith(prefix));
    } catch {
      return null;
    }
  }
  const hits: string[] = [];
  for (const d of dirs) {
    let names: string[];
    try {
      names = await fsp.readdir(path.join(objects, d));
    } catch {
      continue;
    }
    const rest = prefix.slice(2);
    for (const n of names) if (n.length === 69 && n.endsWith('.commit') && n.startsWith(rest)) hits.push(d + n.slice(0, 62));
  }
  if (hits.length > 1) throw new OstreeError('OSTREE_INVALID_REF', `Refspec ${prefix} not unique`, { data: { ref: prefix } });
  return hits.length ? hits[0] : null;
}

/** Walk a refs directory in raw readdir order (ostree's enumeration order): [name, path, symlink target or null]. */
export async function walkRefs(dir: string, prefix: string, out: Array<[string, string, string | null]>): Promise<void> {
  let d;
  try {
    d = await fsp.opendir(dir);
  } catch (err) {
    if (isErrno(err, 'ENOENT') || isErrno(err, 'ENOTDIR')) return;
    throw err;
  }
  const ents = [];
  for await (const e of d) ents.push(e);
  for (const e of ents) {
    // Only valid ref names are refs (as ostree's enumerate_refs_recurse):
    // dot-files such as an older writer's temp files, or anything else a
    // tool drops into refs/, are skipped.
    if (!FRAGMENT_RE.test(e.name)) continue;
    const full = path.join(dir, e.name);
    const name = prefix ? `${prefix}/${e.name}` : e.name;
    if (e.isDirectory()) await walkRefs(full, name, out);
    else if (e.isFile() || e.isSymbolicLink()) {
      let alias: string | null = null;
      if (e.isSymbolicLink()) alias = await fsp.readlink(full);
      out.push([name, full, alias]);
    }
  }
}

export interface RawRefsOptions {
  /** `[REMOTE:]PREFIX` as given to `ostree refs PREFIX`. */
  prefix?: string | null;
  /** Strip the prefix from names (ostree_repo_list_refs) or keep it (list_refs_ext). */
  cutPrefix?: boolean;
  /** Only symlink refs, with their target refs (ALIASES flag). */
  aliases?: boolean;
}

/**
 * Refs in ostree's enumeration order (refs/heads, then each refs/remotes/R, in
 * readdir order), named as ostree_repo_list_refs(_ext) names them. Values are
 * checksums, or alias targets with `aliases`.
 */
export async function listRefsRaw(repo: Repo, o: RawRefsOptions = {}): Promise<Array<[string, string]>> {
  const out: Array<[string, string]> = [];
  const add = async (items: Array<[string, string, string | null]>, remote: string | null) => {
    for (const [name, full, alias] of items) {
      const key = remote ? `${remote}:${name}` : name;
      if (o.aliases) {
        if (alias !== null) out.push([key, path.normalize(path.join(path.dirname(name), alias))]);
        continue;
      }
      const c = await readRefFile(full);
      if (c) out.push([key, c]);
    }
  };
  if (o.prefix) {
    // `REMOTE:` and `REMOTE:.` (flatpak's form) list all of REMOTE's refs.
    const whole = /^(.*):\.?$/.exec(o.prefix);
    if (whole && REMOTE_RE.test(whole[1])) {
      const items: Array<[string, string, string | null]> = [];
      await walkRefs(path.join(repo.path, 'refs', 'remotes', whole[1]), '', items);
      await add(items, whole[1]);
      return out;
    }
    const { remote, ref } = parseRefspec(o.prefix);
    const base = remote ? path.join(repo.path, 'refs', 'remotes', remote) : path.join(repo.path, 'refs', 'heads');
    const p = path.join(base, ref);
    let st;
    try {
      st = await fsp.stat(p);
    } catch (err) {
      if (isErrno(err, 'ENOENT')) return out;
      throw err;
    }
    const items: Array<[string, string, string | null]> = [];
    if (st.isDirectory()) {
      await walkRefs(p, o.cutPrefix ? '' : ref, items);
    } else {
      const l = await fsp.lstat(p);
      items.push([ref, p, l.isSymbolicLink() ? await fsp.readlink(p) : null]);
    }
    await add(items, remote);
    return out;
  }
  // As ostree_repo_list_refs_ext: refs/heads and refs/remotes must be there.
  const openRefsDir = async (rel: string) => {
    try {
      return await fsp.opendir(path.join(repo.path, rel));
    } catch (err) {
      const { describeErrno } = await import('../errors');
      const why = isErrno(err) ? describeErrno(err.code as string) : (err as Error).message;
      throw new OstreeError('OSTREE_IO', `Listing refs: opendir(${rel}): ${why}`, { cause: err, data: { path: rel } });
    }
  };
  await (await openRefsDir('refs/heads')).close();
  const heads: Array<[string, string, string | null]> = [];
  await walkRefs(path.join(repo.path, 'refs', 'heads'), '', heads);
  await add(heads, null);
  const d = await openRefsDir('refs/remotes');
  const remotes: string[] = [];
  for await (const e of d) if (e.isDirectory() && REMOTE_RE.test(e.name)) remotes.push(e.name);
  for (const r of remotes) {
    const items: Array<[string, string, string | null]> = [];
    await walkRefs(path.join(repo.path, 'refs', 'remotes', r), '', items);
    await add(items, r);
  }
  return out;
}

export interface ListRefsOptions {
  /** Only refs whose name starts with this `[REMOTE:]PREFIX` (names keep the prefix). */
  prefix?: string;
}

/**
 * `ostree refs`: local and remote refs (`name` or `remote:name`) with the
 * commits they point at, sorted by name; `prefix` (itself a refspec, e.g.
 * `exampleos` or `origin:exampleos`) keeps only that ref or those below it,
 * with their full names. Aliases (symlinked refs) carry `aliasOf`.
 *
 * @example
 * import { listRefs } from 'node-ostree';
 * for (const r of await listRefs(repo, { prefix: 'exampleos' })) console.log(r.name, r.checksum);
 */
export async function listRefs(repo: Repo, opts: ListRefsOptions = {}): Promise<RefEntry[]> {
  const raw = await listRefsRaw(repo, { prefix: opts.prefix ?? null, cutPrefix: false });
  const aliases = new Map(await listRefsRaw(repo, { prefix: opts.prefix ?? null, cutPrefix: false, aliases: true }));
  const out: RefEntry[] = raw.map(([name, checksum]) => {
    const colon = name.indexOf(':');
    const e: RefEntry = { name, remote: colon >= 0 ? name.slice(0, colon) : null, ref: colon >= 0 ? name.slice(colon + 1) : name, checksum };
    const a = aliases.get(name);
    if (a !== undefined) e.aliasOf = a;
    return e;
  });
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** List collection refs under refs/mirrors: entries `(collection-id, ref)`. */
export async function listMirrorRefs(repo: Repo): Promise<Array<{ collectionId: string; ref: string; checksum: string }>> {
  const out: Array<{ collectionId: string; ref: string; checksum: string }> = [];
  let cids: string[] = [];
  try {
    cids = await fsp.readdir(path.join(repo.path, 'refs', 'mirrors'));
  } catch {
    return out;
  }
  for (const cid of cids.sort()) {
    const items: Array<[string, string, string | null]> = [];
    await walkRefs(path.join(repo.path, 'refs', 'mirrors', cid), '', items);
    for (const [name, full] of items) {
      const checksum = await readRefFile(full);
      if (checksum) out.push({ collectionId: cid, ref: name, checksum });
    }
  }
  return out;
}

/** The checks a ref update must pass before anything is written: a valid refspec that does not look like a checksum, and a checksum (or null). */
export function checkRefUpdate(spec: string, checksum: string | null): { remote: string | null; ref: string } {
  const { remote, ref } = parseRefspec(spec);
  if (isValidChecksum(ref)) throw new OstreeError('OSTREE_INVALID_REF', `Invalid ref name ${ref}: refs may not look like checksums`);
  if (checksum !== null && !isValidChecksum(checksum)) throw new OstreeError('OSTREE_INVALID_CHECKSUM', `Invalid checksum ${checksum}`);
  return { remote, ref };
}

/**
 * Write (or delete, with checksum null) a ref file atomically, without the
 * repo lock: what a Transaction does when it commits. Callers outside a
 * transaction use setRef() (lib/refs/set-ref.ts), which takes the lock.
 */
export async function writeRef(repo: Repo, spec: string, checksum: string | null, opts: { fsync?: boolean } = {}): Promise<void> {
  const { remote, ref } = checkRefUpdate(spec, checksum);
  await writeRefAt(repo, refFile(repo, remote, ref), spec, checksum, { ...opts, missingOk: false });
}

/**
 * Write (or delete) the ref file `file` under REPO/refs, named `spec` in
 * errors; the shared tail of writeRef and writeCollectionRef. Deleting a
 * missing ref throws OSTREE_REF_NOT_FOUND unless `missingOk`.
 */
export async function writeRefAt(repo: Repo, file: string, spec: string, checksum: string | null, opts: { fsync?: boolean; missingOk?: boolean }): Promise<void> {
  if (checksum === null) {
    try {
      await fsp.unlink(file);
    } catch (err) {
      if (isErrno(err, 'ENOENT') || isErrno(err, 'ENOTDIR')) {
        if (opts.missingOk) return;
        throw new OstreeError('OSTREE_REF_NOT_FOUND', `Refspec '${spec}' not found`, { data: { ref: spec } });
      }
      throw err;
    }
    // As ostree, the emptied directories stay (`ostree/1/1/` after a deployment-ref cleanup).
    return;
  }
  const dir = path.dirname(file);
  try {
    await fsp.mkdir(dir, { recursive: true });
  } catch (err) {
    if (isErrno(err, 'EEXIST') || isErrno(err, 'ENOTDIR')) {
      throw new OstreeError('OSTREE_INVALID_REF', `Ref ${spec} conflicts with an existing ref`, { cause: err });
    }
    throw err;
  }
  try {
    const st = await fsp.lstat(file);
    if (st.isDirectory()) {
      // As ostree's write_checksum_file_at: a directory holding refs is a conflict; an emptied one (left by ref
      // deletions) is removed and the ref written in its place.
      const held = (await fsp.readdir(file, { recursive: true, withFileTypes: true })).some((e) => !e.isDirectory());
      if (held) throw new OstreeError('OSTREE_INVALID_REF', `Ref ${spec} conflicts with existing refs under ${spec}/`);
      await fsp.rm(file, { recursive: true });
    }
  } catch (err) {
    if (!isErrno(err, 'ENOENT')) throw err;
  }
  await writeRefFile(repo, file, checksum, opts.fsync ?? repo.fsyncEnabled);
}

/**
 * Fault injection for tests: with NODE_OSTREE_FAULT=ref-tmp-created the
 * process kills itself (SIGKILL) as soon as a ref's temp file exists, the
 * crash point a ref write must survive. Read only on this path.
 */
const FAULT_REF_TMP_CREATED = 'ref-tmp-created';

/**
 * A temp name for a ref write in REPO/tmp: on the filesystem of refs/ (one
 * rename moves it into place), and never where refs are listed, so a crash
 * leaves at most a stray file there for the tmp/ expiry (lib/repo/tmpdir.ts).
 */
async function refTmpPath(repo: Repo): Promise<string> {
  const dir = path.join(repo.path, 'tmp');
  try {
    await fsp.mkdir(dir, { mode: 0o755 });
  } catch (err) {
    if (!isErrno(err, 'EEXIST')) throw err;
  }
  return path.join(dir, tmpName('ref'));
}

/** Write a ref file atomically: temp file in REPO/tmp, optional fsync, rename over. */
async function writeRefFile(repo: Repo, file: string, checksum: string, fsync: boolean): Promise<void> {
  const onTmpCreated = process.env.NODE_OSTREE_FAULT === FAULT_REF_TMP_CREATED ? () => process.kill(process.pid, 'SIGKILL') : undefined;
  await writeFileAtomic(file, checksum + '\n', { fsync, tmpPath: await refTmpPath(repo), onTmpCreated });
}

/** `ostree refs --alias --create=ALIAS TARGET`: a symlink ref. */
export async function setRefAlias(repo: Repo, alias: string, target: string): Promise<void> {
  validateRef(alias);
  validateRef(target);
  const file = refFile(repo, null, alias);
  await fsp.mkdir(path.dirname(file), { recursive: true });
  const rel = path.relative(path.dirname(file), refFile(repo, null, target));
  // Made in tmp/ with its text relative to the alias's directory: it only moves.
  const tmp = await refTmpPath(repo);
  await fsp.symlink(rel, tmp);
  try {
    await fsp.rename(tmp, file);
  } catch (err) {
    await fsp.rm(tmp, { force: true });
    throw err;
  }
}

