// Where things are in an application install directory, and the view of it
// on disk (the state, the `current` link, the version directories), with the
// reconciliation that makes them agree after a crash. Plays the part of
// ostree-sysroot.c's deployment loading for an app (no bootloader: the
// `current` symlink is the boot configuration).
//
//   INSTALL/versions/COMMIT.SERIAL/   complete, read-only checkouts (hardlinks into the repo)
//   INSTALL/versions/.tmp-*           a deploy or removal under way (or interrupted)
//   INSTALL/current -> versions/COMMIT.SERIAL
//   INSTALL/deployments.json          the state (state.ts)
//   INSTALL/.lock                     the updaters' lock
//   INSTALL/.tmp-*                    a link or state file being written
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { OstreeError, isErrno } from '../errors';
import { AppState, DeploymentRecord, parseDeploymentName } from './state';

export const VERSIONS_DIR = 'versions';
export const CURRENT_LINK = 'current';
export const LOCK_FILE = '.lock';
/** Prefix of every temporary name (in INSTALL and INSTALL/versions). */
export const TMP_PREFIX = '.tmp-';

/** The install directory as found on disk. */
export interface DiskView {
  /** The deployment `current` points to, or null (no link yet, or a link to nothing complete). */
  link: string | null;
  /** Names of complete version directories. */
  dirs: Set<string>;
  /** Temporary entries: absolute paths. */
  leftovers: string[];
}

/** Read the `current` link, the versions/ directory and the leftovers. */
export async function readDisk(installDir: string): Promise<DiskView> {
  const versions = path.join(installDir, VERSIONS_DIR);
  const dirs = new Set<string>();
  const leftovers: string[] = [];
  for (const e of await fsp.readdir(versions, { withFileTypes: true })) {
    if (e.name.startsWith(TMP_PREFIX)) leftovers.push(path.join(versions, e.name));
    else if (e.isDirectory() && parseDeploymentName(e.name)) dirs.add(e.name);
  }
  for (const e of await fsp.readdir(installDir)) if (e.startsWith(TMP_PREFIX)) leftovers.push(path.join(installDir, e));
  let link: string | null = null;
  try {
    const target = await fsp.readlink(path.join(installDir, CURRENT_LINK));
    const m = /^versions\/([^/]+)\/?$/.exec(target);
    if (!m) {
      throw new OstreeError('OSTREE_INVALID_STATE', `${path.join(installDir, CURRENT_LINK)} points to ${target}, not to a version`, {
        data: { path: path.join(installDir, CURRENT_LINK), target },
      });
    }
    link = dirs.has(m[1]) ? m[1] : null;
  } catch (err) {
    if (!isErrno(err, 'ENOENT')) throw err;
  }
  return { link, dirs, leftovers };
}

/** The record for a version directory found without one (adopted after a crash). */
function adopt(name: string): DeploymentRecord {
  const { commit, serial } = parseDeploymentName(name) as { commit: string; serial: number };
  return { name, commit, serial, deployedAt: new Date().toISOString(), pinned: false, origin: null, mergeDirs: [] };
}

/**
 * The state made to agree with the disk (a pure function): records whose
 * directory is gone are dropped; a `current` link to a directory without a
 * record adopts it; when the link moved since the state was written (a crash
 * between the switch and the state write), the state's current becomes the
 * previous version.
 */
export function reconcile(state: AppState, disk: DiskView): AppState {
  const deployments = state.deployments.filter((d) => disk.dirs.has(d.name));
  if (disk.link && !deployments.some((d) => d.name === disk.link)) deployments.unshift(adopt(disk.link));
  const present = (n: string | null) => (n && deployments.some((d) => d.name === n) ? n : null);
  let previous = present(state.previous);
  const current = disk.link;
  const was = present(state.current);
  if (was !== current && was !== null) previous = was;
  if (previous === current) previous = null;
  return { ...state, current, previous, deployments };
}

/** Whether two states are the same document. */
export function sameState(a: AppState, b: AppState): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}
