// OpenPGP and ed25519 signing/verification, interoperable with ostree 2022.7.
import { printVariant } from '../lib/gvariant/text';
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { SKIP_INTEROP, tmpdir, cleanupTmp, ostree, ours, ok, makeTree } from './helpers/interop';
import { HAVE_GPG, makeTestKeys, revokeKey, type TestKeys } from './helpers/gpgkeys';
import { Repo } from '../lib/repo/repo';
import { ObjectType } from '../lib/objects/formats';
import { deserialize } from '../lib/gvariant/codec';
import { ghashOrder } from '../lib/ghash';
import { addRemote } from '../lib/remotes/remotes';
import { verifyCommitGpg, verifySummaryGpg, inspectCommitGpg } from '../lib/gpg/verify';
import { loadSigningKey, importKeysToRemote } from '../lib/gpg/keys';
import { signDetachedWithKey, dictRebuild, writeDetachedMetadata } from '../lib/gpg/sign';
import * as ed from '../lib/sign/ed25519';
import { OstreeError } from '../lib/errors';

const skip = SKIP_INTEROP || (!HAVE_GPG && !process.env.CI);

async function expectCode(p: Promise<unknown>, code: string): Promise<OstreeError> {
  try {
    await p;
  } catch (e) {
    expect((e as OstreeError).code).toBe(code);
    return e as OstreeError;
  }
  throw new Error(`expected ${code}`);
}

describe.skipIf(skip)('GPG signatures (ostree interop)', () => {
  let keys: TestKeys;
  let repoPath: string;
  let tree: string;
  const env = () => ({ GNUPGHOME: keys.home });
  const commitArgs = (subject: string, extra: string[] = []) => ['--repo=' + repoPath, 'commit', '-b', 'main', '--tree=dir=' + tree, '-s', subject, ...extra];

  beforeAll(async () => {
    keys = makeTestKeys();
    const d = tmpdir();
    repoPath = path.join(d, 'repo');
    tree = path.join(d, 'tree');
    makeTree(tree);
    ok(ostree(['init', '--repo=' + repoPath, '--mode=archive']));
    const repo = await Repo.open(repoPath);
    await addRemote(repo, 'origin', 'file://' + repoPath);
    await importKeysToRemote(repo, 'origin', { files: [keys.good.pub] });
    await addRemote(repo, 'asc', 'file://' + repoPath);
    await importKeysToRemote(repo, 'asc', { files: [keys.good.asc] });
    await addRemote(repo, 'nokeys', 'file://' + repoPath, { set: { 'gpg-verify': 'true' } });
  }, 120_000);
  afterAll(() => {
    keys?.kill();
    cleanupTmp();
  });

  async function load(csum: string) {
    const repo = await Repo.open(repoPath);
    const bytes = (await repo.loadMetadata(ObjectType.Commit, csum)) as Buffer;
    return { repo, bytes, detached: await repo.readDetachedMetadata(csum) };
  }

  it('verifies a commit signed by ostree (binary and armored imported keys)', async () => {
    const csum = ok(ostree([...commitArgs('by ostree'), `--gpg-sign=${keys.good.fpr}`, `--gpg-homedir=${keys.home}`]));
    const { repo, bytes, detached } = await load(csum);
    for (const remote of ['origin', 'asc']) {
      const res = await verifyCommitGpg(repo, remote, csum, bytes, detached);
      expect(res.valid.map((s) => s.fingerprint)).toEqual([keys.good.fpr]);
    }
    // Same "Found 1 signature" block as ostree prints.
    const theirs = ok(ostree(['--repo=' + repoPath, 'show', '--gpg-verify-remote=origin', csum]));
    const mine = ok(ours(['--repo=' + repoPath, 'show', '--gpg-verify-remote=origin', csum]));
    expect(theirs).toContain('Good signature from "Good Key <good@example.com>"');
    expect(mine).toBe(theirs);
    // Tampered commit bytes fail.
    const bad = Buffer.from(bytes);
    bad[bad.length - 40] ^= 1;
    const e = await expectCode(verifyCommitGpg(repo, 'origin', csum, bad, detached), 'OSTREE_GPG_VERIFY_FAILED');
    expect(e.message).toContain(csum);
    expect(e.data.reason).toBe('invalid-signature');
    // A remote without any keyring: key missing.
    const e2 = await expectCode(verifyCommitGpg(repo, 'nokeys', csum, bytes, detached), 'OSTREE_GPG_VERIFY_FAILED');
    expect(e2.data.reason).toBe('missing-key');
    expect(e2.data.keyIds).toEqual([keys.good.keyId]);
  });

  it('signs commits that ostree verifies (commit --gpg-sign, gpg-sign)', async () => {
    const csum = ok(ours([...commitArgs('by us'), `--gpg-sign=${keys.good.keyId}`, `--gpg-homedir=${keys.home}`]));
    const theirs = ostree(['--repo=' + repoPath, 'show', '--gpg-verify-remote=origin', csum]);
    expect(theirs.status).toBe(0);
    expect(theirs.stdout).toContain('Found 1 signature:');
    expect(theirs.stdout).toContain(`using RSA key ID ${keys.good.keyId}`);
    expect(theirs.stdout).toContain('Good signature from "Good Key <good@example.com>"');
    expect(ok(ours(['--repo=' + repoPath, 'show', '--gpg-verify-remote=origin', csum]))).toBe(theirs.stdout.trim());

    // gpg-sign on a commit with other detached metadata: same dictionary layout as ostree's.
    const a = ok(ostree([...commitArgs('a'), '--add-detached-metadata-string=example.detached=hello', '--add-detached-metadata-string=zz=1']));
    const b = ok(ostree([...commitArgs('b'), '--add-detached-metadata-string=example.detached=hello', '--add-detached-metadata-string=zz=1']));
    ok(ostree(['--repo=' + repoPath, 'gpg-sign', `--gpg-homedir=${keys.home}`, a, keys.good.fpr]));
    ok(ours(['--repo=' + repoPath, 'gpg-sign', `--gpg-homedir=${keys.home}`, b, keys.good.fpr]));
    const la = await load(a);
    const lb = await load(b);
    expect(lb.detached!.map(([k, v]) => [k, v.type])).toEqual(la.detached!.map(([k, v]) => [k, v.type]));
    expect(lb.detached!.map(([k]) => k)).toEqual(ghashOrder(['example.detached', 'zz', 'ostree.gpgsigs']));
    expect(ostree(['--repo=' + repoPath, 'show', '--gpg-verify-remote=origin', b]).stdout).toContain('Good signature');
    await verifyCommitGpg(lb.repo, 'origin', b, lb.bytes, lb.detached);

    // A second signature by another key, then --delete of it (count like ostree's).
    ok(ours(['--repo=' + repoPath, 'gpg-sign', `--gpg-homedir=${keys.home}`, b, keys.other.fpr]));
    const show2 = ostree(['--repo=' + repoPath, 'show', '--gpg-verify-remote=origin', b]);
    expect(show2.stdout).toContain('Found 2 signatures:');
    expect(show2.stdout).toContain("Can't check signature: public key not found");
    expect(ok(ours(['--repo=' + repoPath, 'show', '--gpg-verify-remote=origin', b]))).toBe(show2.stdout.trim());
    // Signing twice with the same key is refused.
    expect(ours(['--repo=' + repoPath, 'gpg-sign', `--gpg-homedir=${keys.home}`, b, keys.other.fpr]).status).toBe(1);
    expect(ok(ours(['--repo=' + repoPath, 'gpg-sign', '--delete', `--gpg-homedir=${keys.home}`, b, keys.other.fpr]))).toBe('Signatures deleted: 1');
    expect(ostree(['--repo=' + repoPath, 'show', '--gpg-verify-remote=origin', b]).stdout).toContain('Found 1 signature:');
    ok(ostree(['--repo=' + repoPath, 'gpg-sign', `--gpg-homedir=${keys.home}`, a, keys.other.fpr]));
    expect(ok(ours(['--repo=' + repoPath, 'gpg-sign', '--delete', `--gpg-homedir=${keys.home}`, a, keys.other.fpr]))).toBe('Signatures deleted: 1');
    expect(ostree(['--repo=' + repoPath, 'show', '--gpg-verify-remote=origin', a]).stdout).toContain('Found 1 signature:');
  }, 60_000);

  it('rejects unsigned commits and signatures by keys outside the keyring', async () => {
    const unsigned = ok(ostree(commitArgs('unsigned')));
    let l = await load(unsigned);
    const e = await expectCode(verifyCommitGpg(l.repo, 'origin', unsigned, l.bytes, l.detached), 'OSTREE_GPG_VERIFY_FAILED');
    expect(e.message).toContain(unsigned);
    expect(e.data.reason).toBe('no-signature');
    const other = ok(ostree([...commitArgs('other'), `--gpg-sign=${keys.other.fpr}`, `--gpg-homedir=${keys.home}`]));
    l = await load(other);
    const e2 = await expectCode(verifyCommitGpg(l.repo, 'origin', other, l.bytes, l.detached), 'OSTREE_GPG_VERIFY_FAILED');
    expect(e2.data.keyIds).toEqual([keys.other.keyId]);
    expect(e2.message).toContain(keys.other.keyId);
    // ostree's own description of it matches ours.
    expect(ok(ours(['--repo=' + repoPath, 'show', '--gpg-verify-remote=origin', other]))).toBe(
      ok(ostree(['--repo=' + repoPath, 'show', '--gpg-verify-remote=origin', other])),
    );
  });

  it('gpgkeypath: a directory is imported file by file; files without keys (trustdb.gpg) add none, as ostree', async () => {
    const dir = path.join(tmpdir(), 'keypath');
    require('node:fs').mkdirSync(dir);
    writeFileSync(path.join(dir, 'good.asc'), readFileSync(keys.good.asc));
    // GnuPG's trust database and a stray text file sit in a typical GnuPG home.
    writeFileSync(path.join(dir, 'trustdb.gpg'), Buffer.concat([Buffer.from([1, 0x67, 0x70, 0x67, 3, 3, 1, 5]), Buffer.alloc(1192)]));
    writeFileSync(path.join(dir, 'README'), 'not a key\n');
    const csum = ok(ostree([...commitArgs('keypath'), `--gpg-sign=${keys.good.fpr}`, `--gpg-homedir=${keys.home}`]));
    for (const run of [ostree, ours]) ok(run(['--repo=' + repoPath, 'remote', 'add', '--if-not-exists', `--set=gpgkeypath=${dir}/`, 'kp', 'file://' + repoPath]));
    const theirs = ostree(['--repo=' + repoPath, 'show', '--gpg-verify-remote=kp', csum]);
    expect(theirs.stdout).toContain('Good signature');
    const mine = ours(['--repo=' + repoPath, 'show', '--gpg-verify-remote=kp', csum]);
    expect([mine.status, mine.stdout]).toEqual([theirs.status, theirs.stdout]);
  });

  it('several signatures (one by a subkey of a user ID without email) all verify, described as ostree does', () => {
    const home = path.join(tmpdir(), 'gh');
    require('node:fs').mkdirSync(home, { mode: 0o700 });
    const gen = require('node:child_process').spawnSync('gpg', ['--homedir', home, '--batch', '--generate-key'], {
      input: 'Key-Type: RSA\nKey-Length: 2048\nKey-Usage: sign\nSubkey-Type: RSA\nSubkey-Length: 2048\nSubkey-Usage: sign\nName-Real: No Email Key\nExpire-Date: 0\n%no-protection\n%transient-key\n%commit\n',
    });
    expect(gen.status).toBe(0);
    const colons = require('node:child_process').execFileSync('gpg', ['--homedir', home, '--list-secret-keys', '--with-colons']).toString();
    const subId = colons.split('\n').find((l: string) => l.startsWith('ssb:')).split(':')[4];
    const trusted = path.join(tmpdir(), 'trusted');
    require('node:fs').mkdirSync(trusted);
    writeFileSync(path.join(trusted, 'noemail.gpg'), require('node:child_process').execFileSync('gpg', ['--homedir', home, '--export']));
    writeFileSync(path.join(trusted, 'good.gpg'), readFileSync(keys.good.pub));
    const c = ok(ours([...commitArgs('two sigs'), `--gpg-sign=${keys.good.fpr}`, `--gpg-homedir=${keys.home}`]));
    ok(ours(['--repo=' + repoPath, 'gpg-sign', `--gpg-homedir=${home}`, c, subId]));
    const theirs = ok(ostree(['--repo=' + repoPath, 'show', `--gpg-homedir=${trusted}`, c]));
    expect(theirs).toContain('Good signature from "No Email Key <>"');
    expect(theirs.match(/Good signature/g)?.length).toBe(2);
    expect(ok(ours(['--repo=' + repoPath, 'show', `--gpg-homedir=${trusted}`, c]))).toBe(theirs);
    // The key's expiry set, passed, then lifted again: gpgme goes by the key as it is now (valid).
    const cp = require('node:child_process');
    const fpr = colons.split('\n').find((l: string) => l.startsWith('fpr:')).split(':')[9];
    expect(cp.spawnSync('gpg', ['--homedir', home, '--batch', '--quick-set-expire', fpr, 'seconds=1']).status).toBe(0);
    cp.execFileSync('sleep', ['2']);
    expect(cp.spawnSync('gpg', ['--homedir', home, '--batch', '--quick-set-expire', fpr, 'seconds=0']).status).toBe(0);
    writeFileSync(path.join(trusted, 'noemail.gpg'), cp.execFileSync('gpg', ['--homedir', home, '--export']));
    const again = ok(ostree(['--repo=' + repoPath, 'show', `--gpg-homedir=${trusted}`, c]));
    expect(again.match(/Good signature/g)?.length).toBe(2);
    expect(ok(ours(['--repo=' + repoPath, 'show', `--gpg-homedir=${trusted}`, c]))).toBe(again);
    cp.spawnSync('gpgconf', ['--homedir', home, '--kill', 'all']);
  }, 60_000);

  it('rejects expired and revoked keys', async () => {
    const repo = await Repo.open(repoPath);
    await addRemote(repo, 'exp', 'file://' + repoPath);
    await importKeysToRemote(repo, 'exp', { files: [keys.expired.pub] });
    // A signature made in 2020 while the key was valid; the key has expired since.
    const csum = ok(ostree(commitArgs('expired')));
    let l = await load(csum);
    const ek = await loadSigningKey(keys.expired.fpr, keys.home);
    const sig = await signDetachedWithKey(l.bytes, ek, new Date('2020-03-01T00:00:00Z'));
    await writeDetachedMetadata(repo, csum, dictRebuild(l.detached, [['ostree.gpgsigs', { type: 'aay', value: [sig] }]]));
    l = await load(csum);
    const e = await expectCode(verifyCommitGpg(l.repo, 'exp', csum, l.bytes, l.detached), 'OSTREE_GPG_VERIFY_FAILED');
    expect(e.data.reason).toBe('expired-key');
    expect(e.data.keyIds).toEqual([keys.expired.keyId]);
    const res = await inspectCommitGpg(l.repo, 'exp', l.bytes, l.detached);
    expect(res.all[0].expired).toBe(true);
    // ostree also refuses it (its show output names the expired key).
    const theirs = ok(ostree(['--repo=' + repoPath, 'show', '--gpg-verify-remote=exp', csum]));
    expect(theirs).not.toContain('Good signature');
    expect(theirs).toContain('Key expired');
    expect(ok(ours(['--repo=' + repoPath, 'show', '--gpg-verify-remote=exp', csum]))).toBe(theirs);

    // Revoked: sign while valid, then trust only the revoked public key.
    const rcsum = ok(ostree([...commitArgs('revoked'), `--gpg-sign=${keys.revoked.fpr}`, `--gpg-homedir=${keys.home}`]));
    const revokedPub = revokeKey(keys);
    await addRemote(repo, 'rev', 'file://' + repoPath);
    await importKeysToRemote(repo, 'rev', { files: [revokedPub] });
    l = await load(rcsum);
    const e2 = await expectCode(verifyCommitGpg(l.repo, 'rev', rcsum, l.bytes, l.detached), 'OSTREE_GPG_VERIFY_FAILED');
    expect(e2.data.reason).toBe('revoked-key');
    const theirs2 = ok(ostree(['--repo=' + repoPath, 'show', '--gpg-verify-remote=rev', rcsum]));
    expect(theirs2).toContain('Key revoked');
    expect(ok(ours(['--repo=' + repoPath, 'show', '--gpg-verify-remote=rev', rcsum]))).toBe(theirs2);
  }, 60_000);

  it('signs summary.sig the way ostree verifies it', async () => {
    ok(ours(['--repo=' + repoPath, 'summary', '-u', `--gpg-sign=${keys.good.fpr}`, `--gpg-homedir=${keys.home}`]));
    ok(ostree(['--repo=' + repoPath, 'config', 'set', 'remote "origin".gpg-verify-summary', 'true']));
    const theirs = ostree(['--repo=' + repoPath, 'remote', 'summary', 'origin']);
    expect(theirs.status).toBe(0);
    expect(theirs.stdout).toContain('GPG: Verification enabled, found 1 signature:');
    expect(theirs.stdout).toContain('Good signature');
    expect(ok(ours(['--repo=' + repoPath, 'remote', 'summary', 'origin']))).toBe(theirs.stdout.trim());
    const repo = await Repo.open(repoPath);
    const summary = readFileSync(path.join(repoPath, 'summary'));
    const sig = readFileSync(path.join(repoPath, 'summary.sig'));
    await verifySummaryGpg(repo, 'origin', summary, sig);
    const bad = Buffer.from(summary);
    bad[0] ^= 1;
    await expectCode(verifySummaryGpg(repo, 'origin', bad, sig), 'OSTREE_GPG_VERIFY_FAILED');
    // And ostree's signed summary verifies with us.
    ok(ostree(['--repo=' + repoPath, 'summary', '-u', `--gpg-sign=${keys.good.fpr}`, `--gpg-homedir=${keys.home}`]));
    await verifySummaryGpg(repo, 'origin', readFileSync(path.join(repoPath, 'summary')), readFileSync(path.join(repoPath, 'summary.sig')));
    await expectCode(verifySummaryGpg(repo, 'nokeys', readFileSync(path.join(repoPath, 'summary')), readFileSync(path.join(repoPath, 'summary.sig'))), 'OSTREE_GPG_VERIFY_FAILED');
  }, 60_000);
});

describe.skipIf(SKIP_INTEROP)('ed25519 (ostree sign API format)', () => {
  afterAll(() => cleanupTmp());

  it('matches the RFC 8032 test vector with libsodium key layout', () => {
    const seed = Buffer.from('9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60', 'hex');
    const pk = Buffer.from('d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a', 'hex');
    const sk = Buffer.concat([seed, pk]).toString('base64');
    expect(ed.publicKeyOf(sk)).toBe(pk.toString('base64'));
    const sig = ed.signData(Buffer.alloc(0), sk);
    expect(sig.toString('hex')).toBe(
      'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b',
    );
    expect(ed.verifyData(Buffer.alloc(0), sig, pk.toString('base64'))).toBe(true);
  });

  it('sign → verify round trip through the CLI; wrong key and tampering rejected', async () => {
    const d = tmpdir();
    const repoPath = path.join(d, 'repo');
    const tree = path.join(d, 'tree');
    makeTree(tree);
    ok(ostree(['init', '--repo=' + repoPath, '--mode=archive']));
    const k1 = ed.generateKeyPair();
    const k2 = ed.generateKeyPair();
    const csum = ok(ours(['--repo=' + repoPath, 'commit', '-b', 'main', '--tree=dir=' + tree, '--add-detached-metadata-string=a=b', `--sign=${k1.secretKey}`, '--sign-type=ed25519']));
    // ostree reads the detached metadata: an aay with one 64-byte signature, dictionary in GLib hash order.
    const raw = readFileSync(path.join(repoPath, 'objects', csum.slice(0, 2), csum.slice(2) + '.commitmeta'));
    const md = deserialize<Array<[string, { type: string; value: unknown }]>>('a{sv}', raw);
    expect(md.map(([k]) => k)).toEqual(ghashOrder(['a', 'ostree.sign.ed25519']));
    const sigs = md.find(([k]) => k === 'ostree.sign.ed25519')![1];
    expect(sigs.type).toBe('aay');
    expect((sigs.value as Buffer[]).map((b) => b.length)).toEqual([64]);
    const shown = ok(ostree(['--repo=' + repoPath, 'show', '--print-detached-metadata-key=ostree.sign.ed25519', csum]));
    // GLib prints the signature as a byte list, or as b'…' when it happens to be a NUL-terminated string.
    expect(shown).toBe(printVariant('aay', sigs.value, true));

    const pkHex = Buffer.from(k1.publicKey, 'base64').toString('hex');
    expect(ok(ours(['--repo=' + repoPath, 'sign', '--verify', csum, k1.publicKey]))).toBe(`ed25519: Signature verified successfully with key '${pkHex}'`);
    expect(ours(['--repo=' + repoPath, 'sign', '--verify', csum, k2.publicKey]).status).toBe(1);
    const keysFile = path.join(d, 'keys');
    writeFileSync(keysFile, `${k2.publicKey}\n${k1.publicKey}\n`);
    expect(ok(ours(['--repo=' + repoPath, 'sign', '--verify', `--keys-file=${keysFile}`, csum]))).toContain('verified successfully');

    // Remote verification-ed25519-key / -file.
    const repo = await Repo.open(repoPath);
    await addRemote(repo, 'good', 'file://' + repoPath, { signVerify: [`ed25519=inline:${k1.publicKey}`] });
    await addRemote(repo, 'goodfile', 'file://' + repoPath, { signVerify: [`ed25519=file:${keysFile}`] });
    await addRemote(repo, 'bad', 'file://' + repoPath, { set: { 'verification-ed25519-key': k2.publicKey } });
    const bytes = (await repo.loadMetadata(ObjectType.Commit, csum)) as Buffer;
    const detached = await repo.readDetachedMetadata(csum);
    await ed.verifyCommitEd25519(repo, 'good', bytes, detached);
    await ed.verifyCommitEd25519(repo, 'goodfile', bytes, detached);
    await expectCode(ed.verifyCommitEd25519(repo, 'bad', bytes, detached), 'OSTREE_SIGN_VERIFY_FAILED');
    const bad = Buffer.from(bytes);
    bad[10] ^= 1;
    await expectCode(ed.verifyCommitEd25519(repo, 'good', bad, detached), 'OSTREE_SIGN_VERIFY_FAILED');
    await expectCode(ed.verifyCommitEd25519(repo, 'good', bytes, null), 'OSTREE_SIGN_VERIFY_FAILED');

    // A second signature, then delete it.
    ok(ours(['--repo=' + repoPath, 'sign', csum, k2.secretKey]));
    expect(ed.signaturesOf(await repo.readDetachedMetadata(csum))).toHaveLength(2);
    await ed.verifyCommitEd25519(repo, 'bad', bytes, await repo.readDetachedMetadata(csum));
    expect(ok(ours(['--repo=' + repoPath, 'sign', '--delete', csum, k2.publicKey]))).toBe('Signatures deleted: 1');
    await expectCode(ed.verifyCommitEd25519(repo, 'bad', bytes, await repo.readDetachedMetadata(csum)), 'OSTREE_SIGN_VERIFY_FAILED');
    expect(ok(ostree(['--repo=' + repoPath, 'fsck']))).toContain('Validating refs');
  });
});
