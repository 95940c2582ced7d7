// Expiry of stale temp files (issue 16, item 3; FORMATS.md §3.7): the end of
// a transaction removes what ostree's cleanup_tmpdir removes from tmp/
// (entries older than core.tmp-expiry-secs, default a day; ostree's staging
// dirs of other boots when unlocked), keeps fresh and future entries and
// tmp/cache, and also expires the `.atomic-*` temp files older versions of
// ours left in refs/ and in the repo root. Prune, as ostree's, leaves tmp/
// alone. Runs dist/: `npx tsc -p .` first.
import { describe, it, expect, afterAll } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, writeFileSync, utimesSync, lutimesSync, symlinkSync, existsSync } from 'node:fs';
import * as path from 'node:path';
import { SKIP_INTEROP, tmpdir, cleanupTmp, ostree, ours, ok, makeTree } from './helpers/interop';
import { Repo } from '../lib/repo/repo';
import { Transaction } from '../lib/repo/transaction';
import { native } from '../lib/binding';

afterAll(cleanupTmp);

const HOUR = 3600;
const DAY = 24 * HOUR;
const BOOT = 'node-ostree-test-boot';
const ENV = { OSTREE_BOOTID: BOOT };

/** Set a path's mtime (and atime) to `secs` seconds from now (negative: in the past). */
function age(p: string, secs: number): void {
  const t = Date.now() / 1000 + secs;
  lutimesSync(p, t, t);
}

function file(p: string, secs = 0): string {
  mkdirSync(path.dirname(p), { recursive: true });
  writeFileSync(p, '');
  if (secs) age(p, secs);
  return p;
}

function ls(dir: string): string[] {
  return readdirSync(dir).sort();
}

function copyRepo(repo: string): string {
  const dest = path.join(tmpdir(), 'copy');
  const r = spawnSync('cp', ['-a', repo, dest]);
  if (r.status !== 0) throw new Error(`cp -a failed: ${r.stderr}`);
  return dest;
}

/** An archive repo with main committed, and the tree to commit again. */
function repoWithTree(): { repo: string; tree: string } {
  const d = tmpdir();
  const tree = path.join(d, 't');
  makeTree(tree, 1);
  const repo = path.join(d, 'repo');
  ok(ours(['init', `--repo=${repo}`, '--mode=archive']));
  ok(ours(['commit', `--repo=${repo}`, '-b', 'main', tree]));
  return { repo, tree };
}

/**
 * tmp/ entries of every kind: temp files of our writers and a dir two days
 * old (the dir aged after its contents), a symlink, tmp/cache itself two
 * days old, a file two hours old, a fresh one, one from the future, an
 * unlocked staging dir of another boot (fresh: age doesn't matter for
 * those).
 */
function plantTmp(repo: string): void {
  const tmp = path.join(repo, 'tmp');
  file(path.join(tmp, '.obj-4242-mx6gu7ql-1-abcdef'), -2 * DAY);
  file(path.join(tmp, '.filez-4242-mx6gu7ql-2-abcdef'), -2 * DAY);
  file(path.join(tmp, '.ref-4242-mx6gu7ql-3-abcdef'), -2 * DAY);
  file(path.join(tmp, 'stale-dir', 'sub', 'f'));
  age(path.join(tmp, 'stale-dir'), -2 * DAY);
  symlinkSync('nowhere', path.join(tmp, 'stale-link'));
  age(path.join(tmp, 'stale-link'), -2 * DAY);
  file(path.join(tmp, 'cache', 'summaries', 'old'), -2 * DAY);
  age(path.join(tmp, 'cache'), -2 * DAY);
  file(path.join(tmp, 'two-hours'), -2 * HOUR);
  file(path.join(tmp, '.obj-4242-mx6gu7ql-4-fresh0'));
  file(path.join(tmp, 'future'), 2 * DAY);
  file(path.join(tmp, 'staging-other-boot-abc123', 'xx', 'object'));
}

const KEPT = ['.obj-4242-mx6gu7ql-4-fresh0', 'cache', 'future', 'two-hours'];

describe.skipIf(SKIP_INTEROP)('tmp/ expiry', () => {
  it("a commit removes from tmp/ what ostree's commit removes; prune (ostree's too) leaves tmp/ alone", () => {
    const { repo, tree } = repoWithTree();
    plantTmp(repo);
    const copy = copyRepo(repo);
    const planted = ls(path.join(repo, 'tmp'));

    ok(ours(['prune', '--refs-only', `--repo=${repo}`], { env: ENV }));
    ok(ostree(['prune', '--refs-only', `--repo=${copy}`], { env: ENV }));
    expect(ls(path.join(repo, 'tmp'))).toEqual(planted);
    expect(ls(path.join(copy, 'tmp'))).toEqual(planted);

    ok(ours(['commit', `--repo=${repo}`, '-b', 'main', '-s', 'again', tree], { env: ENV }));
    ok(ostree(['commit', `--repo=${copy}`, '-b', 'main', '-s', 'again', tree], { env: ENV }));
    expect(ls(path.join(copy, 'tmp'))).toEqual(KEPT);
    expect(ls(path.join(repo, 'tmp'))).toEqual(KEPT);
    // (prune drops cached summaries of remotes that do not exist, as ostree's does)
    expect(ls(path.join(repo, 'tmp', 'cache', 'summaries'))).toEqual(ls(path.join(copy, 'tmp', 'cache', 'summaries')));
  });

  it('opening a writable repo recreates a removed tmp/ (mode 0775 less umask), as ostree', () => {
    const { statSync, rmSync } = require('node:fs') as typeof import('node:fs');
    const d = tmpdir();
    for (const [who, run] of [['ostree', ostree], ['ours', ours]] as const) {
      const repo = path.join(d, who);
      ok(ostree(['init', `--repo=${repo}`, '--mode=bare-user']));
      rmSync(path.join(repo, 'tmp'), { recursive: true });
      ok(run(['refs', `--repo=${repo}`]));
    }
    expect(statSync(path.join(d, 'ours', 'tmp')).mode).toBe(statSync(path.join(d, 'ostree', 'tmp')).mode);
  });

  it("core.tmp-expiry-secs is honoured (ostree agrees)", () => {
    const { repo, tree } = repoWithTree();
    ok(ours(['config', `--repo=${repo}`, 'set', 'core.tmp-expiry-secs', String(HOUR)]));
    plantTmp(repo);
    file(path.join(repo, 'tmp', 'half-hour'), -HOUR / 2);
    const copy = copyRepo(repo);
    ok(ours(['commit', `--repo=${repo}`, '-b', 'main', tree], { env: ENV }));
    ok(ostree(['commit', `--repo=${copy}`, '-b', 'main', tree], { env: ENV }));
    const kept = ['.obj-4242-mx6gu7ql-4-fresh0', 'cache', 'future', 'half-hour'];
    expect(ls(path.join(copy, 'tmp'))).toEqual(kept);
    expect(ls(path.join(repo, 'tmp'))).toEqual(kept);
  });

  it('temp files older versions of ours left in refs/ and the repo root expire too; fresh ones stay', () => {
    const { repo, tree } = repoWithTree();
    const stale = [
      'refs/heads/.atomic-4242-mx6gu7ql-1-abcdef',
      'refs/heads/sub/dir/.atomic-4242-mx6gu7ql-2-abcdef',
      'refs/remotes/origin/.atomic-4242-mx6gu7ql-3-abcdef',
      'refs/mirrors/org.example.Coll/.atomic-4242-mx6gu7ql-4-abcdef',
      '.atomic-4242-mx6gu7ql-5-abcdef',
    ];
    const fresh = ['refs/heads/.atomic-4242-mx6gu7ql-6-abcdef', '.atomic-4242-mx6gu7ql-7-abcdef'];
    // Not ours: a dot-file of another name, however old, stays.
    const foreign = ['refs/heads/.rsync_info', '.keep'];
    for (const f of stale) file(path.join(repo, f), -2 * DAY);
    for (const f of fresh) file(path.join(repo, f));
    for (const f of foreign) file(path.join(repo, f), -2 * DAY);
    ok(ours(['commit', `--repo=${repo}`, '-b', 'main', tree], { env: ENV }));
    for (const f of stale) expect(existsSync(path.join(repo, f)), f).toBe(false);
    for (const f of [...fresh, ...foreign]) expect(existsSync(path.join(repo, f)), f).toBe(true);
    expect(ok(ostree(['refs', `--repo=${repo}`]))).toBe('main');
    ok(ostree(['fsck', `--repo=${repo}`]));
  });

  it("staging dirs: a locked one and this boot's stay, another boot's unlocked one goes with its lock file (ostree agrees on the first and last)", async () => {
    const { repo, tree } = repoWithTree();
    const tmp = path.join(repo, 'tmp');
    file(path.join(tmp, 'staging-other-boot-abc123', 'xx', 'object'), -2 * DAY);
    file(path.join(tmp, 'staging-other-boot-locked', 'xx', 'object'));
    file(path.join(tmp, `staging-${BOOT}-mine00`, 'xx', 'object'));
    const copy = copyRepo(repo);
    const n = native();
    const held = [await n.lock_open(path.join(tmp, 'staging-other-boot-locked-lock')), await n.lock_open(path.join(copy, 'tmp', 'staging-other-boot-locked-lock'))];
    try {
      for (const h of held) expect(await n.lock_try(h, 'exclusive')).toBe(true);
      ok(ours(['commit', `--repo=${repo}`, '-b', 'main', tree], { env: ENV }));
      ok(ostree(['commit', `--repo=${copy}`, '-b', 'main', tree], { env: ENV }));
    } finally {
      for (const h of held) await n.lock_close(h);
    }
    // Both claim this boot's unlocked dir for their own transaction and delete it when done.
    expect(ls(path.join(copy, 'tmp'))).toEqual(['cache', 'staging-other-boot-locked', 'staging-other-boot-locked-lock']);
    expect(ls(tmp)).toEqual(ls(path.join(copy, 'tmp')));
  });

  it('a temp file of our native writers, its mtime zeroed while in flight, is aged by its ctime', () => {
    const { repo, tree } = repoWithTree();
    const inflight = file(path.join(repo, 'tmp', '.ostree-tmp-AbCdEfGhIjKl'));
    utimesSync(inflight, 0, 0);
    file(path.join(repo, 'tmp', '.obj-4242-mx6gu7ql-1-abcdef'), -2 * DAY);
    ok(ours(['commit', `--repo=${repo}`, '-b', 'main', tree], { env: ENV }));
    expect(ls(path.join(repo, 'tmp'))).toEqual(['.ostree-tmp-AbCdEfGhIjKl', 'cache']);
  });

  it('API: an aborted transaction cleans tmp/ too', async () => {
    const { repo } = repoWithTree();
    plantTmp(repo);
    const r = await Repo.open(repo);
    const tx = await Transaction.begin(r);
    await tx.abort();
    // As ostree's abort: the transaction's staging dir stays (unlocked, its lock file gone) for the next one to reuse.
    const left = ls(path.join(repo, 'tmp'));
    const staging = left.filter((n) => n.startsWith('staging-'));
    expect(staging).toHaveLength(1);
    expect(staging[0]).toMatch(/^staging-.+-[A-Za-z0-9]{6}$/);
    expect(left.filter((n) => !n.startsWith('staging-'))).toEqual(KEPT);
    // The next transaction reuses it and deletes it on commit.
    const tx2 = await Transaction.begin(r);
    await tx2.commit();
    expect(ls(path.join(repo, 'tmp')).filter((n) => n.startsWith('staging-'))).toEqual([]);
  });
});
