// AppDeployments: application versions deployed from a bare-user repo into
// an install directory. Contents are compared with what the real `ostree
// checkout -U` makes of the same commit; crash safety is tested by killing
// a deploying child process (SIGKILL) at every phase and at seeded random
// moments; abort by an AbortSignal at several points.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, readlinkSync, writeFileSync, rmSync, chmodSync, chownSync, statSync, symlinkSync } from 'node:fs';
import * as path from 'node:path';
import { Repo, commit, AppDeployments, OstreeError, listRefs } from '../lib/index';
import { tmpdir, cleanupTmp, ostree, ok, makeTree, describeTree, SKIP_INTEROP, IS_ROOT } from './helpers/interop';

const CHILD = path.join(__dirname, 'helpers', 'app-deploy-child.js');
const NONROOT_CHILD = path.join(__dirname, 'helpers', 'app-nonroot-child.js');

afterAll(cleanupTmp);

interface Fixture {
  base: string;
  inst: string;
  repo: Repo;
  commits: string[];
}

/** A bare-user repo in INSTALL/repo with commits of the standard interop tree (variants 1, 2) on app/stable. */
async function fixture(variants = [1, 2]): Promise<Fixture> {
  const base = tmpdir('app-');
  const inst = path.join(base, 'inst');
  const repo = await Repo.create(path.join(inst, 'repo'), { mode: 'bare-user' });
  const commits: string[] = [];
  for (const v of variants) {
    const t = path.join(base, `tree${v}`);
    makeTree(t, v);
    mkdirSync(path.join(t, 'config'));
    writeFileSync(path.join(t, 'config', 'app.conf'), `v=${v}\n`);
    const r = await commit(repo, { branch: 'app/stable', trees: [{ dir: t }], subject: `v${v}`, metadata: [['version', { type: 's', value: `${v}.0` }]] });
    commits.push(r.checksum);
  }
  return { base, inst, repo, commits };
}

/** The tree `ostree checkout -U` makes of a commit, described. */
const refTrees = new Map<string, string>();
function ostreeTree(f: Fixture, c: string): string {
  let d = refTrees.get(c);
  if (!d) {
    const out = path.join(f.base, `ostree-co-${c.slice(0, 8)}`);
    ok(ostree([`--repo=${f.repo.path}`, 'checkout', '-U', c, out]), 'ostree checkout');
    d = describeTree(out);
    refTrees.set(c, d);
  }
  return d;
}

function currentName(inst: string): string {
  return path.basename(readlinkSync(path.join(inst, 'current')));
}

/** Entries of versions/ and the install directory's temporary names. */
function leftovers(inst: string): string[] {
  return [...readdirSync(path.join(inst, 'versions')).map((n) => `versions/${n}`), ...readdirSync(inst)].filter((n) => path.basename(n).startsWith('.tmp-'));
}

async function appRefs(f: Fixture): Promise<string[]> {
  return (await listRefs(f.repo, { prefix: 'app-deployments' })).map((r) => `${r.ref.split('/').pop()} ${r.checksum}`).sort();
}

describe.skipIf(SKIP_INTEROP)('AppDeployments: deploy, switch, rollback', () => {
  let f: Fixture;
  beforeAll(async () => {
    f = await fixture();
  });

  it('deploys a commit as a checkout equal to ostree checkout -U, switches current, lists it', async () => {
    const app = await AppDeployments.open(f.inst, { repo: f.repo });
    expect(await app.current()).toBeNull();
    expect(await app.deployments()).toEqual([]);
    const phases = new Set<string>();
    const d = await app.deploy('app/stable~1', { onProgress: (p) => phases.add(p.phase) });
    expect(d).toMatchObject({ commit: f.commits[0], serial: 0, name: `${f.commits[0]}.0`, current: true, previous: false, pinned: false, version: '1.0', subject: 'v1', origin: 'app/stable~1' });
    expect([...phases]).toEqual(['checkout', 'sync', 'switch']);
    expect(readlinkSync(path.join(f.inst, 'current'))).toBe(`versions/${d.name}`);
    expect(describeTree(path.join(f.inst, 'current') + '/')).toBe(ostreeTree(f, f.commits[0]));
    // Hardlinked from the bare-user repo.
    expect(statSync(path.join(d.path, 'big.bin')).nlink).toBeGreaterThan(1);
    // The repo keeps the commit by a ref of its own; ostree sees it too.
    expect(await appRefs(f)).toEqual([`${d.name} ${f.commits[0]}`]);
    expect(ok(ostree([`--repo=${f.repo.path}`, 'refs'])).split('\n')).toContain(`${(await listRefs(f.repo, { prefix: 'app-deployments' }))[0].ref}`);
    expect((await app.current())?.name).toBe(d.name);
  });

  it('a second version switches current and makes the first the rollback target; rollback toggles', async () => {
    const app = await AppDeployments.open(f.inst, { repo: f.repo });
    const d2 = await app.deploy('app/stable');
    expect(d2.version).toBe('2.0');
    expect(describeTree(path.join(f.inst, 'current') + '/')).toBe(ostreeTree(f, f.commits[1]));
    let list = await app.deployments();
    expect(list.map((d) => [d.commit, d.current, d.previous])).toEqual([
      [f.commits[1], true, false],
      [f.commits[0], false, true],
    ]);
    const back = await app.rollback();
    expect(back.commit).toBe(f.commits[0]);
    expect(describeTree(path.join(f.inst, 'current') + '/')).toBe(ostreeTree(f, f.commits[0]));
    list = await app.deployments();
    expect(list.map((d) => [d.current, d.previous])).toEqual([
      [false, true],
      [true, false],
    ]);
    expect((await app.rollback()).commit).toBe(f.commits[1]);
    expect(currentName(f.inst)).toBe(`${f.commits[1]}.0`);
    // The same commit again is a new deployment with the next serial.
    const again = await app.deploy(f.commits[1], { switch: false });
    expect(again).toMatchObject({ name: `${f.commits[1]}.1`, serial: 1, current: false });
    expect(currentName(f.inst)).toBe(`${f.commits[1]}.0`);
    const sw = await app.switchTo(again.name);
    expect(sw.current).toBe(true);
    expect((await app.current())?.name).toBe(again.name);
    expect((await app.deployments()).find((d) => d.previous)?.name).toBe(`${f.commits[1]}.0`);
    expect(leftovers(f.inst)).toEqual([]);
  });

  it('errors: unknown versions, a rev that does not resolve, no rollback target, bad options', async () => {
    const app = await AppDeployments.open(f.inst, { repo: f.repo });
    await expect(app.switchTo('0'.repeat(64) + '.0')).rejects.toMatchObject({ code: 'OSTREE_NOT_FOUND' });
    await expect(app.pin('nope')).rejects.toMatchObject({ code: 'OSTREE_NOT_FOUND' });
    await expect(app.deploy('no/such/ref')).rejects.toMatchObject({ code: 'OSTREE_REF_NOT_FOUND' });
    await expect(app.deploy('1'.repeat(64))).rejects.toMatchObject({ code: 'OSTREE_OBJECT_NOT_FOUND' });
    await expect(app.deploy('app/stable', { mergeDirs: ['../etc'] })).rejects.toBeInstanceOf(RangeError);
    await expect(app.cleanup({ keep: -1 })).rejects.toBeInstanceOf(RangeError);
    await expect(AppDeployments.open(f.inst, { repo: f.repo, refPrefix: 'other/prefix' })).rejects.toMatchObject({ code: 'OSTREE_INVALID_ARGUMENT' });
    expect(leftovers(f.inst)).toEqual([]);

    const g = await fixture([1]);
    const lone = await AppDeployments.open(g.inst, { repo: g.repo });
    await expect(lone.rollback()).rejects.toMatchObject({ code: 'OSTREE_NO_ROLLBACK_TARGET' });
    await lone.deploy('app/stable');
    const err = await lone.rollback().catch((e) => e);
    expect(err).toBeInstanceOf(OstreeError);
    expect(err.code).toBe('OSTREE_NO_ROLLBACK_TARGET');
    writeFileSync(path.join(g.inst, 'deployments.json'), '{"format": 1, "refPrefix": "x", "deployments": [{"name": "../../etc"}]}');
    await expect(lone.deployments()).rejects.toMatchObject({ code: 'OSTREE_INVALID_STATE' });
  });
});

describe.skipIf(SKIP_INTEROP)('AppDeployments: pins and cleanup', () => {
  it('cleanup keeps the N newest, the current, the previous and pinned versions; refs and prune follow', async () => {
    const f = await fixture([1, 2, 3, 4, 5]);
    const app = await AppDeployments.open(f.inst, { repo: f.repo });
    for (const c of f.commits) await app.deploy(c);
    // Current: v5; previous: v4. Pin v1, roll back to v4 (previous becomes v5).
    await app.pin(`${f.commits[0]}.0`);
    await app.rollback();
    expect((await app.deployments()).filter((d) => d.pinned).map((d) => d.commit)).toEqual([f.commits[0]]);
    let r = await app.cleanup({ keep: 0 });
    expect(r.removed.sort()).toEqual([`${f.commits[1]}.0`, `${f.commits[2]}.0`].sort());
    expect(readdirSync(path.join(f.inst, 'versions')).sort()).toEqual([0, 3, 4].map((i) => `${f.commits[i]}.0`).sort());
    expect(await appRefs(f)).toEqual([0, 3, 4].map((i) => `${f.commits[i]}.0 ${f.commits[i]}`).sort());
    // Unpinned, v1 goes at the next cleanup; keep: 1 keeps the newest (v5, also previous) and current (v4).
    await app.unpin(`${f.commits[0]}.0`);
    r = await app.cleanup({ keep: 1, prune: true });
    expect(r.removed).toEqual([`${f.commits[0]}.0`]);
    expect((await app.deployments()).map((d) => [d.commit, d.current, d.previous])).toEqual([
      [f.commits[4], false, true],
      [f.commits[3], true, false],
    ]);
    // Prune removed the commits no ref keeps (app/stable still points to v5, whose parents are history: pruned with refsOnly only if unreachable).
    expect(r.pruned).not.toBeNull();
    ok(ostree([`--repo=${f.repo.path}`, 'fsck']), 'ostree fsck');
    // Nothing to do: nothing removed.
    expect((await app.cleanup({ keep: 1 })).removed).toEqual([]);
  });
});

describe.skipIf(SKIP_INTEROP)('AppDeployments: user-data directories', () => {
  it('merges the user changes three-way (modified, added, removed) onto the new version, as /etc', async () => {
    const f = await fixture([1]);
    const t2 = path.join(f.base, 'tree-m2');
    makeTree(t2, 2);
    mkdirSync(path.join(t2, 'config', 'sub'), { recursive: true });
    writeFileSync(path.join(t2, 'config', 'app.conf'), 'v=2\n'); // default changed, user changed it too: user wins
    writeFileSync(path.join(t2, 'config', 'defaults.conf'), 'd=2\n'); // default changed, user did not touch: update arrives
    writeFileSync(path.join(t2, 'config', 'gone.conf'), 'g=2\n'); // user removed it: stays removed
    writeFileSync(path.join(t2, 'config', 'sub', 'new.conf'), 'n\n'); // new in v2
    const t1 = path.join(f.base, 'tree1');
    writeFileSync(path.join(t1, 'config', 'defaults.conf'), 'd=1\n');
    writeFileSync(path.join(t1, 'config', 'gone.conf'), 'g=1\n');
    const c1 = (await commit(f.repo, { branch: 'app/m', trees: [{ dir: t1 }], subject: 'm1' })).checksum;
    const c2 = (await commit(f.repo, { branch: 'app/m', trees: [{ dir: t2 }], subject: 'm2' })).checksum;
    const app = await AppDeployments.open(f.inst, { repo: f.repo });
    const d1 = await app.deploy(c1, { mergeDirs: ['config'] });
    const conf = path.join(f.inst, 'current', 'config');
    // The user-data directory holds private copies: writing it leaves the repo intact.
    expect(statSync(path.join(conf, 'app.conf')).nlink).toBe(1);
    expect(statSync(path.join(d1.path, 'hello.txt')).nlink).toBeGreaterThan(1);
    writeFileSync(path.join(conf, 'app.conf'), 'v=user\n');
    rmSync(path.join(conf, 'gone.conf'));
    writeFileSync(path.join(conf, 'mine.conf'), 'mine\n');
    chmodSync(path.join(conf, 'mine.conf'), 0o600);
    symlinkSync('app.conf', path.join(conf, 'link.conf'));
    const phases = new Set<string>();
    const d2 = await app.deploy(c2, { mergeDirs: ['config'], onProgress: (p) => phases.add(p.phase) });
    expect(phases.has('merge')).toBe(true);
    const nconf = path.join(d2.path, 'config');
    expect(readdirSync(nconf).sort()).toEqual(['app.conf', 'defaults.conf', 'link.conf', 'mine.conf', 'sub']);
    expect(readFileSync(path.join(nconf, 'app.conf'), 'utf8')).toBe('v=user\n');
    expect(readFileSync(path.join(nconf, 'defaults.conf'), 'utf8')).toBe('d=2\n');
    expect(readFileSync(path.join(nconf, 'sub', 'new.conf'), 'utf8')).toBe('n\n');
    expect(statSync(path.join(nconf, 'mine.conf')).mode & 0o777).toBe(0o600);
    expect(readlinkSync(path.join(nconf, 'link.conf'))).toBe('app.conf');
    // Outside the merged directory, the new version is its commit as ostree checks it out (config aside).
    const out = path.join(f.base, 'ostree-m2');
    ok(ostree([`--repo=${f.repo.path}`, 'checkout', '-U', c2, out]));
    const strip = (s: string) => s.split('\n').filter((l) => !l.includes('./config')).join('\n');
    expect(strip(describeTree(d2.path + '/'))).toBe(strip(describeTree(out)));
    // The repo objects were not touched by the user's writes.
    ok(ostree([`--repo=${f.repo.path}`, 'fsck']), 'ostree fsck');
    expect(readFileSync(path.join(d1.path, 'config', 'app.conf'), 'utf8')).toBe('v=user\n');
  });
});

describe.skipIf(SKIP_INTEROP)('AppDeployments: locking, abort, leftovers', () => {
  it('a second updater gets OSTREE_LOCKED while a deploy runs', async () => {
    const f = await fixture([1]);
    const a = await AppDeployments.open(f.inst, { repo: f.repo });
    const b = await AppDeployments.open(f.inst, { repo: f.repo, lockTimeout: 0 });
    let seen: unknown = null;
    let probe: Promise<void> | null = null;
    await a.deploy('app/stable', {
      onProgress: () => {
        probe ??= b.deploy('app/stable').then(
          () => void (seen = 'deployed'),
          (e) => void (seen = e),
        );
      },
    });
    await probe;
    expect(seen).toBeInstanceOf(OstreeError);
    expect((seen as OstreeError).code).toBe('OSTREE_LOCKED');
    // Free again: b deploys now.
    expect((await b.deploy('app/stable')).serial).toBe(1);
  });

  it('concurrent calls on one object run one after the other', async () => {
    const f = await fixture([1]);
    const app = await AppDeployments.open(f.inst, { repo: f.repo });
    const [a, b, c] = await Promise.all([app.deploy('app/stable'), app.deploy('app/stable'), app.cleanup({ keep: 1 })]);
    expect([a.serial, b.serial]).toEqual([0, 1]);
    expect(c.removed).toEqual([]);
    expect((await app.deployments()).map((d) => [d.serial, d.current, d.previous])).toEqual([
      [1, true, false],
      [0, false, true],
    ]);
  });

  it('an abort at any point before the version is in place leaves nothing visible', async () => {
    const f = await fixture([1, 2]);
    const app = await AppDeployments.open(f.inst, { repo: f.repo });
    const d1 = await app.deploy(f.commits[0], { mergeDirs: ['config'] });
    const stateBefore = readFileSync(path.join(f.inst, 'deployments.json'), 'utf8');
    const refsBefore = await appRefs(f);
    const points: Array<[string, number]> = [['checkout', 1], ['checkout', 5], ['merge', 1], ['sync', 0], ['before', 0]];
    for (const [phase, at] of points) {
      const ac = new AbortController();
      if (phase === 'before') ac.abort();
      const p = app.deploy(f.commits[1], {
        mergeDirs: ['config'],
        signal: ac.signal,
        onProgress: (pr) => {
          if (pr.phase === phase && pr.loaded >= at) ac.abort();
        },
      });
      await expect(p, `abort at ${phase} ${at}`).rejects.toMatchObject({ code: 'OSTREE_ABORTED' });
      expect(readdirSync(path.join(f.inst, 'versions')), `abort at ${phase}`).toEqual([d1.name]);
      expect(readFileSync(path.join(f.inst, 'deployments.json'), 'utf8')).toBe(stateBefore);
      expect(await appRefs(f)).toEqual(refsBefore);
      expect(currentName(f.inst)).toBe(d1.name);
      expect(leftovers(f.inst)).toEqual([]);
    }
    // And the next deploy goes through.
    expect((await app.deploy(f.commits[1])).current).toBe(true);
  });

  it('open and cleanup remove leftovers: temporary trees, unlisted versions, stray refs; a current link to an unlisted version is adopted', async () => {
    const f = await fixture([1, 2]);
    let app = await AppDeployments.open(f.inst, { repo: f.repo });
    const d1 = await app.deploy(f.commits[0]);
    // A crashed deploy's temporary tree (with a read-only directory), a link being written, an unlisted complete version and its ref.
    const tmpTree = path.join(f.inst, 'versions', '.tmp-deploy-x');
    mkdirSync(path.join(tmpTree, 'ro'), { recursive: true });
    writeFileSync(path.join(tmpTree, 'ro', 'f'), 'x');
    chmodSync(path.join(tmpTree, 'ro'), 0o555);
    symlinkSync('versions/x', path.join(f.inst, '.tmp-current-1'));
    const orphan = `${f.commits[1]}.0`;
    mkdirSync(path.join(f.inst, 'versions', orphan));
    const prefix = JSON.parse(readFileSync(path.join(f.inst, 'deployments.json'), 'utf8')).refPrefix;
    ok(ostree([`--repo=${f.repo.path}`, 'refs', '--create', `${prefix}/${orphan}`, f.commits[1]]));
    app = await AppDeployments.open(f.inst, { repo: f.repo });
    expect(leftovers(f.inst)).toEqual([]);
    expect(readdirSync(path.join(f.inst, 'versions'))).toEqual([d1.name]);
    expect(await appRefs(f)).toEqual([`${d1.name} ${f.commits[0]}`]);
    // current moved behind the state's back (a crash after the switch, before the state): the link wins, the old current is the previous.
    const d2 = await app.deploy(f.commits[1], { switch: false });
    const link = path.join(f.inst, '.tmp-l');
    symlinkSync(`versions/${d2.name}`, link);
    spawnSync('mv', ['-T', link, path.join(f.inst, 'current')]);
    expect((await app.current())?.name).toBe(d2.name);
    expect((await app.deployments()).find((d) => d.previous)?.name).toBe(d1.name);
    expect((await app.cleanup({ keep: 0 })).removed).toEqual([]);
    const state = JSON.parse(readFileSync(path.join(f.inst, 'deployments.json'), 'utf8'));
    expect([state.current, state.previous]).toEqual([d2.name, d1.name]);
  });
});

/** A seeded PRNG (mulberry32). */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface ChildRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  out: string;
  err: string;
}

/** Run the deploying child; kill it `killAfterMs` after it says "go" (never when null). */
function runChild(args: string[], env: NodeJS.ProcessEnv, killAfterMs: number | null): Promise<ChildRun> {
  return new Promise((resolve, reject) => {
    const c = spawn(process.execPath, [CHILD, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    c.stdout.on('data', (d) => {
      out += d;
      if (killAfterMs !== null && out.startsWith('go\n') && out.length === 3) setTimeout(() => c.kill('SIGKILL'), killAfterMs);
    });
    c.stderr.on('data', (d) => (err += d));
    c.on('error', reject);
    c.on('close', (code, signal) => resolve({ code, signal, out, err }));
  });
}

describe.skipIf(SKIP_INTEROP)('AppDeployments: crash safety (SIGKILL of a deploying process)', () => {
  it('at every phase and at seeded random moments, current stays on a complete version and the next deploy succeeds', async () => {
    const base = tmpdir('app-crash-');
    const inst = path.join(base, 'inst');
    const repo = await Repo.create(path.join(inst, 'repo'), { mode: 'bare-user' });
    // A tree big enough for a deploy to take a while: 400 files in 20 directories, a config dir.
    const commits: string[] = [];
    for (const v of [1, 2]) {
      const t = path.join(base, `tree${v}`);
      for (let d = 0; d < 20; d++) {
        mkdirSync(path.join(t, `d${d}`), { recursive: true });
        for (let i = 0; i < 20; i++) writeFileSync(path.join(t, `d${d}`, `f${i}`), `v${(d + i) % 5 === 0 ? v : 0} ${d}/${i}\n`);
      }
      mkdirSync(path.join(t, 'config'));
      writeFileSync(path.join(t, 'config', 'app.conf'), `v=${v}\n`);
      commits.push((await commit(repo, { branch: `app/v${v}`, trees: [{ dir: t }], subject: `v${v}` })).checksum);
    }
    const f: Fixture = { base, inst, repo, commits };
    const complete = new Map(commits.map((c) => [c, ostreeTree(f, c)]));
    const check = async (what: string) => {
      const cur = currentName(inst);
      const commitOf = cur.split('.')[0];
      expect(complete.has(commitOf), what).toBe(true);
      const strip = (s: string) => s.split('\n').filter((l) => !l.includes('./config')).join('\n');
      expect(strip(describeTree(path.join(inst, 'current') + '/')), what).toBe(strip(complete.get(commitOf) as string));
    };

    // Calibrate: one deploy without a kill (the first version), timing it.
    const first = await runChild([inst, repo.path, 'app/v1', 'config'], {}, null);
    expect(first.code, first.err).toBe(0);
    const ms = Number(/done (\d+)/.exec(first.out)?.[1]);
    expect(ms).toBeGreaterThan(0);
    await check('after the first deploy');

    const phases = ['ref-written', 'checked-out', 'merged', 'synced', 'renamed', 'state-added', 'link-created', 'switched'];
    const random = rng(0xa99);
    const points: Array<{ env: NodeJS.ProcessEnv; after: number | null; label: string }> = [
      ...phases.map((p) => ({ env: { NODE_OSTREE_FAULT: `app-deploy:${p}` }, after: null, label: `phase ${p}` })),
      ...Array.from({ length: 12 }, (_, i) => {
        const after = Math.floor(random() * ms * 1.2);
        return { env: {}, after, label: `random kill #${i} at ${after} ms of ~${ms}` };
      }),
    ];
    let i = 0;
    for (const pt of points) {
      const rev = i++ % 2 === 0 ? 'app/v2' : 'app/v1';
      const r = await runChild([inst, repo.path, rev, 'config'], pt.env, pt.after);
      if (pt.after === null) expect(r.signal, `${pt.label}: ${r.err}`).toBe('SIGKILL');
      else expect(r.signal === 'SIGKILL' || r.code === 0, `${pt.label}: ${r.err}`).toBe(true);
      await check(pt.label);
      // The next updater (this process) opens, tidies up, and deploys.
      const app = await AppDeployments.open(inst, { repo });
      expect(leftovers(inst), pt.label).toEqual([]);
      const listed = (await app.deployments()).map((d) => d.name).sort();
      expect(readdirSync(path.join(inst, 'versions')).sort(), pt.label).toEqual(listed);
      expect((await appRefs(f)).map((l) => l.split(' ')[0]).sort(), pt.label).toEqual(listed);
      const d = await app.deploy(rev, { mergeDirs: ['config'] });
      expect(d.current).toBe(true);
      if (i % 4 === 0) {
        await check(`${pt.label}, then a deploy`);
        await app.cleanup({ keep: 2 });
      }
    }
    ok(ostree([`--repo=${repo.path}`, 'fsck']), 'ostree fsck');
  }, 120_000);
});

describe.skipIf(SKIP_INTEROP || !IS_ROOT)('AppDeployments as a non-root user', () => {
  it('runs the whole cycle as nobody on a bare-user repo', () => {
    const base = tmpdir('app-nobody-');
    chmodSync(base, 0o755);
    chownSync(base, 65534, 65534);
    const r = spawnSync(process.execPath, [NONROOT_CHILD, base], { uid: 65534, gid: 65534, cwd: base, encoding: 'utf8', env: { ...process.env, HOME: base } });
    expect(r.status, r.stderr).toBe(0);
    const rep = JSON.parse(r.stdout);
    expect(rep.uid).toBe(65534);
    expect(rep.back).toBe(rep.d1);
    expect(rep.fwd).toBe(rep.d2);
    expect(rep.userConf).toBe('mine\n');
    expect(rep.removed).toEqual([rep.d1]);
    expect(rep.list).toEqual([
      { name: `${rep.commits[0]}.1`, current: true, previous: false },
      { name: rep.d2, current: false, previous: true },
    ]);
    const inst = path.join(base, 'inst');
    const out = path.join(base, 'ostree-co');
    ok(ostree([`--repo=${inst}/repo`, 'checkout', '-U', rep.commits[0], out]));
    expect(describeTree(path.join(inst, 'current') + '/').replace(/^.*\.\/config.*$/gm, '')).toBe(describeTree(out).replace(/^.*\.\/config.*$/gm, ''));
    ok(ostree([`--repo=${inst}/repo`, 'fsck']), 'ostree fsck');
  });
});
