// HTTP(S)/file fetching for pulls (FORMATS.md §7): kept-alive connections,
// a bounded number of requests in flight (metadata ahead of content), retries
// with exponential backoff for transient failures, resumption of cut-off
// bodies with Range requests, and a low-speed limit so a stalled transfer
// fails instead of hanging. Plays the role of ostree's fetcher (libcurl).
import type * as Http from 'node:http';
import type * as Https from 'node:https';
import type * as Tls from 'node:tls';
import * as net from 'node:net';
import { promises as fsp, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { setMaxListeners } from 'node:events';
import { OstreeError, isErrno } from '../errors';
import { LeanPool, HttpResponseLike, HttpRequestLike } from './http1';

export interface FetchOptions {
  /** Resolve against contenturl instead of url (objects/, delta parts). */
  content?: boolean;
  /** A 404 (or 410) resolves to null instead of throwing. */
  optional?: boolean;
  /**
   * Refuse bodies larger than this many bytes, as they arrive (default:
   * MAX_METADATA_SIZE for metadata requests, none for content).
   */
  maxSize?: number;
  /**
   * A limit read from the body itself: once its first `bytes` bytes have
   * arrived, the body may not exceed `limit(prefix)` bytes either (content
   * objects: the size their header declares).
   */
  prefixLimit?: PrefixLimit;
  /** Metadata requests jump the queue ahead of content (default: !content). */
  priority?: 'high' | 'low';
  signal?: AbortSignal;
  /** Conditional request: If-None-Match with this ETag... */
  ifNoneMatch?: string;
  /** ...and/or If-Modified-Since with this time (seconds since the epoch). */
  ifModifiedSince?: number;
}

/** See FetchOptions.prefixLimit. */
export interface PrefixLimit {
  bytes: number;
  limit(prefix: Buffer): number;
}

/**
 * ostree 2022.7's OSTREE_MAX_METADATA_SIZE (10 MiB; raised to 128 MiB in
 * 2023.4): the cap of summary, summary.sig, config, refs/heads/REF, and
 * of commit (unless the summary gives its size), commitmeta, dirtree,
 * dirmeta and tombstone-commit objects fetched from a remote.
 */
export const MAX_METADATA_SIZE = 10 * 1024 * 1024;

/** Redirects followed per request (curl's default since 8.3; 2022.7 with curl 7.88 has no limit). */
export const MAX_REDIRECTS = 30;

/** A redirect's own body is drained (keeping the connection) up to this size, else the connection is dropped. */
const REDIRECT_BODY_MAX = 64 * 1024;

const REDIRECT_STATUS = new Set([301, 302, 303, 307, 308]);

/** The answer to a conditional request. */
export interface ConditionalResult {
  /** The body (null: optional and missing, or not modified). */
  body: Buffer | null;
  /** The server answered 304 Not Modified. */
  notModified: boolean;
  /** ETag of the response, when the server sent one. */
  etag?: string;
  /** Last-Modified of the response in seconds since the epoch (0 = none). */
  lastModified: number;
}

/** Where fetchBody puts a body: memory up to a size, a file beyond it. */
export interface SpillOptions extends FetchOptions {
  /** Bodies larger than this many bytes go to a new file in `spillDir`... */
  spillAbove: number;
  /** ...a directory on the filesystem the file will end up on (e.g. REPO/tmp). */
  spillDir: string;
}

/** A fetched body: in memory, or in a file the caller now owns (and removes). */
export type FetchedBody = { data: Buffer; file?: undefined; size: number } | { data?: undefined; file: string; size: number };

/** What a pull needs from a transport. */
export interface Fetcher {
  /** GET `relPath` below the base URL; the whole body, or null for an optional missing file. */
  fetch(relPath: string, opts?: FetchOptions): Promise<Buffer | null>;
  /**
   * GET `relPath`; small bodies in memory, large ones streamed to a file
   * (memory use bounded whatever the size); null for an optional missing file.
   */
  fetchBody(relPath: string, opts: SpillOptions): Promise<FetchedBody | null>;
  /** Like fetch, with If-None-Match/If-Modified-Since and the validators of the answer. */
  fetchConditional(relPath: string, opts?: FetchOptions): Promise<ConditionalResult>;
  /** Body bytes received so far (all requests, including retries). */
  readonly bytesTransferred: number;
  /** Requests started (each retry counts). */
  readonly requests: number;
  /** Drop idle kept-alive connections. */
  close(): void;
}

export interface TlsOptions {
  /** PEM CA bundle: when set, only these CAs are trusted (pinning). */
  caPath?: string;
  certPath?: string;
  keyPath?: string;
  /** Accept any server certificate. */
  permissive?: boolean;
}

export interface FetcherOptions {
  /** Base URL for metadata (http, https or file). */
  url: string;
  /** Base URL for content objects; defaults to `url`. */
  contentUrl?: string;
  /** Extra request headers. */
  headers?: Array<[string, string]> | Record<string, string>;
  /** Requests in flight (default 8, as ostree). */
  maxConcurrency?: number;
  /** Retries per request for transient errors (default 5). */
  retries?: number;
  /** First backoff delay in ms (default 200), doubled per attempt... */
  backoffMs?: number;
  /** ...up to this (default 10000). */
  maxBackoffMs?: number;
  /** Low-speed limit in bytes/s (default 1000); 0 = only "no bytes at all". */
  lowSpeedLimit?: number;
  /** Seconds the transfer may stay below the limit (default 30). */
  lowSpeedTime?: number;
  tls?: TlsOptions;
  /** HTTP proxy URL (http://host:port); https targets are tunnelled with CONNECT. */
  proxy?: string;
  /** Aborts every request. */
  signal?: AbortSignal;
  /** Called as body bytes arrive. */
  onBytes?: (n: number) => void;
  userAgent?: string;
}

const DEFAULT_UA = 'libostree/2022.7 node-ostree';

type Attempt = 'ok' | 'missing' | 'not-modified';

/** What one fetch learns across its attempts. */
interface FetchState {
  etag?: string;
  lastModified: number;
  /** The body's size limit in force (maxSize, lowered by prefixLimit once known). */
  max?: number;
  /** First bytes of the body while prefixLimit waits for them (null once the limit is known). */
  prefix: Buffer | null;
}

function fetchState(fo: FetchOptions): FetchState {
  return { lastModified: 0, max: fo.maxSize ?? (fo.content ? undefined : MAX_METADATA_SIZE), prefix: fo.prefixLimit ? Buffer.alloc(0) : null };
}

/** A failed attempt that may succeed when repeated. */
class TransientError extends Error {
  constructor(
    message: string,
    readonly final: OstreeError,
  ) {
    super(message);
  }
}

interface Waiter {
  resolve: () => void;
  high: boolean;
  /** Cancelled while queued. */
  dead?: boolean;
}

/** A FIFO with O(1) push and shift. */
class Fifo<T> {
  private items: Array<T | null> = [];
  private head = 0;
  get size(): number {
    return this.items.length - this.head;
  }
  push(v: T): void {
    this.items.push(v);
  }
  shift(): T | undefined {
    while (this.head < this.items.length) {
      const v = this.items[this.head];
      this.items[this.head++] = null;
      if (this.head > 1024 && this.head * 2 > this.items.length) {
        this.items = this.items.slice(this.head);
        this.head = 0;
      }
      if (v !== null) return v;
    }
    return undefined;
  }
}

/** Bounded concurrency with two priorities (FIFO within each). */
class Slots {
  private active = 0;
  private readonly high = new Fifo<Waiter>();
  private readonly low = new Fifo<Waiter>();
  constructor(private readonly limit: number) {}

  async acquire(high: boolean, signal?: AbortSignal): Promise<void> {
    if (this.active < this.limit) {
      this.active++;
      return;
    }
    await new Promise<void>((resolve, reject) => {
      const w: Waiter = { resolve, high };
      (high ? this.high : this.low).push(w);
      if (signal) {
        const onAbort = () => {
          w.dead = true; // skipped by release()
          reject(abortError(signal));
        };
        if (signal.aborted) return onAbort();
        const off = onAbortOf(signal, onAbort);
        w.resolve = () => {
          off();
          resolve();
        };
      }
    });
  }

  release(): void {
    for (;;) {
      const next = this.high.shift() ?? this.low.shift();
      if (!next) {
        this.active--;
        return;
      }
      if (!next.dead) return next.resolve();
    }
  }
}

/** Callbacks waiting on each signal, behind one 'abort' listener per signal (adding/removing EventTarget listeners per request is slow). */
const abortCallbacks = new WeakMap<AbortSignal, Set<() => void>>();

/** Call `fn` once when `signal` aborts (in registration order); returns the function that unregisters it. */
function onAbortOf(signal: AbortSignal, fn: () => void): () => void {
  let set = abortCallbacks.get(signal);
  if (!set) {
    const cbs = new Set<() => void>();
    set = cbs;
    abortCallbacks.set(signal, cbs);
    signal.addEventListener(
      'abort',
      () => {
        const list = [...cbs];
        cbs.clear();
        for (const f of list) {
          try {
            f();
          } catch (err) {
            process.nextTick(() => {
              throw err;
            });
          }
        }
      },
      { once: true },
    );
  }
  const entry = () => fn();
  set.add(entry);
  const s = set;
  return () => {
    s.delete(entry);
  };
}

function abortError(signal: AbortSignal): OstreeError {
  return new OstreeError('OSTREE_ABORTED', 'Operation was cancelled', { cause: signal.reason });
}

function anySignal(a?: AbortSignal, b?: AbortSignal): AbortSignal | undefined {
  if (!a) return b;
  if (!b) return a;
  const s = AbortSignal.any([a, b]);
  setMaxListeners(0, s);
  return s;
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(abortError(signal));
    const t = setTimeout(() => {
      off?.();
      resolve();
    }, ms);
    const off = signal
      ? onAbortOf(signal, () => {
          clearTimeout(t);
          reject(abortError(signal));
        })
      : null;
  });
}

/** Join a base URL and a repo-relative path (the base is treated as a directory). */
export function joinUrl(base: string, rel: string): string {
  return (base.endsWith('/') ? base : base + '/') + rel.replace(/^\/+/, '');
}

function headerList(h: FetcherOptions['headers']): Array<[string, string]> {
  if (!h) return [];
  return Array.isArray(h) ? h : Object.entries(h);
}

/** Status codes worth retrying (server overload, request timeout). */
function retryableStatus(status: number): boolean {
  return status === 408 || status === 429 || (status >= 500 && status !== 501 && status !== 505);
}

const RETRYABLE_ERRNO = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'EAI_AGAIN', 'ENETUNREACH', 'EHOSTUNREACH', 'ECONNABORTED']);

let spillCounter = 0;

/** A fresh file name for a spilled body. */
function spillName(): string {
  spillCounter = (spillCounter + 1) % 1e9;
  return `.pull-${process.pid}-${Date.now().toString(36)}-${spillCounter}-${Math.random().toString(36).slice(2, 8)}`;
}

/** Body bytes waiting to be written before the response is paused / resumed. */
const SPILL_HIGH = 1024 * 1024;
const SPILL_LOW = 256 * 1024;

/**
 * Where a request's body goes. Chunks are appended in order; `reset` drops
 * what arrived (a server that ignored Range). The memory sink keeps
 * everything; the spilling one switches to a file once `limit` is passed,
 * writing chunks one after another off the event loop and pausing the
 * response while more than SPILL_HIGH bytes are waiting.
 */
class BodySink {
  size = 0;
  private parts: Buffer[] = [];
  private file: string | null = null;
  private fh: Promise<fsp.FileHandle> | null = null;
  private chain: Promise<void> = Promise.resolve();
  private pending = 0;
  private paused: HttpResponseLike | null = null;
  /** The first write failure; the transfer stops with it. */
  error: Error | null = null;

  constructor(private readonly spill?: { limit: number; dir: string }) {}

  push(c: Buffer, res: HttpResponseLike): void {
    this.size += c.length;
    if (!this.fh && (!this.spill || this.size <= this.spill.limit)) {
      this.parts.push(c);
      return;
    }
    if (!this.fh) {
      this.file = path.join((this.spill as { dir: string }).dir, spillName());
      this.fh = fsp.open(this.file, 'wx', 0o644);
      const first = this.parts;
      this.parts = [];
      first.push(c);
      this.write(Buffer.concat(first), 0, res);
      return;
    }
    this.write(c, this.size - c.length, res);
  }

  private write(b: Buffer, pos: number, res: HttpResponseLike): void {
    this.pending += b.length;
    if (this.pending > SPILL_HIGH && !this.paused) {
      this.paused = res;
      res.pause();
    }
    this.chain = this.chain.then(async () => {
      try {
        if (!this.error) {
          const fh = await (this.fh as Promise<fsp.FileHandle>);
          let off = 0;
          while (off < b.length) off += (await fh.write(b, off, b.length - off, pos + off)).bytesWritten;
        }
      } catch (e) {
        this.error ??= e as Error;
      } finally {
        this.pending -= b.length;
        if (this.paused && (this.pending < SPILL_LOW || this.error)) {
          const r = this.paused;
          this.paused = null;
          r.resume();
        }
      }
    });
  }

  reset(): void {
    this.size = 0;
    this.parts = [];
    if (this.fh) {
      const fh = this.fh;
      this.chain = this.chain.then(async () => {
        try {
          await (await fh).truncate(0);
        } catch (e) {
          this.error ??= e as Error;
        }
      });
    }
  }

  /** Everything received, once written. */
  async finish(): Promise<FetchedBody> {
    if (!this.fh) return { data: this.parts.length === 1 ? this.parts[0] : Buffer.concat(this.parts), size: this.size };
    await this.chain;
    const fh = await this.fh;
    try {
      if (this.error) throw this.error;
      await fh.truncate(this.size);
    } finally {
      await fh.close();
      this.fh = null;
    }
    return { file: this.file as string, size: this.size };
  }

  /** Drop a failed transfer's file. */
  async discard(): Promise<void> {
    this.parts = [];
    if (!this.fh) return;
    await this.chain;
    await (await this.fh.catch(() => null))?.close().catch(() => {});
    this.fh = null;
    if (this.file) await fsp.rm(this.file, { force: true });
  }
}

export class NodeFetcher implements Fetcher {
  bytesTransferred = 0;
  requests = 0;
  private readonly base: URL;
  private readonly contentBase: URL;
  private readonly headers: Array<[string, string]>;
  private readonly slots: Slots;
  private readonly retries: number;
  private readonly backoffMs: number;
  private readonly lowSpeedLimit: number;
  private readonly lowSpeedTime: number;
  /** node:http/https (and their agents) serve TLS and proxies only: loaded when first needed. */
  private nodeHttp: { http: typeof Http; https: typeof Https; tls: typeof Tls; httpAgent: Http.Agent; httpsAgent: Https.Agent } | null = null;
  /** Plain http:// without a proxy: the small kept-alive client. */
  private readonly lean = new LeanPool();
  private readonly tlsCtx: Tls.ConnectionOptions;
  private readonly proxy: URL | null;

  constructor(private readonly opts: FetcherOptions) {
    this.base = parseBase(opts.url);
    this.contentBase = opts.contentUrl ? parseBase(opts.contentUrl) : this.base;
    this.headers = headerList(opts.headers);
    this.slots = new Slots(Math.max(1, opts.maxConcurrency ?? 8));
    this.retries = Math.max(0, opts.retries ?? 5);
    this.backoffMs = opts.backoffMs ?? 200;
    this.lowSpeedLimit = Math.max(0, opts.lowSpeedLimit ?? 1000);
    this.lowSpeedTime = Math.max(0.05, opts.lowSpeedTime ?? 30);
    const t = opts.tls ?? {};
    this.tlsCtx = {
      rejectUnauthorized: !t.permissive,
      ...(t.caPath ? { ca: readFileSync(t.caPath) } : {}),
      ...(t.certPath ? { cert: readFileSync(t.certPath) } : {}),
      ...(t.keyPath ? { key: readFileSync(t.keyPath) } : t.certPath ? { key: readFileSync(t.certPath) } : {}),
    };
    if (opts.signal) setMaxListeners(0, opts.signal);
    this.proxy = opts.proxy ? new URL(/^[a-z]+:\/\//i.test(opts.proxy) ? opts.proxy : `http://${opts.proxy}`) : null;
  }

  private node(): NonNullable<NodeFetcher['nodeHttp']> {
    if (!this.nodeHttp) {
      /* eslint-disable @typescript-eslint/no-require-imports */
      const http = require('node:http') as typeof Http;
      const https = require('node:https') as typeof Https;
      const tls = require('node:tls') as typeof Tls;
      /* eslint-enable @typescript-eslint/no-require-imports */
      const maxSockets = this.opts.maxConcurrency ?? 8;
      this.nodeHttp = {
        http,
        https,
        tls,
        httpAgent: new http.Agent({ keepAlive: true, maxSockets }),
        httpsAgent: new https.Agent({ keepAlive: true, maxSockets, ...this.tlsCtx }),
      };
    }
    return this.nodeHttp;
  }

  /** Low-speed checks of the requests in flight, run by one interval timer while there are any. */
  private readonly watched = new Set<(now: number) => void>();
  private ticker: NodeJS.Timeout | null = null;

  private watch(check: (now: number) => void): void {
    this.watched.add(check);
    if (!this.ticker) {
      const windowMs = this.lowSpeedTime * 1000;
      this.ticker = setInterval(
        () => {
          const now = Date.now();
          for (const c of [...this.watched]) c(now);
        },
        Math.min(1000, Math.max(20, windowMs / 10)),
      );
      this.ticker.unref?.();
    }
  }

  private unwatch(check: (now: number) => void): void {
    this.watched.delete(check);
    if (this.watched.size === 0 && this.ticker) {
      clearInterval(this.ticker);
      this.ticker = null;
    }
  }

  close(): void {
    if (this.ticker) clearInterval(this.ticker);
    this.ticker = null;
    this.watched.clear();
    this.nodeHttp?.httpAgent.destroy();
    this.nodeHttp?.httpsAgent.destroy();
    this.lean.destroy();
  }

  async fetch(relPath: string, fo: FetchOptions = {}): Promise<Buffer | null> {
    return (await this.fetchConditional(relPath, fo)).body;
  }

  async fetchBody(relPath: string, fo: SpillOptions): Promise<FetchedBody | null> {
    const base = fo.content ? this.contentBase : this.base;
    const url = new URL(joinUrl(base.href, relPath));
    const signal = anySignal(this.opts.signal, fo.signal);
    if (signal?.aborted) throw abortError(signal);
    if (url.protocol === 'file:') return this.fetchFileBody(url, fo);
    const high = fo.priority ? fo.priority === 'high' : !fo.content;
    await this.slots.acquire(high, signal);
    const sink = new BodySink({ limit: fo.spillAbove, dir: fo.spillDir });
    let out: FetchedBody | null = null;
    try {
      const r = await this.fetchWithRetries(url, fo, signal, fetchState(fo), sink);
      if (r === 'ok') out = await sink.finish();
      return out;
    } finally {
      this.slots.release();
      if (!out) await sink.discard();
    }
  }

  private async fetchFileBody(url: URL, fo: SpillOptions): Promise<FetchedBody | null> {
    const p = fileURLToPath(url);
    let size: number;
    try {
      size = (await fsp.stat(p)).size;
    } catch (err) {
      if (!isErrno(err, 'ENOENT') && !isErrno(err, 'ENOTDIR')) throw err;
      size = 0; // reported by fetchFile
    }
    if (size <= fo.spillAbove) {
      const data = await this.fetchFile(url, fo);
      return data ? { data, size: data.length } : null;
    }
    const max = fetchState(fo).max;
    if (max !== undefined && size > max) throw tooLarge(url, max);
    const file = path.join(fo.spillDir, spillName());
    try {
      await fsp.copyFile(p, file);
    } catch (err) {
      await fsp.rm(file, { force: true });
      throw err;
    }
    this.bytesTransferred += size;
    this.opts.onBytes?.(size);
    return { file, size };
  }

  async fetchConditional(relPath: string, fo: FetchOptions = {}): Promise<ConditionalResult> {
    const base = fo.content ? this.contentBase : this.base;
    const url = new URL(joinUrl(base.href, relPath));
    const signal = anySignal(this.opts.signal, fo.signal);
    if (signal?.aborted) throw abortError(signal);
    if (url.protocol === 'file:') return { body: await this.fetchFile(url, fo), notModified: false, lastModified: 0 };
    const high = fo.priority ? fo.priority === 'high' : !fo.content;
    await this.slots.acquire(high, signal);
    try {
      const state = fetchState(fo);
      const sink = new BodySink();
      const r = await this.fetchWithRetries(url, fo, signal, state, sink);
      const body = r === 'ok' ? ((await sink.finish()).data as Buffer) : null;
      return { body, notModified: r === 'not-modified', etag: state.etag, lastModified: state.lastModified };
    } finally {
      this.slots.release();
    }
  }

  private async fetchFile(url: URL, fo: FetchOptions): Promise<Buffer | null> {
    const p = fileURLToPath(url);
    const max = fetchState(fo).max;
    const b = await readFileCapped(p, url.href, max ?? Infinity);
    if (!b) {
      if (fo.optional) return null;
      throw new OstreeError('OSTREE_HTTP', `Couldn't find file ${p}`, { data: { status: 404, url: url.href } });
    }
    this.bytesTransferred += b.length;
    this.opts.onBytes?.(b.length);
    return b;
  }

  private async fetchWithRetries(url: URL, fo: FetchOptions, signal: AbortSignal | undefined, state: FetchState, sink: BodySink): Promise<Attempt> {
    let have = 0;
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.attempt(url, fo, signal, sink, have, state, [url.href]);
      } catch (err) {
        if (signal?.aborted) throw abortError(signal);
        if (!(err instanceof TransientError)) throw err;
        have = sink.size;
        if (attempt >= this.retries) throw err.final;
        await sleep(Math.min(this.opts.maxBackoffMs ?? 10000, this.backoffMs * 2 ** attempt), signal);
      }
    }
  }

  /**
   * One request. Body chunks are appended to `sink`; when `have` > 0 the
   * request asks for the rest with Range and keeps what arrived before if
   * the server honours it. A 206 answer to a plain request (a server that
   * only sends pieces) continues with further Range requests. A redirect
   * continues at its target (`chain`: the URLs of this request so far, the
   * last one `url`); the body's size limit is enforced as bytes arrive.
   */
  private attempt(url: URL, fo: FetchOptions, signal: AbortSignal | undefined, sink: BodySink, have: number, state: FetchState, chain: string[]): Promise<Attempt> {
    return new Promise((resolve, reject) => {
      let done = false;
      let req: HttpRequestLike | null = null;
      let lowTimer: ((now: number) => void) | null = null;
      const finish = (err: Error | null, v?: Attempt) => {
        if (done) return;
        done = true;
        if (lowTimer) this.unwatch(lowTimer);
        offAbort?.();
        if (err) {
          req?.destroy();
          reject(err);
        } else resolve(v as Attempt);
      };
      const offAbort = signal ? onAbortOf(signal, () => finish(abortError(signal))) : null;
      /** Go on with another request (this one is over: its connection is not ours to destroy any more). */
      const continueWith = (next: URL, from: number, nextChain: string[]) => {
        if (done) return;
        if (lowTimer) this.unwatch(lowTimer);
        lowTimer = null;
        req = null;
        this.attempt(next, fo, signal, sink, from, state, nextChain).then(
          (v) => finish(null, v),
          (e) => finish(e),
        );
      };

      // Low-speed limit: fewer than limit*time bytes within any `time` window
      // (checked by the fetcher's one ticker for all requests in flight).
      const windowMs = this.lowSpeedTime * 1000;
      const started = Date.now();
      const samples: Array<[number, number]> = [[started, 0]];
      let received = 0;
      const check = (now: number) => {
        samples.push([now, received]);
        while (samples.length > 2 && now - samples[1][0] >= windowMs) samples.shift();
        const [t0, b0] = samples[0];
        if (now - t0 >= windowMs && received - b0 <= this.lowSpeedLimit * this.lowSpeedTime && (this.lowSpeedLimit > 0 || received === b0)) {
          const e = new OstreeError(
            'OSTREE_TIMEOUT',
            `Operation too slow. Less than ${this.lowSpeedLimit} bytes/sec transferred the last ${this.lowSpeedTime} seconds (${url.href})`,
            { data: { url: url.href } },
          );
          finish(new TransientError(e.message, e));
        }
      };
      lowTimer = check;
      this.watch(check);

      const headers: Record<string, string> = { 'user-agent': this.opts.userAgent ?? DEFAULT_UA, accept: '*/*' };
      // Credentials given for the first origin are not sent to another one (as curl).
      const foreign = chain.length > 1 && new URL(chain[0]).origin !== url.origin;
      for (const [k, v] of this.headers) {
        const name = k.toLowerCase();
        if (foreign && (name === 'authorization' || name === 'cookie')) continue;
        headers[name] = v;
      }
      if (url.username || url.password) {
        headers.authorization = 'Basic ' + Buffer.from(`${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`).toString('base64');
      }
      if (have > 0) headers.range = `bytes=${have}-`;
      else {
        if (fo.ifNoneMatch) headers['if-none-match'] = fo.ifNoneMatch;
        if (fo.ifModifiedSince) headers['if-modified-since'] = new Date(fo.ifModifiedSince * 1000).toUTCString();
      }

      const onResponse = (res: HttpResponseLike) => {
        const status = res.statusCode ?? 0;
        const transientHttp = (msg: string) =>
          new TransientError(msg, new OstreeError('OSTREE_HTTP', `Server returned HTTP ${status}`, { data: { status, url: url.href } }));
        if (status === 404 || status === 410) {
          // The error body counts as transferred, as with libcurl.
          res.on('data', (c: Buffer) => {
            this.bytesTransferred += c.length;
            this.opts.onBytes?.(c.length);
          });
          res.on('error', () => {});
          if (fo.optional) return finish(null, 'missing');
          return finish(new OstreeError('OSTREE_HTTP', `Server returned HTTP ${status}`, { data: { status, url: url.href } }));
        }
        if (status === 304 && (fo.ifNoneMatch || fo.ifModifiedSince)) {
          res.resume();
          return finish(null, 'not-modified');
        }
        const location = res.headers.location;
        if (REDIRECT_STATUS.has(status) && typeof location === 'string' && location !== '') {
          let next: URL;
          try {
            next = redirectTarget(url, location, chain);
          } catch (e) {
            res.resume();
            return finish(e as Error);
          }
          // Read the (small) redirect body to its end so the connection can serve the next request; a large one is cut off.
          let drained = 0;
          let followed = false;
          const go = () => {
            if (followed) return;
            followed = true;
            continueWith(next, have, [...chain, next.href]);
          };
          const cut = () => {
            if (followed) return;
            req?.destroy();
            go();
          };
          if (Number(res.headers['content-length'] ?? 0) > REDIRECT_BODY_MAX) return cut();
          res.on('data', (c: Buffer) => {
            drained += c.length;
            if (drained > REDIRECT_BODY_MAX) cut();
          });
          res.on('end', go);
          res.on('aborted', go);
          res.on('error', go);
          return;
        }
        if (status === 200) {
          const etag = res.headers.etag;
          state.etag = typeof etag === 'string' && etag !== '' ? etag : undefined;
          const lm = Date.parse(res.headers['last-modified'] ?? '');
          state.lastModified = Number.isFinite(lm) ? Math.floor(lm / 1000) : 0;
        }
        if (retryableStatus(status)) {
          res.resume();
          return finish(transientHttp(`HTTP ${status}`));
        }
        if (status !== 200 && status !== 206) {
          res.resume();
          return finish(new OstreeError('OSTREE_HTTP', `Server returned HTTP ${status}`, { data: { status, url: url.href } }));
        }
        let total: number | null = null;
        if (status === 206) {
          const m = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(res.headers['content-range'] ?? '');
          if (!m || Number(m[1]) !== have) {
            res.resume();
            return finish(new OstreeError('OSTREE_HTTP', `Invalid Content-Range from server: ${res.headers['content-range'] ?? '(none)'}`, { data: { status, url: url.href } }));
          }
          total = m[3] === '*' ? null : Number(m[3]);
        } else if (have > 0) {
          // Range ignored: start over.
          sink.reset();
          if (fo.prefixLimit && state.prefix) state.prefix = Buffer.alloc(0);
        }
        const len = res.headers['content-length'] !== undefined ? Number(res.headers['content-length']) : null;
        const start = status === 206 ? have : 0;
        const expectEnd = total ?? (len !== null ? start + len : null);
        if (state.max !== undefined && expectEnd !== null && expectEnd > state.max) {
          res.resume();
          return finish(tooLarge(url, state.max));
        }
        let got = start;
        let bodyBytes = 0;
        res.on('data', (c: Buffer) => {
          if (done) return;
          if (sink.error) return finish(sink.error);
          // Refused before the bytes are kept: what is held never exceeds the limit.
          if (state.max !== undefined && got + c.length > state.max) return finish(tooLarge(url, state.max));
          if (state.prefix && fo.prefixLimit && got < fo.prefixLimit.bytes) {
            state.prefix = Buffer.concat([state.prefix, c.subarray(0, fo.prefixLimit.bytes - got)]);
            if (state.prefix.length >= fo.prefixLimit.bytes) {
              state.max = Math.min(state.max ?? Infinity, fo.prefixLimit.limit(state.prefix));
              state.prefix = null;
              if (got + c.length > state.max || (expectEnd !== null && expectEnd > state.max)) return finish(tooLarge(url, state.max));
            }
          }
          sink.push(c, res);
          got += c.length;
          bodyBytes += c.length;
          received += c.length;
          this.bytesTransferred += c.length;
          this.opts.onBytes?.(c.length);
        });
        res.on('aborted', () => finish(truncated(url, got, expectEnd)));
        res.on('error', (e) => finish(truncated(url, got, expectEnd, e)));
        res.on('end', () => {
          if (done) return;
          if (len !== null && bodyBytes < len) return finish(truncated(url, got, expectEnd));
          // More pieces to come: continue from here (the next request has its own speed check).
          if (status === 206 && total !== null && got < total) return continueWith(url, got, chain);
          finish(null, 'ok');
        });
      };

      const onError = (e: Error) => {
        if (done) return;
        const code = (e as NodeJS.ErrnoException).code ?? '';
        if (RETRYABLE_ERRNO.has(code) || e.message === 'socket hang up') {
          const f = new OstreeError('OSTREE_NETWORK', `While fetching ${url.href}: ${e.message}`, { cause: e, data: { url: url.href } });
          return finish(new TransientError(e.message, f));
        }
        finish(new OstreeError('OSTREE_NETWORK', `While fetching ${url.href}: ${e.message}`, { cause: e, data: { url: url.href, code } }));
      };

      this.requests++;
      try {
        req = this.request(url, headers, onResponse, onError);
      } catch (e) {
        finish(e as Error);
      }
    });
  }

  private request(url: URL, headers: Record<string, string>, onResponse: (r: HttpResponseLike) => void, onError: (e: Error) => void): HttpRequestLike {
    const isHttps = url.protocol === 'https:';
    if (!isHttps && url.protocol !== 'http:') throw new OstreeError('OSTREE_INVALID_ARGUMENT', `Unsupported URL scheme in ${url.href}`);
    const port = Number(url.port) || (isHttps ? 443 : 80);
    const pathQ = url.pathname + url.search;
    if (!isHttps && !this.proxy) return this.lean.request(url.hostname, port, url.host, pathQ, headers, onResponse, onError);
    const { http, https, tls, httpAgent, httpsAgent } = this.node();
    if (this.proxy && !isHttps) {
      // Plain HTTP through a proxy: absolute-form request line.
      const target = new URL(url.href);
      target.username = '';
      target.password = '';
      const req = http.request({ host: this.proxy.hostname, port: Number(this.proxy.port) || 80, path: target.href, headers: { ...headers, host: url.host }, agent: httpAgent }, onResponse);
      req.on('error', onError);
      req.end();
      return req;
    }
    if (this.proxy && isHttps) {
      // Tunnel: CONNECT host:port, then TLS over the tunnel (one connection per request).
      const connect = http.request({ host: this.proxy.hostname, port: Number(this.proxy.port) || 80, method: 'CONNECT', path: `${url.hostname}:${port}`, headers: { host: `${url.hostname}:${port}` } });
      let inner: Http.ClientRequest | null = null;
      connect.on('connect', (res, socket) => {
        if (res.statusCode !== 200) {
          socket.destroy();
          onError(new OstreeError('OSTREE_NETWORK', `Proxy CONNECT failed: HTTP ${res.statusCode}`));
          return;
        }
        // host: the name the certificate is checked against (also for IP addresses).
        const tlsSock = tls.connect({ socket, host: url.hostname, servername: net.isIP(url.hostname) ? undefined : url.hostname, ...this.tlsCtx });
        tlsSock.on('error', onError);
        // No agent: the request must run on this tunnelled socket (an agent would open its own connection).
        inner = https.request({ host: url.hostname, port, path: pathQ, headers, createConnection: () => tlsSock } as Https.RequestOptions, onResponse);
        inner.on('error', onError);
        inner.end();
      });
      connect.on('error', onError);
      connect.end();
      // Destroying the CONNECT request (abort) also tears down the tunnel.
      const origDestroy = connect.destroy.bind(connect);
      connect.destroy = ((e?: Error) => {
        inner?.destroy(e);
        return origDestroy(e);
      }) as typeof connect.destroy;
      return connect;
    }
    const mod = isHttps ? https : http;
    const req = mod.request({ host: url.hostname, port, path: pathQ, headers, agent: isHttps ? httpsAgent : httpAgent }, onResponse);
    req.on('error', onError);
    req.end();
    return req;
  }
}

function parseBase(u: string): URL {
  try {
    return new URL(u);
  } catch (err) {
    throw new OstreeError('OSTREE_INVALID_ARGUMENT', `Invalid URL '${u}'`, { cause: err });
  }
}

/** ostree's wording (the fetcher's write callback), with the URL the body came from. */
function tooLarge(url: URL | string, max: number): OstreeError {
  const href = typeof url === 'string' ? url : url.href;
  return new OstreeError('OSTREE_HTTP', `URI ${href} exceeded maximum size of ${max} bytes`, { data: { url: href, maxSize: max } });
}

/**
 * A local file (a file:// URL's, shown as `href` in errors) read whole,
 * refused before reading when larger than `max`; null when missing.
 */
export async function readFileCapped(file: string, href: string, max: number): Promise<Buffer | null> {
  let fh: fsp.FileHandle;
  try {
    fh = await fsp.open(file, 'r');
  } catch (err) {
    if (isErrno(err, 'ENOENT') || isErrno(err, 'ENOTDIR')) return null;
    throw err;
  }
  try {
    if ((await fh.stat()).size > max) throw tooLarge(href, max);
    // Read to the end, but never more than one byte past the limit (a file that grows, a device).
    const parts: Buffer[] = [];
    let total = 0;
    for (;;) {
      const want = Math.min(max + 1 - total, 1024 * 1024);
      const b = Buffer.allocUnsafe(want);
      const { bytesRead } = await fh.read(b, 0, want, null);
      if (bytesRead === 0) break;
      parts.push(bytesRead === want ? b : b.subarray(0, bytesRead));
      total += bytesRead;
      if (total > max) throw tooLarge(href, max);
    }
    return parts.length === 1 ? parts[0] : Buffer.concat(parts, total);
  } finally {
    await fh.close();
  }
}

/**
 * Where a redirect from `from` to `location` leads: only http(s), never
 * from https down to http, at most MAX_REDIRECTS hops and never back to a
 * URL of this request's `chain`. Credentials of the URL carry over within
 * the same origin only.
 */
function redirectTarget(from: URL, location: string, chain: string[]): URL {
  const refuse = (why: string) => new OstreeError('OSTREE_HTTP', `While fetching ${from.href}: ${why}`, { data: { url: from.href, location } });
  let next: URL;
  try {
    next = new URL(location, from);
  } catch {
    throw refuse(`Invalid redirect location '${location}'`);
  }
  next.hash = '';
  if (next.protocol !== 'http:' && next.protocol !== 'https:') throw refuse(`Redirect to unsupported protocol '${next.protocol.replace(/:$/, '')}' refused (${next.href})`);
  if (from.protocol === 'https:' && next.protocol === 'http:') throw refuse(`Redirect from https to http refused (${next.href})`);
  if (next.origin === from.origin && !next.username && !next.password) {
    next.username = from.username;
    next.password = from.password;
  }
  if (chain.includes(next.href)) throw refuse(`Redirect loop (${next.href} again)`);
  if (chain.length > MAX_REDIRECTS) throw refuse(`Too many redirects (more than ${MAX_REDIRECTS})`);
  return next;
}

function truncated(url: URL, got: number, expected: number | null, cause?: Error): TransientError {
  const e = new OstreeError('OSTREE_NETWORK', `Truncated response for ${url.href}: got ${got} of ${expected ?? '?'} bytes`, {
    cause,
    data: { url: url.href, received: got, expected },
  });
  return new TransientError(e.message, e);
}

export function createFetcher(opts: FetcherOptions): Fetcher {
  return new NodeFetcher(opts);
}

/** Fetcher options from a remote's config group (FORMATS.md §3.10). */
export function fetcherOptionsFromRemote(options: Record<string, string>, url?: string): FetcherOptions {
  const bool = (k: string) => /^(true|1|yes)$/i.test((options[k] ?? '').trim());
  const strip = (u: string | undefined) => (u === undefined ? undefined : u.trim());
  const base = strip(url ?? options.url) ?? '';
  if (base.startsWith('mirrorlist=')) throw new OstreeError('OSTREE_INVALID_ARGUMENT', 'mirrorlist= URLs are not supported');
  const contenturl = strip(options.contenturl);
  if (contenturl?.startsWith('mirrorlist=')) throw new OstreeError('OSTREE_INVALID_ARGUMENT', 'mirrorlist= URLs are not supported');
  return {
    url: base,
    contentUrl: contenturl || undefined,
    tls: {
      caPath: strip(options['tls-ca-path']) || undefined,
      certPath: strip(options['tls-client-cert-path']) || undefined,
      keyPath: strip(options['tls-client-key-path']) || undefined,
      permissive: bool('tls-permissive'),
    },
    proxy: strip(options.proxy) || undefined,
  };
}
