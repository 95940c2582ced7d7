// `ostree admin status` with GPG (test-admin-gpg.sh): the signature lines for a
// deployment whose remote has gpg-verify, and `--verify` (the full check of
// ostree_repo_signature_verify_commit_data), ours byte-for-byte against ostree.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import * as path from 'node:path';
import { SKIP_INTEROP, IS_ROOT, cleanupTmp, ostree, ours, ok } from './helpers/interop';
import { HAVE_GPG, makeTestKeys, TestKeys } from './helpers/gpgkeys';
import { makeSysroot, TestSysroot, OSNAME, BRANCH } from './helpers/sysroot';

describe.skipIf(SKIP_INTEROP || !IS_ROOT || !HAVE_GPG)('admin status with a GPG-verified remote', () => {
  let t: TestSysroot;
  let keys: TestKeys;
  const sysrepo = (): string => `--repo=${path.join(t.sysroot, 'ostree/repo')}`;

  beforeAll(() => {
    keys = makeTestKeys();
    t = makeSysroot();
    ok(ostree([`--repo=${t.repo}`, 'commit', '--bootable', '-b', BRANCH, '-s', 'Build', `--gpg-sign=${keys.good.fpr}`, `--gpg-homedir=${keys.home}`, t.osdata]), 'commit');
    ok(ostree([sysrepo(), 'remote', 'add', `--gpg-import=${keys.good.pub}`, OSNAME, `file://${t.repo}`]), 'remote add');
    ok(ostree([sysrepo(), 'pull-local', '--gpg-verify=true', `--remote=${OSNAME}`, t.repo, BRANCH]), 'pull-local');
    ok(ostree(['admin', 'deploy', `--os=${OSNAME}`, `${OSNAME}:${BRANCH}`], { env: t.env }), 'deploy');
  }, 60_000);
  afterAll(() => {
    keys?.kill();
    cleanupTmp();
  });

  it('status prints the GPG lines and status --verify the verification text, as ostree does', () => {
    for (const argv of [['admin', 'status'], ['admin', 'status', '--verify'], ['admin', 'status', '-V']]) {
      const theirs = ok(ostree(argv, { env: t.env }), 'ostree status');
      expect(ok(ours(argv, { env: t.env }), 'our status')).toBe(theirs);
      expect(theirs).toMatch(/GPG: Signature made .* using RSA key ID /);
    }
  });

  it('status --verify fails as ostree does when the remote verifies nothing', () => {
    ok(ostree([sysrepo(), 'config', 'set', `remote "${OSNAME}".gpg-verify`, 'false']), 'config set');
    try {
      const theirs = ostree(['admin', 'status', '--verify'], { env: t.env });
      const r = ours(['admin', 'status', '--verify'], { env: t.env });
      expect(theirs.status).toBe(1);
      expect([r.status, r.stdout, r.stderr]).toEqual([theirs.status, theirs.stdout, theirs.stderr]);
    } finally {
      ok(ostree([sysrepo(), 'config', 'set', `remote "${OSNAME}".gpg-verify`, 'true']), 'config set');
    }
  });
});
