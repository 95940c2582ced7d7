// Behaviours ostree's own test suite exercises (issue 13), each compared with
// the real ostree: prune's --keep-younger-than with --retain-branch-depth,
// fsck --add-tombstones, commits dated before 1970, pull-local into a repo
// with a parent, commit --consume adoption, checkout -z and
// OSTREE_REPO_TEST_ERROR.
import { describe, it, expect, afterAll } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync, readdirSync, readFileSync, statSync, existsSync, appendFileSync, linkSync } from 'node:fs';
import * as path from 'node:path';
import { SKIP_INTEROP, tmpdir, cleanupTmp, ostree, ours, ok } from './helpers/interop';
import { testErrorFlags } from '../lib/repo/test-error';

afterAll(cleanupTmp);

function copy(repo: string): string {
  const dest = path.join(tmpdir(), 'copy');
  const r = spawnSync('cp', ['-a', repo, dest]);
  if (r.status !== 0) throw new Error(`cp -a failed: ${r.stderr}`);
  return dest;
}

/** Object files of `repo` with this suffix, sorted. */
function objects(repo: string, suffix: string): string[] {
  const out: string[] = [];
  const root = path.join(repo, 'objects');
  for (const d of readdirSync(root).sort()) for (const f of readdirSync(path.join(root, d)).sort()) if (f.endsWith(suffix)) out.push(`${d}/${f}`);
  return out;
}

describe.skipIf(SKIP_INTEROP)('ostree suite gaps match ostree', () => {
  const d = SKIP_INTEROP ? '' : tmpdir('node-ostree-gaps-');

  it('prune --keep-younger-than with --retain-branch-depth keeps what ostree keeps', () => {
    const repo = path.join(d, 'dates');
    mkdirSync(path.join(d, 'tree'), { recursive: true });
    ok(ostree(['init', `--repo=${repo}`, '--mode=archive']));
    for (let day = 1; day <= 3; day++) {
      for (const b of ['stable', 'dev']) ok(ostree(['commit', `--repo=${repo}`, '-b', b, '-s', `${b} ${day}`, `--timestamp=October ${day} 1985`, path.join(d, 'tree')]));
    }
    for (const b of ['stable', 'dev']) ok(ostree(['commit', `--repo=${repo}`, '-b', b, '-s', `${b} new`, path.join(d, 'tree')]));
    for (const extra of [['--retain-branch-depth=stable=-1'], ['--retain-branch-depth=stable=1'], []]) {
      const theirs = copy(repo);
      const mine = copy(repo);
      const args = ['prune', '--keep-younger-than=1 week ago', ...extra];
      expect(ours([`--repo=${mine}`, ...args]).stdout).toBe(ostree([`--repo=${theirs}`, ...args]).stdout);
      expect(objects(mine, '.commit')).toEqual(objects(theirs, '.commit'));
    }
    const r = ours([`--repo=${repo}`, 'prune', '--static-deltas-only', '--keep-younger-than=1 week ago']);
    expect(r.status).toBe(1);
    expect(r.stderr).toBe(ostree([`--repo=${repo}`, 'prune', '--static-deltas-only', '--keep-younger-than=1 week ago']).stderr);
  });

  it('fsck --add-tombstones replaces commits whose parent is gone, as ostree', () => {
    const repo = path.join(d, 'tomb');
    ok(ostree(['init', `--repo=${repo}`, '--mode=archive']));
    for (let i = 0; i < 3; i++) ok(ostree(['commit', `--repo=${repo}`, '-b', 'main', '-s', `c${i}`, `--timestamp=@${1600000000 + i}`, path.join(d, 'tree')]));
    ok(ostree(['prune', `--repo=${repo}`, '--refs-only', '--depth=1']));
    const theirs = copy(repo);
    const mine = copy(repo);
    const t = ostree(['fsck', `--repo=${theirs}`, '--add-tombstones']);
    const m = ours(['fsck', `--repo=${mine}`, '--add-tombstones']);
    expect(m.stdout).toBe(t.stdout);
    expect(m.status).toBe(t.status);
    expect(objects(mine, '.tombstone-commit')).toEqual(objects(theirs, '.tombstone-commit'));
    expect(objects(mine, '.commit')).toEqual(objects(theirs, '.commit'));
    expect(readFileSync(path.join(mine, 'config'), 'utf8')).toBe(readFileSync(path.join(theirs, 'config'), 'utf8'));
  });

  it('a commit dated before 1970 has ostree’s checksum and log', () => {
    const sums: string[] = [];
    for (const run of [ours, ostree]) {
      const repo = path.join(tmpdir(), 'old');
      ok(ostree(['init', `--repo=${repo}`, '--mode=archive']));
      sums.push(ok(run([`--repo=${repo}`, 'commit', '-b', 'old', '-s', 'old', '--timestamp=November 05 1955', path.join(d, 'tree')])));
      expect(ours([`--repo=${repo}`, 'log', 'old']).stdout).toBe(ostree([`--repo=${repo}`, 'log', 'old']).stdout);
    }
    expect(sums[0]).toBe(sums[1]);
  });

  it('pull-local into a repo with a parent copies only the content the parent lacks', () => {
    const files = path.join(d, 'files');
    mkdirSync(files);
    for (let i = 1; i <= 3; i++) writeFileSync(path.join(files, `a${i}`), `afile${i}\n`);
    const parent = path.join(d, 'parent');
    ok(ostree(['init', `--repo=${parent}`, '--mode=archive']));
    ok(ostree(['commit', `--repo=${parent}`, '-b', 'test', files]));
    for (let i = 4; i <= 6; i++) writeFileSync(path.join(files, `a${i}`), `afile${i}\n`);
    const src = path.join(d, 'src');
    ok(ostree(['init', `--repo=${src}`, '--mode=archive']));
    ok(ostree(['commit', `--repo=${src}`, '-b', 'child', files]));
    const counts: number[] = [];
    for (const run of [ostree, ours]) {
      const child = path.join(tmpdir(), 'child');
      ok(ostree(['init', `--repo=${child}`, '--mode=archive']));
      appendFileSync(path.join(child, 'config'), `parent=${parent}\n`);
      ok(run(['pull-local', `--repo=${child}`, src, 'child']));
      counts.push(objects(child, '.filez').length);
    }
    expect(counts[1]).toBe(counts[0]);
    expect(counts[0]).toBe(3);
  });

  it('commit --consume adopts files into a bare-user-only repo (the object is the file)', () => {
    const repo = path.join(d, 'buo');
    ok(ours(['init', `--repo=${repo}`, '--mode=bare-user-only']));
    const tree = path.join(d, 'consume');
    mkdirSync(tree);
    writeFileSync(path.join(tree, 'eatme.txt'), 'a file to consume\n');
    linkSync(path.join(tree, 'eatme.txt'), path.join(d, 'saved'));
    const c = ok(ours(['commit', `--repo=${repo}`, '-b', 'main', '--consume', `--tree=dir=${tree}`]));
    expect(existsSync(tree)).toBe(false);
    const csum = ok(ostree(['ls', `--repo=${repo}`, '-C', c, '/eatme.txt'])).split(/\s+/)[4];
    const obj = path.join(repo, 'objects', csum.slice(0, 2), `${csum.slice(2)}.file`);
    expect(statSync(obj).ino).toBe(statSync(path.join(d, 'saved')).ino);
    ok(ostree(['fsck', `--repo=${repo}`]));
  });

  it('checkout -z is accepted and zero-sized files stay unlinked; OSTREE_REPO_TEST_ERROR=pre-commit fails a commit', () => {
    const repo = path.join(d, 'z');
    ok(ours(['init', `--repo=${repo}`, '--mode=bare-user-only']));
    const files = path.join(d, 'empties');
    mkdirSync(files);
    writeFileSync(path.join(files, 'e1'), '');
    writeFileSync(path.join(files, 'e2'), '');
    ok(ours(['commit', `--repo=${repo}`, '-b', 'e', files]));
    const out = path.join(d, 'zout');
    ok(ours(['checkout', `--repo=${repo}`, '-U', '-H', '-z', 'e', out]));
    expect(statSync(path.join(out, 'e1')).ino).not.toBe(statSync(path.join(out, 'e2')).ino);
    const env = { OSTREE_REPO_TEST_ERROR: 'pre-commit' };
    const t = ostree(['commit', `--repo=${repo}`, '-b', 'x', files], { env });
    const m = ours(['commit', `--repo=${repo}`, '-b', 'x', files], { env });
    expect(m.status).toBe(t.status);
    expect(m.stderr).toBe(t.stderr);
    expect(ours(['rev-parse', `--repo=${repo}`, 'x']).status).not.toBe(0);
    expect([...testErrorFlags('Invalid_Cache, pre-commit')].sort()).toEqual(['invalid-cache', 'pre-commit']);
    expect([...testErrorFlags('all')].length).toBe(2);
  });
});
