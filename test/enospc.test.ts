// A disk that fills up midway, and a source file that cannot be read, in the
// middle of every write operation (issue 14, item 3). An 8 MB tmpfs holds the
// repo (or the checkout) and a ballast file leaves less room than the
// operation needs; core.min-free-space-percent=0, so the filesystem itself
// fails (the reserve is test/free-space.test.ts's subject). Each operation
// must fail with ENOSPC named in its message (code ENOSPC from the library),
// leave no ref and no commit that is not whole (our fsck and ostree's pass),
// and complete once the ballast is gone, with the same commit as an
// uninterrupted run. EACCES: a commit run as `nobody` meets a file it may not
// read. EIO is not injected: without device-mapper or FUSE there is no cheap
// way to make one file fail with EIO (see the skipped test's reason).
import { describe, it, expect, afterAll } from 'vitest';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as crypto from 'node:crypto';
import { SKIP_INTEROP, IS_ROOT, CLI, tmpdir, cleanupTmp, ostree, ours, ok, RunResult } from './helpers/interop';
import { oursA } from './helpers/pull';
import { serveRepo } from '../lib/httpd';
import { Repo } from '../lib/repo/repo';
import { pullLocal } from '../lib/pull-local';
import { checkout } from '../lib/checkout/checkout';

const base = tmpdir('node-ostree-enospc-');
const mnt = path.join(base, 'mnt');
fs.mkdirSync(mnt);

const mountFailure = ((): string | null => {
  if (!IS_ROOT) return 'mounting a tmpfs needs root';
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=8m', 'tmpfs', mnt]);
  return r.status === 0 ? null : `mount -t tmpfs failed: ${r.stderr.toString().trim()}`;
})();

afterAll(() => {
  if (mountFailure === null) spawnSync('umount', [mnt]);
  cleanupTmp();
});

/** 40 incompressible 64 KiB files in two directories (2.5 MiB), and a symlink. */
const tree = path.join(base, 'tree');
for (let i = 0; i < 40; i++) {
  const dir = path.join(tree, i % 2 ? 'a' : 'b/c');
  fs.mkdirSync(dir, { recursive: true });
  const chunks: Buffer[] = [];
  for (let k = 0; k < 2048; k++) chunks.push(crypto.createHash('sha256').update(`${i}:${k}`).digest());
  fs.writeFileSync(path.join(dir, `f${i}`), Buffer.concat(chunks));
}
fs.symlinkSync('a/f1', path.join(tree, 'link'));

/** The source: an archive repo outside the tmpfs with the tree on main, and a delta from nothing to it. */
const src = path.join(base, 'src');
let commit = '';
let deltaDir = '';
if (mountFailure === null && !SKIP_INTEROP) {
  ok(ours(['init', `--repo=${src}`, '--mode=archive']));
  commit = ok(ours(['commit', `--repo=${src}`, '-b', 'main', '-s', 'tree', '--timestamp=2024-01-01T00:00:00Z', tree]));
  ok(ours(['static-delta', 'generate', `--repo=${src}`, '--empty', `--to=${commit}`]));
  const find = (d: string): void => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) find(path.join(d, e.name));
      else if (e.name === 'superblock') deltaDir = d;
    }
  };
  find(path.join(src, 'deltas'));
}

/** Empty the tmpfs, make `repo` there (when a mode is given), then leave about 1 MiB free. */
function fill(mode?: string): { repo: string; ballast: string } {
  for (const n of fs.readdirSync(mnt)) fs.rmSync(path.join(mnt, n), { recursive: true, force: true });
  const repo = path.join(mnt, 'repo');
  if (mode) {
    ok(ours(['init', `--repo=${repo}`, `--mode=${mode}`]));
    ok(ours(['config', `--repo=${repo}`, 'set', 'core.min-free-space-percent', '0']));
  }
  const st = fs.statfsSync(mnt);
  const ballast = path.join(mnt, 'ballast');
  fs.writeFileSync(ballast, Buffer.alloc(Math.max(0, st.bavail * st.bsize - (1 << 20)), 1));
  return { repo, ballast };
}

/** Failed with ENOSPC named; the repo has no ref and passes both fscks. */
function expectCleanFailure(r: RunResult, repo: string, what: string): void {
  expect(r.status, `${what}: ${r.stderr}`).toBe(1);
  expect(r.stderr, what).toMatch(/^error: .*ENOSPC: no space left on device/m);
  expectConsistent(repo, what);
}

function expectConsistent(repo: string, what: string): void {
  const refs = ok(ours(['refs', `--repo=${repo}`, '--list']));
  for (const ref of refs.split('\n').filter(Boolean)) {
    // A ref present names a whole commit: its objects all there (fsck below).
    expect(ostree(['rev-parse', `--repo=${repo}`, ref]).status, `${what}: ref ${ref}`).toBe(0);
  }
  const f1 = ours(['fsck', `--repo=${repo}`]);
  expect(f1.status, `${what}: our fsck: ${f1.stderr}`).toBe(0);
  const f2 = ostree(['fsck', `--repo=${repo}`]);
  expect(f2.status, `${what}: ostree fsck: ${f2.stderr}`).toBe(0);
}

const enospcSkip = mountFailure !== null || SKIP_INTEROP;

describe.skipIf(enospcSkip)(`ENOSPC midway on an 8 MB tmpfs${mountFailure ? ` (skipped: ${mountFailure})` : ''}`, () => {
  it.each(['archive', 'bare-user'])('commit into a %s repo: ENOSPC, no ref, both fscks clean; a retry after freeing space gives the same commit', (mode) => {
    const { repo, ballast } = fill(mode);
    const args = ['commit', `--repo=${repo}`, '-b', 'main', '-s', 'tree', '--timestamp=2024-01-01T00:00:00Z', tree];
    expectCleanFailure(ours(args), repo, `commit ${mode}`);
    expect(ours(['rev-parse', `--repo=${repo}`, 'main']).status).not.toBe(0);
    fs.rmSync(ballast);
    expect(ok(ours(args))).toBe(commit);
    expectConsistent(repo, `commit ${mode} retry`);
  });

  it('HTTP pull into an archive repo: ENOSPC, no remote ref; the retry completes', async () => {
    const server = await serveRepo(src);
    try {
      const { repo, ballast } = fill('archive');
      ok(ours(['remote', 'add', `--repo=${repo}`, '--no-gpg-verify', 'origin', server.url]));
      const r = await oursA(['pull', `--repo=${repo}`, '--disable-static-deltas', 'origin', 'main']);
      expectCleanFailure(r, repo, 'pull');
      expect(ours(['rev-parse', `--repo=${repo}`, 'origin:main']).status).not.toBe(0);
      fs.rmSync(ballast);
      const again = await oursA(['pull', `--repo=${repo}`, '--disable-static-deltas', 'origin', 'main']);
      expect(again.status, again.stderr).toBe(0);
      expect(ok(ours(['rev-parse', `--repo=${repo}`, 'origin:main']))).toBe(commit);
      expectConsistent(repo, 'pull retry');
    } finally {
      await server.close();
    }
  });

  it('pull-local into a bare-user repo: the library rejects with code ENOSPC, no ref; the retry completes', async () => {
    const { repo, ballast } = fill('bare-user');
    const r = await Repo.open(repo);
    const err = (await pullLocal(r, { source: src, refs: ['main'] }).then(
      () => null,
      (e: unknown) => e,
    )) as NodeJS.ErrnoException | null;
    expect(err, 'pull-local did not fail').not.toBeNull();
    expect(err!.code).toBe('ENOSPC');
    expect(err!.message).toMatch(/no space left on device/);
    expectConsistent(repo, 'pull-local');
    expect(ours(['rev-parse', `--repo=${repo}`, 'main']).status).not.toBe(0);
    fs.rmSync(ballast);
    await pullLocal(await Repo.open(repo), { source: src, refs: ['main'] });
    expect(ok(ours(['rev-parse', `--repo=${repo}`, 'main']))).toBe(commit);
    expectConsistent(repo, 'pull-local retry');
  });

  it('checkout onto a full filesystem: code ENOSPC from the library, the CLI says so; after freeing space a new checkout is whole', async () => {
    fill();
    const dest = path.join(mnt, 'co');
    const err = (await checkout(await Repo.open(src), commit, dest).then(
      () => null,
      (e: unknown) => e,
    )) as NodeJS.ErrnoException | null;
    expect(err, 'checkout did not fail').not.toBeNull();
    expect(err!.code).toBe('ENOSPC');
    fs.rmSync(dest, { recursive: true, force: true });
    const r = ours(['checkout', `--repo=${src}`, 'main', dest]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^error: .*ENOSPC: no space left on device/m);
    fs.rmSync(dest, { recursive: true, force: true });
    fs.rmSync(path.join(mnt, 'ballast'));
    ok(ours(['checkout', `--repo=${src}`, 'main', dest]));
    const diff = spawnSync('diff', ['-r', '--no-dereference', tree, dest], { encoding: 'utf8' });
    expect(diff.status, diff.stdout).toBe(0);
  });

  it('static-delta apply-offline into an archive repo: ENOSPC, no commit object; the retry completes', () => {
    const { repo, ballast } = fill('archive');
    const r = ours(['static-delta', 'apply-offline', `--repo=${repo}`, deltaDir]);
    expectCleanFailure(r, repo, 'apply-offline');
    expect(ours(['cat', `--repo=${repo}`, commit, '/a/f1']).status).not.toBe(0);
    fs.rmSync(ballast);
    ok(ours(['static-delta', 'apply-offline', `--repo=${repo}`, deltaDir]));
    ok(ours(['refs', `--repo=${repo}`, `--create=main`, commit]));
    expectConsistent(repo, 'apply-offline retry');
  });
});

/** Run argv (as `nobody` when asked: root reads any file). */
function runArgv(argv: string[], asNobody = false): RunResult {
  const full = asNobody ? ['setpriv', '--reuid=nobody', '--regid=nogroup', '--clear-groups', ...argv] : argv;
  const r = spawnSync(full[0], full.slice(1), { env: { ...process.env, HOME: '/' } });
  if (r.error) throw r.error;
  return { status: r.status ?? -1, stdout: r.stdout.toString('utf8'), stderr: r.stderr.toString('utf8'), stdoutBuf: r.stdout };
}

describe.skipIf(!IS_ROOT || SKIP_INTEROP)(`EACCES and EIO in the middle of a commit${IS_ROOT ? '' : ' (skipped: running as nobody needs root)'}`, () => {
  it('a commit run as nobody meets an unreadable file: exit 1 naming it with EACCES as ostree fails, no ref, both fscks clean; a retry after chmod completes', () => {
    // Root reads anything: the commits run as nobody, on a copy of the tree and a repo nobody owns.
    const d = tmpdir();
    fs.chmodSync(d, 0o755);
    const t = path.join(d, 'tree');
    ok(runArgv(['cp', '-a', tree, t]));
    const bad = path.join(t, 'b', 'c', 'f20');
    fs.chmodSync(bad, 0o000);
    const results: Record<string, RunResult> = {};
    const commits: Record<string, string> = {};
    for (const who of ['ours', 'ostree']) {
      const repo = path.join(d, `repo-${who}`);
      const cmd = who === 'ours' ? [process.execPath, CLI] : ['ostree'];
      ok(runArgv([...cmd, 'init', `--repo=${repo}`, '--mode=bare-user']));
      ok(runArgv(['chown', '-R', 'nobody:nogroup', repo, t]));
      const asNobody = (args: string[]) => runArgv([...cmd, ...args], true);
      const args = ['commit', `--repo=${repo}`, '-b', 'main', '-s', 'tree', '--timestamp=2024-01-01T00:00:00Z', t];
      results[who] = asNobody(args);
      expect(results[who].status, `${who}: ${results[who].stderr}`).toBe(1);
      expect(ostree(['rev-parse', `--repo=${repo}`, 'main']).status, who).not.toBe(0);
      expectConsistent(repo, `${who} EACCES`);
      fs.chmodSync(bad, 0o644);
      const again = asNobody(args);
      fs.chmodSync(bad, 0o000);
      expect(again.status, `${who} retry: ${again.stderr}`).toBe(0);
      commits[who] = again.stdout.trim();
      expectConsistent(repo, `${who} retry`);
    }
    // The tree is nobody's now: the same commit from both, not the root-owned one.
    expect(commits.ours).toMatch(/^[0-9a-f]{64}$/);
    expect(commits.ours).toBe(commits.ostree);
    expect(results.ours.stderr).toMatch(/EACCES: permission denied/);
    expect(results.ours.stderr).toContain('f20');
    expect(results.ostree.stderr).toMatch(/Permission denied/);
  });

  it.skip('EIO on one file in the middle of a commit (skipped: no cheap EIO injection: the kernel has no device-mapper for dm-error, there is no FUSE, and a loop device zero-fills reads past a truncated backing file instead of failing)', () => {});
});
