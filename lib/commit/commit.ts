// Commit: build a MutableTree from directories / refs, write its objects and
// a commit. Mirrors ostree-mutable-tree.c, ostree-repo-commit.c
// (write_directory_to_mtree, write_mtree, write_commit) and the
// builtins/ot-builtin-commit.c option semantics (FORMATS.md §2.12).
import { promises as fsp, Dirent } from 'node:fs';
import * as path from 'node:path';
import { OstreeError, throwAborted, withContext } from '../errors';
import { Repo } from '../repo/repo';
import { Transaction, ContentSource, chunk, mapLimit } from '../repo/transaction';
import {
  ObjectType,
  DirMeta,
  Metadata,
  Xattrs,
  serializeDirMeta,
  serializeDirTree,
  serializeCommit,
  sha256Hex,
  validateFilename,
  S_IFDIR,
  Commit,
} from '../objects/formats';
import { native, ChecksumOptions, FileChecksum } from '../binding';
import { Variant } from '../gvariant/codec';

/** A directory being built: content checksums and subtrees, or a lazily expanded stored tree. */
export class MutableTree {
  files = new Map<string, string>();
  dirs = new Map<string, MutableTree>();
  metaChecksum: string | null = null;
  /** A stored dirtree not yet expanded (from --tree=ref= or a parent dir). */
  private lazy: string | null = null;

  static fromStored(treeChecksum: string, metaChecksum: string): MutableTree {
    const t = new MutableTree();
    t.lazy = treeChecksum;
    t.metaChecksum = metaChecksum;
    return t;
  }

  get storedChecksum(): string | null {
    return this.lazy;
  }

  async ensureLoaded(repo: Repo): Promise<void> {
    if (!this.lazy) return;
    const dt = await repo.readDirTree(this.lazy);
    this.lazy = null;
    for (const [n, c] of dt.files) this.files.set(n, c);
    for (const [n, t, m] of dt.dirs) this.dirs.set(n, MutableTree.fromStored(t, m));
  }

  async ensureDir(repo: Repo, name: string): Promise<MutableTree> {
    await this.ensureLoaded(repo);
    if (this.files.has(name)) {
      throw new OstreeError('OSTREE_EXISTS', `Can't replace file with directory: ${name}`);
    }
    let d = this.dirs.get(name);
    if (!d) {
      d = new MutableTree();
      this.dirs.set(name, d);
    }
    return d;
  }

  async replaceFile(repo: Repo, name: string, checksum: string): Promise<void> {
    await this.ensureLoaded(repo);
    if (this.dirs.has(name)) throw new OstreeError('OSTREE_EXISTS', `Can't replace directory with file: ${name}`);
    this.files.set(name, checksum);
  }

  /** Write dirtrees bottom-up; returns the dirtree checksum. */
  async write(tx: Transaction): Promise<string> {
    if (this.lazy) return this.lazy;
    const dirs: Array<[string, string, string]> = [];
    for (const [name, sub] of this.dirs) {
      const t = await sub.write(tx);
      if (!sub.metaChecksum) throw new OstreeError('OSTREE_INVALID_ARGUMENT', `Directory ${name} has no metadata`);
      dirs.push([name, t, sub.metaChecksum]);
    }
    const data = serializeDirTree({ files: [...this.files], dirs });
    return tx.writeMetadata(ObjectType.DirTree, data);
  }
}

export interface CommitModifier {
  ownerUid?: number;
  ownerGid?: number;
  canonicalPermissions?: boolean;
  skipXattrs?: boolean;
  /** Paths (relative to the tree root, starting with '/') to leave out. */
  skipList?: Set<string>;
  /** path ('/a/b') -> mode bits to OR ('+') or set ('=') */
  statOverride?: Map<string, { op: '+' | '='; mode: number }>;
}

export interface Progress {
  phase: string;
  loaded: number;
  total: number;
}

export interface ScanOptions {
  modifier?: CommitModifier;
  signal?: AbortSignal;
  onProgress?: (p: Progress) => void;
  /** Files checksummed per native call. */
  batchSize?: number;
  /** Native calls in flight. */
  parallelism?: number;
  /** "dev:ino" -> content checksum of repo objects (--link-checkout-speedup). */
  devino?: Map<string, string>;
}

interface PendingFile {
  tree: MutableTree;
  name: string;
  path: string;
  rel: string;
}

/** Add the contents of `dir` into `tree` (write_directory_to_mtree). */
export async function writeDirectoryToMtree(tx: Transaction, dir: string, tree: MutableTree, opts: ScanOptions = {}): Promise<void> {
  const repo = tx.repo;
  const mod = opts.modifier ?? {};
  const canonical = mod.canonicalPermissions || repo.mode === 'bare-user-only';
  const skipXattrs = canonical || mod.skipXattrs || repo.disableXattrs;
  const pending: PendingFile[] = [];

  const dirMetaOf = async (p: string, rel: string): Promise<string> => {
    const st = await fsp.lstat(p);
    let mode = st.mode;
    let uid = mod.ownerUid ?? st.uid;
    let gid = mod.ownerGid ?? st.gid;
    if (canonical) {
      uid = 0;
      gid = 0;
      mode = mode & (S_IFDIR | 0o755);
    }
    mode = applyStatOverride(mod, rel, mode);
    let xattrs: Xattrs = [];
    if (!skipXattrs) xattrs = (await native().xattrs_get(p)).filter(([, v]) => v.length > 0);
    const meta: DirMeta = { uid, gid, mode, xattrs };
    return tx.writeMetadata(ObjectType.DirMeta, serializeDirMeta(meta));
  };

  const walk = async (p: string, rel: string, t: MutableTree): Promise<void> => {
    throwAborted(opts.signal);
    await t.ensureLoaded(repo);
    t.metaChecksum = await dirMetaOf(p, rel || '/');
    let ents: Dirent[];
    try {
      ents = await fsp.readdir(p, { withFileTypes: true });
    } catch (err) {
      throw withContext(`opendir(${p})`, err);
    }
    ents.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of ents) {
      validateFilename(e.name);
      const childRel = `${rel}/${e.name}`;
      if (mod.skipList?.has(childRel)) continue;
      const full = path.join(p, e.name);
      if (e.isDirectory()) {
        const sub = await t.ensureDir(repo, e.name);
        await walk(full, childRel, sub);
      } else if (e.isFile() || e.isSymbolicLink()) {
        if (t.dirs.has(e.name)) throw new OstreeError('OSTREE_EXISTS', `Can't replace directory with file: ${childRel}`);
        if (opts.devino && e.isFile()) {
          const st = await fsp.lstat(full, { bigint: true });
          const hit = st.nlink > 1n ? opts.devino.get(`${st.dev}:${st.ino}`) : undefined;
          if (hit) {
            await t.replaceFile(repo, e.name, hit);
            tx.stats.contentCacheHits++;
            continue;
          }
        }
        pending.push({ tree: t, name: e.name, path: full, rel: childRel });
      } else {
        throw new OstreeError('OSTREE_UNSUPPORTED_FILE_TYPE', `Not a regular file or symlink: ${e.name}`, { data: { path: full } });
      }
    }
  };
  await walk(dir, '', tree);

  // Checksum in native batches across the thread pool, then store what's missing.
  const copts: ChecksumOptions = { source: 'fs' };
  if (mod.ownerUid !== undefined) copts.uid = mod.ownerUid;
  if (mod.ownerGid !== undefined) copts.gid = mod.ownerGid;
  if (canonical) copts.canonicalPermissions = true;
  if (skipXattrs) copts.skipXattrs = true;
  const batches = chunk(pending, opts.batchSize ?? 128);
  let done = 0;
  await mapLimit(batches, opts.parallelism ?? 4, async (batch) => {
    throwAborted(opts.signal);
    let sums: FileChecksum[];
    try {
      sums = await native().checksum_files(batch.map((f) => f.path), copts);
    } catch (err) {
      throw withContext('Writing content object', err);
    }
    const toWrite: ContentSource[] = [];
    for (let i = 0; i < batch.length; i++) {
      const f = batch[i];
      let s = sums[i];
      if (mod.statOverride?.size) s = await reChecksumWithOverride(s, f, mod);
      if (!(await repo.hasObject(ObjectType.File, s.checksum, { includeParent: false }))) {
        toWrite.push({
          checksum: s.checksum,
          header: { uid: s.uid, gid: s.gid, mode: s.mode, symlinkTarget: s.symlinkTarget ?? '', xattrs: s.xattrs },
          path: f.path,
          size: s.symlinkTarget === null ? s.size : 0,
        });
      }
      await f.tree.replaceFile(repo, f.name, s.checksum);
    }
    await tx.writeContent(dedupe(toWrite));
    tx.stats.contentTotal += batch.length;
    done += batch.length;
    opts.onProgress?.({ phase: 'content', loaded: done, total: pending.length });
  });
}

function dedupe(items: ContentSource[]): ContentSource[] {
  const seen = new Set<string>();
  return items.filter((s) => (seen.has(s.checksum) ? false : (seen.add(s.checksum), true)));
}

function applyStatOverride(mod: CommitModifier, rel: string, mode: number): number {
  const o = mod.statOverride?.get(rel);
  if (!o) return mode;
  return o.op === '+' ? mode | o.mode : (mode & 0o170000) | o.mode;
}

async function reChecksumWithOverride(s: FileChecksum, f: PendingFile, mod: CommitModifier): Promise<FileChecksum> {
  const mode = applyStatOverride(mod, f.rel, s.mode);
  if (mode === s.mode) return s;
  const { contentChecksum } = await import('../objects/formats');
  const payload = s.symlinkTarget !== null ? Buffer.alloc(0) : await fsp.readFile(f.path);
  const checksum = contentChecksum({ uid: s.uid, gid: s.gid, mode, symlinkTarget: s.symlinkTarget ?? '', xattrs: s.xattrs }, payload);
  return { ...s, mode, checksum };
}

/** Parse an ostree --statoverride file: lines "+MODE PATH" / "=MODE PATH" / "MODE PATH". */
export function parseStatOverride(text: string): Map<string, { op: '+' | '='; mode: number }> {
  const m = new Map<string, { op: '+' | '='; mode: number }>();
  for (const line of text.split('\n')) {
    const l = line.trim();
    if (!l) continue;
    const sp = l.indexOf(' ');
    if (sp < 0) throw new OstreeError('OSTREE_INVALID_ARGUMENT', `Malformed statoverride line '${l}'`);
    let modeStr = l.slice(0, sp);
    let op: '+' | '=' = '+';
    if (modeStr[0] === '+' || modeStr[0] === '=') {
      op = modeStr[0] as '+' | '=';
      modeStr = modeStr.slice(1);
    }
    // ostree reads the number with g_ascii_strtod: decimal, e.g. "+2048" adds S_ISUID (04000).
    const mode = Number(modeStr);
    if (!Number.isInteger(mode) || mode < 0) throw new OstreeError('OSTREE_INVALID_ARGUMENT', `Malformed statoverride mode '${modeStr}'`);
    m.set(l.slice(sp + 1), { op, mode });
  }
  return m;
}

export interface WriteCommitOptions {
  parent?: string | null;
  subject?: string;
  body?: string;
  metadata?: Metadata;
  /** Seconds since the epoch; default now (or SOURCE_DATE_EPOCH). */
  timestamp?: bigint;
  rootTree: string;
  rootMeta: string;
}

/** Serialise and store a commit object; returns its checksum. */
export async function writeCommit(tx: Transaction, o: WriteCommitOptions): Promise<string> {
  let ts = o.timestamp;
  if (ts === undefined) {
    const sde = process.env.SOURCE_DATE_EPOCH;
    ts = sde && /^\d+$/.test(sde) ? BigInt(sde) : BigInt(Math.floor(Date.now() / 1000));
  }
  const c: Commit = {
    metadata: o.metadata ?? [],
    parent: o.parent ?? null,
    related: [],
    subject: o.subject ?? '',
    body: o.body ?? '',
    timestamp: ts,
    rootTree: o.rootTree,
    rootMeta: o.rootMeta,
  };
  return tx.writeMetadata(ObjectType.Commit, serializeCommit(c));
}

export type TreeSource = { dir: string } | { ref: string } | { tar: string };

export interface CommitOptions {
  /** Branch to update (-b). Omit with orphan. */
  branch?: string;
  orphan?: boolean;
  /** Trees to overlay in order (--tree); default none. */
  trees: TreeSource[];
  subject?: string;
  body?: string;
  /** Explicit parent checksum, or 'none'; default: the branch's current commit. */
  parent?: string | null;
  timestamp?: bigint;
  /** Metadata entries in order (builder order). */
  metadata?: Metadata;
  detachedMetadata?: Metadata;
  /** Keys copied from the parent commit's metadata. */
  keepMetadata?: string[];
  /** Extra refs to bind (--bind-ref). */
  bindRefs?: string[];
  noBindings?: boolean;
  modifier?: CommitModifier;
  skipIfUnchanged?: boolean;
  /** Reuse checksums of files hardlinked to repo objects (--link-checkout-speedup). */
  linkCheckoutSpeedup?: boolean;
  /** Record ostree.sizes (archive repos only, as ostree). */
  generateSizes?: boolean;
  /** --tar-autocreate-parents */
  tarAutocreateParents?: boolean;
  /** Delete source files once committed (--consume). */
  consume?: boolean;
  signal?: AbortSignal;
  onProgress?: (p: Progress) => void;
  lockTimeout?: number;
}

export interface CommitResult {
  checksum: string;
  /** False when skip-if-unchanged found nothing to commit. */
  changed: boolean;
  rootTree: string;
  rootMeta: string;
  stats: Transaction['stats'];
}

/** `ostree commit`: the whole operation in one transaction. */
export async function commit(repo: Repo, opts: CommitOptions): Promise<CommitResult> {
  if (!opts.branch && !opts.orphan) {
    throw new OstreeError('OSTREE_INVALID_ARGUMENT', 'A branch must be specified with --branch, or use --orphan');
  }
  const { resolveRev, validateRef } = await import('../refs/refs');
  if (opts.branch) validateRef(opts.branch);
  const tx = await Transaction.begin(repo, { signal: opts.signal, timeout: opts.lockTimeout });
  try {
    let parent: string | null = null;
    if (opts.parent === undefined) {
      parent = opts.branch ? await resolveRev(repo, opts.branch, { allowNoent: true }) : null;
    } else if (opts.parent !== null && opts.parent !== 'none') {
      parent = await resolveRev(repo, opts.parent);
    }
    let devino: Map<string, string> | undefined;
    const m = opts.modifier ?? {};
    const metadataModified = m.ownerUid !== undefined || m.ownerGid !== undefined || m.canonicalPermissions || m.skipXattrs || m.statOverride?.size;
    if (opts.linkCheckoutSpeedup && (repo.mode === 'bare' || repo.mode === 'bare-user') && !metadataModified) {
      devino = await scanHardlinks(repo);
    }
    const root = new MutableTree();
    for (const t of opts.trees) {
      if ('dir' in t) {
        await writeDirectoryToMtree(tx, t.dir, root, { modifier: opts.modifier, signal: opts.signal, onProgress: opts.onProgress, devino });
      } else if ('ref' in t) {
        const c = await repo.readCommit(await resolveRev(repo, t.ref) as string);
        await mergeStoredTree(repo, root, c.rootTree, c.rootMeta);
      } else {
        const { writeTarToMtree } = await import('./tar');
        await writeTarToMtree(tx, t.tar, root, { modifier: opts.modifier, signal: opts.signal, autocreateParents: opts.tarAutocreateParents });
      }
    }
    if (!root.metaChecksum) {
      // An empty commit: root dir 0755 owned by us (like ostree with no --tree and an empty dir).
      root.metaChecksum = await tx.writeMetadata(
        ObjectType.DirMeta,
        serializeDirMeta({ uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0, mode: S_IFDIR | 0o755, xattrs: [] }),
      );
    }
    const rootTree = await root.write(tx);
    const rootMeta = root.metaChecksum;
    let parentCommit: Commit | null = null;
    if (parent) parentCommit = await repo.readCommit(parent);
    if (opts.skipIfUnchanged && parentCommit && parentCommit.rootTree === rootTree && parentCommit.rootMeta === rootMeta) {
      await tx.commit();
      return { checksum: parent as string, changed: false, rootTree, rootMeta, stats: tx.stats };
    }
    const metadata: Metadata = [...(opts.metadata ?? [])];
    if (opts.keepMetadata?.length && parentCommit) {
      for (const k of opts.keepMetadata) {
        const v = parentCommit.metadata.find(([key]) => key === k);
        if (v) metadata.push([k, v[1]]);
      }
    }
    if (!opts.noBindings) {
      const refs = [...(opts.branch ? [opts.branch] : []), ...(opts.bindRefs ?? [])].sort();
      // ostree 2022.7 writes the binding even when empty (--orphan).
      metadata.push(['ostree.ref-binding', { type: 'as', value: refs } as Variant]);
      const cid = repo.collectionId;
      if (cid) metadata.push(['ostree.collection-binding', { type: 's', value: cid } as Variant]);
    }
    if (opts.generateSizes && repo.mode === 'archive') {
      metadata.push(['ostree.sizes', { type: 'aay', value: await sizesMetadata(repo, rootTree, rootMeta) } as Variant]);
    }
    const checksum = await writeCommit(tx, {
      parent,
      subject: opts.subject,
      body: opts.body,
      metadata,
      timestamp: opts.timestamp,
      rootTree,
      rootMeta,
    });
    if (opts.detachedMetadata) {
      const { serialize } = await import('../gvariant/codec');
      await tx.writeCommitMeta(checksum, serialize('a{sv}', opts.detachedMetadata));
    }
    if (opts.branch) tx.setRef(opts.branch, checksum);
    await tx.commit();
    if (opts.consume) {
      for (const t of opts.trees) if ('dir' in t) await consumeDir(t.dir);
    }
    return { checksum, changed: true, rootTree, rootMeta, stats: tx.stats };
  } catch (err) {
    await tx.abort();
    throw err;
  }
}

/** Overlay a stored tree onto `root` (--tree=ref=). */
export async function mergeStoredTree(repo: Repo, root: MutableTree, tree: string, meta: string): Promise<void> {
  if (root.metaChecksum === null && root.files.size === 0 && root.dirs.size === 0 && !root.storedChecksum) {
    Object.assign(root, MutableTree.fromStored(tree, meta));
    return;
  }
  await root.ensureLoaded(repo);
  root.metaChecksum = meta;
  const dt = await repo.readDirTree(tree);
  for (const [n, c] of dt.files) await root.replaceFile(repo, n, c);
  for (const [n, t, m] of dt.dirs) {
    const sub = await root.ensureDir(repo, n);
    await mergeStoredTree(repo, sub, t, m);
  }
}

/** ostree_repo_scan_hardlinks: map (dev, ino) of every content object to its checksum. */
export async function scanHardlinks(repo: Repo): Promise<Map<string, string>> {
  const map = new Map<string, string>();
  const files: string[] = [];
  for await (const [csum, type] of repo.listObjects()) if (type === ObjectType.File) files.push(csum);
  await mapLimit(files, 32, async (c) => {
    const st = await fsp.lstat(repo.objectPath(c, ObjectType.File), { bigint: true });
    map.set(`${st.dev}:${st.ino}`, c);
  });
  return map;
}

function varint(n: number): Buffer {
  const out: number[] = [];
  do {
    let b = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) b |= 0x80;
    out.push(b);
  } while (n > 0);
  return Buffer.from(out);
}

/** ostree.sizes: csum ‖ varint(archived) ‖ varint(unpacked) ‖ type, for every reachable object, sorted by checksum. */
async function sizesMetadata(repo: Repo, rootTree: string, rootMeta: string): Promise<Buffer[]> {
  const seen = new Map<string, [number, number, number]>();
  const metaSize = async (type: ObjectType, csum: string) => {
    const st = await fsp.stat(repo.objectPath(csum, type));
    seen.set(csum, [st.size, st.size, type]);
  };
  const walk = async (tree: string, meta: string): Promise<void> => {
    if (!seen.has(meta)) await metaSize(ObjectType.DirMeta, meta);
    if (seen.has(tree)) return;
    await metaSize(ObjectType.DirTree, tree);
    const dt = await repo.readDirTree(tree);
    for (const [, c] of dt.files) {
      if (seen.has(c)) continue;
      const o = await repo.loadFile(c);
      const st = await fsp.stat(o.objectPath);
      seen.set(c, [st.size, o.header.symlinkTarget ? Buffer.byteLength(o.header.symlinkTarget) : o.size, ObjectType.File]);
    }
    for (const [, t, m] of dt.dirs) await walk(t, m);
  };
  await walk(rootTree, rootMeta);
  return [...seen.entries()]
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
    .map(([c, [archived, unpacked, type]]) => Buffer.concat([Buffer.from(c, 'hex'), varint(archived), varint(unpacked), Buffer.from([type])]));
}

async function consumeDir(dir: string): Promise<void> {
  const ents = await fsp.readdir(dir);
  for (const e of ents) await fsp.rm(path.join(dir, e), { recursive: true, force: true });
}

export { sha256Hex };
