// The fetcher's own HTTP/1.1 client (plain http://): body framings other
// than Content-Length, interim answers, kept-alive connections the server
// closes while idle, and malformed answers — against a raw TCP server that
// writes exactly the bytes each case needs.
import { describe, it, expect, afterEach } from 'vitest';
import * as net from 'node:net';
import { createFetcher } from '../lib/pull/fetcher';
import type { OstreeError } from '../lib/errors';

interface Raw {
  url: string;
  /** Request heads received, in order. */
  heads: string[];
  connections: () => number;
  close: () => Promise<void>;
}

/** A TCP server calling `answer(sock, head, index)` for each request head it reads. */
async function raw(answer: (sock: net.Socket, head: string, i: number) => void): Promise<Raw> {
  const heads: string[] = [];
  const socks = new Set<net.Socket>();
  let conns = 0;
  const srv = net.createServer((sock) => {
    conns++;
    socks.add(sock);
    sock.on('close', () => socks.delete(sock));
    sock.on('error', () => {});
    let buf = '';
    sock.on('data', (c) => {
      buf += c.toString('latin1');
      for (let end = buf.indexOf('\r\n\r\n'); end >= 0; end = buf.indexOf('\r\n\r\n')) {
        const head = buf.slice(0, end);
        buf = buf.slice(end + 4);
        heads.push(head);
        answer(sock, head, heads.length - 1);
      }
    });
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const port = (srv.address() as net.AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    heads,
    connections: () => conns,
    close: () =>
      new Promise<void>((r) => {
        srv.close(() => r());
        for (const s of socks) s.destroy();
      }),
  };
}

const body = Buffer.from('0123456789abcdefghijklmnopqrstuvwxyz'.repeat(50));
let servers: Raw[] = [];
afterEach(async () => {
  for (const s of servers) await s.close();
  servers = [];
});
async function serve(answer: (sock: net.Socket, head: string, i: number) => void): Promise<Raw> {
  const s = await raw(answer);
  servers.push(s);
  return s;
}

describe('fetcher HTTP/1.1 client', () => {
  it('chunked bodies (chunk extensions, trailers, chunks split across writes) are joined; the connection is reused', async () => {
    const s = await serve((sock) => {
      const parts = [body.subarray(0, 700), body.subarray(700, 701), body.subarray(701)];
      let out = 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n';
      parts.forEach((p, i) => (out += `${p.length.toString(16)}${i === 1 ? ';ext=1' : ''}\r\n${p.toString('latin1')}\r\n`));
      out += '0\r\nX-Trailer: yes\r\n\r\n';
      const bytes = Buffer.from(out, 'latin1');
      // Byte by byte for the head and the first chunk line, then the rest.
      for (let i = 0; i < 60; i++) sock.write(bytes.subarray(i, i + 1));
      sock.write(bytes.subarray(60));
    });
    const f = createFetcher({ url: s.url, maxConcurrency: 1 });
    try {
      for (let i = 0; i < 3; i++) expect((await f.fetch('x'))?.equals(body)).toBe(true);
      expect(s.connections()).toBe(1);
      expect(f.bytesTransferred).toBe(body.length * 3);
    } finally {
      f.close();
    }
  });

  it('a body without length ends when the server closes; a 100 Continue before the answer is skipped', async () => {
    const s = await serve((sock, _h, i) => {
      if (i === 0) sock.end(Buffer.concat([Buffer.from('HTTP/1.0 200 OK\r\n\r\n'), body]));
      else sock.write(Buffer.concat([Buffer.from(`HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\n\r\n`), body]));
    });
    const f = createFetcher({ url: s.url });
    try {
      expect((await f.fetch('a'))?.equals(body)).toBe(true);
      expect((await f.fetch('b'))?.equals(body)).toBe(true);
      expect(s.connections()).toBe(2);
    } finally {
      f.close();
    }
  });

  it('a kept-alive connection the server drops when the next request arrives: asked again on a new one, no error, no retry counted', async () => {
    const served = new WeakMap<net.Socket, number>();
    const s = await serve((sock) => {
      const n = served.get(sock) ?? 0;
      served.set(sock, n + 1);
      // A second request on a connection: closed without an answer (as an idle timeout racing the request).
      if (n > 0) return void sock.destroy();
      sock.write(Buffer.concat([Buffer.from(`HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\n\r\n`), body]));
    });
    const f = createFetcher({ url: s.url, retries: 0, maxConcurrency: 1 });
    try {
      expect((await f.fetch('a'))?.equals(body)).toBe(true);
      expect((await f.fetch('b'))?.equals(body)).toBe(true);
      expect(s.heads.length).toBe(3);
      expect(s.connections()).toBe(2);
      expect(f.requests).toBe(2);
    } finally {
      f.close();
    }
  });

  it('requests carry host, user-agent, extra headers and basic auth', async () => {
    const s = await serve((sock) => sock.write('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n'));
    const u = new URL(s.url);
    u.username = 'me';
    u.password = 'p w';
    const f = createFetcher({ url: u.href + 'repo/', headers: { 'X-Test': 'yes' } });
    try {
      expect((await f.fetch('objects/ab/cd.filez'))?.length).toBe(0);
      const lines = s.heads[0].split('\r\n');
      expect(lines[0]).toBe('GET /repo/objects/ab/cd.filez HTTP/1.1');
      const h = new Map(lines.slice(1).map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]));
      expect(h.get('host')).toBe(u.host);
      expect(h.get('x-test')).toBe('yes');
      expect(h.get('user-agent')).toMatch(/^libostree\//);
      expect(h.get('authorization')).toBe('Basic ' + Buffer.from('me:p w').toString('base64'));
    } finally {
      f.close();
    }
  });

  it('malformed answers are OSTREE_NETWORK errors; a body cut short is retried with Range', async () => {
    const s = await serve((sock, head) => {
      if (head.startsWith('GET /bad ')) sock.write('HTTX/1.1 200 OK\r\n\r\n');
      else if (head.startsWith('GET /badlen ')) sock.write('HTTP/1.1 200 OK\r\nContent-Length: 12x\r\n\r\n');
      else if (head.startsWith('GET /badchunk ')) sock.write('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n');
      else if (/\r\nrange: bytes=100-/i.test(head)) {
        sock.write(`HTTP/1.1 206 Partial Content\r\nContent-Length: ${body.length - 100}\r\nContent-Range: bytes 100-${body.length - 1}/${body.length}\r\n\r\n`);
        sock.write(body.subarray(100));
      } else {
        sock.write(`HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\n\r\n`);
        sock.write(body.subarray(0, 100), () => sock.destroy());
      }
    });
    const f = createFetcher({ url: s.url, retries: 1, backoffMs: 1 });
    try {
      for (const p of ['bad', 'badlen']) {
        const e = (await f.fetch(p).catch((err) => err)) as OstreeError;
        expect(e.code).toBe('OSTREE_NETWORK');
      }
      expect(((await f.fetch('badchunk').catch((err) => err)) as OstreeError).code).toBe('OSTREE_NETWORK');
      expect((await f.fetch('cut'))?.equals(body)).toBe(true);
    } finally {
      f.close();
    }
  });
});
