// Pulling from a remote over HTTP(S) or file:// (FORMATS.md §7; ostree
// ostree-repo-pull.c as the behavioural reference). Sequence: summary.sig,
// summary (verified when the remote asks for it), the remote's config, ref
// resolution; then per commit its detached metadata and the commit itself,
// signatures checked before anything from it is written, a .commitpartial
// marker, and a concurrent walk of dirtrees/dirmetas fetching only objects
// the repo lacks. Every object is checksummed before it enters objects/.
// Refs move at the end of the transaction, which holds the shared repo lock
// from the first write until the refs are written.
import * as path from 'node:path';
import { promises as fsp } from 'node:fs';
import { setMaxListeners } from 'node:events';
import { OstreeError, isErrno, throwAborted, withContext } from '../errors';
import { Repo, writeFileAtomic } from '../repo/repo';
import type { Transaction } from '../repo/transaction';
import { resolveRev, validateRef } from '../refs/refs';
import { deserialize } from '../gvariant/codec';
import {
  ObjectType,
  Commit,
  Metadata,
  isValidChecksum,
  parseCommit,
  parseDirTree,
  parseDirMeta,
  validateDirTree,
  validateDirMeta,
  sha256Hex,
  contentChecksum,
  FileHeader,
  assertNormalForm,
  COMMIT_TYPE,
} from '../objects/formats';
import { formatSize } from '../cli/console';
import { markCommitPartial, clearCommitPartial } from '../fsck';
import { getRemote, remoteBool, remoteList, Remote } from '../remotes/remotes';
import { parseSummary, Summary, SUMMARY_TYPE } from '../summary';
// GPG and ed25519 verification are loaded only by pulls that verify (start-up cost).
import type { VerifyResult } from '../gpg/verify';
import { fetcherOptionsFromRemote, MAX_METADATA_SIZE } from './fetcher';
import { HttpSource, LocalSource, PullSource } from './source';
import { withPullTransaction, checkContentMode, importContentFromRepo } from './common';
import { SummaryCache, CacheValidators } from './summary-cache';
import { native, PullScanResult } from '../binding';
import { repoChain } from '../traverse';

/** Verified small content objects are written in batches of this many... */
const CONTENT_BATCH = 128;
/** ...or of this many payload bytes, whichever comes first. */
const CONTENT_BATCH_BYTES = 8 * 1024 * 1024;
/** A batch that is not full is written this many ms after its first object. */
const FLUSH_MS = 25;

/** Content downloads started and not yet handed to a write batch, at most... */
const FETCH_AHEAD = 64;
/** ...while downloaded bodies waiting to be written hold less than this many bytes (memory bound of a pull). */
const HELD_MAX = 32 * 1024 * 1024;

export type PullPhase = 'metadata' | 'content' | 'writing' | 'done';

export interface PullProgress {
  phase: PullPhase;
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

export interface PullOptions {
  /** Name of a configured remote. */
  remote: string;
  /** Refs or commit checksums; default: the remote's `branches` (all summary refs with `mirror`). */
  refs?: string[];
  /** Parent commits to fetch too: 0 (default), N, or -1 for all. */
  depth?: number;
  /** Only these subtrees' content (e.g. "/usr/bin"); the commit stays partial. */
  subpath?: string | string[];
  /** Only commit objects (+ detached metadata); commits stay partial. */
  commitMetadataOnly?: boolean;
  /** Write refs/heads/REF instead of refs/remotes/REMOTE/REF; copy the summary when pulling all refs. */
  mirror?: boolean;
  /** Resolve refs and report what would be pulled; write nothing. */
  dryRun?: boolean;
  /** Accepted for compatibility: objects are always verified. */
  untrusted?: boolean;
  /** Extra HTTP headers. */
  httpHeaders?: Array<[string, string]> | Record<string, string>;
  /** Retries per request for transient errors (default 5). */
  networkRetries?: number;
  /** Local repos consulted for objects before downloading them. */
  localcacheRepo?: string | string[];
  /** Refuse to move a ref to a commit older than its current one. */
  timestampCheck?: boolean;
  /** Reject regular files with mode bits outside 0775. */
  bareuseronlyFiles?: boolean;
  /** Minimum interval between onProgress calls in ms (0 = every change). */
  updateFrequency?: number;
  /** Accepted: static deltas are not used by this implementation. */
  disableStaticDeltas?: boolean;
  /** Do not check ostree.ref-binding / collection bindings. */
  disableVerifyBindings?: boolean;
  /** Override the remote's url for this pull. */
  url?: string;
  /** Override the remote's gpg-verify / gpg-verify-summary. */
  gpgVerify?: boolean;
  gpgVerifySummary?: boolean;
  /** Skip fsync for this pull. */
  disableFsync?: boolean;
  /** Directory for the summary cache (default REPO/tmp/cache). */
  cacheDir?: string;
  /** Requests in flight (default 8). */
  maxConcurrency?: number;
  /** Low-speed limit (default 1000 B/s for 30 s, as ostree). */
  lowSpeedLimit?: number;
  lowSpeedTime?: number;
  /** First retry delay in ms (default 200), doubled per retry up to maxRetryBackoffMs (default 10000). */
  retryBackoffMs?: number;
  maxRetryBackoffMs?: number;
  signal?: AbortSignal;
  onProgress?: (p: PullProgress) => void;
  /** Called with each commit's successful GPG verification (ostree's gpg-verify-result signal). */
  onGpgVerifyResult?: (commit: string, result: VerifyResult) => void;
}

export interface PullResult {
  /** Refs written or confirmed: refspec -> commit. */
  refs: Record<string, string>;
  /** Commits visited, roots first. */
  commits: string[];
  metadataFetched: number;
  contentFetched: number;
  /** Objects copied from --localcache-repo repos. */
  metadataImported: number;
  contentImported: number;
  /** Body bytes received while fetching objects (summary and config excluded, as ostree). */
  bytesTransferred: number;
  /** Payload bytes of content objects written. */
  contentBytesWritten: number;
  /** HTTP requests made (retries included). */
  requests: number;
  elapsedMs: number;
  /** ostree's closing line ("N metadata, M content objects fetched; …"). */
  status: string;
  /** The summary came from tmp/cache/summaries (not downloaded again). */
  summaryFromCache: boolean;
}

interface Target {
  ref: string | null;
  checksum: string;
  /** Commit object size from the summary. */
  size?: number;
}

function splitSubpaths(s: string | string[] | undefined): string[] {
  const list = s === undefined ? [] : Array.isArray(s) ? s : [s];
  const out: string[] = [];
  for (const p of list) {
    const norm = '/' + p.split('/').filter((x) => x.length > 0).join('/');
    if (norm === '/') return []; // the whole tree
    out.push(norm);
  }
  return out;
}

/** Does `p` (a file when !isDir) fall within or on the way to a requested directory? */
function matchesSubpath(dirs: string[], p: string, isDir: boolean): boolean {
  if (dirs.length === 0) return true;
  for (const d of dirs) {
    if (p === d) return true;
    if (p.startsWith(d + '/')) return true; // inside
    if (isDir && d.startsWith(p === '/' ? '/' : p + '/')) return true; // on the way
  }
  return false;
}

function metaValue(md: Metadata, key: string): unknown {
  const e = md.find(([k]) => k === key);
  return e ? e[1].value : undefined;
}

/** The status line ostree prints at the end of a pull. */
export function formatPullStatus(
  r: { metadataFetched: number; contentFetched: number; metadataImported?: number; contentImported?: number; bytesTransferred: number; elapsedMs: number; contentBytesWritten: number; localRemote?: boolean },
  formatSize: (n: number) => string,
): string {
  let s = `${r.metadataFetched} metadata, ${r.contentFetched} content objects ${r.localRemote ? 'imported' : 'fetched'}`;
  if (!r.localRemote && (r.metadataImported || r.contentImported)) s += ` (${r.metadataImported ?? 0} meta, ${r.contentImported ?? 0} content local)`;
  if (r.bytesTransferred > 0) {
    const xfer = r.bytesTransferred < 1024 ? `${r.bytesTransferred} B` : `${Math.floor(r.bytesTransferred / 1024)} KiB`;
    s += `; ${xfer} transferred in ${Math.floor(r.elapsedMs / 1000)} seconds`;
  }
  return `${s}; ${formatSize(r.contentBytesWritten)} content written`;
}

/**
 * ed25519 commit verification with ostree's pull wording: "Can't verify
 * commit without detached metadata", "Can't verify commit: No signatures
 * found", "Can't verify commit: <why>".
 */
async function verifyCommitSign(repo: Repo, remote: string, checksum: string, bytes: Buffer, detached: Metadata | null): Promise<void> {
  const { remoteEd25519Keys, signaturesOf, verifySignatures } = await import('../sign/ed25519');
  const data = { commit: checksum, remote };
  if (!detached) throw new OstreeError('OSTREE_SIGN_VERIFY_FAILED', "Can't verify commit without detached metadata", { data: { ...data, reason: 'no-signature' } });
  const sigs = signaturesOf(detached);
  if (sigs.length === 0) throw new OstreeError('OSTREE_SIGN_VERIFY_FAILED', "Can't verify commit: No signatures found", { data: { ...data, reason: 'no-signature' } });
  const { trusted, revoked } = await remoteEd25519Keys(repo, remote);
  try {
    verifySignatures(bytes, sigs, trusted, revoked);
  } catch (e) {
    if (!(e instanceof OstreeError)) throw e;
    throw new OstreeError('OSTREE_SIGN_VERIFY_FAILED', `Can't verify commit: ${e.message}`, { cause: e, data: { ...e.data, ...data } });
  }
}

/** summary.sig's ed25519 signatures over the summary bytes (ostree's message, unprefixed). */
async function verifySummarySign(repo: Repo, remote: string, summary: Buffer, sig: Buffer): Promise<void> {
  const { remoteEd25519Keys, signaturesOf, verifySignatures } = await import('../sign/ed25519');
  let md: Metadata;
  try {
    md = deserialize<Metadata>('a{sv}', sig);
  } catch (e) {
    throw new OstreeError('OSTREE_SIGN_VERIFY_FAILED', `Invalid summary.sig: ${(e as Error).message}`, { cause: e, data: { remote } });
  }
  const sigs = signaturesOf(md);
  if (sigs.length === 0) throw new OstreeError('OSTREE_SIGN_VERIFY_FAILED', 'No signatures found', { data: { remote, summary: true, reason: 'no-signature' } });
  const { trusted, revoked } = await remoteEd25519Keys(repo, remote);
  try {
    verifySignatures(summary, sigs, trusted, revoked);
  } catch (e) {
    if (e instanceof OstreeError) e.data.summary = true;
    throw e;
  }
}

/**
 * Large objects are downloaded to REPO/tmp/.pull-PID-… and removed when a
 * pull fails; a pull that was killed leaves them behind. Remove those of
 * processes that no longer exist, once untouched for a minute.
 */
async function removeStaleDownloads(repo: Repo): Promise<void> {
  const tmp = path.join(repo.path, 'tmp');
  let names: string[];
  try {
    names = await fsp.readdir(tmp);
  } catch {
    return;
  }
  const alive = (pid: number) => {
    try {
      process.kill(pid, 0);
      return true;
    } catch (err) {
      return isErrno(err, 'EPERM');
    }
  };
  for (const n of names) {
    const m = /^\.pull(?:-local)?-(\d+)-/.exec(n);
    if (!m || Number(m[1]) === process.pid || alive(Number(m[1]))) continue;
    const st = await fsp.lstat(path.join(tmp, n)).catch(() => null);
    if (st && st.isFile() && Date.now() - st.mtimeMs > 60_000) await fsp.rm(path.join(tmp, n), { force: true });
  }
}

/** Open the source for a remote URL. */
async function openSource(remote: Remote, url: string, opts: PullOptions, signal: AbortSignal, onBytes: () => void): Promise<PullSource> {
  if (url.startsWith('file:')) {
    try {
      return await LocalSource.open(url);
    } catch (err) {
      throw withContext(`opening remote ${remote.name}`, err);
    }
  }
  const fo = fetcherOptionsFromRemote(remote.options, url);
  return new HttpSource({
    ...fo,
    headers: opts.httpHeaders,
    retries: opts.networkRetries,
    maxConcurrency: opts.maxConcurrency,
    lowSpeedLimit: opts.lowSpeedLimit,
    lowSpeedTime: opts.lowSpeedTime,
    backoffMs: opts.retryBackoffMs,
    maxBackoffMs: opts.maxRetryBackoffMs,
    signal,
    onBytes,
  });
}

export async function pull(repo: Repo, opts: PullOptions): Promise<PullResult> {
  const started = Date.now();
  if (opts.depth !== undefined && (!Number.isInteger(opts.depth) || opts.depth < -1)) throw new RangeError(`Invalid depth ${opts.depth}`);
  throwAborted(opts.signal);
  const remote = await getRemote(repo, opts.remote);
  const unconfigured = remote.options['unconfigured-state'];
  if (unconfigured !== undefined) throw new OstreeError('OSTREE_CONFIG', unconfigured);
  const url = (opts.url ?? remote.url).trim();
  const gpgVerify = opts.gpgVerify ?? remoteBool(remote, 'gpg-verify', true);
  const gpgVerifySummary = opts.gpgVerifySummary ?? remoteBool(remote, 'gpg-verify-summary', false);
  const signTypes = (key: string): string[] => {
    const v = remote.options[key]?.trim();
    if (!v || v === 'false' || v === '0') return [];
    if (v === 'true' || v === '1') return ['ed25519'];
    return remoteList(remote, key) ?? [];
  };
  const signVerify = signTypes('sign-verify');
  const signVerifySummary = signTypes('sign-verify-summary');
  for (const t of [...signVerify, ...signVerifySummary]) {
    if (t !== 'ed25519') throw new OstreeError('OSTREE_INVALID_ARGUMENT', `Requested signature type is not implemented: ${t}`);
  }
  const subpaths = splitSubpaths(opts.subpath);
  const localcache = await Promise.all((Array.isArray(opts.localcacheRepo) ? opts.localcacheRepo : opts.localcacheRepo ? [opts.localcacheRepo] : []).map((p) => Repo.open(p)));

  // Everything in flight stops on the first error or on the caller's signal.
  const ctl = new AbortController();
  const onOuterAbort = () => ctl.abort(opts.signal?.reason);
  opts.signal?.addEventListener('abort', onOuterAbort, { once: true });
  const signal = ctl.signal;
  setMaxListeners(0, signal);

  // ------------------------------------------------------------ progress
  const st = {
    metadataFetched: 0,
    metadataRequested: 0,
    contentFetched: 0,
    contentRequested: 0,
    metadataImported: 0,
    contentImported: 0,
    scanned: 0,
    outstanding: 0,
    outstandingMeta: 0,
    contentBytesWritten: 0,
  };
  let phase: PullPhase = 'metadata';
  let source: PullSource | null = null;
  // ostree counts the bytes of the object phase only (its fetcher is recreated after summary and config).
  let byteBase: number | null = null;
  const objectBytes = () => (source && source.kind === 'http' && byteBase !== null ? source.bytesTransferred - byteBase : 0);
  let lastEmit = 0;
  const snapshot = (): PullProgress => {
    const elapsedMs = Date.now() - started;
    const bytes = objectBytes();
    return {
      phase,
      metadataFetched: st.metadataFetched,
      metadataRequested: st.metadataRequested,
      contentFetched: st.contentFetched,
      contentRequested: st.contentRequested,
      metadataImported: st.metadataImported,
      contentImported: st.contentImported,
      objectsFetched: st.metadataFetched + st.contentFetched,
      objectsRequested: st.metadataRequested + st.contentRequested,
      scanned: st.scanned,
      bytesTransferred: bytes,
      bytesPerSecond: elapsedMs > 0 ? Math.round((bytes * 1000) / elapsedMs) : 0,
      outstanding: st.outstanding,
      elapsedMs,
    };
  };
  const emit = (force = false) => {
    if (!opts.onProgress) return;
    const now = Date.now();
    if (!force && opts.updateFrequency && now - lastEmit < opts.updateFrequency) return;
    lastEmit = now;
    phase = phase === 'writing' || phase === 'done' ? phase : st.outstandingMeta > 0 || st.contentRequested === 0 ? 'metadata' : 'content';
    opts.onProgress(snapshot());
  };

  try {
    source = await openSource(remote, url, opts, signal, () => emit());
    return await pullFrom(source);
  } finally {
    opts.signal?.removeEventListener('abort', onOuterAbort);
    source?.close();
  }

  /**
   * summary.sig then summary (FORMATS.md §7.2): for HTTP remotes through the
   * cache in tmp/cache/summaries with conditional requests; verified when
   * gpg-verify-summary / sign-verify-summary ask for it (a cached summary
   * that fails is downloaded again without validators and re-verified);
   * freshly downloaded summary + signature pairs are cached.
   */
  async function loadSummary(src: PullSource): Promise<{ summaryBytes: Buffer | null; summarySig: Buffer | null; fromCache: boolean }> {
    const cache = src instanceof HttpSource ? new SummaryCache(repo, remote.name, opts.cacheDir) : null;
    let sig: Buffer | null;
    let summary: Buffer | null = null;
    let fromCache = false;
    let sigFresh = false;
    let summaryFresh = false;
    let sigV: CacheValidators = { lastModified: 0 };
    let sumV: CacheValidators = { lastModified: 0 };
    const fetchSummary = async (useValidators: boolean): Promise<Buffer | null> => {
      if (!(src instanceof HttpSource) || !cache) return src.fetchFile('summary');
      const r = await src.fetchFileConditional('summary', useValidators ? await cache.validators(false) : { lastModified: 0 });
      if (r.notModified) return cache.load(false);
      summaryFresh = true;
      sumV = { etag: r.etag, lastModified: r.lastModified };
      return r.body;
    };
    if (src instanceof HttpSource && cache) {
      const r = await src.fetchFileConditional('summary.sig', await cache.validators(true));
      if (r.notModified) {
        sig = await cache.load(true);
        summary = await cache.load(false);
      } else {
        sig = r.body;
        sigFresh = sig !== null;
        sigV = { etag: r.etag, lastModified: r.lastModified };
        if (sig) {
          // The same signature as cached: the cached summary is the signed one.
          const old = await cache.load(true);
          if (old && old.equals(sig)) {
            summary = await cache.load(false);
            if (!summary) await cache.dropSig();
          }
        }
      }
      fromCache = summary !== null;
    } else {
      sig = await src.fetchFile('summary.sig');
    }
    if (!summary) summary = await fetchSummary(true);

    if (gpgVerifySummary) {
      if (!summary) throw new OstreeError('OSTREE_GPG_VERIFY_FAILED', 'GPG verification enabled, but no summary found (use gpg-verify-summary=false in remote config to disable)', { data: { remote: remote.name, summary: true, reason: 'no-summary' } });
    }
    if (!summary && opts.mirror && !opts.refs?.length) {
      throw new OstreeError('OSTREE_INVALID_ARGUMENT', 'Fetching all refs was requested in mirror mode, but remote repository does not have a summary');
    }
    const verifyWith = async (kind: 'gpg' | 'sign', verify: (sum: Buffer, sg: Buffer) => Promise<unknown>) => {
      if (!sig) {
        if (kind === 'gpg') throw new OstreeError('OSTREE_GPG_VERIFY_FAILED', 'GPG verification enabled, but no summary.sig found (use gpg-verify-summary=false in remote config to disable)', { data: { remote: remote.name, summary: true, reason: 'no-signature' } });
        throw new OstreeError('OSTREE_SIGN_VERIFY_FAILED', 'Signatures verification enabled, but no summary.sig found (use sign-verify-summary=false in remote config to disable)', { data: { remote: remote.name, summary: true, reason: 'no-signature' } });
      }
      if (!summary) return;
      try {
        await verify(summary, sig);
      } catch (err) {
        if (!fromCache) throw err;
        // A stale cached summary: download it again, unconditionally.
        fromCache = false;
        summary = await fetchSummary(false);
        if (!summary) throw err;
        await verify(summary, sig);
      }
    };
    if (gpgVerifySummary) {
      const { verifySummaryGpg } = await import('../gpg/verify');
      await verifyWith('gpg', (a, b) => verifySummaryGpg(repo, remote.name, a, b));
    }
    if (signVerifySummary.length) await verifyWith('sign', (a, b) => verifySummarySign(repo, remote.name, a, b));
    if (summary) {
      try {
        assertNormalForm(SUMMARY_TYPE, summary, 'summary');
      } catch (err) {
        throw new OstreeError('OSTREE_CORRUPT_OBJECT', `Invalid summary from remote ${remote.name}: ${(err as Error).message}`, { cause: err, data: { remote: remote.name } });
      }
    }
    if (cache && !fromCache && summary && sig && (summaryFresh || sigFresh)) {
      if (summaryFresh) await cache.save(false, summary, sumV);
      if (sigFresh) await cache.save(true, sig, sigV);
    }
    return { summaryBytes: summary, summarySig: sig, fromCache };
  }

  async function pullFrom(src: PullSource): Promise<PullResult> {
    // The remote's config is needed in any case: asked for while the summary is fetched.
    const configP = src.remoteConfig();
    configP.catch(() => {}); // awaited below, unless the summary fails first
    // ---------------------------------------------------------- summary
    const { summaryBytes, summarySig, fromCache } = await loadSummary(src);
    let summary: Summary | null = null;
    if (summaryBytes) summary = parseSummary(summaryBytes);

    // ---------------------------------------------------------- remote config
    const rcfg = await configP;
    if (src.kind === 'http' && rcfg.mode !== 'archive-z2' && rcfg.mode !== 'archive') {
      throw new OstreeError('OSTREE_UNSUPPORTED_MODE', `Can't pull from archives with mode "${rcfg.mode}"`);
    }
    let tombstones = rcfg.tombstoneCommits;
    if (summary) {
      const t = metaValue(summary.metadata, 'ostree.summary.tombstone-commits');
      if (typeof t === 'boolean') tombstones = tombstones || t;
    }

    // ---------------------------------------------------------- refs
    let names = opts.refs ?? [];
    const allRefs = names.length === 0 && !!opts.mirror;
    if (names.length === 0) {
      if (opts.mirror) {
        if (!summary) throw new OstreeError('OSTREE_INVALID_ARGUMENT', 'Fetching all refs was requested in mirror mode, but remote repository does not have a summary');
        names = summary.refs.map((r) => r.name);
      } else {
        names = remoteList(remote, 'branches') ?? [];
        if (names.length === 0) throw new OstreeError('OSTREE_INVALID_ARGUMENT', `No configured branches for remote ${remote.name}`);
      }
    }
    const targets: Target[] = [];
    for (const name of names) {
      if (isValidChecksum(name)) {
        targets.push({ ref: null, checksum: name });
        continue;
      }
      validateRef(name);
      if (summary) {
        const e = summary.refs.find((r) => r.name === name);
        if (!e) throw new OstreeError('OSTREE_REF_NOT_FOUND', `No such branch '${name}' in repository summary`, { data: { ref: name } });
        targets.push({ ref: name, checksum: e.checksum, size: Number(e.size) || undefined });
      } else {
        const c = await src.fetchRef(name);
        if (!isValidChecksum(c)) throw new OstreeError('OSTREE_INVALID_CHECKSUM', `Invalid checksum for ref ${name}: ${c}`);
        targets.push({ ref: name, checksum: c });
      }
    }
    const refSpec = (ref: string) => (opts.mirror ? ref : `${remote.name}:${ref}`);

    const result: PullResult = {
      refs: {},
      commits: [],
      metadataFetched: 0,
      contentFetched: 0,
      metadataImported: 0,
      contentImported: 0,
      bytesTransferred: 0,
      contentBytesWritten: 0,
      requests: 0,
      elapsedMs: 0,
      status: '',
      summaryFromCache: fromCache,
    };
    const finishResult = () => {
      result.metadataFetched = st.metadataFetched;
      result.contentFetched = st.contentFetched;
      result.metadataImported = st.metadataImported;
      result.contentImported = st.contentImported;
      result.bytesTransferred = objectBytes();
      result.contentBytesWritten = st.contentBytesWritten;
      result.requests = src.requests;
      result.elapsedMs = Date.now() - started;
      result.status = formatPullStatus({ ...result, localRemote: src.kind === 'local' }, formatSize);
      return result;
    };
    byteBase = src.bytesTransferred;
    if (opts.dryRun) {
      for (const t of targets) if (t.ref) result.refs[refSpec(t.ref)] = t.checksum;
      result.commits = targets.map((t) => t.checksum);
      phase = 'done';
      emit(true);
      return finishResult();
    }

    // ---------------------------------------------------------- objects
    const completed: string[] = [];
    await removeStaleDownloads(repo);
    await withPullTransaction(repo, { disableFsync: opts.disableFsync, signal }, async (tx) => {
      await pullObjects(src, tx, targets, tombstones, result, completed);
      phase = 'writing';
      emit(true);
      for (const t of targets) {
        if (!t.ref) continue;
        const spec = refSpec(t.ref);
        result.refs[spec] = t.checksum;
        const cur = await resolveRev(repo, spec, { allowNoent: true }).catch(() => null);
        if (cur !== t.checksum) tx.setRef(spec, t.checksum);
      }
      if (allRefs && summaryBytes) {
        await writeFileAtomic(path.join(repo.path, 'summary'), summaryBytes);
        if (summarySig) await writeFileAtomic(path.join(repo.path, 'summary.sig'), summarySig);
      }
      throwAborted(signal);
    });
    if (!opts.commitMetadataOnly && subpaths.length === 0) for (const c of completed) await clearCommitPartial(repo, c);
    phase = 'done';
    emit(true);
    finishResult();
    return result;
  }

  async function pullObjects(src: PullSource, tx: Transaction, targets: Target[], tombstones: boolean, result: PullResult, completed: string[]): Promise<void> {
    // Background work: the first failure cancels the rest.
    const tasks = new Set<Promise<void>>();
    let failure: unknown = null;
    const spawn = (fn: () => Promise<void>) => {
      const p: Promise<void> = fn()
        .catch((err) => {
          if (failure === null) {
            failure = err;
            ctl.abort(err);
          }
        })
        .finally(() => tasks.delete(p));
      tasks.add(p);
    };
    const drain = async () => {
      while (tasks.size) await Promise.all([...tasks]);
    };

    /**
     * Existence checks for the many objects a walk visits: each objects/XX
     * directory of the destination is listed once (instead of one lstat per
     * object); a name missing from the listing falls back to core.parent.
     * Objects linked after a listing was read may be reported missing: they
     * are then fetched again and linking them finds them present.
     */
    const listings = new Map<string, Promise<Set<string>>>();
    /** The listings read so far, for checks without a task (most objects of an incremental pull are present). */
    const listed = new Map<string, Set<string>>();
    const presentNow = (type: ObjectType, checksum: string): boolean => {
      const names = listed.get(checksum.slice(0, 2));
      return names !== undefined && names.has(Repo.relObjectPath(checksum, type, repo.mode).slice(11));
    };
    const haveObject = async (type: ObjectType, checksum: string): Promise<boolean> => {
      const rel = Repo.relObjectPath(checksum, type, repo.mode); // objects/XX/REST.EXT
      const prefix = checksum.slice(0, 2);
      let names = listings.get(prefix);
      if (!names) {
        names = fsp.readdir(path.join(repo.path, 'objects', prefix)).then(
          (l) => {
            const set = new Set(l);
            listed.set(prefix, set);
            return set;
          },
          (err) => {
            if (isErrno(err, 'ENOENT')) return new Set<string>();
            throw err;
          },
        );
        listings.set(prefix, names);
      }
      if ((await names).has(rel.slice(11))) return true;
      return repo.parent ? repo.parent.hasObject(type, checksum) : false;
    };

    /**
     * Verified small content objects waiting to be written together (one
     * native call per batch instead of per object): a batch goes when it is
     * full, FLUSH_MS after its first object, and at the end of the walk —
     * also after a failure or cancellation, so that the next pull need not
     * fetch them again.
     */
    let pending: Array<{ checksum: string; header: FileHeader; payload: Buffer }> = [];
    let pendingRaw: Array<[string, Buffer]> = [];
    let pendingMeta: Array<{ type: ObjectType; data: Buffer; checksum: string }> = [];
    let pendingBytes = 0;
    let flushTimer: NodeJS.Timeout | null = null;
    const userOnlyModes = !!opts.bareuseronlyFiles || repo.mode === 'bare-user-only';
    const flushContent = () => {
      if (flushTimer) clearTimeout(flushTimer);
      flushTimer = null;
      if (pending.length) {
        const batch = pending;
        pending = [];
        spawn(async () => {
          st.outstanding += batch.length;
          try {
            await tx.writeContent(batch, { reserved: true, evenIfAborted: true });
          } finally {
            st.outstanding -= batch.length;
            for (const b of batch) held -= b.payload.length;
            pumpContent();
            emit();
          }
        });
      }
      if (pendingMeta.length) {
        const batch = pendingMeta;
        pendingMeta = [];
        spawn(async () => {
          await tx.writeMetadataBatch(batch);
        });
      }
      if (pendingRaw.length) {
        const batch = pendingRaw;
        pendingRaw = [];
        spawn(async () => {
          st.outstanding += batch.length;
          try {
            const res = await tx.writeContentFromFilezBatch(batch, { userOnlyModes, evenIfAborted: true });
            let bad: OstreeError | null = null;
            res.forEach((r, i) => {
              const checksum = batch[i][0];
              if (r.status === 'written' || r.status === 'existed') {
                st.contentBytesWritten += r.size;
              } else if (bad === null) {
                try {
                  if (r.status === 'rejected') {
                    checkContentMode(repo, checksum, r.mode, opts.bareuseronlyFiles);
                    throw new OstreeError('OSTREE_INVALID_ARGUMENT', `Content object ${checksum}: invalid mode 0${r.mode.toString(8)}`, { data: { checksum, mode: r.mode } });
                  }
                  if (r.message === 'checksum mismatch') {
                    throw new OstreeError('OSTREE_CORRUPT_OBJECT', `Corrupted file object; checksum expected='${checksum}' actual='${r.checksum}'`, { data: { checksum } });
                  }
                  throw new OstreeError('OSTREE_CORRUPT_OBJECT', `Corrupted file object ${checksum}: ${r.message}`, { data: { checksum } });
                } catch (err) {
                  bad = err as OstreeError;
                }
              }
            });
            if (bad) throw bad;
          } finally {
            st.outstanding -= batch.length;
            for (const b of batch) held -= b[1].length;
            pumpContent();
            emit();
          }
        });
      }
      pendingBytes = 0;
    };
    /**
     * Memory bound: the walk only queues content checksums; at most
     * FETCH_AHEAD of them are being checked/downloaded/handed over at a time,
     * and none start while the downloaded bodies waiting to be written hold
     * HELD_MAX bytes or more (a write batch finishing starts more).
     */
    let held = 0;
    let workers = 0;
    let contentQ: string[] = [];
    let contentQHead = 0;
    const pumpContent = () => {
      if (signal.aborted) {
        contentQ = [];
        contentQHead = 0;
        return;
      }
      while (contentQHead < contentQ.length && workers < FETCH_AHEAD && held < HELD_MAX) {
        const checksum = contentQ[contentQHead++];
        workers++;
        spawn(async () => {
          try {
            await fetchContent(checksum);
          } finally {
            workers--;
            pumpContent();
          }
        });
      }
      if (contentQHead === contentQ.length && contentQHead > 0) {
        contentQ = [];
        contentQHead = 0;
      }
    };

    const scheduleFlush = () => {
      if (pending.length + pendingRaw.length + pendingMeta.length >= CONTENT_BATCH || pendingBytes >= CONTENT_BATCH_BYTES) flushContent();
      else flushTimer ??= setTimeout(flushContent, FLUSH_MS);
    };
    const queueWrite = (checksum: string, header: FileHeader, payload: Buffer) => {
      held += payload.length;
      pending.push({ checksum, header, payload });
      pendingBytes += payload.length;
      scheduleFlush();
    };
    /** A verified dirtree/dirmeta, written (natively, in a batch) with the next flush. */
    const queueMeta = (type: ObjectType, data: Buffer, checksum: string) => {
      pendingMeta.push({ type, data, checksum });
      pendingBytes += data.length;
      scheduleFlush();
    };
    /** A downloaded .filez, verified and stored natively when its batch goes. */
    const queueRaw = (checksum: string, data: Buffer, announced: number) => {
      held += data.length;
      pendingRaw.push([checksum, data]);
      pendingBytes += announced;
      scheduleFlush();
    };

    const seenCommits = new Set<string>();
    const seenMeta = new Set<string>();
    const seenContent = new Set<string>();

    /** A metadata object from the first --localcache-repo that has it. */
    const fromLocalCache = async (type: ObjectType, checksum: string): Promise<{ bytes: Buffer; cache: Repo } | null> => {
      for (const c of localcache) {
        const b = await c.loadMetadata(type, checksum, { allowNoent: true });
        if (b) return { bytes: b, cache: c };
      }
      return null;
    };

    /** Download a metadata object (a 404 of an optional one still counts as fetched, as in ostree). */
    const fetchMetadata = async (type: ObjectType, checksum: string, o: { optional?: boolean; maxSize?: number } = {}): Promise<Buffer | null> => {
      st.metadataRequested++;
      st.outstanding++;
      st.outstandingMeta++;
      emit();
      try {
        const b = await src.fetchMetadata(type, checksum, o);
        if (b || src.kind === 'http') st.metadataFetched++;
        return b;
      } finally {
        st.outstanding--;
        st.outstandingMeta--;
        emit();
      }
    };

    /** Local cache repos first, then the source. */
    const getMetadata = async (type: ObjectType, checksum: string, o: { optional?: boolean; maxSize?: number } = {}): Promise<Buffer | null> => {
      const cached = await fromLocalCache(type, checksum);
      if (cached) {
        st.metadataImported++;
        return cached.bytes;
      }
      return fetchMetadata(type, checksum, o);
    };

    const checkMeta = (bytes: Buffer, checksum: string, what: string) => {
      const actual = sha256Hex(bytes);
      if (actual !== checksum) {
        throw new OstreeError('OSTREE_CORRUPT_OBJECT', `Corrupted ${what} object; checksum expected='${checksum}' actual='${actual}'`, { data: { checksum, type: what } });
      }
    };

    /**
     * Downloaded dirtrees are checked, parsed and their objects looked up in
     * native batches: the dirtrees that arrive within one turn of the event
     * loop go together.
     */
    let scanQ: Array<{ checksum: string; bytes: Buffer; done: (r: PullScanResult) => void; fail: (e: unknown) => void }> = [];
    const chain = repoChain(repo);
    const chainPaths = chain.map((r) => r.path);
    const chainModes = chain.map((r) => r.mode);
    const runScans = () => {
      const batch = scanQ;
      scanQ = [];
      native()
        .pull_scan_dirtrees(chainPaths, chainModes, batch.map((b) => [b.checksum, b.bytes] as [string, Buffer]))
        .then(
          (res) => batch.forEach((b, i) => b.done(res[i])),
          (err) => batch.forEach((b) => b.fail(err)),
        );
    };
    const scanNative = (checksum: string, bytes: Buffer) =>
      new Promise<PullScanResult>((done, fail) => {
        if (scanQ.push({ checksum, bytes, done, fail }) === 1) setImmediate(runScans);
      });

    const scanDirMeta = async (checksum: string, knownMissing = false) => {
      if (seenMeta.has(checksum + '.dirmeta')) return;
      seenMeta.add(checksum + '.dirmeta');
      st.scanned++;
      if (!knownMissing && (await haveObject(ObjectType.DirMeta, checksum))) return;
      throwAborted(signal);
      const bytes = (await getMetadata(ObjectType.DirMeta, checksum)) as Buffer;
      checkMeta(bytes, checksum, 'dirmeta');
      try {
        validateDirMeta(parseDirMeta(bytes));
      } catch (err) {
        throw withContext(`Invalid dirmeta ${checksum}`, err);
      }
      queueMeta(ObjectType.DirMeta, bytes, checksum);
    };

    /**
     * Walk a dirtree. As in ostree, a dirtree already in the repo stands for
     * its whole subtree and is not descended into: a pull that stops before
     * everything below a dirtree it wrote is stored leaves the commit's
     * .commitpartial marker, and the walk of a commit so marked (`full`)
     * checks every object below its root again.
     */
    const scanDirTree = async (checksum: string, dirPath: string, full: boolean, knownMissing = false) => {
      const inside = subpaths.length === 0 || subpaths.some((d) => dirPath === d || dirPath.startsWith(d + '/'));
      const key = `${checksum}.dirtree${inside ? '' : ':' + dirPath}${full ? '!' : ''}`;
      if (seenMeta.has(key)) return;
      seenMeta.add(key);
      throwAborted(signal);
      st.scanned++;
      const have = !knownMissing && (await haveObject(ObjectType.DirTree, checksum));
      if (have && !full) return;
      let bytes = have ? await repo.loadMetadata(ObjectType.DirTree, checksum, { allowNoent: true }) : null;
      const fetched = bytes === null;
      if (!bytes) {
        bytes = (await getMetadata(ObjectType.DirTree, checksum)) as Buffer;
        if (!full && subpaths.length === 0) {
          // The common case: checked, parsed and its objects looked up natively.
          const r = await scanNative(checksum, bytes);
          if (!('invalid' in r)) {
            if ('actual' in r) {
              throw new OstreeError('OSTREE_CORRUPT_OBJECT', `Corrupted dirtree object; checksum expected='${checksum}' actual='${r.actual}'`, { data: { checksum, type: 'dirtree' } });
            }
            queueMeta(ObjectType.DirTree, bytes, checksum);
            for (let o = 0; o < r.missing.length; o += 64) queueContent(r.missing.slice(o, o + 64), true);
            for (let k = 0, o = 0; k < r.present.length; k++, o += 128) {
              const sub = r.dirs.slice(o, o + 64);
              const meta = r.dirs.slice(o + 64, o + 128);
              if (!seenMeta.has(meta + '.dirmeta')) {
                if (r.present[k] & 2) {
                  seenMeta.add(meta + '.dirmeta');
                  st.scanned++;
                } else spawn(() => scanDirMeta(meta, true));
              }
              if (r.present[k] & 1) {
                if (!seenMeta.has(sub + '.dirtree')) {
                  seenMeta.add(sub + '.dirtree');
                  st.scanned++;
                }
              } else spawn(() => scanDirTree(sub, '', false, true));
            }
            return;
          }
          // Not in normal form: the generic decoder below has the last word.
        }
        checkMeta(bytes, checksum, 'dirtree');
      }
      const tree = parseDirTree(bytes);
      try {
        validateDirTree(tree);
      } catch (err) {
        throw withContext(`Invalid dirtree ${checksum}`, err);
      }
      if (fetched) queueMeta(ObjectType.DirTree, bytes, checksum);
      const prefix = dirPath === '/' ? '/' : dirPath + '/';
      for (const [name, c] of tree.files) {
        if (!inside && !matchesSubpath(subpaths, prefix + name, false)) continue;
        queueContent(c);
      }
      for (const [name, sub, meta] of tree.dirs) {
        const p = prefix + name;
        if (!inside && !matchesSubpath(subpaths, p, true)) continue;
        if (!seenMeta.has(meta + '.dirmeta') && presentNow(ObjectType.DirMeta, meta)) {
          seenMeta.add(meta + '.dirmeta');
          st.scanned++;
        } else spawn(() => scanDirMeta(meta));
        spawn(() => scanDirTree(sub, p, full));
      }
    };

    /** Content checksums a native scan found missing just now: fetched without another existence check. */
    const checkedMissing = new Set<string>();
    const queueContent = (checksum: string, knownMissing = false) => {
      if (seenContent.has(checksum)) return;
      seenContent.add(checksum);
      if (knownMissing) checkedMissing.add(checksum);
      else if (presentNow(ObjectType.File, checksum)) return;
      contentQ.push(checksum);
      pumpContent();
    };

    const fetchContent = async (checksum: string) => {
      if (!checkedMissing.delete(checksum) && (await haveObject(ObjectType.File, checksum))) return;
      throwAborted(signal);
      // A local cache repo that has it: imported (re-checksummed and written as a new copy).
      for (const c of localcache) {
        if (!(await c.hasObject(ObjectType.File, checksum))) continue;
        st.outstanding++;
        try {
          // ostree does not count imported objects in "content written".
          await importContentFromRepo(tx, repo, c, [checksum], { untrusted: true, rewrite: true, bareuseronlyFiles: opts.bareuseronlyFiles });
          st.contentImported++;
        } finally {
          st.outstanding--;
          emit();
        }
        return;
      }
      st.contentRequested++;
      st.outstanding++;
      emit();
      try {
        // Large objects come as a file in REPO/tmp (or a local payload path), small ones in memory.
        const data = await src.fetchContent(checksum, { spillDir: path.join(repo.path, 'tmp'), raw: true });
        if ('filezData' in data) {
          throwAborted(signal);
          // Verified (inflated and hashed) and stored in a native batch; charged against the free-space reserve now.
          tx.stats.contentTotal++;
          const announced = data.announced ?? 0;
          tx.reserveContent(announced);
          queueRaw(checksum, data.filezData, announced);
          st.contentFetched++;
        } else if ('filez' in data) {
          try {
            throwAborted(signal);
          } catch (err) {
            await fsp.rm(data.filez, { force: true });
            throw err;
          }
          // One native job: inflate, hash, compare, then link into objects/ (the file is consumed).
          const r = await tx.writeContentFromFilez(data.filez, checksum, (h) => checkContentMode(repo, checksum, h.mode, opts.bareuseronlyFiles));
          st.contentFetched++;
          st.contentBytesWritten += r.size;
        } else if ('path' in data) {
          throwAborted(signal);
          if (data.actual !== checksum) {
            throw new OstreeError('OSTREE_CORRUPT_OBJECT', `Corrupted file object; checksum expected='${checksum}' actual='${data.actual}'`, { data: { checksum } });
          }
          checkContentMode(repo, checksum, data.header.mode, opts.bareuseronlyFiles);
          tx.stats.contentTotal++;
          if (!(await repo.hasObject(ObjectType.File, checksum, { includeParent: false }))) {
            await tx.writeContent([{ checksum, header: data.header, path: data.path, size: data.size }]);
          }
          st.contentFetched++;
          st.contentBytesWritten += data.size;
        } else {
          throwAborted(signal);
          checkContentMode(repo, checksum, data.header.mode, opts.bareuseronlyFiles);
          // Verify the checksum of header + payload; only then queue it for objects/ (written in batches).
          const actual = contentChecksum(data.header, data.payload);
          if (actual !== checksum) {
            throw new OstreeError('OSTREE_CORRUPT_OBJECT', `Corrupted file object; checksum expected='${checksum}' actual='${actual}'`, { data: { checksum } });
          }
          tx.stats.contentTotal++;
          // Charged against core.min-free-space-* now, object by object, as when written one at a time.
          tx.reserveContent(data.payload.length);
          queueWrite(checksum, data.header, data.payload);
          st.contentFetched++;
          st.contentBytesWritten += data.payload.length;
        }
      } finally {
        st.outstanding--;
        emit();
      }
    };

    const pullCommit = async (checksum: string, ref: string | null, depthLeft: number, isRoot: boolean, size?: number) => {
      if (seenCommits.has(checksum)) return;
      seenCommits.add(checksum);
      throwAborted(signal);
      st.scanned++;
      const local = await repo.loadMetadata(ObjectType.Commit, checksum, { allowNoent: true });
      const wasPartial = local !== null && (await repo.isCommitPartial(checksum));
      let bytes = local;
      let detachedBytes: Buffer | null;
      const cached = local ? null : await fromLocalCache(ObjectType.Commit, checksum);
      if (cached) {
        // From a local cache repo, with its detached metadata (ostree imports both); still verified below.
        bytes = cached.bytes;
        detachedBytes = await cached.cache.loadMetadata(ObjectType.CommitMeta, checksum, { allowNoent: true });
        st.metadataImported++;
        checkMeta(bytes, checksum, 'commit');
      } else {
        // Detached metadata and (when missing) the commit are fetched together; the signatures are checked before the commit is written.
        const commitP = bytes ? null : fetchMetadata(ObjectType.Commit, checksum, { optional: !isRoot, maxSize: size ?? MAX_METADATA_SIZE });
        commitP?.catch(() => {}); // awaited below, unless the detached metadata fails first
        detachedBytes = await fetchMetadata(ObjectType.CommitMeta, checksum, { optional: true, maxSize: MAX_METADATA_SIZE });
        if (commitP) bytes = await commitP;
      }
      if (!bytes) {
        // History the remote no longer has (or pruned with a tombstone): not an error for --depth.
        if (tombstones) await fetchMetadata(ObjectType.TombstoneCommit, checksum, { optional: true }).catch(() => null);
        return;
      }
      if (!local && !cached) checkMeta(bytes, checksum, 'commit');
      let commit: Commit;
      let detached: Metadata | null = null;
      try {
        assertNormalForm(COMMIT_TYPE, bytes, 'commit');
        commit = parseCommit(bytes);
        if (detachedBytes) detached = deserialize<Metadata>('a{sv}', detachedBytes);
      } catch (err) {
        throw new OstreeError('OSTREE_CORRUPT_OBJECT', `Corrupted commit object ${checksum}: ${(err as Error).message}`, { cause: err, data: { checksum } });
      }
      if (!detached && local) {
        const d = await repo.loadMetadata(ObjectType.CommitMeta, checksum, { allowNoent: true });
        if (d) detached = deserialize<Metadata>('a{sv}', d);
      }
      if (gpgVerify) {
        const { verifyCommitGpg } = await import('../gpg/verify');
        const res = await verifyCommitGpg(repo, remote.name, checksum, bytes, detached);
        opts.onGpgVerifyResult?.(checksum, res);
      }
      if (signVerify.length) await verifyCommitSign(repo, remote.name, checksum, bytes, detached);
      if (ref && !opts.disableVerifyBindings) {
        const bound = metaValue(commit.metadata, 'ostree.ref-binding');
        if (Array.isArray(bound) && !bound.includes(ref)) {
          throw new OstreeError('OSTREE_INVALID_REF', `Commit ${checksum}: Ref '${ref}' is not in the list of refs bound to the commit (${bound.join(', ')})`, {
            data: { checksum, ref },
          });
        }
      }
      if (ref && opts.timestampCheck) {
        const cur = await resolveRev(repo, opts.mirror ? ref : `${remote.name}:${ref}`, { allowNoent: true }).catch(() => null);
        if (cur && cur !== checksum) {
          const old = await repo.loadMetadata(ObjectType.Commit, cur, { allowNoent: true });
          if (old && parseCommit(old).timestamp > commit.timestamp) {
            throw new OstreeError('OSTREE_INVALID_ARGUMENT', `Upgrade target revision '${checksum}' with timestamp '${commit.timestamp}' is chronologically older than current revision '${cur}' with timestamp '${parseCommit(old).timestamp}'; use --allow-downgrade to permit`, {
              data: { checksum, current: cur },
            });
          }
        }
      }
      throwAborted(signal);
      // Verified: now it may be written.
      if (!local) {
        await markCommitPartial(repo, checksum);
        await tx.writeMetadata(ObjectType.Commit, bytes, checksum);
      }
      if (detachedBytes) await tx.writeCommitMeta(checksum, detachedBytes);
      result.commits.push(checksum);
      if (!opts.commitMetadataOnly) {
        if (!local || wasPartial) {
          spawn(() => scanDirMeta(commit.rootMeta));
          spawn(() => scanDirTree(commit.rootTree, '/', wasPartial));
          completed.push(checksum);
        }
      }
      if (depthLeft !== 0 && commit.parent) await pullCommit(commit.parent, null, depthLeft > 0 ? depthLeft - 1 : -1, false);
    };

    try {
      for (const t of targets) spawn(() => pullCommit(t.checksum, t.ref, opts.depth ?? 0, true, t.size));
      await drain();
    } finally {
      // On failure wait for what was already in flight to settle; then the last batch (before any ref moves).
      await drain();
      flushContent();
      await drain();
    }
    if (failure !== null) throw failure;
    throwAborted(opts.signal);
  }
}
