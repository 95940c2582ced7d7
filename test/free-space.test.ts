// The free-space reserve (core.min-free-space-*) on a small tmpfs holding the
// repo, against the real ostree on the same setup: every content object is
// charged the whole filesystem blocks it takes (ostree: size / f_bsize + 1),
// so a commit of many small files stops at the reserve with ostree's message
// instead of filling the filesystem; a genuine ENOSPC names the repo, not the
// source file; nothing half-written is visible and a retry after freeing
// space completes.
import { describe, it, expect, afterAll } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync, rmSync, readdirSync, statfsSync } from 'node:fs';
import * as path from 'node:path';
import { SKIP_INTEROP, IS_ROOT, tmpdir, cleanupTmp, ostree, ours, ok, RunResult } from './helpers/interop';
import { formatSize } from '../lib/format-size';
import { serveRepo } from '../lib/httpd';
import { ostreeA, oursA } from './helpers/pull';

const base = tmpdir('node-ostree-space-');
const mnt = path.join(base, 'mnt');
mkdirSync(mnt);

/** Why the tmpfs is not there (null: mounted). */
const mountFailure = ((): string | null => {
  if (!IS_ROOT) return 'mounting a tmpfs needs root';
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=4m', 'tmpfs', mnt]);
  return r.status === 0 ? null : `mount -t tmpfs failed: ${r.stderr.toString().trim()}`;
})();

afterAll(() => {
  if (mountFailure === null) spawnSync('umount', [mnt]);
  cleanupTmp();
});

/** Source trees (outside the tmpfs): one small file, and many distinct 100-byte files. */
const src = path.join(base, 'src');
const small = path.join(src, 'small');
const many = path.join(src, 'many');
const MANY = 600;
mkdirSync(small, { recursive: true });
writeFileSync(path.join(small, 'hello'), 'hello\n');
mkdirSync(many, { recursive: true });
for (let i = 0; i < MANY; i++) writeFileSync(path.join(many, `f${String(i).padStart(4, '0')}`), `${String(i).padStart(5, '0')}`.repeat(20));

type Run = (args: string[]) => RunResult;
type RunA = (args: string[]) => Promise<RunResult>;

/**
 * A fresh bare repo alone on the tmpfs with one commit on main, then a
 * ballast file taking half the filesystem: what is left is less than the
 * many-file tree takes (one block per file), the whole filesystem is more.
 */
function setup(run: Run, percent?: string, mode = 'bare'): { repo: string; c0: string; ballast: string } {
  for (const n of readdirSync(mnt)) rmSync(path.join(mnt, n), { recursive: true, force: true });
  const repo = path.join(mnt, 'repo');
  ok(run(['init', `--repo=${repo}`, `--mode=${mode}`]), 'init');
  if (percent !== undefined) ok(run(['config', `--repo=${repo}`, 'set', 'core.min-free-space-percent', percent]), 'config set');
  const c0 = ok(run(['commit', `--repo=${repo}`, '-b', 'main', '-s', 'small', `--tree=dir=${small}`]), 'commit small');
  const st = statfsSync(mnt);
  const ballast = path.join(mnt, 'ballast');
  writeFileSync(ballast, Buffer.alloc((st.blocks / 2) * st.bsize, 1));
  return { repo, c0, ballast };
}

/** ostree's reserve for min-free-space-percent on this filesystem, in blocks. */
function reserveBlocks(percent: number): number {
  const st = statfsSync(mnt);
  return Math.floor(Math.floor(st.blocks * st.bsize * (percent / 100)) / st.bsize);
}

/** The repo is consistent: main still at `c0` (if given), our fsck and ostree's pass. */
function expectClean(repo: string, c0?: string): void {
  if (c0) expect(ok(ours(['rev-parse', `--repo=${repo}`, 'main']))).toBe(c0);
  expect(ours(['fsck', `--repo=${repo}`]).status).toBe(0);
  expect(ostree(['fsck', `--repo=${repo}`]).status).toBe(0);
}

/** An archive repo (outside the tmpfs) with the many-file tree on branch `many`, made by ostree once. */
let remote: string | null = null;
function remoteRepo(): string {
  if (remote) return remote;
  const repo = path.join(base, 'srv');
  ok(ostree(['init', `--repo=${repo}`, '--mode=archive']));
  ok(ostree(['commit', `--repo=${repo}`, '-b', 'many', '-s', 'many', `--tree=dir=${many}`]));
  return (remote = repo);
}

const commitMany = (run: Run, repo: string) => run(['commit', `--repo=${repo}`, '-b', 'main', '-s', 'many', `--tree=dir=${many}`]);

describe.skipIf(mountFailure !== null || SKIP_INTEROP)(`free-space reserve on a 4 MB tmpfs${mountFailure ? ` (skipped: ${mountFailure})` : ''}`, () => {
  it('a commit of many small files stops at min-free-space-percent with ostree message and exit code; a retry after freeing space completes', () => {
    const results: Record<string, RunResult> = {};
    for (const [name, run] of [['ostree', ostree], ['ours', ours]] as Array<[string, Run]>) {
      const { repo, c0, ballast } = setup(run);
      const r = commitMany(run, repo);
      results[name] = r;
      // Stopped at the reserve: the filesystem keeps it, nothing is visible.
      expect(r.status, `${name}: ${r.stderr}`).toBe(1);
      expect(statfsSync(mnt).bfree).toBeGreaterThanOrEqual(reserveBlocks(3));
      expectClean(repo, c0);
      // Freed space: the same commit goes through.
      rmSync(ballast);
      const c1 = ok(commitMany(run, repo), `${name} retry`);
      expect(c1).not.toBe(c0);
      expectClean(repo, c1);
    }
    // A 100-byte file takes one whole block.
    const bsize = statfsSync(mnt).bsize;
    expect(results.ours.stderr).toBe(`error: Writing content object: min-free-space-percent '3%' would be exceeded, at least ${formatSize(bsize)} requested\n`);
    expect(results.ours.stderr).toBe(results.ostree.stderr);
    expect(results.ours.status).toBe(results.ostree.status);
  });

  it('a genuine ENOSPC (min-free-space-percent=0) names the repo, not the source file, and leaves the repo clean', () => {
    const results: Record<string, RunResult> = {};
    for (const [name, run] of [['ostree', ostree], ['ours', ours]] as Array<[string, Run]>) {
      const { repo, c0, ballast } = setup(run, '0');
      const r = commitMany(run, repo);
      results[name] = r;
      expect(r.status, `${name}: ${r.stderr}`).toBe(1);
      expect(r.stderr).toMatch(/^error: Writing content object: .*(No space left on device|ENOSPC)/);
      expectClean(repo, c0);
      rmSync(ballast);
      const c1 = ok(commitMany(run, repo), `${name} retry`);
      expectClean(repo, c1);
    }
    expect(results.ours.status).toBe(results.ostree.status);
    expect(results.ours.stderr).toMatch(/^error: Writing content object: ENOSPC: no space left on device, \w+ '/);
    expect(results.ours.stderr).toContain(`'${path.join(mnt, 'repo')}/`);
    expect(results.ours.stderr).not.toContain(many);
  });

  it('reads core.min-free-space-* as ostree does (a lone 0MB size, a percentage read like strtoull)', () => {
    /** What stopped the commit: ostree's reserve message (exactly), or the filesystem filling up. */
    const outcome = (r: RunResult) => (r.stderr.includes('would be exceeded') ? r.stderr : /No space left on device|ENOSPC/.test(r.stderr) ? 'ENOSPC' : r.stderr);
    for (const [key, value] of [
      ['min-free-space-size', '0MB'],
      ['min-free-space-percent', 'abc'],
      ['min-free-space-percent', '50%'],
    ]) {
      const got: Record<string, RunResult> = {};
      for (const [name, run] of [['ostree', ostree], ['ours', ours]] as Array<[string, Run]>) {
        const { repo } = setup(run);
        ok(run(['config', `--repo=${repo}`, 'set', `core.${key}`, value]));
        got[name] = commitMany(run, repo);
      }
      expect(got.ours.status, `${key}=${value}`).toBe(got.ostree.status);
      expect(outcome(got.ours), `${key}=${value}`).toBe(outcome(got.ostree));
    }
  });

  it.each(['bare', 'archive'])('an HTTP pull of many small files into a %s repo stops at the reserve as ostree does; a retry after freeing space completes', async (mode) => {
    const server = await serveRepo(remoteRepo());
    try {
      const results: Record<string, RunResult> = {};
      for (const [name, run, runA] of [['ostree', ostree, ostreeA], ['ours', ours, oursA]] as Array<[string, Run, RunA]>) {
        const { repo, ballast } = setup(run, undefined, mode);
        ok(run(['remote', 'add', `--repo=${repo}`, '--no-gpg-verify', 'origin', server.url]));
        const r = await runA(['pull', `--repo=${repo}`, 'origin', 'many']);
        results[name] = r;
        expect(r.status, `${name}: ${r.stderr}`).toBe(1);
        // The reserve is kept for content; metadata (exempt) may use a little of it.
        expect(statfsSync(mnt).bfree, name).toBeGreaterThan(reserveBlocks(3) / 2);
        expect(run(['rev-parse', `--repo=${repo}`, 'origin:many']).status).not.toBe(0);
        expectClean(repo);
        rmSync(ballast);
        expect((await runA(['pull', `--repo=${repo}`, 'origin', 'many'])).status, `${name} retry`).toBe(0);
        expectClean(repo);
      }
      // ostree's progress line may precede the error: compare the error lines.
      const errorLine = (r: RunResult) => r.stderr.split('\n').filter((l) => l.startsWith('error: '));
      expect(errorLine(results.ours)).toEqual([`error: Writing content object: min-free-space-percent '3%' would be exceeded, at least ${formatSize(statfsSync(mnt).bsize)} requested`]);
      expect(errorLine(results.ours)).toEqual(errorLine(results.ostree));
      expect(results.ours.status).toBe(results.ostree.status);
    } finally {
      await server.close();
    }
  });
});
