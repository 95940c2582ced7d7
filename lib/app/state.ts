// The state of an application install directory: which versions are
// deployed (newest first), which are pinned, which one `current` pointed to
// when the state was last written and which one before it (the rollback
// target). Kept as a small JSON document in INSTALL/deployments.json, always
// replaced whole (temp file + fsync + rename, then the directory fsynced),
// so a reader sees the old or the new state, never a mix.
//
// The `current` symlink, not this file, says what runs: when the two
// disagree (a crash between switching the link and writing the state), the
// link wins and the state's `current` becomes the previous version
// (reconcile() in app-deployments.ts).
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { OstreeError, isErrno } from '../errors';
import { writeFileAtomic } from '../repo/repo';
import { isValidChecksum } from '../objects/formats';
import { native } from '../binding';

/** The state file's name inside the install directory. */
export const STATE_FILE = 'deployments.json';
/** The state document's format version. */
export const STATE_FORMAT = 1;

/** One deployed version as the state file records it. */
export interface DeploymentRecord {
  /** `COMMIT.SERIAL`: the directory name under versions/. */
  name: string;
  commit: string;
  /** Distinguishes deployments of the same commit (0, 1, …). */
  serial: number;
  /** ISO date of the deploy. */
  deployedAt: string;
  pinned: boolean;
  /** The rev the deploy was asked for (a ref, or the checksum itself). */
  origin: string | null;
  /** The user-data directories merged into this version (and kept as real copies). */
  mergeDirs: string[];
}

export interface AppState {
  format: number;
  /** Refs in the repo that keep deployed commits: `PREFIX/COMMIT.SERIAL`. */
  refPrefix: string;
  /** What `current` pointed to when the state was written. */
  current: string | null;
  /** The rollback target. */
  previous: string | null;
  /** Newest first. */
  deployments: DeploymentRecord[];
}

const NAME_RE = /^([0-9a-f]{64})\.(0|[1-9][0-9]{0,8})$/;

/** Split a deployment name `COMMIT.SERIAL`; null when it is not one. */
export function parseDeploymentName(name: string): { commit: string; serial: number } | null {
  const m = NAME_RE.exec(name);
  return m ? { commit: m[1], serial: Number(m[2]) } : null;
}

export function deploymentName(commit: string, serial: number): string {
  return `${commit}.${serial}`;
}

function bad(file: string, why: string): OstreeError {
  return new OstreeError('OSTREE_INVALID_STATE', `Invalid deployment state ${file}: ${why}`, { data: { path: file } });
}

/** Check a parsed state document's shape (it is input from disk: trust nothing). */
export function validateState(s: unknown, file: string): AppState {
  if (typeof s !== 'object' || s === null) throw bad(file, 'not an object');
  const o = s as Record<string, unknown>;
  if (o.format !== STATE_FORMAT) throw bad(file, `unsupported format ${String(o.format)}`);
  if (typeof o.refPrefix !== 'string' || o.refPrefix === '') throw bad(file, 'no refPrefix');
  if (!Array.isArray(o.deployments)) throw bad(file, 'no deployment list');
  const names = new Set<string>();
  for (const d of o.deployments as unknown[]) {
    const r = d as Record<string, unknown>;
    if (typeof r !== 'object' || r === null || typeof r.name !== 'string') throw bad(file, 'a deployment without a name');
    const parsed = parseDeploymentName(r.name);
    if (!parsed || r.commit !== parsed.commit || r.serial !== parsed.serial || !isValidChecksum(parsed.commit)) throw bad(file, `bad deployment ${r.name}`);
    if (names.has(r.name)) throw bad(file, `deployment ${r.name} listed twice`);
    names.add(r.name);
    if (typeof r.pinned !== 'boolean' || typeof r.deployedAt !== 'string') throw bad(file, `bad deployment ${r.name}`);
    if (r.origin !== null && typeof r.origin !== 'string') throw bad(file, `bad origin of ${r.name}`);
    if (!Array.isArray(r.mergeDirs) || !r.mergeDirs.every((x) => typeof x === 'string')) throw bad(file, `bad mergeDirs of ${r.name}`);
  }
  for (const k of ['current', 'previous'] as const) {
    if (o[k] !== null && (typeof o[k] !== 'string' || !names.has(o[k] as string))) throw bad(file, `${k} is not a deployment`);
  }
  return o as unknown as AppState;
}

/** Read the state; null when the install directory has none yet. */
export async function readState(installDir: string): Promise<AppState | null> {
  const file = path.join(installDir, STATE_FILE);
  let text: string;
  try {
    text = await fsp.readFile(file, 'utf8');
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return null;
    throw err;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new OstreeError('OSTREE_INVALID_STATE', `Invalid deployment state ${file}: not JSON`, { cause: err, data: { path: file } });
  }
  return validateState(parsed, file);
}

/** Replace the state atomically and durably: temp file beside it, fsync, rename, fsync the directory. */
export async function writeState(installDir: string, state: AppState): Promise<void> {
  const file = path.join(installDir, STATE_FILE);
  await writeFileAtomic(file, JSON.stringify(state, null, 2) + '\n', { fsync: true, tmpPath: path.join(installDir, `.tmp-state-${process.pid}-${Date.now().toString(36)}`) });
  await native().fs_fsync(installDir);
}
