// trivial-httpd under a pipelining flood: clients that write 1000 pipelined
// GETs for a 1 MiB file and never read an answer. The server (our CLI, in a
// child process so its memory can be read from /proc) must keep its memory
// bounded, go on serving other clients, and be back down once the flooding
// connections close.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import * as net from 'node:net';
import * as http from 'node:http';
import * as path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync, existsSync, readFileSync } from 'node:fs';
import { CLI, tmpdir, cleanupTmp } from './helpers/interop';

const MiB = 1024 * 1024;
/** Growth of the server's peak RSS over its idle RSS that the flood may cause (unbounded queueing took ~1 GiB per connection). */
const ALLOWED_GROWTH = 100 * MiB;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** VmRSS and VmHWM (peak RSS) of `pid`, in bytes. */
function memOf(pid: number): { rss: number; peak: number } {
  const s = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(s)?.[1]) * 1024;
  return { rss: kb('VmRSS'), peak: kb('VmHWM') };
}

/** Bytes `pid` has passed to write(2) and friends (sockets included). */
function written(pid: number): number {
  return Number(/^wchar:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/io`, 'utf8'))?.[1]);
}

function get(port: number, p: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: p, agent: false, timeout: 30000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode as number, body }));
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${p} got no answer`)));
    req.on('error', reject);
  });
}

/** A connection that writes `n` pipelined GETs and never reads. Resolves once they are written. */
function flood(port: number, n: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1');
    s.pause();
    s.once('error', reject);
    s.write('GET /big HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n'.repeat(n), () => resolve(s));
  });
}

describe('trivial-httpd: pipelined GETs from clients that never read', () => {
  let served: string;
  beforeAll(() => {
    served = path.join(tmpdir(), 'served');
    mkdirSync(served);
    writeFileSync(path.join(served, 'big'), Buffer.alloc(MiB, 0x5a));
    writeFileSync(path.join(served, 'small'), 'hello\n');
  });
  afterAll(() => cleanupTmp());

  async function startServer(): Promise<{ child: ChildProcess; port: number }> {
    const portFile = path.join(tmpdir(), 'port');
    const child = spawn(process.execPath, [CLI, 'trivial-httpd', '-p', portFile, served], { stdio: 'ignore' });
    let exited = false;
    child.once('exit', () => (exited = true));
    while (!existsSync(portFile)) {
      if (exited) throw new Error('trivial-httpd exited before listening');
      await sleep(20);
    }
    return { child, port: Number(readFileSync(portFile, 'utf8').trim()) };
  }

  for (const conns of [1, 4]) {
    it(`${conns} flooding connection(s): peak memory bounded, others served meanwhile, memory back down after close`, async () => {
      const { child, port } = await startServer();
      const pid = child.pid as number;
      try {
        expect((await get(port, '/small')).body).toBe('hello\n');
        const idle = memOf(pid);
        const w0 = written(pid);
        const socks = await Promise.all(Array.from({ length: conns }, () => flood(port, 1000)));
        // Wait until the server is answering the flood (half a MiB per connection has left it).
        while (written(pid) - w0 < conns * 512 * 1024) await sleep(20);

        // Another client is answered while the flood is under way.
        const r = await get(port, '/small');
        expect(r).toEqual({ status: 200, body: 'hello\n' });
        const during = memOf(pid);
        expect(during.peak - idle.rss).toBeLessThan(ALLOWED_GROWTH);

        for (const s of socks) s.destroy();
        // Once the server has seen the closes (it answers a request after them), its memory is back down.
        expect((await get(port, '/small')).status).toBe(200);
        let after = memOf(pid);
        for (let i = 0; i < 50 && after.rss - idle.rss >= ALLOWED_GROWTH; i++) {
          await sleep(100);
          after = memOf(pid);
        }
        expect(after.rss - idle.rss).toBeLessThan(ALLOWED_GROWTH);
      } finally {
        child.kill();
      }
    });
  }
});
