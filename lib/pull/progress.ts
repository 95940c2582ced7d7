// Pull progress: the counters a pull keeps (as ostree's OstreeAsyncProgress
// keys: fetched/requested metadata and content, scanned, outstanding), the
// snapshots handed to onProgress, and the status line printed at the end.
import type { PullSource } from './source';
import type { Progress } from '../progress';

export type PullPhase = 'metadata' | 'content' | 'writing' | 'done';

/** What a pull's static deltas add up to (all 0 when it uses none). */
export interface DeltaCounts {
  /** Parts executed or found complete, of the planned deltas' parts. */
  deltaPartsFetched: number;
  deltaPartsTotal: number;
  /** Fallback objects of the planned deltas (fetched loose). */
  deltaFallbacksTotal: number;
  /** Compressed bytes of parts and fallbacks done / planned, and their uncompressed total. */
  deltaBytesFetched: number;
  deltaBytesTotal: number;
  deltaUsizeTotal: number;
}

/** The delta counters of `c`, copied (or zero for a new pull). */
export function deltaCounts(c?: DeltaCounts): DeltaCounts {
  return {
    deltaPartsFetched: c?.deltaPartsFetched ?? 0,
    deltaPartsTotal: c?.deltaPartsTotal ?? 0,
    deltaFallbacksTotal: c?.deltaFallbacksTotal ?? 0,
    deltaBytesFetched: c?.deltaBytesFetched ?? 0,
    deltaBytesTotal: c?.deltaBytesTotal ?? 0,
    deltaUsizeTotal: c?.deltaUsizeTotal ?? 0,
  };
}

/**
 * A pull's progress: with static deltas, `loaded`/`total` are the compressed
 * bytes of parts and fallbacks (known from the superblocks up front);
 * otherwise objects fetched of objects to fetch, that total known once every
 * commit and directory has been scanned (null before). Plus ostree's counters.
 */
export interface PullProgress extends Progress<PullPhase>, DeltaCounts {
  /** Metadata objects (commits, commitmeta, dirtrees, dirmetas) downloaded / asked for. */
  metadataFetched: number;
  metadataRequested: number;
  /** Content objects downloaded (or imported from a local cache) / asked for. */
  contentFetched: number;
  contentRequested: number;
  /** Objects copied from --localcache-repo repos instead of being downloaded. */
  metadataImported: number;
  contentImported: number;
  /** metadata + content. */
  objectsFetched: number;
  objectsRequested: number;
  /** Metadata objects scanned (present ones included). */
  scanned: number;
  /** Body bytes received while fetching objects (as ostree counts them: summary and config excluded). */
  bytesTransferred: number;
  /** Average rate since the start, bytes/s. */
  bytesPerSecond: number;
  /** Requests in flight (objects being fetched or written). */
  outstanding: number;
  elapsedMs: number;
}

/** What a pull counts while it runs; the walk and the write queue update these. */
export interface PullCounters extends DeltaCounts {
  metadataFetched: number;
  metadataRequested: number;
  contentFetched: number;
  contentRequested: number;
  metadataImported: number;
  contentImported: number;
  scanned: number;
  outstanding: number;
  /** Metadata requests in flight: while any is, the pull is in its metadata phase. */
  outstandingMeta: number;
  /** Commit and directory scans not settled yet: until none is, the number of objects to fetch may grow. */
  scansPending: number;
  /** Payload bytes of content objects written. */
  contentBytesWritten: number;
}

/** The counters of one pull and the onProgress calls made from them. */
export class PullProgressReporter {
  readonly counts: PullCounters = {
    metadataFetched: 0,
    metadataRequested: 0,
    contentFetched: 0,
    contentRequested: 0,
    metadataImported: 0,
    contentImported: 0,
    scanned: 0,
    outstanding: 0,
    outstandingMeta: 0,
    scansPending: 0,
    contentBytesWritten: 0,
    ...deltaCounts(),
  };
  private phase: PullPhase = 'metadata';
  private source: PullSource | null = null;
  /** ostree counts the bytes of the object phase only (its fetcher is recreated after summary and config). */
  private byteBase: number | null = null;
  private lastEmit = 0;

  constructor(
    readonly started: number,
    private readonly onProgress?: (p: PullProgress) => void,
    private readonly updateFrequency?: number,
  ) {}

  /** Body bytes are counted from the source's transfer counter. */
  attach(source: PullSource): void {
    this.source = source;
  }

  /** Summary and config are done: the bytes counted from here on are the object phase's. */
  startObjectPhase(): void {
    if (this.source) this.byteBase = this.source.bytesTransferred;
  }

  /** Body bytes received since startObjectPhase() (HTTP sources only). */
  objectBytes(): number {
    const src = this.source;
    return src && src.kind === 'http' && this.byteBase !== null ? src.bytesTransferred - this.byteBase : 0;
  }

  snapshot(): PullProgress {
    const c = this.counts;
    const elapsedMs = Date.now() - this.started;
    const bytes = this.objectBytes();
    const delta = c.deltaPartsTotal + c.deltaFallbacksTotal > 0;
    const settled = this.phase === 'writing' || this.phase === 'done' || (this.phase === 'content' && c.scansPending === 0);
    return {
      phase: this.phase,
      loaded: delta ? c.deltaBytesFetched : c.metadataFetched + c.contentFetched,
      total: delta ? c.deltaBytesTotal : settled ? c.metadataRequested + c.contentRequested : null,
      unit: delta ? 'bytes' : 'objects',
      metadataFetched: c.metadataFetched,
      metadataRequested: c.metadataRequested,
      contentFetched: c.contentFetched,
      contentRequested: c.contentRequested,
      metadataImported: c.metadataImported,
      contentImported: c.contentImported,
      objectsFetched: c.metadataFetched + c.contentFetched,
      objectsRequested: c.metadataRequested + c.contentRequested,
      scanned: c.scanned,
      bytesTransferred: bytes,
      bytesPerSecond: elapsedMs > 0 ? Math.round((bytes * 1000) / elapsedMs) : 0,
      outstanding: c.outstanding,
      elapsedMs,
      ...deltaCounts(c),
    };
  }

  /** Enter the writing or done phase; the report is sent at once. */
  finishPhase(phase: 'writing' | 'done'): void {
    this.phase = phase;
    this.emit(true);
  }

  /** Report, at most every updateFrequency ms unless forced. */
  emit(force = false): void {
    if (!this.onProgress) return;
    const now = Date.now();
    if (!force && this.updateFrequency && now - this.lastEmit < this.updateFrequency) return;
    this.lastEmit = now;
    if (this.phase !== 'writing' && this.phase !== 'done') {
      this.phase = this.counts.outstandingMeta > 0 || this.counts.contentRequested === 0 ? 'metadata' : 'content';
    }
    this.onProgress(this.snapshot());
  }
}

/** The status line ostree prints at the end of a pull. */
export function formatPullStatus(
  r: { metadataFetched: number; contentFetched: number; metadataImported?: number; contentImported?: number; bytesTransferred: number; elapsedMs: number; contentBytesWritten: number; localRemote?: boolean; deltaPartsFetched?: number },
  formatSize: (n: number) => string,
): string {
  let s =
    !r.localRemote && r.deltaPartsFetched
      ? `${r.deltaPartsFetched} delta parts, ${r.metadataFetched + r.contentFetched} loose fetched`
      : `${r.metadataFetched} metadata, ${r.contentFetched} content objects ${r.localRemote ? 'imported' : 'fetched'}`;
  if (!r.localRemote && (r.metadataImported || r.contentImported)) s += ` (${r.metadataImported ?? 0} meta, ${r.contentImported ?? 0} content local)`;
  if (r.bytesTransferred > 0) {
    const xfer = r.bytesTransferred < 1024 ? `${r.bytesTransferred} B` : `${Math.floor(r.bytesTransferred / 1024)} KiB`;
    s += `; ${xfer} transferred in ${Math.floor(r.elapsedMs / 1000)} seconds`;
  }
  return `${s}; ${formatSize(r.contentBytesWritten)} content written`;
}
