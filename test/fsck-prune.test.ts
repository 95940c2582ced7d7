// fsck and prune against the real ostree: both accept each other's repos,
// damage is reported the same way, and prune leaves the same objects.
import { describe, it, expect, afterAll } from 'vitest';
import { readFileSync, writeFileSync, readdirSync, rmSync, existsSync, statSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { SKIP_INTEROP, IS_ROOT, tmpdir, cleanupTmp, ostree, ours, ok, makeTree } from './helpers/interop';
import { Repo } from '../lib/repo/repo';
import { fsck } from '../lib/fsck';
import { prune } from '../lib/prune';
import { repoLock } from '../lib/lock';
import { ObjectType } from '../lib/objects/formats';

afterAll(cleanupTmp);

const MODES = ['archive', 'bare-user', 'bare-user-only', ...(IS_ROOT ? ['bare'] : [])];

/** Every file under objects/ (relative), sorted. */
function objectSet(repo: string): string[] {
  const out: string[] = [];
  const root = path.join(repo, 'objects');
  for (const pre of readdirSync(root).sort()) for (const n of readdirSync(path.join(root, pre)).sort()) out.push(`${pre}/${n}`);
  return out;
}

/** A repo made by ostree with two commits on main (tree v1, then v2) and a branch `other` at the first. */
function ostreeRepo(mode: string, by: 'ostree' | 'ours' = 'ostree'): { repo: string; c1: string; c2: string } {
  const d = tmpdir();
  makeTree(path.join(d, 't1'), 1);
  makeTree(path.join(d, 't2'), 2);
  const repo = path.join(d, 'repo');
  const run = by === 'ostree' ? ostree : ours;
  ok(run(['init', `--repo=${repo}`, `--mode=${mode}`]));
  const c1 = ok(run(['commit', `--repo=${repo}`, '-b', 'main', '-s', 'one', '--timestamp=@1600000000', path.join(d, 't1')]));
  const c2 = ok(run(['commit', `--repo=${repo}`, '-b', 'main', '-s', 'two', '--timestamp=@1600086400', path.join(d, 't2')]));
  ok(run(['refs', `--repo=${repo}`, '--create=other', c1]));
  return { repo, c1, c2 };
}

function copyRepo(repo: string): string {
  const dest = path.join(tmpdir(), 'copy');
  // cp -a keeps owners, modes and xattrs (bare-user's user.ostreemeta).
  const r = spawnSync('cp', ['-a', repo, dest]);
  if (r.status !== 0) throw new Error(`cp -a failed: ${r.stderr}`);
  return dest;
}

/** objects/ path of a content object of `file` in commit `rev`. */
function contentObject(repo: string, rev: string, file: string): { csum: string; path: string } {
  const line = ok(ostree(['ls', `--repo=${repo}`, '-C', rev, file]));
  const csum = line.split(/\s+/)[4];
  const mode = readFileSync(path.join(repo, 'config'), 'utf8').includes('archive') ? 'filez' : 'file';
  return { csum, path: path.join(repo, 'objects', csum.slice(0, 2), `${csum.slice(2)}.${mode}`) };
}

/** Damage a content object so that its stored data no longer matches its checksum. */
function corruptContent(file: string): void {
  const b = readFileSync(file);
  if (file.endsWith('.filez')) {
    // Change the compressed payload's last data byte region: inflate yields other bytes or fails.
    b[b.length - 3] ^= 0xff;
    writeFileSync(file, b);
  } else {
    const st = statSync(file);
    // Keep mode/owner/xattrs: rewrite in place.
    writeFileSync(file, Buffer.concat([b, Buffer.from('X')]));
    expect(statSync(file).size).toBe(st.size + 1);
  }
}

describe.skipIf(SKIP_INTEROP)('fsck', () => {
  for (const mode of MODES) {
    it(`${mode}: passes with output identical to ostree's on a repo ostree made`, async () => {
      const { repo } = ostreeRepo(mode);
      const theirs = ostree(['fsck', `--repo=${repo}`]);
      const mine = ours(['fsck', `--repo=${repo}`]);
      expect(theirs.status).toBe(0);
      expect(mine.status).toBe(0);
      expect(mine.stdout).toBe(theirs.stdout);
      expect(mine.stdout).toContain('object fsck of 2 commits completed successfully - no errors found.');
      const r = await fsck(await Repo.open(repo));
      expect(r.ok).toBe(true);
      expect(r.commitsVerified).toBe(2);
      expect(r.issues).toEqual([]);
      expect(r.objectsChecked).toBeGreaterThan(10);
    });

    it(`${mode}: passes on a repo we made (ostree agrees)`, async () => {
      const { repo } = ostreeRepo(mode, 'ours');
      ok(ours(['fsck', `--repo=${repo}`]), 'our fsck');
      ok(ostree(['fsck', `--repo=${repo}`]), 'ostree fsck');
    });

    it(`${mode}: a corrupted content object is named, exit 1, same error as ostree`, async () => {
      const { repo, c2 } = ostreeRepo(mode);
      const obj = contentObject(repo, c2, '/hello.txt'); // only in the second commit
      corruptContent(obj.path);
      const copy = copyRepo(repo);
      const theirs = ostree(['fsck', `--repo=${copy}`]);
      const mine = ours(['fsck', `--repo=${repo}`]);
      expect(theirs.status).toBe(1);
      expect(mine.status).toBe(1);
      expect(mine.stderr).toContain(obj.csum);
      expect(mine.stderr).toBe(theirs.stderr);
      const r = await fsck(await Repo.open(repo), { all: true });
      expect(r.ok).toBe(false);
      expect(r.issues.map((i) => [i.kind, i.checksum, i.type, i.commits])).toEqual([['corrupt', obj.csum, ObjectType.File, [c2]]]);
    });
  }

  it('a corrupted dirtree is reported with the commit containing it', async () => {
    const { repo, c2 } = ostreeRepo('archive');
    const line = ok(ostree(['ls', `--repo=${repo}`, '-C', c2, '/sub'])).split('\n')[0];
    const dt = line.trim().split(/\s+/)[4];
    const file = path.join(repo, 'objects', dt.slice(0, 2), `${dt.slice(2)}.dirtree`);
    const b = readFileSync(file);
    b[0] ^= 0x01; // a byte of the first name: still parses, checksum differs
    writeFileSync(file, b);
    const copy = copyRepo(repo);
    const theirs = ostree(['fsck', `--repo=${copy}`]);
    const mine = ours(['fsck', `--repo=${repo}`]);
    expect(mine.status).toBe(1);
    const errLine = (s: string) => s.split('\n').find((l) => l.startsWith('error:'));
    expect(errLine(mine.stderr)).toContain(`fsck ${dt}.dirtree: Corrupted dirtree object`);
    expect(errLine(mine.stderr)).toBe(errLine(theirs.stderr));
    const r = await fsck(await Repo.open(repo), { all: true });
    expect(r.issues.find((i) => i.checksum === dt)).toMatchObject({ kind: 'corrupt', type: ObjectType.DirTree, commits: [c2] });
  });

  it('a missing object is reported, its commit marked partial, as ostree does', async () => {
    const { repo, c2 } = ostreeRepo('bare-user');
    const obj = contentObject(repo, c2, '/sub/new.txt');
    rmSync(obj.path);
    const copy = copyRepo(repo);
    const theirs = ostree(['fsck', `--repo=${copy}`]);
    const mine = ours(['fsck', `--repo=${repo}`]);
    expect(mine.status).toBe(1);
    expect(mine.stdout).toBe(theirs.stdout);
    expect(mine.stderr).toBe(theirs.stderr);
    expect(mine.stderr).toContain(`Object missing in commits ${c2}: ${obj.csum}.file`);
    expect(readFileSync(path.join(repo, 'state', `${c2}.commitpartial`), 'utf8')).toBe('f');
    // Second run: the commit is now partial from fsck-detected corruption.
    const theirs2 = ostree(['fsck', `--repo=${copy}`]);
    const mine2 = ours(['fsck', `--repo=${repo}`]);
    expect(mine2.status).toBe(1);
    expect([mine2.stdout, mine2.stderr]).toEqual([theirs2.stdout, theirs2.stderr]);
    const r = await fsck(await Repo.open(repo));
    expect(r.partialCommits).toEqual([c2]);
    expect(r.fsckPartialCommits).toEqual([c2]);
    expect(r.ok).toBe(false);
  });

  it('API: a missing object is reported without stopping', async () => {
    const { repo, c1, c2 } = ostreeRepo('archive');
    const obj = contentObject(repo, c1, '/hello.txt');
    rmSync(obj.path);
    const r = await fsck(await Repo.open(repo));
    expect(r.fatal).toBeNull();
    expect(r.issues).toHaveLength(1);
    expect(r.issues[0]).toMatchObject({ kind: 'missing', checksum: obj.csum, commits: [c1], markedPartial: [c1] });
    expect(r.commitsVerified).toBe(2);
    void c2;
  });

  it('--delete removes the corrupt object and marks the commit partial (ostree agrees)', async () => {
    const { repo, c2 } = ostreeRepo('archive');
    const obj = contentObject(repo, c2, '/hello.txt');
    corruptContent(obj.path);
    const copy = copyRepo(repo);
    const theirs = ostree(['fsck', '--delete', `--repo=${copy}`]);
    const mine = ours(['fsck', '--delete', `--repo=${repo}`]);
    expect(mine.status).toBe(1);
    expect([mine.stdout, mine.stderr]).toEqual([theirs.stdout, theirs.stderr]);
    expect(existsSync(obj.path)).toBe(false);
    expect(objectSet(repo)).toEqual(objectSet(copy));
    expect(readFileSync(path.join(repo, 'state', `${c2}.commitpartial`), 'utf8')).toBe('f');
    const after = ostree(['fsck', `--repo=${repo}`]);
    expect(after.stdout).toContain('1 partial commits not verified');
    expect(after.stderr).toContain('1 partial commits from fsck-detected corruption');
  });

  it('API --delete holds the exclusive lock', async () => {
    const { repo } = ostreeRepo('archive');
    const holder = await Repo.open(repo);
    await (await repoLock(holder)).push('shared');
    try {
      const r2 = await Repo.open(repo);
      r2.config.set('core', 'lock-timeout-secs', '0');
      await expect(fsck(r2, { delete: true })).rejects.toMatchObject({ code: 'OSTREE_LOCKED' });
      // A plain check only needs a shared hold.
      expect((await fsck(r2)).ok).toBe(true);
    } finally {
      await (await repoLock(holder)).pop('shared');
    }
  });
});

describe.skipIf(SKIP_INTEROP)('prune', () => {
  /** Run ostree prune on a copy and ours on the original; same output and objects left. */
  function samePrune(repo: string, args: string[], setup?: (r: string) => void): { mine: string; copy: string } {
    const copy = copyRepo(repo);
    if (setup) {
      setup(repo);
      setup(copy);
    }
    const theirs = ostree(['prune', `--repo=${copy}`, ...args]);
    const mine = ours(['prune', `--repo=${repo}`, ...args]);
    expect(mine.status).toBe(theirs.status);
    expect(mine.stdout).toBe(theirs.stdout);
    expect(mine.stderr).toBe(theirs.stderr);
    expect(objectSet(repo)).toEqual(objectSet(copy));
    return { mine: mine.stdout, copy };
  }

  for (const mode of MODES) {
    it(`${mode}: --refs-only after deleting a ref leaves what ostree leaves; ostree fsck passes`, () => {
      const { repo, c2 } = ostreeRepo(mode);
      const deleteMain = (r: string) => ok(ostree(['refs', `--repo=${r}`, '--delete', 'main']));
      const { mine } = samePrune(repo, ['--refs-only'], deleteMain);
      expect(mine).toMatch(/^Total objects: \d+\nDeleted \d+ objects, .+ freed\n$/);
      expect(existsSync(path.join(repo, 'objects', c2.slice(0, 2), `${c2.slice(2)}.commit`))).toBe(false);
      ok(ostree(['fsck', `--repo=${repo}`]), 'ostree fsck after our prune');
    });
  }

  it('--refs-only --depth=0 drops history; --no-prune and --commit-only agree too', () => {
    const { repo, c1 } = ostreeRepo('bare-user');
    rmSync(path.join(repo, 'refs/heads/other'));
    samePrune(repo, ['--refs-only', '--depth=0', '--no-prune']);
    samePrune(repo, ['--refs-only', '--depth=0', '--commit-only']);
    expect(existsSync(path.join(repo, 'objects', c1.slice(0, 2), `${c1.slice(2)}.commit`))).toBe(false);
    samePrune(repo, ['--refs-only', '--depth=0']);
    ok(ostree(['fsck', `--repo=${repo}`]));
  });

  it('without --refs-only every commit is a root', () => {
    const { repo } = ostreeRepo('archive');
    rmSync(path.join(repo, 'refs/heads/other'));
    const { mine } = samePrune(repo, ['--depth=0']);
    expect(mine).toContain('No unreachable objects');
  });

  it('--delete-commit enables tombstones and writes one (same objects and config as ostree)', () => {
    const { repo, c1 } = ostreeRepo('archive');
    rmSync(path.join(repo, 'refs/heads/other'));
    const { copy } = samePrune(repo, [`--delete-commit=${c1}`]);
    expect(readFileSync(path.join(repo, 'config'), 'utf8')).toBe(readFileSync(path.join(copy, 'config'), 'utf8'));
    expect(existsSync(path.join(repo, 'objects', c1.slice(0, 2), `${c1.slice(2)}.tombstone-commit`))).toBe(true);
    expect(readFileSync(path.join(repo, 'objects', c1.slice(0, 2), `${c1.slice(2)}.tombstone-commit`))).toEqual(
      readFileSync(path.join(copy, 'objects', c1.slice(0, 2), `${c1.slice(2)}.tombstone-commit`)),
    );
    ok(ostree(['fsck', `--repo=${repo}`]));
  });

  it('drops cached summaries of remotes that are gone (not with OSTREE_SKIP_CACHE), as ostree', () => {
    const { repo } = ostreeRepo('archive');
    ok(ostree(['remote', 'add', `--repo=${repo}`, '--no-gpg-verify', 'origin', 'http://127.0.0.1:1/r']));
    const cache = (r: string) => path.join(r, 'tmp', 'cache', 'summaries');
    const fill = (r: string) => {
      require('node:fs').mkdirSync(cache(r), { recursive: true });
      for (const n of ['origin', 'origin.sig', 'gone', 'gone.sig', '.sig']) writeFileSync(path.join(cache(r), n), n);
    };
    const left = (r: string) => readdirSync(cache(r)).sort();
    const skip = { OSTREE_SKIP_CACHE: '1' };
    const copy = copyRepo(repo);
    fill(repo);
    fill(copy);
    ok(ours(['prune', `--repo=${repo}`], { env: skip }));
    ok(ostree(['prune', `--repo=${copy}`], { env: skip }));
    expect(left(repo)).toEqual(left(copy));
    expect(left(repo)).toContain('gone');
    samePrune(repo, ['--no-prune'], () => undefined);
    ok(ostree(['prune', `--repo=${copy}`, '--no-prune']));
    expect(left(repo)).toEqual(left(copy));
    expect(left(repo)).toEqual(['origin', 'origin.sig']);
  });

  it('--delete-commit refuses a ref target', () => {
    const { repo, c2 } = ostreeRepo('archive');
    samePrune(repo, [`--delete-commit=${c2}`]);
  });

  it('--only-branch and --keep-younger-than match ostree', () => {
    const { repo } = ostreeRepo('archive');
    rmSync(path.join(repo, 'refs/heads/other'));
    samePrune(repo, ['--only-branch=main', '--depth=1']);
    samePrune(repo, ['--keep-younger-than=2020-09-14 00:00:00']);
    ok(ostree(['fsck', `--repo=${repo}`]));
  });

  it('API: depth pruning counts and the exclusive lock', async () => {
    const { repo, c1 } = ostreeRepo('archive');
    rmSync(path.join(repo, 'refs/heads/other'));
    const r = await Repo.open(repo);
    const dry = await prune(r, { refsOnly: true, depth: 0, noPrune: true });
    expect(dry.pruned).toBeGreaterThan(0);
    expect(dry.deletedCommits).toEqual([c1]);
    expect(existsSync(path.join(repo, 'objects', c1.slice(0, 2), `${c1.slice(2)}.commit`))).toBe(true);

    const holder = await Repo.open(repo);
    await (await repoLock(holder)).push('shared');
    try {
      const r2 = await Repo.open(repo);
      r2.config.set('core', 'lock-timeout-secs', '0');
      await expect(prune(r2, { refsOnly: true, depth: 0 })).rejects.toMatchObject({ code: 'OSTREE_LOCKED' });
    } finally {
      await (await repoLock(holder)).pop('shared');
    }
    const done = await prune(r, { refsOnly: true, depth: 0 });
    expect(done).toMatchObject({ total: dry.total, pruned: dry.pruned, freedBytes: dry.freedBytes });
    expect(existsSync(path.join(repo, 'objects', c1.slice(0, 2), `${c1.slice(2)}.commit`))).toBe(false);
    expect((await fsck(r)).ok).toBe(true);
  });
});
