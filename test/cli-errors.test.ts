// CLI compatibility for mistakes: the same exit status and `error:` line as
// ostree (and the help text first where ostree prints it).
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { SKIP_INTEROP, tmpdir, cleanupTmp, ostree, ours, ok, makeTree, CLI } from './helpers/interop';

afterAll(cleanupTmp);

describe.skipIf(SKIP_INTEROP)('errors and usage match ostree', () => {
  let d: string;
  beforeAll(() => {
    d = tmpdir();
    makeTree(`${d}/t`, 1);
    ok(ostree(['init', `--repo=${d}/r`, '--mode=archive']));
    ok(ostree(['commit', `--repo=${d}/r`, '-b', 'main', '--timestamp=@1', `${d}/t`]));
    require('node:fs').mkdirSync(`${d}/special`);
    expect(require('node:child_process').spawnSync('mkfifo', [`${d}/special/fifo`]).status).toBe(0);
  });
  const cases: string[][] = [
    ['checkout'],
    ['config'],
    ['config', 'get'],
    ['config', 'set', 'core.x'],
    ['config', 'bogus'],
    ['config', 'get', 'core.nosuch'],
    ['config', 'get', 'nosuch.key'],
    ['config', 'get', '--group=core', 'mode', 'extra'],
    ['config', 'set', 'core.x', '1', 'extra'],
    ['config', 'unset', 'core.x', 'extra'],
    ['config', 'bogus', 'a', 'b'],
    ['config', 'get', '--group=core'],
    ['config', 'set', '--group=core', 'x'],
    ['reset'],
    ['reset', 'main'],
    ['reset', 'main', 'nosuch'],
    ['commit', 'TREE'],
    ['commit', '-b', 'x', '--tree=foo=bar'],
    ['commit', '-b', 'x', '--add-metadata-string=novalue', 'TREE'],
    ['refs', '--delete'],
    ['refs', '--create=x', 'a', 'b'],
    ['refs', '--create=main', 'main'],
    ['refs', '--create=new'],
    ['init', '--mode=bogus'],
    ['rev-parse'],
    ['rev-parse', '-S', 'a'],
    ['rev-parse', 'nosuch'],
    ['rev-parse', 'main^'],
    ['checkout', '-H', '-C', 'main', 'x'],
    ['show', 'nosuch'],
    ['log', 'nosuch'],
    ['ls', 'main', '/nosuch'],
    ['cat', 'main', '/nosuch'],
    ['rev-parse', '--bogus-option', 'main'],
    // GLib names the whole argument of an unknown option, and ignores a value given to a flag.
    ['rev-parse', '--bogus-option=1', 'main'],
    ['refs', '-xl'],
    ['refs', '--list=0'],
    ['pull-local', '--gpg-verify=false', 'TREE', 'main'],
    ['commit', '--owner-uid=abc', '-b', 'x', 'TREE'],
    ['commit', '-b', 'x', 'SPECIAL'],
  ];
  for (const c of cases) {
    it(c.join(' '), () => {
      const args = c.map((a) => a.replace('TREE', `${d}/t`).replace('SPECIAL', `${d}/special`));
      const a = ostree([`--repo=${d}/r`, ...args]);
      const b = ours([`--repo=${d}/r`, ...args]);
      expect(b.status).toBe(a.status);
      const lastErr = (s: string) => s.trim().split('\n').filter((l) => l.startsWith('error:')).pop();
      expect(lastErr(b.stderr)).toBe(lastErr(a.stderr));
      expect(b.stderr.includes('Usage:')).toBe(a.stderr.includes('Usage:'));
    });
  }
  it('--help of every command has ostree\'s layout for the options we share', () => {
    for (const cmd of ['rev-parse', 'refs', 'reset', 'config', 'init']) {
      const a = ok(ostree([cmd, '--help']));
      // Our own extensions (--json) are listed too: leave them out of the comparison.
      const b = ok(ours([cmd, '--help'])).split('\n').filter((l) => !l.startsWith('  --json ')).join('\n');
      expect(b, cmd).toBe(a);
    }
  });
  it('SOURCE_DATE_EPOCH is read as ostree reads it (strtoll), with its errors', () => {
    for (const v of ['1234567890', ' 12', '12abc', '-5', '0x10', 'invalid', '', '12345678901234567890']) {
      const args = [`--repo=${d}/r`, 'commit', '--orphan', '-s', 'sde', `${d}/t`];
      const a = ostree(args, { env: { SOURCE_DATE_EPOCH: v } });
      const b = ours(args, { env: { SOURCE_DATE_EPOCH: v } });
      expect([b.status, b.stdout, b.stderr], v).toEqual([a.status, a.stdout, a.stderr]);
    }
  });
  it('checkout -H in every repo mode (bare-user-only always user mode) and rev-parse -S, as ostree', () => {
    const { statSync } = require('node:fs') as typeof import('node:fs');
    for (const mode of ['bare-user', 'bare-user-only', 'archive', ...(process.getuid?.() === 0 ? ['bare'] : [])]) {
      const repo = `${d}/h-${mode}`;
      ok(ostree(['init', `--repo=${repo}`, `--mode=${mode}`]));
      ok(ostree(['commit', `--repo=${repo}`, '-b', 'x', `${d}/t`]));
      for (const u of [[], ['-U']]) {
        const a = ostree(['checkout', `--repo=${repo}`, '-H', ...u, 'x', `${repo}-co-a${u.length}`]);
        const b = ours(['checkout', `--repo=${repo}`, '-H', ...u, 'x', `${repo}-co-b${u.length}`]);
        expect([b.status, b.stderr], `${mode} ${u}`).toEqual([a.status, a.stderr]);
        if (a.status === 0) expect(statSync(`${repo}-co-b${u.length}/run.sh`).nlink, `${mode} ${u}`).toBeGreaterThan(1);
      }
      if (mode === 'bare-user') {
        ok(ostree(['commit', `--repo=${repo}`, '-b', 'x', '-s', 'again', `${d}/t`]));
        const a = ostree(['rev-parse', `--repo=${repo}`, '-S']);
        const b = ours(['rev-parse', `--repo=${repo}`, '-S']);
        expect([b.status, b.stderr]).toEqual([a.status, a.stderr]);
      }
    }
  });
  it('commit refuses a file name that is not UTF-8, as ostree', () => {
    const fs = require('node:fs') as typeof import('node:fs');
    fs.mkdirSync(`${d}/badutf8`);
    fs.writeFileSync(Buffer.concat([Buffer.from(`${d}/badutf8/`), Buffer.from([0x80])]), 'x');
    const args = [`--repo=${d}/r`, 'commit', '-b', 'badutf8', `--tree=dir=${d}/badutf8`];
    const a = ostree(args);
    const b = ours(args);
    expect(b.status).toBe(a.status);
    expect(a.stderr).toContain('error: Invalid UTF-8 in filename ');
    expect(b.stderr).toContain('error: Invalid UTF-8 in filename ');
  });
  it('refs without refs/remotes fails as ostree ("Listing refs: opendir(refs/remotes): ...")', () => {
    const fs = require('node:fs') as typeof import('node:fs');
    const repo = `${d}/norem`;
    ok(ostree(['init', `--repo=${repo}`, '--mode=archive']));
    fs.rmdirSync(`${repo}/refs/remotes`);
    for (const args of [['refs'], ['refs', '--list']]) {
      const a = ostree([`--repo=${repo}`, ...args]);
      const b = ours([`--repo=${repo}`, ...args]);
      expect([b.status, b.stderr]).toEqual([a.status, a.stderr]);
    }
  });
  it('a ref found only under a remote resolves as in ostree (refs/remotes/*/REF), and `| head` ends quietly', () => {
    const repo = `${d}/remoteonly`;
    ok(ostree(['init', `--repo=${repo}`, '--mode=archive']));
    const c = ok(ostree(['commit', `--repo=${repo}`, '--orphan', `${d}/t`]));
    ok(ostree(['refs', `--repo=${repo}`, `--create=origin:remoteonly/main`, c]));
    for (const rev of ['remoteonly/main', 'origin/remoteonly/main', 'nosuch']) {
      const a = ostree(['rev-parse', `--repo=${repo}`, rev]);
      const b = ours(['rev-parse', `--repo=${repo}`, rev]);
      expect([b.status, b.stdout, b.stderr], rev).toEqual([a.status, a.stdout, a.stderr]);
    }
    const r = require('node:child_process').spawnSync('bash', ['-c', `"${process.execPath}" "${CLI}" --repo=${repo} show remoteonly/main | head -1`]);
    expect(r.stderr.toString()).toBe('');
    expect(r.stdout.toString()).toBe(`commit ${c}\n`);
  });
  it('rev-parse of partial checksums (which win over refs) and ambiguity, as ostree', () => {
    // Several commits so that some one-digit prefixes are ambiguous, some unique, some absent.
    for (let i = 2; i < 12; i++) ok(ostree(['commit', `--repo=${d}/r`, '-b', i % 2 ? 'main' : 'a', `--timestamp=@${i}`, `${d}/t`]));
    for (const p of [...'0123456789abcdefA', 'main', 'a']) {
      const a = ostree(['rev-parse', `--repo=${d}/r`, p]);
      const b = ours(['rev-parse', `--repo=${d}/r`, p]);
      expect(b.status, p).toBe(a.status);
      expect(b.stdout, p).toBe(a.stdout);
      expect(b.stderr.trim().split('\n').pop(), p).toBe(a.stderr.trim().split('\n').pop());
    }
  });
  it('without --repo: the current directory, then OSTREE_REPO, then the sysroot repo', () => {
    const expected = ok(ostree(['rev-parse', 'main'], { cwd: `${d}/r` }));
    expect(ok(ours(['rev-parse', 'main'], { cwd: `${d}/r` }))).toBe(expected);
    const sysroot = tmpdir();
    require('node:fs').mkdirSync(`${sysroot}/ostree`);
    require('node:child_process').spawnSync('cp', ['-a', `${d}/r`, `${sysroot}/ostree/repo`]);
    expect(ok(ours(['rev-parse', 'main'], { cwd: sysroot, env: { OSTREE_SYSROOT: sysroot } }))).toBe(expected);
    const none = ours(['rev-parse', 'main'], { cwd: sysroot, env: { OSTREE_SYSROOT: `${sysroot}/nope` } });
    const theirs = ostree(['rev-parse', 'main'], { cwd: sysroot, env: { OSTREE_SYSROOT: `${sysroot}/nope` } });
    expect(none.status).toBe(theirs.status);
    expect(none.stderr.trim().split('\n').pop()).toBe(theirs.stderr.trim().split('\n').pop());
  });
  it('OSTREE_REPO is honoured', () => {
    expect(ok(ours(['rev-parse', 'main'], { env: { OSTREE_REPO: `${d}/r` } }))).toBe(ok(ostree(['rev-parse', 'main'], { env: { OSTREE_REPO: `${d}/r` } })));
  });
  it('an unknown command is refused like ostree', () => {
    const a = ostree(['bogus-command']);
    const b = ours(['bogus-command']);
    expect(b.status).toBe(a.status);
    expect(b.stderr.trim().split('\n').pop()).toBe(a.stderr.trim().split('\n').pop());
  });
  it('options are also accepted before the command (a superset of ostree)', () => {
    const expected = ok(ostree(['rev-parse', `--repo=${d}/r`, 'main']));
    expect(ok(ours([`--repo=${d}/r`, 'rev-parse', 'main']))).toBe(expected);
    expect(ok(ours(['--repo', `${d}/r`, 'rev-parse', 'main']))).toBe(expected);
  });
});
