// The content objects a pull's walk finds missing: queued by checksum,
// imported from a --localcache-repo that has them or downloaded, verified,
// and handed to the write queue (small ones) or stored at once (large ones
// spilled to REPO/tmp). Memory bound: at most FETCH_AHEAD objects are being
// checked/downloaded/handed over at a time, and none start while the bodies
// waiting to be written hold HELD_MAX bytes or more (a write batch finishing
// starts more).
import * as path from 'node:path';
import { promises as fsp } from 'node:fs';
import { OstreeError, throwAborted } from '../errors';
import { ObjectType, contentChecksum } from '../objects/formats';
import { checkContentMode, importContentFromRepo } from './common';
import type { PullContext } from './context';
import type { ObjectPresence } from './presence';
import type { PullWriteQueue } from './write-queue';

/** Content downloads started and not yet handed to a write batch, at most... */
const FETCH_AHEAD = 64;
/** ...while downloaded bodies waiting to be written hold less than this many bytes. */
const HELD_MAX = 32 * 1024 * 1024;

export class ContentFetcher {
  private readonly seen = new Set<string>();
  /** Content checksums a native scan found missing just now: fetched without another existence check. */
  private readonly checkedMissing = new Set<string>();
  private queue: string[] = [];
  private head = 0;
  private workers = 0;

  constructor(
    private readonly ctx: PullContext,
    private readonly presence: ObjectPresence,
    private readonly writes: PullWriteQueue,
  ) {
    writes.onRelease = () => this.pump();
  }

  /** Fetch this object unless it is present (knownMissing: a native scan just found it missing). */
  add(checksum: string, knownMissing = false): void {
    if (this.seen.has(checksum)) return;
    this.seen.add(checksum);
    if (knownMissing) this.checkedMissing.add(checksum);
    else if (this.presence.presentNow(ObjectType.File, checksum)) return;
    this.queue.push(checksum);
    this.pump();
  }

  private pump(): void {
    if (this.ctx.signal.aborted) {
      this.queue = [];
      this.head = 0;
      return;
    }
    while (this.head < this.queue.length && this.workers < FETCH_AHEAD && this.writes.held < HELD_MAX) {
      const checksum = this.queue[this.head++];
      this.workers++;
      this.ctx.tasks.spawn(async () => {
        try {
          await this.fetch(checksum);
        } finally {
          this.workers--;
          this.pump();
        }
      });
    }
    if (this.head === this.queue.length && this.head > 0) {
      this.queue = [];
      this.head = 0;
    }
  }

  private async fetch(checksum: string): Promise<void> {
    const { repo, tx, signal } = this.ctx;
    if (!this.checkedMissing.delete(checksum) && (await this.presence.has(ObjectType.File, checksum))) return;
    throwAborted(signal);
    if (await this.importFromCache(checksum)) return;
    const counts = this.ctx.progress.counts;
    counts.contentRequested++;
    counts.outstanding++;
    this.ctx.progress.emit();
    try {
      // Large objects come as a file in REPO/tmp (or a local payload path), small ones in memory.
      const data = await this.ctx.src.fetchContent(checksum, { spillDir: path.join(repo.path, 'tmp'), raw: true });
      if ('filezData' in data) {
        throwAborted(signal);
        // Verified (inflated and hashed) and stored in a native batch; charged against the free-space reserve now.
        tx.stats.contentTotal++;
        const announced = data.announced ?? 0;
        tx.reserveContent(announced);
        this.writes.addFilez(checksum, data.filezData, announced);
        counts.contentFetched++;
      } else if ('filez' in data) {
        try {
          throwAborted(signal);
        } catch (err) {
          await fsp.rm(data.filez, { force: true });
          throw err;
        }
        // One native job: inflate, hash, compare, then link into objects/ (the file is consumed).
        const r = await tx.writeContentFromFilez(data.filez, checksum, (h) => checkContentMode(repo, checksum, h.mode, this.ctx.bareuseronlyFiles));
        counts.contentFetched++;
        counts.contentBytesWritten += r.size;
      } else if ('path' in data) {
        throwAborted(signal);
        if (data.actual !== checksum) throw corrupt(checksum, data.actual);
        checkContentMode(repo, checksum, data.header.mode, this.ctx.bareuseronlyFiles);
        tx.stats.contentTotal++;
        if (!(await repo.hasObject(ObjectType.File, checksum, { includeParent: false }))) {
          await tx.writeContent([{ checksum, header: data.header, path: data.path, size: data.size }]);
        }
        counts.contentFetched++;
        counts.contentBytesWritten += data.size;
      } else {
        throwAborted(signal);
        checkContentMode(repo, checksum, data.header.mode, this.ctx.bareuseronlyFiles);
        // Verify the checksum of header + payload; only then queue it for objects/ (written in batches).
        const actual = contentChecksum(data.header, data.payload);
        if (actual !== checksum) throw corrupt(checksum, actual);
        tx.stats.contentTotal++;
        // Charged against core.min-free-space-* now, object by object, as when written one at a time.
        tx.reserveContent(data.payload.length);
        this.writes.addContent(checksum, data.header, data.payload);
        counts.contentFetched++;
        counts.contentBytesWritten += data.payload.length;
      }
    } finally {
      counts.outstanding--;
      this.ctx.progress.emit();
    }
  }

  /** A local cache repo that has it: imported (re-checksummed and written as a new copy). */
  private async importFromCache(checksum: string): Promise<boolean> {
    const { repo, tx, progress } = this.ctx;
    for (const c of this.ctx.localcache) {
      if (!(await c.hasObject(ObjectType.File, checksum))) continue;
      progress.counts.outstanding++;
      try {
        // ostree does not count imported objects in "content written".
        await importContentFromRepo(tx, repo, c, [checksum], { untrusted: true, rewrite: true, bareuseronlyFiles: this.ctx.bareuseronlyFiles });
        progress.counts.contentImported++;
      } finally {
        progress.counts.outstanding--;
        progress.emit();
      }
      return true;
    }
    return false;
  }
}

function corrupt(checksum: string, actual: string): OstreeError {
  return new OstreeError('OSTREE_CORRUPT_OBJECT', `Corrupted file object; checksum expected='${checksum}' actual='${actual}'`, { data: { checksum } });
}
