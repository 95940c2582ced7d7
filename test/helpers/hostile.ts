// A repository server that misbehaves on purpose, for the pull tests that
// check what the client puts up with: bodies far larger than the file (with
// or without a Content-Length saying so), redirects of every kind. Paths the
// route leaves alone are served from the repository directory. Also the
// runner that starts our CLI in a child process and reports its peak RSS.
import * as http from 'node:http';
import * as https from 'node:https';
import * as path from 'node:path';
import { spawn } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import type { AddressInfo, Socket } from 'node:net';
import { CLI } from './interop';

export type Action =
  /** The file from the repository (404 when missing). */
  | { kind: 'serve'; path?: string }
  /**
   * A body of `bytes` bytes: the file's own bytes first when `file` is set,
   * then filler. Chunked, unless `declare` sends a Content-Length of `bytes`.
   */
  | { kind: 'flood'; bytes: number; declare?: boolean; file?: boolean }
  | { kind: 'redirect'; status: number; location: string }
  | { kind: 'status'; status: number };

export interface HostileServer {
  url: string;
  port: number;
  /** "METHOD PATH" of every request, in order. */
  requests: string[];
  /** Request headers, same order. */
  headers: http.IncomingHttpHeaders[];
  /** TCP connections accepted. */
  connections(): number;
  /** Body bytes written by floods so far. */
  flooded(): number;
  close(): Promise<void>;
}

/** Serve `dir`, asking `route` first what to do with each request path. */
export async function serveHostile(dir: string, route: (p: string) => Action | null, opts: { tls?: { cert: Buffer; key: Buffer } } = {}): Promise<HostileServer> {
  const requests: string[] = [];
  const headers: http.IncomingHttpHeaders[] = [];
  const socks = new Set<Socket>();
  let conns = 0;
  let flooded = 0;
  const filler = Buffer.alloc(64 * 1024, 0x41);
  const handler = (req: http.IncomingMessage, res: http.ServerResponse) => {
    const p = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    requests.push(`${req.method} ${p}`);
    headers.push(req.headers);
    const act = route(p) ?? { kind: 'serve' };
    const fileOf = (q: string): Buffer | null => {
      try {
        return readFileSync(path.join(dir, q));
      } catch {
        return null;
      }
    };
    if (act.kind === 'status') {
      res.writeHead(act.status, { 'content-length': 0 });
      return res.end();
    }
    if (act.kind === 'redirect') {
      res.writeHead(act.status, { location: act.location, 'content-length': 0 });
      return res.end();
    }
    if (act.kind === 'serve') {
      const b = fileOf(act.path ?? p);
      if (!b) {
        res.writeHead(404, { 'content-length': 0 });
        return res.end();
      }
      res.writeHead(200, { 'content-length': b.length });
      return res.end(b);
    }
    // flood
    res.writeHead(200, act.declare ? { 'content-length': act.bytes } : {});
    let left = act.bytes;
    let closed = false;
    res.on('close', () => (closed = true));
    const first = act.file ? fileOf(p) : null;
    const pump = () => {
      while (left > 0 && !closed) {
        let c = filler;
        if (first && left === act.bytes) c = first;
        if (c.length > left) c = c.subarray(0, left);
        left -= c.length;
        flooded += c.length;
        if (!res.write(c)) return void res.once('drain', pump);
      }
      if (!closed) res.end();
    };
    pump();
  };
  const srv = opts.tls ? https.createServer({ cert: opts.tls.cert, key: opts.tls.key }, handler) : http.createServer(handler);
  srv.on(opts.tls ? 'secureConnection' : 'connection', (s: Socket) => {
    conns++;
    socks.add(s);
    s.on('close', () => socks.delete(s));
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const port = (srv.address() as AddressInfo).port;
  return {
    url: `${opts.tls ? 'https' : 'http'}://127.0.0.1:${port}`,
    port,
    requests,
    headers,
    connections: () => conns,
    flooded: () => flooded,
    close: () =>
      new Promise<void>((r) => {
        srv.close(() => r());
        for (const s of socks) s.destroy();
      }),
  };
}

export interface ChildRun {
  status: number;
  stdout: string;
  stderr: string;
  /** Peak resident set of the child in bytes (getrusage, reported by the child as it exits). */
  maxRss: number;
  /** Wall time from spawn to exit, ms. */
  ms: number;
}

const PRELOAD = path.join(__dirname, 'maxrss-preload.cjs');
const OUTPUT_MAX = 64 * 1024;

/** Our CLI in a child process (the in-process server keeps answering meanwhile), with its peak RSS. */
export function oursMeasured(args: string[], rssFile: string): Promise<ChildRun> {
  rmSync(rssFile, { force: true });
  const t0 = Date.now();
  return new Promise((resolve, reject) => {
    const c = spawn(process.execPath, ['--require', PRELOAD, CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NODE_OSTREE_MAXRSS_FILE: rssFile } });
    // At most OUTPUT_MAX of each stream is kept (a failing client may print what it was sent).
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    const keep = (list: Buffer[]) => (d: Buffer) => {
      const have = list.reduce((a, b) => a + b.length, 0);
      if (have < OUTPUT_MAX) list.push(d.subarray(0, OUTPUT_MAX - have));
    };
    c.stdout.on('data', keep(out));
    c.stderr.on('data', keep(err));
    c.on('error', reject);
    c.on('close', (code) => {
      let kb = NaN;
      try {
        kb = Number(readFileSync(rssFile, 'utf8'));
      } catch {
        /* the child died before reporting */
      }
      resolve({ status: code ?? -1, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString(), maxRss: kb * 1024, ms: Date.now() - t0 });
    });
  });
}
