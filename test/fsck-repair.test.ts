// fsck --repair / repairRepo: damage a repo pulled from a served repo, repair
// it from the remote, and check against the real ostree that the result is
// clean and that nothing else in the repo changed; a remote lacking an
// object leaves the commit marked partial.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { readFileSync, writeFileSync, readdirSync, rmSync, existsSync, statSync, chmodSync, lstatSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as path from 'node:path';
import { SKIP_INTEROP, tmpdir, cleanupTmp, ostree, ours, ok, makeTree } from './helpers/interop';
import { serveRepo, RepoServer } from '../lib/httpd';
import { Repo } from '../lib/repo/repo';
import { repairRepo } from '../lib/repair';
import { ostreeA, oursA } from './helpers/pull';

/** Every file of the repo outside tmp/ with its mode and content hash. */
function snapshot(repo: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (rel: string) => {
    for (const n of readdirSync(path.join(repo, rel)).sort()) {
      const r = rel ? `${rel}/${n}` : n;
      if (r === 'tmp' || r === '.lock') continue;
      const st = lstatSync(path.join(repo, r));
      if (st.isDirectory()) walk(r);
      else out.set(r, `${st.mode.toString(8)} ${st.isFile() ? createHash('sha256').update(readFileSync(path.join(repo, r))).digest('hex') : ''}`);
    }
  };
  walk('');
  return out;
}

/** `ostree ls -R -C` of a commit: path -> [type char, checksum (dirtree for dirs)]. */
function listing(repo: string, rev: string): Map<string, [string, string]> {
  const out = new Map<string, [string, string]>();
  for (const line of ok(ostree([`--repo=${repo}`, 'ls', '-R', '-C', rev])).split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length < 6) continue;
    out.set(f[f.length - 1].split(' -> ')[0], [f[0][0], f[4]]);
  }
  return out;
}

function objPath(repo: string, csum: string, ext: string): string {
  return path.join(repo, 'objects', csum.slice(0, 2), `${csum.slice(2)}.${ext}`);
}

function damage(file: string): void {
  chmodSync(file, 0o644);
  const b = readFileSync(file);
  b[b.length >> 1] ^= 0x5a;
  writeFileSync(file, b);
}

describe.skipIf(SKIP_INTEROP)('fsck --repair', () => {
  let dir: string;
  let srv: string;
  let broken: string;
  let server: RepoServer;
  let brokenServer: RepoServer;
  let c1: string;

  beforeAll(async () => {
    dir = tmpdir();
    srv = path.join(dir, 'srv');
    ok(ostree([`--repo=${srv}`, 'init', '--mode=archive']));
    makeTree(path.join(dir, 't1'), 1);
    c1 = ok(ostree([`--repo=${srv}`, 'commit', '-b', 'main', '-s', 'one', '--timestamp=@1600000000', path.join(dir, 't1')]));
    // The same repo lacking hello.txt's object.
    broken = path.join(dir, 'broken');
    const cp = spawnSync('cp', ['-a', srv, broken]);
    if (cp.status !== 0) throw new Error(`cp -a failed: ${cp.stderr}`);
    const hello = listing(srv, c1).get('/hello.txt')![1];
    rmSync(objPath(broken, hello, 'filez'));
    server = await serveRepo(srv);
    brokenServer = await serveRepo(broken);
  });
  afterAll(async () => {
    await server?.close();
    await brokenServer?.close();
    cleanupTmp();
  });

  // The server runs in this process: commands that fetch from it run async.
  async function client(name: string): Promise<string> {
    const repo = path.join(dir, name);
    ok(ostree([`--repo=${repo}`, 'init', '--mode=bare-user']));
    ok(ostree([`--repo=${repo}`, 'remote', 'add', '--no-gpg-verify', 'origin', server.url]));
    ok(ostree([`--repo=${repo}`, 'remote', 'add', '--no-gpg-verify', 'broken', brokenServer.url]));
    ok(await ostreeA([`--repo=${repo}`, 'pull', 'origin', 'main']));
    return repo;
  }

  it('restores a corrupt file, a corrupt dirtree and a missing object; ostree fsck is clean and nothing else changes', async () => {
    const repo = await client('mine');
    const before = snapshot(repo);
    const ls = listing(repo, c1);
    const hello = objPath(repo, ls.get('/hello.txt')![1], 'file');
    const deeper = objPath(repo, ls.get('/sub/deeper')![1], 'dirtree');
    const big = objPath(repo, ls.get('/big.bin')![1], 'file');
    damage(hello);
    damage(deeper);
    rmSync(big);
    expect(ostree([`--repo=${repo}`, 'fsck', '--all']).status).not.toBe(0);

    const r = await oursA([`--repo=${repo}`, 'fsck', '--repair', '--remote=origin']);
    expect(r.stderr).toContain(`${ls.get('/hello.txt')![1]}`);
    expect(r.stderr).toContain('Moved corrupt object to');
    expect(r.status, r.stderr).toBe(0);
    // The damaged dirtree may still parse, naming a child that doesn't exist: reported missing too.
    expect(r.stdout).toMatch(/Found 2 corrupt and [12] missing objects/);
    expect(r.stderr).toContain(`Object missing in commits ${c1}: ${ls.get('/big.bin')![1]}.file`);
    expect(r.stdout).toContain(`Repaired commit ${c1}`);

    expect(ours([`--repo=${repo}`, 'fsck']).status).toBe(0);
    const theirs = ostree([`--repo=${repo}`, 'fsck']);
    expect(theirs.status, theirs.stderr).toBe(0);
    expect(theirs.stdout).not.toContain('partial');
    expect(snapshot(repo)).toEqual(before);
    // The evidence is kept under tmp/corrupt-*.
    const qdirs = readdirSync(path.join(repo, 'tmp')).filter((n) => n.startsWith('corrupt-'));
    expect(qdirs).toHaveLength(1);
    expect(readdirSync(path.join(repo, 'tmp', qdirs[0])).sort()).toEqual(
      [`${ls.get('/hello.txt')![1]}.file`, `${ls.get('/sub/deeper')![1]}.dirtree`].sort(),
    );
  });

  it('marks the commit partial and says so when the remote lacks an object (library)', async () => {
    const repo = await client('partial');
    const ls = listing(repo, c1);
    const helloCsum = ls.get('/hello.txt')![1];
    rmSync(objPath(repo, helloCsum, 'file'));
    const before = snapshot(repo);
    const res = await repairRepo(await Repo.open(repo), { remote: 'broken' });
    expect(res.ok).toBe(false);
    expect(res.repaired).toEqual([]);
    expect(res.unrepaired.map((u) => u.commit)).toEqual([c1]);
    expect(res.issues.map((i) => [i.kind, i.checksum])).toEqual([['missing', helloCsum]]);
    expect(readFileSync(path.join(repo, 'state', `${c1}.commitpartial`), 'utf8')).toBe('f');
    // Only the marker is new.
    const after = snapshot(repo);
    after.delete(`state/${c1}.commitpartial`);
    expect(after).toEqual(before);
    const theirs = ostree([`--repo=${repo}`, 'fsck']);
    expect(theirs.stderr).toContain('partial commits from fsck-detected corruption');

    // The CLI reports it; then repaired from the good remote, the marker goes.
    const r = await oursA([`--repo=${repo}`, 'fsck', '--repair', '--remote=broken']);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain(`Commit ${c1} could not be repaired and is marked partial`);
    const good = await oursA([`--repo=${repo}`, 'fsck', '--repair', '--remote=origin']);
    expect(good.status, good.stderr).toBe(0);
    expect(existsSync(path.join(repo, 'state', `${c1}.commitpartial`))).toBe(false);
    expect(ostree([`--repo=${repo}`, 'fsck']).status).toBe(0);
  });

  it('repairs from a --localcache-repo alone', async () => {
    const repo = await client('local');
    ok(ostree([`--repo=${repo}`, 'remote', 'delete', 'broken']));
    ok(ostree([`--repo=${repo}`, 'remote', 'delete', 'origin']));
    const ls = listing(repo, c1);
    rmSync(objPath(repo, ls.get('/run.sh')![1], 'file'));
    const r = ours([`--repo=${repo}`, 'fsck', '--repair', `--localcache-repo=${srv}`]);
    expect(r.status, r.stderr).toBe(0);
    expect(ostree([`--repo=${repo}`, 'fsck']).status).toBe(0);
    expect(statSync(objPath(repo, ls.get('/run.sh')![1], 'file')).isFile()).toBe(true);
  });
});

describe.skipIf(SKIP_INTEROP)('fsck --add-tombstones', () => {
  afterAll(cleanupTmp);

  it('replaces commits whose parent is missing by tombstones, as ostree does', () => {
    const d = tmpdir();
    makeTree(path.join(d, 't1'), 1);
    makeTree(path.join(d, 't2'), 2);
    const base = path.join(d, 'base');
    ok(ostree([`--repo=${base}`, 'init', '--mode=archive']));
    const c1 = ok(ostree([`--repo=${base}`, 'commit', '-b', 'main', '-s', 'one', '--timestamp=@1600000000', path.join(d, 't1')]));
    const c2 = ok(ostree([`--repo=${base}`, 'commit', '-b', 'main', '-s', 'two', '--timestamp=@1600086400', path.join(d, 't2')]));
    rmSync(objPath(base, c1, 'commit'));
    const results = ['ostree', 'ours'].map((who) => {
      const repo = path.join(d, who);
      if (spawnSync('cp', ['-a', base, repo]).status !== 0) throw new Error('cp -a failed');
      const r = (who === 'ostree' ? ostree : ours)([`--repo=${repo}`, 'fsck', '--add-tombstones']);
      return { r, snap: snapshot(repo) };
    });
    expect(results[1].r.status, results[1].r.stderr).toBe(results[0].r.status);
    expect(results[1].r.stdout).toBe(results[0].r.stdout);
    expect(results[0].r.stdout).toContain(`Adding tombstone for commit ${c2}`);
    expect([...results[1].snap.keys()]).toEqual([...results[0].snap.keys()]);
    expect(results[1].snap.get('config')).toBe(results[0].snap.get('config'));
    expect(results[1].snap.has(`objects/${c2.slice(0, 2)}/${c2.slice(2)}.tombstone-commit`)).toBe(true);
  });
});
