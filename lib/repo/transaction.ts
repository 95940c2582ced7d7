// Writing objects and refs. Mirrors ostree-repo-commit.c: every object is
// written to a temp file, given its final metadata, and linked into objects/
// without replacing (an existing object is success), children before
// parents; before refs move, the filesystem is synced (core.fsync). The
// whole transaction holds the repo lock shared.
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { pipeline } from 'node:stream/promises';
import { createReadStream, createWriteStream } from 'node:fs';
import { OstreeError, isErrno, throwAborted, withContext } from '../errors';
import { Repo, tmpName } from './repo';
import {
  ObjectType,
  OBJECT_TYPE_NAMES,
  FileHeader,
  sha256Hex,
  serializeZlibHeader,
  serializeOstreeMeta,
  headerPrefix,
  isLink,
  isReg,
  contentChecksum,
  parseZlibHeader,
} from '../objects/formats';
import { formatSize } from '../format-size';
import { native, ImportEntry, ContentModeOverride, StoreFilezBatchResult } from '../binding';
import { repoLock, LockOptions } from '../lock';
import { writeRef, checkRefUpdate } from '../refs/refs';
import { writeCollectionRef, checkCollectionRefUpdate } from '../refs/collection-refs';
import type { CollectionRef } from '../refs/collection-refs';
import { cleanupTmpdir, claimStagingDir, StagingDir } from './tmpdir';
import { crashPoint } from '../crash-point';
import { maybeTestError } from './test-error';

/** A content object whose checksum and metadata are known, to be stored from a file or buffer. */
export interface ContentSource {
  checksum: string;
  header: FileHeader;
  /** Regular-file payload from this path... */
  path?: string;
  /** Payload size (for statistics). */
  size?: number;
  /** ...or from memory. */
  payload?: Buffer;
}

export interface TransactionOptions extends LockOptions {
  /** Native jobs in flight (default 4; 1 = single-threaded). */
  parallelism?: number;
  /**
   * Sync what the transaction wrote before refs move (default: the repo's
   * core.fsync). `false` is ostree's --disable-fsync for this transaction
   * only; the repo's configuration is left alone.
   */
  fsync?: boolean;
}

/** How content_write_batch derives object metadata from source files (commit modifiers). */
export interface ContentFileOptions {
  uid?: number;
  gid?: number;
  canonicalPermissions?: boolean;
  skipXattrs?: boolean;
}

/** A serialized metadata object for writeMetadataBatch. */
export interface MetadataItem {
  type: ObjectType;
  data: Buffer;
  /** SHA-256 of data when already known. */
  checksum?: string;
}

/**
 * An open write transaction on a repository (what ostree_repo_prepare_transaction
 * starts): it holds the shared repo lock, writes objects (staged under tmp/ and
 * linked into objects/), queues ref updates and applies them on `commit()`.
 * Get one through {@link withTransaction}, which commits or aborts it for you.
 *
 * @example
 * import { withTransaction } from 'node-ostree';
 * const stats = await withTransaction(repo, async (tx) => {
 *   tx.setRef('exampleos/stable', checksum);
 *   return tx.stats;
 * });
 */
export class Transaction {
  readonly repo: Repo;
  private refs = new Map<string, string | null>();
  /** Queued collection ref updates, keyed `COLLECTION-ID\0REF`. */
  private collectionRefs = new Map<string, { cref: CollectionRef; checksum: string | null }>();
  private touchedDirs = new Set<string>();
  private done = false;
  private wroteObjects = false;
  private readonly signal?: AbortSignal;
  /** Whether this transaction syncs (TransactionOptions.fsync, else core.fsync). */
  readonly fsync: boolean;
  /** Native jobs in flight for batch writes (1 = single-threaded). */
  parallelism = 4;
  /** Blocks content writes may still take before core.min-free-space-* would be crossed (null: unlimited). */
  private budget: FreeSpaceBudget | null = null;
  /** This transaction's `tmp/staging-BOOTID-XXXXXX` (lib/repo/tmpdir.ts), locked while it runs. */
  private staging: StagingDir | null = null;
  stats = { metadataTotal: 0, metadataWritten: 0, contentTotal: 0, contentWritten: 0, contentCacheHits: 0, contentBytesWritten: 0 };

  private constructor(repo: Repo, signal: AbortSignal | undefined, fsync: boolean) {
    this.repo = repo;
    this.signal = signal;
    this.fsync = fsync;
  }

  /** prepare_transaction: take the shared repo lock. */
  static async begin(repo: Repo, opts: TransactionOptions = {}): Promise<Transaction> {
    throwAborted(opts.signal);
    const lock = await repoLock(repo);
    await lock.push('shared', opts);
    const tx = new Transaction(repo, opts.signal, opts.fsync ?? repo.fsyncEnabled);
    if (opts.parallelism !== undefined) tx.parallelism = Math.max(1, Math.floor(opts.parallelism));
    try {
      await fsp.mkdir(path.join(repo.path, 'tmp'), { recursive: true });
      tx.budget = await freeSpaceBudget(repo);
      tx.staging = await claimStagingDir(repo);
    } catch (err) {
      await lock.pop('shared');
      throw err;
    }
    return tx;
  }

  /** core.per-object-fsync: fsync every object before it is linked (only when this transaction syncs). */
  get perObjectFsync(): boolean {
    return this.fsync && this.repo.config.getBoolean('core', 'per-object-fsync', false);
  }

  private checkAlive(): void {
    if (this.done) throw new OstreeError('OSTREE_INVALID_ARGUMENT', 'Transaction already finished');
    throwAborted(this.signal);
  }

  /**
   * Content writes are refused when they would leave less free space than
   * core.min-free-space-percent / -size allow (metadata is exempt), as ostree
   * does. Charges content objects of these payload sizes up front, each the
   * whole blocks it takes (see objectBlocks), all or none: the first object
   * that does not fit fails with ostree's message (which its content writer
   * prefixes with "Writing content object"). Returns the blocks charged.
   */
  reserveContent(sizes: number | readonly number[]): number {
    try {
      return this.chargeContent(sizes);
    } catch (err) {
      throw withContext(CONTENT_CONTEXT, err);
    }
  }

  private chargeContent(sizes: number | readonly number[]): number {
    const b = this.budget;
    if (!b) return 0;
    let blocks = 0;
    for (const size of typeof sizes === 'number' ? [sizes] : sizes) {
      const n = objectBlocks(size, b.blockSize);
      if (blocks + n > b.blocks) {
        const requested = n * b.blockSize;
        throw new OstreeError('OSTREE_IO', `${b.setting} would be exceeded, at least ${formatSize(requested)} requested`, {
          data: { requested, remaining: Math.max(0, b.blocks - blocks) * b.blockSize, setting: b.setting },
        });
      }
      blocks += n;
    }
    b.blocks -= blocks;
    return blocks;
  }

  /** Give back blocks reserveContent charged for objects that were not written. */
  private refundContent(blocks: number): void {
    if (this.budget && blocks > 0) this.budget.blocks += blocks;
  }

  /** Write a metadata object from its serialised bytes; returns its checksum. */
  async writeMetadata(type: ObjectType, data: Buffer, expected?: string): Promise<string> {
    this.checkAlive();
    const checksum = sha256Hex(data);
    this.stats.metadataTotal++;
    if (expected && expected !== checksum) {
      throw new OstreeError('OSTREE_CORRUPT_OBJECT', `Corrupted ${OBJECT_TYPE_NAMES[type]} object; checksum expected='${expected}' actual='${checksum}'`);
    }
    if (!(await this.repo.hasObject(type, checksum, { includeParent: false }))) {
      await this.writeObjectFile(this.repo.objectPath(checksum, type), data, 0o644);
      this.stats.metadataWritten++;
    }
    if (type === ObjectType.Commit) {
      // Writing a commit removes any tombstone with the same checksum.
      await fsp.rm(this.repo.objectPath(checksum, ObjectType.TombstoneCommit), { force: true });
    }
    return checksum;
  }

  /** Detached metadata replaces an existing one (it is not content-addressed). */
  async writeCommitMeta(commit: string, data: Buffer): Promise<void> {
    this.checkAlive();
    const dest = this.repo.objectPath(commit, ObjectType.CommitMeta);
    await fsp.mkdir(path.dirname(dest), { recursive: true });
    const tmp = path.join(this.repo.path, 'tmp', tmpName('commitmeta'));
    await fsp.writeFile(tmp, data, { mode: 0o644 });
    crashPoint();
    await fsp.rename(tmp, dest);
    this.touchedDirs.add(path.dirname(dest));
  }

  /**
   * Store many metadata objects (dirtrees, dirmetas) in native batches on the
   * thread pool; returns their checksums in input order.
   */
  async writeMetadataBatch(items: MetadataItem[]): Promise<string[]> {
    this.checkAlive();
    const sums = items.map((i) => i.checksum ?? sha256Hex(i.data));
    this.stats.metadataTotal += items.length;
    const seen = new Set<string>();
    const todo: Array<[string, Buffer]> = [];
    let commits = false;
    items.forEach((it, i) => {
      if (seen.has(sums[i] + it.type)) return;
      seen.add(sums[i] + it.type);
      if (it.type === ObjectType.Commit) commits = true;
      todo.push([Repo.relObjectPath(sums[i], it.type, this.repo.mode).slice('objects/'.length), it.data]);
    });
    if (todo.length) this.wroteObjects = true;
    const fsync = this.perObjectFsync;
    await mapLimit(chunk(todo, 512), this.parallelism, async (c) => {
      throwAborted(this.signal);
      const written = await native().metadata_write_batch(this.repo.path, c, { fsync });
      this.stats.metadataWritten += written;
    });
    if (commits) {
      for (let i = 0; i < items.length; i++) {
        if (items[i].type === ObjectType.Commit) await fsp.rm(this.repo.objectPath(sums[i], ObjectType.TombstoneCommit), { force: true });
      }
    }
    return sums;
  }

  /**
   * The commit engine's content path: checksum each source file and store
   * the objects the repo lacks, reading each file once (native, one pool
   * job). `overrides` are --statoverride entries by index; `sizes` (the
   * files' sizes) are charged against the free-space reserve. Returns the
   * content checksums in input order. Errors are prefixed "Writing content
   * object", as ostree's.
   */
  async writeContentFiles(
    paths: string[],
    opts: ContentFileOptions = {},
    overrides?: ContentModeOverride[],
    sizes?: number[],
  ): Promise<string[]> {
    try {
      return await this.storeContentFiles(paths, opts, overrides, sizes);
    } catch (err) {
      throw withContext(CONTENT_CONTEXT, err);
    }
  }

  private async storeContentFiles(paths: string[], opts: ContentFileOptions, overrides?: ContentModeOverride[], sizes?: number[]): Promise<string[]> {
    this.checkAlive();
    if (paths.length === 0) return [];
    let reserved: number;
    try {
      reserved = this.chargeContent(sizes ?? []);
    } catch (err) {
      // Near the reserve, count only what the repo really lacks (ostree since
      // 2026.3 credits back objects it already had; 2022.7 charged them):
      // checksum first, then reserve those.
      if (!sizes || overrides?.length) throw err;
      const sums = await native().checksum_files(paths, { source: 'fs', ...opts });
      const missing: number[] = [];
      for (let i = 0; i < paths.length; i++) {
        if (!(await this.repo.hasObject(ObjectType.File, sums[i].checksum, { includeParent: false }))) missing.push(sizes[i]);
      }
      reserved = this.chargeContent(missing);
    }
    const mode = this.repo.mode;
    if (mode !== 'bare' && mode !== 'bare-user' && mode !== 'bare-user-only' && mode !== 'archive') {
      throw new OstreeError('OSTREE_UNSUPPORTED_MODE', `Unexpected mode ${mode}`);
    }
    const r = await native().content_write_batch(
      paths,
      {
        repo: this.repo.path,
        mode,
        uid: opts.uid,
        gid: opts.gid,
        canonicalPermissions: opts.canonicalPermissions,
        skipXattrs: opts.skipXattrs,
        zlibLevel: this.repo.zlibLevel,
        fsync: this.perObjectFsync,
      },
      overrides?.length ? overrides : undefined,
    );
    this.stats.contentTotal += paths.length;
    this.stats.contentWritten += r.written;
    this.stats.contentBytesWritten += r.bytesWritten;
    if (this.budget && sizes) {
      // Objects the repo already had took no space.
      let used = 0;
      for (let i = 0; i < paths.length; i++) if (r.fresh[i]) used += objectBlocks(sizes[i], this.budget.blockSize);
      this.refundContent(reserved - used);
    }
    if (r.written) this.wroteObjects = true;
    const out: string[] = new Array(paths.length);
    for (let i = 0; i < paths.length; i++) out[i] = r.checksums.slice(i * 64, i * 64 + 64);
    return out;
  }

  private async writeObjectFile(dest: string, data: Buffer, mode: number): Promise<void> {
    const dir = path.dirname(dest);
    await fsp.mkdir(dir, { recursive: true });
    const tmp = path.join(this.repo.path, 'tmp', tmpName('obj'));
    await fsp.writeFile(tmp, data, { mode });
    if (this.perObjectFsync) await fsyncPath(tmp);
    crashPoint();
    await linkNoReplace(tmp, dest);
    this.touchedDirs.add(dir);
  }

  /**
   * Store content objects (checksums already known) that the repo lacks.
   * `reserved`: the caller already charged their sizes with reserveContent.
   * `evenIfAborted`: write them although the transaction's signal has
   * aborted (verified objects a cancelled pull keeps for the next one).
   */
  async writeContent(sources: ContentSource[], opts: { reserved?: boolean; evenIfAborted?: boolean } = {}): Promise<void> {
    if (opts.evenIfAborted) {
      if (this.done) throw new OstreeError('OSTREE_INVALID_ARGUMENT', 'Transaction already finished');
    } else this.checkAlive();
    if (!opts.reserved) this.reserveContent(sources.map((s) => s.payload?.length ?? s.size ?? 0));
    if (sources.length === 0) return;
    const check = () => {
      if (!opts.evenIfAborted) throwAborted(this.signal);
    };
    if (this.repo.mode === 'archive') {
      await mapLimit(sources, 4, async (s) => {
        check();
        await this.writeArchiveContent(s);
      });
      return;
    }
    const entries: ImportEntry[] = [];
    for (const s of sources) entries.push(this.bareImportEntry(s));
    for (const e of entries) this.touchedDirs.add(path.dirname(e.dest));
    // Chunks on several pool threads.
    const chunks = chunk(entries, 256);
    await mapLimit(chunks, 4, async (c) => {
      check();
      const r = await native().objects_import(c, { fsync: this.perObjectFsync });
      this.stats.contentWritten += r.written;
    });
    for (const s of sources) this.stats.contentBytesWritten += s.payload?.length ?? s.size ?? 0;
  }

  /** Verify then store a content object given as header + payload (pulls, imports). */
  async writeContentFromBuffer(header: FileHeader, payload: Buffer, expected?: string): Promise<string> {
    const checksum = contentChecksum(header, payload);
    this.stats.contentTotal++;
    if (expected && expected !== checksum) {
      throw new OstreeError('OSTREE_CORRUPT_OBJECT', `Corrupted file object; checksum expected='${expected}' actual='${checksum}'`, {
        data: { checksum: expected },
      });
    }
    if (!(await this.repo.hasObject(ObjectType.File, checksum, { includeParent: false }))) {
      await this.writeContent([{ checksum, header, payload }]);
    }
    return checksum;
  }

  /**
   * Verify then store a content object downloaded as an archive `.filez`
   * file directly in REPO/tmp (pulls of large objects). Header parsing,
   * inflating, hashing and writing run as one native job on the thread
   * pool, streaming: memory use does not depend on the object's size. The
   * object enters objects/ only when its checksum is `expected` (archive
   * repos link the downloaded file itself). `check` sees the header before
   * anything is stored and may throw. The file is always consumed.
   */
  async writeContentFromFilez(file: string, expected: string, check?: (header: FileHeader, size: number) => void): Promise<{ checksum: string; size: number; written: boolean }> {
    const tmpDir = path.join(this.repo.path, 'tmp');
    if (path.dirname(path.resolve(file)) !== path.resolve(tmpDir)) {
      await fsp.rm(file, { force: true });
      throw new OstreeError('OSTREE_INVALID_ARGUMENT', `${file} is not in ${tmpDir}`);
    }
    let reserved = 0;
    try {
      this.checkAlive();
      const corrupt = (why: string, cause?: unknown) =>
        new OstreeError('OSTREE_CORRUPT_OBJECT', `Corrupted file object ${expected}: ${why}`, { cause, data: { checksum: expected } });
      let header: FileHeader;
      let size: bigint;
      try {
        ({ size, ...header } = parseZlibHeader(await readFramedHeader(file)));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).syscall) throw err; // I/O, not the object's fault
        throw corrupt((err as Error).message, err);
      }
      if (isLink(header.mode) && size !== 0n) throw corrupt(`size ${size} does not match header 0`);
      check?.(header, Number(size));
      this.stats.contentTotal++;
      if (await this.repo.hasObject(ObjectType.File, expected, { includeParent: false })) return { checksum: expected, size: Number(size), written: false };
      reserved = this.reserveContent(Number(size));
      const r = await native().content_store_filez(this.repo.path, this.repo.mode, path.basename(file), expected, { fsync: this.perObjectFsync });
      if (r.status === 'corrupt') {
        if (r.message === 'checksum mismatch') {
          throw new OstreeError('OSTREE_CORRUPT_OBJECT', `Corrupted file object; checksum expected='${expected}' actual='${r.checksum}'`, { data: { checksum: expected } });
        }
        throw corrupt(r.message);
      }
      if (r.status === 'written') {
        reserved = 0;
        this.wroteObjects = true;
        this.touchedDirs.add(path.dirname(this.repo.objectPath(expected, ObjectType.File)));
        this.stats.contentWritten++;
        this.stats.contentBytesWritten += r.size;
      }
      return { checksum: r.checksum, size: r.size, written: r.status === 'written' };
    } finally {
      this.refundContent(reserved);
      await fsp.rm(file, { force: true });
    }
  }

  /**
   * Verify then store many small downloaded `.filez` objects held in memory
   * (pulls), in one native pool job: each is inflated, hashed and compared
   * with its checksum, and stored in the repo's mode only when it matches.
   * Outcomes come back in input order (corrupt or rejected ones are not
   * stored; the caller reports them). The caller charged the sizes with
   * reserveContent; `evenIfAborted` as for writeContent.
   */
  async writeContentFromFilezBatch(items: Array<[string, Buffer]>, opts: { userOnlyModes?: boolean; evenIfAborted?: boolean } = {}): Promise<StoreFilezBatchResult[]> {
    if (opts.evenIfAborted) {
      if (this.done) throw new OstreeError('OSTREE_INVALID_ARGUMENT', 'Transaction already finished');
    } else this.checkAlive();
    if (items.length === 0) return [];
    const res = await native().content_store_filez_batch(this.repo.path, this.repo.mode, items, { fsync: this.perObjectFsync, userOnlyModes: opts.userOnlyModes });
    for (const r of res) {
      if (r.status !== 'written') continue;
      this.wroteObjects = true;
      this.stats.contentWritten++;
      this.stats.contentBytesWritten += r.size;
    }
    return res;
  }

  private bareImportEntry(s: ContentSource): ImportEntry {
    const h = s.header;
    const dest = this.repo.objectPath(s.checksum, ObjectType.File);
    const link = isLink(h.mode);
    if (!link && !isReg(h.mode)) throw new OstreeError('OSTREE_UNSUPPORTED_FILE_TYPE', `Invalid file mode ${h.mode.toString(8)}`);
    const src = s.payload ? { data: s.payload } : { src: s.path };
    switch (this.repo.mode) {
      case 'bare':
        return link
          ? { dest, symlinkTarget: h.symlinkTarget, mode: 0o777, uid: h.uid, gid: h.gid, xattrs: h.xattrs }
          : { dest, ...src, mode: h.mode & 0o7777, uid: h.uid, gid: h.gid, xattrs: h.xattrs, mtimeZero: true };
      case 'bare-user': {
        const meta: [string, Buffer] = ['user.ostreemeta', serializeOstreeMeta(h)];
        return link
          ? { dest, data: Buffer.concat([Buffer.from(h.symlinkTarget, 'utf8'), Buffer.from([0])]), mode: 0o644, xattrs: [meta], mtimeZero: true }
          : { dest, ...src, mode: (h.mode & 0o775) | 0o400, xattrs: [meta], mtimeZero: true };
      }
      case 'bare-user-only':
        if (!link && h.mode & ~(0o100000 | 0o775)) {
          // _ostree_validate_bareuseronly_mode()
          const bits = h.mode & ~0o170000 & ~0o775;
          const oct = (n: number) => n.toString(8).padStart(4, '0');
          throw new OstreeError('OSTREE_INVALID_ARGUMENT', `Content object ${s.checksum}: invalid mode 0${oct(h.mode)} with bits 0${oct(bits)}`);
        }
        return link ? { dest, symlinkTarget: h.symlinkTarget, mode: 0o777 } : { dest, ...src, mode: h.mode & 0o7777, mtimeZero: true };
      default:
        throw new OstreeError('OSTREE_UNSUPPORTED_MODE', `Unexpected mode ${this.repo.mode}`);
    }
  }

  private async writeArchiveContent(s: ContentSource): Promise<void> {
    const h = s.header;
    const dest = this.repo.objectPath(s.checksum, ObjectType.File);
    const dir = path.dirname(dest);
    await fsp.mkdir(dir, { recursive: true });
    const tmp = path.join(this.repo.path, 'tmp', tmpName('filez'));
    const level = this.repo.zlibLevel;
    try {
      if (isLink(h.mode)) {
        const zh = serializeZlibHeader(h, 0n);
        await fsp.writeFile(tmp, Buffer.concat([headerPrefix(zh.length), zh]), { mode: 0o644 });
      } else if (s.payload) {
        const zh = serializeZlibHeader(h, BigInt(s.payload.length));
        const z = await new Promise<Buffer>((res, rej) => zlib.deflateRaw(s.payload as Buffer, { level }, (e, r) => (e ? rej(e) : res(r))));
        await fsp.writeFile(tmp, Buffer.concat([headerPrefix(zh.length), zh, z]), { mode: 0o644 });
      } else {
        const st = await fsp.stat(s.path as string);
        const zh = serializeZlibHeader(h, BigInt(st.size));
        const out = createWriteStream(tmp, { mode: 0o644 });
        out.write(Buffer.concat([headerPrefix(zh.length), zh]));
        await pipeline(createReadStream(s.path as string), zlib.createDeflateRaw({ level }), out);
      }
      if (this.perObjectFsync) await fsyncPath(tmp);
      await linkNoReplace(tmp, dest);
    } catch (err) {
      await fsp.rm(tmp, { force: true });
      throw withContext(`Writing content object ${s.checksum}`, err);
    }
    this.touchedDirs.add(dir);
    this.stats.contentWritten++;
  }

  /**
   * Account for objects a native writer (a static delta part) stored
   * directly: they count as written, and the commit syncs the filesystem.
   */
  noteObjectsWritten(count: number, bytes: number): void {
    if (count > 0) this.wroteObjects = true;
    this.stats.contentWritten += count;
    this.stats.contentBytesWritten += bytes;
  }

  /** Queue a ref update (null deletes), applied at commit. */
  setRef(spec: string, checksum: string | null): void {
    this.checkAlive();
    checkRefUpdate(spec, checksum);
    this.refs.set(spec, checksum);
  }

  /** Queue a collection ref update (null deletes), applied at commit (ostree_repo_transaction_set_collection_ref). */
  setCollectionRef(cref: CollectionRef, checksum: string | null): void {
    this.checkAlive();
    checkCollectionRefUpdate(cref, checksum);
    this.collectionRefs.set(`${cref.collectionId}\0${cref.ref}`, { cref: { ...cref }, checksum });
  }

  /** commit_transaction: sync, clean tmp/ (lib/repo/tmpdir.ts), then move refs, then release the lock. */
  async commit(): Promise<void> {
    this.checkAlive();
    // ostree's OSTREE_REPO_TEST_ERROR=pre-commit: fail before anything moves (the staging dir stays).
    maybeTestError('pre-commit', 'OSTREE_REPO_TEST_ERROR_PRE_COMMIT specified');
    try {
      const refsMoved = this.refs.size + this.collectionRefs.size;
      if (this.fsync && (this.touchedDirs.size || this.wroteObjects || refsMoved)) {
        await native().fs_syncfs(path.join(this.repo.path, 'objects'));
      }
      await cleanupTmpdir(this.repo);
      crashPoint();
      for (const [spec, csum] of this.refs) await writeRef(this.repo, spec, csum, { fsync: false });
      for (const { cref, checksum } of this.collectionRefs.values()) await writeCollectionRef(this.repo, cref, checksum, { fsync: false });
      if (this.fsync && refsMoved) await native().fs_syncfs(path.join(this.repo.path, 'refs'));
      if (refsMoved) await (await import('../summary')).maybeRegenerateSummary(this.repo);
      await this.staging?.remove();
    } finally {
      await this.finish();
    }
  }

  /**
   * abort_transaction: drop queued ref changes, clean tmp/, release the lock.
   * Objects already linked stay (they are valid). A cleanup error is not
   * reported: the caller is handling the transaction's own failure.
   */
  async abort(): Promise<void> {
    if (this.done) return;
    await cleanupTmpdir(this.repo).catch(() => undefined);
    await this.finish();
  }

  private async finish(): Promise<void> {
    this.done = true;
    await this.staging?.release().catch(() => undefined);
    this.staging = null;
    const lock = await repoLock(this.repo);
    await lock.pop('shared');
  }
}

/** ostree's prefix for errors of a content object write (write_content_object). */
const CONTENT_CONTEXT = 'Writing content object';

interface FreeSpaceBudget {
  /** Blocks content objects may still take (ostree's txn.max_blocks). */
  blocks: number;
  /** The filesystem's block size (statfs f_bsize). */
  blockSize: number;
  /** How the limit is configured, for the error message (ostree's wording). */
  setting: string;
}

/**
 * The blocks a content object of `size` payload bytes is charged: what it
 * takes on disk, rounded up to whole blocks plus one (ostree: size / f_bsize
 * + 1), so that a thousand 100-byte files count a thousand blocks, not 100 kB.
 */
export function objectBlocks(size: number, blockSize: number): number {
  return Math.floor(Math.max(0, size) / blockSize) + 1;
}

/**
 * ostree's free-space reserve: core.min-free-space-size (`<N>MB|GB|TB`) wins
 * when set and non-zero, else core.min-free-space-percent (default 3) of the
 * filesystem. Returns null when neither limits anything. The budget is in
 * blocks, as ostree's prepare_transaction computes it: the free blocks
 * (f_bfree for root, else f_bavail) less the reserve's bytes divided by the
 * block size.
 */
export async function freeSpaceBudget(repo: Repo): Promise<FreeSpaceBudget | null> {
  const cfg = repo.config;
  const sizeStr = cfg.get('core', 'min-free-space-size')?.trim();
  const pctStr = cfg.get('core', 'min-free-space-percent')?.trim();
  // As ostree reads them: a size that is set wins when non-zero; a percentage
  // that is set is read like strtoull ('50%' is 50, 'abc' is 0 = no limit);
  // 3% applies only when neither key is there (so a size of 0MB alone means no limit).
  let mb = 0n;
  if (sizeStr !== undefined) {
    const invalid = (why: string) => new OstreeError('OSTREE_CONFIG', `Invalid min-free-space-size '${sizeStr}': ${why}`);
    const m = /^([0-9]+)(M|G|T)B$/.exec(sizeStr);
    if (!m) throw invalid("It should be of the format '123MB', '123GB' or '123TB'");
    const shift = ({ M: 0n, G: 10n, T: 20n } as Record<string, bigint>)[m[2]];
    mb = asciiStrtoull(m[1]);
    if (shift > 0n && mb >> (64n - shift) !== 0n) throw invalid('Value was too high');
    mb <<= shift;
  }
  let pct = 0n;
  if (pctStr !== undefined) {
    pct = asciiStrtoull(pctStr);
    if (pct > 99n) throw new OstreeError('OSTREE_CONFIG', `Invalid min-free-space-percent '${pctStr}'`);
  } else if (sizeStr === undefined) {
    pct = 3n;
  }
  let reserveBytes: number | null = null;
  let setting: string;
  if (mb > 0n) {
    if (mb > (1n << 44n) - 1n) throw new OstreeError('OSTREE_CONFIG', `min-free-space value is greater than the maximum allowed value of ${(1n << 44n) - 1n} bytes`);
    reserveBytes = Number(mb) * 1024 * 1024;
    setting = `min-free-space-size ${mb}MB`;
  } else if (pct > 0n) {
    setting = `min-free-space-percent '${pct}%'`;
  } else {
    return null;
  }
  let st;
  try {
    st = await fsp.statfs(path.join(repo.path, 'objects'));
  } catch {
    return null; // statfs unsupported: no limit, as ostree when it can't tell
  }
  if (!(st.bsize > 0)) return null;
  // The percentage is of the filesystem's bytes, as a double, truncated.
  if (reserveBytes === null) reserveBytes = Math.floor(st.blocks * st.bsize * (Number(pct) / 100));
  const reserveBlocks = Math.floor(reserveBytes / st.bsize);
  const free = process.getuid?.() === 0 ? st.bfree : st.bavail;
  return { blocks: Math.max(0, free - reserveBlocks), blockSize: st.bsize, setting };
}

/** GLib's g_ascii_strtoull(s, NULL, 10): leading blanks, a sign, the digits that follow (none: 0); saturates; '-' wraps. */
function asciiStrtoull(s: string): bigint {
  const m = /^[ \t\n\v\f\r]*([+-]?)([0-9]*)/.exec(s) as RegExpExecArray;
  if (!m[2]) return 0n;
  const max = (1n << 64n) - 1n;
  const v = BigInt(m[2]);
  if (v > max) return max;
  return m[1] === '-' ? (max + 1n - v) & max : v;
}

/**
 * Run `fn` inside a transaction (ostree_repo_prepare_transaction … commit_transaction):
 * it holds the repo's shared lock, objects written are synced, and ref updates
 * queued with `tx.setRef` are applied at the end. If `fn` throws, the
 * transaction is aborted and nothing it queued becomes visible.
 *
 * @example
 * import { withTransaction } from 'node-ostree';
 * await withTransaction(repo, async (tx) => {
 *   tx.setRef('exampleos/stable', checksum);
 *   tx.setRef('exampleos/old', null);
 * }, { fsync: false });
 */
export async function withTransaction<T>(repo: Repo, fn: (tx: Transaction) => Promise<T>, opts: TransactionOptions = {}): Promise<T> {
  const tx = await Transaction.begin(repo, opts);
  try {
    const r = await fn(tx);
    await tx.commit();
    return r;
  } catch (err) {
    await tx.abort();
    throw err;
  }
}

/** link(2) without replacing, then drop the temp name. EEXIST = already present. */
export async function linkNoReplace(tmp: string, dest: string): Promise<boolean> {
  try {
    await fsp.link(tmp, dest);
    return true;
  } catch (err) {
    if (isErrno(err, 'EEXIST')) return false;
    throw err;
  } finally {
    await fsp.rm(tmp, { force: true });
  }
}

/** The header bytes of a framed object file (u32be length, 4 bytes padding, header), read without the payload. */
export async function readFramedHeader(file: string): Promise<Buffer> {
  const fh = await fsp.open(file, 'r');
  try {
    const pre = Buffer.alloc(8);
    const { bytesRead } = await fh.read(pre, 0, 8, 0);
    if (bytesRead < 8) throw new OstreeError('OSTREE_CORRUPT_OBJECT', 'File header too short');
    const len = pre.readUInt32BE(0);
    if (len > 64 * 1024 * 1024) throw new OstreeError('OSTREE_CORRUPT_OBJECT', `File header size ${len} too large`);
    const h = Buffer.alloc(len);
    const r = await fh.read(h, 0, len, 8);
    if (r.bytesRead < len) throw new OstreeError('OSTREE_CORRUPT_OBJECT', `File header size ${len} exceeds size ${8 + r.bytesRead}`);
    return h;
  } finally {
    await fh.close();
  }
}

async function fsyncPath(p: string): Promise<void> {
  const fh = await fsp.open(p, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

export function chunk<T>(arr: T[], n: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < arr.length; i += n) out.push(arr.slice(i, i + n));
  return out;
}

/** Run `fn` over items with at most `limit` in flight; rejects on the first error. */
export async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T, i: number) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  let failed: unknown = null;
  const worker = async () => {
    while (next < items.length && failed === null) {
      const i = next++;
      try {
        out[i] = await fn(items[i], i);
      } catch (err) {
        failed ??= err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failed !== null) throw failed;
  return out;
}
