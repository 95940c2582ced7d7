// A static file server for repositories: what `ostree trivial-httpd` is to
// ostree's test suite. GET/HEAD with Range, on 127.0.0.1, plus the fault
// injection options the pull robustness tests use (random 500s/408s, forced
// partial responses, required basic auth, cookies and headers). Connections,
// pipelining and timeouts are lib/http-server.ts's; here, what to answer.
import type * as http from 'node:http';
import * as path from 'node:path';
import { appendFileSync, openSync, fstatSync, readSync, readlinkSync, realpathSync, closeSync, promises as fsp } from 'node:fs';
import { listenHttp } from './http-server';
import type { HttpHandler } from './http-server';

export interface ServeOptions {
  /** Port to listen on (0 = any free port, the default). */
  port?: number;
  /** Address to bind (default 127.0.0.1). */
  host?: string;
  /** Answer plain GETs with only the first half of the file (206), so clients must use Range. */
  forceRangeRequests?: boolean;
  /** Require HTTP basic auth user "foouser", password "barpw" (as ostree's test server). */
  requireBasicAuth?: boolean;
  /** Percentage (0–100) of requests answered with 500. */
  random500s?: number;
  /** At most this many random 500s (default 100). */
  random500sMax?: number;
  /** Percentage (0–100) of requests answered with 408. */
  random408s?: number;
  /** At most this many random 408s (default 100). */
  random408sMax?: number;
  /** "NAME=VALUE" cookies every request must carry (else 400). */
  expectedCookies?: string[];
  /** "NAME=VALUE" headers every request must carry (else 400). */
  expectedHeaders?: string[];
  /** One line per request: "GET /path STATUS". */
  log?: (line: string) => void;
  /** Append the request log to this file ("-" = stdout). */
  logFile?: string;
  /** Serve HTTPS with this certificate (PEM contents or paths). */
  tls?: { cert: string | Buffer; key: string | Buffer; ca?: string | Buffer; requestCert?: boolean };
  /** Wait this many ms before answering each request (slow links in tests). */
  delayMs?: number;
  /** Random source for fault injection (tests make it deterministic). */
  random?: () => number;
  /**
   * Follow symlinks wherever they point, as ostree's trivial-httpd does (its
   * tests serve `ostree -> /abs/ostree-srv`). Default false: a symlink that
   * leaves the served root is refused with 403. Requests naming `..` are
   * refused either way.
   */
  followSymlinks?: boolean;
  /** Send ETag/Last-Modified validators and answer conditional GETs with 304 (default true). */
  conditional?: boolean;
  /** Keep every request in `requests` (default true; a long-running server turns it off). */
  keepRequests?: boolean;
  /** A request head must be complete this long after its first byte (default 30 s). */
  headersTimeoutMs?: number;
  /** An idle kept-alive connection is closed after this long (default 5 s). */
  keepAliveTimeoutMs?: number;
  /** A response the client takes nothing of for this long is cut off (default 60 s). */
  sendTimeoutMs?: number;
  /** Connections beyond this many are refused (default 256). */
  maxConnections?: number;
}

/** Bodies are read and sent this much at a time (a smaller file leaves with its headers in one write). */
const CHUNK = 64 * 1024;

export interface ServedRequest {
  method: string;
  path: string;
  status: number;
  /** Bytes of body sent. */
  bytes: number;
  headers: http.IncomingHttpHeaders;
  /** Subject CN of a presented client certificate (HTTPS with requestCert). */
  clientCert?: string;
}

export interface RepoServer {
  url: string;
  port: number;
  /** Every request answered, in order. */
  requests: ServedRequest[];
  close(): Promise<void>;
}

const BASIC_USER = 'foouser';
const BASIC_PASS = 'barpw';

function parsePairs(list: string[] | undefined): Array<[string, string]> {
  return (list ?? []).map((s) => {
    const i = s.indexOf('=');
    if (i < 0) throw new Error(`Invalid NAME=VALUE: ${s}`);
    return [s.slice(0, i), s.slice(i + 1)];
  });
}

/** Read `buf.length` bytes at `pos` (fewer at end of file); the count read. */
function readFully(fd: number, buf: Buffer, pos: number): number {
  let got = 0;
  while (got < buf.length) {
    const n = readSync(fd, buf, got, buf.length - got, pos + got);
    if (n === 0) break;
    got += n;
  }
  return got;
}

/** Whether the file open as `fd` (opened by `file`, symlinks followed) lies inside `realRoot`. */
function insideRoot(fd: number, file: string, realRoot: string): boolean {
  let real: string;
  try {
    real = readlinkSync(`/proc/self/fd/${fd}`);
  } catch {
    try {
      real = realpathSync(file);
    } catch {
      return false;
    }
  }
  return real === realRoot || real.startsWith(realRoot.endsWith(path.sep) ? realRoot : realRoot + path.sep);
}

function parseCookies(h: string | undefined): Map<string, string> {
  const m = new Map<string, string>();
  for (const part of (h ?? '').split(';')) {
    const i = part.indexOf('=');
    if (i > 0) m.set(part.slice(0, i).trim(), part.slice(i + 1).trim());
  }
  return m;
}

/**
 * Serve `dir` (e.g. an archive repository) over HTTP (or HTTPS with `tls`),
 * like `ostree trivial-httpd`, until `close()`: static files with Range and
 * conditional requests. Options for tests inject faults (random 500/408s,
 * delays, required headers/cookies/auth).
 *
 * @example
 * import { serveRepo, addRemote, pull } from 'node-ostree';
 * const server = await serveRepo('/srv/repo', { port: 0 });
 * try {
 *   await addRemote(repo, 'local', server.url, { noGpgVerify: true, ifNotExists: true });
 *   await pull(repo, { remote: 'local', refs: ['exampleos/stable'] });
 * } finally {
 *   await server.close();
 * }
 */
export async function serveRepo(dir: string, opts: ServeOptions = {}): Promise<RepoServer> {
  const root = path.resolve(dir);
  const rnd = opts.random ?? Math.random;
  const cookies = parsePairs(opts.expectedCookies);
  const wantHeaders = parsePairs(opts.expectedHeaders);
  let n500 = 0;
  let n408 = 0;
  const requests: ServedRequest[] = [];
  const log = (line: string) => {
    opts.log?.(line);
    if (opts.logFile === '-') process.stdout.write(line + '\n');
    else if (opts.logFile) appendFileSync(opts.logFile, line + '\n');
  };

  // Symlinks are followed only to files inside the root (as realpath sees it).
  const realRoot = await fsp.realpath(root).catch(() => root);

  const handler: HttpHandler = async (req, res) => {
    const method = req.method;
    let reqPath = req.target;
    let sent = 0;
    let logged = false;
    // Logged before the last bytes leave (a client that saw its answer finds
    // it in the log), or when the connection is cut off mid-body; not for a
    // client that was gone before any of its answer left.
    const done = (status: number) => {
      if (logged || (!res.started && req.socket.destroyed)) return;
      logged = true;
      let clientCert: string | undefined;
      const sock = req.socket as import('node:tls').TLSSocket;
      if (typeof sock.getPeerCertificate === 'function') {
        const c = sock.getPeerCertificate();
        if (c && c.subject) clientCert = c.subject.CN as string;
      }
      if (opts.keepRequests !== false) requests.push({ method, path: reqPath, status, bytes: sent, headers: req.headers, clientCert });
      log(`${method} ${reqPath} ${status}`);
    };
    const fail = async (status: number, msg: string, extra: http.OutgoingHttpHeaders = {}) => {
      const body = Buffer.from(msg + '\n');
      res.writeHead(status, { ...extra, 'content-type': 'text/plain', 'content-length': body.length });
      done(status);
      await res.end(body);
    };
    const answer = async (): Promise<void> => {
      try {
        reqPath = decodeURIComponent(new URL(req.target, 'http://localhost').pathname);
      } catch {
        // A malformed %-escape (or target): the client's mistake.
        return fail(400, 'Bad Request');
      }
      if (reqPath.includes('\0')) return fail(400, 'Bad Request');
      if (method !== 'GET' && method !== 'HEAD') return fail(405, 'Method Not Allowed');
      if (opts.delayMs) await new Promise((r) => setTimeout(r, opts.delayMs));
      if (opts.requireBasicAuth) {
        const auth = req.headers.authorization ?? '';
        const ok = auth.startsWith('Basic ') && Buffer.from(auth.slice(6), 'base64').toString() === `${BASIC_USER}:${BASIC_PASS}`;
        if (!ok) return fail(401, 'Unauthorized', { 'www-authenticate': 'Basic realm="ostree"' });
      }
      const have = parseCookies(req.headers.cookie);
      for (const [k, v] of cookies) if (have.get(k) !== v) return fail(400, `Expected cookie ${k} not found`);
      for (const [k, v] of wantHeaders) if (req.headers[k.toLowerCase()] !== v) return fail(400, `Expected header ${k} not found`);
      if (opts.random500s && n500 < (opts.random500sMax ?? 100) && rnd() * 100 < opts.random500s) {
        n500++;
        return fail(500, 'Internal Server Error');
      }
      if (opts.random408s && n408 < (opts.random408sMax ?? 100) && rnd() * 100 < opts.random408s) {
        n408++;
        return fail(408, 'Request Timeout');
      }
      // URL parsing already resolved literal and %2e dot segments; ".." here
      // came in through an escaped slash.
      if (reqPath.split('/').includes('..')) return fail(403, 'Forbidden');
      const file = path.join(root, reqPath);
      if (file !== root && !file.startsWith(root + path.sep)) return fail(403, 'Forbidden');
      // Files come from the page cache: synchronous reads cost less than a
      // trip through the thread pool per step, for this test/bench server.
      let fd: number;
      try {
        fd = openSync(file, 'r');
      } catch {
        return fail(404, 'Not Found');
      }
      try {
        if (!opts.followSymlinks && !insideRoot(fd, file, realRoot)) return fail(403, 'Forbidden');
        const st = fstatSync(fd);
        if (!st.isFile()) return fail(st.isDirectory() ? 403 : 404, st.isDirectory() ? 'Forbidden' : 'Not Found');
        const size = st.size;
        const etag = `"${size.toString(16)}-${Math.floor(st.mtimeMs).toString(16)}"`;
        const lastModified = st.mtime.toUTCString();
        if (opts.conditional !== false && !req.headers.range) {
          // RFC 9110 §13.2.2: If-None-Match wins over If-Modified-Since.
          const inm = req.headers['if-none-match'];
          const ims = req.headers['if-modified-since'];
          let notModified = false;
          if (inm !== undefined) {
            notModified = inm.trim() === '*' || inm.split(',').some((t) => t.trim().replace(/^W\//, '') === etag);
          } else if (ims !== undefined) {
            const t = Date.parse(ims);
            notModified = Number.isFinite(t) && Math.floor(st.mtimeMs / 1000) <= Math.floor(t / 1000);
          }
          if (notModified) {
            res.writeHead(304, { etag, 'last-modified': lastModified });
            done(304);
            await res.end();
            return;
          }
        }
        let start = 0;
        let end = size - 1;
        let status = 200;
        const range = req.headers.range;
        if (range) {
          const m = /^bytes=(\d*)-(\d*)$/.exec(range.trim());
          if (!m || (m[1] === '' && m[2] === '')) return fail(416, 'Range Not Satisfiable');
          if (m[1] === '') {
            start = Math.max(0, size - Number(m[2]));
          } else {
            start = Number(m[1]);
            if (m[2] !== '') end = Math.min(end, Number(m[2]));
          }
          if (start >= size && size > 0) return fail(416, 'Range Not Satisfiable', { 'content-range': `bytes */${size}` });
          status = 206;
        } else if (opts.forceRangeRequests && size > 1) {
          end = Math.floor(size / 2) - 1;
          status = 206;
        }
        const headers: http.OutgoingHttpHeaders = {
          'content-length': Math.max(0, end - start + 1),
          'accept-ranges': 'bytes',
          'last-modified': lastModified,
          ...(opts.conditional !== false ? { etag } : {}),
          'content-type': 'application/octet-stream',
        };
        if (status === 206) headers['content-range'] = `bytes ${start}-${end}/${size}`;
        res.writeHead(status, headers);
        if (method === 'HEAD' || end < start) {
          done(status);
          await res.end();
          return;
        }
        // The body leaves a chunk at a time, each read once the socket has
        // taken the one before: a client that reads slowly (or not at all)
        // holds one chunk of memory, not the file.
        let pos = start;
        while (pos <= end) {
          const chunk = Buffer.allocUnsafe(Math.min(CHUNK, end + 1 - pos));
          const got = readFully(fd, chunk, pos);
          if (got < chunk.length) {
            // The file shrank under us: the promised length can't be kept.
            res.destroy();
            return done(status);
          }
          pos += got;
          sent += got;
          if (pos > end) {
            done(status);
            await res.end(chunk);
          } else if (!(await res.write(chunk))) {
            return done(status);
          }
        }
      } finally {
        closeSync(fd);
      }
    };
    try {
      await answer();
    } catch (err) {
      if (!res.headersSent) await fail(500, (err as Error).message);
      else {
        res.destroy();
        done(res.status);
      }
    }
  };

  const server = await listenHttp(opts.host ?? '127.0.0.1', opts.port ?? 0, handler, {
    tls: opts.tls ? { cert: opts.tls.cert, key: opts.tls.key, ca: opts.tls.ca, requestCert: !!opts.tls.requestCert, rejectUnauthorized: false } : undefined,
    headersTimeoutMs: opts.headersTimeoutMs,
    keepAliveTimeoutMs: opts.keepAliveTimeoutMs,
    sendTimeoutMs: opts.sendTimeoutMs,
    maxConnections: opts.maxConnections,
  });
  const host = opts.host ?? '127.0.0.1';
  const port = server.port;
  return {
    url: `${opts.tls ? 'https' : 'http'}://${host}:${port}`,
    port,
    requests,
    close: () => server.close(),
  };
}
