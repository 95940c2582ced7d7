// Repository locking across processes and threads (issue 3, FORMATS.md §5):
// holders in forked processes and worker threads (test/helpers/lock-agent.js),
// the real `ostree` on both sides of the lock, and a stress run of concurrent
// commits and prunes. The helpers are plain JS on dist/: run `npx tsc -p .` first.
import { describe, it, expect, afterAll, afterEach } from 'vitest';
import { fork, spawn, spawnSync, ChildProcess } from 'node:child_process';
import { Worker } from 'node:worker_threads';
import { promises as fsp, existsSync, readdirSync, writeFileSync, readFileSync, statSync, mkdirSync } from 'node:fs';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Repo } from '../lib/repo/repo';
import { repoLock } from '../lib/lock';
import type { LockType } from '../lib/lock';
import { commit } from '../lib/commit/commit';
import { prune } from '../lib/prune';
import { OstreeError } from '../lib/errors';
import { tmpdir, cleanupTmp, ROOT, SKIP_INTEROP, ostree, ours } from './helpers/interop';
import { canTake } from './helpers/lock';

const HELPERS = path.join(ROOT, 'test', 'helpers');
const now = () => performance.timeOrigin + performance.now();

interface Reply {
  id?: number;
  event?: string;
  ok?: boolean;
  code?: string;
  message?: string;
  t: number;
}

/** A lock holder in another process or worker thread, driven by messages. */
class Agent {
  private nextId = 1;
  private waiting = new Map<number, (r: Reply) => void>();
  private ready: Promise<void>;
  private readonly post: (m: object) => void;
  readonly stop: () => Promise<unknown>;

  private constructor(on: (cb: (m: Reply) => void) => void, post: (m: object) => void, stop: () => Promise<unknown>) {
    this.post = post;
    this.stop = stop;
    this.ready = new Promise((resolve) => {
      on((m) => {
        if (m.event === 'ready') resolve();
        else if (m.id !== undefined) this.waiting.get(m.id)?.(m);
      });
    });
  }

  static async process(repoPath: string): Promise<Agent> {
    const child: ChildProcess = fork(path.join(HELPERS, 'lock-agent.js'), [repoPath], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const a = new Agent(
      (cb) => child.on('message', cb as (m: unknown) => void),
      (m) => child.send(m),
      () => new Promise((r) => (child.exitCode !== null ? r(null) : (child.once('exit', r), child.kill('SIGKILL')))),
    );
    agents.push(a);
    await a.ready;
    return a;
  }

  static async thread(repoPath: string): Promise<Agent> {
    const w = new Worker(path.join(HELPERS, 'lock-agent.js'), { workerData: { repo: repoPath } });
    const a = new Agent((cb) => w.on('message', cb), (m) => w.postMessage(m), () => w.terminate());
    agents.push(a);
    await a.ready;
    return a;
  }

  request(m: { cmd: string; type?: LockType; timeout?: number }): Promise<Reply> {
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.waiting.set(id, resolve);
      this.post({ id, ...m });
    });
  }

  async push(type: LockType, timeout?: number): Promise<Reply> {
    return this.request({ cmd: 'push', type, timeout });
  }

  async pop(type: LockType): Promise<Reply> {
    const r = await this.request({ cmd: 'pop', type });
    if (!r.ok) throw new Error(`agent pop failed: ${r.message}`);
    return r;
  }
}

const agents: Agent[] = [];
const children: ChildProcess[] = [];
afterEach(async () => {
  await Promise.all(agents.splice(0).map((a) => a.stop()));
  for (const c of children.splice(0)) if (c.exitCode === null) c.kill('SIGKILL');
});
afterAll(cleanupTmp);

async function newRepo(config: Record<string, string> = {}): Promise<Repo> {
  const p = path.join(tmpdir('node-ostree-lockproc-'), 'repo');
  const repo = await Repo.create(p, { mode: 'bare' });
  for (const [k, v] of Object.entries(config)) repo.config.set('core', k, v);
  await repo.writeConfig();
  return Repo.open(p);
}

function makeDir(tag: string, files = 5): string {
  const d = tmpdir('node-ostree-locktree-');
  for (let i = 0; i < files; i++) writeFileSync(path.join(d, `f${i}`), `${tag} ${i}\n`);
  return d;
}

/** Every file below objects/ (to show that nothing was written). */
function objectFiles(repoPath: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) walk(path.join(d, e.name));
      else out.push(path.relative(repoPath, path.join(d, e.name)));
    }
  };
  walk(path.join(repoPath, 'objects'));
  return out.sort();
}

async function rejection(p: Promise<unknown>): Promise<OstreeError> {
  try {
    await p;
  } catch (err) {
    return err as OstreeError;
  }
  throw new Error('expected a rejection');
}

async function waitFor(cond: () => Promise<boolean>, what: string, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

function exitOf(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => (child.exitCode !== null ? resolve(child.exitCode) : child.once('exit', (c) => resolve(c))));
}

describe('another process holds the lock', () => {
  it('exclusive: our commit waits, then fails after the timeout with OSTREE_LOCKED and writes nothing', async () => {
    const repo = await newRepo({ 'lock-timeout-secs': '1' });
    const dir = makeDir('blocked');
    const holder = await Agent.process(repo.path);
    expect((await holder.push('exclusive')).ok).toBe(true);
    const before = objectFiles(repo.path);

    const t = performance.now();
    const err = await rejection(commit(repo, { branch: 'main', trees: [{ dir }] }));
    const waited = performance.now() - t;
    expect(err.code).toBe('OSTREE_LOCKED');
    expect(err.data).toMatchObject({ type: 'shared', timeout: 1 });
    expect(waited).toBeGreaterThanOrEqual(990);
    expect(waited).toBeLessThan(3000);
    expect(existsSync(path.join(repo.path, 'refs/heads/main'))).toBe(false);
    expect(objectFiles(repo.path)).toEqual(before);

    // The CLI reports it as ostree does and exits 1.
    const cli = ours([`--repo=${repo.path}`, 'commit', '-b', 'main', `--tree=dir=${dir}`]);
    expect(cli.status).toBe(1);
    expect(cli.stderr).toMatch(/^error: Locking repo shared failed/);
    expect(existsSync(path.join(repo.path, 'refs/heads/main'))).toBe(false);
    expect(objectFiles(repo.path)).toEqual(before);
  });

  it('shared: our commit proceeds while our prune times out', async () => {
    const repo = await newRepo({ 'lock-timeout-secs': '1' });
    const holder = await Agent.process(repo.path);
    expect((await holder.push('shared')).ok).toBe(true);

    const t = performance.now();
    const c = await commit(repo, { branch: 'main', trees: [{ dir: makeDir('proceeds') }] });
    expect(performance.now() - t).toBeLessThan(900);
    expect(readFileSync(path.join(repo.path, 'refs/heads/main'), 'utf8')).toBe(`${c.checksum}\n`);
    await commit(repo, { branch: 'main', trees: [{ dir: makeDir('second') }] }); // leaves the first commit prunable
    const before = objectFiles(repo.path);

    const err = await rejection(prune(repo, { refsOnly: true, depth: 0 }));
    expect(err.code).toBe('OSTREE_LOCKED');
    expect(err.data).toMatchObject({ type: 'exclusive' });
    expect(objectFiles(repo.path)).toEqual(before);
    const cli = ours([`--repo=${repo.path}`, 'prune', '--refs-only', '--depth=0']);
    expect(cli.status).toBe(1);
    expect(cli.stderr).toMatch(/^error: Locking repo exclusive failed/);

    await holder.pop('shared');
    const r = await prune(repo, { refsOnly: true, depth: 0 });
    expect(r.pruned).toBeGreaterThan(0);
  });

  it('the holder releases within the timeout: the waiter succeeds, within ~50 ms of the release', async () => {
    const repo = await newRepo();
    const holder = await Agent.process(repo.path);
    const lock = await repoLock(repo);
    const latencies: number[] = [];
    for (let i = 0; i < 5; i++) {
      expect((await holder.push('exclusive')).ok).toBe(true);
      let acquired = 0;
      const waiter = lock.push(i % 2 ? 'shared' : 'exclusive', { timeout: 10 }).then(() => (acquired = now()));
      await sleep(150 + 37 * i); // vary the phase against the poll interval
      expect(acquired).toBe(0);
      const released = (await holder.pop('exclusive')).t;
      await waiter;
      latencies.push(acquired - released);
      await lock.pop(i % 2 ? 'shared' : 'exclusive');
    }
    console.log(`lock hand-over latency (ms): ${latencies.map((l) => l.toFixed(1)).join(', ')}`);
    for (const l of latencies) expect(l).toBeLessThan(500);

    // And a whole commit that had to wait.
    expect((await holder.push('exclusive')).ok).toBe(true);
    const pending = commit(repo, { branch: 'late', trees: [{ dir: makeDir('late') }], lockTimeout: 10 });
    await sleep(200);
    expect(existsSync(path.join(repo.path, 'refs/heads/late'))).toBe(false);
    await holder.pop('exclusive');
    const c = await pending;
    expect(readFileSync(path.join(repo.path, 'refs/heads/late'), 'utf8')).toBe(`${c.checksum}\n`);
  });

  it('the event loop keeps ticking and the libuv pool stays free while a wait is in progress', async () => {
    const repo = await newRepo();
    const holder = await Agent.process(repo.path);
    expect((await holder.push('exclusive')).ok).toBe(true);
    const ticks: number[] = [];
    const timer = setInterval(() => ticks.push(performance.now()), 10);
    const start = performance.now();
    const waiting = rejection(repoLock(repo).then((l) => l.push('shared', { timeout: 1 })));
    // Pool work (fs) completes promptly during the wait.
    await sleep(100);
    const t = performance.now();
    await Promise.all(Array.from({ length: 16 }, () => fsp.stat(repo.path)));
    const poolMs = performance.now() - t;
    const err = await waiting;
    clearInterval(timer);
    expect(err.code).toBe('OSTREE_LOCKED');
    const gaps = ticks.map((x, i) => x - (i ? ticks[i - 1] : start));
    const maxGap = Math.max(...gaps);
    console.log(`during a 1 s lock wait: ${ticks.length} ticks of a 10 ms interval, max gap ${maxGap.toFixed(1)} ms; 16 fs.stat took ${poolMs.toFixed(1)} ms`);
    expect(ticks.length).toBeGreaterThan(50);
    expect(maxGap).toBeLessThan(150);
    expect(poolMs).toBeLessThan(200);
  });

  it('an AbortSignal cancels a wait promptly with OSTREE_ABORTED', async () => {
    const repo = await newRepo();
    const holder = await Agent.process(repo.path);
    expect((await holder.push('exclusive')).ok).toBe(true);
    const lock = await repoLock(repo);

    const ac = new AbortController();
    const waiting = rejection(lock.push('shared', { timeout: -1, signal: ac.signal }));
    await sleep(200);
    const aborted = performance.now();
    ac.abort();
    const err = await waiting;
    const delay = performance.now() - aborted;
    console.log(`abort → rejection: ${delay.toFixed(1)} ms`);
    expect(err.code).toBe('OSTREE_ABORTED');
    expect(delay).toBeLessThan(100);
    expect(lock.state).toBe('unlocked');
    expect(lock.kind).toBeNull();

    // Through a commit: nothing written.
    const ac2 = new AbortController();
    const pending = rejection(commit(repo, { branch: 'main', trees: [{ dir: makeDir('aborted') }], signal: ac2.signal, lockTimeout: -1 }));
    await sleep(100);
    ac2.abort();
    expect((await pending).code).toBe('OSTREE_ABORTED');
    expect(existsSync(path.join(repo.path, 'refs/heads/main'))).toBe(false);
    expect(objectFiles(repo.path)).toEqual([]);
  });
});

describe('worker threads', () => {
  it('two Repo objects on the same path in two worker threads exclude each other', async () => {
    const repo = await newRepo();
    const a = await Agent.thread(repo.path);
    const b = await Agent.thread(repo.path);
    expect((await a.push('exclusive')).ok).toBe(true);
    expect((await b.push('shared', 0.2)).code).toBe('OSTREE_LOCKED');
    expect((await b.push('exclusive', 0)).code).toBe('OSTREE_LOCKED');
    expect(await canTake(repo.path, 'shared')).toBe(false); // nor the main thread

    const waiting = b.push('exclusive', 10);
    await sleep(100);
    const released = (await a.pop('exclusive')).t;
    const got = await waiting;
    expect(got.ok).toBe(true);
    expect(got.t - released).toBeLessThan(500);
    expect((await a.push('shared', 0.2)).code).toBe('OSTREE_LOCKED');
    await b.pop('exclusive');

    // Shared in both threads is fine; exclusive then waits for both.
    expect((await a.push('shared', 0)).ok).toBe(true);
    expect((await b.push('shared', 0)).ok).toBe(true);
    expect(await canTake(repo.path, 'exclusive')).toBe(false);
    await a.pop('shared');
    expect(await canTake(repo.path, 'exclusive')).toBe(false);
    await b.pop('shared');
    expect(await canTake(repo.path, 'exclusive')).toBe(true);
  });
});

describe.skipIf(SKIP_INTEROP)('interop with ostree 2022.7', () => {
  async function interopRepo(): Promise<string> {
    const p = path.join(tmpdir('node-ostree-lockinterop-'), 'repo');
    expect(ostree(['init', `--repo=${p}`, '--mode=bare']).status).toBe(0);
    expect(ostree([`--repo=${p}`, 'config', 'set', 'core.lock-timeout-secs', '1']).status).toBe(0);
    return p;
  }

  it('our process holding the OFD lock exclusively makes `ostree prune` and `ostree commit` fail', async () => {
    const p = await interopRepo();
    const dir = makeDir('x');
    expect(ostree([`--repo=${p}`, 'commit', '-b', 'main', `--tree=dir=${dir}`]).status).toBe(0);
    const holder = await Agent.process(p);
    expect((await holder.push('exclusive')).ok).toBe(true);

    const t = performance.now();
    const pr = ostree([`--repo=${p}`, 'prune', '--refs-only']);
    expect(pr.status).toBe(1);
    expect(pr.stderr).toContain('Locking repo exclusive failed');
    expect(performance.now() - t).toBeGreaterThanOrEqual(900);
    const cm = ostree([`--repo=${p}`, 'commit', '-b', 'other', `--tree=dir=${dir}`]);
    expect(cm.status).toBe(1);
    expect(cm.stderr).toContain('Locking repo shared failed');
    expect(existsSync(path.join(p, 'refs/heads/other'))).toBe(false);

    await holder.pop('exclusive');
    expect(ostree([`--repo=${p}`, 'prune', '--refs-only']).status).toBe(0);
  });

  it('our shared hold admits `ostree commit` and excludes `ostree prune`', async () => {
    const p = await interopRepo();
    const holder = await Agent.process(p);
    expect((await holder.push('shared')).ok).toBe(true);
    const cm = ostree([`--repo=${p}`, 'commit', '-b', 'main', `--tree=dir=${makeDir('y')}`]);
    expect(cm.status).toBe(0);
    const pr = ostree([`--repo=${p}`, 'prune', '--refs-only', '--depth=0']);
    expect(pr.status).toBe(1);
    expect(pr.stderr).toContain('Locking repo exclusive failed');
    await holder.pop('shared');
    expect(ostree([`--repo=${p}`, 'prune', '--refs-only', '--depth=0']).status).toBe(0);
    expect(ostree([`--repo=${p}`, 'fsck']).status).toBe(0);
  });

  it('`ostree commit` holding shared (reading its tree from a FIFO) excludes our prune and admits our commit', async () => {
    const p = await interopRepo();
    const work = tmpdir('node-ostree-lockfifo-');
    const fifo = path.join(work, 'tree.tar');
    expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
    const theirs = spawn('ostree', [`--repo=${p}`, 'commit', '-b', 'theirs', `--tree=tar=${fifo}`], { stdio: 'ignore' });
    children.push(theirs);
    await waitFor(async () => !(await canTake(p, 'exclusive')), 'ostree to take the shared lock');
    expect(await canTake(p, 'shared')).toBe(true);

    const repo = await Repo.open(p); // core.lock-timeout-secs=1
    const err = await rejection(prune(repo, { refsOnly: true }));
    expect(err.code).toBe('OSTREE_LOCKED');
    const c = await commit(repo, { branch: 'ours', trees: [{ dir: makeDir('ours') }] });
    expect(readFileSync(path.join(p, 'refs/heads/ours'), 'utf8')).toBe(`${c.checksum}\n`);

    const src = makeDir('theirs');
    const tar = spawn('tar', ['-C', src, '-cf', fifo, '.'], { stdio: 'ignore' });
    expect(await exitOf(tar)).toBe(0);
    expect(await exitOf(theirs)).toBe(0);
    expect(await canTake(p, 'exclusive')).toBe(true);
    await prune(repo, { refsOnly: true });
    expect(ostree([`--repo=${p}`, 'fsck']).status).toBe(0);
  });

  it('`ostree prune` holding exclusive (blocked reading a FIFO object) excludes our commit', async () => {
    const p = await interopRepo();
    expect(ostree([`--repo=${p}`, 'commit', '-b', 'main', `--tree=dir=${makeDir('z')}`]).status).toBe(0);
    // Swap the root dirtree for a FIFO: prune's reachability walk blocks opening it, holding the lock.
    const dirtree = objectFiles(p).find((f) => f.endsWith('.dirtree')) as string;
    const objPath = path.join(p, dirtree);
    const saved = readFileSync(objPath);
    await fsp.rm(objPath);
    expect(spawnSync('mkfifo', [objPath]).status).toBe(0);
    const theirs = spawn('ostree', [`--repo=${p}`, 'prune', '--refs-only'], { stdio: 'ignore' });
    children.push(theirs);
    try {
      await waitFor(async () => !(await canTake(p, 'shared')), 'ostree to take the exclusive lock');
      const repo = await Repo.open(p);
      const err = await rejection(commit(repo, { branch: 'ours', trees: [{ dir: makeDir('ours') }], lockTimeout: 0.5 }));
      expect(err.code).toBe('OSTREE_LOCKED');
      expect(existsSync(path.join(p, 'refs/heads/ours'))).toBe(false);
    } finally {
      theirs.kill('SIGKILL');
      await exitOf(theirs);
      await fsp.rm(objPath);
      writeFileSync(objPath, saved, { mode: 0o644 });
    }
    const repo = await Repo.open(p);
    await commit(repo, { branch: 'ours', trees: [{ dir: makeDir('ours') }], lockTimeout: 0 });
    expect(ostree([`--repo=${p}`, 'fsck']).status).toBe(0);
  });
});

describe.skipIf(SKIP_INTEROP)('stress: concurrent commits and prunes, ours and ostree', () => {
  it('no operation fails and not one object is lost', async () => {
    const p = path.join(tmpdir('node-ostree-lockstress-'), 'repo');
    expect(ostree(['init', `--repo=${p}`, '--mode=bare']).status).toBe(0);
    const work = tmpdir('node-ostree-lockstress-work-');
    const N = 10;
    const logs: string[] = [];
    const run = (cmd: string, args: string[]) =>
      new Promise<{ code: number | null; out: string }>((resolve) => {
        const c = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
        children.push(c);
        let out = '';
        c.stdout.on('data', (d) => (out += d));
        c.stderr.on('data', (d) => (out += d));
        c.on('exit', (code) => resolve({ code, out }));
      });
    const helper = path.join(HELPERS, 'lock-stress.js');
    // Branch names that are not hex: a one-letter hex name would be read as a partial checksum (as ostree does).
    const ourCommits = ['wa', 'wb'].map((b) => run(process.execPath, [helper, 'commit', p, b, String(N), work]));
    const ourPrunes = run(process.execPath, [helper, 'prune', p, String(N)]);
    const ostreeLoop = async (argsFor: (i: number) => string[], prepare?: (i: number) => void) => {
      for (let i = 0; i < N; i++) {
        prepare?.(i);
        const r = await run('ostree', argsFor(i));
        logs.push(r.out);
        if (r.code !== 0) return { code: r.code, out: r.out };
      }
      return { code: 0, out: '' };
    };
    const theirDir = path.join(work, 'theirs');
    mkdirSync(theirDir, { recursive: true });
    const theirCommits = ostreeLoop(
      (i) => [`--repo=${p}`, 'commit', '-b', 'o', `--tree=dir=${theirDir}`, '-s', `o #${i}`],
      (i) => {
        for (let k = 0; k < 8; k++) writeFileSync(path.join(theirDir, `own-${k}`), `ostree file ${k} generation ${i % 3}\n`);
        writeFileSync(path.join(theirDir, 'fresh'), `${i} ${Math.random()}\n`);
      },
    );
    const theirPrunes = ostreeLoop(() => [`--repo=${p}`, 'prune', '--refs-only', '--depth=0']);

    const t = performance.now();
    const results = await Promise.all([...ourCommits, ourPrunes, theirCommits, theirPrunes]);
    const elapsed = performance.now() - t;
    for (const r of results) expect(r.code, r.out).toBe(0);
    const ops = results.reduce((n, r, i) => n + (i < 3 ? r.out.split('\n').filter((l) => l.startsWith('{')).length : N), 0);
    expect(ops).toBe(5 * N);
    console.log(`stress: ${ops} operations in ${elapsed.toFixed(0)} ms`);

    // Each branch points at its last commit, and everything reachable is there.
    for (const [i, b] of ['wa', 'wb'].entries()) {
      const last = JSON.parse(results[i].out.trim().split('\n').pop() as string);
      expect(readFileSync(path.join(p, 'refs/heads', b), 'utf8').trim()).toBe(last.checksum);
    }
    const theirFsck = ostree([`--repo=${p}`, 'fsck']);
    expect(theirFsck.status, theirFsck.stderr).toBe(0);
    expect(theirFsck.stdout).toContain('no errors found');
    const ourFsck = ours([`--repo=${p}`, 'fsck']);
    expect(ourFsck.status, ourFsck.stderr).toBe(0);
    // The newest trees check out intact.
    for (const b of ['wa', 'wb', 'o']) {
      const dest = path.join(tmpdir('node-ostree-lockstress-co-'), 'co');
      expect(ostree([`--repo=${p}`, 'checkout', b, dest]).status).toBe(0);
      expect(statSync(path.join(dest, 'fresh')).isFile()).toBe(true);
    }
  });
});
