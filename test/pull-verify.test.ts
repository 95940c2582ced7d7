// Pull verification and pull options against the real ostree 2022.7:
// expired/revoked GPG keys, gpg-verify-summary, ed25519 sign-verify,
// --localcache-repo, --bareuseronly-files, the proxy option, and the summary
// cache (tmp/cache/summaries with ETag/Last-Modified, 304s).
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { spawnSync } from 'node:child_process';
import * as http from 'node:http';
import * as net from 'node:net';
import * as path from 'node:path';
import { mkdirSync, writeFileSync, readFileSync, readdirSync, existsSync, cpSync, chmodSync, statSync } from 'node:fs';
import { Repo } from '../lib/repo/repo';
import { pull } from '../lib/pull/pull';
import { fsck } from '../lib/fsck';
import { serveRepo, RepoServer } from '../lib/httpd';
import { OstreeError } from '../lib/errors';
import { ObjectType } from '../lib/objects/formats';
import { loadSigningKey } from '../lib/gpg/keys';
import { signDetachedWithKey, dictRebuild, writeDetachedMetadata } from '../lib/gpg/sign';
import { generateKeyPair } from '../lib/sign/ed25519';
import { native } from '../lib/binding';
import type { RunResult } from './helpers/interop';
import { SKIP_INTEROP, CLI, tmpdir, cleanupTmp, ostree, ok, makeTree } from './helpers/interop';
import { ostreeA, oursA, tick, pullError, objectSet, refsOf, makeTestPki, initClient, type ClientOptions } from './helpers/pull';
import { HAVE_GPG, makeTestKeys, revokeKey, type TestKeys } from './helpers/gpgkeys';

const skip = SKIP_INTEROP || (!HAVE_GPG && !process.env.CI);

let clientN = 0;
const client = (dir: string, url: string, opts: ClientOptions = {}) => initClient(dir, `client-${++clientN}`, url, opts);

/** Nothing of the pull landed: no ref, no commit marker, objects/ empty. */
function expectUntouched(repo: string, ref = 'main') {
  expect(existsSync(path.join(repo, 'refs', 'remotes', 'origin', ref))).toBe(false);
  expect(readdirSync(path.join(repo, 'objects'))).toEqual([]);
  expect(existsSync(path.join(repo, 'state')) ? readdirSync(path.join(repo, 'state')) : []).toEqual([]);
}

const objectRequests = (s: RepoServer, from: number) => s.requests.slice(from).filter((q) => q.path.startsWith('/objects/'));

describe.skipIf(skip)('pull verification and options (interop with ostree 2022.7)', () => {
  let keys: TestKeys;
  let dir: string;
  let t1: string;
  let t2: string;

  beforeAll(() => {
    keys = makeTestKeys();
    dir = tmpdir();
    t1 = path.join(dir, 't1');
    t2 = path.join(dir, 't2');
    makeTree(t1, 1);
    makeTree(t2, 2);
  }, 120_000);
  afterAll(() => {
    keys?.kill();
    cleanupTmp();
  });

  /** A fresh archive repo with `main` committed from `tree` by ostree (signed with `key` when given). */
  function archive(name: string, tree: string, key?: string): { repo: string; commit: string } {
    const repo = path.join(dir, name);
    ok(ostree([`--repo=${repo}`, 'init', '--mode=archive']));
    const args = [`--repo=${repo}`, 'commit', '-b', 'main', '-s', name, '--timestamp=@1700000000', tree];
    if (key) args.push(`--gpg-sign=${key}`, `--gpg-homedir=${keys.home}`);
    return { repo, commit: ok(ostree(args), 'ostree commit') };
  }

  describe('GPG: expired and revoked keys', () => {
    it('a commit signed by a key that has expired since: OSTREE_GPG_VERIFY_FAILED naming commit and key, nothing written; ostree agrees word for word', async () => {
      const { repo: srv, commit } = archive('srv-expired', t1);
      // A signature made in 2020 while the key was valid (it expired 2020-06-01).
      const r = await Repo.open(srv);
      const bytes = (await r.loadMetadata(ObjectType.Commit, commit)) as Buffer;
      const sig = await signDetachedWithKey(bytes, await loadSigningKey(keys.expired.fpr, keys.home), new Date('2020-03-01T00:00:00Z'));
      await writeDetachedMetadata(r, commit, dictRebuild(null, [['ostree.gpgsigs', { type: 'aay', value: [sig] }]]));
      const s = await serveRepo(srv);
      try {
        const mine = client(dir, s.url, { gpgImport: keys.expired.pub });
        const e = await pullError(pull(await Repo.open(mine), { remote: 'origin', refs: ['main'] }));
        expect(e.code).toBe('OSTREE_GPG_VERIFY_FAILED');
        expect(e.data.commit).toBe(commit);
        expect(e.data.keyIds).toEqual([keys.expired.keyId]);
        expect(e.data.reason).toBe('expired-key');
        expect(e.message).toContain(commit);
        expect(e.message).toContain(keys.expired.keyId);
        expectUntouched(mine);
        // Only the detached metadata and the commit were fetched, nothing below it.
        expect(s.requests.filter((q) => /\.(dirtree|dirmeta|filez)$/.test(q.path))).toEqual([]);

        const theirs = client(dir, s.url, { gpgImport: keys.expired.pub });
        const o = await ostreeA([`--repo=${theirs}`, 'pull', 'origin', 'main']);
        expect(o.status).toBe(1);
        expect(o.stderr).toContain('Key expired');
        const cli = await oursA([`--repo=${client(dir, s.url, { gpgImport: keys.expired.pub })}`, 'pull', 'origin', 'main']);
        expect(cli.status).toBe(1);
        expect(cli.stderr).toBe(o.stderr);
        expect(readdirSync(path.join(theirs, 'objects'))).toEqual([]);
      } finally {
        await s.close();
      }
    }, 60_000);

    it('a commit signed by a key revoked afterwards: OSTREE_GPG_VERIFY_FAILED, nothing written; ostree agrees word for word', async () => {
      const { repo: srv, commit } = archive('srv-revoked', t1, keys.revoked.fpr);
      const revokedPub = revokeKey(keys);
      const s = await serveRepo(srv);
      try {
        // Before the revocation is known the same pull works (the signature itself is fine).
        const before = client(dir, s.url, { gpgImport: keys.revoked.pub });
        expect((await pull(await Repo.open(before), { remote: 'origin', refs: ['main'] })).refs['origin:main']).toBe(commit);

        const mine = client(dir, s.url, { gpgImport: revokedPub });
        const e = await pullError(pull(await Repo.open(mine), { remote: 'origin', refs: ['main'] }));
        expect(e.code).toBe('OSTREE_GPG_VERIFY_FAILED');
        expect(e.data.commit).toBe(commit);
        expect(e.data.keyIds).toEqual([keys.revoked.keyId]);
        expect(e.data.reason).toBe('revoked-key');
        expect(e.message).toMatch(new RegExp(`^Commit ${commit}: .*key ID ${keys.revoked.keyId}\\nKey revoked`, 's'));
        expectUntouched(mine);

        const theirs = client(dir, s.url, { gpgImport: revokedPub });
        const o = await ostreeA([`--repo=${theirs}`, 'pull', 'origin', 'main']);
        expect(o.status).toBe(1);
        const cli = await oursA([`--repo=${client(dir, s.url, { gpgImport: revokedPub })}`, 'pull', 'origin', 'main']);
        expect(cli.stderr).toBe(o.stderr);
        expect(readdirSync(path.join(theirs, 'objects'))).toEqual([]);
      } finally {
        await s.close();
      }
    }, 60_000);
  });

  describe('gpg-verify-summary=true', () => {
    let srv: string;
    beforeAll(() => {
      srv = archive('srv-sum', t1, keys.good.fpr).repo;
      ok(ostree([`--repo=${srv}`, 'summary', '-u', `--gpg-sign=${keys.good.fpr}`, `--gpg-homedir=${keys.home}`]));
    });

    /** Serve a copy of srv changed by `mutate`; our pull and ostree's, same verdict, no object requested on failure. */
    async function compare(name: string, mutate: (copy: string) => void): Promise<{ err: OstreeError | null; ostreeStderr: string }> {
      const copy = path.join(dir, `srv-sum-${name}`);
      cpSync(srv, copy, { recursive: true });
      mutate(copy);
      const s = await serveRepo(copy);
      try {
        const set = ['gpg-verify-summary=true'];
        const mine = client(dir, s.url, { gpgImport: keys.good.pub, set });
        let err: OstreeError | null = null;
        try {
          await pull(await Repo.open(mine), { remote: 'origin', refs: ['main'] });
        } catch (e) {
          err = e as OstreeError;
        }
        await tick();
        const ourObjects = objectRequests(s, 0).length;
        const from = s.requests.length;
        const theirs = client(dir, s.url, { gpgImport: keys.good.pub, set });
        const o = await ostreeA([`--repo=${theirs}`, 'pull', 'origin', 'main']);
        await tick();
        expect(o.status === 0).toBe(err === null);
        if (err) {
          expect(ourObjects).toBe(0);
          expect(objectRequests(s, from)).toEqual([]);
          expectUntouched(mine);
        } else {
          expect(objectSet(mine)).toEqual(objectSet(theirs));
        }
        return { err, ostreeStderr: o.stderr };
      } finally {
        await s.close();
      }
    }

    it('a good summary.sig passes', async () => {
      const { err } = await compare('good', () => {});
      expect(err).toBeNull();
    });

    it('a tampered summary fails before any commit is fetched', async () => {
      const { err } = await compare('tampered', (c) => {
        const b = readFileSync(path.join(c, 'summary'));
        b[b.length - 20] ^= 1;
        writeFileSync(path.join(c, 'summary'), b);
      });
      expect(err?.code).toBe('OSTREE_GPG_VERIFY_FAILED');
      expect(err?.data.summary).toBe(true);
    });

    it('a missing summary.sig fails with ostree\'s message', async () => {
      // An empty summary.sig (no signatures at all), then none at all.
      const { err } = await compare('nosig', (c) => writeFileSync(path.join(c, 'summary.sig'), ''));
      expect(err?.code).toBe('OSTREE_GPG_VERIFY_FAILED');
      const { err: e2, ostreeStderr: o2 } = await compare('nosig2', (c) => spawnSync('rm', [path.join(c, 'summary.sig')]));
      expect(e2?.code).toBe('OSTREE_GPG_VERIFY_FAILED');
      expect(`error: ${e2?.message}\n`).toBe(o2);
    });

    it('a mangled summary.sig reads as unsigned (GLib\'s recovery), with ostree\'s message', async () => {
      for (const [name, bytes] of [
        ['junk', Buffer.from('invalid\n')],
        ['truncated', readFileSync(path.join(srv, 'summary.sig')).subarray(0, 20)],
      ] as Array<[string, Buffer]>) {
        const { err, ostreeStderr } = await compare(name, (c) => writeFileSync(path.join(c, 'summary.sig'), bytes));
        expect(err?.code).toBe('OSTREE_GPG_VERIFY_FAILED');
        expect(`error: ${err?.message}\n`).toBe(ostreeStderr);
      }
    });

    it('a gpgkeypath that does not exist (or mixes separators) fails like ostree (opendir(PATH): No such file or directory)', async () => {
      const s = await serveRepo(srv);
      try {
        const nokey = path.join(dir, 'NOKEY.asc');
        for (const kp of [path.join(dir, 'NOKEYDIR') + '/', nokey, `,${nokey}`, `${keys.good.asc},${nokey};${nokey}`]) {
          const set = [`gpgkeypath=${kp}`];
          const mine = client(dir, s.url, { set });
          const err = await pullError(pull(await Repo.open(mine), { remote: 'origin', refs: ['main'] }));
          const o = await ostreeA([`--repo=${client(dir, s.url, { set })}`, 'pull', 'origin', 'main']);
          expect(o.stderr).toMatch(/No such file or directory|more than one separator/);
          expect(`error: ${err.message}\n`).toBe(o.stderr);
        }
      } finally {
        await s.close();
      }
    });

    it('a summary.sig by another key fails with ostree\'s message', async () => {
      const { err, ostreeStderr } = await compare('otherkey', (c) => ok(ostree([`--repo=${c}`, 'summary', '-u', `--gpg-sign=${keys.other.fpr}`, `--gpg-homedir=${keys.home}`])) && undefined);
      expect(err?.code).toBe('OSTREE_GPG_VERIFY_FAILED');
      expect(err?.data.keyIds).toEqual([keys.other.keyId]);
      expect(`error: ${err?.message}\n`).toBe(ostreeStderr);
    });
  });

  describe('mangled detached metadata', () => {
    it('pulls with gpg-verify=false and fails as unsigned with verification, as ostree', async () => {
      const { repo: srv, commit } = archive('srv-borked', t1, keys.good.fpr);
      writeFileSync(path.join(srv, 'objects', commit.slice(0, 2), `${commit.slice(2)}.commitmeta`), 'borkborkbork\n');
      const s = await serveRepo(srv);
      try {
        for (const set of [['gpg-verify=false'], ['gpg-verify=true']]) {
          const res = await Promise.all(
            [ostreeA, oursA].map(async (run) => {
              const repo = client(dir, s.url, { gpgImport: keys.good.pub, set });
              const r = await run([`--repo=${repo}`, 'pull', 'origin', 'main']);
              return { status: r.status, err: r.stderr.replace(/^error: (Commit [0-9a-f]+): .*\n$/s, 'error: $1') };
            }),
          );
          expect(res[1], set[0]).toEqual(res[0]);
        }
      } finally {
        await s.close();
      }
    });
  });

  describe('ed25519 sign-verify=true', () => {
    it('a commit signed with `commit --sign` pulls; unsigned or wrongly signed ones fail with OSTREE_SIGN_VERIFY_FAILED and nothing is written', async () => {
      const k = generateKeyPair();
      const wrong = generateKeyPair();
      const srv = path.join(dir, 'srv-ed');
      ok(ostree([`--repo=${srv}`, 'init', '--mode=archive']));
      const commit = (branch: string, extra: string[]) =>
        ok(runSync([`--repo=${srv}`, 'commit', '-b', branch, '-s', branch, `--tree=dir=${t1}`, ...extra]), `commit ${branch}`);
      const signed = commit('signed', [`--sign=${k.secretKey}`, '--sign-type=ed25519']);
      const unsigned = commit('unsigned', []);
      const bad = commit('bad', [`--sign=${wrong.secretKey}`, '--sign-type=ed25519']);
      // Detached metadata present but without an ed25519 signature.
      const other = commit('other', ['--add-detached-metadata-string=foo=bar']);
      ok(runSync([`--repo=${srv}`, 'summary', '-u']));
      const s = await serveRepo(srv);
      try {
        const set = ['sign-verify=true', `verification-ed25519-key=${k.publicKey}`];
        const mine = client(dir, s.url, { noGpg: true, set });
        const r = await pull(await Repo.open(mine), { remote: 'origin', refs: ['signed'] });
        expect(r.refs['origin:signed']).toBe(signed);
        expect((await fsck(await Repo.open(mine))).ok).toBe(true);
        expect(ostree([`--repo=${mine}`, 'fsck']).status).toBe(0);

        const cases: Array<[string, string, RegExp]> = [
          ['unsigned', unsigned, /^Can't verify commit without detached metadata$/],
          ['other', other, /^Can't verify commit: No signatures found$/],
          ['bad', bad, /^Can't verify commit: ed25519: Signature couldn't be verified with: key '[0-9a-f]{64}'$/],
        ];
        for (const [branch, csum, msg] of cases) {
          const c = client(dir, s.url, { noGpg: true, set });
          const e = await pullError(pull(await Repo.open(c), { remote: 'origin', refs: [branch] }));
          expect(e.code).toBe('OSTREE_SIGN_VERIFY_FAILED');
          expect(e.message).toMatch(msg);
          expect(e.data.commit).toBe(csum);
          expectUntouched(c, branch);
          // ostree (built without libsodium here) refuses these too.
          const theirs = client(dir, s.url, { noGpg: true, set });
          expect((await ostreeA([`--repo=${theirs}`, 'pull', 'origin', branch])).status).toBe(1);
          expect(readdirSync(path.join(theirs, 'objects'))).toEqual([]);
        }
        // ostree's own wording for the unsigned case.
        const theirs = client(dir, s.url, { noGpg: true, set });
        expect((await ostreeA([`--repo=${theirs}`, 'pull', 'origin', 'unsigned'])).stderr).toBe("error: Can't verify commit without detached metadata\n");
      } finally {
        await s.close();
      }
    }, 60_000);
  });

  describe('--localcache-repo', () => {
    it('objects in the cache repo are imported instead of downloaded; same repo and status counts as ostree', async () => {
      const srv = path.join(dir, 'srv-lc');
      ok(ostree([`--repo=${srv}`, 'init', '--mode=archive']));
      ok(ostree([`--repo=${srv}`, 'commit', '-b', 'main', '-s', 'one', t1]));
      const cache = path.join(dir, 'lc-cache');
      ok(ostree([`--repo=${cache}`, 'init', '--mode=bare-user']));
      ok(ostree([`--repo=${cache}`, 'pull-local', srv, 'main']));
      const c2 = ok(ostree([`--repo=${srv}`, 'commit', '-b', 'main', '-s', 'two', t2]));
      ok(ostree([`--repo=${srv}`, 'summary', '-u']));
      const s = await serveRepo(srv);
      try {
        const full = client(dir, s.url, { noGpg: true });
        await tick();
        let from = s.requests.length;
        const rf = await pull(await Repo.open(full), { remote: 'origin', refs: ['main'] });
        await tick();
        const fullFilez = s.requests.slice(from).filter((q) => q.path.endsWith('.filez')).length;

        const mine = client(dir, s.url, { noGpg: true });
        from = s.requests.length;
        const r = await pull(await Repo.open(mine), { remote: 'origin', refs: ['main'], localcacheRepo: cache });
        await tick();
        const ours = s.requests.slice(from).filter((q) => q.path.endsWith('.filez')).map((q) => q.path).sort();
        expect(r.refs['origin:main']).toBe(c2);
        expect(r.contentImported).toBeGreaterThan(0);
        expect(r.contentFetched).toBe(ours.length);
        expect(ours.length).toBe(fullFilez - r.contentImported);
        expect(r.contentFetched + r.contentImported).toBe(rf.contentFetched);
        expect(r.status).toMatch(/ \(\d+ meta, \d+ content local\);/);

        const theirs = client(dir, s.url, { noGpg: true });
        from = s.requests.length;
        const o = await ostreeA([`--repo=${theirs}`, 'pull', '--disable-static-deltas', `--localcache-repo=${cache}`, 'origin', 'main']);
        expect(o.status).toBe(0);
        await tick();
        const theirFilez = s.requests.slice(from).filter((q) => q.path.endsWith('.filez')).map((q) => q.path).sort();
        expect(ours).toEqual(theirFilez);
        expect(objectSet(mine)).toEqual(objectSet(theirs));
        expect(refsOf(mine)).toBe(refsOf(theirs));
        expect(ostree([`--repo=${mine}`, 'fsck']).status).toBe(0);
        // The CLI's closing line says what ostree's says (counts and bytes written; time and bytes transferred aside).
        const cli = client(dir, s.url, { noGpg: true });
        const oc = await oursA([`--repo=${cli}`, 'pull', '--disable-static-deltas', `--localcache-repo=${cache}`, 'origin', 'main']);
        expect(oc.status).toBe(0);
        const strip = (line: string) => line.replace(/; \d+ (B|KiB) transferred in \d+ seconds/, '');
        expect(strip(oc.stdout)).toBe(strip(o.stdout));
      } finally {
        await s.close();
      }
    }, 60_000);
  });

  describe('--bareuseronly-files', () => {
    let s: RepoServer;
    beforeAll(async () => {
      const srv = path.join(dir, 'srv-suid');
      ok(ostree([`--repo=${srv}`, 'init', '--mode=archive']));
      const ts = path.join(dir, 'tsuid');
      mkdirSync(ts);
      writeFileSync(path.join(ts, 'plain'), 'plain\n');
      writeFileSync(path.join(ts, 'suid'), 'suid\n');
      chmodSync(path.join(ts, 'suid'), 0o4755);
      ok(ostree([`--repo=${srv}`, 'commit', '-b', 'suid', '-s', 'suid', ts]));
      const tw = path.join(dir, 'tww');
      mkdirSync(tw);
      writeFileSync(path.join(tw, 'ww'), 'ww\n');
      chmodSync(path.join(tw, 'ww'), 0o666);
      ok(ostree([`--repo=${srv}`, 'commit', '-b', 'ww', '-s', 'ww', tw]));
      ok(ostree([`--repo=${srv}`, 'summary', '-u']));
      s = await serveRepo(srv);
    });
    afterAll(() => s?.close());

    const cases: Array<[string, string, boolean]> = [
      ['bare-user-only', 'suid', true],
      ['bare-user-only', 'ww', true],
      ['bare-user-only', 'suid', false],
      ['bare-user-only', 'ww', false],
      ['bare-user', 'suid', true],
      ['bare-user', 'suid', false],
      ['bare-user', 'ww', false],
    ];
    for (const [mode, branch, flag] of cases) {
      it(`${branch} into ${mode}${flag ? ' with --bareuseronly-files' : ''}: same outcome and error text as ostree`, async () => {
        const mine = client(dir, s.url, { noGpg: true, mode });
        const theirs = client(dir, s.url, { noGpg: true, mode });
        const args = flag ? ['--bareuseronly-files'] : [];
        const o = await ostreeA([`--repo=${theirs}`, 'pull', ...args, 'origin', branch]);
        const c = await oursA([`--repo=${mine}`, 'pull', ...args, 'origin', branch]);
        expect(c.status).toBe(o.status);
        if (o.status !== 0) {
          expect(c.stderr).toBe(o.stderr);
          const lib = client(dir, s.url, { noGpg: true, mode });
          const e = await pullError(pull(await Repo.open(lib), { remote: 'origin', refs: [branch], bareuseronlyFiles: flag }));
          expect(e.code).toBe('OSTREE_INVALID_ARGUMENT');
          expect(existsSync(path.join(lib, 'refs', 'remotes', 'origin', branch))).toBe(false);
        } else {
          expect(objectSet(mine)).toEqual(objectSet(theirs));
          expect(ostree([`--repo=${mine}`, 'fsck']).status).toBe(0);
        }
      });
    }
  });

  describe('proxy', () => {
    it('plain forward proxy for http://, CONNECT for https://: the proxy sees the requests and the pull succeeds', async () => {
      const seen: string[] = [];
      const proxy = http.createServer((req, res) => {
        // Absolute-form request line: forward it.
        seen.push(`${req.method} ${req.url}`);
        const u = new URL(req.url as string);
        const up = http.request({ host: u.hostname, port: u.port, path: u.pathname + u.search, method: req.method, headers: req.headers }, (ur) => {
          res.writeHead(ur.statusCode ?? 502, ur.headers);
          ur.pipe(res);
        });
        up.on('error', () => res.destroy());
        req.pipe(up);
      });
      proxy.on('connect', (req: http.IncomingMessage, sock: net.Socket, head: Buffer) => {
        seen.push(`CONNECT ${req.url}`);
        const [host, port] = (req.url as string).split(':');
        const up = net.connect(Number(port), host, () => {
          sock.write('HTTP/1.1 200 Connection Established\r\n\r\n');
          if (head.length) up.write(head);
          up.pipe(sock);
          sock.pipe(up);
        });
        up.on('error', () => sock.destroy());
        sock.on('error', () => up.destroy());
      });
      const conns = new Set<net.Socket>();
      proxy.on('connection', (c: net.Socket) => {
        conns.add(c);
        c.on('close', () => conns.delete(c));
      });
      await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
      const proxyUrl = `http://127.0.0.1:${(proxy.address() as net.AddressInfo).port}`;

      const { repo: srv, commit } = archive('srv-proxy', t1);
      const s = await serveRepo(srv);
      const pki = makeTestPki(path.join(dir, 'pki'));
      const tlsSrv = await serveRepo(srv, { tls: { cert: readFileSync(path.join(pki, 'server.pem')), key: readFileSync(path.join(pki, 'server.key')) } });
      try {
        const mine = client(dir, s.url, { noGpg: true, set: [`proxy=${proxyUrl}`] });
        const r = await pull(await Repo.open(mine), { remote: 'origin', refs: ['main'] });
        expect(r.refs['origin:main']).toBe(commit);
        expect(seen).toContain(`GET ${s.url}/config`);
        expect(seen.filter((l) => l.endsWith('.filez')).length).toBe(r.contentFetched);
        expect(s.requests.length).toBeGreaterThan(0);
        // ostree goes through the same proxy the same way.
        seen.length = 0;
        const theirs = client(dir, s.url, { noGpg: true, set: [`proxy=${proxyUrl}`] });
        expect((await ostreeA([`--repo=${theirs}`, 'pull', 'origin', 'main'])).status).toBe(0);
        expect(seen).toContain(`GET ${s.url}/objects/${commit.slice(0, 2)}/${commit.slice(2)}.commit`);
        expect(objectSet(mine)).toEqual(objectSet(theirs));

        seen.length = 0;
        const tmine = client(dir, tlsSrv.url, { noGpg: true, set: [`proxy=${proxyUrl}`, `tls-ca-path=${path.join(pki, 'ca.pem')}`] });
        const rt = await pull(await Repo.open(tmine), { remote: 'origin', refs: ['main'] });
        expect(rt.refs['origin:main']).toBe(commit);
        expect(seen.length).toBeGreaterThan(0);
        expect(seen.every((l) => l === `CONNECT 127.0.0.1:${tlsSrv.port}`)).toBe(true);
        expect(tlsSrv.requests.some((q) => q.path === '/config')).toBe(true);
        expect(ostree([`--repo=${tmine}`, 'fsck']).status).toBe(0);
      } finally {
        await s.close();
        await tlsSrv.close();
        for (const c of conns) c.destroy();
        await new Promise((r) => proxy.close(r));
      }
    }, 60_000);
  });

  describe('summary cache', () => {
    it('caches summary + summary.sig with ETag/Last-Modified like ostree; the next pull gets a 304 and still works', async () => {
      const { repo: srv } = archive('srv-cache', t1, keys.good.fpr);
      ok(ostree([`--repo=${srv}`, 'summary', '-u', `--gpg-sign=${keys.good.fpr}`, `--gpg-homedir=${keys.home}`]));
      const s = await serveRepo(srv);
      try {
        const set = ['gpg-verify-summary=true'];
        const mine = client(dir, s.url, { gpgImport: keys.good.pub, set });
        const theirs = client(dir, s.url, { gpgImport: keys.good.pub, set });
        const r1 = await pull(await Repo.open(mine), { remote: 'origin', refs: ['main'] });
        expect(r1.summaryFromCache).toBe(false);
        ok(await ostreeA([`--repo=${theirs}`, 'pull', 'origin', 'main']));
        const cached = (repo: string, f: string) => path.join(repo, 'tmp', 'cache', 'summaries', f);
        for (const f of ['origin', 'origin.sig']) {
          const served = path.join(srv, f === 'origin' ? 'summary' : 'summary.sig');
          expect(readFileSync(cached(mine, f))).toEqual(readFileSync(served));
          const mx = (await native().xattrs_get(cached(mine, f))).find(([k]) => k === 'user.etag')?.[1].toString();
          const tx = (await native().xattrs_get(cached(theirs, f))).find(([k]) => k === 'user.etag')?.[1].toString();
          expect(mx).toBeTruthy();
          expect(mx).toBe(tx);
          expect(Math.floor(statSync(cached(mine, f)).mtimeMs / 1000)).toBe(Math.floor(statSync(served).mtimeMs / 1000));
          expect(statSync(cached(mine, f)).mtimeMs).toBe(statSync(cached(theirs, f)).mtimeMs);
        }

        // Second pull: If-None-Match → 304, no summary download, still verified and fine.
        await tick();
        let from = s.requests.length;
        const r2 = await pull(await Repo.open(mine), { remote: 'origin', refs: ['main'] });
        await tick();
        const ours2 = s.requests.slice(from);
        expect(r2.summaryFromCache).toBe(true);
        expect(ours2.find((q) => q.path === '/summary.sig')?.status).toBe(304);
        expect(ours2.find((q) => q.path === '/summary.sig')?.headers['if-none-match']).toBeTruthy();
        expect(ours2.some((q) => q.path === '/summary')).toBe(false);
        from = s.requests.length;
        ok(await ostreeA([`--repo=${theirs}`, 'pull', 'origin', 'main']));
        await tick();
        const theirs2 = s.requests.slice(from);
        expect(theirs2.find((q) => q.path === '/summary.sig')?.status).toBe(304);
        expect(theirs2.some((q) => q.path === '/summary')).toBe(false);

        // A new commit and summary: both are downloaded again and the cache is replaced.
        await new Promise((r) => setTimeout(r, 1100));
        const c2 = ok(ostree([`--repo=${srv}`, 'commit', '-b', 'main', '-s', 'two', `--gpg-sign=${keys.good.fpr}`, `--gpg-homedir=${keys.home}`, t2]));
        ok(ostree([`--repo=${srv}`, 'summary', '-u', `--gpg-sign=${keys.good.fpr}`, `--gpg-homedir=${keys.home}`]));
        from = s.requests.length;
        const r3 = await pull(await Repo.open(mine), { remote: 'origin', refs: ['main'] });
        await tick();
        expect(r3.refs['origin:main']).toBe(c2);
        expect(r3.summaryFromCache).toBe(false);
        expect(s.requests.slice(from).filter((q) => q.path.startsWith('/summary')).map((q) => `${q.path} ${q.status}`)).toEqual(['/summary.sig 200', '/summary 200']);
        expect(readFileSync(cached(mine, 'origin'))).toEqual(readFileSync(path.join(srv, 'summary')));

        // A cached summary that no longer verifies is downloaded again (without validators).
        const stale = readFileSync(cached(mine, 'origin'));
        stale[stale.length - 20] ^= 1;
        writeFileSync(cached(mine, 'origin'), stale);
        from = s.requests.length;
        const r4 = await pull(await Repo.open(mine), { remote: 'origin', refs: ['main'] });
        await tick();
        expect(r4.refs['origin:main']).toBe(c2);
        const sumReq = s.requests.slice(from).find((q) => q.path === '/summary');
        expect(sumReq?.status).toBe(200);
        expect(sumReq?.headers['if-none-match']).toBeUndefined();
        expect((await fsck(await Repo.open(mine))).ok).toBe(true);
      } finally {
        await s.close();
      }
    }, 60_000);
  });
});

function runSync(args: string[]): RunResult {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'buffer' });
  return { status: r.status ?? -1, stdout: r.stdout.toString(), stderr: r.stderr.toString(), stdoutBuf: r.stdout };
}
