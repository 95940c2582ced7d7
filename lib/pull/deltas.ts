// Pulling by static delta (FORMATS.md §7.4, §8; ostree-repo-pull.c:
// initiate_request, initiate_delta_request, get_best_static_delta_start_for,
// on_superblock_fetched, process_one_static_delta). Before the object walk,
// each target commit gets a plan: a delta (its superblock fetched, checked
// against the digest the summary or a delta index lists, and parsed), or
// none. The walk then takes the target commit (and its detached metadata)
// from the superblock, verifies and writes it as it does any commit, and asks
// this module to fetch and execute the parts the repo still needs before it
// scans the tree; whatever is still missing after that (fallback objects
// among it) is fetched loose by the walk, so a delta is one more way to
// satisfy the walk, not another path beside it.
import { statfs, rm } from 'node:fs/promises';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import { OstreeError, throwAborted, withContext } from '../errors';
import type { Repo } from '../repo/repo';
import { ObjectType, OBJECT_TYPE_NAMES, COMMITMETA_TYPE, Metadata } from '../objects/formats';
import { deserialize, serialize } from '../gvariant/codec';
import { resolveRev } from '../refs/refs';
import { formatSize } from '../format-size';
import { Superblock, SignedSuperblock, parseSuperblock, unwrapSignedSuperblock, deltaName, parseDeltaName, deltaRelDir, deltaIndexRelPath, inlinePart, superblockCommitMeta, MAX_SUPERBLOCK_SIZE } from '../deltas/superblock';
import { executePart, partComplete, checkPartVersion, partFileLimit } from '../deltas/part';
import type { Summary } from '../summary';
import type { PullContext } from './context';
import type { PullSource } from './source';
import type { PullCounters } from './progress';
import { metaValue } from './verify';

/** ostree's _OSTREE_MAX_OUTSTANDING_DELTAPART_REQUESTS. */
const MAX_PARTS_IN_FLIGHT = 2;

/** How a pull may use deltas (after ostree's defaults: none into archive repos, none for commit metadata only, none for local imports). */
export interface DeltaPolicy {
  disabled: boolean;
  required: boolean;
  /** The summary is GPG-verified: a delta it does not list is refused. */
  gpgVerifySummary: boolean;
}

/** The deltas a remote offers: names (FROM-TO or TO) and their superblocks' SHA-256. */
export class DeltaCatalog {
  readonly digests = new Map<string, string>();
  /** The summary lists deltas (ostree.static-deltas is not empty). */
  summaryHasDeltas = false;
  /** Deltas are listed per target in delta-indexes/ (summary ostree.summary.indexed-deltas, or core.indexed-deltas). */
  indexed = false;

  static fromSummary(summary: Summary | null, configIndexed: boolean): DeltaCatalog {
    const c = new DeltaCatalog();
    c.indexed = configIndexed;
    if (summary) {
      const deltas = metaValue(summary.metadata, 'ostree.static-deltas') as Metadata | undefined;
      c.summaryHasDeltas = !!deltas && deltas.length > 0;
      if (deltas) c.add(deltas);
      if (metaValue(summary.metadata, 'ostree.summary.indexed-deltas') === true) c.indexed = true;
    }
    return c;
  }

  /** collect_available_deltas_for_pull: every value must be a checksum. */
  add(deltas: Metadata): void {
    for (const [name, v] of deltas) {
      if (v.type !== 'ay') throw new OstreeError('OSTREE_CORRUPT_OBJECT', `Invalid checksum variant of type '${v.type}', expected 'ay'`);
      const b = v.value as Buffer;
      if (b.length !== 32) throw new OstreeError('OSTREE_CORRUPT_OBJECT', `Invalid checksum of length ${b.length} expected 32`);
      this.digests.set(name, b.toString('hex'));
    }
  }
}

/** A delta chosen for a target commit, its superblock fetched and parsed. */
export interface PlannedDelta {
  from: string | null;
  to: string;
  superblock: Superblock;
  /** The target commit's detached metadata carried in the superblock, serialized. */
  detached: Buffer | null;
}

type Search = { result: 'unchanged' } | { result: 'none' } | { result: 'from'; from: string } | { result: 'scratch' };

async function isCompleteCommit(repo: Repo, checksum: string): Promise<boolean> {
  return (await repo.hasObject(ObjectType.Commit, checksum)) && !(await repo.isCommitPartial(checksum));
}

/**
 * _ostree_parse_delta_name for a name the remote lists: each side must be a
 * checksum (ostree_validate_structureof_checksum_string's errors, the name
 * cut at 64 characters and newlines made spaces as ostree quashes it).
 */
function parseListedDeltaName(name: string): { from: string | null; to: string } {
  const dash = name.indexOf('-');
  const sides = dash < 0 ? [name] : [name.slice(0, dash), name.slice(dash + 1)];
  for (const c of sides) {
    if (c.length !== 64) throw new OstreeError('OSTREE_INVALID_ARGUMENT', `Invalid rev ${[...c].slice(0, 64).join('').replace(/\n/g, ' ')}`, { data: { name } });
    const bad = [...Buffer.from(c, 'utf8')].find((b) => !((b >= 48 && b <= 57) || (b >= 97 && b <= 102)));
    if (bad !== undefined) throw new OstreeError('OSTREE_INVALID_ARGUMENT', `Invalid character '${bad}' in rev '${c}'`, { data: { name } });
  }
  return parseDeltaName(name);
}

/** get_best_static_delta_start_for: the newest complete local commit a listed delta starts from, else a scratch delta. */
async function bestDeltaFor(repo: Repo, catalog: DeltaCatalog, to: string): Promise<Search> {
  if (await isCompleteCommit(repo, to)) return { result: 'unchanged' };
  let scratch = false;
  const candidates: string[] = [];
  for (const name of catalog.digests.keys()) {
    const { from, to: t } = parseListedDeltaName(name);
    if (t !== to) continue;
    if (from) candidates.push(from);
    else scratch = true;
  }
  let best: string | null = null;
  let bestTs = 0n;
  for (const c of candidates) {
    if (!(await isCompleteCommit(repo, c))) continue;
    const ts = (await repo.readCommit(c)).timestamp;
    if (best === null || ts > bestTs) {
      best = c;
      bestTs = ts;
    }
  }
  if (best) return { result: 'from', from: best };
  return scratch ? { result: 'scratch' } : { result: 'none' };
}

function requiredError(from: string | null, to: string): OstreeError {
  // ostree formats a missing FROM with printf's "%s" of NULL.
  return new OstreeError('OSTREE_NOT_FOUND', `Static deltas required, but none found for ${from ?? '(null)'} to ${to}`, { data: { from, to } });
}

export interface DeltaPlanContext {
  repo: Repo;
  src: PullSource;
  /** The local ref a remote ref is pulled into (REMOTE:REF, whatever --mirror says, as ostree looks it up). */
  refSpec: (ref: string) => string;
  catalog: DeltaCatalog;
  policy: DeltaPolicy;
  counts: PullCounters;
  onChange: () => void;
  /** Check a signed superblock's signatures (the remote's sign-verify keys); unset: signatures are not checked. */
  verifySigned?: (signed: SignedSuperblock) => Promise<void>;
}

/**
 * initiate_request for one target: the delta to use, null to fetch the
 * commit's objects one by one, or 'skip' when deltas are required and the
 * commit is already complete here (ostree then does not even look at it).
 */
export async function planDelta(ctx: DeltaPlanContext, ref: string | null, to: string): Promise<PlannedDelta | null | 'skip'> {
  const { repo, catalog, policy } = ctx;
  if (policy.disabled) return null;
  let fromRev: string | null = null;
  if (ref !== null) fromRev = await resolveRev(repo, ctx.refSpec(ref), { allowNoent: true }).catch(() => null);

  if (catalog.indexed) {
    const index = await fetchOptional(ctx, deltaIndexRelPath(to), MAX_SUPERBLOCK_SIZE);
    if (index) {
      let deltas: Metadata | undefined;
      try {
        const md = deserialize<Metadata>('a{sv}', index);
        deltas = md.find(([k]) => k === 'ostree.static-deltas')?.[1].value as Metadata | undefined;
      } catch (err) {
        throw new OstreeError('OSTREE_CORRUPT_OBJECT', `Invalid static delta index for ${to}: ${(err as Error).message}`, { cause: err });
      }
      if (deltas) catalog.add(deltas);
    }
    return searchAndFetch(ctx, ref, to, fromRev);
  }
  if (catalog.summaryHasDeltas) return searchAndFetch(ctx, ref, to, fromRev);
  if (ref !== null) {
    // No list of deltas: try one from the ref's current commit (if complete), or from scratch.
    if (fromRev && (await repo.isCommitPartial(fromRev))) fromRev = null;
    if (fromRev === to) return null;
    return fetchSuperblock(ctx, fromRev, to);
  }
  return fetchSuperblock(ctx, null, to);
}

/** initiate_delta_request. */
async function searchAndFetch(ctx: DeltaPlanContext, ref: string | null, to: string, fromRev: string | null): Promise<PlannedDelta | null | 'skip'> {
  const s = await bestDeltaFor(ctx.repo, ctx.catalog, to);
  switch (s.result) {
    case 'none':
      if (ctx.policy.required) throw requiredError(ref ?? '', to);
      return null;
    case 'from':
      return fetchSuperblock(ctx, s.from, to);
    case 'scratch':
      // A ref that exists locally is likely a few commits behind: objects cost less than a whole tree.
      return fromRev !== null ? null : fetchSuperblock(ctx, null, to);
    case 'unchanged':
      // Historically the detached metadata is fetched again; not when deltas are required (least traffic).
      return ctx.policy.required ? 'skip' : null;
  }
}

/** A metadata-sized file of the remote (delta index, superblock); null when absent. */
async function fetchOptional(ctx: DeltaPlanContext, rel: string, maxSize: number): Promise<Buffer | null> {
  const { counts } = ctx;
  counts.metadataRequested++;
  counts.outstanding++;
  counts.outstandingMeta++;
  ctx.onChange();
  try {
    const b = await ctx.src.fetchDeltaFile(rel, { optional: true, maxSize });
    counts.metadataFetched++;
    return b;
  } finally {
    counts.outstanding--;
    counts.outstandingMeta--;
    ctx.onChange();
  }
}

/** on_superblock_fetched: a missing superblock means objects (unless deltas are required). */
async function fetchSuperblock(ctx: DeltaPlanContext, from: string | null, to: string): Promise<PlannedDelta | null> {
  const bytes = await fetchOptional(ctx, `${deltaRelDir(from, to)}/superblock`, MAX_SUPERBLOCK_SIZE);
  if (!bytes) {
    if (ctx.policy.required) throw requiredError(from, to);
    return null;
  }
  const name = deltaName(from, to);
  const expected = ctx.catalog.digests.get(name);
  if (ctx.policy.gpgVerifySummary && !expected) {
    throw new OstreeError(
      'OSTREE_GPG_VERIFY_FAILED',
      'GPG verification enabled, but no summary signatures found (use gpg-verify-summary=false in remote config to disable)',
      { data: { reason: 'no-signature' } },
    );
  }
  if (expected && createHash('sha256').update(bytes).digest('hex') !== expected) {
    throw new OstreeError('OSTREE_CORRUPT_OBJECT', `Invalid checksum for static delta ${name}`, { data: { delta: name } });
  }
  let superblock: Superblock;
  let signed: SignedSuperblock | null;
  try {
    signed = unwrapSignedSuperblock(bytes);
    superblock = parseSuperblock(signed ? signed.superblock : bytes);
  } catch (err) {
    throw withContext(`Static delta ${name}`, err);
  }
  // A signed superblock is checked with the remote's keys when it verifies signatures (the commit is verified in any case).
  if (signed && ctx.verifySigned) await ctx.verifySigned(signed).catch((err) => Promise.reject(withContext(`Static delta ${name}`, err)));
  if (superblock.to !== to || superblock.from !== from) {
    throw new OstreeError('OSTREE_CORRUPT_OBJECT', `Static delta ${name}: superblock is for ${deltaName(superblock.from, superblock.to)}`);
  }
  const meta = superblockCommitMeta(superblock);
  return { from, to, superblock, detached: meta ? serialize(COMMITMETA_TYPE, meta) : null };
}

/**
 * process_one_static_delta's accounting, for every planned delta: totals of
 * parts, fallbacks and sizes as ostree counts them, with parts whose objects
 * are all present (a resumed pull) and present fallbacks counted as fetched;
 * then ostree's free-space check against the uncompressed size. Returns, per
 * target, the parts still to fetch.
 */
export async function accountDeltas(repo: Repo, plans: Map<string, PlannedDelta>, c: PullCounters): Promise<Map<string, number[]>> {
  const todo = new Map<string, number[]>();
  for (const d of plans.values()) {
    const sb = d.superblock;
    for (const f of sb.fallbacks) {
      if (f.type !== ObjectType.File) throw new OstreeError('OSTREE_CORRUPT_OBJECT', `Found metadata object as fallback: ${f.checksum}.${OBJECT_TYPE_NAMES[f.type]}`);
      c.deltaFallbacksTotal++;
      c.deltaBytesTotal += Number(f.size);
      c.deltaUsizeTotal += Number(f.usize);
      if (await repo.hasObject(f.type, f.checksum)) c.deltaBytesFetched += Number(f.size);
    }
    c.deltaPartsTotal += sb.parts.length;
    const parts: number[] = [];
    for (let i = 0; i < sb.parts.length; i++) {
      const p = sb.parts[i];
      checkPartVersion(p);
      c.deltaBytesTotal += Number(p.size);
      c.deltaUsizeTotal += Number(p.usize);
      if (await partComplete(repo, p)) {
        c.deltaPartsFetched++;
        c.deltaBytesFetched += Number(p.size);
        continue;
      }
      // A part declaring more bytes than its objects can need would be downloaded to the
      // end (ostree fetches up to the declared size): refused before it is requested.
      if (p.size > BigInt(partFileLimit(p)) && !inlinePart(sb, i)) {
        throw new OstreeError('OSTREE_CORRUPT_OBJECT', `Delta part ${i} of ${deltaName(d.from, d.to)} declares ${p.size} bytes, more than ${partFileLimit(p)} allowed for ${p.usize} uncompressed`, {
          data: { part: i, size: Number(p.size), usize: Number(p.usize) },
        });
      }
      parts.push(i);
    }
    todo.set(d.to, parts);
  }
  const st = await statfs(repo.path);
  if (Math.floor(c.deltaUsizeTotal / st.bsize) > st.bfree) {
    throw new OstreeError('OSTREE_IO', `Delta requires ${formatSize(c.deltaUsizeTotal)} free space, but only ${formatSize(st.bsize * st.bfree)} available`, {
      data: { required: c.deltaUsizeTotal, available: st.bsize * st.bfree },
    });
  }
  return todo;
}

/**
 * The delta side of a pull's object phase: fetches and executes the parts a
 * target still needs, up to two at a time.
 */
export class StaticDeltaFetch {
  constructor(
    private readonly ctx: PullContext,
    private readonly plans: Map<string, PlannedDelta>,
    /** Per target, the parts accountDeltas found missing. */
    private readonly todo: Map<string, number[]>,
  ) {}

  /** The delta planned for target commit `to`. */
  get(to: string): PlannedDelta | undefined {
    return this.plans.get(to);
  }

  /** Fetch and execute the parts of `d` that were missing (once: a later call does nothing). */
  async apply(d: PlannedDelta): Promise<void> {
    const todo = this.todo.get(d.to) ?? [];
    this.todo.set(d.to, []);
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < todo.length) {
        throwAborted(this.ctx.signal);
        await this.applyPart(d, todo[next++]);
      }
    };
    await Promise.all(Array.from({ length: Math.min(MAX_PARTS_IN_FLIGHT, todo.length) }, worker));
    throwAborted(this.ctx.signal);
  }

  private async applyPart(d: PlannedDelta, i: number): Promise<void> {
    const { repo, tx, src } = this.ctx;
    const c = this.ctx.progress.counts;
    const header = d.superblock.parts[i];
    const inline = inlinePart(d.superblock, i);
    let part: Buffer | string;
    let spilled: string | null = null;
    if (inline) part = inline;
    else {
      c.outstanding++;
      this.ctx.progress.emit();
      try {
        const got = await src.fetchDeltaPart(`${deltaRelDir(d.from, d.to)}/${i}`, Number(header.size), path.join(repo.path, 'tmp'));
        if (got.data) part = got.data;
        else {
          part = got.file;
          if (got.spilled) spilled = got.file;
        }
      } finally {
        c.outstanding--;
      }
    }
    try {
      tx.reserveContent(Number(header.usize));
      // Inline parts are covered by the superblock's digest; part files are checked against their header (as ostree).
      const stats = await executePart(repo, part, header, { verifyChecksum: !inline, fsync: tx.perObjectFsync });
      tx.noteObjectsWritten(stats.written, stats.bytes);
    } catch (err) {
      throw withContext(`Executing delta part ${i} of ${deltaName(d.from, d.to)}`, err);
    } finally {
      if (spilled) await rm(spilled, { force: true });
    }
    c.deltaPartsFetched++;
    c.deltaBytesFetched += Number(header.size);
    this.ctx.progress.emit();
  }
}
