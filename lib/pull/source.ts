// Where a pull reads from: an archive repository behind an HTTP(S)/file base
// URL (FORMATS.md §7.1), or a local repository of any mode opened directly
// (file:// remotes, §7.7). Objects come back as raw bytes (metadata) or as
// header + payload (content); the caller verifies every checksum.
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { OstreeError, isErrno } from '../errors';
import { Repo } from '../repo/repo';
import { KeyFile } from '../repo/keyfile';
import { resolveRev } from '../refs/refs';
import { ObjectType, OBJECT_TYPE_NAMES, FileHeader, isLink, splitFramedHeader, parseZlibHeader } from '../objects/formats';
import { Fetcher, FetcherOptions, ConditionalResult, createFetcher } from './fetcher';

const inflateRaw = promisify(zlib.inflateRaw);

export interface ContentData {
  header: FileHeader;
  payload: Buffer;
}

export interface PullSource {
  readonly kind: 'http' | 'local';
  /** A top-level optional file (summary, summary.sig); null when absent. */
  fetchFile(name: 'summary' | 'summary.sig'): Promise<Buffer | null>;
  /** The remote repo's mode and tombstone setting. */
  remoteConfig(): Promise<{ mode: string; tombstoneCommits: boolean }>;
  /** refs/heads/REF without a summary. */
  fetchRef(ref: string): Promise<string>;
  fetchMetadata(type: ObjectType, checksum: string, opts?: { optional?: boolean; maxSize?: number }): Promise<Buffer | null>;
  fetchContent(checksum: string): Promise<ContentData>;
  readonly bytesTransferred: number;
  readonly requests: number;
  close(): void;
}

function relObject(checksum: string, ext: string): string {
  return `objects/${checksum.slice(0, 2)}/${checksum.slice(2)}.${ext}`;
}

/** Decode an archive `.filez` stream: header and inflated payload. */
export async function decodeFilez(raw: Buffer, checksum: string): Promise<ContentData> {
  try {
    const { header, payloadOffset } = splitFramedHeader(raw);
    const { size, ...h } = parseZlibHeader(header);
    let payload = Buffer.alloc(0);
    if (!isLink(h.mode)) {
      payload = await inflateRaw(raw.subarray(payloadOffset));
      if (BigInt(payload.length) !== size) throw new Error(`size ${payload.length} does not match header ${size}`);
    }
    return { header: h, payload };
  } catch (err) {
    throw new OstreeError('OSTREE_CORRUPT_OBJECT', `Corrupted file object ${checksum}: ${(err as Error).message}`, { cause: err, data: { checksum } });
  }
}

export class HttpSource implements PullSource {
  readonly kind = 'http' as const;
  readonly fetcher: Fetcher;
  private config: KeyFile | null = null;

  constructor(fopts: FetcherOptions) {
    this.fetcher = createFetcher(fopts);
  }

  get bytesTransferred(): number {
    return this.fetcher.bytesTransferred;
  }
  get requests(): number {
    return this.fetcher.requests;
  }

  fetchFile(name: 'summary' | 'summary.sig'): Promise<Buffer | null> {
    return this.fetcher.fetch(name, { optional: true });
  }

  /** summary / summary.sig with the cache validators of a previous answer (FORMATS.md §7.2). */
  fetchFileConditional(name: 'summary' | 'summary.sig', cond: { etag?: string; lastModified?: number }): Promise<ConditionalResult> {
    return this.fetcher.fetchConditional(name, { optional: true, ifNoneMatch: cond.etag, ifModifiedSince: cond.lastModified || undefined });
  }

  async remoteConfig(): Promise<{ mode: string; tombstoneCommits: boolean }> {
    if (!this.config) {
      const b = (await this.fetcher.fetch('config')) as Buffer;
      this.config = KeyFile.parse(b.toString('utf8'));
    }
    return {
      mode: this.config.get('core', 'mode')?.trim() ?? 'bare',
      tombstoneCommits: this.config.getBoolean('core', 'tombstone-commits', false),
    };
  }

  async fetchRef(ref: string): Promise<string> {
    const b = (await this.fetcher.fetch(`refs/heads/${ref}`)) as Buffer;
    return b.toString('utf8').trim();
  }

  fetchMetadata(type: ObjectType, checksum: string, opts: { optional?: boolean; maxSize?: number } = {}): Promise<Buffer | null> {
    return this.fetcher.fetch(relObject(checksum, OBJECT_TYPE_NAMES[type]), { optional: opts.optional, maxSize: opts.maxSize });
  }

  async fetchContent(checksum: string): Promise<ContentData> {
    const raw = (await this.fetcher.fetch(relObject(checksum, 'filez'), { content: true })) as Buffer;
    return decodeFilez(raw, checksum);
  }

  close(): void {
    this.fetcher.close();
  }
}

/** A file:// remote: the repository opened directly, whatever its mode. */
export class LocalSource implements PullSource {
  readonly kind = 'local' as const;
  bytesTransferred = 0;
  requests = 0;

  private constructor(readonly repo: Repo) {}

  static async open(url: string): Promise<LocalSource> {
    const p = url.startsWith('file:') ? fileURLToPath(url) : url;
    return new LocalSource(await Repo.open(p));
  }

  async fetchFile(name: 'summary' | 'summary.sig'): Promise<Buffer | null> {
    try {
      const b = await fsp.readFile(path.join(this.repo.path, name));
      this.bytesTransferred += b.length;
      return b;
    } catch (err) {
      if (isErrno(err, 'ENOENT')) return null;
      throw err;
    }
  }

  async remoteConfig(): Promise<{ mode: string; tombstoneCommits: boolean }> {
    return { mode: this.repo.config.get('core', 'mode')?.trim() ?? 'bare', tombstoneCommits: this.repo.config.getBoolean('core', 'tombstone-commits', false) };
  }

  async fetchRef(ref: string): Promise<string> {
    return (await resolveRev(this.repo, ref)) as string;
  }

  async fetchMetadata(type: ObjectType, checksum: string, opts: { optional?: boolean } = {}): Promise<Buffer | null> {
    this.requests++;
    const b = await this.repo.loadMetadata(type, checksum, { allowNoent: opts.optional });
    if (b) this.bytesTransferred += b.length;
    return b;
  }

  async fetchContent(checksum: string): Promise<ContentData> {
    this.requests++;
    const o = await this.repo.loadFile(checksum);
    const payload = await o.readPayload();
    this.bytesTransferred += payload.length;
    return { header: o.header, payload };
  }

  close(): void {}
}
