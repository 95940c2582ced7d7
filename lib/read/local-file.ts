// A file or directory on the local filesystem, seen the way ostree's diff and
// checksum code sees it through GIO: lstat-based info, children in GLib's
// enumeration order, and the object checksum it would get if committed.
import { promises as fsp, Stats } from 'node:fs';
import * as path from 'node:path';
import { OstreeError, isErrno, describeErrno } from '../errors';
import { native } from '../binding';
import { serializeDirMeta, sha256Hex } from '../objects/formats';
import type { FileInfo, FileType } from './repo-file';

/** GLib reads a directory in chunks of this many entries and sorts each chunk by inode. */
const ENUMERATE_CHUNK = 1000;

function typeOfStats(st: Stats): FileType {
  if (st.isFile()) return 'regular';
  if (st.isDirectory()) return 'directory';
  if (st.isSymbolicLink()) return 'symlink';
  return 'special';
}

export function infoFromStats(st: Stats, symlinkTarget: string | null): FileInfo {
  const type = typeOfStats(st);
  return { type, mode: st.mode, uid: st.uid, gid: st.gid, size: type === 'regular' ? st.size : 0, symlinkTarget };
}

export interface LocalChecksumOptions {
  skipXattrs?: boolean;
  /** Use this info (e.g. with overridden uid/gid) instead of a fresh lstat. */
  info?: FileInfo;
}

/** Checksum of a directory's dirmeta object as ostree would write it. */
export async function checksumLocalDir(p: string, info: FileInfo, skipXattrs = false): Promise<string> {
  const xattrs = skipXattrs ? [] : (await native().xattrs_get(p)).filter(([, v]) => v.length > 0);
  return sha256Hex(serializeDirMeta({ uid: info.uid, gid: info.gid, mode: info.mode, xattrs }));
}

/**
 * ostree_checksum_file(): content checksum for files and symlinks, dirmeta
 * checksum for directories.
 */
export async function checksumLocal(p: string, opts: LocalChecksumOptions = {}): Promise<string> {
  let info = opts.info;
  if (!info) info = await lstatInfo(p);
  if (info.type === 'directory') return checksumLocalDir(p, info, opts.skipXattrs);
  if (info.type === 'special') {
    throw new OstreeError('OSTREE_UNSUPPORTED_FILE_TYPE', `Unsupported file type for ${p}`, { data: { path: p } });
  }
  const [r] = await native().checksum_files([p], { uid: info.uid, gid: info.gid, skipXattrs: !!opts.skipXattrs });
  return r.checksum;
}

async function lstatInfo(p: string): Promise<FileInfo> {
  const st = await fsp.lstat(p);
  return infoFromStats(st, st.isSymbolicLink() ? await fsp.readlink(p) : null);
}

/** GLib's inode comparison: the 64-bit difference truncated to a C int. */
function inodeCmp(a: bigint, b: bigint): number {
  return Number(BigInt.asIntN(32, a - b));
}

export class LocalFile {
  /** Filesystem path. */
  readonly fsPath: string;
  /** Path relative to the root this file was reached from ('' for that root). */
  readonly rel: string;

  constructor(fsPath: string, rel = '') {
    this.fsPath = fsPath;
    this.rel = rel;
  }

  child(name: string): LocalFile {
    return new LocalFile(path.join(this.fsPath, name), this.rel ? `${this.rel}/${name}` : name);
  }

  /** lstat-based info; a missing file is OSTREE_NOT_FOUND. */
  async queryInfo(): Promise<FileInfo> {
    try {
      return await lstatInfo(this.fsPath);
    } catch (err) {
      const reason = isErrno(err) ? describeErrno(err.code as string) : String(err);
      const msg = `Error when getting information for file “${path.resolve(this.fsPath)}”: ${reason}`;
      if (isErrno(err, 'ENOENT')) throw new OstreeError('OSTREE_NOT_FOUND', msg, { cause: err, data: { path: this.fsPath } });
      throw new OstreeError('OSTREE_IO', msg, { cause: err, data: { path: this.fsPath } });
    }
  }

  /** Children in GLib's order: readdir order, each 1000-entry chunk sorted by inode. */
  async children(): Promise<Array<{ file: LocalFile; info: FileInfo }>> {
    const dir = await fsp.opendir(this.fsPath, { bufferSize: 128 });
    const names: string[] = [];
    for await (const ent of dir) names.push(ent.name);
    const out: Array<{ file: LocalFile; info: FileInfo }> = [];
    for (let i = 0; i < names.length; i += ENUMERATE_CHUNK) {
      const chunk = await Promise.all(
        names.slice(i, i + ENUMERATE_CHUNK).map(async (name) => {
          const file = this.child(name);
          const st = await fsp.lstat(file.fsPath, { bigint: true });
          const info: FileInfo = {
            type: st.isFile() ? 'regular' : st.isDirectory() ? 'directory' : st.isSymbolicLink() ? 'symlink' : 'special',
            mode: Number(st.mode),
            uid: Number(st.uid),
            gid: Number(st.gid),
            size: st.isFile() ? Number(st.size) : 0,
            symlinkTarget: st.isSymbolicLink() ? await fsp.readlink(file.fsPath) : null,
          };
          return { file, info, ino: st.ino };
        }),
      );
      chunk.sort((a, b) => inodeCmp(a.ino, b.ino));
      for (const { file, info } of chunk) out.push({ file, info });
    }
    return out;
  }
}

