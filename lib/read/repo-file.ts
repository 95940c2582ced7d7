// A path inside a committed tree, resolved lazily against dirtree/dirmeta
// objects. Mirrors ostree-repo-file.c (OstreeRepoFile): the same path
// resolution rules, enumeration order (files, then directories, each in
// dirtree order) and error texts, so read commands print what `ostree` prints.
import type { Repo, ContentObject } from '../repo/repo';
import { OstreeError } from '../errors';
import { DirMeta, DirTree, S_IFMT, Xattrs, isDir, isLink, isReg } from '../objects/formats';

export type FileType = 'regular' | 'directory' | 'symlink' | 'special';

/** What ostree's GFileInfo carries for a tree entry. */
export interface FileInfo {
  type: FileType;
  /** Full st_mode (type bits included). */
  mode: number;
  uid: number;
  gid: number;
  /** Regular files only; 0 otherwise. */
  size: number;
  symlinkTarget: string | null;
}

function typeOfMode(mode: number): FileType {
  if (isReg(mode)) return 'regular';
  if (isLink(mode)) return 'symlink';
  if (isDir(mode)) return 'directory';
  return 'special';
}

function dirInfo(m: DirMeta): FileInfo {
  return { type: 'directory', mode: m.mode, uid: m.uid, gid: m.gid, size: 0, symlinkTarget: null };
}

/** Xattrs in their stored GVariant form, `a(ayay)` with NUL-terminated names. */
export function xattrsToVariantValue(x: Xattrs): Array<[Buffer, Buffer]> {
  return [...x]
    .map(([n, v]) => [Buffer.from(n + '\0', 'utf8'), v] as [Buffer, Buffer])
    .sort((a, b) => Buffer.compare(a[0], b[0]));
}

/**
 * repo.loadFile() with ostree's error text: outside archive mode a missing
 * object is reported as "Opening content object CSUM: …".
 */
export async function loadContentObject(repo: Repo, checksum: string): Promise<ContentObject> {
  try {
    return await repo.loadFile(checksum);
  } catch (err) {
    if (repo.mode !== 'archive' && err instanceof OstreeError && err.code === 'OSTREE_OBJECT_NOT_FOUND') {
      throw new OstreeError(err.code, `Opening content object ${checksum}: ${err.message}`, { cause: err, data: err.data });
    }
    throw err;
  }
}

interface DirState {
  tree: DirTree;
  meta: DirMeta;
  treeChecksum: string;
  metaChecksum: string;
  /** name -> [isDir, index in files/dirs] */
  index: Map<string, [boolean, number]>;
}

export class RepoFile {
  readonly repo: Repo;
  readonly parent: RepoFile | null;
  /** null for the root. */
  readonly name: string | null;
  private dir: DirState | null = null;
  private resolved = false;
  /** For non-directory entries: the content object checksum. */
  private fileChecksum: string | null = null;
  private rootChecksums: [string, string] | null = null;

  private constructor(repo: Repo, parent: RepoFile | null, name: string | null) {
    this.repo = repo;
    this.parent = parent;
    this.name = name;
  }

  /** The root of a tree given its dirtree and dirmeta checksums. */
  static root(repo: Repo, treeChecksum: string, metaChecksum: string): RepoFile {
    const r = new RepoFile(repo, null, null);
    r.rootChecksums = [treeChecksum, metaChecksum];
    return r;
  }

  /** ostree_repo_read_commit(): resolve `rev` and return its resolved root. */
  static async forCommit(repo: Repo, rev: string): Promise<{ root: RepoFile; commit: string }> {
    const { resolveRev } = await import('../refs/refs');
    const commit = (await resolveRev(repo, rev)) as string;
    const c = await repo.readCommit(commit);
    const root = RepoFile.root(repo, c.rootTree, c.rootMeta);
    await root.ensureResolved();
    return { root, commit };
  }

  getRoot(): RepoFile {
    let f: RepoFile = this;
    while (f.parent) f = f.parent;
    return f;
  }

  /** A child by name (one trailing `/` is dropped, as ostree does). Not resolved yet. */
  child(name: string): RepoFile {
    return new RepoFile(this.repo, this, name.endsWith('/') ? name.slice(0, -1) : name);
  }

  /**
   * g_file_resolve_relative_path(): `/`-separated components, absolute paths
   * start at the tree root. No `.`/`..` handling: they are looked up as names.
   */
  resolveRelativePath(rel: string): RepoFile {
    if (rel.startsWith('/')) {
      if (rel === '/') return this.getRoot();
      if (this.parent) return this.getRoot().resolveRelativePath(rel.slice(1));
      rel = rel.slice(1);
    }
    const slash = rel.indexOf('/');
    if (slash < 0) return this.child(rel);
    return this.child(rel.slice(0, slash + 1)).resolveRelativePath(rel.slice(slash + 1));
  }

  /** Absolute path inside the tree, e.g. `/`, `/usr/bin`. */
  get path(): string {
    if (!this.parent) return '/';
    const pp = this.parent.path;
    return (pp === '/' ? '/' : pp + '/') + this.name;
  }

  private noent(): OstreeError {
    return new OstreeError('OSTREE_NOT_FOUND', `No such file or directory: ${this.path}`, { data: { path: this.path } });
  }

  private async loadDir(treeChecksum: string, metaChecksum: string): Promise<void> {
    const [tree, meta] = await Promise.all([this.repo.readDirTree(treeChecksum), this.repo.readDirMeta(metaChecksum)]);
    const index = new Map<string, [boolean, number]>();
    tree.dirs.forEach(([n], i) => index.set(n, [true, i]));
    tree.files.forEach(([n], i) => index.set(n, [false, i]));
    this.dir = { tree, meta, treeChecksum, metaChecksum, index };
  }

  /** Look the entry up in its parent (and load it, for directories). */
  async ensureResolved(): Promise<void> {
    if (this.resolved) return;
    if (!this.parent) {
      const [t, m] = this.rootChecksums as [string, string];
      await this.loadDir(t, m);
    } else {
      await this.parent.ensureResolved();
      const pdir = this.parent.dir;
      if (!pdir) throw new OstreeError('OSTREE_INVALID_ARGUMENT', 'Not a directory', { data: { path: this.path } });
      const hit = pdir.index.get(this.name as string);
      if (!hit) throw this.noent();
      const [isDirEntry, i] = hit;
      if (isDirEntry) {
        const [, t, m] = pdir.tree.dirs[i];
        await this.loadDir(t, m);
      } else {
        this.fileChecksum = pdir.tree.files[i][1];
      }
    }
    this.resolved = true;
  }

  /** True for directories (after resolving). */
  get isDirectory(): boolean {
    return this.dir !== null;
  }

  /** Content checksum for files, dirmeta checksum for directories (ostree_repo_file_get_checksum). */
  checksum(): string {
    if (this.dir) return this.dir.metaChecksum;
    return this.fileChecksum as string;
  }

  /** The dirtree checksum of a directory. */
  treeChecksum(): string {
    if (!this.dir) throw new OstreeError('OSTREE_INVALID_ARGUMENT', 'Not a directory');
    return this.dir.treeChecksum;
  }

  async queryInfo(): Promise<FileInfo> {
    await this.ensureResolved();
    if (this.dir) return dirInfo(this.dir.meta);
    const obj = await loadContentObject(this.repo, this.fileChecksum as string);
    const type = typeOfMode(obj.header.mode);
    return {
      type,
      mode: obj.header.mode,
      uid: obj.header.uid,
      gid: obj.header.gid,
      size: type === 'regular' ? obj.size : 0,
      symlinkTarget: type === 'symlink' ? obj.header.symlinkTarget : null,
    };
  }

  /** Extended attributes (dirmeta's for directories, the content object's for files). */
  async xattrs(): Promise<Xattrs> {
    await this.ensureResolved();
    if (this.dir) return this.dir.meta.xattrs;
    return (await loadContentObject(this.repo, this.fileChecksum as string)).header.xattrs;
  }

  /** Children in ostree's enumeration order: files, then directories, each sorted by name. */
  async children(): Promise<Array<{ file: RepoFile; info: FileInfo }>> {
    await this.ensureResolved();
    if (!this.dir) throw new OstreeError('OSTREE_INVALID_ARGUMENT', 'Not a directory', { data: { path: this.path } });
    const out: Array<{ file: RepoFile; info: FileInfo }> = [];
    for (const [name, csum] of this.dir.tree.files) {
      const f = this.child(name);
      f.fileChecksum = csum;
      f.resolved = true;
      out.push({ file: f, info: await f.queryInfo() });
    }
    for (const [name, treeCsum, metaCsum] of this.dir.tree.dirs) {
      const f = this.child(name);
      await f.loadDir(treeCsum, metaCsum);
      f.resolved = true;
      out.push({ file: f, info: dirInfo((f.dir as DirState).meta) });
    }
    return out;
  }

  /**
   * The file's contents (g_file_read). Symlinks are followed inside the tree,
   * relative to the link's directory, as ostree does.
   */
  async read(depth = 0): Promise<{ payload?: Buffer; objectPath?: string }> {
    await this.ensureResolved();
    if (this.dir) throw new OstreeError('OSTREE_INVALID_ARGUMENT', "Can't open directory", { data: { path: this.path } });
    const obj = await loadContentObject(this.repo, this.fileChecksum as string);
    if ((obj.header.mode & S_IFMT) !== 0o120000) {
      if (obj.payloadIsFile) return { objectPath: obj.objectPath };
      return { payload: await obj.readPayload() };
    }
    if (depth > 40) throw new OstreeError('OSTREE_INVALID_ARGUMENT', 'Too many levels of symbolic links');
    const parent = this.parent as RepoFile;
    return parent.resolveRelativePath(obj.header.symlinkTarget).read(depth + 1);
  }
}
