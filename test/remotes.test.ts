// Remotes: config layout and CLI output identical to ostree 2022.7.
import { describe, it, expect, afterAll } from 'vitest';
import { readFileSync, writeFileSync, mkdirSync, existsSync, readdirSync } from 'node:fs';
import * as path from 'node:path';
import { SKIP_INTEROP, tmpdir, cleanupTmp, ostree, ours, ok, makeTree, type RunResult } from './helpers/interop';
import { HAVE_GPG, makeTestKeys, revokeKey } from './helpers/gpgkeys';
import { Repo } from '../lib/repo/repo';
import { addRemote, deleteRemote, getRemote, listRemotes, remoteBool, remoteList, setRemotesConfigDir } from '../lib/remotes/remotes';
import { OstreeError } from '../lib/errors';

afterAll(() => cleanupTmp());

function same(a: RunResult, b: RunResult, what: string) {
  expect({ what, status: b.status, stdout: b.stdout, stderr: b.stderr }).toEqual({ what, status: a.status, stdout: a.stdout, stderr: a.stderr });
}

describe.skipIf(SKIP_INTEROP)('remote CLI vs ostree', () => {
  it('add/list/show-url/delete: same config bytes, output and errors', () => {
    const d = tmpdir();
    const theirs = path.join(d, 'theirs');
    const mine = path.join(d, 'mine');
    ok(ostree(['init', '--repo=' + theirs]));
    ok(ostree(['init', '--repo=' + mine]));
    const steps: string[][] = [
      ['remote', 'add', 'origin', 'http://example.com/repo', 'a', 'b', '--set=foo=bar', '--no-gpg-verify'],
      ['remote', 'add', 'm', 'metalink=http://m/x', '--contenturl=http://c', '--collection-id=org.x.Y', '--custom-backend=foo', '--set=z=1', '--set=gpg-verify=true', '--no-gpg-verify', 'b1'],
      ['remote', 'add', 'mirror', 'mirrorlist=http://example.com/list', '--no-sign-verify'],
      ['remote', 'add', 'local', 'file:///srv/repo', '--set=gpg-verify-summary=true', '--set=branches=x;y;'],
      ['remote', 'add', 'origin', 'http://x'],
      ['remote', 'add', '--if-not-exists', 'origin', 'http://x'],
      ['remote', 'add', 'bad/name', 'http://x'],
      ['remote', 'add', 'onlyname'],
      ['remote', 'add', '--collection-id=nodots', 'c', 'http://x'],
      ['remote', 'list'],
      ['remote', 'list', '-u'],
      ['remote', 'show-url', 'origin'],
      ['remote', 'show-url', 'm'],
      ['remote', 'show-url', 'nope'],
      ['remote', 'delete', 'nope'],
      ['remote', 'delete', '--if-exists', 'nope'],
      ['remote', 'delete', 'mirror'],
      ['remote', 'add', '--force', 'origin', 'http://new'],
      ['remote', 'list', '-u'],
      ['remote', 'delete', 'm'],
      ['remote', 'list', '-u'],
    ];
    for (const s of steps) {
      const a = ostree(['--repo=' + theirs, ...s]);
      const b = ours(['--repo=' + mine, ...s]);
      // Usage errors print help; compare the error line and status only.
      if (s.length === 3 && s[1] === 'add') {
        expect(b.status).toBe(a.status);
        continue;
      }
      same(a, b, s.join(' '));
      expect(readFileSync(path.join(mine, 'config'), 'utf8')).toBe(readFileSync(path.join(theirs, 'config'), 'utf8'));
    }
  });

  it('library view of remotes: options, booleans, lists, not-found code', async () => {
    const d = tmpdir();
    const p = path.join(d, 'r');
    ok(ostree(['init', '--repo=' + p]));
    ok(ostree(['--repo=' + p, 'remote', 'add', 'o', 'http://h/', 'b1', 'b2', '--no-gpg-verify', '--set=tls-permissive=1']));
    const repo = await Repo.open(p);
    const r = await getRemote(repo, 'o');
    expect(r.url).toBe('http://h/');
    expect(r.source).toBe(path.join(repo.path, 'config'));
    expect(remoteBool(r, 'gpg-verify', true)).toBe(false);
    expect(remoteBool(r, 'tls-permissive', false)).toBe(true);
    expect(remoteBool(r, 'gpg-verify-summary', false)).toBe(false);
    expect(remoteList(r, 'branches')).toEqual(['b1', 'b2']);
    expect(await listRemotes(repo)).toEqual(['o']);
    await expect(getRemote(repo, 'zz')).rejects.toMatchObject({ code: 'OSTREE_REMOTE_NOT_FOUND' });
    await expect(deleteRemote(repo, 'zz')).rejects.toBeInstanceOf(OstreeError);
    await expect(addRemote(repo, 'o', 'http://x')).rejects.toMatchObject({ code: 'OSTREE_EXISTS' });
  });

  it('remotes.d: reads *.conf, adds NAME.conf, deletes the file; duplicates are an error', async () => {
    const d = tmpdir();
    const p = path.join(d, 'r');
    const confd = path.join(d, 'remotes.d');
    mkdirSync(confd);
    ok(ostree(['init', '--repo=' + p]));
    writeFileSync(path.join(confd, 'zz.conf'), '[remote "zz"]\nurl=http://zz\n');
    writeFileSync(path.join(confd, 'ignored.txt'), '[remote "no"]\nurl=http://no\n');
    const repo = await Repo.open(p);
    setRemotesConfigDir(repo, confd);
    expect(await listRemotes(repo)).toEqual(['zz']);
    expect((await getRemote(repo, 'zz')).source).toBe(path.join(confd, 'zz.conf'));
    await addRemote(repo, 'aa', 'http://aa', { set: { x: 'y' } });
    expect(readFileSync(path.join(confd, 'aa.conf'), 'utf8')).toBe('[remote "aa"]\nurl=http://aa\nx=y\n');
    expect(readFileSync(path.join(p, 'config'), 'utf8')).not.toContain('remote');
    await expect(addRemote(repo, 'aa', 'http://aa')).rejects.toThrow(`already exists: ${path.join(confd, 'aa.conf')}`);
    await deleteRemote(repo, 'aa');
    expect(existsSync(path.join(confd, 'aa.conf'))).toBe(false);
    // core.add-remotes-config-dir=false writes into the repo config instead.
    ok(ostree(['--repo=' + p, 'config', 'set', 'core.add-remotes-config-dir', 'false']));
    await repo.reloadConfig();
    await addRemote(repo, 'bb', 'http://bb');
    expect(readFileSync(path.join(p, 'config'), 'utf8')).toContain('[remote "bb"]');
    writeFileSync(path.join(confd, 'dup.conf'), '[remote "bb"]\nurl=http://other\n');
    await expect(listRemotes(repo)).rejects.toThrow('Multiple specifications found for remote "bb"');
  });

  it('remote refs and remote summary over file:// match ostree', () => {
    const d = tmpdir();
    const src = path.join(d, 'src');
    const cli = path.join(d, 'cli');
    const tree = path.join(d, 'tree');
    makeTree(tree);
    ok(ostree(['init', '--repo=' + src, '--mode=archive']));
    ok(ostree(['--repo=' + src, 'commit', '-b', 'main', '--tree=dir=' + tree, '--add-metadata-string=version=1.0']));
    ok(ostree(['--repo=' + src, 'commit', '-b', 'other/branch', '--tree=dir=' + tree]));
    ok(ostree(['init', '--repo=' + cli]));
    ok(ostree(['--repo=' + cli, 'remote', 'add', '--no-gpg-verify', 'src', 'file://' + src]));
    same(ostree(['--repo=' + cli, 'remote', 'refs', 'src']), ours(['--repo=' + cli, 'remote', 'refs', 'src']), 'refs without summary');
    same(ostree(['--repo=' + cli, 'remote', 'summary', 'src']), ours(['--repo=' + cli, 'remote', 'summary', 'src']), 'summary without summary');
    ok(ostree(['--repo=' + src, 'summary', '-u']));
    for (const args of [['refs', 'src'], ['summary', 'src'], ['summary', '--raw', 'src']]) {
      same(ostree(['--repo=' + cli, 'remote', ...args]), ours(['--repo=' + cli, 'remote', ...args]), args.join(' '));
    }
  });
});

describe.skipIf(SKIP_INTEROP || (!HAVE_GPG && !process.env.CI))('remote GPG keyrings vs ostree', () => {
  it('add --gpg-import, gpg-import, gpg-list-keys, delete removes the keyring', () => {
    const keys = makeTestKeys();
    try {
      const d = tmpdir();
      const theirs = path.join(d, 'theirs');
      const mine = path.join(d, 'mine');
      ok(ostree(['init', '--repo=' + theirs]));
      ok(ostree(['init', '--repo=' + mine]));
      const steps: string[][] = [
        ['remote', 'add', `--gpg-import=${keys.good.pub}`, 'k', 'http://k'],
        ['remote', 'gpg-list-keys', 'k'],
        ['remote', 'gpg-import', 'k', '-k', keys.other.asc],
        ['remote', 'gpg-import', 'k', '-k', keys.other.asc],
        ['remote', 'gpg-import', 'k', `--keyring=${keys.expired.pub}`],
        ['remote', 'gpg-import', 'k', `--keyring=${keys.revoked.asc}`],
        ['remote', 'gpg-list-keys', 'k'],
        ['remote', 'gpg-list-keys', 'nope'],
      ];
      for (const s of steps) same(ostree(['--repo=' + theirs, ...s]), ours(['--repo=' + mine, ...s]), s.join(' '));
      // A revoked key: its user IDs and subkeys are listed as revoked too (as gpgme has them).
      const revokedCopy = revokeKey(keys);
      for (const s of [['remote', 'gpg-import', 'k', `--keyring=${revokedCopy}`], ['remote', 'gpg-list-keys', 'k']]) {
        same(ostree(['--repo=' + theirs, ...s]), ours(['--repo=' + mine, ...s]), s.join(' '));
      }
      expect(ok(ours(['--repo=' + mine, 'remote', 'gpg-list-keys', 'k']))).toContain('  UID: Revoked Key <revoked@example.com> (revoked)');
      // --stdin
      const stdinArgs = ['remote', 'gpg-import', '--stdin', 'k'];
      const a = ostreeStdin(['--repo=' + theirs, ...stdinArgs], readFileSync(keys.good.asc));
      const b = oursStdin(['--repo=' + mine, ...stdinArgs], readFileSync(keys.good.asc));
      expect(b).toEqual(a);
      expect(existsSync(path.join(mine, 'k.trustedkeys.gpg'))).toBe(true);
      same(ostree(['--repo=' + theirs, 'remote', 'delete', 'k']), ours(['--repo=' + mine, 'remote', 'delete', 'k']), 'delete');
      expect(readdirSync(mine).filter((n) => n.endsWith('.gpg'))).toEqual(readdirSync(theirs).filter((n) => n.endsWith('.gpg')));
      expect(existsSync(path.join(mine, 'k.trustedkeys.gpg'))).toBe(false);
    } finally {
      keys.kill();
    }
  }, 120_000);
});

import { spawnSync } from 'node:child_process';
import { CLI } from './helpers/interop';
function ostreeStdin(args: string[], input: Buffer) {
  const r = spawnSync('ostree', args, { input });
  return { status: r.status, stdout: r.stdout.toString() };
}
function oursStdin(args: string[], input: Buffer) {
  const r = spawnSync(process.execPath, [CLI, ...args], { input });
  return { status: r.status, stdout: r.stdout.toString() };
}
