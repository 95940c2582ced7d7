// A pull's writes: verified small content objects, dirtrees and dirmetas
// wait here to be written together (one native call per batch instead of
// per object). A batch goes when it is full, FLUSH_MS after its first
// object, and at the end of the walk — also after a failure or
// cancellation, so that the next pull need not fetch them again.
import { OstreeError } from '../errors';
import type { Repo } from '../repo/repo';
import type { Transaction } from '../repo/transaction';
import type { StoreFilezBatchResult } from '../binding';
import type { ObjectType, FileHeader } from '../objects/formats';
import { checkContentMode } from './common';
import type { PullProgressReporter } from './progress';
import type { TaskGroup } from './tasks';

/** A batch goes at this many objects... */
const BATCH = 128;
/** ...or this many payload bytes, whichever comes first. */
const BATCH_BYTES = 8 * 1024 * 1024;
/** A batch that is not full is written this many ms after its first object. */
const FLUSH_MS = 25;

export class PullWriteQueue {
  private content: Array<{ checksum: string; header: FileHeader; payload: Buffer }> = [];
  private filez: Array<[string, Buffer]> = [];
  private meta: Array<{ type: ObjectType; data: Buffer; checksum: string }> = [];
  private bytes = 0;
  private timer: NodeJS.Timeout | null = null;
  /** Payload bytes of downloaded bodies queued or being written (the pull's memory bound). */
  held = 0;
  /** Called when a batch is written and its bytes released. */
  onRelease: () => void = () => {};

  constructor(
    private readonly repo: Repo,
    private readonly tx: Transaction,
    private readonly tasks: TaskGroup,
    private readonly progress: PullProgressReporter,
    private readonly bareuseronlyFiles?: boolean,
  ) {}

  /** A verified content object (header + payload). */
  addContent(checksum: string, header: FileHeader, payload: Buffer): void {
    this.held += payload.length;
    this.content.push({ checksum, header, payload });
    this.bytes += payload.length;
    this.schedule();
  }

  /** A verified dirtree/dirmeta. */
  addMetadata(type: ObjectType, data: Buffer, checksum: string): void {
    this.meta.push({ type, data, checksum });
    this.bytes += data.length;
    this.schedule();
  }

  /** A downloaded .filez, verified (inflated and hashed) and stored natively when its batch goes. */
  addFilez(checksum: string, data: Buffer, announced: number): void {
    this.held += data.length;
    this.filez.push([checksum, data]);
    this.bytes += announced;
    this.schedule();
  }

  private schedule(): void {
    if (this.content.length + this.filez.length + this.meta.length >= BATCH || this.bytes >= BATCH_BYTES) this.flush();
    else this.timer ??= setTimeout(() => this.flush(), FLUSH_MS);
  }

  /** Start writing everything queued. */
  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.bytes = 0;
    if (this.content.length) {
      const batch = this.content;
      this.content = [];
      this.tasks.spawn(() => this.writeContent(batch));
    }
    if (this.meta.length) {
      const batch = this.meta;
      this.meta = [];
      this.tasks.spawn(() => this.tx.writeMetadataBatch(batch).then(() => {}));
    }
    if (this.filez.length) {
      const batch = this.filez;
      this.filez = [];
      this.tasks.spawn(() => this.writeFilez(batch));
    }
  }

  private async writeContent(batch: Array<{ checksum: string; header: FileHeader; payload: Buffer }>): Promise<void> {
    const counts = this.progress.counts;
    counts.outstanding += batch.length;
    try {
      await this.tx.writeContent(batch, { reserved: true, evenIfAborted: true });
    } finally {
      counts.outstanding -= batch.length;
      for (const b of batch) this.held -= b.payload.length;
      this.onRelease();
      this.progress.emit();
    }
  }

  private async writeFilez(batch: Array<[string, Buffer]>): Promise<void> {
    const counts = this.progress.counts;
    counts.outstanding += batch.length;
    try {
      const userOnlyModes = !!this.bareuseronlyFiles || this.repo.mode === 'bare-user-only';
      const res = await this.tx.writeContentFromFilezBatch(batch, { userOnlyModes, evenIfAborted: true });
      let bad: unknown = null;
      res.forEach((r, i) => {
        const checksum = batch[i][0];
        if (r.status === 'written' || r.status === 'existed') counts.contentBytesWritten += r.size;
        else if (bad === null) bad = this.rejection(checksum, r);
      });
      if (bad) throw bad;
    } finally {
      counts.outstanding -= batch.length;
      for (const b of batch) this.held -= b[1].length;
      this.onRelease();
      this.progress.emit();
    }
  }

  /** The error for a .filez the native store refused (ostree's wording). */
  private rejection(checksum: string, r: StoreFilezBatchResult): unknown {
    try {
      if (r.status === 'rejected') {
        checkContentMode(this.repo, checksum, r.mode, this.bareuseronlyFiles);
        return new OstreeError('OSTREE_INVALID_ARGUMENT', `Content object ${checksum}: invalid mode 0${r.mode.toString(8)}`, { data: { checksum, mode: r.mode } });
      }
      if (r.message === 'checksum mismatch') {
        return new OstreeError('OSTREE_CORRUPT_OBJECT', `Corrupted file object; checksum expected='${checksum}' actual='${r.checksum}'`, { data: { checksum } });
      }
      return new OstreeError('OSTREE_CORRUPT_OBJECT', `Corrupted file object ${checksum}: ${r.message}`, { data: { checksum } });
    } catch (err) {
      return err;
    }
  }
}
