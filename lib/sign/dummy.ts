// ostree's "dummy" signature type, for testing signature plumbing without
// cryptography: the "signature" is the secret key string itself, and it
// verifies when it equals the public key string. Like ostree, it refuses to
// sign or verify unless OSTREE_DUMMY_SIGN_ENABLED=1.
import { OstreeError } from '../errors';

export const DUMMY_KEY = 'ostree.sign.dummy';

/** ostree's guard: the dummy type only works in ostree's test environment. */
export function checkDummyEnabled(): void {
  if (process.env.OSTREE_DUMMY_SIGN_ENABLED !== '1') {
    throw new OstreeError('OSTREE_INVALID_ARGUMENT', 'dummy signature type is only for ostree testing', { data: { reason: 'dummy-disabled' } });
  }
}

export function dummySign(data: Buffer, secretKey: string): Buffer {
  checkDummyEnabled();
  void data;
  return Buffer.from(secretKey, 'utf8');
}

/**
 * Accept when any signature equals the (single) public key; ostree keeps
 * only the last key set, so only the last of `publicKeys` counts.
 */
export function dummyVerify(sigs: Buffer[] | null, publicKeys: string[]): string {
  checkDummyEnabled();
  if (sigs === null) throw new OstreeError('OSTREE_SIGN_VERIFY_FAILED', 'signature: dummy: commit have no signatures of my type', { data: { reason: 'no-signature' } });
  const pk = publicKeys.length ? publicKeys[publicKeys.length - 1] : undefined;
  // ostree compares C strings: a signature stops at its first NUL.
  const text = (s: Buffer) => {
    const nul = s.indexOf(0);
    return s.toString('utf8', 0, nul < 0 ? s.length : nul);
  };
  if (pk !== undefined && sigs.some((s) => text(s) === pk)) return 'dummy: Signature verified';
  if (sigs.length) {
    throw new OstreeError('OSTREE_SIGN_VERIFY_FAILED', `signature: dummy: incorrect signatures found: ${sigs.length}`, { data: { reason: 'invalid-signature' } });
  }
  throw new OstreeError('OSTREE_SIGN_VERIFY_FAILED', 'signature: dummy: no signatures', { data: { reason: 'no-signature' } });
}
