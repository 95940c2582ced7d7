// Crash consistency (issue 14): a trimmed run of the harness behind
// `npm run crash-test` (scripts/crash/harness.js). Every scenario (admin
// deploy, commit in bare-user and archive, pull over HTTP by objects and by
// delta, pull-local, checkout, prune, static-delta apply-offline) is killed with SIGKILL at
// seeded points, inside the library (NODE_OSTREE_CRASH_AT) or after a random
// delay; after each kill our fsck and ostree's pass, refs resolve, the lock is
// free, and a rerun leaves what an uninterrupted run leaves. The checks
// themselves are shown to catch a broken repo. Runs dist/: `npx tsc -p .` first.
import { describe, it, expect, afterAll } from 'vitest';
import { createRequire } from 'node:module';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { SKIP_INTEROP, CLI, tmpdir, cleanupTmp, ours, ok, makeTree } from './helpers/interop';

const requireCjs = createRequire(import.meta.url);
const { crashTest, checkRepo } = requireCjs('../scripts/crash/harness.js') as {
  crashTest(o: { work: string; points: number; seed: number; only?: string[] }): Promise<{
    tried: number;
    killed: number;
    internal: number;
    delayed: number;
    failures: Array<{ scenario: string; point: string; problems: string[] }>;
  }>;
  checkRepo(repo: string): Promise<string[]>;
};

const { adminDeployScenario } = requireCjs('../scripts/crash/scenarios.js') as {
  adminDeployScenario(
    fx: null,
    cache: string,
  ): { init(dir: string): void; check(dir: string): string[]; target(dir: string): string };
};

afterAll(cleanupTmp);

describe.skipIf(SKIP_INTEROP)('crash points (NODE_OSTREE_CRASH_AT)', () => {
  it('0 counts the points without killing; N kills at the N-th, leaving a repo every check accepts', async () => {
    const d = tmpdir();
    makeTree(path.join(d, 't'), 1);
    const counting = path.join(d, 'counting');
    const repo = path.join(d, 'repo');
    ok(ours(['init', `--repo=${counting}`, '--mode=archive']));
    ok(ours(['init', `--repo=${repo}`, '--mode=archive']));
    const args = ['commit', '-b', 'b', '-s', 'one', '--timestamp=2024-01-01T00:00:00Z', path.join(d, 't')];
    const counted = spawnSync(process.execPath, [CLI, `--repo=${counting}`, ...args], {
      env: { ...process.env, NODE_OSTREE_CRASH_AT: '0' },
      encoding: 'utf8',
    });
    expect(counted.status, counted.stderr).toBe(0);
    const n = Number(/crash points: (\d+)/.exec(counted.stderr)?.[1]);
    expect(n).toBeGreaterThan(2);
    // The same commit in a repo just like it: killed at the last point but one.
    const killed = spawnSync(process.execPath, [CLI, `--repo=${repo}`, ...args], {
      env: { ...process.env, NODE_OSTREE_CRASH_AT: String(n - 1) },
    });
    expect(killed.signal).toBe('SIGKILL');
    expect(await checkRepo(repo)).toEqual([]);
    expect(fs.existsSync(path.join(repo, 'refs', 'heads', 'b'))).toBe(false);
  });

  it('the checks catch a ref to a missing commit and a lock still held', async () => {
    const d = tmpdir();
    makeTree(path.join(d, 't'), 1);
    const repo = path.join(d, 'repo');
    ok(ours(['init', `--repo=${repo}`, '--mode=archive']));
    const c = ok(ours(['commit', `--repo=${repo}`, '-b', 'main', path.join(d, 't')]));
    fs.rmSync(path.join(repo, 'objects', c.slice(0, 2), `${c.slice(2)}.commit`));
    const problems = await checkRepo(repo);
    expect(problems.some((p) => p.startsWith('our fsck'))).toBe(true);
    expect(problems.some((p) => p.startsWith('ostree fsck'))).toBe(true);
    expect(problems).toContain(`ref heads/main -> missing commit ${c}`);

    const repo2 = path.join(d, 'repo2');
    ok(ours(['init', `--repo=${repo2}`, '--mode=archive']));
    ok(ours(['config', `--repo=${repo2}`, 'set', 'core.lock-timeout-secs', '1']));
    // Another process holds the repo lock shared (our library, as a transaction does).
    const dist = path.join(__dirname, '..', 'dist');
    const hold = `const {Repo}=require(${JSON.stringify(dist + '/repo/repo')});const {repoLock}=require(${JSON.stringify(dist + '/lock')});
      (async()=>{const l=await repoLock(await Repo.open(process.argv[1]));await l.push('shared');console.log('held');setTimeout(()=>{},6000);})();`;
    const holder = spawn(process.execPath, ['-e', hold, repo2], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      await new Promise<void>((resolve) => holder.stdout!.once('data', () => resolve()));
      const held = await checkRepo(repo2);
      expect(held.some((p) => p.startsWith('our exclusive lock'))).toBe(true);
      expect(held.some((p) => p.startsWith('ostree prune --no-prune'))).toBe(true);
    } finally {
      holder.kill('SIGKILL');
    }
  });
});

describe.skipIf(SKIP_INTEROP)('crash consistency: the sysroot checks of the admin-deploy scenario', () => {
  it('accept the sysroot ostree deployed, catch a dangling boot/loader, a missing kernel and an incomplete deployment', () => {
    const d = tmpdir();
    const s = adminDeployScenario(null, path.join(d, 'cache'));
    const dir = path.join(d, 'run');
    s.init(dir);
    const sysroot = path.join(dir, 'sysroot');
    expect(s.check(dir)).toEqual([]);
    // A deployment whose kernel is gone from /boot.
    const bootOstree = path.join(sysroot, 'boot/ostree');
    const bootdir = path.join(bootOstree, fs.readdirSync(bootOstree)[0]);
    const kernel = fs.readdirSync(bootdir).find((n) => n.startsWith('vmlinuz'))!;
    fs.renameSync(path.join(bootdir, kernel), path.join(d, 'kernel'));
    expect(s.check(dir).some((p) => p.includes(`linux /ostree/`) && p.endsWith('is missing'))).toBe(true);
    fs.renameSync(path.join(d, 'kernel'), path.join(bootdir, kernel));
    // A deployment directory without its tree.
    const deploy = path.join(sysroot, 'ostree/deploy/testos/deploy');
    const name = fs.readdirSync(deploy).find((n) => !n.endsWith('.origin'))!;
    fs.rmSync(path.join(deploy, name, 'usr/lib/modules'), { recursive: true });
    expect(s.check(dir)).toContain(`deployment ${name} is incomplete`);
    // boot/loader pointing at a loader.N that is not there (both status commands fail or the link is wrong).
    fs.rmSync(path.join(sysroot, 'boot/loader'));
    fs.symlinkSync('loader.7', path.join(sysroot, 'boot/loader'));
    expect(s.check(dir).length).toBeGreaterThan(0);
  }, 60_000);
});

describe.skipIf(SKIP_INTEROP)('crash consistency: seeded SIGKILLs of every write operation', () => {
  // Two points per scenario by default (each point is several processes: the
  // operation, two fscks, ostree's lock probe, the rerun); CRASH_TEST_POINTS
  // and CRASH_TEST_SEED widen or vary it. `npm run crash-test` runs hundreds.
  const points = Number(process.env.CRASH_TEST_POINTS ?? 18);
  it(`${points} kill points over 9 scenarios leave consistent repos and reruns that finish the job`, async () => {
    const seed = Number(process.env.CRASH_TEST_SEED ?? 14);
    const r = await crashTest({ work: tmpdir(), points, seed });
    const report = r.failures.map((f) => `${f.scenario} at ${f.point}:\n  ${f.problems.join('\n  ')}`).join('\n');
    expect(report, `seed ${seed}`).toBe('');
    expect(r.tried).toBe(points);
    // Most points must really kill the operation, or the run tests nothing.
    expect(r.killed).toBeGreaterThanOrEqual(Math.ceil(points * 0.6));
    expect(r.internal).toBeGreaterThanOrEqual(Math.ceil(points * 0.4));
  }, 240_000);
});
