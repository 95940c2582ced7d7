// What delta compilation needs to know about a content object without
// reading its data: type, size, header (mode, owner, xattrs, symlink target)
// and storage size, cached per generation.
import { promises as fsp } from 'node:fs';
import type { Repo } from '../repo/repo';
import { readFramedHeader } from '../repo/transaction';
import { FileHeader, ObjectType, isLink, parseZlibHeader } from '../objects/formats';
import { OstreeError, isErrno, withContext } from '../errors';

export interface ContentInfo {
  header: FileHeader;
  /** Data size (0 for a symlink). */
  size: number;
  isSymlink: boolean;
}

export class ContentInfoCache {
  private cache = new Map<string, Promise<ContentInfo>>();
  constructor(private readonly repo: Repo) {}

  get(checksum: string): Promise<ContentInfo> {
    let p = this.cache.get(checksum);
    if (!p) {
      p = this.load(checksum);
      this.cache.set(checksum, p);
    }
    return p;
  }

  private async load(checksum: string): Promise<ContentInfo> {
    if (this.repo.mode === 'archive') {
      try {
        const h = parseZlibHeader(await readFramedHeader(this.repo.objectPath(checksum, ObjectType.File)));
        const { size, ...header } = h;
        const link = isLink(header.mode);
        return { header, size: link ? 0 : Number(size), isSymlink: link };
      } catch (err) {
        if (!isErrno(err, 'ENOENT')) throw err;
      }
    }
    const f = await this.repo.loadFile(checksum);
    return { header: f.header, size: f.size, isSymlink: isLink(f.header.mode) };
  }

  /** The object's data (empty for a symlink). */
  async data(checksum: string): Promise<Buffer> {
    const f = await this.repo.loadFile(checksum);
    try {
      return await f.readPayload();
    } catch (err) {
      if (err instanceof OstreeError) throw err;
      const code = (err as { code?: unknown }).code;
      if (typeof code === 'string' && code.startsWith('Z_')) {
        throw new OstreeError('OSTREE_CORRUPT_OBJECT', `Corrupted file object ${checksum}: ${(err as Error).message}`, { cause: err });
      }
      throw withContext(`Reading file object ${checksum}`, err);
    }
  }
}

/** Bytes the object takes in the repo (ostree_repo_query_object_storage_size). */
export async function storageSize(repo: Repo, type: ObjectType, checksum: string): Promise<number> {
  for (let r: Repo | null = repo; r; r = r.parent) {
    try {
      return (await fsp.lstat(r.objectPath(checksum, type))).size;
    } catch (err) {
      if (!isErrno(err, 'ENOENT') || !r.parent) throw err;
    }
  }
  return 0;
}
