// Read-side builtins (log, show, ls, cat, checksum, diff): our CLI's stdout,
// stderr and exit status must equal the real `ostree`'s, byte for byte, on
// repositories written by `ostree` itself.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { spawnSync } from 'node:child_process';
import { cpSync, rmSync, writeFileSync, mkdirSync, chmodSync, symlinkSync, unlinkSync } from 'node:fs';
import * as path from 'node:path';
import { SKIP_INTEROP, tmpdir, cleanupTmp, ostree, ours, ok, makeTree, RunResult } from './helpers/interop';
import { formatSize } from '../lib/read/dump';

afterAll(cleanupTmp);

function expectSame(theirs: RunResult, mine: RunResult): void {
  expect(mine.stderr).toBe(theirs.stderr);
  expect(mine.stdout).toBe(theirs.stdout);
  expect(mine.stdoutBuf.equals(theirs.stdoutBuf)).toBe(true);
  expect(mine.status).toBe(theirs.status);
}

/** Run `args` with both CLIs (in `cwd`) and compare everything they print. */
function same(args: string[], cwd: string): RunResult {
  const theirs = ostree(args, { cwd });
  const mine = ours(args, { cwd });
  expectSame(theirs, mine);
  return theirs;
}

const MODES = ['archive', 'bare-user'] as const;

describe.skipIf(SKIP_INTEROP)('read builtins match ostree byte-for-byte', () => {
  const d = SKIP_INTEROP ? '' : tmpdir('node-ostree-read-');
  const ids: Record<string, { c1: string; c2: string; c3: string; file: string; link: string; dirmeta: string; dirtree: string }> = {};

  beforeAll(() => {
    const t1 = path.join(d, 'tree1');
    const t2 = path.join(d, 'tree2');
    const t3 = path.join(d, 'tree3');
    makeTree(t1, 1);
    makeTree(t2, 2);
    // tree3: a type change (file -> dir), a removed dir, a changed mode and a
    // changed symlink target relative to tree2.
    cpSync(t2, t3, { recursive: true, verbatimSymlinks: true });
    unlinkSync(path.join(t3, 'link'));
    mkdirSync(path.join(t3, 'link'));
    writeFileSync(path.join(t3, 'link', 'inside'), 'now a directory\n');
    rmSync(path.join(t3, 'sub', 'deeper'), { recursive: true });
    chmodSync(path.join(t3, 'run.sh'), 0o700);
    unlinkSync(path.join(t3, 'dangling'));
    symlinkSync('sub/../hello.txt', path.join(t3, 'dangling'));
    // A body without a trailing newline and an embedded blank line.
    for (const mode of MODES) {
      const r = path.join(d, mode);
      ok(ostree(['init', `--repo=${r}`, `--mode=${mode}`]));
      const c1 = ok(
        ostree([
          'commit', `--repo=${r}`, '-b', 'main', '--tree=dir=' + t1, '--timestamp=@1600000000',
          '-s', 'Test subject', '-m', 'Body line 1\n\nBody line 3', '--add-metadata-string=version=1.0',
          '--add-metadata-string=extra=x y', '--add-detached-metadata-string=example.detached=hello',
        ]),
      );
      const c2 = ok(
        ostree([
          'commit', `--repo=${r}`, '-b', 'main', '--tree=dir=' + t2, '--timestamp=@1600086400',
          '-s', 'Second commit', '--add-metadata-string=version=2.0', '--generate-sizes',
        ]),
      );
      // No subject, no body, no version; related-less; a different ref.
      const c3 = ok(ostree(['commit', `--repo=${r}`, '-b', 'other', '--tree=dir=' + t3, '--timestamp=@0', '-s', '']));
      const lsLine = (p: string) => ok(ostree(['ls', `--repo=${r}`, '-C', '-d', 'main', p])).split(/\s+/);
      ids[mode] = {
        c1, c2, c3,
        file: lsLine('/sub/xattr.txt')[4],
        link: lsLine('/link')[4],
        dirtree: lsLine('/sub')[4],
        dirmeta: lsLine('/sub')[5],
      };
    }
    // A repository whose history is cut short: the parent commit is missing.
    cpSync(path.join(d, 'archive'), path.join(d, 'partial'), { recursive: true, verbatimSymlinks: true });
    const p = ids.archive.c1;
    rmSync(path.join(d, 'partial', 'objects', p.slice(0, 2), `${p.slice(2)}.commit`));
  });

  for (const mode of MODES) {
    describe(mode, () => {
      const repo = () => `--repo=${path.join(d, mode)}`;
      const run = (...args: string[]) => same([repo(), ...args], d);

      it('log (plain, --raw, from a checksum, from REV^)', () => {
        expect(run('log', 'main').stdout).toContain('Second commit');
        run('log', '--raw', 'main');
        run('log', ids[mode].c1);
        run('log', 'main^');
        run('log', 'other');
      });

      it('show of commits and metadata keys', () => {
        run('show', 'main');
        run('show', 'main^');
        run('show', 'other');
        run('show', '--raw', 'main');
        run('show', '-B', 'main');
        expect(run('show', '--print-metadata-key=version', 'main').stdout).toBe("'2.0'\n");
        run('show', '--print-metadata-key=extra', 'main^');
        run('show', '--print-metadata-key=ostree.ref-binding', 'main');
        run('show', '--print-metadata-key=ostree.sizes', 'main');
        run('show', '--print-metadata-key=ostree.sizes', '--no-byteswap', 'main');
        run('show', '--print-detached-metadata-key=example.detached', 'main^');
        run('show', '--print-related', 'main');
        run('show', '--print-sizes', 'main');
      });

      it('show of dirtree, dirmeta and content objects', () => {
        const { file, link, dirmeta, dirtree } = ids[mode];
        for (const o of [file, link, dirmeta, dirtree]) {
          run('show', o);
          run('show', '--raw', o);
        }
      });

      it('ls with -R -X -C -d, paths and NUL output', () => {
        const out = run('ls', '-R', '-X', '-C', 'main').stdout;
        expect(out).toContain("b'user.test'");
        expect(out).toContain('-> /nonexistent/target');
        run('ls', 'main');
        run('ls', '-R', 'other');
        run('ls', '-C', 'main', '/sub', 'link', '/private/secret');
        run('ls', '-d', 'main', 'sub', '/emptydir');
        run('ls', '-X', 'main', '/sub/xattr.txt');
        run('ls', '-R', 'main', '/sub');
        run('ls', '--nul-filenames-only', '-R', 'main');
      });

      it('cat is binary-safe and follows symlinks inside the tree', () => {
        const r = run('cat', 'main', '/big.bin', 'hello.txt', 'link', 'empty', '/private/secret');
        expect(r.stdoutBuf.length).toBeGreaterThan(300 * 1024);
        run('cat', 'other', 'dangling');
      });

      it('diff of two commits, commit vs directory, --stats, options', () => {
        expect(run('diff', 'main^', 'main').stdout).toMatch(/^M {4}\/hello\.txt$/m);
        run('diff', 'main');
        run('diff', 'main', 'other');
        run('diff', 'other', 'main');
        run('diff', 'main', './tree3');
        run('diff', './tree1', 'main');
        run('diff', './tree1', './tree3');
        run('diff', path.join(d, 'tree3'), 'main^');
        run('diff', '--no-xattrs', 'main', './tree3');
        run('diff', '--owner-uid=0', '--owner-gid=0', 'main', './tree2');
        run('diff', '--owner-uid=1234', 'main', './tree2');
        run('diff', '--stats', 'main^', 'main');
        run('diff', '--stats', '--fs-diff', 'main', 'other');
      });

      it('errors: same message and exit status', () => {
        run('log', 'nosuchref');
        run('show', 'nosuchref');
        run('show', '0'.repeat(64));
        run('show', '--print-metadata-key=nope', 'main');
        run('show', '--print-detached-metadata-key=nope', 'main^');
        run('show', '--print-detached-metadata-key=x', 'main');
        run('show', '--print-sizes', 'main^');
        run('ls', 'nosuchref');
        run('ls', 'main', 'nope');
        run('ls', 'main', 'sub/', 'sub//file');
        run('ls', 'main', '/hello.txt/x');
        run('cat', 'main', 'nope');
        run('cat', 'main', 'sub');
        run('cat', 'main', 'dangling');
        run('diff', 'main', 'nosuchref');
        // Usage errors print the help text first.
        run('log');
        run('show');
        run('ls');
        run('cat', 'main');
        run('diff');
      });
    });
  }

  it('log stops at a missing parent', () => {
    const r = same([`--repo=${path.join(d, 'partial')}`, 'log', 'main'], d);
    expect(r.stdout).toContain('<< History beyond this commit not fetched >>');
    same([`--repo=${path.join(d, 'partial')}`, 'log', '--raw', 'main'], d);
  });

  it('checksum of files, symlinks and directories', () => {
    for (const p of ['tree1/hello.txt', 'tree1/empty', 'tree1/run.sh', 'tree1/link', 'tree1/dangling', 'tree1/sub/xattr.txt', 'tree1', 'tree1/private', 'tree1/sub']) {
      same(['checksum', p], d);
      same(['checksum', '--ignore-xattrs', p], d);
    }
    same(['checksum', 'tree1/hello.txt', 'tree1/empty'], d);
    same(['checksum', 'nonexistent'], d);
    same(['checksum', '--ignore-xattrs', 'nonexistent'], d);
    same(['checksum'], d);
  });
});

describe('formatSize (g_format_size)', () => {
  it('rounds like printf("%.1f") and uses SI units', () => {
    const sizes = [0, 1, 2, 999, 1000, 1049, 1050, 1149, 1150, 1250, 1350, 999_949, 999_950, 1_000_000, 1_250_000, 123_456_789, 2 ** 40 + 17];
    // Python's %-formatting of a double rounds exactly as glibc's printf does.
    const py = spawnSync('python3', ['-c', `
import sys
for n in map(int, sys.argv[1:]):
    if n < 1000:
        print("%d %s" % (n, "byte" if n == 1 else "bytes"))
        continue
    units = ["kB", "MB", "GB", "TB", "PB", "EB"]
    f, i = 1000, 0
    while i < 5 and n >= f * 1000:
        f, i = f * 1000, i + 1
    print("%.1f\\u00a0%s" % (n / f, units[i]))
`, ...sizes.map(String)], { env: { ...process.env, PYTHONIOENCODING: 'utf-8' } });
    if (py.status !== 0) return; // no python3: nothing to compare against
    const expected = py.stdout.toString().trim().split('\n');
    expect(sizes.map((n) => formatSize(n))).toEqual(expected);
  });
});
