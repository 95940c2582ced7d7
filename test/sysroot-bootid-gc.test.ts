// Staging dirs across boots (test-admin-deploy-bootid-gc.sh): a transaction
// that fails at commit (OSTREE_REPO_TEST_ERROR=pre-commit) leaves its
// tmp/staging-BOOTID-XXXXXX; a later transaction deletes other boots' and
// reuses and deletes this boot's. Ours and ostree's dirs are interchangeable.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { readdirSync } from 'node:fs';
import * as path from 'node:path';
import { SKIP_INTEROP, IS_ROOT, cleanupTmp, ostree, ours, ok } from './helpers/interop';
import { makeSysroot, TestSysroot, OSNAME, BRANCH } from './helpers/sysroot';

afterAll(cleanupTmp);

describe.skipIf(SKIP_INTEROP || !IS_ROOT)('deploy, staging dirs and boot ids, against ostree', () => {
  let t: TestSysroot;
  const staging = (): string[] => readdirSync(path.join(t.sysroot, 'ostree/repo/tmp')).filter((n) => n.startsWith('staging-')).sort();
  beforeAll(() => {
    t = makeSysroot('syslinux');
    t.commit('1.0');
    t.deploy();
    t.commit('2.0');
  });

  it('a pre-commit failure keeps the staging dir; the next deploy removes old boots\' and its own', () => {
    const argv = ['admin', 'deploy', '--karg=root=LABEL=MOO', `--os=${OSNAME}`, BRANCH];
    const failing = (bootid: string) => ({ ...t.env, OSTREE_REPO_TEST_ERROR: 'pre-commit', OSTREE_BOOTID: bootid });
    const theirs = ostree(argv, { env: failing('aaaa') });
    expect(staging()).toEqual([expect.stringMatching(/^staging-aaaa-\w{6}$/)]);
    // Our failed transaction's cleanup already removes the other boot's (unlocked) dir, as ostree's abort does.
    const mine = ours(argv, { env: failing('bbbb') });
    expect(staging()).toEqual([expect.stringMatching(/^staging-bbbb-\w{6}$/)]);
    // ostree, failing again in another boot, removes ours.
    expect(ostree(argv, { env: failing('cccc') }).status).toBe(1);
    expect(staging()).toEqual([expect.stringMatching(/^staging-cccc-\w{6}$/)]);
    expect(theirs.status).toBe(1);
    expect(mine.status).toBe(1);
    const lastErr = (s: string) => s.trim().split('\n').pop();
    expect(lastErr(mine.stderr)).toBe(lastErr(theirs.stderr));
    expect(lastErr(mine.stderr)).toMatch(/OSTREE_REPO_TEST_ERROR_PRE_COMMIT specified$/);
    ok(ours(argv, { env: { ...t.env, OSTREE_BOOTID: 'cccc' } }), 'deploy');
    expect(staging()).toEqual([]);
  });
});
