// File-tree operations on deployed versions: copying a tree (files, symlinks,
// directories, modes), removing one that may hold read-only directories
// (a non-root user cannot unlink inside a 0555 directory until it is made
// writable), and turning the hardlinks of a checkout into private copies, so
// a version's user-data directory can be modified without touching the
// repository's objects (hardlinked checkouts share their inodes).
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { isErrno, throwAborted } from '../errors';

/** Remove `p` and everything below it (no error when absent). */
export async function removeTree(p: string): Promise<void> {
  try {
    await fsp.rm(p, { recursive: true, force: true });
    return;
  } catch (err) {
    if (!isErrno(err, 'EACCES') && !isErrno(err, 'EPERM')) throw err;
  }
  await makeWritable(p);
  await fsp.rm(p, { recursive: true, force: true });
}

/** Give every directory under `p` (and `p`) u+rwx, depth first from the top. */
async function makeWritable(p: string): Promise<void> {
  let st;
  try {
    st = await fsp.lstat(p);
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return;
    throw err;
  }
  if (!st.isDirectory()) return;
  if ((st.mode & 0o700) !== 0o700) await fsp.chmod(p, (st.mode & 0o7777) | 0o700);
  for (const e of await fsp.readdir(p, { withFileTypes: true })) if (e.isDirectory()) await makeWritable(path.join(p, e.name));
}

/** Copy `src` (a file, symlink or directory tree) to `dest`, which must not exist; modes are kept, owners are the caller's. */
export async function copyTree(src: string, dest: string, signal?: AbortSignal): Promise<void> {
  throwAborted(signal);
  const st = await fsp.lstat(src);
  if (st.isSymbolicLink()) {
    await fsp.symlink(await fsp.readlink(src), dest);
  } else if (st.isDirectory()) {
    await fsp.mkdir(dest, { mode: 0o700 });
    for (const e of await fsp.readdir(src)) await copyTree(path.join(src, e), path.join(dest, e), signal);
    await fsp.chmod(dest, st.mode & 0o7777);
  } else if (st.isFile()) {
    await fsp.copyFile(src, dest);
    await fsp.chmod(dest, st.mode & 0o7777);
  }
  // Anything else (a fifo, a socket) is not application data: skipped.
}

/**
 * Replace each regular file under `dir` that has other links (a hardlinked
 * checkout's files share the repository's objects) by a private copy with
 * the same mode: copy beside it, rename over. Directories are made writable
 * while their files are replaced and get their modes back afterwards.
 */
export async function breakHardlinks(dir: string, signal?: AbortSignal): Promise<number> {
  let n = 0;
  const walk = async (d: string): Promise<void> => {
    throwAborted(signal);
    const st = await fsp.lstat(d);
    const mode = st.mode & 0o7777;
    if ((mode & 0o300) !== 0o300) await fsp.chmod(d, mode | 0o300);
    try {
      for (const e of await fsp.readdir(d, { withFileTypes: true })) {
        const p = path.join(d, e.name);
        if (e.isDirectory()) await walk(p);
        else if (e.isFile()) {
          const fst = await fsp.lstat(p);
          if (fst.nlink < 2) continue;
          const tmp = path.join(d, `.tmp-copy-${e.name.slice(0, 32)}-${process.pid}`);
          await fsp.copyFile(p, tmp);
          await fsp.chmod(tmp, fst.mode & 0o7777);
          await fsp.rename(tmp, p);
          n++;
        }
      }
    } finally {
      if ((mode & 0o300) !== 0o300) await fsp.chmod(d, mode);
    }
  };
  try {
    if (!(await fsp.lstat(dir)).isDirectory()) return 0;
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return 0;
    throw err;
  }
  await walk(dir);
  return n;
}
