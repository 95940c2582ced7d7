// Deleting unreachable objects. Mirrors ostree-repo-prune.c and
// ot-builtin-prune.c (FORMATS.md §10): the whole operation, reachability
// included, runs under the EXCLUSIVE repo lock, so no writer can link a new
// object to something we are about to delete.
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { OstreeError, isErrno, throwAborted } from './errors';
import { Repo } from './repo/repo';
import { withRepoLock } from './lock';
import { listRefs, listMirrorRefs, resolveRev } from './refs/refs';
import { serialize } from './gvariant/codec';
import { ObjectType, OBJECT_TYPE_NAMES, COMMITMETA_TYPE, parseCommit, Commit } from './objects/formats';
import { objectKey, traverseCommit, listObjectsFast, DEFAULT_PARALLELISM } from './traverse';
import { clearCommitPartial } from './repo/commit-partial';
import type { Progress } from './progress';
import { native } from './binding';
import { mapLimit, chunk } from './repo/transaction';
import { crashPoint } from './crash-point';

/** Objects per native unlink job. */
const UNLINK_BATCH = 1024;

/** 'reachability' (objects found reachable) → 'prune' (objects examined, of all in the repo). */
export type PruneProgress = Progress<'reachability' | 'prune'>;

export interface PruneOptions {
  /** Reachability only from refs (otherwise every commit object is a root). */
  refsOnly?: boolean;
  /** Parents to keep for each root commit; -1 (default) keeps all history. */
  depth?: number;
  /** Delete non-head commits older than this (a Date, seconds since the epoch, or a date string like "1 week ago"). */
  keepYoungerThan?: Date | number | string;
  /** Delete this commit first (it must not be a ref target). */
  deleteCommit?: string;
  /** Only prune these refs; every other ref keeps its whole history. */
  onlyBranch?: string[];
  /** Per-ref depth overrides, e.g. { 'os/stable': -1, 'os/dev': 5 }. */
  retainBranchDepth?: Record<string, number>;
  /** Only count what would be deleted. */
  noPrune?: boolean;
  /** Only traverse and delete commit objects. */
  commitOnly?: boolean;
  /** Native jobs in flight (default 4; 1 = single-threaded). */
  parallelism?: number;
  /** With deleteCommit/keepYoungerThan: delete only static deltas to those commits. */
  staticDeltasOnly?: boolean;
  signal?: AbortSignal;
  onProgress?: (p: PruneProgress) => void;
}

export interface PruneResult {
  /** Objects considered (commit objects only with commitOnly). */
  total: number;
  /** Objects deleted (or that would be, with noPrune). */
  pruned: number;
  /** Bytes freed (st_size of the deleted object files). */
  freedBytes: number;
  /** Commits deleted by deleteCommit / keepYoungerThan / unreachability. */
  deletedCommits: string[];
  /** Static delta names removed. */
  deletedDeltas: string[];
}

function usage(msg: string): OstreeError {
  return new OstreeError('OSTREE_INVALID_ARGUMENT', msg);
}

/** Object types that live as loose objects subject to pruning. */
const PRUNABLE = new Set<number>([ObjectType.File, ObjectType.DirTree, ObjectType.DirMeta, ObjectType.Commit, ObjectType.PayloadLink]);

/**
 * Delete a loose object; deleting a commit also removes its detached
 * metadata and leaves a tombstone when core.tombstone-commits is set
 * (ostree_repo_delete_object).
 */
export async function deleteObject(repo: Repo, checksum: string, type: ObjectType): Promise<void> {
  const rel = path.relative(path.join(repo.path, 'objects'), repo.objectPath(checksum, type));
  crashPoint();
  if (type === ObjectType.Commit) await fsp.rm(repo.objectPath(checksum, ObjectType.CommitMeta), { force: true });
  try {
    await fsp.unlink(repo.objectPath(checksum, type));
  } catch (err) {
    const reason = isErrno(err, 'ENOENT') ? 'No such file or directory' : (err as Error).message;
    throw new OstreeError(isErrno(err, 'ENOENT') ? 'OSTREE_OBJECT_NOT_FOUND' : 'OSTREE_IO', `Deleting object ${checksum}.${OBJECT_TYPE_NAMES[type]}: unlinkat(${rel}): ${reason}`, {
      cause: err,
      data: { checksum, type: OBJECT_TYPE_NAMES[type] },
    });
  }
  if (type === ObjectType.Commit && repo.config.getBoolean('core', 'tombstone-commits', false)) {
    // a{sv} { "commit": <b"HEX\0"> }
    const body = serialize(COMMITMETA_TYPE, [['commit', { type: 'ay', value: Buffer.from(checksum + '\0') }]]);
    const dest = repo.objectPath(checksum, ObjectType.TombstoneCommit);
    const tmp = `${dest}.tmp-${process.pid}`;
    await fsp.writeFile(tmp, body, { mode: 0o644 });
    await fsp.rename(tmp, dest);
  }
}

/** ot_enable_tombstone_commits: set core.tombstone-commits=true in the config if it isn't. */
export async function enableTombstones(repo: Repo): Promise<void> {
  if (repo.config.getBoolean('core', 'tombstone-commits', false)) return;
  repo.config.set('core', 'tombstone-commits', 'true');
  await repo.writeConfig();
}

/** Parse a date like GNU parse_datetime's common forms; seconds since the epoch, or null. */
export function parseDate(s: string, now = new Date()): number | null {
  const t = s.trim().toLowerCase();
  let m: RegExpExecArray | null;
  if ((m = /^@(-?\d+)$/.exec(t))) return Number(m[1]);
  if (t === 'now') return Math.floor(now.getTime() / 1000);
  const midnight = (d: Date, addDays: number) => {
    const x = new Date(d);
    x.setHours(0, 0, 0, 0);
    x.setDate(x.getDate() + addDays);
    return Math.floor(x.getTime() / 1000);
  };
  if (t === 'today') return midnight(now, 0);
  if (t === 'yesterday') return Math.floor(now.getTime() / 1000) - 86400;
  if (t === 'tomorrow') return Math.floor(now.getTime() / 1000) + 86400;
  if ((m = /^(\d+)?\s*(second|sec|minute|min|hour|day|week|fortnight|month|year)s?(\s+ago)?$/.exec(t))) {
    const n = (m[1] === undefined ? 1 : Number(m[1])) * (m[3] ? -1 : 1);
    const d = new Date(now);
    const secs: Record<string, number> = { second: 1, sec: 1, minute: 60, min: 60, hour: 3600, day: 86400, week: 604800, fortnight: 1209600 };
    if (m[2] in secs) return Math.floor(now.getTime() / 1000) + n * secs[m[2]];
    if (m[2] === 'month') d.setMonth(d.getMonth() + n);
    else d.setFullYear(d.getFullYear() + n);
    return Math.floor(d.getTime() / 1000);
  }
  if ((m = /^(\d{4})-(\d{1,2})-(\d{1,2})(?:[ t](\d{1,2}):(\d{2})(?::(\d{2}))?)?\s*(z|utc|[+-]\d{2}:?\d{2})?$/.exec(t))) {
    const [y, mo, d, h, mi, sec] = [m[1], m[2], m[3], m[4] ?? '0', m[5] ?? '0', m[6] ?? '0'].map(Number);
    if (m[7]) {
      let off = 0;
      if (m[7] !== 'z' && m[7] !== 'utc') {
        const z = m[7].replace(':', '');
        off = (Number(z.slice(1, 3)) * 60 + Number(z.slice(3, 5))) * (z[0] === '-' ? -1 : 1);
      }
      return Math.floor(Date.UTC(y, mo - 1, d, h, mi, sec) / 1000) - off * 60;
    }
    return Math.floor(new Date(y, mo - 1, d, h, mi, sec).getTime() / 1000);
  }
  const p = Date.parse(s);
  return Number.isNaN(p) ? null : Math.floor(p / 1000);
}

function cutoffSeconds(v: Date | number | string): number {
  if (v instanceof Date) return Math.floor(v.getTime() / 1000);
  if (typeof v === 'number') return v;
  const s = parseDate(v);
  if (s === null) throw usage(`Could not parse '${v}'`);
  return s;
}

/** Modified base64 (FORMATS.md §2.2) back to hex. */
function mb64ToHex(s: string): string | null {
  if (s.length !== 43) return null;
  const b = Buffer.from(s.replace(/_/g, '/') + '=', 'base64');
  return b.length === 32 ? b.toString('hex') : null;
}

/** Static deltas present: name ("FROM-TO" or "TO", hex) and directory. */
async function listDeltas(repo: Repo): Promise<Array<{ from: string | null; to: string; dir: string }>> {
  const out: Array<{ from: string | null; to: string; dir: string }> = [];
  const root = path.join(repo.path, 'deltas');
  let pres: string[];
  try {
    pres = await fsp.readdir(root);
  } catch {
    return out;
  }
  for (const pre of pres.sort()) {
    let names: string[];
    try {
      names = await fsp.readdir(path.join(root, pre));
    } catch {
      continue;
    }
    for (const n of names.sort()) {
      const full = pre + n;
      const dash = full.indexOf('-');
      const from = dash >= 0 ? mb64ToHex(full.slice(0, dash)) : null;
      const to = mb64ToHex(dash >= 0 ? full.slice(dash + 1) : full);
      if (!to || (dash >= 0 && !from)) continue;
      out.push({ from, to, dir: path.join(root, pre, n) });
    }
  }
  return out;
}

/**
 * ostree_repo_prune_static_deltas: delete the deltas to `commit`, or (null)
 * every delta whose target commit is gone. Returns the deleted names.
 */
export async function pruneStaticDeltas(repo: Repo, commit: string | null): Promise<string[]> {
  const deleted: string[] = [];
  for (const d of await listDeltas(repo)) {
    if (commit ? d.to !== commit : await repo.hasObject(ObjectType.Commit, d.to, { includeParent: false })) continue;
    await fsp.rm(d.dir, { recursive: true, force: true });
    deleted.push(d.from ? `${d.from}-${d.to}` : d.to);
  }
  return deleted;
}

/**
 * `ostree prune`: delete objects no longer reachable (from refs only with
 * `refsOnly`, keeping `depth` parents; -1 keeps all history), optionally
 * deleting a commit or commits older than `keepYoungerThan` first, and the
 * static deltas whose commits are gone. Runs under the exclusive repo lock.
 *
 * @example
 * import { prune } from 'node-ostree';
 * const { pruned, freedBytes } = await prune(repo, { refsOnly: true, depth: 2 });
 * console.log(`${pruned} objects deleted, ${freedBytes} bytes freed`);
 */
export async function prune(repo: Repo, opts: PruneOptions = {}): Promise<PruneResult> {
  if (opts.deleteCommit && opts.noPrune) throw usage('Cannot specify both --delete-commit and --no-prune');
  if (opts.staticDeltasOnly && !opts.deleteCommit && opts.keepYoungerThan === undefined) {
    throw usage('--static-deltas-only requires --delete-commit; see https://github.com/ostreedev/ostree/issues/1479');
  }
  const cutoff = opts.keepYoungerThan !== undefined ? cutoffSeconds(opts.keepYoungerThan) : null;
  return withRepoLock(repo, 'exclusive', () => pruneLocked(repo, opts, cutoff), { signal: opts.signal });
}

async function pruneLocked(repo: Repo, opts: PruneOptions, cutoff: number | null): Promise<PruneResult> {
  const { signal } = opts;
  const depth = opts.depth ?? -1;
  const parallelism = Math.max(1, Math.floor(opts.parallelism ?? DEFAULT_PARALLELISM));
  const result: PruneResult = { total: 0, pruned: 0, freedBytes: 0, deletedCommits: [], deletedDeltas: [] };
  const refs = await listRefs(repo);
  const mirrors = await listMirrorRefs(repo);

  if (opts.deleteCommit) {
    const c = opts.deleteCommit;
    if (opts.staticDeltasOnly) {
      result.deletedDeltas.push(...(await pruneStaticDeltas(repo, c)));
    } else {
      for (const r of refs) if (r.checksum === c) throw usage(`Commit '${c}' is referenced by '${r.name}'`);
      for (const m of mirrors) if (m.checksum === c) throw usage(`Commit '${c}' is referenced by (${m.collectionId}, ${m.ref})`);
      await enableTombstones(repo);
      await clearCommitPartial(repo, c);
      await deleteObject(repo, c, ObjectType.Commit);
      result.deletedCommits.push(c);
    }
  }

  // Commits older than the cutoff (other than ref heads) are left out of
  // reachability, so the prune below deletes them (or their deltas only).
  const heads = new Set([...refs, ...mirrors].map((r) => r.checksum));
  const isOld = (csum: string, c: Commit) => cutoff !== null && !heads.has(csum) && c.timestamp < BigInt(cutoff);
  if (cutoff !== null && opts.staticDeltasOnly) {
    for (const [csum, type] of await listObjectsFast(repo, { parallelism })) {
      if (type !== ObjectType.Commit) continue;
      if (isOld(csum, parseCommit((await repo.loadMetadata(ObjectType.Commit, csum)) as Buffer))) {
        result.deletedDeltas.push(...(await pruneStaticDeltas(repo, csum)));
      }
    }
  }
  const skipCommit = cutoff !== null && !opts.staticDeltasOnly ? isOld : undefined;

  // --- reachability, computed while we hold the exclusive lock.
  const reachable = new Set<string>();
  const trav = (commit: string, d: number) => {
    throwAborted(signal);
    return traverseCommit(repo, commit, reachable, { maxDepth: d, commitOnly: opts.commitOnly, skipCommit, parallelism });
  };
  const onlyBranch = opts.onlyBranch ?? [];
  if (onlyBranch.length || Object.keys(opts.retainBranchDepth ?? {}).length) {
    // From refs only: the pruned branches to their depth, every other ref whole.
    // As ostree 2022.7 does, a retained depth of 0 is the same as none.
    const depths = new Map(Object.entries(opts.retainBranchDepth ?? {}).filter(([, d]) => d !== 0));
    for (const b of onlyBranch) if (!refs.some((r) => r.name === b || r.ref === b)) await resolveRev(repo, b);
    for (const r of refs) if (onlyBranch.length && !onlyBranch.includes(r.name) && !depths.has(r.name)) depths.set(r.name, -1);
    for (const r of refs) await trav(r.checksum, depths.get(r.name) ?? depth);
  } else if (opts.refsOnly || skipCommit) {
    // (--keep-younger-than also computes reachability from refs only)
    for (const r of refs) await trav(r.checksum, depth);
    for (const m of mirrors) await trav(m.checksum, depth);
  } else {
    // Every commit object is a root.
    const commits: string[] = [];
    for (const [csum, type] of await listObjectsFast(repo, { parallelism, only: ObjectType.Commit })) if (type === ObjectType.Commit) commits.push(csum);
    for (const c of commits) await trav(c, depth);
  }
  opts.onProgress?.({ phase: 'reachability', loaded: reachable.size, total: reachable.size, unit: 'objects' });

  // --- delete what isn't reachable.
  const objects: Array<[string, ObjectType]> = [];
  for (const [csum, type] of await listObjectsFast(repo, { parallelism })) {
    if (!PRUNABLE.has(type)) continue;
    if (opts.commitOnly && type !== ObjectType.Commit) continue;
    objects.push([csum, type]);
  }
  // Plain objects (content, dirtree, dirmeta) are sized and unlinked in
  // native batches; commits and payload links need the per-object rules.
  const plain: Array<[string, ObjectType]> = [];
  let done = 0;
  for (const [csum, type] of objects) {
    throwAborted(signal);
    result.total++;
    if (!reachable.has(objectKey(csum, type))) {
      if (type === ObjectType.File || type === ObjectType.DirTree || type === ObjectType.DirMeta) {
        plain.push([csum, type]);
      } else {
        const st = await fsp.lstat(repo.objectPath(csum, type));
        result.freedBytes += st.size;
        let keep = false;
        if (type === ObjectType.PayloadLink) {
          // Kept while the content object it points to is reachable.
          const target = await fsp.readlink(repo.objectPath(csum, type));
          const m = /([0-9a-f]{2})\/([0-9a-f]{62})\.file$/.exec(target);
          keep = !!m && reachable.has(objectKey(m[1] + m[2], ObjectType.File));
        }
        if (!keep) {
          if (!opts.noPrune) {
            if (type === ObjectType.Commit) await clearCommitPartial(repo, csum);
            await deleteObject(repo, csum, type);
          }
          if (type === ObjectType.Commit) result.deletedCommits.push(csum);
          result.pruned++;
        }
      }
    }
    opts.onProgress?.({ phase: 'prune', loaded: ++done, total: objects.length, unit: 'objects' });
  }
  await mapLimit(chunk(plain, UNLINK_BATCH), parallelism, async (batch) => {
    throwAborted(signal);
    const rels = batch.map(([c, t]) => Repo.relObjectPath(c, t, repo.mode).slice('objects/'.length));
    let sizes: Float64Array;
    try {
      crashPoint();
      sizes = await native().objects_unlink_batch(repo.path, rels, { dryRun: !!opts.noPrune });
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      const i = e.syscall === 'unlink' && e.path ? rels.findIndex((r) => e.path!.endsWith('/' + r)) : -1;
      if (i < 0) throw err;
      const [csum, type] = batch[i];
      const reason = isErrno(err, 'ENOENT') ? 'No such file or directory' : e.message;
      throw new OstreeError(isErrno(err, 'ENOENT') ? 'OSTREE_OBJECT_NOT_FOUND' : 'OSTREE_IO', `Deleting object ${csum}.${OBJECT_TYPE_NAMES[type]}: unlinkat(${rels[i]}): ${reason}`, {
        cause: err,
        data: { checksum: csum, type: OBJECT_TYPE_NAMES[type] },
      });
    }
    for (const s of sizes) result.freedBytes += s;
    result.pruned += batch.length;
  });
  if (!opts.noPrune) result.deletedDeltas.push(...(await pruneStaticDeltas(repo, null)));
  // As ostree (even with --no-prune): cached summaries of remotes that are gone.
  const { pruneSummaryCache } = await import('./pull/summary-cache');
  const { listRemotes } = await import('./remotes/remotes');
  await pruneSummaryCache(repo, await listRemotes(repo));
  return result;
}

