// HTTP redirects during a pull (issue 16, item 5): ostree (libcurl with
// FOLLOWLOCATION) follows them, so remotes behind a CDN, Pulp or presigned
// S3 URLs work. We follow 301/302/303/307/308 too — relative or absolute,
// to the same or another origin — with kept-alive connections reused where
// the host stays the same, at most MAX_REDIRECTS hops, loops cut at the first
// repeat, no https→http downgrade, credentials kept to their origin.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import * as path from 'node:path';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir, cleanupTmp, ours, ok, HAVE_OSTREE } from './helpers/interop';
import { oursA, ostreeA, makeTestPki } from './helpers/pull';
import { serveHostile, Action, HostileServer } from './helpers/hostile';
import { createFetcher, MAX_REDIRECTS } from '../lib/pull/fetcher';

describe('pull through HTTP redirects', () => {
  let dir: string;
  let srv: string;
  let commit: string;
  let n = 0;
  const servers: HostileServer[] = [];

  beforeAll(() => {
    dir = tmpdir();
    srv = path.join(dir, 'srv');
    const tree = path.join(dir, 'tree');
    mkdirSync(path.join(tree, 'a', 'b'), { recursive: true });
    writeFileSync(path.join(tree, 'hello.txt'), 'hello\n');
    writeFileSync(path.join(tree, 'a', 'one'), 'one\n');
    writeFileSync(path.join(tree, 'a', 'b', 'blob'), randomBytes(200 * 1024));
    ok(ours([`--repo=${srv}`, 'init', '--mode=archive']));
    commit = ok(ours([`--repo=${srv}`, 'commit', '-b', 'main', '-s', 'one', tree]));
    ok(ours([`--repo=${srv}`, 'summary', '-u']));
  });
  afterAll(async () => {
    for (const s of servers) await s.close();
    cleanupTmp();
  });

  async function serve(route: (p: string) => Action | null, opts: Parameters<typeof serveHostile>[2] = {}): Promise<HostileServer> {
    const s = await serveHostile(srv, route, opts);
    servers.push(s);
    return s;
  }

  function client(url: string, set: string[] = []): string {
    const repo = path.join(dir, `client-${n++}`);
    ok(ours([`--repo=${repo}`, 'init', '--mode=bare-user']));
    ok(ours([`--repo=${repo}`, 'remote', 'add', '--no-gpg-verify', ...set.map((s) => `--set=${s}`), 'origin', url]));
    return repo;
  }

  /** Pull origin:main with our CLI and check the result. */
  async function pullsOk(repo: string): Promise<void> {
    const r = await oursA([`--repo=${repo}`, 'pull', 'origin', 'main']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(ok(ours([`--repo=${repo}`, 'rev-parse', 'origin:main']))).toBe(commit);
    expect(ours([`--repo=${repo}`, 'fsck']).status).toBe(0);
  }

  /** Everything below / answered with a redirect to /real/…, which serves the repository. */
  const underReal = (status: number) => (p: string): Action =>
    p.startsWith('/real/') ? { kind: 'serve', path: p.slice(5) } : { kind: 'redirect', status, location: `/real${p}` };

  it('a single 302 per request: the pull succeeds, over a few kept-alive connections', async () => {
    const s = await serve(underReal(302));
    await pullsOk(client(s.url));
    const redirected = s.requests.filter((q) => !q.startsWith('GET /real/')).length;
    console.log(`single 302: ${s.requests.length} requests over ${s.connections()} connections`);
    expect(redirected).toBeGreaterThan(8);
    expect(s.requests.length).toBe(2 * redirected);
    // Each redirect and its target go over the same connection: far fewer connections than requests.
    expect(s.connections()).toBeLessThanOrEqual(8);
  });

  it('one connection serves a redirect and its target (library, one request at a time)', async () => {
    const s = await serve(underReal(307));
    const f = createFetcher({ url: s.url, maxConcurrency: 1 });
    try {
      expect((await f.fetch('config'))?.toString()).toBe(readFileSync(path.join(srv, 'config'), 'utf8'));
      expect((await f.fetch('refs/heads/main'))?.toString().trim()).toBe(commit);
      expect(await f.fetch('summary')).toEqual(readFileSync(path.join(srv, 'summary')));
    } finally {
      f.close();
    }
    expect(s.requests).toEqual(['GET /config', 'GET /real/config', 'GET /refs/heads/main', 'GET /real/refs/heads/main', 'GET /summary', 'GET /real/summary']);
    expect(s.connections()).toBe(1);
  });

  /** /PATH → /r1/PATH → … → /rN/PATH (served), with every redirect status and Location form. */
  const chain = (hops: number, base = '') => (p: string): Action => {
    const m = /^\/r(\d+)(\/.*)$/.exec(p);
    const k = m ? Number(m[1]) : 0;
    const rest = m ? m[2] : p;
    if (k >= hops) return { kind: 'serve', path: rest };
    const status = [301, 302, 303, 307, 308][k % 5];
    // Absolute URL, absolute path, and a path relative to the current one in turn.
    const forms = [`${base}/r${k + 1}${rest}`, `/r${k + 1}${rest}`, `${'../'.repeat(rest.split('/').length - 2 + (m ? 1 : 0))}r${k + 1}${rest}`];
    return { kind: 'redirect', status, location: forms[k % 3] };
  };

  it('a chain of redirects of every kind (301, 302, 303, 307, 308; absolute and relative Locations)', async () => {
    let base = '';
    const s = await serve((p) => chain(5, base)(p));
    base = s.url;
    await pullsOk(client(s.url));
    expect(s.requests.some((q) => q.startsWith('GET /r5/objects/'))).toBe(true);
  });

  it(`${MAX_REDIRECTS} redirects are followed; one more is an error`, async () => {
    const s = await serve(chain(MAX_REDIRECTS));
    await pullsOk(client(s.url));
    const t = await serve(chain(MAX_REDIRECTS + 1));
    const repo = client(t.url);
    const r = await oursA([`--repo=${repo}`, 'pull', 'origin', 'main']);
    expect(r.stderr).toBe(`error: While fetching ${t.url}/r${MAX_REDIRECTS}/summary.sig: Too many redirects (more than ${MAX_REDIRECTS})\n`);
    expect(r.status).toBe(1);
  });

  it('a redirect loop ends at the first URL seen again, with a clear error', async () => {
    const s = await serve((p) => ({ kind: 'redirect', status: 302, location: p.startsWith('/b/') ? p.slice(2) : `/b${p}` }));
    const repo = client(s.url);
    const r = await oursA([`--repo=${repo}`, 'pull', 'origin', 'main']);
    expect(r.stderr).toBe(`error: While fetching ${s.url}/b/summary.sig: Redirect loop (${s.url}/summary.sig again)\n`);
    expect(r.status).toBe(1);
    expect(s.requests.filter((q) => q.endsWith('/summary.sig'))).toEqual(['GET /summary.sig', 'GET /b/summary.sig']);
  });

  it('to another origin: its own kept-alive connections, and the credentials of the first origin stay there', async () => {
    const b = await serve(() => null);
    const a = await serve((p) => ({ kind: 'redirect', status: 302, location: `${b.url}${p}` }));
    const withCreds = a.url.replace('http://', 'http://user:secret@');
    await pullsOk(client(withCreds));
    expect(a.requests.length).toBe(b.requests.length);
    expect(a.headers.every((h) => h.authorization === `Basic ${Buffer.from('user:secret').toString('base64')}`)).toBe(true);
    expect(b.headers.some((h) => h.authorization !== undefined)).toBe(false);
    console.log(`other origin: A ${a.requests.length} requests over ${a.connections()} connections, B ${b.requests.length} over ${b.connections()}`);
    expect(b.connections()).toBeLessThanOrEqual(8);
    expect(b.requests.length).toBeGreaterThan(8);
  });

  it('https → http is refused (no request reaches the http server); so is a redirect to file://', async () => {
    const pki = makeTestPki(path.join(dir, 'pki'));
    const plain = await serve(() => null);
    const tls = { cert: readFileSync(path.join(pki, 'server.pem')), key: readFileSync(path.join(pki, 'server.key')) };
    const s = await serve((p) => ({ kind: 'redirect', status: 302, location: `${plain.url}${p}` }), { tls });
    const repo = client(s.url, [`tls-ca-path=${path.join(pki, 'ca.pem')}`]);
    const r = await oursA([`--repo=${repo}`, 'pull', 'origin', 'main']);
    expect(r.stderr).toBe(`error: While fetching ${s.url}/summary.sig: Redirect from https to http refused (${plain.url}/summary.sig)\n`);
    expect(r.status).toBe(1);
    expect(plain.requests).toEqual([]);

    const f = await serve((p) => ({ kind: 'redirect', status: 301, location: `file://${srv}${p}` }));
    const r2 = await oursA([`--repo=${client(f.url)}`, 'pull', 'origin', 'main']);
    expect(r2.stderr).toBe(`error: While fetching ${f.url}/summary.sig: Redirect to unsupported protocol 'file' refused (file://${srv}/summary.sig)\n`);
    expect(r2.status).toBe(1);
  });

  it.skipIf(!HAVE_OSTREE)('ostree 2022.7 pulls through the same single redirect and chain', async () => {
    let base = '';
    for (const route of [underReal(302), (p: string) => chain(5, base)(p)]) {
      const s = await serve(route);
      base = s.url;
      const repo = client(s.url);
      const o = await ostreeA([`--repo=${repo}`, 'pull', 'origin', 'main']);
      expect(o.status, o.stderr).toBe(0);
      expect(ok(ours([`--repo=${repo}`, 'rev-parse', 'origin:main']))).toBe(commit);
    }
  });
});
