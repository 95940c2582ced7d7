// Compiling a delta plan into parts, in ostree's emission order (FORMATS.md
// §8.7): metadata, rollsum'd files, bsdiff'd files, plain regular files,
// symlinks. Each finished part is compressed on the native pool while the
// next one is being filled (up to `concurrency` in flight) and written to a
// temp file beside its final name; generate.ts renames them into place.
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { OstreeError, throwAborted } from '../errors';
import { native } from '../binding';
import type { Repo } from '../repo/repo';
import { OBJECT_TYPE_NAMES, ObjectType, csumToBytes } from '../objects/formats';
import { PayloadStream, type ContentInfoCache } from './content';
import { readMetadataBatch } from '../traverse';
import { Op, PartBuilder, type FinishedPart } from './part-builder';
import type { PartHeader } from './superblock';
import type { CompressionGate } from './compression';

export interface DeltaPlan {
  /** New metadata objects (the target commit excluded). */
  metadata: Array<[string, ObjectType]>;
  /** to → (from, matched chunks [len, toStart, fromStart]…) applied by rollsum. */
  rollsum: Map<string, RollsumPlan>;
  /** to → from pairs applied by bsdiff. */
  bsdiff: Map<string, string>;
  /** New regular files sent whole. */
  regfiles: string[];
  symlinks: string[];
  /** Regular files left to be fetched as plain objects. */
  fallbacks: string[];
}

export interface RollsumPlan {
  from: string;
  matches: Float64Array;
  matchSize: number;
}

export interface CompileOptions {
  /** Bytes; a new part starts before an object that would take the payload past it. */
  maxChunk: number;
  /** Parts being compressed (or waiting to be) at once; bsdiff jobs at once. */
  concurrency: number;
  /** Lets part compressions start (by default: all `concurrency` at once). */
  gate?: CompressionGate;
  inline: boolean;
  /** Where part files go (temp names until renamed). */
  dir: string;
  signal?: AbortSignal;
  onProgress?: (p: { phase: 'compile'; loaded: number; total: number; unit: 'objects' }) => void;
  onMessage: (line: string) => void;
}

export interface CompiledPart {
  header: PartHeader;
  /** Temp file holding the part (not inline). */
  tmpPath?: string;
  /** The part file bytes (inline). */
  inline?: Buffer;
}

export interface CompiledParts {
  parts: CompiledPart[];
  uncompressed: bigint;
  compressed: bigint;
  loose: number;
  rollsum: number;
  rollsumBytes: number;
  bsdiff: number;
  /** Remove the temp files (on failure). */
  discard(): Promise<void>;
  /** Rename part i to "i" in dir. */
  commit(): Promise<void>;
}

/** Produces a bsdiff patch (native, off the main thread). */
export type PatchFn = (from: Buffer, to: Buffer) => Promise<Buffer>;

/** Bytes of from+to data the patch pipeline may hold at once (one pair always runs). */
const PATCH_BUDGET = 256 * 1024 * 1024;

/**
 * Patches for `pairs` computed ahead of their use, at most `concurrency` at
 * a time and within PATCH_BUDGET of input; take(k) in order 0, 1, …. The
 * inputs come from one payload stream, read ahead in native batches.
 */
function patchPipeline(pairs: Array<[string, string]>, info: ContentInfoCache, concurrency: number, makePatch: PatchFn) {
  const payloads = new PayloadStream(info, pairs.flatMap(([to, from]) => [from, to]));
  const jobs = new Map<number, Promise<Buffer>>();
  const cost = new Map<number, number>();
  let next = 0;
  let held = 0;
  const pump = () => {
    while (next < pairs.length && jobs.size < concurrency) {
      const k = next;
      const [to, from] = pairs[k];
      const c = info.peek(to).size + info.peek(from).size;
      if (jobs.size > 0 && held + c > PATCH_BUDGET) return;
      next++;
      held += c;
      cost.set(k, c);
      const p = Promise.all([payloads.next(), payloads.next()]).then(([a, b]) => makePatch(a, b));
      p.catch(() => {});
      jobs.set(k, p);
    }
  };
  return {
    /** Start the first patches now (they run while earlier sections are compiled). */
    start: pump,
    async take(k: number): Promise<Buffer> {
      if (!jobs.has(k)) pump();
      const p = jobs.get(k) as Promise<Buffer>;
      try {
        return await p;
      } finally {
        jobs.delete(k);
        held -= cost.get(k) ?? 0;
        cost.delete(k);
        pump();
      }
    },
  };
}

const EMPTY = Buffer.alloc(0);

/** The bytes of `objects` (metadata), in order, read in native batches (one type per batch). */
async function readMetadata(repo: Repo, objects: Array<[string, ObjectType]>): Promise<Buffer[]> {
  const out: Buffer[] = new Array(objects.length);
  const byType = new Map<ObjectType, number[]>();
  objects.forEach(([, t], i) => {
    const l = byType.get(t);
    if (l) l.push(i);
    else byType.set(t, [i]);
  });
  for (const [type, idx] of byType) {
    const { data } = await readMetadataBatch(repo, type, idx.map((i) => objects[i][0]));
    idx.forEach((i, k) => {
      const b = data[k];
      if (!b) {
        const csum = objects[i][0];
        throw new OstreeError('OSTREE_OBJECT_NOT_FOUND', `No such metadata object ${csum}.${OBJECT_TYPE_NAMES[type]}`, {
          data: { checksum: csum, type: OBJECT_TYPE_NAMES[type] },
        });
      }
      out[i] = b;
    });
  }
  return out;
}

export async function compileParts(
  repo: Repo,
  plan: DeltaPlan,
  info: ContentInfoCache,
  opts: CompileOptions,
  makePatch: PatchFn = (a, b) => native().bsdiff(a, b),
): Promise<CompiledParts> {
  const parts: Array<Promise<CompiledPart>> = [];
  const inflight: Array<Promise<unknown>> = [];
  let announced: Promise<void> = Promise.resolve();
  const total = plan.metadata.length + plan.rollsum.size + plan.bsdiff.size + plan.regfiles.length + plan.symlinks.length;
  let done = 0;
  let loose = 0;
  let cur = new PartBuilder();
  const result: Omit<CompiledParts, 'discard' | 'commit'> = { parts: [], uncompressed: 0n, compressed: 0n, loose: 0, rollsum: 0, rollsumBytes: 0, bsdiff: 0 };

  const finishCurrent = async (): Promise<void> => {
    const builder = cur;
    cur = new PartBuilder();
    const p = builder.finish(opts.gate).then(async (f: FinishedPart): Promise<CompiledPart> => {
      if (opts.inline) return { header: f.header, inline: f.file };
      const tmpPath = path.join(opts.dir, `.tmp-part-${process.pid}-${Math.random().toString(36).slice(2)}`);
      await fsp.writeFile(tmpPath, f.file, { mode: 0o644 });
      return { header: f.header, tmpPath };
    });
    p.catch(() => {});
    // ostree prints each part's line as it is finished: in order, as soon as it and those before it are.
    const n = parts.length + 1;
    announced = announced.then(() => p).then((cp) => opts.onMessage(`part ${n} n:${cp.header.objects.length} compressed:${cp.header.size} uncompressed:${cp.header.usize}`));
    announced.catch(() => {});
    parts.push(p);
    inflight.push(p);
    if (inflight.length >= opts.concurrency) await inflight.shift();
  };

  const progress = () => opts.onProgress?.({ phase: 'compile', loaded: ++done, total, unit: 'objects' });
  const splitBefore = async (size: number) => {
    if (cur.objects.length > 0 && cur.payload.length + size > opts.maxChunk) await finishCurrent();
  };

  try {
    await info.prefetch([...plan.rollsum.keys(), ...plan.bsdiff.keys(), ...plan.bsdiff.values(), ...plan.regfiles, ...plan.symlinks]);
    const pairs = [...plan.bsdiff];
    const patches = patchPipeline(pairs, info, opts.concurrency, makePatch);
    patches.start();

    // Metadata: spliced whole (stored as is in every mode: its size on disk is its length).
    const metaBytes = await readMetadata(repo, plan.metadata);
    for (let m = 0; m < plan.metadata.length; m++) {
      throwAborted(opts.signal);
      const [csum, type] = plan.metadata[m];
      const bytes = metaBytes[m];
      metaBytes[m] = EMPTY;
      await splitBefore(bytes.length);
      loose += bytes.length;
      cur.usize += BigInt(bytes.length);
      cur.objects.push({ type, checksum: csum });
      const off = cur.payload.append(bytes);
      cur.op(Op.OpenSpliceAndClose, bytes.length, off);
      progress();
    }

    // Rollsum'd files: OPEN, then WRITEs alternating between the payload
    // (unmatched stretches) and the from object (matched chunks), CLOSE.
    const rollsumData = new PayloadStream(info, [...plan.rollsum.keys()]);
    for (const [toCsum, r] of plan.rollsum) {
      throwAborted(opts.signal);
      const pending = rollsumData.next();
      if (cur.objects.length > 0 && cur.payload.length > opts.maxChunk) await finishCurrent();
      const ti = info.peek(toCsum);
      const data = await pending;
      cur.usize += BigInt(ti.size);
      cur.objects.push({ type: ObjectType.File, checksum: toCsum });
      const mi = cur.modeIdx(ti.header.uid, ti.header.gid, ti.header.mode);
      const xi = cur.xattrIdx(ti.header.xattrs);
      const sourceOff = cur.payload.append(csumToBytes(r.from));
      cur.op(Op.Open, mi, xi, ti.size);
      let written = 0;
      let readingPayload = true;
      for (let m = 0; m < r.matches.length; m += 3) {
        const [len, toStart, fromStart] = [r.matches[m], r.matches[m + 1], r.matches[m + 2]];
        const gap = toStart - written;
        if (gap > 0) {
          if (!readingPayload) {
            cur.op(Op.UnsetReadSource);
            readingPayload = true;
          }
          cur.op(Op.Write, gap, cur.payload.append(data.subarray(written, toStart)));
          written += gap;
        }
        if (readingPayload) {
          cur.op(Op.SetReadSource, sourceOff);
          readingPayload = false;
        }
        cur.op(Op.Write, len, fromStart);
        written += len;
      }
      if (!readingPayload) cur.op(Op.UnsetReadSource);
      if (written < data.length) cur.op(Op.Write, data.length - written, cur.payload.append(data.subarray(written)));
      cur.op(Op.Close);
      result.rollsum++;
      result.rollsumBytes += r.matchSize;
      progress();
    }

    // bsdiff'd files: SET_READ_SOURCE, OPEN, BSPATCH, CLOSE, UNSET_READ_SOURCE.
    // Patches are computed ahead on the native pool, within a memory budget.
    const mod = Math.floor(pairs.length / 10);
    for (let k = 0; k < pairs.length; k++) {
      throwAborted(opts.signal);
      const [toCsum, fromCsum] = pairs[k];
      if (mod === 0 || k % mod === 0) opts.onMessage(`processing bsdiff: [${k}/${pairs.length}]`);
      if (cur.objects.length > 0 && cur.payload.length > opts.maxChunk) await finishCurrent();
      const ti = info.peek(toCsum);
      const patch = await patches.take(k);
      cur.usize += BigInt(ti.size);
      cur.objects.push({ type: ObjectType.File, checksum: toCsum });
      const mi = cur.modeIdx(ti.header.uid, ti.header.gid, ti.header.mode);
      const xi = cur.xattrIdx(ti.header.xattrs);
      cur.op(Op.SetReadSource, cur.payload.append(csumToBytes(fromCsum)));
      cur.op(Op.Open, mi, xi, ti.size);
      cur.op(Op.Bspatch, cur.payload.length, patch.length);
      cur.payload.append(patch);
      cur.op(Op.Close);
      cur.op(Op.UnsetReadSource);
      result.bsdiff++;
      progress();
    }

    // Plain content: regular files, then symlinks (target as data, size 0).
    const plainData = new PayloadStream(info, plan.regfiles);
    for (const csum of [...plan.regfiles, ...plan.symlinks]) {
      throwAborted(opts.signal);
      const ci = info.peek(csum);
      const pending = ci.isSymlink ? null : plainData.next();
      await splitBefore(ci.size);
      loose += ci.storage;
      cur.usize += BigInt(ci.size);
      cur.objects.push({ type: ObjectType.File, checksum: csum });
      const mi = cur.modeIdx(ci.header.uid, ci.header.gid, ci.header.mode);
      const xi = cur.xattrIdx(ci.header.xattrs);
      const data = pending ? await pending : Buffer.from(ci.header.symlinkTarget, 'utf8');
      const off = cur.payload.append(data);
      cur.op(Op.OpenSpliceAndClose, mi, xi, data.length, off);
      progress();
    }
    await finishCurrent();
    result.parts = await Promise.all(parts);
    await announced;
  } catch (err) {
    const settled = await Promise.allSettled(parts);
    await Promise.all(settled.map((s) => (s.status === 'fulfilled' && s.value.tmpPath ? fsp.rm(s.value.tmpPath, { force: true }) : null)));
    throw err;
  }
  result.loose = loose;
  for (const p of result.parts) {
    result.uncompressed += p.header.usize;
    result.compressed += p.header.size;
  }
  return {
    ...result,
    async discard() {
      await Promise.all(result.parts.map((p) => (p.tmpPath ? fsp.rm(p.tmpPath, { force: true }) : null)));
    },
    async commit() {
      for (let i = 0; i < result.parts.length; i++) {
        const t = result.parts[i].tmpPath;
        if (t) await fsp.rename(t, path.join(opts.dir, String(i)));
      }
    },
  };
}
