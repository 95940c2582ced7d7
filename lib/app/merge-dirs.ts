// The three-way merge of a user-data directory into a new version, the way
// ostree merges /etc (ostree-sysroot-deploy.c, merge_configuration_from):
// the previous version's pristine copy (its commit's tree) is compared with
// its modified copy (what the application changed on disk), and each
// difference is applied onto the new version's copy:
//   - changed or added in the modified copy: copied over the new version's
//     entry (whatever the new version ships there is replaced — the user's
//     change wins, as for /etc);
//   - removed from the modified copy: removed from the new version;
//   - unchanged: the new version's entry stays (so updates of untouched
//     defaults arrive).
// "Changed" compares type, permission bits, and contents (file bytes,
// symlink target); owners, xattrs and times are not compared (an app
// deployment is checked out in user mode).
import { promises as fsp } from 'node:fs';
import type { Stats } from 'node:fs';
import * as path from 'node:path';
import { isErrno, throwAborted } from '../errors';
import { copyTree, removeTree } from './tree-ops';

export interface MergeResult {
  /** Paths (relative to the merged directory) copied from the modified copy. */
  modified: string[];
  added: string[];
  removed: string[];
}

async function lstatOrNull(p: string): Promise<Stats | null> {
  try {
    return await fsp.lstat(p);
  } catch (err) {
    if (isErrno(err, 'ENOENT') || isErrno(err, 'ENOTDIR')) return null;
    throw err;
  }
}

function kind(st: Stats): 'dir' | 'file' | 'link' | 'other' {
  return st.isDirectory() ? 'dir' : st.isFile() ? 'file' : st.isSymbolicLink() ? 'link' : 'other';
}

/** Same contents of two regular files (sizes compared first, then the bytes in chunks). */
async function sameFileBytes(a: string, b: string, sa: Stats, sb: Stats): Promise<boolean> {
  if (sa.size !== sb.size) return false;
  if (sa.ino === sb.ino && sa.dev === sb.dev) return true;
  const [fa, fb] = await Promise.all([fsp.open(a, 'r'), fsp.open(b, 'r')]);
  try {
    const ba = Buffer.allocUnsafe(64 * 1024);
    const bb = Buffer.allocUnsafe(64 * 1024);
    for (let pos = 0; pos < sa.size; ) {
      const [ra, rb] = await Promise.all([fa.read(ba, 0, ba.length, pos), fb.read(bb, 0, bb.length, pos)]);
      if (ra.bytesRead !== rb.bytesRead || ra.bytesRead === 0) return ra.bytesRead === rb.bytesRead && ra.bytesRead === 0;
      if (!ba.subarray(0, ra.bytesRead).equals(bb.subarray(0, rb.bytesRead))) return false;
      pos += ra.bytesRead;
    }
    return true;
  } finally {
    await Promise.all([fa.close(), fb.close()]);
  }
}

/** Whether two non-directory entries differ (type, permission bits, contents). */
async function differs(a: string, b: string, sa: Stats, sb: Stats): Promise<boolean> {
  if (kind(sa) !== kind(sb)) return true;
  if (sa.isSymbolicLink()) return (await fsp.readlink(a)) !== (await fsp.readlink(b));
  if ((sa.mode & 0o7777) !== (sb.mode & 0o7777)) return true;
  if (sa.isFile()) return !(await sameFileBytes(a, b, sa, sb));
  return false;
}

/** Put the modified copy's `rel` in place of the target's (its parents made as needed). */
async function replaceWith(modified: string, target: string, rel: string, signal?: AbortSignal): Promise<void> {
  const dest = path.join(target, rel);
  await removeTree(dest);
  await fsp.mkdir(path.dirname(dest), { recursive: true });
  await copyTree(path.join(modified, rel), dest, signal);
}

/**
 * Merge the user's changes to a directory into a new version's copy of it:
 * the differences between `pristine` (the previous version as committed;
 * null or absent when its commit had no such directory) and `modified` (the
 * previous version on disk) are applied onto `target` (the new version's
 * copy, whose files must already be private copies, not hardlinks into a
 * repository).
 *
 * @example
 * await mergeUserDir('/tmp/pristine-config', '/app/versions/OLD.0/config', '/app/versions/.tmp-new/config');
 */
export async function mergeUserDir(pristine: string | null, modified: string, target: string, signal?: AbortSignal): Promise<MergeResult> {
  const res: MergeResult = { modified: [], added: [], removed: [] };
  const ms = await lstatOrNull(modified);
  if (!ms) {
    // The whole directory was removed by the user (or never existed).
    if (pristine && (await lstatOrNull(pristine)) && (await lstatOrNull(target))) {
      await removeTree(target);
      res.removed.push('.');
    }
    return res;
  }
  const walk = async (rel: string): Promise<void> => {
    throwAborted(signal);
    const m = path.join(modified, rel);
    const p = pristine ? path.join(pristine, rel) : null;
    const mNames = new Set(await fsp.readdir(m));
    const ps = p ? await lstatOrNull(p) : null;
    const pNames = ps?.isDirectory() ? await fsp.readdir(p as string) : [];
    for (const name of pNames) {
      if (mNames.has(name)) continue;
      const r = path.join(rel, name);
      if (await lstatOrNull(path.join(target, r))) await removeTree(path.join(target, r));
      res.removed.push(r);
    }
    for (const name of [...mNames].sort()) {
      const r = path.join(rel, name);
      const mst = await fsp.lstat(path.join(m, name));
      const pst = p ? await lstatOrNull(path.join(p, name)) : null;
      if (!pst) {
        await replaceWith(modified, target, r, signal);
        res.added.push(r);
      } else if (mst.isDirectory() && pst.isDirectory()) {
        const tst = await lstatOrNull(path.join(target, r));
        if (!tst?.isDirectory()) {
          // The new version has no directory there: the user's copy is all there is to keep.
          await replaceWith(modified, target, r, signal);
          res.modified.push(r);
          continue;
        }
        if ((mst.mode & 0o7777) !== (pst.mode & 0o7777)) await fsp.chmod(path.join(target, r), mst.mode & 0o7777);
        await walk(r);
      } else if (await differs(path.join(m, name), path.join(p as string, name), mst, pst)) {
        await replaceWith(modified, target, r, signal);
        res.modified.push(r);
      }
    }
  };
  if (!ms.isDirectory()) return res;
  if (!(await lstatOrNull(target))?.isDirectory()) {
    await removeTree(target);
    await fsp.mkdir(target, { recursive: true, mode: ms.mode & 0o7777 });
  }
  await walk('');
  return res;
}
