// The mutable tree a commit is built in (ostree-mutable-tree.c): content
// checksums and subdirectories, expanded lazily from stored dirtrees, written
// as dirtree objects children first.
import { OstreeError } from '../errors';
import { Repo } from '../repo/repo';
import { Transaction, MetadataItem } from '../repo/transaction';
import { ObjectType, serializeDirTree, sha256Hex } from '../objects/formats';

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

  /**
   * Serialise this (finished) directory and its expanded subtrees into
   * `items`, then drop the in-memory entries and keep only the dirtree
   * checksum, as a stored tree: ensureLoaded() reads it back from the repo
   * once the items are written. Bounds commit memory by the directories still
   * open rather than the whole tree.
   */
  collapse(items: MetadataItem[]): string {
    const checksum = this.collect(items);
    this.files.clear();
    this.dirs.clear();
    this.lazy = checksum;
    return checksum;
  }

  /** Write dirtrees (children before parents, in native batches); returns the dirtree checksum. */
  async write(tx: Transaction): Promise<string> {
    if (this.lazy) return this.lazy;
    const items: MetadataItem[] = [];
    const root = this.collect(items);
    await tx.writeMetadataBatch(items);
    return root;
  }

  /** Serialise this tree and every expanded subtree into `items` (post-order); returns this tree's checksum. */
  private collect(items: MetadataItem[]): string {
    if (this.lazy) return this.lazy;
    const dirs: Array<[string, string, string]> = [];
    for (const [name, sub] of this.dirs) {
      const t = sub.collect(items);
      if (!sub.metaChecksum) throw new OstreeError('OSTREE_INVALID_ARGUMENT', `Directory ${name} has no metadata`);
      dirs.push([name, t, sub.metaChecksum]);
    }
    const data = serializeDirTree({ files: [...this.files], dirs });
    const checksum = sha256Hex(data);
    items.push({ type: ObjectType.DirTree, data, checksum });
    return checksum;
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
