// Checking a static delta's signatures (ostree_repo_static_delta_verify_signature).
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { OstreeError, isErrno } from '../errors';
import type { Repo } from '../repo/repo';
import { describeErrno } from '../errors';
import { deltaRelDir, unwrapSignedSuperblock } from './superblock';
import { parseDeltaId } from './show';
import { DeltaSignEngine, verifySignedSuperblock } from './sign';

/**
 * `ostree static-delta verify`: whether the delta (a name, or a path
 * containing '/') carries a valid signature for `engine`
 * (ostree_repo_static_delta_verify_signature); throws ostree's errors for
 * unsigned or unreadable deltas.
 *
 * @example
 * import { verifyDelta, listDeltas } from 'node-ostree';
 * const publicKey = 'base64 ed25519 public key';
 * const [name] = await listDeltas(repo);
 * const ok = await verifyDelta(repo, name, { type: 'ed25519', keys: [publicKey] });
 */
export async function verifyDeltaSignature(repo: Repo, id: string, engine: DeltaSignEngine): Promise<boolean> {
  let file = id;
  let shown = id;
  if (!id.includes('/')) {
    const { from, to } = parseDeltaId(id);
    shown = `${deltaRelDir(from, to)}/superblock`;
    file = path.join(repo.path, shown);
  }
  let raw: Buffer;
  try {
    raw = await fsp.readFile(file);
  } catch (err) {
    if (isErrno(err)) throw new OstreeError(err.code === 'ENOENT' ? 'OSTREE_NOT_FOUND' : 'OSTREE_IO', `openat(${shown}): ${describeErrno(err.code as string)}`, { cause: err });
    throw err;
  }
  const signed = unwrapSignedSuperblock(raw);
  if (!signed) throw new OstreeError('OSTREE_SIGN_VERIFY_FAILED', 'no signatures in static-delta');
  await verifySignedSuperblock(signed, engine);
  return true;
}
