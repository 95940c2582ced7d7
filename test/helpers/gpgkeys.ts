// Test GPG keys generated at test time in a temporary GnuPG home (no
// passphrases): a good key, another key, an expired key and a revoked key.
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync, readdirSync } from 'node:fs';
import * as path from 'node:path';
import { tmpdir } from './interop';

export const HAVE_GPG = spawnSync('gpg', ['--version']).status === 0;

export interface TestKey {
  fpr: string;
  keyId: string;
  /** Binary public key file. */
  pub: string;
  /** Armored public key file. */
  asc: string;
}

export interface TestKeys {
  home: string;
  good: TestKey;
  other: TestKey;
  expired: TestKey;
  revoked: TestKey;
  kill(): void;
}

function gpg(home: string, args: string[], input?: string): string {
  const r = spawnSync('gpg', ['--homedir', home, '--batch', '--no-tty', '--pinentry-mode', 'loopback', '--passphrase', '', ...args], {
    input,
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`gpg ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout;
}

function fprOf(home: string, uid: string): string {
  const out = gpg(home, ['--with-colons', '--list-keys', uid]);
  const line = out.split('\n').find((l) => l.startsWith('fpr:')) as string;
  return line.split(':')[9];
}

function exportKey(home: string, dir: string, name: string, fpr: string): TestKey {
  const pub = path.join(dir, `${name}.gpg`);
  const asc = path.join(dir, `${name}.asc`);
  gpg(home, ['--output', pub, '--export', fpr]);
  gpg(home, ['--output', asc, '--armor', '--export', fpr]);
  return { fpr, keyId: fpr.slice(-16), pub, asc };
}

export function makeTestKeys(): TestKeys {
  const home = tmpdir('gpgh-');
  const out = tmpdir('gpgk-');
  const gen = (uid: string, algo: string, expire: string, extra: string[] = []) => gpg(home, [...extra, '--quick-gen-key', uid, algo, 'sign', expire]);
  gen('Good Key <good@example.com>', 'rsa2048', '0');
  gen('Other Key <other@example.com>', 'ed25519', '0');
  // Valid during 2020 only: created with a faked clock, expired now.
  gen('Expired Key <expired@example.com>', 'ed25519', '2020-06-01', ['--faked-system-time', '20200101T000000!']);
  gen('Revoked Key <revoked@example.com>', 'ed25519', '0');
  const good = fprOf(home, 'good@example.com');
  const other = fprOf(home, 'other@example.com');
  const expired = fprOf(home, 'expired@example.com');
  const revoked = fprOf(home, 'revoked@example.com');
  const keys: TestKeys = {
    home,
    good: exportKey(home, out, 'good', good),
    other: exportKey(home, out, 'other', other),
    expired: exportKey(home, out, 'expired', expired),
    // Exported before revocation (usable for signing); the revoked copy is below.
    revoked: exportKey(home, out, 'revoked', revoked),
    kill() {
      spawnSync('gpgconf', ['--homedir', home, '--kill', 'all']);
    },
  };
  return keys;
}

/** Revoke the "revoked" key in the home and export the revoked public key; returns its path. */
export function revokeKey(keys: TestKeys): string {
  const dir = path.join(keys.home, 'openpgp-revocs.d');
  const f = readdirSync(dir).find((n) => n.startsWith(keys.revoked.fpr)) as string;
  const cert = readFileSync(path.join(dir, f), 'utf8').replace(/^:-----BEGIN/m, '-----BEGIN');
  gpg(keys.home, ['--import'], cert);
  const p = path.join(path.dirname(keys.revoked.pub), 'revoked-after.gpg');
  gpg(keys.home, ['--output', p, '--export', keys.revoked.fpr]);
  return p;
}

export function writeFile(p: string, data: string | Buffer): string {
  writeFileSync(p, data);
  return p;
}
