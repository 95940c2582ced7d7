// A small HTTP/1.1 server for the repository file server (lib/httpd.ts): one
// request at a time per connection. The next request on a connection is only
// parsed once the previous response has been handed to the kernel, and the
// socket stops being read while a response is under way and unparsed bytes
// wait, so a client that pipelines requests without reading the answers holds
// one response and one read chunk of the server's memory, not one response per
// request. Bodies leave with backpressure (HttpResponse.write waits for the
// socket to drain). Request bodies are not read: a request that has one is
// answered and its connection closed. A client that half-closes its side is
// taken as gone (as node:http did): what it asked for is not answered.
// Timeouts: an idle kept-alive connection, a request head that does not
// complete (however slowly it trickles in) and a response the client stops
// reading.
import * as net from 'node:net';
import * as tls from 'node:tls';
import { STATUS_CODES } from 'node:http';
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface HttpServerOptions {
  /** Serve HTTPS with these TLS options. */
  tls?: tls.TlsOptions;
  /** Largest request line plus headers (default 16 KiB); bigger gets 431. */
  maxHeaderBytes?: number;
  /** A request head must be complete this long after its first byte (default 30 s); else 408. */
  headersTimeoutMs?: number;
  /** An idle kept-alive connection is closed after this long (default 5 s). */
  keepAliveTimeoutMs?: number;
  /** A response the client takes nothing of for this long is cut off (default 60 s). */
  sendTimeoutMs?: number;
  /** Connections beyond this many are refused (default 256). */
  maxConnections?: number;
}

export interface HttpRequest {
  method: string;
  /** The request-target as sent (origin-form path and query, or absolute-form URL). */
  target: string;
  /** "1.0" or "1.1". */
  httpVersion: string;
  /** Lower-case names; repeated headers joined as node:http joins them. */
  headers: IncomingHttpHeaders;
  socket: net.Socket;
}

/** Answers one request; the connection reads its next request once the returned promise settles. */
export type HttpHandler = (req: HttpRequest, res: HttpResponse) => Promise<void>;

export interface HttpServer {
  port: number;
  close(): Promise<void>;
}

const DEFAULTS = {
  maxHeaderBytes: 16 * 1024,
  headersTimeoutMs: 30_000,
  keepAliveTimeoutMs: 5_000,
  sendTimeoutMs: 60_000,
  maxConnections: 256,
};

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const REQUEST_LINE = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+) ([^\s]+) HTTP\/(\d)\.(\d)$/;
/** Headers of which node:http keeps the first and drops repeats. */
const SINGLE = new Set([
  'age', 'authorization', 'content-length', 'content-type', 'etag', 'expires', 'from', 'host',
  'if-modified-since', 'if-unmodified-since', 'last-modified', 'location', 'max-forwards',
  'proxy-authorization', 'referer', 'retry-after', 'server', 'user-agent',
]);
const EMPTY = Buffer.alloc(0);

let dateSecond = -1;
let dateText = '';
/** The Date header's value, formatted once a second. */
function httpDate(): string {
  const now = Date.now();
  const sec = Math.floor(now / 1000);
  if (sec !== dateSecond) {
    dateSecond = sec;
    dateText = new Date(now).toUTCString();
  }
  return dateText;
}

/** The response to one request. writeHead once, then write()* and end() once. */
export class HttpResponse {
  private head: Buffer | null = null;
  private ended = false;
  /** The status written by writeHead (0 before). */
  status = 0;

  constructor(
    private readonly conn: Connection,
    private readonly noBody: boolean,
  ) {}

  get headersSent(): boolean {
    return this.status !== 0;
  }

  writeHead(status: number, headers: OutgoingHttpHeaders = {}): void {
    if (this.status) throw new Error('writeHead called twice');
    this.status = status;
    const bodyless = this.noBody || status === 304 || status === 204 || status < 200;
    // Without a length the body would run until the connection closes.
    if (!bodyless && headers['content-length'] === undefined) this.conn.keepAlive = false;
    let text = `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Unknown'}\r\n`;
    for (const [k, v] of Object.entries(headers)) {
      if (v === undefined) continue;
      for (const one of Array.isArray(v) ? v : [v]) text += `${k}: ${one}\r\n`;
    }
    text += `date: ${httpDate()}\r\n`;
    if (!this.conn.keepAlive) text += 'connection: close\r\n';
    else {
      const secs = Math.floor(this.conn.opts.keepAliveTimeoutMs / 1000);
      text += secs > 0 ? `connection: keep-alive\r\nkeep-alive: timeout=${secs}\r\n` : 'connection: keep-alive\r\n';
    }
    this.head = Buffer.from(text + '\r\n', 'latin1');
  }

  /**
   * Send a piece of the body. Resolves true once the socket can take more
   * (at once unless its buffer is full), false if the connection went away.
   */
  write(chunk: Buffer): Promise<boolean> {
    if (this.ended) throw new Error('write after end');
    const sock = this.conn.sock;
    if (sock.destroyed) return Promise.resolve(false);
    if (this.flush(chunk)) return Promise.resolve(true);
    return new Promise((resolve) => {
      const settle = (ok: boolean) => {
        sock.off('drain', onDrain);
        sock.off('close', onClose);
        resolve(ok);
      };
      const onDrain = () => settle(true);
      const onClose = () => settle(false);
      sock.on('drain', onDrain);
      sock.on('close', onClose);
    });
  }

  /** Send the rest of the body (if any). Resolves true once everything was handed to the kernel, false if the connection went away first. */
  end(chunk: Buffer = EMPTY): Promise<boolean> {
    if (this.ended) throw new Error('end called twice');
    if (!this.status) throw new Error('end before writeHead');
    this.ended = true;
    const sock = this.conn.sock;
    if (sock.destroyed) return Promise.resolve(false);
    return new Promise((resolve) => {
      let settled = false;
      const settle = (ok: boolean) => {
        if (settled) return;
        settled = true;
        sock.off('close', onClose);
        resolve(ok);
      };
      const onClose = () => settle(false);
      sock.on('close', onClose);
      this.flush(this.noBody ? EMPTY : chunk, (err) => settle(!err));
    });
  }

  /** Cut the connection (a body that can't be completed). */
  destroy(): void {
    this.ended = true;
    this.conn.keepAlive = false;
    this.conn.sock.destroy();
  }

  get finished(): boolean {
    return this.ended;
  }

  /** Whether any of the response (its head at least) has been handed to the socket. */
  get started(): boolean {
    return this.status !== 0 && this.head === null;
  }

  /** Write the head (first time) with `chunk`; the socket's write() result. */
  private flush(chunk: Buffer, cb?: (err?: Error | null) => void): boolean {
    const sock = this.conn.sock;
    const head = this.head;
    this.head = null;
    if (head && chunk.length) {
      sock.cork();
      sock.write(head);
      const ok = sock.write(chunk, cb);
      sock.uncork();
      return ok;
    }
    return sock.write(head ?? chunk, cb);
  }
}

/** End of the request head in `buf`: the index just past the empty line, or -1. */
function headEnd(buf: Buffer): number {
  let i = buf.indexOf(10);
  while (i >= 0) {
    if (buf[i + 1] === 10) return i + 2;
    if (buf[i + 1] === 13 && buf[i + 2] === 10) return i + 3;
    i = buf.indexOf(10, i + 1);
  }
  return -1;
}

interface Parsed {
  req: Omit<HttpRequest, 'socket'>;
  keepAlive: boolean;
}

/** Request line and headers; an HTTP status for a request that can't be served. */
function parseHead(text: string): Parsed | number {
  const lines = text.split(/\r?\n/);
  // RFC 9112 §2.2: empty lines before the request line are ignored.
  while (lines.length && lines[0] === '') lines.shift();
  const m = REQUEST_LINE.exec(lines[0] ?? '');
  if (!m) return 400;
  if (m[3] !== '1') return 505;
  const httpVersion = `1.${m[4]}`;
  const headers: IncomingHttpHeaders = {};
  let contentLength: string | undefined;
  let hasBody = false;
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i];
    if (line === '') continue;
    const c = line.indexOf(':');
    if (c <= 0) return 400;
    const name = line.slice(0, c).toLowerCase();
    if (!TOKEN.test(name)) return 400;
    const value = line.slice(c + 1).replace(/^[ \t]+|[ \t]+$/g, '');
    if (name === 'content-length') {
      if (!/^\d+$/.test(value) || (contentLength !== undefined && contentLength !== value)) return 400;
      contentLength = value;
      if (Number(value) > 0) hasBody = true;
    } else if (name === 'transfer-encoding') hasBody = true;
    const prev = headers[name];
    if (name === 'set-cookie') headers[name] = [...(prev ?? []), value];
    else if (prev === undefined) (headers as Record<string, string>)[name] = value;
    else if (!SINGLE.has(name)) (headers as Record<string, string>)[name] = `${prev}${name === 'cookie' ? '; ' : ', '}${value}`;
  }
  // RFC 9112 §3.2: an HTTP/1.1 request without Host is answered 400.
  if (httpVersion === '1.1' && headers.host === undefined) return 400;
  const tokens = (headers.connection ?? '').toLowerCase().split(',').map((t) => t.trim());
  const keepAlive = !hasBody && (httpVersion === '1.1' ? !tokens.includes('close') : tokens.includes('keep-alive'));
  return { req: { method: m[1], target: m[2], httpVersion, headers }, keepAlive };
}

class Connection {
  /** Received bytes not yet parsed. */
  private buf: Buffer = EMPTY;
  /** A request is being answered. */
  private busy = false;
  private headTimer: NodeJS.Timeout | null = null;
  /** Whether the connection stays open after the current response. */
  keepAlive = true;

  constructor(
    readonly sock: net.Socket,
    private readonly handler: HttpHandler,
    readonly opts: typeof DEFAULTS,
  ) {
    sock.setNoDelay(true);
    sock.setTimeout(opts.keepAliveTimeoutMs);
    sock.on('timeout', () => sock.destroy());
    sock.on('error', () => sock.destroy());
    sock.on('close', () => this.clearHeadTimer());
    sock.on('data', (c: Buffer) => this.onData(c));
    sock.on('end', () => sock.destroy());
  }

  private onData(c: Buffer): void {
    this.buf = this.buf.length ? Buffer.concat([this.buf, c]) : c;
    // Pipelined requests wait unread while a response is under way.
    if (this.busy) this.sock.pause();
    else this.next();
  }

  /** Parse and answer the next buffered request, or wait for one. */
  private next(): void {
    if (this.busy || this.sock.destroyed) return;
    const max = this.opts.maxHeaderBytes;
    const end = headEnd(this.buf);
    if (end < 0) {
      if (this.buf.length > max) return this.refuse(431);
      if (this.buf.length) this.armHeadTimer();
      else this.clearHeadTimer();
      this.sock.resume();
      return;
    }
    if (end > max) return this.refuse(431);
    this.clearHeadTimer();
    const parsed = parseHead(this.buf.toString('latin1', 0, end));
    this.buf = end === this.buf.length ? EMPTY : this.buf.subarray(end);
    if (typeof parsed === 'number') return this.refuse(parsed);
    this.keepAlive = parsed.keepAlive;
    this.busy = true;
    void this.serve({ ...parsed.req, socket: this.sock });
  }

  private async serve(req: HttpRequest): Promise<void> {
    const sock = this.sock;
    // While answering, the idle limit becomes a limit on a client that takes nothing.
    sock.setTimeout(this.opts.sendTimeoutMs);
    const res = new HttpResponse(this, req.method === 'HEAD');
    try {
      await this.handler(req, res);
    } catch {
      // Nothing sensible can follow a failed handler on this connection.
    }
    if (sock.destroyed) return;
    if (!res.finished) {
      sock.destroy();
      return;
    }
    if (!this.keepAlive) return this.close();
    this.busy = false;
    sock.setTimeout(this.opts.keepAliveTimeoutMs);
    this.next();
  }

  /** A request that can't be parsed or waited for: answer `status` and close. */
  private refuse(status: number): void {
    const reason = STATUS_CODES[status] ?? 'Error';
    const body = `${reason}\n`;
    this.sock.write(`HTTP/1.1 ${status} ${reason}\r\ncontent-type: text/plain\r\ncontent-length: ${body.length}\r\nconnection: close\r\n\r\n${body}`);
    this.close();
  }

  /**
   * No more requests: FIN once what was written has gone, and drop whatever
   * else the client sends until it closes too (or the send timeout passes).
   */
  private close(): void {
    this.busy = true;
    this.keepAlive = false;
    this.buf = EMPTY;
    this.clearHeadTimer();
    this.sock.setTimeout(this.opts.sendTimeoutMs);
    this.sock.end();
    this.sock.removeAllListeners('data');
    this.sock.on('data', () => {});
    this.sock.resume();
    const t = setTimeout(() => this.sock.destroy(), this.opts.sendTimeoutMs);
    this.sock.once('close', () => clearTimeout(t));
  }

  private armHeadTimer(): void {
    if (this.headTimer) return;
    this.headTimer = setTimeout(() => {
      this.headTimer = null;
      if (!this.busy && !this.sock.destroyed) this.refuse(408);
    }, this.opts.headersTimeoutMs);
    this.headTimer.unref();
  }

  private clearHeadTimer(): void {
    if (!this.headTimer) return;
    clearTimeout(this.headTimer);
    this.headTimer = null;
  }
}

/** Listen on `host`:`port` (0 = any free port) and answer requests with `handler`. */
export async function listenHttp(host: string, port: number, handler: HttpHandler, options: HttpServerOptions = {}): Promise<HttpServer> {
  const opts = {
    maxHeaderBytes: options.maxHeaderBytes ?? DEFAULTS.maxHeaderBytes,
    headersTimeoutMs: options.headersTimeoutMs ?? DEFAULTS.headersTimeoutMs,
    keepAliveTimeoutMs: options.keepAliveTimeoutMs ?? DEFAULTS.keepAliveTimeoutMs,
    sendTimeoutMs: options.sendTimeoutMs ?? DEFAULTS.sendTimeoutMs,
    maxConnections: options.maxConnections ?? DEFAULTS.maxConnections,
  };
  const accept = (sock: net.Socket) => void new Connection(sock, handler, opts);
  const server = options.tls ? tls.createServer(options.tls, accept) : net.createServer(accept);
  server.maxConnections = opts.maxConnections;
  // TCP connections (TLS ones still in their handshake too), for close().
  const sockets = new Set<net.Socket>();
  server.on('connection', (sock: net.Socket) => {
    sockets.add(sock);
    sock.on('close', () => sockets.delete(sock));
  });
  if (options.tls) server.on('tlsClientError', (_e, s) => s.destroy());
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
      }),
  };
}
