// Repository repair (fsck --repair; ostree has none, its issue #959): a
// check that moves corrupt objects aside into REPO/tmp/corrupt-… (the
// evidence is kept) and marks the commits containing corrupt or missing
// objects partial, then a pull of exactly those commits. A pull of a partial
// commit walks its whole tree and fetches only what is absent, verifying
// every object as any pull does (pull/walk.ts), so the objects fetched are
// exactly the corrupt and missing ones. Commits that cannot be completed
// stay marked partial by fsck ("f"). Rounds repeat while they find new
// commits to repair: objects below a corrupt dirtree are only checked once
// it has been fetched again.
import * as path from 'node:path';
import { OstreeError, throwAborted } from './errors';
import type { Repo } from './repo/repo';
import { fsck, type FsckIssue, type FsckResult } from './fsck';
import { listRefs } from './refs/refs';
import { listRemotes } from './remotes/remotes';
import { markCommitPartial } from './repo/commit-partial';
import { ObjectType } from './objects/formats';
import type { Progress } from './progress';

/** Rounds of check-and-fetch at most (each needs progress to continue). */
const MAX_ROUNDS = 4;

/** 'check' (a fsck round, `loaded` = round), then 'fetch' (commits being repaired). */
export type RepairProgress = Progress<'check' | 'fetch'>;

export interface RepairOptions {
  /** Remote to fetch from; default: the remote whose refs point at the commit, or the only remote configured. */
  remote?: string;
  /** Local repositories consulted first (with a remote), or copied from (without one). */
  localcacheRepo?: string | string[];
  signal?: AbortSignal;
  onProgress?: (p: RepairProgress) => void;
  /** Each missing or corrupt object, as it is found. */
  onIssue?: (issue: FsckIssue) => void;
  /** Each commit as its repair ends (`error` set when it stays partial). */
  onCommit?: (commit: string, error: Error | null) => void;
}

export interface RepairResult {
  /** Every missing or corrupt object found, over all rounds. */
  issues: FsckIssue[];
  /** Where corrupt objects were moved (null when none was). */
  quarantineDir: string | null;
  /** Commits completed again from the remote or local cache. */
  repaired: string[];
  /** Commits that could not be completed: left marked partial, with the reason. */
  unrepaired: Array<{ commit: string; error: Error }>;
  /** The last check: what is still wrong. */
  final: FsckResult;
  /** True when the final check found nothing wrong and no commit stays partial from corruption. */
  ok: boolean;
}

/** Remote whose refs point at `commit`, or the only remote; null when it can't be told. */
async function remoteFor(repo: Repo, commit: string, remotes: string[]): Promise<string | null> {
  const byRef = (await listRefs(repo)).filter((r) => r.remote !== null && r.checksum === commit && remotes.includes(r.remote)).map((r) => r.remote as string);
  if (byRef.length) return byRef[0];
  return remotes.length === 1 ? remotes[0] : null;
}

function cacheList(c: string | string[] | undefined): string[] {
  return c === undefined ? [] : Array.isArray(c) ? c : [c];
}

/** Fetch what `commit` lacks (pull of a partial commit), from a remote or a local repo. */
async function refetchCommit(repo: Repo, commit: string, opts: RepairOptions, remotes: string[]): Promise<void> {
  const remote = opts.remote ?? (await remoteFor(repo, commit, remotes));
  const caches = cacheList(opts.localcacheRepo);
  if (remote !== null) {
    const { pull } = await import('./pull/pull');
    // Object by object (no static delta: only the missing objects are wanted).
    await pull(repo, { remote, refs: [commit], localcacheRepo: caches, disableStaticDeltas: true, signal: opts.signal });
    return;
  }
  if (!caches.length) {
    throw new OstreeError('OSTREE_INVALID_ARGUMENT', `No remote to repair commit ${commit} from: give one (--remote) or a --localcache-repo`, { data: { checksum: commit } });
  }
  const { pullLocal } = await import('./pull-local');
  let last: Error | null = null;
  for (const source of caches) {
    try {
      await pullLocal(repo, { source, refs: [commit], signal: opts.signal });
      return;
    } catch (err) {
      throwAborted(opts.signal);
      last = err as Error;
    }
  }
  throw last as Error;
}

/** The commits one check asks to repair: those it marked partial, a ref's missing commit, and earlier fsck-partial ones. */
function commitsToRepair(res: FsckResult): string[] {
  const out = new Set<string>();
  for (const i of res.issues) {
    for (const c of i.markedPartial) out.add(c);
    if (i.type === ObjectType.Commit && i.commits.length === 0 && (i.kind === 'missing' || i.deleted)) out.add(i.checksum);
  }
  for (const c of res.fsckPartialCommits) out.add(c);
  return [...out];
}

/**
 * `ostree fsck --repair`: check the repository, move corrupt objects into
 * REPO/tmp/corrupt-TIMESTAMP-PID/ (kept until tmp/ expiry,
 * core.tmp-expiry-secs, a day by default), and fetch again exactly the corrupt and
 * missing objects from the remote (or the local cache repos), verifying
 * them as a pull does. Commits that cannot be completed stay marked partial
 * (state/CHECKSUM.commitpartial). Refs are not changed. Rejects with
 * OSTREE_ABORTED, or on I/O errors the check itself cannot attribute;
 * a commit that can't be fetched is reported in `unrepaired`, not thrown.
 *
 * @example
 * import { Repo, repairRepo } from 'node-ostree';
 * const repo = await Repo.open('/var/lib/exampleos/repo');
 * const res = await repairRepo(repo, { remote: 'origin' });
 * for (const u of res.unrepaired) console.error(`${u.commit} stays partial: ${u.error.message}`);
 * if (!res.ok) process.exitCode = 1;
 */
export async function repairRepo(repo: Repo, opts: RepairOptions = {}): Promise<RepairResult> {
  const { signal, onProgress } = opts;
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '');
  const quarantine = path.join(repo.path, 'tmp', `corrupt-${stamp}-${process.pid}`);
  const remotes = await listRemotes(repo);
  const result: RepairResult = { issues: [], quarantineDir: null, repaired: [], unrepaired: [], final: null as unknown as FsckResult, ok: false };
  const attempted = new Set<string>();
  const seen = new Set<string>();
  const failed = new Map<string, Error>();

  for (let round = 1; ; round++) {
    throwAborted(signal);
    onProgress?.({ phase: 'check', loaded: round, total: null, unit: 'steps' });
    const res = await fsck(repo, {
      all: true,
      quarantine,
      // A commit an earlier fsck (ours or ostree's) marked partial is checked
      // too: its objects may be corrupt as well as missing.
      verifyFsckPartial: true,
      signal,
      onIssue: (i) => {
        // Once per object: a commit that stays partial shows its missing objects again in each round.
        const key = `${i.checksum}.${i.type}`;
        if (seen.has(key)) return;
        seen.add(key);
        result.issues.push(i);
        if (i.movedTo) result.quarantineDir = quarantine;
        opts.onIssue?.(i);
      },
    });
    result.final = res;
    const todo = commitsToRepair(res).filter((c) => !attempted.has(c));
    if (!todo.length || round >= MAX_ROUNDS) break;
    let n = 0;
    for (const c of todo) {
      throwAborted(signal);
      onProgress?.({ phase: 'fetch', loaded: n++, total: todo.length, unit: 'commits' });
      attempted.add(c);
      try {
        await refetchCommit(repo, c, opts, remotes);
        failed.delete(c);
        opts.onCommit?.(c, null);
      } catch (err) {
        throwAborted(signal);
        failed.set(c, err as Error);
        // The pull may have rewritten the marker as its own: keep fsck's.
        if (await repo.loadMetadata(ObjectType.Commit, c, { allowNoent: true })) await markCommitPartial(repo, c, 'fsck');
        opts.onCommit?.(c, err as Error);
      }
    }
    onProgress?.({ phase: 'fetch', loaded: n, total: todo.length, unit: 'commits' });
  }
  const stillPartial = new Set(result.final.fsckPartialCommits);
  for (const c of attempted) {
    const err = failed.get(c);
    if (err) result.unrepaired.push({ commit: c, error: err });
    else if (!stillPartial.has(c)) result.repaired.push(c);
  }
  for (const c of stillPartial) {
    if (!failed.has(c) && !attempted.has(c)) result.unrepaired.push({ commit: c, error: new OstreeError('OSTREE_CORRUPT_OBJECT', `Commit ${c} is still partial`) });
  }
  result.ok = result.final.issues.length === 0 && result.final.fsckPartialCommits.length === 0 && !result.final.fatal;
  return result;
}
