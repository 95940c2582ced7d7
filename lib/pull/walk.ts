// A pull's object walk (ostree-repo-pull.c: scan_commit_object,
// scan_dirtree_object): from each target commit, its detached metadata and
// the commit itself (verified before anything from it is written, then
// marked .commitpartial), then its dirmetas and dirtrees, queueing the
// content objects the repo lacks; parents down to the requested depth.
import { OstreeError, throwAborted, withContext } from '../errors';
import type { Repo } from '../repo/repo';
import { deserialize } from '../gvariant/codec';
import { ObjectType, Commit, Metadata, parseCommit, parseDirTree, parseDirMeta, validateDirTree, validateDirMeta, sha256Hex, assertNormalForm, COMMIT_TYPE } from '../objects/formats';
import { markCommitPartial } from '../repo/commit-partial';
import { native, PullScanResult } from '../binding';
import { repoChain } from '../traverse';
import type { PullContext } from './context';
import { MAX_METADATA_SIZE } from './fetcher';
import { ObjectPresence } from './presence';
import { PullWriteQueue } from './write-queue';
import { ContentFetcher } from './content-fetch';
import { verifyPulledCommit, CommitChecks } from './verify';
import type { PullTarget } from './targets';

export interface WalkOptions {
  /** Parent commits to fetch too: 0, N, or -1 for all. */
  depth: number;
  /** Only these subtrees' content ("/usr/bin"); empty: the whole tree. */
  subpaths: string[];
  /** Only commit objects (+ detached metadata). */
  commitMetadataOnly?: boolean;
  /** Ask for tombstone commits of missing history. */
  tombstones: boolean;
  checks: CommitChecks;
}

export interface WalkResult {
  /** Commits visited, roots first. */
  commits: string[];
  /** Commits whose whole tree was walked: their .commitpartial goes once the transaction is committed. */
  completed: string[];
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

function checkMeta(bytes: Buffer, checksum: string, what: string): void {
  const actual = sha256Hex(bytes);
  if (actual !== checksum) {
    throw new OstreeError('OSTREE_CORRUPT_OBJECT', `Corrupted ${what} object; checksum expected='${checksum}' actual='${actual}'`, { data: { checksum, type: what } });
  }
}

export class ObjectWalk {
  private readonly presence: ObjectPresence;
  private readonly writes: PullWriteQueue;
  private readonly content: ContentFetcher;
  private readonly seenCommits = new Set<string>();
  private readonly seenMeta = new Set<string>();
  private readonly result: WalkResult = { commits: [], completed: [] };
  /** Downloaded dirtrees waiting for the next native scan batch. */
  private scanQ: Array<{ checksum: string; bytes: Buffer; done: (r: PullScanResult) => void; fail: (e: unknown) => void }> = [];
  private readonly chain: { paths: string[]; modes: string[] };

  constructor(
    private readonly ctx: PullContext,
    private readonly opts: WalkOptions,
  ) {
    this.presence = new ObjectPresence(ctx.repo);
    this.writes = new PullWriteQueue(ctx.repo, ctx.tx, ctx.tasks, ctx.progress, ctx.bareuseronlyFiles);
    this.content = new ContentFetcher(ctx, this.presence, this.writes);
    const chain = repoChain(ctx.repo);
    this.chain = { paths: chain.map((r) => r.path), modes: chain.map((r) => r.mode) };
  }

  /** Walk from every target; on failure, what was in flight settles and the last batch is written before the error is thrown. */
  async run(targets: PullTarget[]): Promise<WalkResult> {
    const { tasks } = this.ctx;
    try {
      for (const t of targets) this.spawnScan(() => this.pullCommit(t.checksum, t.ref, this.opts.depth, true, t.size));
      await tasks.drain();
    } finally {
      await tasks.drain();
      this.writes.flush();
      await tasks.drain();
    }
    const failure = tasks.failure;
    if (failure) throw failure.error;
    return this.result;
  }

  private get counts() {
    return this.ctx.progress.counts;
  }

  /** Run a commit or metadata scan as a task, counted until it settles (the pull's total is known once none is left). */
  private spawnScan(fn: () => Promise<void>): void {
    this.counts.scansPending++;
    this.ctx.tasks.spawn(() =>
      fn().finally(() => {
        this.counts.scansPending--;
      }),
    );
  }

  // ------------------------------------------------------------ metadata objects

  /** A metadata object from the first --localcache-repo that has it. */
  private async fromLocalCache(type: ObjectType, checksum: string): Promise<{ bytes: Buffer; cache: Repo } | null> {
    for (const c of this.ctx.localcache) {
      const b = await c.loadMetadata(type, checksum, { allowNoent: true });
      if (b) return { bytes: b, cache: c };
    }
    return null;
  }

  /** Download a metadata object (a 404 of an optional one still counts as fetched, as in ostree). */
  private async fetchMetadata(type: ObjectType, checksum: string, o: { optional?: boolean; maxSize?: number } = {}): Promise<Buffer | null> {
    const { counts } = this;
    counts.metadataRequested++;
    counts.outstanding++;
    counts.outstandingMeta++;
    this.ctx.progress.emit();
    try {
      const b = await this.ctx.src.fetchMetadata(type, checksum, o);
      if (b || this.ctx.src.kind === 'http') counts.metadataFetched++;
      return b;
    } finally {
      counts.outstanding--;
      counts.outstandingMeta--;
      this.ctx.progress.emit();
    }
  }

  /** Local cache repos first, then the source. */
  private async getMetadata(type: ObjectType, checksum: string): Promise<Buffer> {
    const cached = await this.fromLocalCache(type, checksum);
    if (cached) {
      this.counts.metadataImported++;
      return cached.bytes;
    }
    return (await this.fetchMetadata(type, checksum)) as Buffer;
  }

  // ------------------------------------------------------------ commits

  private async pullCommit(checksum: string, ref: string | null, depthLeft: number, isRoot: boolean, size?: number): Promise<void> {
    const { repo, tx, signal } = this.ctx;
    if (this.seenCommits.has(checksum)) return;
    this.seenCommits.add(checksum);
    throwAborted(signal);
    this.counts.scanned++;
    const local = await repo.loadMetadata(ObjectType.Commit, checksum, { allowNoent: true });
    const wasPartial = local !== null && (await repo.isCommitPartial(checksum));
    let bytes = local;
    let detachedBytes: Buffer | null;
    // A target reached by static delta: the commit and its detached metadata come with the superblock.
    const delta = isRoot ? this.ctx.deltas?.get(checksum) : undefined;
    const cached = local || delta ? null : await this.fromLocalCache(ObjectType.Commit, checksum);
    if (delta) {
      if (!bytes) {
        bytes = delta.superblock.commit;
        checkMeta(bytes, checksum, 'commit');
      }
      detachedBytes = delta.detached;
    } else if (cached) {
      // From a local cache repo, with its detached metadata (ostree imports both); still verified below.
      bytes = cached.bytes;
      detachedBytes = await cached.cache.loadMetadata(ObjectType.CommitMeta, checksum, { allowNoent: true });
      this.counts.metadataImported++;
      checkMeta(bytes, checksum, 'commit');
    } else {
      // Detached metadata and (when missing) the commit are fetched together; the signatures are checked before the commit is written.
      const commitP = bytes ? null : this.fetchMetadata(ObjectType.Commit, checksum, { optional: !isRoot, maxSize: size ?? MAX_METADATA_SIZE });
      commitP?.catch(() => {}); // awaited below, unless the detached metadata fails first
      detachedBytes = await this.fetchMetadata(ObjectType.CommitMeta, checksum, { optional: true, maxSize: MAX_METADATA_SIZE });
      if (commitP) bytes = await commitP;
    }
    if (!bytes) {
      // History the remote no longer has (or pruned with a tombstone): not an error for --depth.
      if (this.opts.tombstones) await this.fetchMetadata(ObjectType.TombstoneCommit, checksum, { optional: true }).catch(() => null);
      return;
    }
    if (!local && !cached && !delta) checkMeta(bytes, checksum, 'commit');
    let commit: Commit;
    let detached: Metadata | null = null;
    try {
      assertNormalForm(COMMIT_TYPE, bytes, 'commit');
      commit = parseCommit(bytes);
    } catch (err) {
      throw new OstreeError('OSTREE_CORRUPT_OBJECT', `Corrupted commit object ${checksum}: ${(err as Error).message}`, { cause: err, data: { checksum } });
    }
    // Detached metadata is not checksummed: GLib reads bytes that are no
    // valid a{sv} as an empty dictionary, so a mangled one counts as unsigned
    // (and without verification the pull goes on, as ostree's).
    if (detachedBytes) detached = parseDetached(detachedBytes);
    if (!detached && local) {
      const d = await repo.loadMetadata(ObjectType.CommitMeta, checksum, { allowNoent: true });
      if (d) detached = parseDetached(d);
    }
    await verifyPulledCommit({ checksum, bytes, commit, detached, ref }, this.opts.checks);
    throwAborted(signal);
    // Verified: now it may be written.
    if (!local) {
      await markCommitPartial(repo, checksum);
      await tx.writeMetadata(ObjectType.Commit, bytes, checksum);
    }
    if (detachedBytes) await tx.writeCommitMeta(checksum, detachedBytes);
    this.result.commits.push(checksum);
    // The delta's parts first: the scan below then finds their objects and fetches only what is left (fallbacks).
    if (delta) await this.ctx.deltas?.apply(delta);
    if (!this.opts.commitMetadataOnly && (!local || wasPartial)) {
      this.spawnScan(() => this.scanDirMeta(commit.rootMeta));
      // After a delta every dirtree is present while fallback objects are not: walk the whole tree, as for a partial commit.
      this.spawnScan(() => this.scanDirTree(commit.rootTree, '/', wasPartial || !!delta));
      this.result.completed.push(checksum);
    }
    if (depthLeft !== 0 && commit.parent) await this.pullCommit(commit.parent, null, depthLeft > 0 ? depthLeft - 1 : -1, false);
  }

  // ------------------------------------------------------------ trees

  private async scanDirMeta(checksum: string, knownMissing = false): Promise<void> {
    if (this.seenMeta.has(checksum + '.dirmeta')) return;
    this.seenMeta.add(checksum + '.dirmeta');
    this.counts.scanned++;
    if (!knownMissing && (await this.presence.has(ObjectType.DirMeta, checksum))) return;
    throwAborted(this.ctx.signal);
    const bytes = await this.getMetadata(ObjectType.DirMeta, checksum);
    checkMeta(bytes, checksum, 'dirmeta');
    try {
      validateDirMeta(parseDirMeta(bytes));
    } catch (err) {
      throw withContext(`Invalid dirmeta ${checksum}`, err);
    }
    this.writes.addMetadata(ObjectType.DirMeta, bytes, checksum);
  }

  /** Downloaded dirtrees are checked, parsed and their objects looked up in native batches: those that arrive within one turn of the event loop go together. */
  private scanNative(checksum: string, bytes: Buffer): Promise<PullScanResult> {
    return new Promise<PullScanResult>((done, fail) => {
      if (this.scanQ.push({ checksum, bytes, done, fail }) === 1) setImmediate(() => this.runScans());
    });
  }

  private runScans(): void {
    const batch = this.scanQ;
    this.scanQ = [];
    native()
      .pull_scan_dirtrees(this.chain.paths, this.chain.modes, batch.map((b) => [b.checksum, b.bytes] as [string, Buffer]))
      .then(
        (res) => batch.forEach((b, i) => b.done(res[i])),
        (err) => batch.forEach((b) => b.fail(err)),
      );
  }

  /**
   * Walk a dirtree. As in ostree, a dirtree already in the repo stands for
   * its whole subtree and is not descended into: a pull that stops before
   * everything below a dirtree it wrote is stored leaves the commit's
   * .commitpartial marker, and the walk of a commit so marked (`full`)
   * checks every object below its root again.
   */
  private async scanDirTree(checksum: string, dirPath: string, full: boolean, knownMissing = false): Promise<void> {
    const { subpaths } = this.opts;
    const { repo, signal, tasks } = this.ctx;
    const inside = subpaths.length === 0 || subpaths.some((d) => dirPath === d || dirPath.startsWith(d + '/'));
    const key = `${checksum}.dirtree${inside ? '' : ':' + dirPath}${full ? '!' : ''}`;
    if (this.seenMeta.has(key)) return;
    this.seenMeta.add(key);
    throwAborted(signal);
    this.counts.scanned++;
    const have = !knownMissing && (await this.presence.has(ObjectType.DirTree, checksum));
    if (have && !full) return;
    let bytes = have ? await repo.loadMetadata(ObjectType.DirTree, checksum, { allowNoent: true }) : null;
    const fetched = bytes === null;
    if (!bytes) {
      bytes = await this.getMetadata(ObjectType.DirTree, checksum);
      // The common case: checked, parsed and its objects looked up natively.
      if (!full && subpaths.length === 0 && (await this.scannedNatively(checksum, bytes))) return;
      checkMeta(bytes, checksum, 'dirtree');
    }
    const tree = parseDirTree(bytes);
    try {
      validateDirTree(tree);
    } catch (err) {
      throw withContext(`Invalid dirtree ${checksum}`, err);
    }
    if (fetched) this.writes.addMetadata(ObjectType.DirTree, bytes, checksum);
    const prefix = dirPath === '/' ? '/' : dirPath + '/';
    for (const [name, c] of tree.files) {
      if (!inside && !matchesSubpath(subpaths, prefix + name, false)) continue;
      this.content.add(c);
    }
    for (const [name, sub, meta] of tree.dirs) {
      const p = prefix + name;
      if (!inside && !matchesSubpath(subpaths, p, true)) continue;
      if (!this.seenMeta.has(meta + '.dirmeta') && this.presence.presentNow(ObjectType.DirMeta, meta)) {
        this.seenMeta.add(meta + '.dirmeta');
        this.counts.scanned++;
      } else this.spawnScan(() => this.scanDirMeta(meta));
      this.spawnScan(() => this.scanDirTree(sub, p, full));
    }
  }

  /**
   * A downloaded dirtree through the native scan: queued with what it
   * names that is missing. False when it is not in normal form (the
   * generic decoder then has the last word).
   */
  private async scannedNatively(checksum: string, bytes: Buffer): Promise<boolean> {
    const r = await this.scanNative(checksum, bytes);
    if ('invalid' in r) return false;
    if ('actual' in r) {
      throw new OstreeError('OSTREE_CORRUPT_OBJECT', `Corrupted dirtree object; checksum expected='${checksum}' actual='${r.actual}'`, { data: { checksum, type: 'dirtree' } });
    }
    const { seenMeta, counts } = this;
    const { tasks } = this.ctx;
    this.writes.addMetadata(ObjectType.DirTree, bytes, checksum);
    for (let o = 0; o < r.missing.length; o += 64) this.content.add(r.missing.slice(o, o + 64), true);
    for (let k = 0, o = 0; k < r.present.length; k++, o += 128) {
      const sub = r.dirs.slice(o, o + 64);
      const meta = r.dirs.slice(o + 64, o + 128);
      if (!seenMeta.has(meta + '.dirmeta')) {
        if (r.present[k] & 2) {
          seenMeta.add(meta + '.dirmeta');
          counts.scanned++;
        } else this.spawnScan(() => this.scanDirMeta(meta, true));
      }
      if (r.present[k] & 1) {
        if (!seenMeta.has(sub + '.dirtree')) {
          seenMeta.add(sub + '.dirtree');
          counts.scanned++;
        }
      } else this.spawnScan(() => this.scanDirTree(sub, '', false, true));
    }
    return true;
  }
}

/** Detached metadata as GLib reads it: invalid serialised data gives an empty dictionary. */
function parseDetached(bytes: Buffer): Metadata {
  try {
    return deserialize<Metadata>('a{sv}', bytes);
  } catch {
    return [];
  }
}
