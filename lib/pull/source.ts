// Where a pull reads from: an archive repository behind an HTTP(S)/file base
// URL (FORMATS.md §7.1), or a local repository of any mode opened directly
// (file:// remotes, §7.7). Objects come back as raw bytes (metadata) or as
// header + payload (content); the caller verifies every checksum.
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { promisify } from 'node:util';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { OstreeError } from '../errors';
import { Repo } from '../repo/repo';
import { KeyFile } from '../repo/keyfile';
import { resolveRev } from '../refs/refs';
import { ObjectType, OBJECT_TYPE_NAMES, FileHeader, isLink, splitFramedHeader, parseZlibHeader } from '../objects/formats';
import { native } from '../binding';
import { readFramedHeader } from '../repo/transaction';
import { contentChecksumOptions } from '../fsck';
import { Fetcher, FetcherOptions, ConditionalResult, PrefixLimit, MAX_METADATA_SIZE, createFetcher, readFileCapped } from './fetcher';

const inflateRaw = promisify(zlib.inflateRaw);

/** A content object held in memory (small objects), not yet verified. */
export interface ContentData {
  header: FileHeader;
  payload: Buffer;
}

/** A large content object downloaded as an archive `.filez` into the spill directory, not yet verified; the caller owns the file. */
export interface ContentFile {
  filez: string;
  /** Bytes of the file. */
  size: number;
}

/** A large content object of a local bare-mode source: its payload file, with the checksum computed from it. */
export interface ContentPath {
  header: FileHeader;
  path: string;
  size: number;
  /** Checksum of what is stored (compare with the one asked for). */
  actual: string;
}

/** A small downloaded archive `.filez`, still compressed and not verified (HTTP with `raw`). */
export interface ContentRaw {
  filezData: Buffer;
  /** Payload size its header announces (null: the header is too short to say). */
  announced: number | null;
}

export type FetchedContent = ContentData | ContentFile | ContentPath | ContentRaw;

/** Content objects larger than this (as downloaded) are streamed through a file instead of memory... */
export const SPILL_ABOVE = 1024 * 1024;
/** ...and so are smaller downloads that would inflate beyond this (the size in their header). */
export const INFLATED_MAX = 8 * 1024 * 1024;

/**
 * The payload size a `.filez` header announces: the header's first field, a
 * big-endian u64 right after the 8-byte length prefix (null when too short
 * to hold one: decoding reports that).
 */
function announcedSize(raw: Buffer): number | null {
  if (raw.length < 16 || raw.readUInt32BE(0) < 8) return null;
  return Number(raw.readBigUInt64BE(8));
}

/**
 * The most bytes a `.filez` can take given its first 16 bytes: the framed
 * header and the payload size it declares, deflated at worst (9 bits a
 * byte, block overhead, slack). A header length outside 8..MAX_METADATA_SIZE
 * is no valid object: no more than its header is accepted. A server sending
 * more is refused as the bytes arrive.
 */
export const FILEZ_LIMIT: PrefixLimit = {
  bytes: 16,
  limit(prefix: Buffer): number {
    const headerLen = prefix.readUInt32BE(0);
    if (headerLen < 8 || headerLen > MAX_METADATA_SIZE) return 8 + Math.min(headerLen, MAX_METADATA_SIZE);
    const size = Number(prefix.readBigUInt64BE(8));
    return 8 + headerLen + size + Math.ceil(size / 8) + Math.ceil(size / 64) + 1024;
  },
};

let spillCounter = 0;

export interface PullSource {
  readonly kind: 'http' | 'local';
  /** A top-level optional file (summary, summary.sig); null when absent. */
  fetchFile(name: 'summary' | 'summary.sig'): Promise<Buffer | null>;
  /** The remote repo's mode and tombstone setting. */
  remoteConfig(): Promise<RemoteRepoConfig>;
  /** refs/heads/REF without a summary. */
  fetchRef(ref: string): Promise<string>;
  fetchMetadata(type: ObjectType, checksum: string, opts?: { optional?: boolean; maxSize?: number }): Promise<Buffer | null>;
  /**
   * A content object. With `spillDir` (a directory on the destination
   * repo's filesystem, normally REPO/tmp), objects above SPILL_ABOVE come
   * back as a file there (or a local payload path) instead of memory.
   */
  fetchContent(checksum: string, opts?: { spillDir?: string; raw?: boolean }): Promise<FetchedContent>;
  /** A delta index or superblock (content URL); null when absent and optional. */
  fetchDeltaFile(relPath: string, opts: { optional?: boolean; maxSize: number }): Promise<Buffer | null>;
  /**
   * A delta part of `size` bytes (no more is accepted): in memory, or a file
   * (in `spillDir` when `spilled`, for the caller to remove; else the source's own).
   */
  fetchDeltaPart(relPath: string, size: number, spillDir: string): Promise<DeltaPartData>;
  readonly bytesTransferred: number;
  readonly requests: number;
  close(): void;
}

/** What a pull reads from the remote repo's config. */
export interface RemoteRepoConfig {
  mode: string;
  tombstoneCommits: boolean;
  /** core.indexed-deltas: deltas are listed in delta-indexes/. */
  indexedDeltas: boolean;
}

export type DeltaPartData = { data: Buffer; file?: undefined; spilled?: false } | { data?: undefined; file: string; spilled: boolean };

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
    return this.fetcher.fetch(name, { optional: true, maxSize: MAX_METADATA_SIZE });
  }

  /** summary / summary.sig with the cache validators of a previous answer (FORMATS.md §7.2). */
  fetchFileConditional(name: 'summary' | 'summary.sig', cond: { etag?: string; lastModified?: number }): Promise<ConditionalResult> {
    return this.fetcher.fetchConditional(name, { optional: true, maxSize: MAX_METADATA_SIZE, ifNoneMatch: cond.etag, ifModifiedSince: cond.lastModified || undefined });
  }

  async remoteConfig(): Promise<RemoteRepoConfig> {
    if (!this.config) {
      const b = (await this.fetcher.fetch('config', { maxSize: MAX_METADATA_SIZE })) as Buffer;
      this.config = KeyFile.parse(b.toString('utf8'));
    }
    return {
      mode: this.config.get('core', 'mode')?.trim() ?? 'bare',
      tombstoneCommits: this.config.getBoolean('core', 'tombstone-commits', false),
      indexedDeltas: this.config.getBoolean('core', 'indexed-deltas', false),
    };
  }

  async fetchRef(ref: string): Promise<string> {
    const b = (await this.fetcher.fetch(`refs/heads/${ref}`, { maxSize: MAX_METADATA_SIZE })) as Buffer;
    return b.toString('utf8').trim();
  }

  fetchMetadata(type: ObjectType, checksum: string, opts: { optional?: boolean; maxSize?: number } = {}): Promise<Buffer | null> {
    return this.fetcher.fetch(relObject(checksum, OBJECT_TYPE_NAMES[type]), { optional: opts.optional, maxSize: opts.maxSize ?? MAX_METADATA_SIZE });
  }

  /** With `raw`, small objects come back still compressed (ContentRaw), for the caller to verify and store natively. */
  async fetchContent(checksum: string, opts: { spillDir?: string; raw?: boolean } = {}): Promise<FetchedContent> {
    if (!opts.spillDir) {
      const raw = (await this.fetcher.fetch(relObject(checksum, 'filez'), { content: true, prefixLimit: FILEZ_LIMIT })) as Buffer;
      return decodeFilez(raw, checksum);
    }
    const b = await this.fetcher.fetchBody(relObject(checksum, 'filez'), { content: true, prefixLimit: FILEZ_LIMIT, spillAbove: SPILL_ABOVE, spillDir: opts.spillDir });
    if (!b) throw new OstreeError('OSTREE_HTTP', `Server returned HTTP 404`);
    if (b.file !== undefined) return { filez: b.file, size: b.size };
    const announced = announcedSize(b.data);
    if ((announced ?? 0) > INFLATED_MAX) {
      // Highly compressed: inflate it as a stream too.
      spillCounter = (spillCounter + 1) % 1e9;
      const file = path.join(opts.spillDir, `.pull-${process.pid}-${spillCounter}-${Math.random().toString(36).slice(2, 8)}`);
      try {
        await fsp.writeFile(file, b.data, { flag: 'wx', mode: 0o644 });
      } catch (err) {
        await fsp.rm(file, { force: true });
        throw err;
      }
      return { filez: file, size: b.size };
    }
    if (opts.raw) return { filezData: b.data, announced };
    return decodeFilez(b.data, checksum);
  }

  fetchDeltaFile(relPath: string, opts: { optional?: boolean; maxSize: number }): Promise<Buffer | null> {
    return this.fetcher.fetch(relPath, { content: true, optional: opts.optional, maxSize: opts.maxSize });
  }

  async fetchDeltaPart(relPath: string, size: number, spillDir: string): Promise<DeltaPartData> {
    const b = await this.fetcher.fetchBody(relPath, { content: true, maxSize: size, spillAbove: SPILL_ABOVE, spillDir });
    if (!b) throw new OstreeError('OSTREE_HTTP', `Server returned HTTP 404`);
    return b.file !== undefined ? { file: b.file, spilled: true } : { data: b.data };
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

  /** Capped as ostree caps them for file:// remotes (objects of a local repo are not: ostree imports those uncapped). */
  async fetchFile(name: 'summary' | 'summary.sig'): Promise<Buffer | null> {
    const p = path.join(this.repo.path, name);
    const b = await readFileCapped(p, pathToFileURL(p).href, MAX_METADATA_SIZE);
    if (b) this.bytesTransferred += b.length;
    return b;
  }

  async remoteConfig(): Promise<RemoteRepoConfig> {
    const c = this.repo.config;
    return { mode: c.get('core', 'mode')?.trim() ?? 'bare', tombstoneCommits: c.getBoolean('core', 'tombstone-commits', false), indexedDeltas: c.getBoolean('core', 'indexed-deltas', false) };
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

  async fetchContent(checksum: string, opts: { spillDir?: string } = {}): Promise<FetchedContent> {
    this.requests++;
    if (opts.spillDir) {
      const large = await this.fetchLarge(checksum, opts.spillDir);
      if (large) return large;
    }
    const o = await this.repo.loadFile(checksum);
    const payload = await o.readPayload();
    this.bytesTransferred += payload.length;
    return { header: o.header, payload };
  }

  /** A large regular-file object, without reading it into memory (null: not large, or not here). */
  private async fetchLarge(checksum: string, spillDir: string): Promise<ContentFile | ContentPath | null> {
    const p = this.repo.objectPath(checksum, ObjectType.File);
    const st = await fsp.lstat(p).catch(() => null);
    if (!st || !st.isFile()) return null;
    if (this.repo.mode === 'archive') {
      // Small on disk but inflating beyond INFLATED_MAX (deflate shrinks at most ~1000:1, so only files above 8 KiB can).
      if (st.size <= SPILL_ABOVE) {
        if (st.size * 1032 <= INFLATED_MAX) return null;
        const size = await readFramedHeader(p).then((h) => Number(parseZlibHeader(h).size), () => 0);
        if (size <= INFLATED_MAX) return null;
      }
      const file = path.join(spillDir, `.pull-local-${process.pid}-${checksum.slice(0, 16)}-${Math.random().toString(36).slice(2, 8)}`);
      try {
        await fsp.copyFile(p, file);
      } catch (err) {
        await fsp.rm(file, { force: true });
        throw err;
      }
      this.bytesTransferred += st.size;
      return { filez: file, size: st.size };
    }
    if (st.size <= SPILL_ABOVE) return null;
    const [r] = await native().checksum_files([p], contentChecksumOptions(this.repo));
    if (isLink(r.mode)) return null;
    this.bytesTransferred += r.size;
    return { header: { uid: r.uid, gid: r.gid, mode: r.mode, symlinkTarget: '', xattrs: r.xattrs }, path: p, size: r.size, actual: r.checksum };
  }

  async fetchDeltaFile(relPath: string, opts: { optional?: boolean; maxSize: number }): Promise<Buffer | null> {
    this.requests++;
    const p = path.join(this.repo.path, relPath);
    const b = await readFileCapped(p, pathToFileURL(p).href, opts.maxSize);
    if (!b && !opts.optional) throw new OstreeError('OSTREE_NOT_FOUND', `No such file: ${relPath}`);
    if (b) this.bytesTransferred += b.length;
    return b;
  }

  async fetchDeltaPart(relPath: string, size: number): Promise<DeltaPartData> {
    this.requests++;
    const p = path.join(this.repo.path, relPath);
    const st = await fsp.stat(p);
    if (st.size !== size) throw new OstreeError('OSTREE_CORRUPT_OBJECT', `Delta part ${relPath} is ${st.size} bytes, expected ${size}`);
    this.bytesTransferred += st.size;
    return { file: p, spilled: false };
  }

  close(): void {}
}
