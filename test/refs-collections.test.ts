// Collection refs, ref bindings and refspec-named refs against the real
// ostree: `refs --collections` (listing order included), creating and
// deleting collection refs, fsck --verify-bindings/--verify-back-refs,
// binding checks on pull-local, and `refs` with REMOTE:REF names.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdirSync, existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { SKIP_INTEROP, tmpdir, cleanupTmp, ostree, ours, ok, RunResult } from './helpers/interop';
import { Repo } from '../lib/repo/repo';
import { listCollectionRefs, collectionRefHashOrder } from '../lib/refs/collection-refs';
import { verifyBindings } from '../lib/refs/bindings';

afterAll(cleanupTmp);

function copy(repo: string): string {
  const dest = path.join(tmpdir(), 'copy');
  const r = spawnSync('cp', ['-a', repo, dest]);
  if (r.status !== 0) throw new Error(`cp -a failed: ${r.stderr}`);
  return dest;
}

/** Run `args` (with REPO replaced) on a copy each of `repo` with both CLIs; compare output and status. */
function same(repo: string, args: string[]): { theirs: RunResult; mine: RunResult; theirRepo: string; myRepo: string } {
  const theirRepo = copy(repo);
  const myRepo = copy(repo);
  const theirs = ostree(args.map((a) => a.replace('REPO', theirRepo)));
  const mine = ours(args.map((a) => a.replace('REPO', myRepo)));
  expect(mine.stdout).toBe(theirs.stdout);
  expect(mine.stderr.replaceAll(myRepo, 'R')).toBe(theirs.stderr.replaceAll(theirRepo, 'R'));
  expect(mine.status).toBe(theirs.status);
  return { theirs, mine, theirRepo, myRepo };
}

describe.skipIf(SKIP_INTEROP)('collection refs match ostree', () => {
  const d = SKIP_INTEROP ? '' : tmpdir('node-ostree-coll-');
  const repo = path.join(d, 'repo');
  const csums: string[] = [];

  beforeAll(() => {
    mkdirSync(path.join(d, 'tree'));
    ok(ostree(['init', `--repo=${repo}`, '--mode=archive', '--collection-id=org.example.Main']));
    for (let i = 1; i <= 9; i++) {
      csums.push(ok(ostree(['commit', `--repo=${repo}`, '-b', `app/${i}`, '-s', `c${i}`, `--timestamp=@${1600000000 + i}`, path.join(d, 'tree')])));
    }
    for (let i = 1; i <= 6; i++) ok(ostree(['refs', `--repo=${repo}`, '--collections', `--create=org.example.Other${i % 3}:mirror/${i}`, csums[i]]));
    // A remote with a collection ID and one without: only the first one's refs are collection refs.
    ok(ostree(['remote', 'add', `--repo=${repo}`, '--no-sign-verify', '--collection-id=org.example.Remote', 'withcid', 'file:///nowhere']));
    ok(ostree(['remote', 'add', `--repo=${repo}`, '--no-sign-verify', 'nocid', 'file:///nowhere']));
    ok(ostree(['refs', `--repo=${repo}`, '--create=withcid:r1', csums[0]]));
    ok(ostree(['refs', `--repo=${repo}`, '--create=nocid:r2', csums[0]]));
  });

  it('lists (collection, ref) pairs in the order ostree prints them, filtered by collection ID', () => {
    for (const args of [[], ['org.example.Other1'], ['org.example.Main'], ['org.example.Remote'], ['not-a-collection']]) {
      same(repo, ['refs', '--repo=REPO', '--collections', ...args]);
    }
    same(repo, ['refs', '--repo=REPO']);
    same(repo, ['refs', '--repo=REPO', '--list', 'org.example.Main']);
  });

  it('the library lists the same set, and orders it as GHashTable does', async () => {
    const r = await Repo.open(repo);
    const all = await listCollectionRefs(r);
    const printed = ok(ostree(['refs', `--repo=${repo}`, '--collections'])).split('\n');
    expect(collectionRefHashOrder(all).map((e) => `(${e.collectionId}, ${e.ref})`)).toEqual(printed);
    expect(all.find((e) => e.collectionId === 'org.example.Remote')?.checksum).toBe(csums[0]);
    expect(all.some((e) => e.ref === 'r2')).toBe(false);
    const excl = await listCollectionRefs(r, { excludeRemotes: true, excludeMirrors: true });
    expect(new Set(excl.map((e) => e.collectionId))).toEqual(new Set(['org.example.Main']));
  });

  it('creates and deletes collection refs where ostree does', () => {
    const c = same(repo, ['refs', '--repo=REPO', '--collections', '--create=org.example.New:x/y', 'app/3']);
    expect(readFileSync(path.join(c.myRepo, 'refs/mirrors/org.example.New/x/y'), 'utf8')).toBe(`${csums[2]}\n`);
    // The repo's own collection goes to refs/heads.
    const h = same(repo, ['refs', '--repo=REPO', '--collections', '--create=org.example.Main:own', 'app/3']);
    expect(existsSync(path.join(h.myRepo, 'refs/heads/own'))).toBe(true);
    same(repo, ['refs', '--repo=REPO', '--collections', '--create=org.example.Other1:mirror/1', 'app/3']);
    const del = same(repo, ['refs', '--repo=REPO', '--collections', '--delete', 'org.example.Other1']);
    expect(ok(ours(['refs', `--repo=${del.myRepo}`, '--collections']))).toBe(ok(ostree(['refs', `--repo=${del.theirRepo}`, '--collections'])));
    // Without --collections, a collection ID is just a (missing) ref prefix.
    same(repo, ['refs', '--repo=REPO', '--delete', 'org.example.Main']);
  });

  it('fsck --verify-bindings and --verify-back-refs report what ostree reports', () => {
    const b = path.join(d, 'bind');
    ok(ostree(['init', `--repo=${b}`, '--mode=archive', '--collection-id=org.example.Main']));
    const c1 = ok(ostree(['commit', `--repo=${b}`, '-b', 'ref1', '-s', 'one', path.join(d, 'tree')]));
    same(b, ['fsck', '--repo=REPO', '--verify-bindings']);
    ok(ostree(['refs', `--repo=${b}`, '--create=unbound', c1]));
    same(b, ['fsck', '--repo=REPO']);
    const r = same(b, ['fsck', '--repo=REPO', '--verify-bindings']);
    expect(r.mine.stderr).toContain('Commit has no requested ref ‘unbound’ in ref binding metadata (‘ref1’)');
    ok(ostree(['refs', `--repo=${b}`, '--delete', 'unbound']));
    ok(ostree(['refs', `--repo=${b}`, '--collections', '--create=org.example.Two:ref1', c1]));
    const m = same(b, ['fsck', '--repo=REPO', '--verify-bindings']);
    expect(m.mine.stderr).toContain('while the remote it came from has collection ID ‘org.example.Two’');
    ok(ostree(['refs', `--repo=${b}`, '--collections', '--delete', 'org.example.Two']));
    ok(ostree(['refs', `--repo=${b}`, '--delete', 'ref1']));
    same(b, ['fsck', '--repo=REPO']);
    const back = same(b, ['fsck', '--repo=REPO', '--verify-back-refs']);
    expect(back.mine.stderr).toContain('Collection–ref (org.example.Main, ref1) in bindings for commit');
  });

  it('verifyBindings throws OSTREE_INVALID_REF with ostree’s messages', () => {
    const md = (refs: string[] | null, cid: string | null) => [
      ...(refs ? [['ostree.ref-binding', { type: 'as', value: refs }]] : []),
      ...(cid !== null ? [['ostree.collection-binding', { type: 's', value: cid }]] : []),
    ] as never;
    expect(() => verifyBindings(null, 'a', md(null, null))).not.toThrow();
    expect(() => verifyBindings('org.x.Y', 'a', md(null, null))).toThrow(/found none/);
    expect(() => verifyBindings(null, 'a', md([], null))).toThrow('(no refs)');
    expect(() => verifyBindings('org.x.Y', 'a', md(['a'], ''))).toThrow('Commit has collection ID ‘’');
    expect(() => verifyBindings('org.x.Y', null, md(['b'], 'org.x.Y'))).not.toThrow();
    try {
      verifyBindings(null, 'a', md(['b', 'c'], null));
    } catch (err) {
      expect((err as { code: string }).code).toBe('OSTREE_INVALID_REF');
    }
  });

  it('pull-local refuses commits not bound to the source collection, unless --disable-verify-bindings', () => {
    const src = path.join(d, 'src');
    ok(ostree(['init', `--repo=${src}`, '--mode=archive']));
    ok(ostree(['commit', `--repo=${src}`, '-b', 'unbound', '-s', 'x', path.join(d, 'tree')]));
    spawnSync('sh', ['-c', `echo collection-id=org.example.Src >> ${src}/config`]);
    const good = ok(ostree(['commit', `--repo=${src}`, '-b', 'good', '-s', 'y', path.join(d, 'tree')]));
    ok(ostree(['refs', `--repo=${src}`, '--create=other', good]));
    const dst = path.join(d, 'dst');
    ok(ostree(['init', `--repo=${dst}`, '--mode=archive']));
    for (const ref of ['unbound', 'other', 'good']) {
      const theirs = ostree(['pull-local', `--repo=${copy(dst)}`, src, ref]);
      const mine = ours(['pull-local', `--repo=${copy(dst)}`, src, ref]);
      expect(mine.status).toBe(theirs.status);
      if (theirs.status !== 0) expect(mine.stderr).toBe(theirs.stderr);
      expect(ours(['pull-local', `--repo=${copy(dst)}`, '--disable-verify-bindings', src, ref]).status).toBe(0);
    }
  });

  it('refs with REMOTE:REF names: commit -b, --create, REMOTE: listing, aliases', () => {
    const r = path.join(d, 'rs');
    ok(ostree(['init', `--repo=${r}`, '--mode=archive']));
    ok(ostree(['commit', `--repo=${r}`, '-b', 'local1', '-s', 'x', path.join(d, 'tree')]));
    const c = same(r, ['commit', '--repo=REPO', '-b', 'origin:remote1', '-s', 'y', '--timestamp=@1600000000', path.join(d, 'tree')]);
    expect(existsSync(path.join(c.myRepo, 'refs/remotes/origin/remote1'))).toBe(true);
    ok(ostree(['commit', `--repo=${r}`, '-b', 'origin:remote1', '-s', 'y', path.join(d, 'tree')]));
    // remote1 exists only as origin:remote1: --create=remote1 is no clash.
    same(r, ['refs', '--repo=REPO', 'origin:remote1', '--create=remote1']);
    same(r, ['refs', '--repo=REPO', 'local1', '--create=origin:local1']);
    same(r, ['refs', '--repo=REPO', 'local1', '--create=local1']);
    ok(ostree(['refs', `--repo=${r}`, 'local1', '--create=origin:local1']));
    for (const p of ['origin:', 'origin:.', 'origin:local1', 'nosuch:']) same(r, ['refs', '--repo=REPO', p]);
    ok(ostree(['refs', `--repo=${r}`, '-A', 'local1', '--create=al']));
    same(r, ['refs', '--repo=REPO', '--delete', 'local1']);
    same(r, ['refs', '--repo=REPO', '-A', 'local1', '--create=origin:al3']);
  });
});
