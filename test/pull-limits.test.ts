// Size limits of a pull (issue 16, item 1): every download is capped by what
// it is — summary, summary.sig, config, refs/heads/REF, commit, commitmeta,
// dirtree, dirmeta at ostree 2022.7's 10 MiB, a .filez at what its header
// declares — and the cap is enforced as the bytes arrive. A hostile server
// sends 256 MiB where a small file belongs (chunked, or with a Content-Length
// saying so); our CLI pulls in a child process whose peak RSS is checked, the
// pull must fail with ostree's message and leave no file in tmp/. The same
// server is then pulled from by the real ostree for its message.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { closeSync, cpSync, openSync, ftruncateSync, statSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir, cleanupTmp, ours, ok, HAVE_OSTREE } from './helpers/interop';
import { ostreeA } from './helpers/pull';
import { serveHostile, oursMeasured, Action, HostileServer } from './helpers/hostile';
import { filesUnder } from './helpers/files';

const MIB = 1024 * 1024;
/** ostree 2022.7's OSTREE_MAX_METADATA_SIZE. */
const LIMIT = 10 * MIB;
/** What the hostile server sends instead of a small file. */
const HUGE = 256 * MIB;
/** Peak RSS allowed to the client: well under HUGE (holding the body once would exceed it). */
const RSS_BOUND = 160 * MIB;


describe('pull size limits against a hostile server', () => {
  let dir: string;
  let srv: string;
  let commit: string;
  let n = 0;

  beforeAll(() => {
    dir = tmpdir();
    srv = path.join(dir, 'srv');
    const tree = path.join(dir, 'tree');
    mkdirSync(path.join(tree, 'sub'), { recursive: true });
    writeFileSync(path.join(tree, 'hello.txt'), 'hello\n');
    writeFileSync(path.join(tree, 'sub', 'data.bin'), randomBytes(100 * 1024)); // incompressible: its .filez is large
    ok(ours([`--repo=${srv}`, 'init', '--mode=archive']));
    commit = ok(ours([`--repo=${srv}`, 'commit', '-b', 'main', '-s', 'one', tree]));
    ok(ours([`--repo=${srv}`, 'summary', '-u']));
  });
  afterAll(() => cleanupTmp());

  /** A fresh client repo with remote "origin" at `url`. */
  function client(url: string): string {
    const repo = path.join(dir, `client-${n++}`);
    ok(ours([`--repo=${repo}`, 'init', '--mode=bare-user']));
    ok(ours([`--repo=${repo}`, 'remote', 'add', '--no-gpg-verify', 'origin', url]));
    return repo;
  }

  const objPath = (c: string, ext: string) => `/objects/${c.slice(0, 2)}/${c.slice(2)}.${ext}`;

  interface Case {
    name: string;
    /** What to flood (first matching request only); the other paths are served normally. */
    match: (p: string) => boolean;
    declare?: boolean;
    /** Paths answered 404 (a remote without a summary). */
    missing?: string[];
    args?: string[];
  }
  const cases: Case[] = [
    { name: 'summary.sig, chunked', match: (p) => p === '/summary.sig' },
    { name: 'summary.sig with a Content-Length of 256 MiB', match: (p) => p === '/summary.sig', declare: true },
    { name: 'summary', match: (p) => p === '/summary' },
    { name: 'config', match: (p) => p === '/config' },
    { name: 'refs/heads/main (no summary)', match: (p) => p === '/refs/heads/main', missing: ['/summary', '/summary.sig'] },
    { name: 'commit (no summary: no size known)', match: (p) => p.endsWith('.commit'), missing: ['/summary', '/summary.sig'] },
    { name: 'commitmeta', match: (p) => p.endsWith('.commitmeta') },
    { name: 'dirtree', match: (p) => p.endsWith('.dirtree') },
    { name: 'dirmeta', match: (p) => p.endsWith('.dirmeta') },
    { name: 'summary for `remote summary`', match: (p) => p === '/summary', args: ['remote', 'summary', 'origin'] },
  ];

  /** A server flooding the first request `c.match` picks; `flooded()` is its path. */
  async function hostile(c: Case): Promise<{ server: HostileServer; target: () => string }> {
    let target = '';
    const server = await serveHostile(srv, (p): Action | null => {
      if (c.missing?.includes(p)) return { kind: 'status', status: 404 };
      if (!target && c.match(p)) {
        target = p;
        return { kind: 'flood', bytes: HUGE, declare: c.declare };
      }
      return null;
    });
    return { server, target: () => target };
  }

  for (const c of cases) {
    it(`${c.name}: refused at 10 MiB as it arrives, bounded memory, ostree's message, nothing left in tmp/`, async () => {
      const { server, target } = await hostile(c);
      try {
        const repo = client(server.url);
        const r = await oursMeasured([`--repo=${repo}`, ...(c.args ?? ['pull', 'origin', 'main'])], path.join(dir, 'rss'));
        console.log(`${c.name}: exit ${r.status} after ${r.ms} ms, peak RSS ${(r.maxRss / MIB).toFixed(1)} MiB, server sent ${(server.flooded() / MIB).toFixed(1)} MiB`);
        expect(target()).not.toBe('');
        expect(r.stderr).toBe(`error: URI ${server.url}${target()} exceeded maximum size of ${LIMIT} bytes\n`);
        expect(r.status).toBe(1);
        expect(r.maxRss).toBeLessThan(RSS_BOUND);
        expect(filesUnder(path.join(repo, 'tmp'))).toEqual([]);
        // The server could not push the whole body (it was cut off at the limit, or refused on its Content-Length).
        expect(server.flooded()).toBeLessThan(HUGE);
      } finally {
        await server.close();
      }
    });
  }

  it('a .filez is refused past the size its header declares (no spilled file left in tmp/)', async () => {
    let target = '';
    const server = await serveHostile(srv, (p): Action | null => {
      // The real object's bytes, then filler: a valid header declaring a small payload.
      if (!target && p.endsWith('.filez') && statSync(path.join(srv, p)).size > 50 * 1024) {
        target = p;
        return { kind: 'flood', bytes: HUGE, file: true };
      }
      return null;
    });
    try {
      const repo = client(server.url);
      const r = await oursMeasured([`--repo=${repo}`, 'pull', 'origin', 'main'], path.join(dir, 'rss'));
      console.log(`.filez: exit ${r.status} after ${r.ms} ms, peak RSS ${(r.maxRss / MIB).toFixed(1)} MiB, server sent ${(server.flooded() / MIB).toFixed(1)} MiB`);
      const m = /^error: URI (\S+) exceeded maximum size of (\d+) bytes\n$/.exec(r.stderr);
      expect(m, r.stderr).not.toBeNull();
      expect(m?.[1]).toBe(server.url + target);
      // The limit leaves room for the genuine object, and not much more.
      const real = statSync(path.join(srv, target)).size;
      expect(Number(m?.[2])).toBeGreaterThanOrEqual(real);
      expect(Number(m?.[2])).toBeLessThan(real + 64 * 1024);
      expect(r.status).toBe(1);
      expect(r.maxRss).toBeLessThan(RSS_BOUND);
      expect(filesUnder(path.join(repo, 'tmp'))).toEqual([]);
    } finally {
      await server.close();
    }
  });

  it('a file:// remote: an oversized summary.sig is refused before it is read (pull and remote summary)', async () => {
    const local = path.join(dir, 'local-srv');
    cpSync(srv, local, { recursive: true });
    // 1 GiB, sparse: reading it would show in the RSS.
    const fd = openSync(path.join(local, 'summary.sig'), 'w');
    ftruncateSync(fd, 1024 * MIB);
    closeSync(fd);
    const url = `file://${local}`;
    const repo = client(url);
    const want = `error: URI ${url}/summary.sig exceeded maximum size of ${LIMIT} bytes\n`;
    for (const args of [
      ['pull', 'origin', 'main'],
      ['remote', 'summary', 'origin'],
    ]) {
      const r = await oursMeasured([`--repo=${repo}`, ...args], path.join(dir, 'rss'));
      console.log(`file:// ${args.join(' ')}: exit ${r.status} after ${r.ms} ms, peak RSS ${(r.maxRss / MIB).toFixed(1)} MiB`);
      expect(r.stderr).toBe(want);
      expect(r.status).toBe(1);
      expect(r.maxRss).toBeLessThan(RSS_BOUND);
    }
    expect(filesUnder(path.join(repo, 'tmp'))).toEqual([]);
    if (HAVE_OSTREE) {
      for (const args of [
        ['pull', 'origin', 'main'],
        ['remote', 'summary', 'origin'],
      ]) {
        const o = await ostreeA([`--repo=${repo}`, ...args]);
        expect(o.stderr).toBe(want);
        expect(o.status).toBe(1);
      }
    }
  });

  it('a legitimate pull is untouched by the limits (commit size from the summary, content as declared)', async () => {
    const server = await serveHostile(srv, () => null);
    try {
      const repo = client(server.url);
      const r = await oursMeasured([`--repo=${repo}`, 'pull', 'origin', 'main'], path.join(dir, 'rss'));
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      expect(ok(ours([`--repo=${repo}`, 'rev-parse', 'origin:main']))).toBe(commit);
      expect(ours([`--repo=${repo}`, 'fsck']).status).toBe(0);
    } finally {
      await server.close();
    }
  });

  describe.skipIf(!HAVE_OSTREE)('the real ostree against the same servers', () => {
    for (const c of cases) {
      it(`${c.name}: ostree 2022.7 says the same`, async () => {
        const { server, target } = await hostile(c);
        try {
          const repo = client(server.url);
          const t0 = Date.now();
          const o = await ostreeA([`--repo=${repo}`, ...(c.args ?? ['pull', 'origin', 'main'])]);
          console.log(`ostree, ${c.name}: exit ${o.status} after ${Date.now() - t0} ms`);
          expect(o.stderr).toBe(`error: URI ${server.url}${target()} exceeded maximum size of ${LIMIT} bytes\n`);
          expect(o.status).toBe(1);
        } finally {
          await server.close();
        }
      });
    }
  });
});
