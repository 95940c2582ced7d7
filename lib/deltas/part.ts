// One static delta part (FORMATS.md §8.4–§8.6), executed by the native
// part executor (native/delta_part.h) in a single pool job: the part file's
// checksum, decompression, and every operation. This module only gathers
// the repository chain and turns the executor's verdict into OstreeErrors.
import { OstreeError } from '../errors';
import { native, DeltaPartResult } from '../binding';
import type { Repo } from '../repo/repo';
import { csumToBytes } from '../objects/formats';
import type { PartHeader } from './superblock';
import { crashPoint } from '../crash-point';

/**
 * The largest decompressed part body accepted. The part header's
 * uncompressed size does not bound the body (bsdiff patches, source
 * checksums and symlink targets are not counted in it, §8.4), so the bound is
 * generous around it: twice the declared size plus 64 MiB, and never more
 * than this absolute cap.
 */
export const MAX_PART_BODY = 4 * 1024 * 1024 * 1024;

export function partBodyLimit(header: PartHeader): number {
  const declared = Number(header.usize);
  if (!Number.isFinite(declared) || declared > MAX_PART_BODY) return MAX_PART_BODY;
  return Math.min(MAX_PART_BODY, declared * 2 + 64 * 1024 * 1024);
}

/**
 * The largest part file accepted for `header` (the executor refuses a larger
 * one): its body limit plus xz's worst-case expansion of incompressible data.
 * A pull refuses a part declaring more before fetching it.
 */
export function partFileLimit(header: PartHeader): number {
  const body = partBodyLimit(header);
  return body + Math.floor(body / 64) + 65536;
}

/** The part header's object list as the executor takes it: 33-byte records. */
export function partObjectRecords(header: PartHeader): Buffer {
  const out = Buffer.allocUnsafe(header.objects.length * 33);
  header.objects.forEach((o, i) => {
    out[i * 33] = o.type;
    if (csumToBytes(o.checksum).copy(out, i * 33 + 1) !== 32) throw new RangeError(`Invalid checksum ${o.checksum}`);
  });
  return out;
}

/** The repository and its core.parent chain (read sources may come from any). */
function repoChain(repo: Repo): Repo[] {
  const chain: Repo[] = [];
  for (let r: Repo | null = repo; r && chain.length < 64; r = r.parent) chain.push(r);
  return chain;
}

/** The part format version this implementation executes (ostree's OSTREE_DELTAPART_VERSION). */
export const DELTAPART_VERSION = 0;

/** ostree's check of a part header's version, before anything of the delta is written. */
export function checkPartVersion(header: PartHeader): void {
  if (header.version > DELTAPART_VERSION) throw new OstreeError('OSTREE_INVALID_ARGUMENT', `Delta part has too new version ${header.version}`);
}

/** Whether every object part `header` creates is already in `repo` (ostree's _ostree_repo_static_delta_part_have_all_objects): then it need not run. */
export async function partComplete(repo: Repo, header: PartHeader): Promise<boolean> {
  for (const o of header.objects) if (!(await repo.hasObject(o.type, o.checksum))) return false;
  return true;
}

export interface PartExecuteOptions {
  /** Check the part file's SHA-256 against the header (not for inline parts). */
  verifyChecksum: boolean;
  /** Only count operations (static-delta show): nothing is written. */
  statsOnly?: boolean;
  fsync?: boolean;
}

export type PartStats = Extract<DeltaPartResult, { ok: true }>;

/**
 * Execute one part, given as the part file's bytes or its path. Objects are
 * written to `repo` only once each is verified. A bad part rejects with
 * OSTREE_CORRUPT_OBJECT (checksum or content), I/O errors keep their errno code.
 */
export async function executePart(repo: Repo, part: Buffer | string, header: PartHeader, opts: PartExecuteOptions): Promise<PartStats> {
  const chain = repoChain(repo);
  crashPoint();
  const r = await native().delta_part_execute(
    chain.map((x) => x.path),
    chain.map((x) => x.mode),
    part,
    partObjectRecords(header),
    {
      checksum: opts.verifyChecksum ? header.checksum : undefined,
      maxBodySize: partBodyLimit(header),
      statsOnly: opts.statsOnly,
      fsync: opts.fsync,
      zlibLevel: repo.zlibLevel,
    },
  );
  if (!r.ok) throw new OstreeError('OSTREE_CORRUPT_OBJECT', r.message, { data: { kind: r.kind } });
  return r;
}
