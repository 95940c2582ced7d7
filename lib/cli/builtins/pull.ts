// ostree pull (ot-builtin-pull.c): download refs from a remote.
import type { CommandSpec, ParsedArgs } from '../options';
import { UsageError, formatHelp, str, strs } from '../options';
import type { Ctx } from '../context';
import type { PullProgress } from '../../pull/pull';

export const spec: CommandSpec = {
  name: 'pull',
  params: 'REMOTE [BRANCH...]',
  summary: 'Download data from remote repository',
  repo: true,
  options: [
    { long: 'commit-metadata-only', arg: 'none', description: 'Fetch only the commit metadata' },
    { long: 'cache-dir', arg: 'filename', description: 'Use custom cache dir' },
    { long: 'disable-fsync', arg: 'none', description: 'Do not invoke fsync()' },
    { long: 'per-object-fsync', arg: 'none', description: 'Perform writes in such a way that avoids stalling concurrent processes' },
    { long: 'disable-static-deltas', arg: 'none', description: 'Do not use static deltas' },
    { long: 'require-static-deltas', arg: 'none', description: 'Require static deltas' },
    { long: 'mirror', arg: 'none', description: 'Write refs suitable for a mirror and fetches all refs if none provided' },
    { long: 'subpath', arg: 'strings', description: 'Only pull the provided subpath(s)' },
    { long: 'untrusted', arg: 'none', description: 'Verify checksums of local sources (always enabled for HTTP pulls)' },
    { long: 'http-trusted', arg: 'none', description: 'Do not verify checksums of HTTP sources (mostly useful when mirroring)' },
    { long: 'bareuseronly-files', arg: 'none', description: 'Reject regular files with mode outside of 0775 (world writable, suid, etc.)' },
    { long: 'dry-run', arg: 'none', description: 'Only print information on what will be downloaded (requires static deltas)' },
    { long: 'depth', arg: 'int', argName: 'DEPTH', description: 'Traverse DEPTH parents (-1=infinite) (default: 0)' },
    { long: 'url', arg: 'string', argName: 'URL', description: 'Pull objects from this URL instead of the one from the remote config' },
    { long: 'http-header', arg: 'strings', argName: 'NAME=VALUE', description: 'Add NAME=VALUE as HTTP header to all requests' },
    { long: 'update-frequency', arg: 'int', argName: 'FREQUENCY', description: 'Sets the update frequency, in milliseconds (0=1000ms) (default: 0)' },
    { long: 'network-retries', arg: 'int', argName: 'N', description: 'Specifies how many times each download should be retried upon error (default: 5)' },
    { long: 'localcache-repo', short: 'L', arg: 'strings', argName: 'REPO', description: 'Add REPO as local cache source for objects during this pull' },
    { long: 'timestamp-check', short: 'T', arg: 'none', description: 'Require fetched commits to have newer timestamps' },
    { long: 'timestamp-check-from-rev', arg: 'string', description: 'Require fetched commits to have newer timestamps than given rev' },
    { long: 'disable-verify-bindings', arg: 'none', description: 'Do not verify commit bindings' },
  ],
};

/** ostree's _formatted_time_remaining_from_seconds: "1 days 2 hours 3 minutes 4 seconds " without the zero leading units. */
function timeRemaining(secs: number): string {
  const d = Math.floor(secs / 86400);
  const h = Math.floor((secs % 86400) / 3600);
  const m = Math.floor((secs % 3600) / 60);
  const s = secs % 60;
  let out = '';
  if (d) out += `${d} days `;
  if (d || h) out += `${h} hours `;
  if (d || h || m) out += `${m} minutes `;
  return `${out}${s} seconds `;
}

/** The progress line ostree's console progress shows while pulling. */
export function progressText(p: PullProgress, formatSize: (n: number) => string): string {
  // Like ostree: no rate during the first second or before any byte arrived.
  const rate = `${p.elapsedMs < 1000 || p.bytesTransferred === 0 ? '-' : formatSize(Math.floor(p.bytesTransferred / Math.floor(p.elapsedMs / 1000)))}/s`;
  const xfer = formatSize(p.bytesTransferred);
  if (p.deltaPartsTotal > 0 && p.phase !== 'writing') {
    // ostree's delta line: parts and fallbacks folded together, sizes of the parts.
    const done = `${p.deltaPartsFetched}/${p.deltaPartsTotal + p.deltaFallbacksTotal} ${formatSize(p.deltaBytesFetched)}/${formatSize(p.deltaBytesTotal)}`;
    if (p.elapsedMs < 1000 || p.bytesTransferred === 0) return `Receiving delta parts: ${done}`;
    const perSec = Math.floor(p.bytesTransferred / Math.floor(p.elapsedMs / 1000));
    const left = perSec > 0 ? Math.floor(Math.max(0, p.deltaBytesTotal - p.deltaBytesFetched) / perSec) : 0;
    return `Receiving delta parts: ${done} ${formatSize(perSec)}/s ${timeRemaining(left)}remaining`;
  }
  if (p.phase === 'writing') return `Writing objects: ${p.outstanding}`;
  if (p.phase === 'metadata') return `Receiving metadata objects: ${p.metadataFetched}/(estimating) ${rate} ${xfer}`;
  if (p.phase === 'content') {
    const pct = p.objectsRequested ? Math.floor((p.objectsFetched / p.objectsRequested) * 100) : 100;
    return `Receiving objects: ${pct}% (${p.objectsFetched}/${p.objectsRequested}) ${rate} ${xfer}`;
  }
  return `Scanning metadata: ${p.scanned}`;
}

export async function run(args: ParsedArgs, ctx: Ctx): Promise<number> {
  const repo = await ctx.openRepo();
  if (args.positional.length < 1) throw new UsageError('REMOTE must be specified', true);
  let [remote, ...refs] = args.positional;
  const colon = remote.indexOf(':');
  if (colon >= 0) {
    if (refs.length) throw new UsageError('Cannot specify both REMOTE:REF and additional BRANCH arguments', true);
    refs = [remote.slice(colon + 1)];
    remote = remote.slice(0, colon);
  }
  if (args.opts['dry-run'] && !args.opts['require-static-deltas']) throw new Error('--dry-run requires --require-static-deltas');
  const headers: Array<[string, string]> = [];
  for (const h of strs(args.opts['http-header'])) {
    const i = h.indexOf('=');
    if (i < 0) throw new Error("Missing '=' in --http-header");
    headers.push([h.slice(0, i), h.slice(i + 1)]);
  }
  const { pull } = await import('../../pull/pull');
  const { formatSize } = await import('../console');
  const tty = !!process.stdout.isTTY;
  // Signature reports are printed on a TTY only: the GPG module is loaded only then.
  const describeResult = tty ? (await import('../../gpg/verify')).describeResult : null;
  const freq = typeof args.opts['update-frequency'] === 'number' && args.opts['update-frequency'] > 0 ? args.opts['update-frequency'] : 1000;
  // Like glnx_console: save the cursor when the pull starts, redraw the line from there
  // (lib/cli/status.ts), fitted to the terminal width when it is known.
  const { StatusLine } = await import('../status');
  const line = new StatusLine(ctx.out, { tty, intervalMs: 0 });
  line.lock();
  const ac = new AbortController();
  const onSigint = () => ac.abort(new Error('interrupted'));
  process.once('SIGINT', onSigint);
  try {
    const r = await pull(repo, {
      remote,
      refs,
      url: str(args.opts.url),
      depth: typeof args.opts.depth === 'number' ? args.opts.depth : 0,
      subpath: strs(args.opts.subpath),
      commitMetadataOnly: !!args.opts['commit-metadata-only'],
      mirror: !!args.opts.mirror,
      untrusted: !!args.opts.untrusted,
      httpHeaders: headers,
      networkRetries: typeof args.opts['network-retries'] === 'number' ? args.opts['network-retries'] : undefined,
      localcacheRepo: strs(args.opts['localcache-repo']),
      timestampCheck: !!args.opts['timestamp-check'],
      timestampCheckFromRev: args.opts['timestamp-check-from-rev'] as string | undefined,
      bareuseronlyFiles: !!args.opts['bareuseronly-files'],
      disableStaticDeltas: !!args.opts['disable-static-deltas'],
      requireStaticDeltas: !!args.opts['require-static-deltas'],
      dryRun: !!args.opts['dry-run'],
      disableVerifyBindings: !!args.opts['disable-verify-bindings'],
      disableFsync: !!args.opts['disable-fsync'],
      cacheDir: str(args.opts['cache-dir']),
      signal: ac.signal,
      // ostree's console progress: redrawn every --update-frequency ms (default 1000) on a TTY;
      // otherwise only the closing status line is printed.
      updateFrequency: freq,
      onProgress: tty
        ? (p) => {
            if (p.phase !== 'done' && p.elapsedMs >= freq) line.draw(progressText(p, formatSize));
          }
        : undefined,
      // On a TTY ostree also prints each commit's signature verification.
      onGpgVerifyResult: tty
        ? (_commit, res) => {
            const text = (describeResult as NonNullable<typeof describeResult>)(res, 'GPG: Verification enabled, found');
            line.interrupt(() => ctx.out('\n\n' + text), { keep: true });
          }
        : undefined,
    });
    if (args.opts['dry-run']) {
      // ostree's dry-run report: delta parts and fallbacks folded together.
      const parts = `${r.deltaPartsFetched}/${r.deltaPartsTotal + r.deltaFallbacksTotal}`;
      ctx.out(`Delta update: ${parts} parts, ${formatSize(r.deltaBytesFetched)}/${formatSize(r.deltaBytesTotal)}, ${formatSize(r.deltaUsizeTotal)} total uncompressed\n`);
      return 0;
    }
    const status = r.status;
    if (tty) line.end('keep', status);
    else ctx.out(`${status}\n`);
    return 0;
  } catch (err) {
    line.end('keep');
    throw err;
  } finally {
    process.off('SIGINT', onSigint);
  }
}

void formatHelp;
