// The /etc three-way merge and config-diff against the real ostree: ostree
// deploys v1, /etc is edited as in test-admin-deploy-etcmerge-cornercases.sh
// (plus type, owner, mode and xattr changes), `ostree admin config-diff` is
// compared with ours, then ostree deploys v2 (new defaults) and its merged
// /etc is compared with what mergeEtc makes of a copy of v2's /usr/etc.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { spawnSync, execFileSync } from 'node:child_process';
import { lstatSync, writeFileSync, mkdirSync, chmodSync, symlinkSync, rmSync, chownSync, existsSync, unlinkSync } from 'node:fs';
import * as path from 'node:path';
import { SKIP_INTEROP, IS_ROOT, cleanupTmp, ostree, ok, tmpdir } from './helpers/interop';
import { makeSysroot, TestSysroot, OSNAME } from './helpers/sysroot';
import { mergeEtc, configDiff, formatConfigDiff } from '../lib/sysroot/etc-merge';
import { OstreeError } from '../lib/errors';

afterAll(() => cleanupTmp());

/**
 * Names, types, modes, owners, symlink targets, user xattrs and contents of a
 * tree, plus the mtimes of the regular files among `timed` (the copied ones:
 * the others come from the new defaults' checkout).
 */
function describeTree(dir: string, timed: string[] = []): string {
  const times = timed
    .filter((p) => lstatSync(path.join(dir, p), { throwIfNoEntry: false })?.isFile())
    .map((p) => `${p} ${lstatSync(path.join(dir, p), { bigint: true }).mtimeNs}\n`)
    .join('');
  const r = spawnSync('sh', [
    '-c',
    `cd "${dir}" && find . -printf '%p %y %m %U:%G %l\\n' | LC_ALL=C sort && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 -r sha256sum && (getfattr -h -R -d -m '^user\\.' . 2>/dev/null | grep -v '^$' || true)`,
  ]);
  return r.stdout.toString() + times;
}

function sh(cmd: string, cwd: string): void {
  execFileSync('sh', ['-c', cmd], { cwd, stdio: 'pipe' });
}

describe.skipIf(SKIP_INTEROP || !IS_ROOT)('mergeEtc against ostree admin deploy', () => {
  let t: TestSysroot;
  let oldDep: string;

  beforeAll(() => {
    t = makeSysroot();
    writeFileSync(path.join(t.osdata, 'usr/etc/typechange'), 'file in v1\n');
    writeFileSync(path.join(t.osdata, 'usr/etc/typechange2'), 'file in v1\n');
    writeFileSync(path.join(t.osdata, 'usr/etc/owned'), 'owned\n');
    writeFileSync(path.join(t.osdata, 'usr/etc/removeme'), 'removed locally\n');
    t.commit('1.0');
    t.deploy(['--karg=root=LABEL=root']);
    [oldDep] = t.deployments();
    const etc = path.join(oldDep, 'etc');
    // the edits of test-admin-deploy-etcmerge-cornercases.sh
    writeFileSync(path.join(etc, 'NetworkManager/nm.conf'), 'a modified config file\n');
    sh('mkdir -p a/long/dir/chain a/long/dir/forking && echo chain > a/long/dir/chain/file && echo fork > a/long/dir/forking/file'
      + ' && chmod 700 a && chmod 770 a/long && chmod 777 a/long/dir && chmod 707 a/long/dir/chain && chmod 700 a/long/dir/forking'
      + ' && ln -s no-such-file a/link-to-no-such-file && mkfifo fifo-to-ignore && rm -rf testdirectory', etc);
    // more: mode, owner, type and xattr changes, added symlinks, a modified directory
    chmodSync(path.join(etc, 'aconfigfile'), 0o600);
    chownSync(path.join(etc, 'owned'), 1234, 5678);
    rmSync(path.join(etc, 'typechange'));
    symlinkSync('aconfigfile', path.join(etc, 'typechange'));
    rmSync(path.join(etc, 'typechange2'));
    sh('mkdir -m 0751 typechange2 && mkdir typechange2/sub && echo in > typechange2/sub/f && ln -s f typechange2/sub/l', etc);
    symlinkSync('/usr/share/zoneinfo/UTC', path.join(etc, 'localtime'));
    writeFileSync(path.join(etc, 'hostname'), 'myhost\n');
    sh("setfattr -n user.note -v local hostname && chmod 750 NetworkManager && echo extra > NetworkManager/extra.conf", etc);
    unlinkSync(path.join(etc, 'removeme'));
  });

  it('configDiff prints what ostree admin config-diff prints', async () => {
    const theirs = ok(ostree(['admin', 'config-diff', `--os=${OSNAME}`], { env: t.env }), 'config-diff');
    const d = await configDiff(path.join(oldDep, 'usr/etc'), path.join(oldDep, 'etc'));
    expect(formatConfigDiff(d).trim()).toBe(theirs);
    expect(d.removed).toContain('testdirectory');
    expect(d.added).toContain('a/long/dir/chain/file');
    expect(d.modified).toContain('NetworkManager/nm.conf');
  });

  it('merges into the new defaults exactly as ostree admin deploy does', async () => {
    // v2 changes the defaults
    writeFileSync(path.join(t.osdata, 'usr/etc/aconfigfile'), 'a new default\n');
    writeFileSync(path.join(t.osdata, 'usr/etc/newdefault'), 'new in v2\n');
    mkdirSync(path.join(t.osdata, 'usr/etc/initially-empty'));
    writeFileSync(path.join(t.osdata, 'usr/etc/testdirectory/test'), 'changed default\n');
    writeFileSync(path.join(t.osdata, 'usr/etc/NetworkManager/nm.conf'), 'a new default daemon file\n');
    t.commit('2.0');
    const out = t.deploy();
    const [newDep] = t.deployments();
    expect(newDep).not.toBe(oldDep);

    const ourEtc = path.join(tmpdir(), 'etc');
    execFileSync('cp', ['-a', path.join(newDep, 'usr/etc'), ourEtc]);
    const r = await mergeEtc(path.join(oldDep, 'usr/etc'), path.join(oldDep, 'etc'), ourEtc);
    expect(out).toContain(r.message);
    const d = await configDiff(path.join(oldDep, 'usr/etc'), path.join(oldDep, 'etc'));
    const copied = [...d.modified, ...d.added];
    expect(describeTree(ourEtc, copied)).toBe(describeTree(path.join(newDep, 'etc'), copied));
    expect(existsSync(path.join(ourEtc, 'fifo-to-ignore'))).toBe(false);
  });
});

describe.skipIf(!IS_ROOT)('mergeEtc corner cases', () => {
  function trees(): { orig: string; mod: string; neu: string } {
    const d = tmpdir();
    const orig = path.join(d, 'orig');
    const mod = path.join(d, 'mod');
    const neu = path.join(d, 'new');
    for (const p of [orig, mod, neu]) mkdirSync(p);
    return { orig, mod, neu };
  }

  it('refuses a modified file where the new defaults have a directory (ostree\'s message)', async () => {
    const { mod, orig, neu } = trees();
    writeFileSync(path.join(mod, 'somenewdir'), 'some content blah\n');
    mkdirSync(path.join(neu, 'somenewdir'));
    const err = await mergeEtc(orig, mod, neu).catch((e) => e);
    expect(err).toBeInstanceOf(OstreeError);
    expect(err.code).toBe('OSTREE_EXISTS');
    expect(err.message).toBe("During /etc merge: Modified config file newly defaults to directory 'somenewdir', cannot merge");
  });

  it('recreates the parents of a file added below a directory the new defaults dropped', async () => {
    const { mod, orig, neu } = trees();
    mkdirSync(path.join(orig, 'initially-empty'));
    mkdirSync(path.join(mod, 'initially-empty'), 0o751);
    chmodSync(path.join(mod, 'initially-empty'), 0o751);
    writeFileSync(path.join(mod, 'initially-empty/mynewfile'), '');
    const r = await mergeEtc(orig, mod, neu);
    expect(r).toMatchObject({ modified: 1, removed: 0, added: 1 });
    expect(existsSync(path.join(neu, 'initially-empty/mynewfile'))).toBe(true);
    expect(describeTree(neu)).toBe(describeTree(mod));
  });

  it('stops on an aborted signal', async () => {
    const { mod, orig, neu } = trees();
    writeFileSync(path.join(mod, 'x'), 'x');
    const ac = new AbortController();
    ac.abort();
    const err = await mergeEtc(orig, mod, neu, { signal: ac.signal }).catch((e) => e);
    expect(err.code).toBe('OSTREE_ABORTED');
    expect(existsSync(path.join(neu, 'x'))).toBe(false);
  });
});
