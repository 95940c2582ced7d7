// The sign options apply-offline and verify share, and loading the engine's
// public keys from them as ostree's CLI does (ostree_sign_add_pk for each
// KEY argument; ostree_sign_load_pk from --keys-file / --keys-dir or the
// system directories when no key is given).
import type { OptionSpec } from '../../options';
import type { DeltaSignEngine } from '../../../deltas/sign';

export const SIGN_OPTIONS: OptionSpec[] = [
  { long: 'sign-type', arg: 'string', argName: 'NAME', description: "Signature type to use (defaults to 'ed25519')" },
  { long: 'keys-file', arg: 'string', argName: 'NAME', description: 'Read key(s) from file' },
  {
    long: 'keys-dir',
    arg: 'string',
    argName: 'NAME',
    description: 'Redefine system-wide directories with public and revoked keys for verification',
  },
];

/**
 * The engine for `type` with the keys given. `strict`: a failure to load
 * default keys is an error (verify); otherwise (apply-offline) there is then
 * no engine, as in ostree.
 */
export async function loadSignEngine(type: string, keys: string[], keysFile: string | undefined, keysDir: string | undefined, strict: boolean): Promise<DeltaSignEngine | null> {
  const { checkSignType } = await import('../../../deltas/sign');
  checkSignType(type);
  const engine: DeltaSignEngine = { type, keys: [...keys], revoked: [] };
  if (keys.length === 0 || keysFile) {
    if (type === 'dummy') {
      if (keys.length === 0) {
        if (strict || keysFile || keysDir) throw new Error('signature: dummy: no keys to load');
        return null;
      }
      return engine;
    }
    const ed = await import('../../../sign/ed25519');
    if (keysFile) engine.keys.push(...(await ed.readKeysFile(keysFile)));
    else {
      const d = await ed.loadDefaultKeys(keysDir);
      engine.keys.push(...d.trusted);
      engine.revoked = d.revoked;
    }
    if (engine.keys.length === 0) {
      if (strict || keysFile || keysDir) throw new Error('signature: ed25519: no keys loaded');
      return null;
    }
  }
  return engine;
}
