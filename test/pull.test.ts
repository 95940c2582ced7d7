// HTTP pulls against the real ostree 2022.7 in both directions: signed
// archive repos made by ostree pulled by us (and vice versa), tampering,
// --depth/--subpath/--mirror/--commit-metadata-only parity, faults, abort
// and resume, kill -9 and resume, 404s, pinned TLS with a client cert.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { mkdirSync, writeFileSync, readFileSync, readdirSync, existsSync, cpSync, rmSync } from 'node:fs';
import { Repo } from '../lib/repo/repo';
import { pull, PullProgress } from '../lib/pull/pull';
import { fsck } from '../lib/fsck';
import { serveRepo, RepoServer } from '../lib/httpd';
import type { RunResult } from './helpers/interop';
import { SKIP_INTEROP, CLI, tmpdir, cleanupTmp, ostree, ours, ok, makeTree, describeTree } from './helpers/interop';
import { ostreeA, oursA, tick, pullError, objectSet, refsOf, makeTestPki, initClient } from './helpers/pull';

/** A fresh GnuPG home with one ed25519 signing key; returns [home, fingerprint, armored public key file]. */
function makeKey(dir: string, name: string): { home: string; keyId: string; pub: string } {
  const home = path.join(dir, `gnupg-${name}`);
  mkdirSync(home, { mode: 0o700 });
  const g = (args: string[]) => spawnSync('gpg', ['--batch', '--homedir', home, ...args], { encoding: 'utf8' });
  const r = g(['--passphrase', '', '--quick-gen-key', `${name} <${name}@example.com>`, 'ed25519', 'sign', 'never']);
  if (r.status !== 0) throw new Error(r.stderr);
  const fpr = /^fpr:+([0-9A-F]+):/m.exec(g(['--list-keys', '--with-colons']).stdout)?.[1] as string;
  const pub = path.join(dir, `${name}.asc`);
  writeFileSync(pub, g(['--export', '--armor', fpr]).stdout);
  return { home, keyId: fpr, pub };
}

function commitSigned(repo: string, tree: string, key: { home: string; keyId: string } | null, subject: string, branch = 'main'): string {
  const args = [`--repo=${repo}`, 'commit', '-b', branch, '-s', subject, '--timestamp=@' + (1600000000 + Math.floor(Math.random() * 1e6)), tree];
  if (key) args.push(`--gpg-sign=${key.keyId}`, `--gpg-homedir=${key.home}`);
  return ok(ostree(args), 'ostree commit');
}

const pullCode = pullError;

describe.skipIf(SKIP_INTEROP)('pull over HTTP (interop with ostree 2022.7)', () => {
  let dir: string;
  let keyA: ReturnType<typeof makeKey>;
  let keyB: ReturnType<typeof makeKey>;
  let srv: string;
  let server: RepoServer;
  let c1: string;
  let c2: string;

  beforeAll(async () => {
    dir = tmpdir();
    keyA = makeKey(dir, 'alice');
    keyB = makeKey(dir, 'bob');
    srv = path.join(dir, 'srv');
    ok(ostree([`--repo=${srv}`, 'init', '--mode=archive']));
    makeTree(path.join(dir, 't1'), 1);
    makeTree(path.join(dir, 't2'), 2);
    c1 = commitSigned(srv, path.join(dir, 't1'), keyA, 'one');
    c2 = commitSigned(srv, path.join(dir, 't2'), keyA, 'two');
    server = await serveRepo(srv);
  });
  afterAll(async () => {
    await server?.close();
    for (const k of [keyA, keyB]) if (k) spawnSync('gpgconf', ['--homedir', k.home, '--kill', 'gpg-agent']);
    cleanupTmp();
  });

  it('pulls a signed commit served to us: fsck clean for both, same checkout, then only the changed objects', async () => {
    const mine = initClient(dir, 'mine', server.url, { gpgImport: keyA.pub });
    const theirs = initClient(dir, 'theirs', server.url, { gpgImport: keyA.pub });
    const repo = await Repo.open(mine);
    const seen: PullProgress[] = [];
    const r = await pull(repo, { remote: 'origin', refs: ['main'], onProgress: (p) => seen.push(p) });
    expect(r.refs).toEqual({ 'origin:main': c2 });
    expect(ok(ostree([`--repo=${mine}`, 'rev-parse', 'origin:main']))).toBe(c2);
    expect(ostree([`--repo=${mine}`, 'fsck']).status).toBe(0);
    expect((await fsck(repo)).ok).toBe(true);
    expect(existsSync(path.join(mine, 'state', `${c2}.commitpartial`))).toBe(false);
    // Progress totals never go backwards and end complete.
    for (let i = 1; i < seen.length; i++) {
      expect(seen[i].objectsRequested).toBeGreaterThanOrEqual(seen[i - 1].objectsRequested);
      expect(seen[i].objectsFetched).toBeGreaterThanOrEqual(seen[i - 1].objectsFetched);
      expect(seen[i].bytesTransferred).toBeGreaterThanOrEqual(seen[i - 1].bytesTransferred);
    }
    const last = seen[seen.length - 1];
    expect(last.phase).toBe('done');
    expect(last.objectsFetched).toBe(last.objectsRequested);
    expect(last.contentFetched).toBe(r.contentFetched);

    ok((await ostreeA([`--repo=${theirs}`, 'pull', 'origin', 'main'])));
    expect(objectSet(mine)).toEqual(objectSet(theirs));
    ok(ostree([`--repo=${mine}`, 'checkout', '-U', 'origin:main', path.join(dir, 'co-mine')]));
    ok(ours([`--repo=${mine}`, 'checkout', '-U', 'origin:main', path.join(dir, 'co-ours')]));
    ok(ostree([`--repo=${theirs}`, 'checkout', '-U', 'origin:main', path.join(dir, 'co-theirs')]));
    expect(describeTree(path.join(dir, 'co-mine'))).toBe(describeTree(path.join(dir, 'co-theirs')));
    expect(describeTree(path.join(dir, 'co-ours'))).toBe(describeTree(path.join(dir, 'co-theirs')));

    // A third commit changing one file: both clients fetch the same few objects.
    const t3 = path.join(dir, 't3');
    ok({ ...spawnSync('cp', ['-a', path.join(dir, 't2'), t3], { encoding: 'utf8' }), stdoutBuf: Buffer.alloc(0) } as RunResult, 'cp -a');
    writeFileSync(path.join(t3, 'hello.txt'), 'Hello, OSTree! (v3)\n');
    const c3 = commitSigned(srv, t3, keyA, 'three');
    await tick();
    let from = server.requests.length;
    ok((await ostreeA([`--repo=${theirs}`, 'pull', 'origin', 'main'])));
    await tick();
    const theirReqs = server.requests.slice(from).filter((q) => q.status === 200 && q.path.startsWith('/objects/')).map((q) => q.path).sort();
    from = server.requests.length;
    const r2 = await pull(repo, { remote: 'origin', refs: ['main'] });
    await tick();
    const ourReqs = server.requests.slice(from).filter((q) => q.status === 200 && q.path.startsWith('/objects/')).map((q) => q.path).sort();
    expect(r2.refs['origin:main']).toBe(c3);
    // commit, commitmeta, root dirtree, one .filez
    expect(ourReqs.filter((p) => p.endsWith('.filez'))).toHaveLength(1);
    expect(ourReqs).toEqual(theirReqs);
    expect(r2.contentFetched).toBe(1);
    expect(objectSet(mine)).toEqual(objectSet(theirs));
    expect(ostree([`--repo=${mine}`, 'fsck']).status).toBe(0);
  });

  it('the CLI pull prints ostree\'s closing line; REMOTE:REF form', async () => {
    const cli = initClient(dir, 'cli', server.url, { gpgImport: keyA.pub });
    const r = (await oursA([`--repo=${cli}`, 'pull', 'origin:main']));
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^\d+ metadata, \d+ content objects fetched; \d+ (KiB|B) transferred in \d+ seconds; .* content written\n$/);
    expect(ok(ostree([`--repo=${cli}`, 'rev-parse', 'origin:main']))).toBe(ok(ostree([`--repo=${srv}`, 'rev-parse', 'main'])));
    const e = (await oursA([`--repo=${cli}`, 'pull', 'origin', 'nosuchbranch']));
    const o = (await ostreeA([`--repo=${cli}`, 'pull', 'origin', 'nosuchbranch']));
    expect(e.status).toBe(1);
    expect(e.stderr).toBe(o.stderr);
    const n = (await oursA([`--repo=${cli}`, 'pull', 'nosuchremote', 'main']));
    expect(n.stderr).toBe((await ostreeA([`--repo=${cli}`, 'pull', 'nosuchremote', 'main'])).stderr);
  });

  it('the reverse: ostree pulls (gpg-verify=true) from our trivial-httpd; fsck clean', async () => {
    const portFile = path.join(dir, 'rev-port');
    const served = path.join(dir, 'rev-served');
    cpSync(srv, served, { recursive: true });
    ok(ours(['trivial-httpd', '--autoexit', '-d', '-p', portFile, served]));
    const port = readFileSync(portFile, 'utf8').trim();
    const theirs = initClient(dir, 'rev-theirs', `http://127.0.0.1:${port}`, { gpgImport: keyA.pub });
    const r = ostree([`--repo=${theirs}`, 'pull', '--depth=-1', 'origin', 'main']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(ostree([`--repo=${theirs}`, 'fsck']).status).toBe(0);
    // Unsigned commits are refused by ostree through our server too.
    const other = initClient(dir, 'rev-other', `http://127.0.0.1:${port}`, { gpgImport: keyB.pub });
    expect(ostree([`--repo=${other}`, 'pull', 'origin', 'main']).status).not.toBe(0);
    rmSync(served, { recursive: true });
  });

  describe('tampering', () => {
    async function expectNothingLanded(repo: string, commit: string, extra: string[] = []) {
      expect(existsSync(path.join(repo, 'refs', 'remotes', 'origin', 'main'))).toBe(false);
      expect(existsSync(path.join(repo, 'objects', commit.slice(0, 2), `${commit.slice(2)}.commit`))).toBe(false);
      for (const rel of extra) expect(existsSync(path.join(repo, rel))).toBe(false);
    }

    it('a flipped byte in a served content object: OSTREE_CORRUPT_OBJECT, no ref, object not stored', async () => {
      const bad = path.join(dir, 'srv-flip');
      cpSync(srv, bad, { recursive: true });
      const tip = ok(ostree([`--repo=${bad}`, 'rev-parse', 'main']));
      // The largest .filez: big.bin.
      const files: Array<[string, number]> = [];
      for (const d of readdirSync(path.join(bad, 'objects'))) {
        for (const f of readdirSync(path.join(bad, 'objects', d))) {
          if (f.endsWith('.filez')) files.push([`${d}/${f}`, readFileSync(path.join(bad, 'objects', d, f)).length]);
        }
      }
      files.sort((a, b) => b[1] - a[1]);
      const victim = path.join(bad, 'objects', files[0][0]);
      const b = readFileSync(victim);
      // Flip a byte inside the compressed payload, and make it still inflate: rewrite it uncompressed-stored.
      const zlib = await import('node:zlib');
      const hlen = b.readUInt32BE(0);
      const payload = zlib.inflateRawSync(b.subarray(8 + hlen));
      payload[1000] ^= 0xff;
      writeFileSync(victim, Buffer.concat([b.subarray(0, 8 + hlen), zlib.deflateRawSync(payload)]));
      const s = await serveRepo(bad);
      try {
        const mine = initClient(dir, 'flip', s.url, { gpgImport: keyA.pub });
        const err = await pullCode(pull(await Repo.open(mine), { remote: 'origin', refs: ['main'] }));
        expect(err.code).toBe('OSTREE_CORRUPT_OBJECT');
        expect(existsSync(path.join(mine, 'refs', 'remotes', 'origin', 'main'))).toBe(false);
        const csum = files[0][0].replace('/', '').replace('.filez', '');
        expect(existsSync(path.join(mine, 'objects', csum.slice(0, 2), `${csum.slice(2)}.file`))).toBe(false);
        // Everything that did land is valid (the commit stays partial).
        expect(existsSync(path.join(mine, 'state', `${tip}.commitpartial`))).toBe(true);
        expect(ostree([`--repo=${mine}`, 'fsck']).status).toBe(0);
      } finally {
        await s.close();
      }
    });

    it('a flipped byte in a dirtree: OSTREE_CORRUPT_OBJECT', async () => {
      const bad = path.join(dir, 'srv-flip-tree');
      cpSync(srv, bad, { recursive: true });
      const tip = ok(ostree([`--repo=${bad}`, 'rev-parse', 'main']));
      const treeCsum = ok(ostree([`--repo=${bad}`, 'ls', '-C', '-d', tip, '/'])).split(/\s+/)[4];
      const victim = path.join(bad, 'objects', treeCsum.slice(0, 2), `${treeCsum.slice(2)}.dirtree`);
      const b = readFileSync(victim);
      b[b.length - 40] ^= 1;
      writeFileSync(victim, b);
      const s = await serveRepo(bad);
      try {
        const mine = initClient(dir, 'flip-tree', s.url, { gpgImport: keyA.pub });
        const err = await pullCode(pull(await Repo.open(mine), { remote: 'origin', refs: ['main'] }));
        expect(err.code).toBe('OSTREE_CORRUPT_OBJECT');
        expect(existsSync(path.join(mine, 'refs', 'remotes', 'origin', 'main'))).toBe(false);
        expect(existsSync(path.join(mine, 'objects', treeCsum.slice(0, 2), `${treeCsum.slice(2)}.dirtree`))).toBe(false);
      } finally {
        await s.close();
      }
    });

    it('a flipped byte in a subdirectory\'s dirtree: the same error as ostree names the same object; nothing of it lands', async () => {
      const bad = path.join(dir, 'srv-flip-subtree');
      cpSync(srv, bad, { recursive: true });
      const tip = ok(ostree([`--repo=${bad}`, 'rev-parse', 'main']));
      const deeper = ok(ostree([`--repo=${bad}`, 'ls', '-C', '-d', tip, '/sub/deeper'])).split(/\s+/)[4];
      const victim = path.join(bad, 'objects', deeper.slice(0, 2), `${deeper.slice(2)}.dirtree`);
      const b = readFileSync(victim);
      b[0] ^= 1;
      writeFileSync(victim, b);
      const s = await serveRepo(bad);
      try {
        const theirs = initClient(dir, 'flip-subtree-theirs', s.url, { noGpg: true });
        const r = await ostreeA([`--repo=${theirs}`, 'pull', 'origin', 'main']);
        expect(r.status).not.toBe(0);
        const mine = initClient(dir, 'flip-subtree', s.url, { noGpg: true });
        const err = await pullCode(pull(await Repo.open(mine), { remote: 'origin', refs: ['main'] }));
        expect(err.code).toBe('OSTREE_CORRUPT_OBJECT');
        const expected = /Corrupted dirtree object; checksum expected='([0-9a-f]{64})' actual='([0-9a-f]{64})'/;
        const m = expected.exec(r.stderr);
        expect(m, r.stderr).not.toBeNull();
        expect(m![1]).toBe(deeper);
        expect(err.message).toContain(m![0]);
        expect(existsSync(path.join(mine, 'refs', 'remotes', 'origin', 'main'))).toBe(false);
        expect(existsSync(victim.replace(bad, mine))).toBe(false);
        expect(ostree([`--repo=${mine}`, 'fsck']).status).toBe(0);
      } finally {
        await s.close();
      }
    });

    it('a signature by another key, and no signature: OSTREE_GPG_VERIFY_FAILED before anything is written', async () => {
      const other = path.join(dir, 'srv-other');
      ok(ostree([`--repo=${other}`, 'init', '--mode=archive']));
      const cb = commitSigned(other, path.join(dir, 't1'), keyB, 'by bob', 'main');
      const unsigned = path.join(dir, 'srv-unsigned');
      ok(ostree([`--repo=${unsigned}`, 'init', '--mode=archive']));
      const cu = commitSigned(unsigned, path.join(dir, 't1'), null, 'unsigned', 'main');
      for (const [repoDir, commit, name] of [
        [other, cb, 'wrongkey'],
        [unsigned, cu, 'nosig'],
      ] as const) {
        const s = await serveRepo(repoDir);
        try {
          const mine = initClient(dir, name, s.url, { gpgImport: keyA.pub });
          const err = await pullCode(pull(await Repo.open(mine), { remote: 'origin', refs: ['main'] }));
          expect(err.code).toBe('OSTREE_GPG_VERIFY_FAILED');
          await expectNothingLanded(mine, commit, [`state/${commit}.commitpartial`, `objects/${commit.slice(0, 2)}/${commit.slice(2)}.commitmeta`]);
          expect(readdirSync(path.join(mine, 'objects'))).toEqual([]);
          // ostree agrees.
          const theirs = initClient(dir, `${name}-theirs`, s.url, { gpgImport: keyA.pub });
          expect((await ostreeA([`--repo=${theirs}`, 'pull', 'origin', 'main'])).status).not.toBe(0);
          // With gpg-verify=false the same pull works.
          const lax = initClient(dir, `${name}-lax`, s.url, { noGpg: true });
          await pull(await Repo.open(lax), { remote: 'origin', refs: ['main'] });
          expect(ok(ostree([`--repo=${lax}`, 'rev-parse', 'origin:main']))).toBe(commit);
        } finally {
          await s.close();
        }
      }
    });
  });

  describe('options give the same repo contents as ostree pull', () => {
    const cases: Array<[string, string[], Record<string, unknown>]> = [
      ['depth1', ['--depth=1'], { depth: 1 }],
      ['depthall', ['--depth=-1'], { depth: -1 }],
      ['subpath', ['--subpath=/sub'], { subpath: '/sub' }],
      ['subpathfile', ['--subpath=/hello.txt'], { subpath: '/hello.txt' }],
      ['commitonly', ['--commit-metadata-only', '--depth=-1'], { commitMetadataOnly: true, depth: -1 }],
      ['mirror', ['--mirror'], { mirror: true }],
    ];
    for (const [name, flags, o] of cases) {
      it(`${flags.join(' ')}`, async () => {
        const mode = name === 'mirror' ? 'archive' : 'bare-user';
        const mine = initClient(dir, `opt-${name}-mine`, server.url, { gpgImport: keyA.pub, mode });
        const theirs = initClient(dir, `opt-${name}-theirs`, server.url, { gpgImport: keyA.pub, mode });
        ok((await ostreeA([`--repo=${theirs}`, 'pull', ...flags, 'origin', 'main'])), 'ostree pull');
        await pull(await Repo.open(mine), { remote: 'origin', refs: ['main'], ...o });
        expect(refsOf(mine)).toBe(refsOf(theirs));
        expect(objectSet(mine)).toEqual(objectSet(theirs));
        expect(ostree([`--repo=${mine}`, 'fsck']).status).toBe(0);
      });
    }
  });

  describe('robustness', () => {
    it('survives --random-500s=50 and --random-408s=50 (our trivial-httpd CLI) by retrying', async () => {
      const portFile = path.join(dir, 'flaky-port');
      const served = path.join(dir, 'flaky-served');
      cpSync(srv, served, { recursive: true });
      ok(ours(['trivial-httpd', '--autoexit', '-d', '-p', portFile, '--random-500s=50', '--random-408s=50', `--log-file=${path.join(dir, 'flaky.log')}`, served]));
      const port = readFileSync(portFile, 'utf8').trim();
      const mine = initClient(dir, 'flaky', `http://127.0.0.1:${port}`, { gpgImport: keyA.pub });
      try {
        const r = await pull(await Repo.open(mine), { remote: 'origin', refs: ['main'], networkRetries: 30, retryBackoffMs: 1, maxRetryBackoffMs: 20, depth: -1 });
        expect(r.refs['origin:main']).toBe(ok(ostree([`--repo=${srv}`, 'rev-parse', 'main'])));
        const log = readFileSync(path.join(dir, 'flaky.log'), 'utf8');
        expect(log).toMatch(/ 500$/m);
        expect(log).toMatch(/ 408$/m);
        expect(ostree([`--repo=${mine}`, 'fsck']).status).toBe(0);
      } finally {
        rmSync(served, { recursive: true });
      }
    });

    it('an aborted pull resumes, fetching only what is still missing', async () => {
      const big = path.join(dir, 'srv-big');
      ok(ostree([`--repo=${big}`, 'init', '--mode=archive']));
      const t = path.join(dir, 'tbig');
      mkdirSync(t);
      for (let i = 0; i < 120; i++) writeFileSync(path.join(t, `f${i}`), `file ${i}\n`.repeat(50 + i));
      const cbig = commitSigned(big, t, keyA, 'big');
      const s = await serveRepo(big, { delayMs: 5 });
      try {
        const mine = initClient(dir, 'abort', s.url, { gpgImport: keyA.pub });
        const repo = await Repo.open(mine);
        const ac = new AbortController();
        const err = await pullCode(
          pull(repo, {
            remote: 'origin',
            refs: ['main'],
            signal: ac.signal,
            onProgress: (p) => {
              if (p.contentFetched >= 40) ac.abort();
            },
          }),
        );
        expect(err.code).toBe('OSTREE_ABORTED');
        expect(existsSync(path.join(mine, 'refs', 'remotes', 'origin', 'main'))).toBe(false);
        expect(existsSync(path.join(mine, 'state', `${cbig}.commitpartial`))).toBe(true);
        const have = objectSet(mine).filter((o) => o.endsWith('.content')).length;
        expect(have).toBeGreaterThanOrEqual(40);
        expect(have).toBeLessThan(120);
        await tick();
        const from = s.requests.length;
        const r = await pull(repo, { remote: 'origin', refs: ['main'] });
        await tick();
        const fetched = s.requests.slice(from).filter((q) => q.path.endsWith('.filez'));
        expect(fetched.length).toBe(120 - have);
        expect(r.contentFetched).toBe(120 - have);
        expect(existsSync(path.join(mine, 'state', `${cbig}.commitpartial`))).toBe(false);
        expect(ostree([`--repo=${mine}`, 'fsck']).status).toBe(0);
      } finally {
        await s.close();
      }
    });

    it('kill -9 of a pulling CLI, then pull again: completes, fewer bytes the second time', async () => {
      const big = path.join(dir, 'srv-big');
      const s = await serveRepo(big, { delayMs: 20 });
      try {
        const mine = initClient(dir, 'killed', s.url, { gpgImport: keyA.pub });
        const child = spawn(process.execPath, [CLI, `--repo=${mine}`, 'pull', 'origin', 'main'], { stdio: 'ignore' });
        for (let i = 0; i < 200 && s.requests.filter((q) => q.path.endsWith('.filez')).length < 30; i++) await new Promise((r) => setTimeout(r, 25));
        child.kill('SIGKILL');
        await new Promise((r) => child.once('exit', r));
        expect(existsSync(path.join(mine, 'refs', 'remotes', 'origin', 'main'))).toBe(false);
        const full = await pull(await Repo.open(initClient(dir, 'killed-ref', s.url, { gpgImport: keyA.pub })), { remote: 'origin', refs: ['main'] });
        const r = await pull(await Repo.open(mine), { remote: 'origin', refs: ['main'] });
        expect(r.bytesTransferred).toBeLessThan(full.bytesTransferred);
        expect(r.contentFetched).toBeLessThan(120);
        expect(ostree([`--repo=${mine}`, 'fsck']).status).toBe(0);
      } finally {
        await s.close();
      }
    });

    it('a 404 for a content object: OSTREE_HTTP with status 404, no ref moves', async () => {
      const holes = path.join(dir, 'srv-404');
      cpSync(srv, holes, { recursive: true });
      const d = readdirSync(path.join(holes, 'objects')).find((x) => readdirSync(path.join(holes, 'objects', x)).some((f) => f.endsWith('.filez'))) as string;
      const f = readdirSync(path.join(holes, 'objects', d)).find((x) => x.endsWith('.filez')) as string;
      rmSync(path.join(holes, 'objects', d, f));
      const s = await serveRepo(holes);
      try {
        const mine = initClient(dir, 'holes', s.url, { gpgImport: keyA.pub });
        const err = await pullCode(pull(await Repo.open(mine), { remote: 'origin', refs: ['main'] }));
        expect(err.code).toBe('OSTREE_HTTP');
        expect(err.data.status).toBe(404);
        expect(String(err.data.url)).toContain(`/objects/${d}/${f}`);
        expect(existsSync(path.join(mine, 'refs', 'remotes', 'origin', 'main'))).toBe(false);
        const o = (await ostreeA([`--repo=${initClient(dir, 'holes-theirs', s.url, { gpgImport: keyA.pub })}`, 'pull', 'origin', 'main']));
        expect(o.status).not.toBe(0);
      } finally {
        await s.close();
      }
    });
  });

  describe('pinned TLS', () => {
    let pki: string;
    beforeAll(() => {
      pki = makeTestPki(path.join(dir, 'pki'));
    });

    it('succeeds with tls-ca-path, fails without it or with another CA, sends the client cert when configured', async () => {
      const rd = (f: string) => readFileSync(path.join(pki, f));
      const s = await serveRepo(srv, { tls: { cert: rd('server.pem'), key: rd('server.key'), ca: rd('ca.pem'), requestCert: true } });
      try {
        const pinned = initClient(dir, 'tls-pinned', s.url, { gpgImport: keyA.pub, set: [`tls-ca-path=${path.join(pki, 'ca.pem')}`] });
        const r = await pull(await Repo.open(pinned), { remote: 'origin', refs: ['main'] });
        expect(r.refs['origin:main']).toBe(ok(ostree([`--repo=${srv}`, 'rev-parse', 'main'])));
        expect(s.requests.length).toBeGreaterThan(0);
        expect(s.requests.every((q) => q.clientCert === undefined)).toBe(true);

        const unpinned = initClient(dir, 'tls-none', s.url, { gpgImport: keyA.pub });
        const e1 = await pullCode(pull(await Repo.open(unpinned), { remote: 'origin', refs: ['main'], networkRetries: 0 }));
        expect(e1.code).toBe('OSTREE_NETWORK');
        const wrongCa = initClient(dir, 'tls-wrong', s.url, { gpgImport: keyA.pub, set: [`tls-ca-path=${path.join(pki, 'other.pem')}`] });
        const e2 = await pullCode(pull(await Repo.open(wrongCa), { remote: 'origin', refs: ['main'], networkRetries: 0 }));
        expect(e2.code).toBe('OSTREE_NETWORK');
        expect(existsSync(path.join(wrongCa, 'refs', 'remotes', 'origin', 'main'))).toBe(false);

        const from = s.requests.length;
        const withCert = initClient(dir, 'tls-client', s.url, {
          gpgImport: keyA.pub,
          set: [`tls-ca-path=${path.join(pki, 'ca.pem')}`, `tls-client-cert-path=${path.join(pki, 'client.pem')}`, `tls-client-key-path=${path.join(pki, 'client.key')}`],
        });
        await pull(await Repo.open(withCert), { remote: 'origin', refs: ['main'] });
        const reqs = s.requests.slice(from);
        expect(reqs.length).toBeGreaterThan(0);
        expect(reqs.every((q) => q.clientCert === 'test-client')).toBe(true);
        // ostree agrees on the pinned CA.
        const theirs = initClient(dir, 'tls-theirs', s.url, { gpgImport: keyA.pub, set: [`tls-ca-path=${path.join(pki, 'ca.pem')}`] });
        expect((await ostreeA([`--repo=${theirs}`, 'pull', 'origin', 'main'])).status).toBe(0);
      } finally {
        await s.close();
      }
    });
  });
});
