// `commit --tree=tar=FILE`: import a tar archive (ustar, GNU long names, pax
// headers incl. SCHILY.xattr.*) into a MutableTree. Mirrors
// ostree-libarchive-input-stream / write_archive_to_mtree: uid, gid, mode and
// xattrs come from the archive, timestamps are ignored, hardlinks reuse the
// target's content object.
import { promises as fsp } from 'node:fs';
import { OstreeError, throwAborted } from '../errors';
import { Transaction } from '../repo/transaction';
import { MutableTree } from './mutable-tree';
import { roExecutableMode, type CommitModifier } from './modifier';
import {
  ObjectType,
  serializeDirMeta,
  contentChecksum,
  validateFilename,
  S_IFDIR,
  S_IFREG,
  S_IFLNK,
  Xattrs,
  FileHeader,
} from '../objects/formats';

interface TarEntry {
  path: string;
  type: 'file' | 'dir' | 'symlink' | 'hardlink' | 'other';
  mode: number;
  uid: number;
  gid: number;
  size: number;
  linkname: string;
  xattrs: Xattrs;
  dataOffset: number;
}

function parseNumeric(b: Buffer): number {
  if (b[0] & 0x80) {
    // base-256
    let v = 0;
    for (let i = 1; i < b.length; i++) v = v * 256 + b[i];
    return v;
  }
  const s = b.toString('latin1').replace(/\0.*$/s, '').trim();
  return s ? parseInt(s, 8) : 0;
}

function cstr(b: Buffer): string {
  const nul = b.indexOf(0);
  return b.toString('utf8', 0, nul < 0 ? b.length : nul);
}

function parsePax(data: Buffer): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  let pos = 0;
  while (pos < data.length) {
    const sp = data.indexOf(0x20, pos);
    if (sp < 0) break;
    const len = parseInt(data.toString('latin1', pos, sp), 10);
    if (!len || len <= 0) break;
    const rec = data.subarray(sp + 1, pos + len - 1); // drop trailing \n
    const eq = rec.indexOf(0x3d);
    if (eq > 0) out.set(rec.toString('utf8', 0, eq), Buffer.from(rec.subarray(eq + 1)));
    pos += len;
  }
  return out;
}

async function* readTar(file: string): AsyncGenerator<TarEntry> {
  const fh = await fsp.open(file, 'r');
  try {
    const hdr = Buffer.alloc(512);
    let pos = 0;
    let pax = new Map<string, Buffer>();
    let globalPax = new Map<string, Buffer>();
    let longName: string | null = null;
    let longLink: string | null = null;
    const readAt = async (off: number, len: number) => {
      const b = Buffer.alloc(len);
      const { bytesRead } = await fh.read(b, 0, len, off);
      if (bytesRead !== len) throw new OstreeError('OSTREE_INVALID_ARGUMENT', `Truncated tar archive ${file}`);
      return b;
    };
    for (;;) {
      const { bytesRead } = await fh.read(hdr, 0, 512, pos);
      if (bytesRead < 512 || hdr.every((x) => x === 0)) return;
      let sum = 0;
      for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 0x20 : hdr[i];
      if (sum !== parseNumeric(hdr.subarray(148, 156))) throw new OstreeError('OSTREE_INVALID_ARGUMENT', `Invalid tar header checksum in ${file}`);
      const flag = String.fromCharCode(hdr[156] || 0x30);
      let size = parseNumeric(hdr.subarray(124, 136));
      const dataOffset = pos + 512;
      const next = dataOffset + Math.ceil(size / 512) * 512;
      if (flag === 'x' || flag === 'g' || flag === 'L' || flag === 'K') {
        const data = await readAt(dataOffset, size);
        if (flag === 'x') pax = parsePax(data);
        else if (flag === 'g') globalPax = parsePax(data);
        else if (flag === 'L') longName = cstr(data);
        else longLink = cstr(data);
        pos = next;
        continue;
      }
      const all = new Map([...globalPax, ...pax]);
      const magic = hdr.toString('latin1', 257, 262);
      let name = cstr(hdr.subarray(0, 100));
      const prefix = magic === 'ustar' ? cstr(hdr.subarray(345, 500)) : '';
      if (prefix) name = `${prefix}/${name}`;
      if (longName !== null) name = longName;
      if (all.has('path')) name = all.get('path')!.toString('utf8');
      let linkname = longLink ?? cstr(hdr.subarray(157, 257));
      if (all.has('linkpath')) linkname = all.get('linkpath')!.toString('utf8');
      if (all.has('size')) size = Number(all.get('size')!.toString());
      const uid = all.has('uid') ? Number(all.get('uid')!.toString()) : parseNumeric(hdr.subarray(108, 116));
      const gid = all.has('gid') ? Number(all.get('gid')!.toString()) : parseNumeric(hdr.subarray(116, 124));
      const perm = parseNumeric(hdr.subarray(100, 108)) & 0o7777;
      const xattrs: Xattrs = [];
      for (const [k, v] of all) if (k.startsWith('SCHILY.xattr.') && v.length) xattrs.push([k.slice(13), v]);
      xattrs.sort((a, b) => Buffer.compare(Buffer.from(a[0]), Buffer.from(b[0])));
      const type = flag === '0' || flag === '7' ? 'file' : flag === '5' ? 'dir' : flag === '2' ? 'symlink' : flag === '1' ? 'hardlink' : 'other';
      yield { path: name, type, mode: perm, uid, gid, size, linkname, xattrs, dataOffset };
      pax = new Map();
      longName = null;
      longLink = null;
      pos = flag === '0' || flag === '7' ? dataOffset + Math.ceil(size / 512) * 512 : next;
    }
  } finally {
    await fh.close();
  }
}

function splitPath(p: string): string[] {
  const parts = p.split('/').filter((x) => x !== '' && x !== '.');
  for (const x of parts) validateFilename(x);
  return parts;
}

export interface TarImportOptions {
  modifier?: CommitModifier;
  signal?: AbortSignal;
  /** --tar-autocreate-parents */
  autocreateParents?: boolean;
}

/** Import a tar archive into `root`. */
export async function writeTarToMtree(tx: Transaction, file: string, root: MutableTree, opts: TarImportOptions = {}): Promise<void> {
  const repo = tx.repo;
  const mod = opts.modifier ?? {};
  const canonical = mod.canonicalPermissions || repo.mode === 'bare-user-only';
  const skipXattrs = canonical || mod.skipXattrs || repo.disableXattrs;
  const fh = await fsp.open(file, 'r');
  const files = new Map<string, string>();
  const own = (uid: number, gid: number): [number, number] => (canonical ? [0, 0] : [mod.ownerUid ?? uid, mod.ownerGid ?? gid]);
  const defaultDirMeta = async () => {
    const [uid, gid] = own(0, 0);
    return tx.writeMetadata(ObjectType.DirMeta, serializeDirMeta({ uid, gid, mode: S_IFDIR | 0o755, xattrs: [] }));
  };
  const walkTo = async (parts: string[], create: boolean): Promise<MutableTree> => {
    let t = root;
    for (const p of parts) {
      await t.ensureLoaded(repo);
      let sub = t.dirs.get(p);
      if (!sub) {
        if (!create) throw new OstreeError('OSTREE_INVALID_ARGUMENT', `Parent directory of ${parts.join('/')} is not in the archive (use --tar-autocreate-parents)`);
        sub = await t.ensureDir(repo, p);
        sub.metaChecksum = await defaultDirMeta();
      }
      t = sub;
    }
    return t;
  };
  try {
    for await (const e of readTar(file)) {
      throwAborted(opts.signal);
      const parts = splitPath(e.path);
      const [uid, gid] = own(e.uid, e.gid);
      const xattrs = skipXattrs ? [] : e.xattrs;
      if (e.type === 'dir') {
        let mode = S_IFDIR | e.mode;
        if (canonical) mode &= S_IFDIR | 0o755;
        const meta = await tx.writeMetadata(ObjectType.DirMeta, serializeDirMeta({ uid, gid, mode, xattrs }));
        if (parts.length === 0) {
          root.metaChecksum = meta;
          continue;
        }
        const parent = await walkTo(parts.slice(0, -1), !!opts.autocreateParents);
        const d = await parent.ensureDir(repo, parts[parts.length - 1]);
        d.metaChecksum = meta;
        continue;
      }
      if (parts.length === 0) continue;
      if (!root.metaChecksum) root.metaChecksum = await defaultDirMeta();
      const parent = await walkTo(parts.slice(0, -1), !!opts.autocreateParents);
      const name = parts[parts.length - 1];
      let checksum: string;
      if (e.type === 'hardlink') {
        const target = splitPath(e.linkname).join('/');
        const c = files.get(target);
        if (!c) throw new OstreeError('OSTREE_INVALID_ARGUMENT', `Hardlink target ${e.linkname} not found in archive`);
        checksum = c;
      } else if (e.type === 'file' || e.type === 'symlink') {
        let mode = (e.type === 'file' ? S_IFREG : S_IFLNK) | (e.type === 'symlink' ? 0o777 : e.mode);
        if (mod.roExecutables) mode = roExecutableMode(mode);
        if (canonical && e.type === 'file') mode &= S_IFREG | 0o755;
        const header: FileHeader = { uid, gid, mode, symlinkTarget: e.type === 'symlink' ? e.linkname : '', xattrs };
        const payload = e.type === 'file' ? Buffer.alloc(e.size) : Buffer.alloc(0);
        if (e.size && e.type === 'file') await fh.read(payload, 0, e.size, e.dataOffset);
        checksum = contentChecksum(header, payload);
        tx.stats.contentTotal++;
        if (!(await repo.hasObject(ObjectType.File, checksum, { includeParent: false }))) {
          await tx.writeContent([{ checksum, header, payload }]);
        }
      } else {
        throw new OstreeError('OSTREE_UNSUPPORTED_FILE_TYPE', `Unsupported file type in archive: ${e.path}`);
      }
      files.set(parts.join('/'), checksum);
      await parent.replaceFile(repo, name, checksum);
    }
  } finally {
    await fh.close();
  }
  if (!root.metaChecksum) root.metaChecksum = await defaultDirMeta();
}
