// Pulling large content objects: they are streamed (HTTP body -> REPO/tmp ->
// one native inflate+verify+store job), so the CLI's peak RSS stays well
// below the object's size; corrupted ones fail with OSTREE_CORRUPT_OBJECT
// and nothing unverified enters objects/; aborted downloads leave no temp
// files and a later pull completes.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync, readFileSync, readdirSync, existsSync, cpSync, openSync, writeSync, closeSync } from 'node:fs';
import { Repo } from '../lib/repo/repo';
import { pull } from '../lib/pull/pull';
import { serveRepo, RepoServer } from '../lib/httpd';
import { SKIP_INTEROP, CLI, tmpdir, cleanupTmp, ostree, ok } from './helpers/interop';
import { runAsync, ostreeA, pullError, initClient } from './helpers/pull';

const BIG = 200 * 1024 * 1024;

/** Leftover download files in REPO/tmp. */
function downloads(repo: string): string[] {
  const t = path.join(repo, 'tmp');
  return existsSync(t) ? readdirSync(t).filter((n) => n.startsWith('.pull')) : [];
}

function objectFile(repo: string, csum: string): string[] {
  return ['file', 'filez'].map((ext) => path.join(repo, 'objects', csum.slice(0, 2), `${csum.slice(2)}.${ext}`));
}

/** The content checksum of the file at `p` in `commit` (ostree ls -C). */
function contentChecksum(repo: string, commit: string, p: string): string {
  return ok(ostree([`--repo=${repo}`, 'ls', '-C', commit, p])).split(/\s+/)[4];
}

/** Run our CLI and report its peak RSS in bytes (GNU time's %M, else the kernel's VmHWM). */
async function oursWithPeakRss(args: string[], dir: string): Promise<{ status: number; stderr: string; rss: number }> {
  const out = path.join(dir, `rss-${Math.random().toString(36).slice(2)}`);
  if (existsSync('/usr/bin/time')) {
    const r = await runAsync('/usr/bin/time', ['-f', '%M', '-o', out, process.execPath, CLI, ...args]);
    return { status: r.status, stderr: r.stderr, rss: Number(readFileSync(out, 'utf8').trim().split('\n').pop()) * 1024 };
  }
  const hook = path.join(dir, 'hwm.js');
  writeFileSync(hook, `process.on('exit', () => require('fs').writeFileSync(${JSON.stringify(out)}, /VmHWM:\\s*(\\d+)/.exec(require('fs').readFileSync('/proc/self/status', 'utf8'))[1]));\n`);
  const r = await runAsync(process.execPath, ['--require', hook, CLI, ...args]);
  return { status: r.status, stderr: r.stderr, rss: Number(readFileSync(out, 'utf8')) * 1024 };
}

describe.skipIf(SKIP_INTEROP)('pull of large content objects', () => {
  let dir: string;
  let big: string; // served repo with a 200 MB file
  let mid: string; // served repo with a few MB files
  let bigCommit: string;
  let midCommit: string;
  let server: RepoServer;

  beforeAll(async () => {
    dir = tmpdir();
    const t = path.join(dir, 'tbig');
    mkdirSync(t);
    // Incompressible, written in pieces (the test process need not hold it either).
    const fd = openSync(path.join(t, 'big.bin'), 'w');
    for (let off = 0; off < BIG; off += 8 << 20) writeSync(fd, randomBytes(Math.min(8 << 20, BIG - off)));
    closeSync(fd);
    writeFileSync(path.join(t, 'small.txt'), 'small\n');
    big = path.join(dir, 'srv-big');
    ok(ostree([`--repo=${big}`, 'init', '--mode=archive']));
    bigCommit = ok(ostree([`--repo=${big}`, 'commit', '-b', 'main', '-s', 'big', `--tree=dir=${t}`]));

    const m = path.join(dir, 'tmid');
    mkdirSync(m);
    writeFileSync(path.join(m, 'random3m.bin'), randomBytes(3 << 20));
    // Tiny once compressed, large once inflated.
    writeFileSync(path.join(m, 'zeros.bin'), Buffer.alloc(24 << 20));
    writeFileSync(path.join(m, 'exec.sh'), Buffer.concat([Buffer.from('#!/bin/sh\n'), randomBytes(2 << 20)]), { mode: 0o755 });
    writeFileSync(path.join(m, 'small.txt'), 'small\n');
    mid = path.join(dir, 'srv-mid');
    ok(ostree([`--repo=${mid}`, 'init', '--mode=archive']));
    midCommit = ok(ostree([`--repo=${mid}`, 'commit', '-b', 'main', '-s', 'mid', `--tree=dir=${m}`]));
    server = await serveRepo(dir);
  }, 300_000);
  afterAll(async () => {
    await server?.close();
    cleanupTmp();
  });

  for (const mode of ['bare-user', 'archive']) {
    it(`CLI pull of a 200 MB file into ${mode}: peak RSS well below the file size, objects valid`, async () => {
      const repo = initClient(dir, `rss-${mode}`, `${server.url}/srv-big`, { noGpg: true, mode });
      const r = await oursWithPeakRss([`--repo=${repo}`, 'pull', 'origin', 'main'], dir);
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      expect(r.rss).toBeGreaterThan(0);
      expect(r.rss).toBeLessThan(150 * 1024 * 1024);
      expect(r.rss).toBeLessThan(BIG);
      expect(ok(ostree([`--repo=${repo}`, 'rev-parse', 'origin:main']))).toBe(bigCommit);
      expect(ostree([`--repo=${repo}`, 'fsck']).status).toBe(0);
      const csum = contentChecksum(big, bigCommit, '/big.bin');
      expect(objectFile(repo, csum).some((f) => existsSync(f))).toBe(true);
      expect(downloads(repo)).toEqual([]);
    }, 120_000);
  }

  it('aborted in the middle of a large download: no temp files, no object; the next pull completes', async () => {
    const mine = initClient(dir, 'abort', `${server.url}/srv-big`, { noGpg: true });
    const repo = await Repo.open(mine);
    const ac = new AbortController();
    const err = await pullError(
      pull(repo, {
        remote: 'origin',
        refs: ['main'],
        signal: ac.signal,
        onProgress: (p) => {
          if (p.bytesTransferred > 20 << 20) ac.abort();
        },
      }),
    );
    expect(err.code).toBe('OSTREE_ABORTED');
    const csum = contentChecksum(big, bigCommit, '/big.bin');
    expect(objectFile(mine, csum).some((f) => existsSync(f))).toBe(false);
    expect(downloads(mine)).toEqual([]);
    const r = await pull(repo, { remote: 'origin', refs: ['main'] });
    expect(r.contentFetched).toBeGreaterThanOrEqual(1);
    expect(ok(ostree([`--repo=${mine}`, 'rev-parse', 'origin:main']))).toBe(bigCommit);
    expect(ostree([`--repo=${mine}`, 'fsck']).status).toBe(0);
    expect(downloads(mine)).toEqual([]);
  }, 120_000);

  for (const mode of ['bare-user', 'bare-user-only', 'archive']) {
    it(`several-MB objects into ${mode} like ostree pulls them, also with forced Range requests`, async () => {
      const theirs = initClient(dir, `mid-theirs-${mode}`, `${server.url}/srv-mid`, { noGpg: true, mode });
      // Asynchronously: the server runs in this process.
      ok(await ostreeA([`--repo=${theirs}`, 'pull', 'origin', 'main']));
      const mine = initClient(dir, `mid-${mode}`, `${server.url}/srv-mid`, { noGpg: true, mode });
      const r = await pull(await Repo.open(mine), { remote: 'origin', refs: ['main'] });
      expect(r.contentFetched).toBe(4);
      expect(ostree([`--repo=${mine}`, 'fsck']).status).toBe(0);
      for (const f of ['/random3m.bin', '/zeros.bin', '/exec.sh', '/small.txt']) {
        expect(ok(ostree([`--repo=${mine}`, 'ls', '-C', 'origin:main', f]))).toBe(ok(ostree([`--repo=${theirs}`, 'ls', '-C', 'origin:main', f])));
        // The stored payload reads back identically.
        expect(ostree([`--repo=${mine}`, 'cat', 'origin:main', f]).stdoutBuf.equals(ostree([`--repo=${theirs}`, 'cat', 'origin:main', f]).stdoutBuf)).toBe(true);
      }
      expect(downloads(mine)).toEqual([]);

      // A server that only sends halves: the body is assembled from Range requests.
      const half = await serveRepo(mid, { forceRangeRequests: true });
      try {
        const again = initClient(dir, `mid-range-${mode}`, half.url, { noGpg: true, mode });
        await pull(await Repo.open(again), { remote: 'origin', refs: ['main'] });
        expect(ostree([`--repo=${again}`, 'fsck']).status).toBe(0);
        expect(ok(ostree([`--repo=${again}`, 'rev-parse', 'origin:main']))).toBe(midCommit);
        expect(half.requests.some((q) => q.headers.range !== undefined)).toBe(true);
      } finally {
        await half.close();
      }
    }, 120_000);
  }

  for (const [what, damage] of [
    ['a flipped payload byte (still valid deflate)', (payload: Buffer) => zlib.deflateRawSync(Buffer.from(payload.map((b, i) => (i === 1000 ? b ^ 0xff : b))))],
    ['a truncated deflate stream', (payload: Buffer) => zlib.deflateRawSync(payload).subarray(0, 2 << 20)],
  ] as const) {
    it(`a large object with ${what}: OSTREE_CORRUPT_OBJECT, nothing stored, no ref, no temp file`, async () => {
      const bad = path.join(dir, `srv-bad-${Math.random().toString(36).slice(2)}`);
      cpSync(mid, bad, { recursive: true });
      const csum = contentChecksum(mid, midCommit, '/random3m.bin');
      const victim = path.join(bad, 'objects', csum.slice(0, 2), `${csum.slice(2)}.filez`);
      const b = readFileSync(victim);
      const hlen = b.readUInt32BE(0);
      const payload = zlib.inflateRawSync(b.subarray(8 + hlen));
      writeFileSync(victim, Buffer.concat([b.subarray(0, 8 + hlen), damage(payload)]));
      const s = await serveRepo(bad);
      try {
        for (const mode of ['bare-user', 'archive']) {
          const mine = initClient(dir, `bad-${mode}-${path.basename(bad)}`, s.url, { noGpg: true, mode });
          const err = await pullError(pull(await Repo.open(mine), { remote: 'origin', refs: ['main'] }));
          expect(err.code).toBe('OSTREE_CORRUPT_OBJECT');
          expect(objectFile(mine, csum).some((f) => existsSync(f))).toBe(false);
          expect(existsSync(path.join(mine, 'refs', 'remotes', 'origin', 'main'))).toBe(false);
          expect(downloads(mine)).toEqual([]);
          // What did land is valid.
          expect(ostree([`--repo=${mine}`, 'fsck']).status).toBe(0);
        }
      } finally {
        await s.close();
      }
    }, 120_000);
  }

  for (const srcMode of ['archive', 'bare-user']) {
    it(`file:// remote (${srcMode} source) with large objects into bare-user and archive`, async () => {
      const src = path.join(dir, `local-src-${srcMode}`);
      ok(ostree([`--repo=${src}`, 'init', `--mode=${srcMode}`]));
      ok(ostree([`--repo=${src}`, 'pull-local', mid, 'main']));
      for (const mode of ['bare-user', 'archive']) {
        const mine = initClient(dir, `local-${srcMode}-${mode}`, `file://${src}`, { noGpg: true, mode });
        const r = await pull(await Repo.open(mine), { remote: 'origin', refs: ['main'] });
        expect(r.contentFetched).toBe(4);
        expect(ok(ostree([`--repo=${mine}`, 'rev-parse', 'origin:main']))).toBe(midCommit);
        expect(ostree([`--repo=${mine}`, 'fsck']).status).toBe(0);
        expect(downloads(mine)).toEqual([]);
      }
    }, 120_000);
  }
});
