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
import { setMaxListeners } from 'node:events';
import { OstreeError, throwAborted, withContext } from '../errors';
import { Repo, writeFileAtomic } from '../repo/repo';
import { Transaction } from '../repo/transaction';
import { resolveRev, validateRef } from '../refs/refs';
import { deserialize } from '../gvariant/codec';
import {
  ObjectType,
  Commit,
  Metadata,
  isValidChecksum,
  isReg,
  S_IFMT,
  parseCommit,
  parseDirTree,
  parseDirMeta,
  validateDirTree,
  validateDirMeta,
  validateFileMode,
  sha256Hex,
  assertNormalForm,
  COMMIT_TYPE,
} from '../objects/formats';
import { formatSize } from '../cli/console';
import { markCommitPartial, clearCommitPartial } from '../fsck';
import { getRemote, remoteBool, remoteList, Remote } from '../remotes/remotes';
import { parseSummary, Summary } from '../summary';
import { verifyCommitGpg, verifySummaryGpg } from '../gpg/verify';
import { verifyCommitEd25519 } from '../sign/ed25519';
import { fetcherOptionsFromRemote } from './fetcher';
import { HttpSource, LocalSource, PullSource, ContentData } from './source';

/** ostree's max-metadata-size default. */
const MAX_METADATA_SIZE = 128 * 1024 * 1024;

export type PullPhase = 'metadata' | 'content' | 'writing' | 'done';

export interface PullProgress {
  phase: PullPhase;
  /** Metadata objects (commits, commitmeta, dirtrees, dirmetas) downloaded / asked for. */
  metadataFetched: number;
  metadataRequested: number;
  /** Content objects downloaded (or imported from a local cache) / asked for. */
  contentFetched: number;
  contentRequested: number;
  /** metadata + content. */
  objectsFetched: number;
  objectsRequested: number;
  /** Metadata objects scanned (present ones included). */
  scanned: number;
  /** Body bytes received. */
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
}

export interface PullResult {
  /** Refs written or confirmed: refspec -> commit. */
  refs: Record<string, string>;
  /** Commits visited, roots first. */
  commits: string[];
  metadataFetched: number;
  contentFetched: number;
  bytesTransferred: number;
  /** Payload bytes of content objects written. */
  contentBytesWritten: number;
  /** HTTP requests made (retries included). */
  requests: number;
  elapsedMs: number;
  /** ostree's closing line ("N metadata, M content objects fetched; …"). */
  status: string;
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
export function formatPullStatus(r: { metadataFetched: number; contentFetched: number; bytesTransferred: number; elapsedMs: number; contentBytesWritten: number }, formatSize: (n: number) => string): string {
  const xfer = r.bytesTransferred < 1024 ? `${r.bytesTransferred} B` : `${Math.floor(r.bytesTransferred / 1024)} KiB`;
  return `${r.metadataFetched} metadata, ${r.contentFetched} content objects fetched; ${xfer} transferred in ${Math.floor(r.elapsedMs / 1000)} seconds; ${formatSize(r.contentBytesWritten)} content written`;
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
  const st = { metadataFetched: 0, metadataRequested: 0, contentFetched: 0, contentRequested: 0, scanned: 0, outstanding: 0, outstandingMeta: 0, contentBytesWritten: 0 };
  let phase: PullPhase = 'metadata';
  let source: PullSource | null = null;
  let lastEmit = 0;
  const snapshot = (): PullProgress => {
    const elapsedMs = Date.now() - started;
    const bytes = source?.bytesTransferred ?? 0;
    return {
      phase,
      metadataFetched: st.metadataFetched,
      metadataRequested: st.metadataRequested,
      contentFetched: st.contentFetched,
      contentRequested: st.contentRequested,
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

  async function pullFrom(src: PullSource): Promise<PullResult> {
    // ---------------------------------------------------------- summary
    const summarySig = await src.fetchFile('summary.sig');
    const summaryBytes = await src.fetchFile('summary');
    let summary: Summary | null = null;
    if (gpgVerifySummary || signVerifySummary.length) {
      if (!summaryBytes) throw new OstreeError('OSTREE_GPG_VERIFY_FAILED', 'GPG verification enabled, but no summary found (check that the configured URL in remote config is correct)');
      if (!summarySig) {
        const code = gpgVerifySummary ? 'OSTREE_GPG_VERIFY_FAILED' : 'OSTREE_SIGN_VERIFY_FAILED';
        throw new OstreeError(code, 'GPG verification enabled, but no summary signatures found (use gpg-verify-summary=false in remote config to disable)');
      }
      if (gpgVerifySummary) await verifySummaryGpg(repo, remote.name, summaryBytes, summarySig);
      if (signVerifySummary.length) await verifyCommitEd25519(repo, remote.name, summaryBytes, deserialize<Metadata>('a{sv}', summarySig));
    }
    if (summaryBytes) summary = parseSummary(summaryBytes);

    // ---------------------------------------------------------- remote config
    const rcfg = await src.remoteConfig();
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

    const result: PullResult = { refs: {}, commits: [], metadataFetched: 0, contentFetched: 0, bytesTransferred: 0, contentBytesWritten: 0, requests: 0, elapsedMs: 0, status: '' };
    const finishResult = () => {
      result.metadataFetched = st.metadataFetched;
      result.contentFetched = st.contentFetched;
      result.bytesTransferred = src.bytesTransferred;
      result.contentBytesWritten = st.contentBytesWritten;
      result.requests = src.requests;
      result.elapsedMs = Date.now() - started;
      result.status = formatPullStatus(result, formatSize);
      return result;
    };
    if (opts.dryRun) {
      for (const t of targets) if (t.ref) result.refs[refSpec(t.ref)] = t.checksum;
      result.commits = targets.map((t) => t.checksum);
      phase = 'done';
      emit(true);
      return finishResult();
    }

    // ---------------------------------------------------------- objects
    const savedFsync = repo.config.get('core', 'fsync');
    if (opts.disableFsync) repo.config.set('core', 'fsync', 'false');
    const completed: string[] = [];
    try {
      const tx = await Transaction.begin(repo, { signal });
      try {
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
        await tx.commit();
      } catch (err) {
        await tx.abort();
        throw err;
      }
    } finally {
      if (opts.disableFsync) {
        if (savedFsync === undefined) repo.config.remove('core', 'fsync');
        else repo.config.set('core', 'fsync', savedFsync);
      }
    }
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

    const seenCommits = new Set<string>();
    const seenMeta = new Set<string>();
    const seenContent = new Set<string>();

    /** Local cache repos first, then the source. */
    const getMetadata = async (type: ObjectType, checksum: string, o: { optional?: boolean; maxSize?: number } = {}): Promise<Buffer | null> => {
      for (const c of localcache) {
        const b = await c.loadMetadata(type, checksum, { allowNoent: true });
        if (b) return b;
      }
      st.metadataRequested++;
      st.outstanding++;
      st.outstandingMeta++;
      emit();
      try {
        const b = await src.fetchMetadata(type, checksum, o);
        if (b) st.metadataFetched++;
        return b;
      } finally {
        st.outstanding--;
        st.outstandingMeta--;
        emit();
      }
    };

    const checkMeta = (bytes: Buffer, checksum: string, what: string) => {
      const actual = sha256Hex(bytes);
      if (actual !== checksum) {
        throw new OstreeError('OSTREE_CORRUPT_OBJECT', `Corrupted ${what} object; checksum expected='${checksum}' actual='${actual}'`, { data: { checksum, type: what } });
      }
    };

    const scanDirMeta = async (checksum: string) => {
      if (seenMeta.has(checksum + '.dirmeta')) return;
      seenMeta.add(checksum + '.dirmeta');
      st.scanned++;
      if (await repo.hasObject(ObjectType.DirMeta, checksum)) return;
      throwAborted(signal);
      const bytes = (await getMetadata(ObjectType.DirMeta, checksum)) as Buffer;
      checkMeta(bytes, checksum, 'dirmeta');
      try {
        validateDirMeta(parseDirMeta(bytes));
      } catch (err) {
        throw withContext(`Invalid dirmeta ${checksum}`, err);
      }
      await tx.writeMetadata(ObjectType.DirMeta, bytes, checksum);
    };

    const scanDirTree = async (checksum: string, dirPath: string) => {
      const inside = subpaths.length === 0 || subpaths.some((d) => dirPath === d || dirPath.startsWith(d + '/'));
      const key = `${checksum}.dirtree${inside ? '' : ':' + dirPath}`;
      if (seenMeta.has(key)) return;
      seenMeta.add(key);
      throwAborted(signal);
      st.scanned++;
      let bytes = await repo.loadMetadata(ObjectType.DirTree, checksum, { allowNoent: true });
      const have = bytes !== null;
      if (!bytes) {
        bytes = (await getMetadata(ObjectType.DirTree, checksum)) as Buffer;
        checkMeta(bytes, checksum, 'dirtree');
      }
      const tree = parseDirTree(bytes);
      try {
        validateDirTree(tree);
      } catch (err) {
        throw withContext(`Invalid dirtree ${checksum}`, err);
      }
      if (!have) await tx.writeMetadata(ObjectType.DirTree, bytes, checksum);
      const prefix = dirPath === '/' ? '/' : dirPath + '/';
      for (const [name, c] of tree.files) {
        if (!inside && !matchesSubpath(subpaths, prefix + name, false)) continue;
        queueContent(c);
      }
      for (const [name, sub, meta] of tree.dirs) {
        const p = prefix + name;
        if (!inside && !matchesSubpath(subpaths, p, true)) continue;
        spawn(() => scanDirMeta(meta));
        spawn(() => scanDirTree(sub, p));
      }
    };

    const queueContent = (checksum: string) => {
      if (seenContent.has(checksum)) return;
      seenContent.add(checksum);
      spawn(() => fetchContent(checksum));
    };

    const fetchContent = async (checksum: string) => {
      if (await repo.hasObject(ObjectType.File, checksum)) return;
      throwAborted(signal);
      st.contentRequested++;
      st.outstanding++;
      emit();
      try {
        let data: ContentData | null = null;
        for (const c of localcache) {
          if (await c.hasObject(ObjectType.File, checksum)) {
            const o = await c.loadFile(checksum);
            data = { header: o.header, payload: await o.readPayload() };
            break;
          }
        }
        if (!data) data = await src.fetchContent(checksum);
        throwAborted(signal);
        validateFileMode(data.header.mode);
        if (opts.bareuseronlyFiles && isReg(data.header.mode)) {
          const bad = data.header.mode & ~S_IFMT & ~0o775;
          if (bad) {
            throw new OstreeError(
              'OSTREE_INVALID_ARGUMENT',
              `Content object ${checksum}: invalid mode 0${data.header.mode.toString(8).padStart(4, '0')} with bits 0${bad.toString(8).padStart(4, '0')}`,
            );
          }
        }
        // Verifies the checksum of header + payload before linking into objects/.
        await tx.writeContentFromBuffer(data.header, data.payload, checksum);
        st.contentFetched++;
        st.contentBytesWritten += data.payload.length;
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
      // Detached metadata first: signatures are checked before the commit is written.
      const detachedBytes = await getMetadata(ObjectType.CommitMeta, checksum, { optional: true, maxSize: MAX_METADATA_SIZE });
      let bytes = local;
      if (!bytes) {
        bytes = await getMetadata(ObjectType.Commit, checksum, { optional: !isRoot, maxSize: size ?? MAX_METADATA_SIZE });
        if (!bytes) {
          // History the remote no longer has (or pruned with a tombstone): not an error for --depth.
          if (tombstones) await getMetadata(ObjectType.TombstoneCommit, checksum, { optional: true }).catch(() => null);
          return;
        }
        checkMeta(bytes, checksum, 'commit');
      }
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
      if (gpgVerify) await verifyCommitGpg(repo, remote.name, checksum, bytes, detached);
      if (signVerify.length) await verifyCommitEd25519(repo, remote.name, bytes, detached);
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
          spawn(() => scanDirTree(commit.rootTree, '/'));
          completed.push(checksum);
        }
      }
      if (depthLeft !== 0 && commit.parent) await pullCommit(commit.parent, null, depthLeft > 0 ? depthLeft - 1 : -1, false);
    };

    try {
      for (const t of targets) spawn(() => pullCommit(t.checksum, t.ref, opts.depth ?? 0, true, t.size));
      await drain();
    } finally {
      // On failure wait for what was already in flight to settle.
      await drain();
    }
    if (failure !== null) throw failure;
    throwAborted(opts.signal);
  }
}
