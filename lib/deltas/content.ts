// What delta compilation needs to know about content objects: type, size,
// header (mode, owner, xattrs, symlink target) and storage size, cached per
// generation, and their payloads. Both are read by the native
// content_read_batch, many objects per pool job (archive `.filez` inflated
// there): headers in batches of HEADER_BATCH, payloads as ordered streams read
// ahead of their consumer within a byte budget.
import { constants as bufferConstants } from 'node:buffer';
import type { Repo } from '../repo/repo';
import { FileHeader, isLink } from '../objects/formats';
import { OstreeError, isErrno, withContext } from '../errors';
import { native, type ContentReadResult } from '../binding';
import { repoChain } from '../traverse';

export interface ContentInfo {
  header: FileHeader;
  /** Data size (0 for a symlink). */
  size: number;
  isSymlink: boolean;
  /** Bytes the object takes in the repo that has it (ostree_repo_query_object_storage_size). */
  storage: number;
}

/** Objects per native header read. */
const HEADER_BATCH = 2048;
/** Native header reads in flight at once. */
const HEADER_JOBS = 2;
/** Payload bytes one native read returns at most (one larger object goes alone). */
export const PAYLOAD_BATCH_BYTES = 16 * 1024 * 1024;
/** Largest payload read into memory. */
const MAX_OBJECT = Math.min(bufferConstants.MAX_LENGTH, 2 ** 32 - 1);

const OBJECT_PATH = /([0-9a-f]{2})\/([0-9a-f]{62})\.filez?$/;

/** A native read failure as ostree reports it: a missing object, a corrupt one, or the errno error with context. */
function readError(err: unknown): Error {
  if (!isErrno(err)) return err instanceof Error ? err : new Error(String(err));
  const m = OBJECT_PATH.exec(err.path ?? '');
  const checksum = m ? m[1] + m[2] : '';
  if (err.code === 'ENOENT' && checksum) {
    return new OstreeError('OSTREE_OBJECT_NOT_FOUND', `Couldn't find file object '${checksum}'`, { cause: err, data: { checksum, type: 'file' } });
  }
  if ((err.code === 'EINVAL' || err.code === 'EFBIG') && checksum) {
    return new OstreeError('OSTREE_CORRUPT_OBJECT', `Corrupted file object ${checksum}: ${err.message}`, { cause: err, data: { checksum } });
  }
  return withContext(checksum ? `Reading file object ${checksum}` : 'Reading file objects', err);
}

export class ContentInfoCache {
  private readonly infos = new Map<string, ContentInfo>();
  /** Header reads under way (or queued), by checksum. */
  private readonly loading = new Map<string, Promise<void>>();
  /** get() calls of this tick, read together at the next one. */
  private queue: { csums: string[]; done: Promise<void>; resolve: () => void; reject: (e: unknown) => void } | null = null;
  private readonly stores: Array<[string, string, boolean]>;
  private jobs = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(repo: Repo) {
    this.stores = repoChain(repo).map((r) => [r.path, r.mode, r.disableXattrs]);
  }

  /** The header of one object; calls made in the same tick are read together. */
  get(checksum: string): Promise<ContentInfo> {
    const i = this.infos.get(checksum);
    if (i) return Promise.resolve(i);
    let p = this.loading.get(checksum);
    if (!p) {
      if (!this.queue) {
        let resolve!: () => void;
        let reject!: (e: unknown) => void;
        const done = new Promise<void>((res, rej) => ((resolve = res), (reject = rej)));
        done.catch(() => {});
        this.queue = { csums: [], done, resolve, reject };
        setImmediate(() => {
          const q = this.queue as NonNullable<typeof this.queue>;
          this.queue = null;
          this.readHeaders(q.csums).then(q.resolve, q.reject);
        });
      }
      this.queue.csums.push(checksum);
      p = this.queue.done;
      this.loading.set(checksum, p);
    }
    return p.then(() => this.peek(checksum));
  }

  /** The header of an object already loaded (by get or prefetch). */
  peek(checksum: string): ContentInfo {
    const i = this.infos.get(checksum);
    if (!i) throw new Error(`internal error: content object ${checksum} was not loaded`);
    return i;
  }

  /**
   * Load the headers of all of `csums` (in native batches of HEADER_BATCH,
   * HEADER_JOBS at a time); `onLoaded(n)` after each batch this call started.
   */
  async prefetch(csums: Iterable<string>, onLoaded?: (n: number) => void): Promise<void> {
    const wait = new Set<Promise<void>>();
    let batch: string[] = [];
    const launch = () => {
      const n = batch.length;
      const p = this.readHeaders(batch).then(() => onLoaded?.(n));
      p.catch(() => {});
      for (const c of batch) this.loading.set(c, p);
      wait.add(p);
      batch = [];
    };
    const mine = new Set<string>();
    for (const c of csums) {
      if (this.infos.has(c) || mine.has(c)) continue;
      const l = this.loading.get(c);
      if (l) {
        wait.add(l);
        continue;
      }
      mine.add(c);
      batch.push(c);
      if (batch.length >= HEADER_BATCH) launch();
    }
    if (batch.length) launch();
    await Promise.all(wait);
  }

  private async readHeaders(list: string[]): Promise<void> {
    await this.slot();
    try {
      for (let k = 0; k < list.length; k += HEADER_BATCH) {
        const part = list.slice(k, k + HEADER_BATCH);
        const r = await native()
          .content_read_batch(this.stores, part.join(''), {})
          .catch((err) => {
            throw readError(err);
          });
        for (let i = 0; i < r.count; i++) this.infos.set(part[i], infoAt(r, i));
      }
    } finally {
      for (const c of list) this.loading.delete(c);
      this.release();
    }
  }

  private async slot(): Promise<void> {
    while (this.jobs >= HEADER_JOBS) await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.jobs++;
  }

  private release(): void {
    this.jobs--;
    this.waiting.shift()?.();
  }

  /**
   * Payloads of `csums` (regular files or symlinks; empty for symlinks), in
   * as many native reads as `maxBytes` per read takes (one larger object goes
   * alone). The headers cached are refreshed from what was read.
   */
  async readPayloads(csums: string[], maxBytes = PAYLOAD_BATCH_BYTES): Promise<Buffer[]> {
    const out: Buffer[] = [];
    while (out.length < csums.length) {
      const rest = csums.slice(out.length);
      const r = await native()
        .content_read_batch(this.stores, rest.join(''), { data: true, maxBytes, maxObjectSize: MAX_OBJECT })
        .catch((err) => {
          throw readError(err);
        });
      if (r.count === 0) throw new Error('internal error: content_read_batch read nothing');
      const data = r.data as Buffer;
      const ends = r.ends as Float64Array;
      for (let i = 0; i < r.count; i++) {
        this.infos.set(rest[i], infoAt(r, i));
        out.push(data.subarray(i === 0 ? 0 : ends[i - 1], ends[i]));
      }
    }
    return out;
  }

  /** The object's data (empty for a symlink). */
  async data(checksum: string): Promise<Buffer> {
    return (await this.readPayloads([checksum]))[0];
  }
}

function infoAt(r: ContentReadResult, i: number): ContentInfo {
  const mode = r.modes[i];
  const link = isLink(mode);
  return {
    header: { uid: r.uids[i], gid: r.gids[i], mode, symlinkTarget: r.targets[i], xattrs: r.xattrs[i] ?? [] },
    size: link ? 0 : r.sizes[i],
    isSymlink: link,
    storage: r.storage[i],
  };
}

/**
 * The payloads of `csums` in order, read in native batches of at most
 * `batchBytes` (headers must be loaded), up to `ahead` batches ahead of the
 * consumer: next() hands them out one by one, and may be called again before
 * the previous call settles.
 */
export class PayloadStream {
  private readonly starts: number[] = [];
  private readonly jobs = new Map<number, Promise<Buffer[]>>();
  private pos = 0;
  private launched = 0;

  constructor(
    private readonly info: ContentInfoCache,
    private readonly csums: string[],
    private readonly ahead = 2,
    private readonly batchBytes = PAYLOAD_BATCH_BYTES,
  ) {
    let bytes = 0;
    csums.forEach((c, i) => {
      const size = info.peek(c).size;
      if (i === 0 || bytes + size > batchBytes) {
        this.starts.push(i);
        bytes = 0;
      }
      bytes += size;
    });
    this.starts.push(csums.length);
  }

  get length(): number {
    return this.csums.length;
  }

  next(): Promise<Buffer> {
    const i = this.pos++;
    if (i >= this.csums.length) throw new Error('internal error: payload stream read past its end');
    let b = this.batchOf(i);
    while (this.launched <= b + this.ahead - 1 && this.launched < this.starts.length - 1) this.launch(this.launched++);
    const job = this.jobs.get(b) as Promise<Buffer[]>;
    if (i === this.starts[b + 1] - 1) this.jobs.delete(b);
    return job.then((bufs) => bufs[i - this.starts[b]]);
  }

  private batchOf(i: number): number {
    let lo = 0;
    let hi = this.starts.length - 2;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.starts[mid] <= i) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  private launch(b: number): void {
    const p = this.info.readPayloads(this.csums.slice(this.starts[b], this.starts[b + 1]), this.batchBytes);
    p.catch(() => {});
    this.jobs.set(b, p);
  }
}
