// The first step of a pull (FORMATS.md §7.2): summary.sig then summary,
// for HTTP remotes through the cache in tmp/cache/summaries with conditional
// requests, verified when gpg-verify-summary / sign-verify-summary ask for
// it (a cached summary that fails is downloaded again without validators and
// re-verified); freshly downloaded summary + signature pairs are cached.
import { OstreeError } from '../errors';
import type { Repo } from '../repo/repo';
import { assertNormalForm } from '../objects/formats';
import type { Remote } from '../remotes/remotes';
import { SUMMARY_TYPE } from '../summary';
import { HttpSource, PullSource } from './source';
import { SummaryCache, CacheValidators } from './summary-cache';
import { maybeTestError } from '../repo/test-error';
import { VerifyPolicy, verifySummarySign } from './verify';

export interface FetchedSummary {
  summaryBytes: Buffer | null;
  summarySig: Buffer | null;
  /** The summary came from the cache (not downloaded again). */
  fromCache: boolean;
}

export interface SummaryFetchOptions {
  policy: VerifyPolicy;
  /** Directory for the summary cache (default REPO/tmp/cache). */
  cacheDir?: string;
  /** A mirror pull of all refs needs a summary. */
  mirrorAll?: boolean;
}

export async function fetchRemoteSummary(repo: Repo, remote: Remote, src: PullSource, opts: SummaryFetchOptions): Promise<FetchedSummary> {
  const cache = src instanceof HttpSource && remote.name ? SummaryCache.open(repo, remote.name, opts.cacheDir) : null;
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

  const { policy } = opts;
  if (policy.gpgVerifySummary && !summary) {
    throw new OstreeError('OSTREE_GPG_VERIFY_FAILED', 'GPG verification enabled, but no summary found (use gpg-verify-summary=false in remote config to disable)', { data: { remote: remote.name, summary: true, reason: 'no-summary' } });
  }
  if (!summary && opts.mirrorAll) {
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
      maybeTestError('invalid-cache', `Remote ${remote.name} cached summary invalid and OSTREE_REPO_TEST_ERROR_INVALID_CACHE specified`);
      fromCache = false;
      summary = await fetchSummary(false);
      if (!summary) throw err;
      await verify(summary, sig);
    }
  };
  if (policy.gpgVerifySummary) {
    const { verifySummaryGpg } = await import('../gpg/verify');
    await verifyWith('gpg', (a, b) => verifySummaryGpg(repo, remote.name, a, b));
  }
  if (policy.signVerifySummary.length) await verifyWith('sign', (a, b) => verifySummarySign(repo, remote.name, a, b, policy.signVerifySummary));
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
