// trivial-httpd / serveRepo and the pull fetcher: Range, fault injection,
// retries, stalls, truncation, auth, headers, keep-alive and concurrency;
// the server's own HTTP handling: pipelining, timeouts, malformed requests
// and paths out of the root.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import * as http from 'node:http';
import * as net from 'node:net';
import * as path from 'node:path';
import { mkdirSync, writeFileSync, existsSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { serveRepo, RepoServer } from '../lib/httpd';
import { createFetcher } from '../lib/pull/fetcher';
import { OstreeError } from '../lib/errors';
import { tmpdir, cleanupTmp, ours } from './helpers/interop';

function payload(i: number, n: number): Buffer {
  const b = Buffer.alloc(n);
  for (let k = 0; k < n; k++) b[k] = (k * 31 + i * 7) & 0xff;
  return b;
}

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    return (e as OstreeError).code;
  }
  return 'no error';
}

/** A raw server for misbehaviour the file server doesn't do. */
async function rawServer(handler: http.RequestListener): Promise<{ url: string; close: () => Promise<void>; connections: () => number }> {
  const srv = http.createServer(handler);
  let conns = 0;
  const socks = new Set<import('node:net').Socket>();
  srv.on('connection', (s) => {
    conns++;
    socks.add(s);
    s.on('close', () => socks.delete(s));
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const port = (srv.address() as import('node:net').AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    connections: () => conns,
    close: () =>
      new Promise<void>((r) => {
        srv.close(() => r());
        for (const s of socks) s.destroy();
      }),
  };
}

describe('serveRepo and the fetcher', () => {
  let dir: string;
  let server: RepoServer;
  const files = new Map<string, Buffer>();

  beforeAll(async () => {
    dir = tmpdir();
    mkdirSync(path.join(dir, 'objects', 'ab'), { recursive: true });
    for (let i = 0; i < 30; i++) {
      const b = payload(i, 1000 + i * 997);
      const rel = `objects/ab/file${i}`;
      writeFileSync(path.join(dir, rel), b);
      files.set(rel, b);
    }
    writeFileSync(path.join(dir, 'config'), '[core]\nrepo_version=1\nmode=archive-z2\n');
    server = await serveRepo(dir);
  });
  afterAll(async () => {
    await server.close();
    cleanupTmp();
  });

  it('serves files, byte ranges, 404 and refuses paths outside the root', async () => {
    const get = (p: string, headers: Record<string, string> = {}) =>
      new Promise<{ status: number; body: Buffer; headers: http.IncomingHttpHeaders }>((resolve, reject) => {
        http.get(`${server.url}${p}`, { headers }, (res) => {
          const parts: Buffer[] = [];
          res.on('data', (c) => parts.push(c));
          res.on('end', () => resolve({ status: res.statusCode as number, body: Buffer.concat(parts), headers: res.headers }));
        }).on('error', reject);
      });
    const whole = files.get('objects/ab/file3') as Buffer;
    const r1 = await get('/objects/ab/file3');
    expect(r1.status).toBe(200);
    expect(r1.body.equals(whole)).toBe(true);
    const r2 = await get('/objects/ab/file3', { range: 'bytes=10-19' });
    expect(r2.status).toBe(206);
    expect(r2.headers['content-range']).toBe(`bytes 10-19/${whole.length}`);
    expect(r2.body.equals(whole.subarray(10, 20))).toBe(true);
    const r3 = await get('/objects/ab/file3', { range: 'bytes=-5' });
    expect(r3.body.equals(whole.subarray(whole.length - 5))).toBe(true);
    const r4 = await get('/objects/ab/file3', { range: `bytes=${whole.length + 5}-` });
    expect(r4.status).toBe(416);
    expect((await get('/nope')).status).toBe(404);
    expect([403, 404]).toContain((await get('/../../etc/passwd')).status);
    expect(server.requests.at(-1)?.path).toBeDefined();
  });

  it('fetches concurrently over a few kept-alive connections, never more than 8 in flight', async () => {
    let inFlight = 0;
    let maxInFlight = 0;
    const raw = await rawServer((req, res) => {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      setTimeout(() => {
        inFlight--;
        const b = files.get((req.url as string).slice(1));
        if (!b) {
          res.writeHead(404).end();
          return;
        }
        res.writeHead(200, { 'content-length': b.length }).end(b);
      }, 20);
    });
    const f = createFetcher({ url: raw.url });
    try {
      const keys = [...files.keys()];
      const bodies = await Promise.all([...keys, ...keys].map((k) => f.fetch(k, { content: true })));
      bodies.forEach((b, i) => expect(b?.equals(files.get([...keys, ...keys][i]) as Buffer)).toBe(true));
      expect(maxInFlight).toBeGreaterThan(1);
      expect(maxInFlight).toBeLessThanOrEqual(8);
      expect(raw.connections()).toBeLessThanOrEqual(8);
      const total = [...files.values()].reduce((n, b) => n + b.length, 0) * 2;
      expect(f.bytesTransferred).toBe(total);
    } finally {
      f.close();
      await raw.close();
    }
  });

  it('404 -> OSTREE_HTTP with status and url; optional -> null', async () => {
    const f = createFetcher({ url: server.url });
    try {
      expect(await f.fetch('summary', { optional: true })).toBeNull();
      let err: OstreeError | null = null;
      await f.fetch('objects/ab/missing').catch((e) => (err = e));
      expect(err).toBeInstanceOf(OstreeError);
      expect(err!.code).toBe('OSTREE_HTTP');
      expect(err!.data).toEqual({ status: 404, url: `${server.url}/objects/ab/missing` });
      expect(await codeOf(f.fetch('objects/ab/file29', { maxSize: 100 }))).toBe('OSTREE_HTTP');
    } finally {
      f.close();
    }
  });

  it('survives random 500s and 408s by retrying with backoff', async () => {
    let x = 7;
    const random = () => ((x = (Math.imul(x, 1103515245) + 12345) >>> 0) / 2 ** 32);
    const s = await serveRepo(dir, { random500s: 50, random408s: 50, random });
    const f = createFetcher({ url: s.url, retries: 30, backoffMs: 1, maxBackoffMs: 10 });
    try {
      for (const [rel, b] of files) expect((await f.fetch(rel))?.equals(b)).toBe(true);
      const statuses = s.requests.map((r) => r.status);
      expect(statuses.filter((st) => st === 500).length).toBeGreaterThan(0);
      expect(statuses.filter((st) => st === 408).length).toBeGreaterThan(0);
      expect(f.requests).toBe(s.requests.length);
    } finally {
      f.close();
      await s.close();
    }
    // Without retries the same faults are errors.
    const s2 = await serveRepo(dir, { random500s: 100 });
    const f2 = createFetcher({ url: s2.url, retries: 0 });
    try {
      const e = await f2.fetch('config').catch((err) => err);
      expect(e.code).toBe('OSTREE_HTTP');
      expect(e.data.status).toBe(500);
      expect(s2.requests.length).toBe(1);
    } finally {
      f2.close();
      await s2.close();
    }
  });

  it('--force-range-requests: pieces are joined with Range requests', async () => {
    const s = await serveRepo(dir, { forceRangeRequests: true });
    const f = createFetcher({ url: s.url });
    try {
      const b = await f.fetch('objects/ab/file20');
      expect(b?.equals(files.get('objects/ab/file20') as Buffer)).toBe(true);
      expect(s.requests.length).toBeGreaterThan(1);
      expect(s.requests.every((r) => r.status === 206)).toBe(true);
    } finally {
      f.close();
      await s.close();
    }
  });

  it('basic auth from URL userinfo, expected headers and cookies', async () => {
    const s = await serveRepo(dir, { requireBasicAuth: true, expectedHeaders: ['X-Test=yes'], expectedCookies: ['session=abc'] });
    const u = new URL(s.url);
    try {
      const bad = createFetcher({ url: s.url, retries: 0 });
      expect((await bad.fetch('config').catch((e) => e)).data.status).toBe(401);
      bad.close();
      u.username = 'foouser';
      u.password = 'barpw';
      const noHeader = createFetcher({ url: u.href, retries: 0 });
      expect((await noHeader.fetch('config').catch((e) => e)).data.status).toBe(400);
      noHeader.close();
      const good = createFetcher({ url: u.href, headers: [['X-Test', 'yes'], ['Cookie', 'session=abc']] });
      expect((await good.fetch('config'))?.toString()).toContain('archive-z2');
      good.close();
    } finally {
      await s.close();
    }
  });

  it('a stalled transfer fails with OSTREE_TIMEOUT; an abort with OSTREE_ABORTED', async () => {
    const raw = await rawServer((_req, res) => {
      res.writeHead(200, { 'content-length': 100000 });
      res.write(Buffer.alloc(10));
      // ...and nothing more.
    });
    try {
      const f = createFetcher({ url: raw.url, retries: 1, backoffMs: 1, lowSpeedLimit: 1000, lowSpeedTime: 0.3 });
      const t0 = Date.now();
      const e = await f.fetch('x').catch((err) => err);
      expect(e.code).toBe('OSTREE_TIMEOUT');
      expect(Date.now() - t0).toBeLessThan(5000);
      f.close();
      const ac = new AbortController();
      const f2 = createFetcher({ url: raw.url, signal: ac.signal });
      setTimeout(() => ac.abort(), 100);
      expect(await codeOf(f2.fetch('x'))).toBe('OSTREE_ABORTED');
      f2.close();
    } finally {
      await raw.close();
    }
  });

  it('a truncated body is an error, and is resumed with Range when retried', async () => {
    const body = payload(99, 5000);
    let calls = 0;
    const ranges: Array<string | undefined> = [];
    const raw = await rawServer((req, res) => {
      calls++;
      ranges.push(req.headers.range);
      const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
      if (m) {
        const start = Number(m[1]);
        res.writeHead(206, { 'content-length': body.length - start, 'content-range': `bytes ${start}-${body.length - 1}/${body.length}` });
        res.end(body.subarray(start));
        return;
      }
      res.writeHead(200, { 'content-length': body.length });
      res.write(body.subarray(0, 2000), () => res.destroy());
    });
    try {
      const f0 = createFetcher({ url: raw.url, retries: 0 });
      expect(await codeOf(f0.fetch('x'))).toBe('OSTREE_NETWORK');
      f0.close();
      const f = createFetcher({ url: raw.url, retries: 2, backoffMs: 1 });
      const b = await f.fetch('x');
      expect(b?.equals(body)).toBe(true);
      expect(ranges.at(-1)).toBe('bytes=2000-');
      f.close();
    } finally {
      await raw.close();
    }
    expect(calls).toBe(3);
  });

  it('file:// URLs read from disk', async () => {
    const f = createFetcher({ url: pathToFileURL(dir).href });
    expect((await f.fetch('objects/ab/file1'))?.equals(files.get('objects/ab/file1') as Buffer)).toBe(true);
    expect(await f.fetch('summary', { optional: true })).toBeNull();
    expect(await codeOf(f.fetch('nope'))).toBe('OSTREE_HTTP');
  });

  it('CLI: trivial-httpd -d -p PORTFILE --log-file --autoexit', async () => {
    const d = tmpdir();
    const served = path.join(d, 'served');
    mkdirSync(served);
    writeFileSync(path.join(served, 'hello'), 'hello world\n');
    // ostree's tests serve `httpd/ostree -> /abs/ostree-srv`: symlinks are followed, as by ostree-trivial-httpd.
    mkdirSync(path.join(d, 'srv'));
    writeFileSync(path.join(d, 'srv', 'config'), '[core]\n');
    symlinkSync(path.join(d, 'srv'), path.join(served, 'ostree'));
    const portFile = path.join(d, 'port');
    const log = path.join(d, 'log');
    const r = ours(['trivial-httpd', '-d', '-p', portFile, `--log-file=${log}`, '--autoexit', served]);
    expect(r.status).toBe(0);
    const port = Number(readFileSync(portFile, 'utf8').trim());
    expect(port).toBeGreaterThan(0);
    const f = createFetcher({ url: `http://127.0.0.1:${port}` });
    expect((await f.fetch('hello'))?.toString()).toBe('hello world\n');
    expect(await f.fetch('missing', { optional: true })).toBeNull();
    expect((await f.fetch('ostree/config'))?.toString()).toBe('[core]\n');
    f.close();
    expect(readFileSync(log, 'utf8')).toBe('GET /hello 200\nGET /missing 404\nGET /ostree/config 200\n');
    rmSync(served, { recursive: true });
    // --autoexit: the server goes away once its directory is deleted.
    let gone = false;
    for (let i = 0; i < 40 && !gone; i++) {
      await new Promise((res) => setTimeout(res, 100));
      const g = createFetcher({ url: `http://127.0.0.1:${port}`, retries: 0 });
      gone = (await codeOf(g.fetch('hello'))) === 'OSTREE_NETWORK';
      g.close();
    }
    expect(gone).toBe(true);
    expect(existsSync(portFile)).toBe(true);
  });
});

interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

/** Split `buf` into the responses to `methods` (a HEAD or 304 answer has no body). */
function parseResponses(buf: Buffer, methods: string[]): RawResponse[] {
  const out: RawResponse[] = [];
  let off = 0;
  for (const m of methods) {
    const end = buf.indexOf('\r\n\r\n', off);
    if (end < 0) break;
    const lines = buf.toString('latin1', off, end).split('\r\n');
    const status = Number(lines[0].split(' ')[1]);
    const headers: Record<string, string> = {};
    for (const l of lines.slice(1)) {
      const i = l.indexOf(':');
      headers[l.slice(0, i).toLowerCase()] = l.slice(i + 1).trim();
    }
    const len = m === 'HEAD' || status === 304 ? 0 : Number(headers['content-length'] ?? 0);
    out.push({ status, headers, body: buf.subarray(end + 4, end + 4 + len) });
    off = end + 4 + len;
  }
  return out;
}

/** Connect, write `text`, and collect what comes back until the server closes the connection. */
function exchange(port: number, text: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1');
    const parts: Buffer[] = [];
    s.on('data', (c) => parts.push(c));
    s.on('error', reject);
    s.on('close', () => resolve(Buffer.concat(parts)));
    s.write(text);
  });
}

describe('serveRepo: HTTP handling', () => {
  let dir: string;
  let outside: string;
  const file1 = payload(1, 5000);
  const big = payload(2, 8 * 1024 * 1024);

  beforeAll(() => {
    const top = tmpdir();
    dir = path.join(top, 'served');
    outside = path.join(top, 'outside');
    mkdirSync(path.join(dir, 'objects', 'ab'), { recursive: true });
    mkdirSync(outside);
    writeFileSync(path.join(dir, 'objects', 'ab', 'file1'), file1);
    writeFileSync(path.join(dir, 'big'), big);
    writeFileSync(path.join(outside, 'secret'), 'secret\n');
    symlinkSync(path.join(outside, 'secret'), path.join(dir, 'out'));
    symlinkSync('../outside', path.join(dir, 'outdir'));
    symlinkSync('objects/ab/file1', path.join(dir, 'in'));
  });
  afterAll(() => cleanupTmp());

  const get = (s: RepoServer, p: string) =>
    new Promise<{ status: number; body: Buffer }>((resolve, reject) => {
      http.get(`${s.url}${p}`, { agent: false }, (res) => {
        const parts: Buffer[] = [];
        res.on('data', (c) => parts.push(c));
        res.on('end', () => resolve({ status: res.statusCode as number, body: Buffer.concat(parts) }));
      }).on('error', reject);
    });

  it('a malformed %-escape is 400; dot segments, escaped slashes and symlinks out of the root are refused', async () => {
    const s = await serveRepo(dir);
    try {
      expect((await get(s, '/objects/ab/%zz')).status).toBe(400);
      expect((await get(s, '/objects/ab/file%E0%A4%A')).status).toBe(400);
      expect((await get(s, '/objects/ab/file1%00')).status).toBe(400);
      // %2e%2e is a dot segment: resolved inside the root, never above it.
      expect((await get(s, '/%2e%2e/outside/secret')).status).toBe(404);
      expect((await get(s, '/objects/%2E%2E/%2e%2e/%2e%2e/outside/secret')).status).toBe(404);
      expect((await get(s, '/..%2Foutside%2Fsecret')).status).toBe(403);
      expect((await get(s, '/objects/..%2F..%2F..%2Foutside%2Fsecret')).status).toBe(403);
      expect((await get(s, '/out')).status).toBe(403);
      expect((await get(s, '/outdir/secret')).status).toBe(403);
      const inside = await get(s, '/in');
      expect(inside.status).toBe(200);
      expect(inside.body.equals(file1)).toBe(true);
      expect(s.requests.map((r) => r.status)).toEqual([400, 400, 400, 404, 404, 403, 403, 403, 403, 200]);
    } finally {
      await s.close();
    }
  });

  it('followSymlinks serves through symlinks out of the root, still refusing escaped ".."', async () => {
    const s = await serveRepo(dir, { followSymlinks: true });
    try {
      expect((await get(s, '/out')).body.toString()).toBe('secret\n');
      expect((await get(s, '/outdir/secret')).status).toBe(200);
      expect((await get(s, '/..%2Foutside%2Fsecret')).status).toBe(403);
    } finally {
      await s.close();
    }
  });

  it('pipelined requests on one connection are answered in order', async () => {
    const s = await serveRepo(dir);
    try {
      const methods = ['GET', 'HEAD', 'GET', 'GET', 'GET'];
      const buf = await exchange(
        s.port,
        'GET /objects/ab/file1 HTTP/1.1\r\nHost: x\r\n\r\n' +
          'HEAD /objects/ab/file1 HTTP/1.1\r\nHost: x\r\n\r\n' +
          'GET /nope HTTP/1.1\r\nHost: x\r\n\r\n' +
          'GET /objects/ab/file1 HTTP/1.1\r\nHost: x\r\nRange: bytes=10-19\r\n\r\n' +
          'GET /big HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
      );
      const rs = parseResponses(buf, methods);
      expect(rs.map((r) => r.status)).toEqual([200, 200, 404, 206, 200]);
      expect(rs[0].body.equals(file1)).toBe(true);
      expect(rs[1].headers['content-length']).toBe(String(file1.length));
      expect(rs[1].body.length).toBe(0);
      expect(rs[3].body.equals(file1.subarray(10, 20))).toBe(true);
      expect(rs[4].headers.connection).toBe('close');
      expect(rs[4].body.equals(big)).toBe(true);
    } finally {
      await s.close();
    }
  });

  it('HTTP/1.0 and a request with a body are answered, then the connection is closed; connections beyond maxConnections are refused', async () => {
    const s = await serveRepo(dir, { maxConnections: 2 });
    try {
      const old = parseResponses(await exchange(s.port, 'GET /objects/ab/file1 HTTP/1.0\r\n\r\n'), ['GET']);
      expect(old.map((r) => [r.status, r.headers.connection])).toEqual([[200, 'close']]);
      expect(old[0].body.equals(file1)).toBe(true);
      const post = parseResponses(await exchange(s.port, 'POST /objects/ab/file1 HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello'), ['POST']);
      expect(post.map((r) => [r.status, r.headers.connection])).toEqual([[405, 'close']]);

      // Two kept-alive connections, each answered once: the third is closed unanswered.
      const open = await Promise.all(
        [0, 1].map(
          () =>
            new Promise<net.Socket>((resolve, reject) => {
              const sock = net.connect(s.port, '127.0.0.1');
              sock.once('data', () => resolve(sock));
              sock.on('error', reject);
              sock.write('HEAD /objects/ab/file1 HTTP/1.1\r\nHost: x\r\n\r\n');
            }),
        ),
      );
      const third = await exchange(s.port, 'GET /objects/ab/file1 HTTP/1.1\r\nHost: x\r\n\r\n').catch(() => Buffer.alloc(0));
      expect(third.length).toBe(0);
      open[0].destroy();
      await new Promise((r) => open[0].once('close', r));
      // Once one is gone, a new connection is served again.
      let status = 0;
      for (let i = 0; i < 100 && status !== 200; i++) {
        status = await get(s, '/objects/ab/file1').then((r) => r.status, () => 0);
        if (status !== 200) await new Promise((r) => setTimeout(r, 20));
      }
      expect(status).toBe(200);
      open[1].destroy();
    } finally {
      await s.close();
    }
  });

  it('a request head that trickles in gets 408 and is closed; an oversized head gets 431; an idle connection is closed', async () => {
    const s = await serveRepo(dir, { headersTimeoutMs: 300, keepAliveTimeoutMs: 300 });
    try {
      // A slowloris client: a header line every 50 ms, never the empty line.
      const slow = await new Promise<{ closed: boolean; data: string }>((resolve) => {
        const sock = net.connect(s.port, '127.0.0.1');
        let data = '';
        let closed = false;
        let n = 0;
        sock.on('data', (c) => (data += c.toString('latin1')));
        sock.on('error', () => {});
        sock.on('close', () => {
          closed = true;
          clearInterval(t);
          resolve({ closed, data });
        });
        sock.write('GET /objects/ab/file1 HTTP/1.1\r\nHost: x\r\n');
        const t = setInterval(() => {
          // Give up long after the 300 ms limit (node:http's own is 60 s).
          if (++n > 400) {
            clearInterval(t);
            sock.destroy();
            resolve({ closed, data });
          } else if (!sock.destroyed) sock.write(`X-Slow-${n}: a\r\n`);
        }, 50);
      });
      expect(slow.closed).toBe(true);
      expect(slow.data).toMatch(/^HTTP\/1\.1 408 /);

      const huge = await exchange(s.port, `GET /objects/ab/file1 HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20000)}\r\n\r\n`);
      expect(huge.toString('latin1')).toMatch(/^HTTP\/1\.1 431 /);

      // Answered, then closed by the server once idle.
      const idle = await exchange(s.port, 'GET /objects/ab/file1 HTTP/1.1\r\nHost: x\r\n\r\n');
      expect(parseResponses(idle, ['GET']).map((r) => r.status)).toEqual([200]);
    } finally {
      await s.close();
    }
  });

  it('a client that stops reading is cut off after the send timeout; other requests are answered meanwhile', async () => {
    const s = await serveRepo(dir, { sendTimeoutMs: 300 });
    try {
      const sock = net.connect(s.port, '127.0.0.1');
      sock.pause();
      sock.on('error', () => {});
      sock.write('GET /big HTTP/1.1\r\nHost: x\r\n\r\n'.repeat(3));
      expect((await get(s, '/objects/ab/file1')).status).toBe(200);
      // The server logs a cut-off answer when it gives up on it.
      for (let i = 0; i < 400 && !s.requests.some((r) => r.path === '/big'); i++) await new Promise((r) => setTimeout(r, 50));
      const cut = s.requests.find((r) => r.path === '/big');
      expect(cut?.bytes).toBeLessThan(big.length);
      // The connection is gone: reading it ends (or is reset) short of one whole answer.
      let got = 0;
      await new Promise<void>((resolve) => {
        sock.on('data', (c) => (got += c.length));
        sock.on('close', () => resolve());
        sock.resume();
      });
      expect(got).toBeLessThan(big.length);
      expect(s.requests.filter((r) => r.path === '/big').length).toBe(1);
    } finally {
      await s.close();
    }
  });
});
