// The one place that loads the native addon (node-gyp-build: prebuilds/ first
// unless a local build exists; PREBUILDS_ONLY=1 forces prebuilds;
// NODE_OSTREE_ADDON=/path/to/node_ostree.node loads that file instead, e.g. the
// cmake-js build). Everything else imports `native()` from here. The interface below is the whole private
// boundary: flat `concept_verb` functions, all async except `version`.
import * as path from 'node:path';
import * as util from 'node:util';

/** An xattr as it crosses the boundary: name without NUL, raw value. */
export type XattrList = Array<[string, Buffer]>;

export interface ChecksumOptions {
  /** Where metadata comes from: the file itself ('fs', default) or, for a
   *  bare-user object, its `user.ostreemeta` xattr (symlinks stored as files). */
  source?: 'fs' | 'bare-user';
  /** Override uid/gid (commit --owner-uid/--owner-gid). */
  uid?: number;
  gid?: number;
  /** uid=gid=0, regular files mode & (S_IFREG|0755), no xattrs. */
  canonicalPermissions?: boolean;
  /** Don't read xattrs at all. */
  skipXattrs?: boolean;
}

export interface FileChecksum {
  checksum: string;
  size: number;
  mode: number;
  uid: number;
  gid: number;
  symlinkTarget: string | null;
  xattrs: XattrList;
  dev: number;
  ino: number;
  nlink: number;
}

export interface ImportEntry {
  /** File to copy from (regular file content). Omit for symlinks (bare/bare-user-only) or `data`. */
  src?: string;
  /** Literal content (bare-user symlink: target + NUL). */
  data?: Buffer;
  /** Create a symlink with this target instead of a file. */
  symlinkTarget?: string;
  /** Final path; written via a temp file in dirname(dest) and linked without replace. */
  dest: string;
  /** Permission bits to fchmod (files only). */
  mode: number;
  uid?: number;
  gid?: number;
  xattrs?: XattrList;
  /** Set mtime to 0 (regular files). */
  mtimeZero?: boolean;
}

export interface ImportResult { written: number; existed: number }

export type CheckoutOp =
  | { op: 'mkdir'; path: string; mode: number }
  | { op: 'link'; src: string; dest: string }
  | { op: 'copy'; src: string; dest: string; mode: number; uid?: number; gid?: number; xattrs?: XattrList; keepTimes?: boolean }
  | { op: 'symlink'; target: string; dest: string; uid?: number; gid?: number; xattrs?: XattrList }
  | { op: 'dirmeta'; path: string; mode: number; uid?: number; gid?: number; xattrs?: XattrList; mtimeZero?: boolean };

export interface CheckoutOptions {
  /** On link failure with EXDEV/EMLINK/EPERM: copy instead (default true). */
  copyFallback?: boolean;
  /** What to do with an existing destination: 'error' (EEXIST), 'replace' (atomic rename over), 'skip'. */
  overwrite?: 'error' | 'replace' | 'skip';
  fsync?: boolean;
}

export interface CheckoutResult { linked: number; copied: number; skipped: number }

export interface ContentWriteOptions {
  /** Repository root (objects/ and tmp/ must exist). */
  repo: string;
  mode: 'bare' | 'bare-user' | 'bare-user-only' | 'archive';
  /** Override uid/gid (commit --owner-uid/--owner-gid). */
  uid?: number;
  gid?: number;
  /** uid=gid=0, regular files mode & (S_IFREG|0755), no xattrs. */
  canonicalPermissions?: boolean;
  skipXattrs?: boolean;
  /** Raw-deflate level for archive objects (default 6). */
  zlibLevel?: number;
  /** fsync each object before linking it (core.per-object-fsync). */
  fsync?: boolean;
  /** Start write-back of large objects right away (default true; ignored with fsync). */
  writeback?: boolean;
  /** Files up to this size are read whole and hashed before anything is written (default 1 MiB). */
  smallMax?: number;
}

/** Per-entry stat override: [index into paths, '+' (or) | '=' (set permission bits), mode]. */
export type ContentModeOverride = [number, '+' | '=', number];

export interface ContentWriteResult {
  /** 64 hex characters per input path, concatenated in input order. */
  checksums: string;
  /** Objects newly linked into objects/. */
  written: number;
  /** Payload bytes of those objects. */
  bytesWritten: number;
  /** One byte per input path: 1 when its object was newly linked, 0 when the repo had it. */
  fresh: Buffer;
}

/** One directory level from dirs_scan: the directory's own metadata and its entries (sorted bytewise). */
export interface ScanDir {
  uid: number;
  gid: number;
  mode: number;
  /** Non-empty xattrs, sorted (empty when not requested). */
  xattrs: XattrList;
  names: string[];
  /** Per entry: 0 regular file, 1 directory, 2 symlink, 3 anything else. */
  types: Uint8Array;
  /** Per entry: size of regular files (0 otherwise, or when sizes: false). */
  sizes: Float64Array;
}

/** One checkout_files job: files grouped by destination directory. */
export interface CheckoutFilesJob {
  /** Destination directories (absolute; created beforehand). */
  dirs: string[];
  /** Per file: index into dirs (files of one directory consecutive). */
  fileDir: Uint32Array;
  /** Per file: its name in that directory. */
  names: string[];
  /** Per file: content checksum, 64 hex characters each, concatenated. */
  csums: string;
}

/** A file list made natively (checkout_plan_next); opaque to JS. */
export type CheckoutFileList = { readonly __brand: 'CheckoutFileList' };

/** A checkout_files job over part of a native file list: files [start, end). */
export interface CheckoutFilesRange {
  list: CheckoutFileList;
  start: number;
  end: number;
}

/** A checkout's tree walk in progress (checkout_plan_open); opaque to JS. */
export type CheckoutPlanCursor = { readonly __brand: 'CheckoutPlanCursor' };

/** One step of a checkout's tree walk (see native/checkout_plan.h). */
export interface CheckoutPlanChunk {
  /** Pre-order number of dirs[0] (directories are numbered in pre-order over the whole walk; 0 = the root). */
  first: number;
  /** Directories entered in this step, absolute, pre-order (a parent first). */
  dirs: string[];
  /** Per dir: depth below the root (0 = the root). */
  depth: Uint32Array;
  /** Per dir: dirmeta checksum, 64 hex characters each, concatenated. */
  metas: string;
  /** Directories finished in this step (pre-order numbers), children before their parent. */
  finished: Uint32Array;
  /** This step's files, for checkout_files ranges (null when none). */
  files: CheckoutFileList | null;
  nfiles: number;
  /** The walk stopped before a directory whose dirtree (this checksum) the native reader can't take. */
  need?: string;
  /** The normal-form copy passed for `need` wasn't taken either. */
  rejected?: boolean;
  done: boolean;
}

export interface CheckoutFilesOptions {
  /** Where objects are looked up, in order: [repo root, mode, core.disable-xattrs] (the repo, then its core.parent chain). */
  stores: Array<[string, string, boolean]>;
  /** -U: no chown/xattrs; copies lose suid/sgid and gain u+r. */
  userMode?: boolean;
  /** Hardlink non-empty regular files from bare(-user) objects (copy fallback on EXDEV/EMLINK/EPERM unless requireHardlinks). */
  hardlink?: boolean;
  /** Archive -U: the uncompressed-objects cache directory to hardlink through (decompressing into it when missing). */
  cache?: string;
  /** A temp directory on the cache's filesystem (the repo's tmp/). */
  cacheTmp?: string;
  /** fsync each file written into the cache before it is linked there (ostree does, unless core.fsync=false). */
  cacheFsync?: boolean;
  /** A non-empty regular file that can't be hardlinked is an error (failure kind 'require-hardlinks'). */
  requireHardlinks?: boolean;
  overwrite?: 'error' | 'replace' | 'skip';
  fsync?: boolean;
}

export interface CheckoutFilesResult extends CheckoutResult {
  /** Set when an object was missing or unreadable (the job stopped there). */
  failure?: {
    /** Index in the job. */
    index: number;
    kind: 'missing' | 'corrupt' | 'require-hardlinks';
    error: Error;
    /** The file's destination path and its checksum. */
    dest: string;
    checksum: string;
  };
}

export interface MetadataReadResult {
  /** Object bytes, or null when no store has it. */
  data: Array<Buffer | null>;
  /** Index of the store it came from (-1: missing). */
  store: Int32Array;
  /** With opts.sha256: 64 hex characters per object (zeros when missing). */
  sha256?: string;
  /** With opts.dirtree: 1 where the bytes are a dirtree in normal form with valid, sorted, distinct names. */
  dirtreeValid?: Uint8Array;
}

export interface ContentVerifyResult {
  /** Recomputed checksums, 64 hex characters each (zeros where status != 0). */
  checksums: string;
  /** 0 read and hashed, 1 missing, 2 anything else (describe it another way). */
  status: Uint8Array;
  /** The mode from the object's metadata (when status is 0). */
  modes: Uint32Array;
}

export interface StoreFilezBatchResult {
  /** As StoreFilezResult; rejected: the header's mode is refused (not a regular file or symlink, bad bits), nothing stored. */
  status: 'written' | 'existed' | 'corrupt' | 'rejected';
  /** Payload size from the header. */
  size: number;
  /** Mode from the header (0 when it could not be decoded). */
  mode: number;
  /** Corrupt only: the checksum computed ("" when it could not be decoded) and why. */
  checksum?: string;
  message?: string;
}

export interface StoreFilezResult {
  /** written: linked into objects/; existed: the repo already had it; corrupt: nothing stored. */
  status: 'written' | 'existed' | 'corrupt';
  /** The checksum computed from the object ("" when it could not be decoded). */
  checksum: string;
  /** Payload size from the object's header. */
  size: number;
  /** Why it is corrupt ("checksum mismatch", "Invalid compressed data", ...). */
  message: string;
}

export interface NativeBinding {
  version(): string;
  /** Crash-test hook (lib/crash-point.ts): counts a kill point, SIGKILLs at the NODE_OSTREE_CRASH_AT-th; `true`: the count so far. */
  crash_point(query?: boolean): number | undefined;
  /** Hands the addon Node's errno names and messages (util.getSystemErrorMap()); native() calls it once. */
  errors_init(map: Map<number, [string, string]>): number;
  /** Tests and benchmarks only: SHA-256 of the chunks, fed `repeat` times, by the chosen block function. */
  sha256_digest(chunks: Buffer[], opts?: { repeat?: number; impl?: 'auto' | 'portable' | 'sha-ni' }): string;
  /** Which SHA-256 block function runs ('sha-ni' by CPUID unless NODE_OSTREE_SHA256=portable). */
  sha256_info(): { selected: 'portable' | 'sha-ni'; shaNi: boolean };
  checksum_files(paths: string[], opts: ChecksumOptions): Promise<FileChecksum[]>;
  objects_import(entries: ImportEntry[], opts: { fsync?: boolean }): Promise<ImportResult>;
  xattrs_get(path: string): Promise<XattrList>;
  xattrs_set(path: string, xattrs: XattrList): Promise<void>;
  lock_open(path: string): Promise<object>;
  /** Non-blocking attempt; resolves false when another holder conflicts (EAGAIN). */
  lock_try(handle: object, type: 'shared' | 'exclusive' | 'unlock'): Promise<boolean>;
  lock_close(handle: object): Promise<void>;
  /** 'ofd' or 'flock' — which primitive the handle uses. */
  lock_kind(handle: object): string;
  fs_syncfs(path: string): Promise<void>;
  fs_fsync(path: string): Promise<void>;
  /** FIFREEZE + FITHAW of the filesystem of path under a watchdog (syncfs when freezing is not allowed); resolves -1, or with testWatchdog the watchdog's wait status. */
  fs_freeze_thaw(path: string, testWatchdog: boolean): Promise<number>;
  /** chattr +i / -i; false when the filesystem or privileges do not allow it (ignored, as ostree does). */
  fs_set_immutable(path: string, immutable: boolean): Promise<boolean>;
  checkout_batch(ops: CheckoutOp[], opts: CheckoutOptions): Promise<CheckoutResult>;
  /** Commit engine: checksum and store content objects from source files in one read each. */
  content_write_batch(paths: string[], opts: ContentWriteOptions, overrides?: ContentModeOverride[]): Promise<ContentWriteResult>;
  /** Store serialized metadata objects that are missing; items are [path relative to objects/, bytes]. Resolves the number written. */
  metadata_write_batch(repo: string, items: Array<[string, Buffer]>, opts: { fsync?: boolean }): Promise<number>;
  /** One level of each directory (the first one may be reached through a symlink). */
  dirs_scan(paths: string[], opts: { xattrs?: boolean; sizes?: boolean }): Promise<ScanDir[]>;
  /** Checkout engine: materialise a batch of content objects (see native/checkout_files.h). */
  checkout_files(job: CheckoutFilesJob | CheckoutFilesRange, opts: CheckoutFilesOptions): Promise<CheckoutFilesResult>;
  /** Drop a file list now (jobs still running keep it until they end); it can't be used after. */
  checkout_list_free(list: CheckoutFileList): void;
  /** Start a checkout's tree walk at rootTree; `base` is the checkout root (absolute). */
  checkout_plan_open(repos: string[], rootTree: string, rootMeta: string, base: string): CheckoutPlanCursor;
  /** The walk's next step: at most maxEntries files and directories (`dirtree`: a normal-form copy of the last `need`). */
  checkout_plan_next(cursor: CheckoutPlanCursor, maxEntries: number, dirtree?: Buffer): Promise<CheckoutPlanChunk>;
  /**
   * Per root (its tree and its dirmeta, 64 hex each): the dirmeta, then every dirtree, file and dirmeta under the
   * tree, in traverseCommit's order; each object once over all roots. Metadata (types + raw 32-byte checksums) and
   * content (raw 32-byte checksums) apart; metaEnds[i] / contentEnds[i] = where root i's objects end (null:
   * something is off).
   */
  tree_reachable(
    repos: string[],
    roots: string,
  ): Promise<{ metaTypes: Uint8Array; metaCsums: Buffer; metaEnds: Uint32Array; content: Buffer; contentEnds: Uint32Array } | null>;
  /** Read metadata objects (paths relative to objects/), searching `repos` in order. */
  metadata_read_batch(repos: string[], rels: string[], opts: { sha256?: boolean; dirtree?: boolean }): Promise<MetadataReadResult>;
  /** Recompute content checksums from the stored objects of one repo. */
  content_verify_batch(repo: string, mode: string, csums: string, opts: { disableXattrs?: boolean }): Promise<ContentVerifyResult>;
  /** lstat then unlink (unless dryRun) objects (paths relative to objects/); resolves their sizes. */
  objects_unlink_batch(repo: string, rels: string[], opts: { dryRun?: boolean }): Promise<Float64Array>;
  /**
   * Pulls: verify a downloaded `.filez` (a plain name in REPO/tmp) against
   * `checksum` while inflating it, and store it in the repo's mode (archive:
   * the file itself is linked). Nothing enters objects/ unless it matches.
   */
  content_store_filez(repo: string, mode: string, tmpName: string, checksum: string, opts: { fsync?: boolean }): Promise<StoreFilezResult>;
  /**
   * The same for many small downloads held in memory ([checksum, .filez
   * bytes]), in one pool job; `userOnlyModes` refuses regular files with
   * mode bits outside 0775 ('rejected', nothing stored).
   */
  content_store_filez_batch(repo: string, mode: string, items: Array<[string, Buffer]>, opts: { fsync?: boolean; userOnlyModes?: boolean }): Promise<StoreFilezBatchResult[]>;
  /**
   * Downloaded dirtrees ([expected checksum, bytes]) checked against their
   * checksum, parsed (normal form) and the objects they name looked up in
   * `repos` (the destination first, then its core.parent chain) — see
   * native/pull_scan.h.
   */
  pull_scan_dirtrees(repos: string[], modes: string[], items: Array<[string, Buffer]>): Promise<PullScanResult[]>;
  /** One complete xz stream decoded (at most maxSize bytes out) — native/xz.h. */
  xz_decode(buf: Buffer, maxSize: number): Promise<Buffer>;
  /** A bsdiff patch applied in memory, synchronously (tests and tools) — native/bspatch.h. */
  bspatch_apply(old: Buffer, patch: Buffer, newSize: number): Buffer;
  /**
   * Execute one static delta part (the file's bytes or its path) into
   * `repos[0]`, read sources from any of `repos` — see native/delta_part.h.
   */
  delta_part_execute(repos: string[], modes: string[], part: Buffer | string, objects: Buffer, opts: DeltaPartOptions): Promise<DeltaPartResult>;
  /** One .xz stream (LZMA2, preset 8 unless given, CRC64 check) of `data`: a static delta part. */
  xz_encode(data: Buffer, opts?: { preset?: number }): Promise<Buffer>;
  /** A bsdiff patch (ostree's bspatch format: ENDSLEY/BSDIFF43 records, no header, uncompressed) turning `old` into `new`. */
  bsdiff(old: Buffer, new_: Buffer): Promise<Buffer>;
  /** The suffix array of `text` (synchronous, at most 16 MiB; tests). */
  suffix_array(text: Buffer): Int32Array;
  /** ostree's rollsum matching of `to` against `from` (matches: [len, toStart, fromStart]… by toStart). */
  rollsum_matches(from: Buffer, to: Buffer): Promise<RollsumResult>;
  /**
   * Many content objects' headers (and with opts.data their payloads) in one
   * pool job, looked up in `stores` in order — see native/content_read.h.
   * `csums`: 64 hex characters per object, concatenated.
   */
  content_read_batch(stores: Array<[string, string, boolean]>, csums: string, opts: ContentReadOptions): Promise<ContentReadResult>;
}

export interface ContentReadOptions {
  /** Read the payloads too (archive: inflated). */
  data?: boolean;
  /** With data: stop before the object that would take the payload total past this (at least one is read). Default 64 MiB. */
  maxBytes?: number;
  /** A larger payload is refused (EFBIG). Default 1 GiB, at most 2^32 - 1. */
  maxObjectSize?: number;
}

/** content_read_batch(): per object read (the first `count` asked for), in order. */
export interface ContentReadResult {
  count: number;
  uids: Uint32Array;
  gids: Uint32Array;
  modes: Uint32Array;
  /** Payload size (0 for symlinks). */
  sizes: Float64Array;
  /** Bytes the object file takes (its st_size). */
  storage: Float64Array;
  /** Symlink target ('' for regular files). */
  targets: string[];
  /** Xattrs sorted by name, null when none. */
  xattrs: Array<XattrList | null>;
  /** With data: all payloads, object i's at [ends[i-1] (0 for i=0), ends[i]). */
  data?: Buffer;
  ends?: Float64Array;
}

/** rollsum_matches(): ostree's counters and the matched chunks. */
export interface RollsumResult {
  crcmatches: number;
  bufmatches: number;
  total: number;
  matchSize: number;
  matches: Float64Array;
}

export interface DeltaPartOptions {
  /** Expected SHA-256 of the part file (omitted: not checked, as for inline parts). */
  checksum?: string;
  /** The decompressed body may not be larger. */
  maxBodySize: number;
  /** Count operations without writing anything (static-delta show). */
  statsOnly?: boolean;
  fsync?: boolean;
  zlibLevel?: number;
}

export type DeltaPartResult =
  | {
      ok: true;
      written: number;
      existed: number;
      /** Payload bytes of the content objects written. */
      bytes: number;
      nmodes: number;
      nxattrs: number;
      blobsize: number;
      opsize: number;
      /** openspliceclose, open, write, setread, unsetread, close, bspatch. */
      ops: number[];
    }
  | { ok: false; kind: 'checksum' | 'open' | 'corrupt'; message: string };

/** One dirtree of pull_scan_dirtrees(). */
export type PullScanResult =
  | { missing: string; dirs: string; present: Uint8Array }
  | { actual: string }
  | { invalid: true };

let cached: NativeBinding | undefined;

/** Load the addon once (lazily: CLI start-up must not pay for it unless used). */
export function native(): NativeBinding {
  if (!cached) {
    const override = process.env.NODE_OSTREE_ADDON;
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    const load = require('node-gyp-build') as (dir: string) => NativeBinding;
    const addon = override ? (require(path.resolve(override)) as NativeBinding) : load(path.join(__dirname, '..'));
    // The addon takes nothing from libuv: errno names come from Node's own table.
    addon.errors_init((util as unknown as { getSystemErrorMap(): Map<number, [string, string]> }).getSystemErrorMap());
    cached = addon;
  }
  return cached;
}
