// The repository: layout, modes, config, object reading. Mirrors ostree-repo.c.
import { promises as fsp, constants as fsc } from 'node:fs';
import * as path from 'node:path';
import { OstreeError, isErrno, withContext } from '../errors';
import { KeyFile } from './keyfile';
import { exists, makeDir, readSmallFile, readSmallFileBytes } from './small-files';
import {
  ObjectType,
  OBJECT_TYPE_NAMES,
  Commit,
  DirTree,
  DirMeta,
  FileHeader,
  parseCommit,
  parseDirTree,
  parseDirMeta,
  parseZlibHeader,
  parseOstreeMeta,
  splitFramedHeader,
  assertChecksum,
  isLink,
  isMetaType,
  Metadata,
} from '../objects/formats';
import { deserialize } from '../gvariant/codec';
import { native } from '../binding';
import type { RepoLock, RepoLockHold, LockType, LockOptions } from '../lock';
import { crashPoint } from '../crash-point';

// zlib and the lock module are loaded on first use: most CLI commands need
// neither, and every module loaded counts in start-up time.
let zlib: typeof import('node:zlib') | undefined;
const inflateRaw = (buf: Buffer): Promise<Buffer> =>
  new Promise((resolve, reject) => {
    (zlib ??= require('node:zlib') as typeof import('node:zlib')).inflateRaw(buf, (err, out) => (err ? reject(err) : resolve(out)));
  });
const lockModule = (): Promise<typeof import('../lock')> => import('../lock');

export type RepoMode = 'bare' | 'archive' | 'bare-user' | 'bare-user-only';

export const REPO_MODES: RepoMode[] = ['bare', 'archive', 'bare-user', 'bare-user-only'];

/** Name of a mode as written in `core.mode`. */
export function modeToConfig(mode: RepoMode): string {
  return mode === 'archive' ? 'archive-z2' : mode;
}

export function parseRepoMode(s: string): RepoMode {
  switch (s) {
    case 'archive':
    case 'archive-z2':
      return 'archive';
    case 'bare':
    case 'bare-user':
    case 'bare-user-only':
      return s;
    default:
      throw new OstreeError('OSTREE_UNSUPPORTED_MODE', `Invalid mode '${s}' in repository configuration`);
  }
}

export interface CreateOptions {
  mode?: RepoMode;
  collectionId?: string;
}

/** A loaded content object: header plus a way to get the payload. */
export interface ContentObject {
  header: FileHeader;
  size: number;
  /** Path of the object file on disk. */
  objectPath: string;
  /** For bare modes, regular files: the payload is the object file itself. */
  payloadIsFile: boolean;
  /** Read the whole payload (regular files; empty for symlinks). */
  readPayload(): Promise<Buffer>;
}

/**
 * An OSTree repository (`OstreeRepo`): its mode and config, locking and
 * reading objects. Everything else is a free function taking the Repo first
 * (`commit(repo, …)`, `pull(repo, …)`). Open one with {@link Repo.open} or make
 * one with {@link Repo.create} (`ostree init`).
 *
 * @example
 * import { Repo, resolveRev } from 'node-ostree';
 * const repo = await Repo.create('/srv/repo', { mode: 'archive' });
 * const head = await resolveRev(repo, 'exampleos/stable', { allowNoent: true });
 * if (head) console.log((await repo.readCommit(head)).subject);
 */
export class Repo {
  readonly path: string;
  readonly mode: RepoMode;
  config: KeyFile;
  /** core.parent repo, consulted read-only. */
  parent: Repo | null = null;
  /** @internal Lock state shared by every operation on this Repo object. */
  lockState: RepoLock | null = null;
  private _writable: boolean | null = null;

  private constructor(p: string, mode: RepoMode, config: KeyFile) {
    this.path = p;
    this.mode = mode;
    this.config = config;
  }

  /** `ostree init`: create the layout (idempotent on an existing repo of the same mode). */
  static async create(repoPath: string, opts: CreateOptions = {}): Promise<Repo> {
    const mode = opts.mode ?? 'bare';
    if (!REPO_MODES.includes(mode)) throw new OstreeError('OSTREE_UNSUPPORTED_MODE', `Invalid mode '${mode}'`);
    if (opts.collectionId !== undefined) validateCollectionId(opts.collectionId);
    const abs = path.resolve(repoPath);
    await fsp.mkdir(abs, { recursive: true });
    const cfgPath = path.join(abs, 'config');
    let exists = false;
    try {
      await fsp.access(path.join(abs, 'objects'));
      exists = true;
    } catch {
      /* new repo */
    }
    if (exists) {
      const existing = await Repo.open(abs);
      if (existing.mode !== mode) {
        throw new OstreeError('OSTREE_EXISTS', `Repository at ${abs} already exists with mode ${modeToConfig(existing.mode)}`);
      }
      return existing;
    }
    const kf = new KeyFile();
    kf.set('core', 'repo_version', '1');
    kf.set('core', 'mode', modeToConfig(mode));
    if (opts.collectionId) kf.set('core', 'collection-id', opts.collectionId);
    for (const d of ['objects', 'tmp', 'tmp/cache', 'extensions', 'state', 'refs', 'refs/heads', 'refs/mirrors', 'refs/remotes']) {
      await fsp.mkdir(path.join(abs, d), { recursive: true, mode: 0o755 });
    }
    await writeFileAtomic(cfgPath, kf.serialize());
    return new Repo(abs, mode, kf);
  }

  /** Open an existing repository of any supported mode. */
  static async open(repoPath: string): Promise<Repo> {
    const abs = path.resolve(repoPath);
    let text: string;
    try {
      await exists(path.join(abs, 'objects'));
      text = await readSmallFile(path.join(abs, 'config'));
    } catch (err) {
      throw new OstreeError('OSTREE_REPO_NOT_FOUND', `opening repo: opendir(objects): No such file or directory`, {
        cause: err,
        data: { path: abs },
      });
    }
    // As ostree_repo_open: a writable repo gets its tmp/ back if someone removed it to free space.
    try {
      await makeDir(path.join(abs, 'tmp'), 0o775);
    } catch (err) {
      if (!isErrno(err, 'EEXIST') && !isErrno(err, 'EACCES') && !isErrno(err, 'EROFS') && !isErrno(err, 'EPERM')) throw err;
    }
    const kf = KeyFile.parse(text);
    const version = kf.get('core', 'repo_version');
    if (version === undefined) throw new OstreeError('OSTREE_CONFIG', 'Invalid repository: missing repo_version');
    if (version.trim() !== '1') throw new OstreeError('OSTREE_CONFIG', `Invalid repository version ${version}, expected 1`);
    if (kf.getBoolean('core', 'archive', false)) {
      throw new OstreeError('OSTREE_UNSUPPORTED_MODE', 'This version of OSTree no longer supports "archive" repositories; use archive-z2 instead');
    }
    const mode = parseRepoMode(kf.get('core', 'mode')?.trim() ?? 'bare');
    const repo = new Repo(abs, mode, kf);
    const parentPath = kf.get('core', 'parent');
    if (parentPath) repo.parent = await Repo.open(parentPath.trim());
    return repo;
  }

  // ------------------------------------------------------------ config

  /** Re-read REPO/config from disk (after another process changed it). */
  async reloadConfig(): Promise<void> {
    this.config = KeyFile.parse(await fsp.readFile(path.join(this.path, 'config'), 'utf8'));
  }

  /** Write the config back atomically. */
  async writeConfig(kf: KeyFile = this.config): Promise<void> {
    await writeFileAtomic(path.join(this.path, 'config'), kf.serialize());
    this.config = kf;
  }

  /** core.collection-id, or null when the repository has none. */
  get collectionId(): string | null {
    return this.config.get('core', 'collection-id')?.trim() || null;
  }

  /** core.fsync (default true). */
  get fsyncEnabled(): boolean {
    return this.config.getBoolean('core', 'fsync', true);
  }

  /** core.disable-xattrs (default false): commits and checkouts ignore extended attributes. */
  get disableXattrs(): boolean {
    return this.config.getBoolean('core', 'disable-xattrs', false);
  }

  /** archive.zlib-level (default 6): the compression level of archive-mode content objects. */
  get zlibLevel(): number {
    return this.config.getInteger('archive', 'zlib-level', 6);
  }

  /** Whether objects/ is writable by this process (read-only repos never lock). */
  async isWritable(): Promise<boolean> {
    if (this._writable === null) {
      try {
        await fsp.access(path.join(this.path, 'objects'), fsc.W_OK);
        this._writable = true;
      } catch {
        this._writable = false;
      }
    }
    return this._writable;
  }

  // ------------------------------------------------------------ locking

  /**
   * Take a hold on the repository lock (FORMATS.md §5) and return it:
   * `await using l = await repo.lock('shared')`, or call `l.release()`.
   * Holds are recursive and shared by every operation on this Repo object;
   * see RepoLock.push for the waiting rules.
   */
  lock(type: LockType, opts: LockOptions = {}): Promise<RepoLockHold> {
    if (type !== 'shared' && type !== 'exclusive') throw new TypeError(`Invalid lock type '${type}': expected 'shared' or 'exclusive'`);
    return lockModule().then((m) => m.repoLock(this)).then((l) => l.hold(type, opts));
  }

  /** Run `fn` holding the repository lock of `type`; released on every path. */
  withLock<T>(type: LockType, fn: () => Promise<T> | T, opts: LockOptions = {}): Promise<T> {
    return lockModule().then((m) => m.withRepoLock(this, type, fn, opts));
  }

  // ------------------------------------------------------------ objects

  /** Loose object path relative to a repo root, e.g. objects/ab/cdef….commit. */
  static relObjectPath(checksum: string, type: ObjectType, mode: RepoMode): string {
    const ext = type === ObjectType.File && mode === 'archive' ? 'filez' : OBJECT_TYPE_NAMES[type];
    return `objects/${checksum.slice(0, 2)}/${checksum.slice(2)}.${ext}`;
  }

  /** Absolute path of the loose object `checksum` of `type` in this repository. */
  objectPath(checksum: string, type: ObjectType): string {
    return path.join(this.path, Repo.relObjectPath(checksum, type, this.mode));
  }

  /** Whether the object is stored here or, unless includeParent is false, in a core.parent repo (ostree_repo_has_object). */
  async hasObject(type: ObjectType, checksum: string, opts: { includeParent?: boolean } = {}): Promise<boolean> {
    try {
      await fsp.lstat(this.objectPath(checksum, type));
      return true;
    } catch (err) {
      if (!isErrno(err, 'ENOENT')) throw err;
    }
    if (opts.includeParent !== false && this.parent) return this.parent.hasObject(type, checksum);
    return false;
  }

  /** Raw bytes of a metadata object (also searches core.parent). */
  async loadMetadata(type: ObjectType, checksum: string, opts: { allowNoent?: boolean } = {}): Promise<Buffer | null> {
    assertChecksum(checksum);
    if (!isMetaType(type)) throw new OstreeError('OSTREE_INVALID_ARGUMENT', `${OBJECT_TYPE_NAMES[type]} is not a metadata type`);
    try {
      // Commit objects and their detached metadata are small (bytes to a few KiB): read as the config is.
      const file = this.objectPath(checksum, type);
      return await (type === ObjectType.Commit || type === ObjectType.CommitMeta ? readSmallFileBytes(file) : fsp.readFile(file));
    } catch (err) {
      if (!isErrno(err, 'ENOENT')) throw withContext(`Loading ${checksum}.${OBJECT_TYPE_NAMES[type]}`, err);
    }
    if (this.parent) {
      const b = await this.parent.loadMetadata(type, checksum, { allowNoent: true });
      if (b) return b;
    }
    if (opts.allowNoent) return null;
    throw new OstreeError('OSTREE_OBJECT_NOT_FOUND', `No such metadata object ${checksum}.${OBJECT_TYPE_NAMES[type]}`, {
      data: { checksum, type: OBJECT_TYPE_NAMES[type] },
    });
  }

  /** Load and parse a commit object (ostree_repo_load_commit); OSTREE_OBJECT_NOT_FOUND when absent. */
  async readCommit(checksum: string): Promise<Commit> {
    const b = (await this.loadMetadata(ObjectType.Commit, checksum)) as Buffer;
    return parseCommit(b);
  }

  /** Load and parse a dirtree object: the files and subdirectories of one directory. */
  async readDirTree(checksum: string): Promise<DirTree> {
    return parseDirTree((await this.loadMetadata(ObjectType.DirTree, checksum)) as Buffer);
  }

  /** Load and parse a dirmeta object: a directory's uid, gid, mode and xattrs. */
  async readDirMeta(checksum: string): Promise<DirMeta> {
    return parseDirMeta((await this.loadMetadata(ObjectType.DirMeta, checksum)) as Buffer);
  }

  /** Detached metadata (`.commitmeta`), or null when there is none. */
  async readDetachedMetadata(checksum: string): Promise<Metadata | null> {
    const b = await this.loadMetadata(ObjectType.CommitMeta, checksum, { allowNoent: true });
    if (!b) return null;
    return deserialize<Metadata>('a{sv}', b);
  }

  /** True when state/<commit>.commitpartial exists. */
  async isCommitPartial(checksum: string): Promise<boolean> {
    try {
      await exists(path.join(this.path, 'state', `${checksum}.commitpartial`));
      return true;
    } catch {
      return false;
    }
  }

  /** Load a content object's header and payload accessor, in any repo mode. */
  async loadFile(checksum: string): Promise<ContentObject> {
    assertChecksum(checksum);
    const p = this.objectPath(checksum, ObjectType.File);
    try {
      return await this.loadFileAt(p);
    } catch (err) {
      if (isErrno(err, 'ENOENT')) {
        if (this.parent) return this.parent.loadFile(checksum);
        throw new OstreeError('OSTREE_OBJECT_NOT_FOUND', `Couldn't find file object '${checksum}'`, { data: { checksum, type: 'file' } });
      }
      throw withContext(`Loading file object ${checksum}`, err);
    }
  }

  private async loadFileAt(p: string): Promise<ContentObject> {
    switch (this.mode) {
      case 'archive': {
        const raw = await fsp.readFile(p);
        const { header, payloadOffset } = splitFramedHeader(raw);
        const zh = parseZlibHeader(header);
        const { size, ...h } = zh;
        return {
          header: h,
          size: Number(size),
          objectPath: p,
          payloadIsFile: false,
          readPayload: async () => {
            if (isLink(h.mode)) return Buffer.alloc(0);
            const data = await inflateRaw(raw.subarray(payloadOffset));
            if (BigInt(data.length) !== size) {
              throw new OstreeError('OSTREE_CORRUPT_OBJECT', `Corrupted file object; size ${data.length} does not match header ${size}`);
            }
            return data;
          },
        };
      }
      case 'bare-user': {
        const st = await fsp.lstat(p);
        const x = await native().xattrs_get(p);
        const metaRaw = x.find(([n]) => n === 'user.ostreemeta');
        if (!metaRaw) throw new OstreeError('OSTREE_CORRUPT_OBJECT', `Unable to read file metadata (user.ostreemeta missing) for ${p}`);
        const meta = parseOstreeMeta(metaRaw[1]);
        if (isLink(meta.mode)) {
          const data = await fsp.readFile(p);
          const nul = data.indexOf(0);
          const target = data.toString('utf8', 0, nul < 0 ? data.length : nul);
          return {
            header: { uid: meta.uid, gid: meta.gid, mode: meta.mode, symlinkTarget: target, xattrs: meta.xattrs },
            size: 0,
            objectPath: p,
            payloadIsFile: false,
            readPayload: async () => Buffer.alloc(0),
          };
        }
        return {
          header: { uid: meta.uid, gid: meta.gid, mode: meta.mode, symlinkTarget: '', xattrs: meta.xattrs },
          size: st.size,
          objectPath: p,
          payloadIsFile: true,
          readPayload: () => fsp.readFile(p),
        };
      }
      default: {
        const st = await fsp.lstat(p);
        const bareUserOnly = this.mode === 'bare-user-only';
        const xattrs = bareUserOnly || this.disableXattrs ? [] : (await native().xattrs_get(p)).filter(([, v]) => v.length > 0);
        const uid = bareUserOnly ? 0 : st.uid;
        const gid = bareUserOnly ? 0 : st.gid;
        if (st.isSymbolicLink()) {
          return {
            header: { uid, gid, mode: st.mode, symlinkTarget: await fsp.readlink(p), xattrs },
            size: 0,
            objectPath: p,
            payloadIsFile: false,
            readPayload: async () => Buffer.alloc(0),
          };
        }
        return {
          header: { uid, gid, mode: st.mode, symlinkTarget: '', xattrs },
          size: st.size,
          objectPath: p,
          payloadIsFile: true,
          readPayload: () => fsp.readFile(p),
        };
      }
    }
  }

  /** List loose objects: yields [checksum, type]. */
  async *listObjects(): AsyncGenerator<[string, ObjectType]> {
    const objDir = path.join(this.path, 'objects');
    let prefixes: string[];
    try {
      prefixes = (await fsp.readdir(objDir)).filter((d) => /^[0-9a-f]{2}$/.test(d)).sort();
    } catch {
      return;
    }
    for (const pre of prefixes) {
      let names: string[];
      try {
        names = (await fsp.readdir(path.join(objDir, pre))).sort();
      } catch {
        continue;
      }
      for (const name of names) {
        const dot = name.indexOf('.');
        if (dot !== 62) continue;
        const csum = pre + name.slice(0, 62);
        if (!/^[0-9a-f]{64}$/.test(csum)) continue;
        const ext = name.slice(dot + 1);
        const type = ext === 'filez' ? ObjectType.File : (Number(Object.keys(OBJECT_TYPE_NAMES).find((k) => OBJECT_TYPE_NAMES[Number(k)] === ext)) as ObjectType);
        if (!type) continue;
        if (type === ObjectType.File && (ext === 'filez') !== (this.mode === 'archive')) continue;
        yield [csum, type];
      }
    }
  }
}

export function validateCollectionId(id: string): void {
  const ok =
    id.length > 0 &&
    id.length <= 255 &&
    id.split('.').length >= 2 &&
    id.split('.').every((el) => /^[A-Za-z_][A-Za-z0-9_]*$/.test(el));
  if (!ok) throw new OstreeError('OSTREE_INVALID_ARGUMENT', `Invalid collection ID ${id}`);
}

let tmpCounter = 0;

/** A random-ish temp name unique in this process. */
export function tmpName(prefix = 'tmp'): string {
  tmpCounter = (tmpCounter + 1) % 1e9;
  return `.${prefix}-${process.pid}-${Date.now().toString(36)}-${tmpCounter}-${Math.random().toString(36).slice(2, 8)}`;
}

export interface AtomicWriteOptions {
  fsync?: boolean;
  mode?: number;
  /** The temp file (default: a temp name beside `dest`); on the same filesystem as `dest`. */
  tmpPath?: string;
  /** Called once the temp file exists, before anything is written to it (fault injection). */
  onTmpCreated?: () => void;
}

/** Write a file atomically: temp file (beside it unless given), optional fsync, rename over. */
export async function writeFileAtomic(dest: string, data: string | Buffer, opts: AtomicWriteOptions = {}): Promise<void> {
  const tmp = opts.tmpPath ?? path.join(path.dirname(dest), tmpName('atomic'));
  const fh = await fsp.open(tmp, 'wx', opts.mode ?? 0o644);
  try {
    try {
      opts.onTmpCreated?.();
      await fh.writeFile(data);
      if (opts.fsync) await fh.sync();
    } finally {
      await fh.close();
    }
    crashPoint();
    await fsp.rename(tmp, dest);
  } catch (err) {
    await fsp.rm(tmp, { force: true });
    throw err;
  }
}
