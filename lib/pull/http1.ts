// A small HTTP/1.1 client for plain http:// pulls: kept-alive `net` sockets,
// one request at a time per socket, each request written with one write and
// responses parsed in place (status line, headers, Content-Length, chunked or
// read-until-close bodies). Used instead of node:http for the many small
// GETs of a pull, where node:http's per-request machinery (agent queues,
// ClientRequest/IncomingMessage streams, the generic parser) costs more than
// the transfer. TLS and proxies stay on node:http/https.
import * as net from 'node:net';

/** The parts of a response the fetcher reads (node:http's IncomingMessage has them too). */
export interface ResponseHeaders {
  etag?: string;
  'last-modified'?: string;
  'content-length'?: string;
  'content-range'?: string;
  [name: string]: string | string[] | undefined;
}

export interface HttpResponseLike {
  readonly statusCode?: number;
  readonly headers: ResponseHeaders;
  on(ev: 'data', fn: (c: Buffer) => void): unknown;
  on(ev: 'end' | 'aborted', fn: () => void): unknown;
  on(ev: 'error', fn: (e: Error) => void): unknown;
  pause(): unknown;
  resume(): unknown;
}

export interface HttpRequestLike {
  destroy(err?: Error): unknown;
}

type Framing = 'none' | 'length' | 'chunked' | 'close';

class LeanResponse implements HttpResponseLike {
  statusCode: number;
  headers: ResponseHeaders;
  private onData: Array<(c: Buffer) => void> = [];
  private onEnd: Array<() => void> = [];
  private onAborted: Array<() => void> = [];
  /** Set once the message is complete or cut off; pause/resume then do nothing. */
  detached = false;

  constructor(
    status: number,
    headers: ResponseHeaders,
    private readonly sock: net.Socket,
  ) {
    this.statusCode = status;
    this.headers = headers;
  }

  on(ev: string, fn: (...a: never[]) => void): this {
    if (ev === 'data') this.onData.push(fn as (c: Buffer) => void);
    else if (ev === 'end') this.onEnd.push(fn as () => void);
    else if (ev === 'aborted') this.onAborted.push(fn as () => void);
    // 'error': a cut-off body is reported as 'aborted'.
    return this;
  }

  pause(): this {
    if (!this.detached) this.sock.pause();
    return this;
  }

  resume(): this {
    if (!this.detached) this.sock.resume();
    return this;
  }

  data(c: Buffer): void {
    for (const f of this.onData) f(c);
  }
  end(): void {
    this.detached = true;
    for (const f of this.onEnd) f();
  }
  aborted(): void {
    if (this.detached) return;
    this.detached = true;
    for (const f of this.onAborted) f();
  }
}

function hangUp(): Error {
  const e = new Error('socket hang up') as NodeJS.ErrnoException;
  e.code = 'ECONNRESET';
  return e;
}

function parseError(msg: string): Error {
  const e = new Error(`Parse Error: ${msg}`) as NodeJS.ErrnoException;
  e.code = 'HPE_INVALID';
  return e;
}

const CRLF2 = Buffer.from('\r\n\r\n');
const MAX_HEAD = 64 * 1024;

/** One kept-alive connection and the request it is serving. */
class Conn {
  readonly sock: net.Socket;
  /** Requests served so far (a reused connection may have been closed by the server meanwhile). */
  served = 0;
  private cur: LeanRequest | null = null;
  private res: LeanResponse | null = null;
  private head: Buffer | null = null;
  private framing: Framing = 'none';
  private remaining = 0;
  /** Chunked: 'size' line, 'data', 'crlf' after data, 'trailer' lines. */
  private cstate: 'size' | 'data' | 'crlf' | 'trailer' = 'size';
  private line = '';
  private keepAlive = false;
  private gotBytes = false;
  dead = false;

  constructor(
    readonly pool: LeanPool,
    readonly key: string,
    host: string,
    port: number,
  ) {
    this.sock = net.connect({ host, port });
    this.sock.setNoDelay(true);
    this.sock.on('data', (c: Buffer) => this.onData(c));
    this.sock.on('error', (e) => this.onClose(e));
    this.sock.on('close', () => this.onClose(null));
  }

  start(req: LeanRequest): void {
    this.cur = req;
    this.res = null;
    this.head = null;
    this.gotBytes = false;
    this.sock.ref();
    this.sock.write(req.text);
  }

  destroy(): void {
    this.dead = true;
    this.cur = null;
    this.sock.destroy();
  }

  private onClose(err: Error | null): void {
    const wasDead = this.dead;
    this.dead = true;
    this.pool.forget(this);
    const req = this.cur;
    this.cur = null;
    if (!req || wasDead) return;
    const res = this.res;
    if (res) {
      if (this.framing === 'close' && !err) {
        this.res = null;
        res.end();
      } else res.aborted();
      return;
    }
    // Nothing of the answer arrived on a reused connection: the server closed it while idle; ask again on a new one.
    if (!this.gotBytes && this.served > 0 && !req.retried) {
      req.retried = true;
      this.pool.dispatch(req);
      return;
    }
    req.fail(err ?? hangUp());
  }

  private onData(c: Buffer): void {
    if (!this.cur) {
      // Bytes nobody asked for: this connection can't be trusted any more.
      this.destroy();
      return;
    }
    this.gotBytes = true;
    let off = 0;
    if (!this.res) {
      const buf = this.head ? Buffer.concat([this.head, c]) : c;
      const end = buf.indexOf(CRLF2);
      if (end < 0) {
        if (buf.length > MAX_HEAD) return this.protocolError('header too large');
        this.head = buf;
        return;
      }
      this.head = null;
      if (!this.parseHead(buf.toString('latin1', 0, end))) return;
      if (!this.res) {
        // An interim 1xx answer: parse what follows as the real head.
        if (end + 4 < buf.length) this.onData(buf.subarray(end + 4));
        return;
      }
      c = buf;
      off = end + 4;
      if (this.framing === 'none') return this.complete(off < c.length);
    }
    if (off < c.length) this.body(c, off);
  }

  /** Status line and headers; emits the response. False after an error. */
  private parseHead(text: string): boolean {
    const lines = text.split('\r\n');
    const m = /^HTTP\/1\.([01]) (\d{3})(?: .*)?$/.exec(lines[0]);
    if (!m) {
      this.protocolError('invalid status line');
      return false;
    }
    const status = Number(m[2]);
    if (status >= 100 && status < 200 && status !== 101) return true;
    const headers: ResponseHeaders = Object.create(null) as ResponseHeaders;
    for (let i = 1; i < lines.length; i++) {
      const l = lines[i];
      const colon = l.indexOf(':');
      if (colon <= 0) {
        this.protocolError('invalid header line');
        return false;
      }
      const k = l.slice(0, colon).trim().toLowerCase();
      const v = l.slice(colon + 1).trim();
      const old = headers[k];
      if (old === undefined) headers[k] = v;
      else if (k === 'content-length') {
        if (old !== v) {
          this.protocolError('conflicting Content-Length');
          return false;
        }
      } else headers[k] = `${old}, ${v}`;
    }
    const conn = String(headers.connection ?? '').toLowerCase();
    this.keepAlive = m[1] === '1' ? !/\bclose\b/.test(conn) : /\bkeep-alive\b/.test(conn);
    const te = String(headers['transfer-encoding'] ?? '').toLowerCase();
    if (status === 204 || status === 304) this.framing = 'none';
    else if (te !== '') {
      if (!/(^|,)\s*chunked\s*$/.test(te)) {
        this.protocolError('unsupported Transfer-Encoding');
        return false;
      }
      this.framing = 'chunked';
      this.cstate = 'size';
      this.line = '';
    } else if (headers['content-length'] !== undefined) {
      const cl = headers['content-length'];
      if (!/^\d+$/.test(cl)) {
        this.protocolError('invalid Content-Length');
        return false;
      }
      this.remaining = Number(cl);
      this.framing = this.remaining === 0 ? 'none' : 'length';
    } else {
      this.framing = 'close';
      this.keepAlive = false;
    }
    const res = new LeanResponse(status, headers, this.sock);
    this.res = res;
    const req = this.cur as LeanRequest;
    req.respond(res);
    return !this.dead && this.cur === req;
  }

  private body(c: Buffer, off: number): void {
    const res = this.res as LeanResponse;
    const req = this.cur;
    if (this.framing === 'close') {
      res.data(off === 0 ? c : c.subarray(off));
      return;
    }
    if (this.framing === 'length') {
      const n = Math.min(this.remaining, c.length - off);
      this.remaining -= n;
      res.data(off === 0 && n === c.length ? c : c.subarray(off, off + n));
      if (this.remaining === 0 && this.cur === req && !this.dead) this.complete(off + n < c.length);
      return;
    }
    // chunked
    while (off < c.length && this.cur === req && !this.dead) {
      if (this.cstate === 'data') {
        const n = Math.min(this.remaining, c.length - off);
        this.remaining -= n;
        res.data(c.subarray(off, off + n));
        off += n;
        if (this.remaining === 0) this.cstate = 'crlf';
        continue;
      }
      const nl = c.indexOf(10, off);
      if (nl < 0) {
        this.line += c.toString('latin1', off);
        if (this.line.length > 4096) return this.protocolError('chunk line too long');
        return;
      }
      const line = (this.line + c.toString('latin1', off, nl)).replace(/\r$/, '');
      this.line = '';
      off = nl + 1;
      if (this.cstate === 'crlf') {
        if (line !== '') return this.protocolError('missing CRLF after chunk');
        this.cstate = 'size';
      } else if (this.cstate === 'size') {
        const m = /^([0-9a-fA-F]+)\s*(;.*)?$/.exec(line);
        if (!m) return this.protocolError('invalid chunk size');
        this.remaining = parseInt(m[1], 16);
        this.cstate = this.remaining === 0 ? 'trailer' : 'data';
      } else if (line === '') {
        // End of the trailers: the message is complete.
        return this.complete(off < c.length);
      }
    }
  }

  private complete(extra: boolean): void {
    const res = this.res as LeanResponse;
    // The request is over: destroying it later must not touch this connection (it may serve another one by then).
    if (this.cur) this.cur.conn = null;
    this.cur = null;
    this.res = null;
    this.served++;
    if (this.keepAlive && !extra && !this.dead) {
      if (this.sock.isPaused()) this.sock.resume();
      this.pool.release(this);
    } else this.destroy();
    res.end();
  }

  private protocolError(msg: string): void {
    const req = this.cur;
    const res = this.res;
    this.destroy();
    if (res) res.aborted();
    else req?.fail(parseError(msg));
  }
}

/** A request as handed to the pool: its bytes and where the answer goes. */
class LeanRequest implements HttpRequestLike {
  conn: Conn | null = null;
  retried = false;
  done = false;

  constructor(
    readonly key: string,
    readonly host: string,
    readonly port: number,
    readonly text: string,
    private readonly onResponse: (r: HttpResponseLike) => void,
    private readonly onError: (e: Error) => void,
  ) {}

  respond(res: LeanResponse): void {
    if (!this.done) this.onResponse(res);
  }

  fail(e: Error): void {
    if (this.done) return;
    this.done = true;
    this.conn = null;
    this.onError(e);
  }

  destroy(): this {
    this.done = true;
    const c = this.conn;
    this.conn = null;
    c?.destroy();
    return this;
  }
}

export class LeanPool {
  private readonly idle = new Map<string, Conn[]>();
  private readonly all = new Set<Conn>();

  /**
   * GET `pathQ` from host:port with these headers (lower-case names).
   * `onResponse` gets the status and headers, then body 'data' and 'end'
   * (or 'aborted' when the connection breaks in the middle); `onError` a
   * failure before any answer (ECONNRESET 'socket hang up' like node:http).
   */
  request(hostname: string, port: number, hostHeader: string, pathQ: string, headers: Record<string, string>, onResponse: (r: HttpResponseLike) => void, onError: (e: Error) => void): HttpRequestLike {
    let text = `GET ${pathQ} HTTP/1.1\r\nhost: ${hostHeader}\r\n`;
    for (const k in headers) {
      const v = headers[k];
      if (/[\r\n]/.test(k) || /[\r\n]/.test(v)) throw new TypeError(`Invalid character in header ${JSON.stringify(k)}`);
      text += `${k}: ${v}\r\n`;
    }
    text += 'connection: keep-alive\r\n\r\n';
    const host = hostname.startsWith('[') && hostname.endsWith(']') ? hostname.slice(1, -1) : hostname;
    const req = new LeanRequest(`${host}:${port}`, host, port, text, onResponse, onError);
    this.dispatch(req);
    return req;
  }

  /** Start `req` on an idle connection, or a new one. */
  dispatch(req: LeanRequest): void {
    if (req.done) return;
    const list = this.idle.get(req.key);
    let c = list?.pop();
    while (c && c.dead) c = list?.pop();
    if (!c) {
      c = new Conn(this, req.key, req.host, req.port);
      this.all.add(c);
    }
    req.conn = c;
    c.start(req);
  }

  release(c: Conn): void {
    c.sock.unref();
    let list = this.idle.get(c.key);
    if (!list) this.idle.set(c.key, (list = []));
    list.push(c);
  }

  forget(c: Conn): void {
    this.all.delete(c);
    const list = this.idle.get(c.key);
    if (list) {
      const i = list.indexOf(c);
      if (i >= 0) list.splice(i, 1);
    }
  }

  destroy(): void {
    for (const c of [...this.all]) c.destroy();
    this.all.clear();
    this.idle.clear();
  }
}
