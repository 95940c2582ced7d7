// What an OpenPGP verification reports (gpgme's signature summaries, as
// ostree's OstreeGpgVerifyResult exposes them).

export interface SignatureInfo {
  /** 16-hex key id of the signing (sub)key, upper case. */
  keyId: string;
  /** Fingerprint of the signing (sub)key ('' when the key is missing). */
  fingerprint: string;
  /** Fingerprint of the primary key ('' when missing). */
  primaryFingerprint: string;
  valid: boolean;
  expired: boolean;
  revoked: boolean;
  /** No key in the keyring for this signature. */
  keyMissing: boolean;
  /** Signature creation time, seconds since the epoch. */
  timestamp: number;
  /** Signature expiry (0 = none). */
  sigExpires: number;
  sigExpired: boolean;
  /** Key expiry of the signing key / primary key (0 = none). */
  keyExpires: number;
  primaryKeyExpires: number;
  /** gpgme's public key algorithm name: RSA, DSA, ECDSA, EdDSA, ELG… */
  pubkeyAlgo: string;
  userName: string;
  userEmail: string;
}
export interface VerifyResult {
  valid: SignatureInfo[];
  all: SignatureInfo[];
}
