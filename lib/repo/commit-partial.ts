// Partial commits (state/<commit>.commitpartial): a commit whose objects are
// not all present, as a pull leaves it until it completes, or as fsck marks a
// commit with a missing or corrupt object (content "f", FSCK_PARTIAL).
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { isErrno } from '../errors';
import type { Repo } from './repo';
import { crashPoint } from '../crash-point';

/** Write state/<commit>.commitpartial; `fsck` content "f" marks FSCK_PARTIAL. */
export async function markCommitPartial(repo: Repo, commit: string, reason: 'fsck' | 'pull' = 'pull'): Promise<void> {
  const dir = path.join(repo.path, 'state');
  await fsp.mkdir(dir, { recursive: true });
  crashPoint();
  await fsp.writeFile(path.join(dir, `${commit}.commitpartial`), reason === 'fsck' ? 'f' : '', { mode: 0o644 });
}

/** Remove state/<commit>.commitpartial if present. */
export async function clearCommitPartial(repo: Repo, commit: string): Promise<void> {
  crashPoint();
  await fsp.rm(path.join(repo.path, 'state', `${commit}.commitpartial`), { force: true });
}

/** 'none', 'partial' (pull) or 'fsck' (marked by fsck --delete / a missing object). */
export async function commitPartialState(repo: Repo, commit: string): Promise<'none' | 'partial' | 'fsck'> {
  try {
    const b = await fsp.readFile(path.join(repo.path, 'state', `${commit}.commitpartial`));
    return b.length > 0 && b[0] === 0x66 ? 'fsck' : 'partial';
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return 'none';
    throw err;
  }
}
