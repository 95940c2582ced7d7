// Applying a static delta that is already on disk (FORMATS.md §8.8,
// ostree_repo_static_delta_execute_offline_with_signature): the superblock
// is read (signed or not) and checked, then each part is executed natively
// in one transaction; the target commit is written last, so a failure never
// leaves a visible commit whose tree is incomplete.
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { OstreeError, isErrno, throwAborted, withContext } from '../errors';
import type { Repo } from '../repo/repo';
import { Transaction, TransactionOptions } from '../repo/transaction';
import type { Progress } from '../progress';
import { ObjectType, COMMITMETA_TYPE } from '../objects/formats';
import { serialize } from '../gvariant/codec';
import { describeErrno } from '../errors';
import { Superblock, parseSuperblock, unwrapSignedSuperblock, inlinePart, superblockCommitMeta } from './superblock';
import { executePart, partComplete, checkPartVersion } from './part';
import { DeltaSignEngine, verifySignedSuperblock } from './sign';

/** A superblock read from disk larger than this is refused (pull uses the same cap). */
const MAX_SUPERBLOCK_FILE = 64 * 1024 * 1024;

/** The library's one progress shape (lib/progress.ts on main), counted in parts. */
/** Parts done (applied or skipped) of the superblock's parts, and the objects written so far. */
export interface ApplyDeltaProgress extends Progress<'delta-parts'> {
  unit: 'parts';
  total: number;
  /** Objects written so far. */
  written: number;
}

export interface ApplyDeltaOptions extends TransactionOptions {
  signal?: AbortSignal;
  /** Parts executed at once (default DEFAULT_PART_PARALLELISM). */
  partParallelism?: number;
  onProgress?: (p: ApplyDeltaProgress) => void;
  /** Check a signed superblock with this engine (unsigned deltas are applied as they are). */
  sign?: DeltaSignEngine | null;
}

export interface ApplyDeltaResult {
  from: string | null;
  to: string;
  partsApplied: number;
  partsSkipped: number;
  objectsWritten: number;
}

/**
 * Parts executed at once. Parts are independent (read sources come from the
 * repository, never from another part), so they run on several pool threads;
 * memory is then bounded by this many of the largest part.
 */
export const DEFAULT_PART_PARALLELISM = 2;

/**
 * Run fn(0..n-1), at most `limit` at a time, in order of start. After a
 * failure (or an abort) no new part starts, and the first error is thrown
 * only once every running part has finished: nothing writes to the
 * repository after this returns.
 */
async function forEachPart(n: number, limit: number, signal: AbortSignal | undefined, fn: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  let failure: { err: unknown } | null = null;
  const worker = async () => {
    while (!failure && next < n) {
      const i = next++;
      try {
        throwAborted(signal);
        await fn(i);
      } catch (err) {
        failure ??= { err };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, n) }, worker));
  if (failure) throw (failure as { err: unknown }).err;
}

/** Where a delta's superblock and parts are: a delta directory, or a superblock file with its parts beside it. */
interface DeltaLocation {
  dir: string | null;
  superblock: Buffer;
}

function osError(prefix: string, err: unknown): Error {
  if (isErrno(err)) {
    return new OstreeError(err.code === 'ENOENT' ? 'OSTREE_NOT_FOUND' : 'OSTREE_IO', `${prefix}: ${describeErrno(err.code as string)}`, { cause: err });
  }
  return err as Error;
}

async function readSuperblockFile(file: string, name: string): Promise<Buffer> {
  let fh: fsp.FileHandle;
  try {
    fh = await fsp.open(file, 'r');
  } catch (err) {
    throw osError(`openat(${name})`, err);
  }
  try {
    const st = await fh.stat();
    if (st.size > MAX_SUPERBLOCK_FILE) throw new OstreeError('OSTREE_CORRUPT_OBJECT', `Static delta superblock ${file} is too large (${st.size} bytes)`);
    return await fh.readFile();
  } finally {
    await fh.close();
  }
}

async function locateDelta(source: string): Promise<DeltaLocation> {
  let st;
  try {
    st = await fsp.stat(source);
  } catch (err) {
    throw osError('openat(O_DIRECTORY)', err);
  }
  if (st.isDirectory()) return { dir: source, superblock: await readSuperblockFile(path.join(source, 'superblock'), 'superblock') };
  return { dir: path.dirname(source), superblock: await readSuperblockFile(source, path.basename(source)) };
}

/**
 * Unwrap and, when an engine is given, verify a signed superblock; then parse
 * it. core.sign-verify-deltas=true makes the engine mandatory for signed deltas.
 */
export async function readSuperblock(repo: Repo, bytes: Buffer, sign?: DeltaSignEngine | null): Promise<{ sb: Superblock; signed: boolean }> {
  const signed = unwrapSignedSuperblock(bytes);
  if (!signed) return { sb: parseSuperblock(bytes), signed: false };
  if (!sign && repo.config.getBoolean('core', 'sign-verify-deltas', false)) {
    throw new OstreeError('OSTREE_SIGN_VERIFY_FAILED', 'Key is mandatory to check delta signature');
  }
  if (sign) await verifySignedSuperblock(signed, sign);
  return { sb: parseSuperblock(signed.superblock), signed: true };
}

/** Everything ostree checks, and what it leaves unchecked, before anything is written. */
async function checkSuperblock(repo: Repo, sb: Superblock): Promise<void> {
  if (sb.from && !(await repo.hasObject(ObjectType.Commit, sb.from))) {
    throw new OstreeError('OSTREE_OBJECT_NOT_FOUND', `Commit ${sb.from}, which is the delta source, is not in repository`, { data: { checksum: sb.from } });
  }
  // ostree 2022.7 checks this only after writing the target commit.
  if (sb.fallbacks.length > 0) {
    throw new OstreeError('OSTREE_INVALID_ARGUMENT', 'Cannot execute delta offline: contains nonempty http fallback entries');
  }
  sb.parts.forEach((p, i) => {
    checkPartVersion(p);
    // The target commit comes from the superblock, last; a part must not write it early.
    if (p.objects.some((o) => o.type === ObjectType.Commit && o.checksum === sb.to)) {
      throw new OstreeError('OSTREE_CORRUPT_OBJECT', `Delta part ${i} lists the target commit ${sb.to}`);
    }
  });
}

/**
 * Execute the parts of a parsed superblock in `tx`, then write the target
 * commit (and its detached metadata). `partSource(i)` gives part i's file
 * path, or null when it has none (inline parts need none).
 */
export async function executeDelta(
  tx: Transaction,
  sb: Superblock,
  partSource: (i: number) => string | null,
  opts: { signal?: AbortSignal; onProgress?: (p: ApplyDeltaProgress) => void; parallelism?: number } = {},
): Promise<ApplyDeltaResult> {
  const repo = tx.repo;
  const result: ApplyDeltaResult = { from: sb.from, to: sb.to, partsApplied: 0, partsSkipped: 0, objectsWritten: 0 };
  const total = sb.parts.length;
  const report = () => opts.onProgress?.({ phase: 'delta-parts', loaded: result.partsApplied + result.partsSkipped, total, unit: 'parts', written: result.objectsWritten });
  const one = async (i: number): Promise<void> => {
    const header = sb.parts[i];
    if (await partComplete(repo, header)) {
      result.partsSkipped++;
      report();
      return;
    }
    const inline = inlinePart(sb, i);
    let source: Buffer | string;
    if (inline) source = inline;
    else {
      const file = partSource(i);
      if (file === null) throw new OstreeError('OSTREE_NOT_FOUND', `Opening deltapart '${i}': No such file or directory`);
      source = file;
    }
    tx.reserveContent(Number(header.usize));
    let stats;
    try {
      // Inline parts are covered by the superblock; only part files are checksummed (as ostree).
      stats = await executePart(repo, source, header, { verifyChecksum: !inline, fsync: tx.perObjectFsync });
    } catch (err) {
      if (isErrno(err) && (err as NodeJS.ErrnoException).syscall === 'open') throw osError(`Opening deltapart '${i}'`, err);
      if (err instanceof OstreeError && err.data.kind !== 'corrupt') throw err;
      throw withContext(`Executing delta part ${i}`, err);
    }
    tx.noteObjectsWritten(stats.written, stats.bytes);
    result.partsApplied++;
    result.objectsWritten += stats.written;
    report();
  };
  await forEachPart(total, Math.max(1, opts.parallelism ?? DEFAULT_PART_PARALLELISM), opts.signal, one);
  throwAborted(opts.signal);
  if (!(await repo.hasObject(ObjectType.Commit, sb.to))) {
    const meta = superblockCommitMeta(sb);
    if (meta) await tx.writeCommitMeta(sb.to, serialize(COMMITMETA_TYPE, meta));
    await tx.writeMetadata(ObjectType.Commit, sb.commit, sb.to);
    result.objectsWritten++;
  }
  return result;
}

/**
 * `ostree static-delta apply-offline`: apply a static delta from disk into
 * `repo`. `source` is a delta directory (superblock and parts 0, 1, …) or a
 * superblock file whose parts lie beside it; a Buffer is a superblock whose
 * parts are all inline. Every part is checked before use (bad input throws
 * OSTREE_CORRUPT_OBJECT); no ref is changed.
 *
 * @example
 * import { applyDelta, setRef } from 'node-ostree';
 * const { to } = await applyDelta(repo, '/media/usb/exampleos-delta/superblock');
 * await setRef(repo, 'exampleos/stable', to);
 */
export async function applyStaticDelta(repo: Repo, source: string | Buffer, opts: ApplyDeltaOptions = {}): Promise<ApplyDeltaResult> {
  throwAborted(opts.signal);
  const loc: DeltaLocation = typeof source === 'string' ? await locateDelta(source) : { dir: null, superblock: source };
  const { sb } = await readSuperblock(repo, loc.superblock, opts.sign);
  await checkSuperblock(repo, sb);
  const tx = await Transaction.begin(repo, opts);
  try {
    const r = await executeDelta(tx, sb, (i) => (loc.dir === null ? null : path.join(loc.dir, String(i))), {
      signal: opts.signal,
      onProgress: opts.onProgress,
      parallelism: opts.partParallelism,
    });
    await tx.commit();
    return r;
  } catch (err) {
    await tx.abort();
    throw err;
  }
}
