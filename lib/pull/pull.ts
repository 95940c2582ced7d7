// Pulling from a remote over HTTP(S) or file:// (FORMATS.md §7; ostree
// ostree-repo-pull.c as the behavioural reference), in ostree's phases:
// summary.sig and summary (summary-fetch.ts), the remote's config, ref
// resolution (targets.ts); then in one transaction the object walk
// (walk.ts: commits verified by verify.ts before anything from them is
// written, a .commitpartial marker, dirtrees and dirmetas, content fetched
// by content-fetch.ts and written in batches by write-queue.ts), and the
// refs, moved at the end of the transaction, which holds the shared repo
// lock from the first write until the refs are written. Progress is counted
// in progress.ts.
import * as path from 'node:path';
import { promises as fsp } from 'node:fs';
import { setMaxListeners } from 'node:events';
import { OstreeError, isErrno, throwAborted, withContext } from '../errors';
import { Repo, writeFileAtomic } from '../repo/repo';
import { resolveRev } from '../refs/refs';
import { formatSize } from '../format-size';
import { clearCommitPartial } from '../repo/commit-partial';
import { getRemote, Remote } from '../remotes/remotes';
import { parseSummary, Summary } from '../summary';
import type { VerifyResult } from '../gpg/result';
import { fetcherOptionsFromRemote } from './fetcher';
import { HttpSource, LocalSource, PullSource } from './source';
import { withPullTransaction } from './common';
import { PullProgress, PullProgressReporter, formatPullStatus, deltaCounts, type DeltaCounts } from './progress';
import { verifyPolicy, metaValue } from './verify';
import { fetchRemoteSummary } from './summary-fetch';
import { resolvePullTargets } from './targets';
import { TaskGroup } from './tasks';
import type { PullContext } from './context';
import { ObjectWalk } from './walk';
import { DeltaCatalog, DeltaPolicy, DeltaPlanContext, PlannedDelta, StaticDeltaFetch, planDelta, accountDeltas } from './deltas';

export { formatPullStatus } from './progress';
export type { PullPhase, PullProgress } from './progress';

export interface PullOptions {
  /**
   * Name of a configured remote, or a file:// URL of a repository (as
   * `ostree pull-local --require-static-deltas` pulls): then no signature is
   * checked and refs are written as plain refs (or under overrideRemoteName).
   */
  remote: string;
  /** With a URL as `remote`: write refs as NAME:REF. */
  overrideRemoteName?: string;
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
  /** Refuse commits older than this local commit (`--timestamp-check-from-rev`, as `admin upgrade` pulls). */
  timestampCheckFromRev?: string;
  /** Reject regular files with mode bits outside 0775. */
  bareuseronlyFiles?: boolean;
  /** Minimum interval between onProgress calls in ms (0 = every change). */
  updateFrequency?: number;
  /** Fetch objects one by one even where the remote offers static deltas. */
  disableStaticDeltas?: boolean;
  /** Fail unless every target can be reached by a static delta (not into archive repos). */
  requireStaticDeltas?: boolean;
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

/** What a pull did; with static deltas, their counters (DeltaCounts). */
export interface PullResult extends DeltaCounts {
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
  // Like ostree, a file:// remote is imported from directly, unless static deltas are required (then it is fetched as over HTTP).
  if (url.startsWith('file:') && !opts.requireStaticDeltas) {
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

/**
 * `ostree pull`: fetch `refs` (default: the remote's configured branches, or
 * every ref of the summary with `mirror`) of a configured remote, or of a file:// repository, over HTTP(S),
 * by static delta when one exists, checking GPG/ed25519 signatures as the
 * remote is configured, then point `remote:ref` at the new commits in one
 * transaction. Rejects with OSTREE_REMOTE_NOT_FOUND, OSTREE_GPG_VERIFY_FAILED,
 * OSTREE_SIGN_VERIFY_FAILED, OSTREE_HTTP, OSTREE_NETWORK, OSTREE_TIMEOUT or
 * OSTREE_ABORTED; nothing half-written becomes visible.
 *
 * @example
 * import { pull } from 'node-ostree';
 * const ac = new AbortController();
 * const res = await pull(repo, {
 *   remote: 'origin',
 *   refs: ['exampleos/stable'],
 *   signal: ac.signal,
 *   onProgress: (p) => console.log(p.phase, p.loaded, p.total ?? '?', p.unit),
 * });
 * console.log(res.refs['origin:exampleos/stable']);
 */
export async function pull(repo: Repo, opts: PullOptions): Promise<PullResult> {
  const started = Date.now();
  if (opts.disableStaticDeltas && opts.requireStaticDeltas) throw new OstreeError('OSTREE_INVALID_ARGUMENT', 'Cannot both disable and require static deltas');
  if (opts.depth !== undefined && (!Number.isInteger(opts.depth) || opts.depth < -1)) throw new RangeError(`Invalid depth ${opts.depth}`);
  throwAborted(opts.signal);
  const remote: Remote = opts.remote.startsWith('file://')
    ? { name: opts.overrideRemoteName ?? '', url: opts.remote, options: { 'gpg-verify': 'false', 'gpg-verify-summary': 'false' }, source: '' }
    : await getRemote(repo, opts.remote);
  const unconfigured = remote.options['unconfigured-state'];
  if (unconfigured !== undefined) throw new OstreeError('OSTREE_CONFIG', unconfigured);
  const url = (opts.url ?? remote.url).trim();
  const policy = verifyPolicy(remote, opts);
  const subpaths = splitSubpaths(opts.subpath);
  const localcache = await Promise.all((Array.isArray(opts.localcacheRepo) ? opts.localcacheRepo : opts.localcacheRepo ? [opts.localcacheRepo] : []).map((p) => Repo.open(p)));

  // Everything in flight stops on the first error or on the caller's signal.
  const ctl = new AbortController();
  const onOuterAbort = () => ctl.abort(opts.signal?.reason);
  opts.signal?.addEventListener('abort', onOuterAbort, { once: true });
  const signal = ctl.signal;
  setMaxListeners(0, signal);
  const progress = new PullProgressReporter(started, opts.onProgress, opts.updateFrequency);

  let src: PullSource | null = null;
  try {
    src = await openSource(remote, url, opts, signal, () => progress.emit());
    progress.attach(src);
    return await pullFrom(src);
  } finally {
    opts.signal?.removeEventListener('abort', onOuterAbort);
    src?.close();
  }

  /** ostree's defaults: no deltas into archive repos, for commit metadata only, or when importing from a local repo. */
  function staticDeltaPolicy(src: PullSource): DeltaPolicy {
    const required = !!opts.requireStaticDeltas;
    if (repo.mode === 'archive' && required) throw new OstreeError('OSTREE_INVALID_ARGUMENT', "Can't use static deltas in an archive repo");
    const disabled = !!opts.disableStaticDeltas || repo.mode === 'archive' || !!opts.commitMetadataOnly || (src.kind === 'local' && !required);
    return { disabled, required, gpgVerifySummary: policy.gpgVerifySummary };
  }

  async function pullFrom(src: PullSource): Promise<PullResult> {
    // ---------------------------------------------------------- summary
    // The remote's config is needed in any case: asked for while the summary is fetched.
    const configP = src.remoteConfig();
    configP.catch(() => {}); // awaited below, unless the summary fails first
    const { summaryBytes, summarySig, fromCache } = await fetchRemoteSummary(repo, remote, src, {
      policy,
      cacheDir: opts.cacheDir,
      mirrorAll: !!opts.mirror && !opts.refs?.length,
    });
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

    // ---------------------------------------------------------- static deltas
    const deltaPolicy = staticDeltaPolicy(src);
    const catalog = DeltaCatalog.fromSummary(summary, rcfg.indexedDeltas);
    if (deltaPolicy.required && !catalog.indexed && !catalog.summaryHasDeltas) {
      throw new OstreeError('OSTREE_NOT_FOUND', 'Fetch configured to require static deltas, but no summary deltas or delta index found');
    }

    // ---------------------------------------------------------- refs
    const { targets, allRefs } = await resolvePullTargets(remote, src, summary, opts);
    const refSpec = (ref: string) => (opts.mirror || !remote.name ? ref : `${remote.name}:${ref}`);
    const result: PullResult = {
      refs: {},
      commits: [],
      metadataFetched: 0,
      contentFetched: 0,
      metadataImported: 0,
      contentImported: 0,
      bytesTransferred: 0,
      contentBytesWritten: 0,
      ...deltaCounts(),
      requests: 0,
      elapsedMs: 0,
      status: '',
      summaryFromCache: fromCache,
    };
    const finishResult = () => {
      const c = progress.counts;
      result.metadataFetched = c.metadataFetched;
      result.contentFetched = c.contentFetched;
      result.metadataImported = c.metadataImported;
      result.contentImported = c.contentImported;
      result.bytesTransferred = progress.objectBytes();
      result.contentBytesWritten = c.contentBytesWritten;
      Object.assign(result, deltaCounts(c));
      result.requests = src.requests;
      result.elapsedMs = Date.now() - started;
      result.status = formatPullStatus({ ...result, localRemote: src.kind === 'local' }, formatSize);
      return result;
    };
    progress.startObjectPhase();
    const plans = new Map<string, PlannedDelta>();
    const unchanged = new Set<string>();
    if (!deltaPolicy.disabled) {
      const pctx: DeltaPlanContext = {
        repo,
        src,
        refSpec: (ref: string) => (remote.name ? `${remote.name}:${ref}` : ref),
        catalog,
        policy: deltaPolicy,
        counts: progress.counts,
        onChange: () => progress.emit(),
        verifySigned:
          policy.signVerify.includes('ed25519') && remote.name
            ? async (signed) => {
                const { remoteEd25519Keys } = await import('../sign/ed25519');
                const { verifySignedSuperblock } = await import('../deltas/sign');
                const k = await remoteEd25519Keys(repo, remote.name);
                await verifySignedSuperblock(signed, { type: 'ed25519', keys: k.trusted, revoked: k.revoked });
              }
            : undefined,
      };
      for (const t of targets) {
        if (plans.has(t.checksum)) continue;
        const d = await planDelta(pctx, t.ref, t.checksum);
        if (d === 'skip') unchanged.add(t.checksum);
        else if (d) plans.set(t.checksum, d);
      }
    }
    const deltaTodo = await accountDeltas(repo, plans, progress.counts);
    progress.emit();
    if (opts.dryRun) {
      for (const t of targets) if (t.ref) result.refs[refSpec(t.ref)] = t.checksum;
      result.commits = targets.map((t) => t.checksum);
      progress.finishPhase('done');
      return finishResult();
    }

    // ---------------------------------------------------------- objects
    let completed: string[] = [];
    await removeStaleDownloads(repo);
    await withPullTransaction(repo, { disableFsync: opts.disableFsync, signal }, async (tx) => {
      const ctx: PullContext = { repo, tx, src, localcache, tasks: new TaskGroup(ctl), progress, signal, bareuseronlyFiles: opts.bareuseronlyFiles };
      if (plans.size) ctx.deltas = new StaticDeltaFetch(ctx, plans, deltaTodo);
      const walk = new ObjectWalk(
        ctx,
        {
          depth: opts.depth ?? 0,
          subpaths,
          commitMetadataOnly: opts.commitMetadataOnly,
          tombstones,
          checks: {
            repo,
            remote: remote.name,
            policy,
            disableVerifyBindings: opts.disableVerifyBindings,
            collectionId: src instanceof LocalSource ? src.repo.collectionId : remote.options['collection-id']?.trim() || null,
            timestampCheckRef: opts.timestampCheck ? refSpec : undefined,
            timestampCheckFromRev: opts.timestampCheckFromRev,
            onGpgVerifyResult: opts.onGpgVerifyResult,
            localSource: src instanceof LocalSource,
          },
        },
      );
      const walked = await walk.run(targets.filter((t) => !unchanged.has(t.checksum)));
      throwAborted(opts.signal);
      result.commits = walked.commits;
      completed = walked.completed;
      // ------------------------------------------------------ refs
      progress.finishPhase('writing');
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
    progress.finishPhase('done');
    return finishResult();
  }
}
