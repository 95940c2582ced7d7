// Signed static delta superblocks (FORMATS.md §8.2): checking the
// signatures of the `(taya{sv})` wrapper with a sign engine — ed25519, or
// ostree's test engine "dummy" (only with OSTREE_DUMMY_SIGN_ENABLED=1, as
// ostree). Mirrors _ostree_repo_static_delta_verify_signature.
import { OstreeError } from '../errors';
import type { SignedSuperblock } from './superblock';

/** A sign engine with its public keys loaded. */
export interface DeltaSignEngine {
  /** 'ed25519' or 'dummy'. */
  type: string;
  /** Public keys (ed25519: base64; dummy: the key string). */
  keys: string[];
  /** ed25519 keys that never verify. */
  revoked?: string[];
}

/** The superblock metadata key each engine signs under. */
export const SIGN_KEYS: Record<string, string> = { ed25519: 'ostree.sign.ed25519', dummy: 'ostree.sign.dummy' };

/** ostree_sign_get_by_name(): throws ostree's error for an unknown type. */
export function checkSignType(type: string): void {
  if (!(type in SIGN_KEYS)) throw new OstreeError('OSTREE_INVALID_ARGUMENT', `Requested signature type is not implemented`);
  if (type === 'dummy' && !process.env.OSTREE_DUMMY_SIGN_ENABLED) {
    throw new OstreeError('OSTREE_INVALID_ARGUMENT', 'dummy signature type is only for ostree testing');
  }
}

/**
 * Verify a signed superblock with `engine`. Returns the engine's success
 * message; throws OSTREE_SIGN_VERIFY_FAILED with ostree's wording.
 */
export async function verifySignedSuperblock(signed: SignedSuperblock, engine: DeltaSignEngine): Promise<string> {
  checkSignType(engine.type);
  const key = SIGN_KEYS[engine.type];
  const sigs = signed.signatures.find(([k]) => k === key)?.[1];
  if (!sigs) throw new OstreeError('OSTREE_SIGN_VERIFY_FAILED', `no signature for '${key}' in static-delta superblock`);
  if (engine.type === 'ed25519') {
    const ed = await import('../sign/ed25519');
    return ed.verifySignatures(signed.superblock, sigs, engine.keys, engine.revoked ?? []);
  }
  // dummy: a signature is the key string itself; the last key given is the one loaded.
  const pk = engine.keys[engine.keys.length - 1];
  if (pk !== undefined && sigs.some((s) => s.toString('latin1') === pk)) return 'dummy: Signature verified';
  if (sigs.length) throw new OstreeError('OSTREE_SIGN_VERIFY_FAILED', `signature: dummy: incorrect signatures found: ${sigs.length}`);
  throw new OstreeError('OSTREE_SIGN_VERIFY_FAILED', 'signature: dummy: no signatures');
}
