// The crash-consistency harness: kills an operation at seeded random points
// and checks the repository it leaves. Used by scripts/crash-test.js (full
// runs) and test/crash-consistency.test.ts (a trimmed run in CI).
//
// A kill point is either an internal one (NODE_OSTREE_CRASH_AT=n, see
// lib/crash-point.ts: before an object is linked, in the native workers too,
// before a ref/summary/index rename, before prune unlinks, between batches)
// or a SIGKILL from outside after a random delay. After the kill:
//   - our fsck and `ostree fsck` pass on the target repo (a .commitpartial
//     is accepted, as ostree accepts it);
//   - every ref names a commit object that exists;
//   - the repo lock is free: we take it exclusively (no wait), and so does
//     ostree (`prune --no-prune`, which takes it exclusively, within 10 s);
//   - rerunning the operation completes and leaves exactly what a run that
//     was never killed leaves (refs, objects, commitpartial state; a
//     checkout's files), so the repo it leaves is the reference run's.
// A scenario may add its own checks after the kill (check(dir), e.g. the
// sysroot of admin-deploy), an environment (env) and a reset before the rerun.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { spawn, spawnSync } = require('node:child_process');
const { CLI, ROOT, buildFixtures, scenarios, repoSignature, copyDir } = require('./scenarios');

/** mulberry32: a small seeded PRNG, so a run is reproducible from its seed. */
function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function runChild(args, env, killAfterMs) {
  return new Promise((resolve) => {
    const t0 = Date.now();
    const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    child.stdout.resume();
    const timer = killAfterMs === undefined ? null : setTimeout(() => child.kill('SIGKILL'), killAfterMs);
    child.on('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      resolve({ code, signal, stderr, ms: Date.now() - t0 });
    });
  });
}

async function lockFree(repo) {
  const problems = [];
  // Ours: the library's lock (dist/), exclusive, no waiting, in this process.
  const { Repo } = require(path.join(ROOT, 'dist', 'repo', 'repo'));
  const { repoLock } = require(path.join(ROOT, 'dist', 'lock'));
  try {
    const lock = await repoLock(await Repo.open(repo));
    await lock.push('exclusive', { timeout: 0 });
    await lock.pop('exclusive');
  } catch (e) {
    problems.push(`our exclusive lock: ${e.message}`);
  }
  // ostree's: its prune takes the lock exclusively (waiting core.lock-timeout-secs, 30 s by default).
  const o = spawnSync('ostree', ['prune', '--no-prune', '--refs-only', `--repo=${repo}`], { encoding: 'utf8', timeout: 10000 });
  if (o.status !== 0) problems.push(`ostree prune --no-prune (exclusive lock): ${o.error ? o.error.message : o.stderr.trim()}`);
  return problems;
}

function refsResolve(repo) {
  const bad = [];
  const walk = (d, rel) => {
    if (!fs.existsSync(d)) return;
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) walk(p, r);
      else if (e.isFile()) {
        const c = fs.readFileSync(p, 'utf8').trim();
        if (!/^[0-9a-f]{64}$/.test(c)) bad.push(`ref ${r}: not a checksum (${JSON.stringify(c.slice(0, 80))})`);
        else if (!fs.existsSync(path.join(repo, 'objects', c.slice(0, 2), `${c.slice(2)}.commit`))) bad.push(`ref ${r} -> missing commit ${c}`);
      }
    }
  };
  walk(path.join(repo, 'refs'), '');
  return bad;
}

/** The checks after a kill: a list of failures (empty when consistent). */
async function checkRepo(repo) {
  const failures = [];
  const f1 = spawnSync(process.execPath, [CLI, 'fsck', `--repo=${repo}`], { encoding: 'utf8' });
  if (f1.status !== 0) failures.push(`our fsck: exit ${f1.status}: ${(f1.stderr || f1.stdout).trim().split('\n').slice(-3).join(' | ')}`);
  const f2 = spawnSync('ostree', ['fsck', `--repo=${repo}`], { encoding: 'utf8' });
  if (f2.status !== 0) failures.push(`ostree fsck: exit ${f2.status}: ${(f2.stderr || f2.stdout).trim().split('\n').slice(-3).join(' | ')}`);
  failures.push(...refsResolve(repo));
  failures.push(...(await lockFree(repo)));
  return failures;
}

/**
 * Set up fixtures and templates in work/, then try `points` kill points,
 * spread over the scenarios (all, or those named in opts.only).
 * Returns { tried, killed, failures: [{ scenario, point, problems }] }.
 */
async function crashTest({ work, points, seed, only, log = () => {} }) {
  fs.mkdirSync(work, { recursive: true });
  const fx = await buildFixtures(path.join(work, 'fixtures'));
  try {
    const list = scenarios(fx).filter((s) => !only || only.includes(s.name));
    const rand = prng(seed);
    const info = [];
    for (const s of list) {
      const template = path.join(work, 'templates', s.name);
      fs.mkdirSync(template, { recursive: true });
      s.init(template);
      // Reference run: what a completed operation leaves, how many kill points it passes, how long it takes.
      const ref = path.join(work, 'ref', s.name);
      copyDir(template, ref);
      const r = await runChild(s.args(ref), { ...s.env, NODE_OSTREE_CRASH_AT: '0' });
      if (r.code !== 0) throw new Error(`${s.name}: the reference run failed: ${r.stderr}`);
      const m = /crash points: (\d+)/.exec(r.stderr);
      const count = m ? Number(m[1]) : 0;
      const expected = (s.result ?? ((d) => repoSignature(s.target(d))))(ref);
      info.push({ s, template, count, ms: r.ms, expected });
      log(`${s.name}: ${count} internal kill points, ${r.ms} ms`);
    }
    const result = { tried: 0, killed: 0, internal: 0, delayed: 0, failures: [] };
    for (let i = 0; i < points; i++) {
      const { s, template, count, ms, expected } = info[i % info.length];
      const dir = path.join(work, 'runs', `${i}`);
      copyDir(template, dir);
      let point;
      let r;
      if (count > 0 && rand() < 0.7) {
        const n = 1 + Math.floor(rand() * count);
        point = `crash-at ${n}/${count}`;
        r = await runChild(s.args(dir), { ...s.env, NODE_OSTREE_CRASH_AT: String(n) });
        result.internal++;
      } else {
        const delay = Math.floor(rand() * ms * 1.1);
        point = `delay ${delay}/${ms} ms`;
        r = await runChild(s.args(dir), { ...s.env }, delay);
        result.delayed++;
      }
      result.tried++;
      const problems = [];
      if (r.signal === 'SIGKILL') result.killed++;
      else if (r.code !== 0) problems.push(`the operation failed without a kill: exit ${r.code}: ${r.stderr.trim()}`);
      problems.push(...(await checkRepo(s.target(dir))).map((p) => `after the kill: ${p}`));
      if (s.check) problems.push(...s.check(dir).map((p) => `after the kill: ${p}`));
      try {
        if (s.reset) s.reset(dir);
      } catch (e) {
        problems.push(`reset before the rerun: ${e.message}`);
      }
      const again = await runChild(s.args(dir), { ...s.env });
      if (again.code !== 0) problems.push(`rerun: exit ${again.code}: ${again.stderr.trim()}`);
      else {
        const got = (s.result ?? ((d) => repoSignature(s.target(d))))(dir);
        if (got !== expected) problems.push(`rerun: result differs from an uninterrupted run:\n${diffLines(expected, got)}`);
      }
      log(`${i + 1}/${points} ${s.name} ${point}: ${r.signal ?? `exit ${r.code}`}${problems.length ? ' FAIL' : ''}`);
      if (problems.length) result.failures.push({ scenario: s.name, point, problems });
      else fs.rmSync(dir, { recursive: true, force: true });
    }
    return result;
  } finally {
    fx.server.stop();
  }
}

function diffLines(a, b) {
  const as = new Set(a.split('\n'));
  const bs = new Set(b.split('\n'));
  const out = [];
  for (const l of as) if (!bs.has(l)) out.push(`  - ${l}`);
  for (const l of bs) if (!as.has(l)) out.push(`  + ${l}`);
  return out.slice(0, 20).join('\n');
}

module.exports = { crashTest, checkRepo, prng };
