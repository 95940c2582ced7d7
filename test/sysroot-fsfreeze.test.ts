// The /boot freeze/thaw cycle before a bootloader swap (fsfreeze_thaw_cycle):
// with OSTREE_SYSROOT_DEBUG=test-fifreeze both tools run the watchdog, which
// times out, reports itself and makes the deploy fail before anything is
// swapped; without it a deploy freezes/thaws (or syncs) and succeeds.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { readlinkSync, mkdirSync } from 'node:fs';
import * as path from 'node:path';
import { SKIP_INTEROP, IS_ROOT, cleanupTmp, ostree, ours, ok, tmpdir } from './helpers/interop';
import { makeSysroot, TestSysroot, OSNAME, BRANCH } from './helpers/sysroot';
import { fsfreezeThawCycle } from '../lib/sysroot/fsfreeze';

afterAll(cleanupTmp);

describe('fsfreezeThawCycle', () => {
  it('test mode: the watchdog runs and the cycle fails with ostree\'s message; normal mode succeeds', async () => {
    const dir = tmpdir('node-ostree-fz-');
    mkdirSync(path.join(dir, 'boot'));
    await expect(fsfreezeThawCycle(path.join(dir, 'boot'), true)).rejects.toMatchObject({
      code: 'OSTREE_ABORTED',
      message: 'During fsfreeze-thaw: aborting due to test-fifreeze',
    });
    await expect(fsfreezeThawCycle(path.join(dir, 'boot'), false)).resolves.toBeUndefined();
    await expect(fsfreezeThawCycle(path.join(dir, 'nosuch'), false)).rejects.toMatchObject({ code: 'ENOENT' });
  });
});

describe.skipIf(SKIP_INTEROP || !IS_ROOT)('admin deploy with test-fifreeze, against ostree', () => {
  let t: TestSysroot;
  beforeAll(() => {
    t = makeSysroot('syslinux');
    t.commit('1.0');
    t.deploy();
  });

  it('fails like ostree, after the watchdog ran, and leaves the boot configuration as it was', () => {
    const env = { ...t.env, OSTREE_SYSROOT_DEBUG: `${t.env.OSTREE_SYSROOT_DEBUG},test-fifreeze` };
    const argv = ['admin', 'deploy', `--os=${OSNAME}`, BRANCH];
    for (const run of [ostree, ours]) {
      const loader = readlinkSync(path.join(t.sysroot, 'boot/loader'));
      const before = t.deployments();
      const r = run(argv, { env });
      expect(r.status).toBe(1);
      expect(r.stderr).toContain('fifreeze watchdog was run\n');
      expect(r.stderr).toMatch(/^error: Full sync: During fsfreeze-thaw: aborting due to test-fifreeze$/m);
      expect(readlinkSync(path.join(t.sysroot, 'boot/loader'))).toBe(loader);
      expect(t.deployments()).toEqual(before);
    }
    // And without the flag, ours deploys (a real freeze/thaw of /boot, or syncfs where not allowed).
    ok(ours(argv, { env: t.env }), 'deploy');
    ok(ostree(['admin', 'status'], { env: t.env }), 'status');
  });
});
