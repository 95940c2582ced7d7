// ostree's sign API (ostree-sign.c) over its signature types: each type keeps
// an `aay` of signatures under `ostree.sign.NAME` in a commit's detached
// metadata or in summary.sig, and finds a remote's public keys in
// `verification-NAME-key` / `verification-NAME-file`.
import { OstreeError } from '../errors';
import type { Repo } from '../repo/repo';
import type { Metadata } from '../objects/formats';
import { ObjectType } from '../objects/formats';
import { lookup } from '../gvariant/codec';
import * as ed from './ed25519';
import { DUMMY_KEY, dummySign, dummyVerify, checkDummyEnabled } from './dummy';

export interface PublicKeys {
  trusted: string[];
  revoked: string[];
}

export interface SignEngine {
  readonly name: 'ed25519' | 'dummy';
  /** Detached-metadata key of the `aay` signature list. */
  readonly metadataKey: string;
  /** Refuse an unusable secret key before anything is written (ostree_sign_set_sk). */
  checkSecretKey(sk: string): void;
  sign(data: Buffer, sk: string): Buffer;
  /** ostree_sign_data_verify: the success message, or OSTREE_SIGN_VERIFY_FAILED. `sigs` is null when the key is absent. */
  verify(data: Buffer, sigs: Buffer[] | null, keys: PublicKeys): string;
  /** Public keys from a keys file (ostree_sign_load_pk with `filename`). */
  keysFromFile(file: string): Promise<string[]>;
  /** Keys used when none are configured (ed25519: the system directories). */
  defaultKeys(): Promise<PublicKeys>;
}

const ed25519: SignEngine = {
  name: 'ed25519',
  metadataKey: ed.ED25519_KEY,
  checkSecretKey: (sk) => void ed.decodeSecretKey(sk),
  sign: (data, sk) => ed.signData(data, sk),
  verify: (data, sigs, keys) => ed.verifySignatures(data, sigs ?? [], keys.trusted, keys.revoked),
  keysFromFile: (file) => ed.readKeysFile(file),
  defaultKeys: () => ed.loadDefaultKeys(),
};

const dummy: SignEngine = {
  name: 'dummy',
  metadataKey: DUMMY_KEY,
  checkSecretKey: () => checkDummyEnabled(),
  sign: (data, sk) => dummySign(data, sk),
  verify: (_data, sigs, keys) => dummyVerify(sigs, keys.trusted),
  keysFromFile: async () => {
    throw new OstreeError('OSTREE_INVALID_ARGUMENT', 'not implemented');
  },
  defaultKeys: async () => ({ trusted: [], revoked: [] }),
};

/** Every signature type, in ostree's order (sign-verify=true tries them all). */
export const SIGN_ENGINES: readonly SignEngine[] = [ed25519, dummy];

/** The engine called NAME (ostree_sign_get_by_name). */
export function signEngine(name: string): SignEngine {
  const e = SIGN_ENGINES.find((x) => x.name === name);
  if (!e) throw new OstreeError('OSTREE_INVALID_ARGUMENT', 'Requested signature type is not implemented', { data: { signType: name } });
  return e;
}

/** The engine's signatures in a metadata dictionary, or null when it has none of its key. */
export function signaturesIn(md: Metadata | null, engine: SignEngine): Buffer[] | null {
  const v = md ? lookup(md, engine.metadataKey) : undefined;
  return v && v.type === 'aay' ? (v.value as Buffer[]) : null;
}

/** Append SIGNATURE to the engine's list in MD (a GVariantDict rebuild, as ostree). */
export async function appendSignature(md: Metadata | null, engine: SignEngine, signature: Buffer): Promise<Metadata> {
  const { dictRebuild } = await import('../gpg/sign');
  return dictRebuild(md, [[engine.metadataKey, { type: 'aay', value: [...(signaturesIn(md, engine) ?? []), signature] }]]);
}

/** ostree_sign_commit with each secret key in turn: signatures appended to the detached metadata. */
export async function signCommit(repo: Repo, commit: string, engine: SignEngine, secretKeys: string[]): Promise<void> {
  const { writeDetachedMetadata } = await import('../gpg/sign');
  const bytes = (await repo.loadMetadata(ObjectType.Commit, commit)) as Buffer;
  for (const sk of secretKeys) {
    engine.checkSecretKey(sk);
    const sig = engine.sign(bytes, sk);
    await writeDetachedMetadata(repo, commit, await appendSignature(await repo.readDetachedMetadata(commit), engine, sig));
  }
}

/** ostree_sign_commit_verify: the commit's detached signatures of this type against KEYS. */
export async function verifyCommit(repo: Repo, commit: string, engine: SignEngine, keys: PublicKeys): Promise<string> {
  const bytes = (await repo.loadMetadata(ObjectType.Commit, commit)) as Buffer;
  return engine.verify(bytes, signaturesIn(await repo.readDetachedMetadata(commit), engine), keys);
}

/**
 * A remote's public keys for ENGINE (_signapi_load_public_keys): the
 * keys file and/or the inline key; with neither, the engine's defaults, or
 * an error when the type was asked for by name (`required`).
 */
export async function remotePublicKeys(repo: Repo, remote: string, engine: SignEngine, required: boolean): Promise<PublicKeys> {
  const { getRemote } = await import('../remotes/remotes');
  const r = await getRemote(repo, remote);
  const inline = r.options[`verification-${engine.name}-key`];
  const file = r.options[`verification-${engine.name}-file`];
  if (inline === undefined && file === undefined) {
    if (required) throw new OstreeError('OSTREE_SIGN_VERIFY_FAILED', `No keys found for required signapi type ${engine.name}`, { data: { remote, reason: 'no-keys' } });
    return engine.defaultKeys();
  }
  const trusted: string[] = [];
  if (file !== undefined) {
    try {
      trusted.push(...(await engine.keysFromFile(file)));
    } catch (e) {
      throw new OstreeError('OSTREE_SIGN_VERIFY_FAILED', `Failed loading '${engine.name}' keys from '${file}`, { cause: e, data: { remote, reason: 'no-keys' } });
    }
  }
  // ed25519 keys are base64 (one or several inline); a dummy key is any string.
  if (inline !== undefined) trusted.push(...(engine.name === 'ed25519' ? inline.split(/[;\s]+/).filter(Boolean) : [inline]));
  return { trusted, revoked: [] };
}

/**
 * _sign_verify_for_remote: DATA is accepted when any engine that finds its
 * signatures in MD verifies them; "No signatures found" when none has any;
 * otherwise the first failure, prefixed with the count of the others.
 */
export function verifyForRemote(engines: Array<{ engine: SignEngine; keys: PublicKeys }>, data: Buffer, md: Metadata | null): string {
  let first: OstreeError | null = null;
  let invalid = 0;
  let found = false;
  for (const { engine, keys } of engines) {
    const sigs = signaturesIn(md, engine);
    if (!sigs) continue;
    found = true;
    try {
      return engine.verify(data, sigs, keys);
    } catch (e) {
      if (!(e instanceof OstreeError)) throw e;
      invalid++;
      first ??= e;
    }
  }
  if (!found) throw new OstreeError('OSTREE_SIGN_VERIFY_FAILED', 'No signatures found', { data: { reason: 'no-signature' } });
  const err = first as OstreeError;
  if (invalid > 1) throw new OstreeError('OSTREE_SIGN_VERIFY_FAILED', `(${invalid - 1} other invalid signatures): ${err.message}`, { cause: err, data: err.data });
  throw err;
}
