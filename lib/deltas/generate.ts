// Static delta generation (`ostree static-delta generate`,
// ostree-repo-static-delta-compilation.c; FORMATS.md §8.7): plan which
// objects go how (plain, rollsum, bsdiff, fallback), compile them into parts
// (compile.ts), then write the parts and, last, the superblock — a reader
// never sees a superblock whose parts are not all in place.
import type { Progress } from '../progress';
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { OstreeError, throwAborted } from '../errors';
import type { Repo } from '../repo/repo';
import type { Variant } from '../gvariant/codec';
import { Metadata, ObjectType, assertChecksum, isMetaType, serializeFileHeader } from '../objects/formats';
import { mapLimit } from '../repo/transaction';
import { objectKey, parseObjectKey, traverseCommit } from '../traverse';
import { reachableNative } from '../fsck';
import { formatSize } from '../format-size';
import { ContentInfoCache, PayloadStream } from './content';
import { computeSimilarObjects } from './similar';
import { CompressionGate } from './compression';
import { compileParts, type DeltaPlan, type RollsumPlan } from './compile';
import { native } from '../binding';
import {
  FallbackObject,
  HOST_ENDIANNESS,
  Superblock,
  deltaName,
  deltaRelDir,
  inlinePartKey,
  serializeSuperblock,
  wrapSignedSuperblock,
} from './superblock';

/** 'scan' (content objects examined), 'compile' (objects placed in parts), 'write' (the superblock). */
export type GenerateDeltaProgress = Progress<'scan' | 'compile' | 'write'> & { total: number };

export interface GenerateDeltaOptions {
  /** Source commit; null or omitted: a from-scratch delta. */
  from?: string | null;
  /** Target commit (full checksum). */
  to: string;
  /** Store parts in the superblock (`--inline`). */
  inline?: boolean;
  /** MB (10^6 bytes); regular files whose object stream is larger become fallbacks (0 = never). Default 4. */
  minFallbackSize?: number;
  /** MB; pairs whose sizes sum above this are not bsdiff'd (0 = no bsdiff). Default 128. */
  maxBsdiffSize?: number;
  /** MB; target part size. Default 32. */
  maxChunkSize?: number;
  disableBsdiff?: boolean;
  /**
   * Bytes of RSS the generation tries to stay within: a second xz encoder
   * (about 370 MiB each) starts only if it fits, and only while a core is
   * idle. Default 512 MiB.
   */
  memoryBudget?: number;
  /** Byte order of the part and fallback sizes; default the host's. */
  endianness?: 'little' | 'big';
  /** Write the superblock to this file and the parts beside it, instead of the repo's deltas/. */
  filename?: string;
  /** User metadata, first in the superblock's a{sv}. */
  metadata?: Metadata;
  /**
   * Sign the superblock: 'ed25519' (secret keys, base64) or ostree's test
   * engine 'dummy' (the key string is the signature; needs
   * OSTREE_DUMMY_SIGN_ENABLED=1, as in ostree).
   */
  sign?: { type: string; keys: string[] };
  /** Generation time (seconds); default now. */
  timestamp?: bigint;
  signal?: AbortSignal;
  onProgress?: (p: GenerateDeltaProgress) => void;
  /** ostree's statistics lines (the CLI prints them to stderr), without newline. */
  onMessage?: (line: string) => void;
}

export interface GenerateDeltaResult {
  name: string;
  from: string | null;
  to: string;
  /** Path of the superblock written. */
  superblock: string;
  parts: number;
  fallbacks: number;
  stats: { uncompressed: bigint; compressed: bigint; loose: number; rollsum: number; rollsumBytes: number; bsdiff: number };
}

/** A size option in MB as ostree parses it: strtoull, truncated to 32 bits. */
export function parseSizeOption(s: string): number {
  const m = /^\s*[+]?(\d*)/.exec(s);
  const digits = m ? m[1] : '';
  if (!digits) return 0;
  return Number(BigInt.asUintN(32, BigInt(digits)));
}

function mb(v: number | undefined, dflt: number): number {
  const n = v ?? dflt;
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new OstreeError('OSTREE_INVALID_ARGUMENT', `Invalid size ${n}`);
  return n * 1_000_000;
}

/** Largest file rollsum reads into memory (1 GiB). */
const ROLLSUM_MAX_FILE = 2 ** 30;

/** Most parts compressed at once: up to the cores, 4, and 1 GiB of RAM each (CompressionGate decides when more than one runs). */
function compressionSlots(): number {
  const cores = os.availableParallelism?.() ?? os.cpus().length;
  return Math.max(1, Math.min(cores, 4, Math.floor(os.totalmem() / 2 ** 30)));
}

/**
 * The objects `commit` reaches (not its parents), metadata and content apart,
 * each in traverseCommit's order: by the native walk, or traverseCommit where
 * that declines (a partial commit, a dirtree it doesn't take).
 */
async function reachable(repo: Repo, commit: string): Promise<{ meta: Array<[string, ObjectType]>; content: string[] }> {
  const r = await reachableNative(repo, [commit]);
  if (r) {
    const meta = Array.from(r.metaTypes, (t, i): [string, ObjectType] => [r.metaCsums.toString('hex', 32 * i, 32 * i + 32), t as ObjectType]);
    const hex = r.content.toString('hex');
    const content = Array.from({ length: hex.length / 64 }, (_, i) => hex.slice(64 * i, 64 * i + 64));
    return { meta, content };
  }
  const set = new Set<string>();
  await traverseCommit(repo, commit, set, { maxDepth: 0 });
  const meta: Array<[string, ObjectType]> = [];
  const content: string[] = [];
  for (const key of set) {
    const [csum, type] = parseObjectKey(key);
    if (isMetaType(type)) meta.push([csum, type]);
    else content.push(csum);
  }
  return { meta, content };
}

/** Collect the plan: new objects by class, modified pairs, fallbacks. */
async function plan(repo: Repo, from: string | null, to: string, opts: GenerateDeltaOptions, info: ContentInfoCache): Promise<DeltaPlan> {
  const say = opts.onMessage ?? (() => {});
  const fromReach = from ? await reachable(repo, from) : { meta: [], content: [] };
  const toReach = await reachable(repo, to);
  throwAborted(opts.signal);

  const fromMeta = new Set(fromReach.meta.map(([c, t]) => objectKey(c, t)));
  const fromContent = new Set(fromReach.content);
  const metadata = toReach.meta.filter(([c, t]) => !fromMeta.has(objectKey(c, t)));
  const content = toReach.content.filter((c) => !fromContent.has(c));
  let scanned = 0;
  await info.prefetch(content, (n) => {
    scanned += n;
    opts.onProgress?.({ phase: 'scan', loaded: scanned, total: content.length, unit: 'objects' });
  });
  const infos = content.map((c) => info.peek(c));
  const regfiles: string[] = [];
  const symlinks: string[] = [];
  content.forEach((c, i) => (infos[i].isSymlink ? symlinks : regfiles).push(c));
  throwAborted(opts.signal);

  const modified = from ? await computeSimilarObjects(repo, from, to, new Set(regfiles), info) : new Map<string, string>();
  say(`modified: ${modified.size}`);
  say(`new reachable: metadata=${metadata.length} content regular=${regfiles.length} symlink=${symlinks.length}`);

  // The target commit travels in the superblock itself.
  const toKey = objectKey(to, ObjectType.Commit);
  const meta = metadata.filter(([c, t]) => objectKey(c, t) !== toKey);

  const bsdiffMax = opts.disableBsdiff ? -1 : mb(opts.maxBsdiffSize, 128);
  const rollsum = new Map<string, RollsumPlan>();
  const bsdiff = new Map<string, string>();
  // Only from-objects every client can read (bare-user targets with a bare parent).
  const pairs: Array<[string, string]> = [];
  await info.prefetch(modified.values());
  for (const [toCsum, fromCsum] of modified) if (info.peek(fromCsum).header.mode & 0o004) pairs.push([toCsum, fromCsum]);
  // Files are matched in memory: past ROLLSUM_MAX_FILE (where ostree would mmap) a pair is not rollsum'd.
  const fits = (c: string) => info.peek(c).size <= ROLLSUM_MAX_FILE;
  const matched = pairs.filter(([t, f]) => fits(f) && fits(t));
  const payloads = new PayloadStream(info, matched.flatMap(([t, f]) => [f, t]));
  const sums = await mapLimit(pairs, 4, async ([toCsum, fromCsum]) => {
    throwAborted(opts.signal);
    if (!fits(fromCsum) || !fits(toCsum)) return null;
    // Taken in pair order: mapLimit starts items in order, and this runs before any await.
    const [a, b] = await Promise.all([payloads.next(), payloads.next()]);
    return native().rollsum_matches(a, b);
  });
  for (let i = 0; i < pairs.length; i++) {
    const [toCsum, fromCsum] = pairs[i];
    const r = sums[i];
    if (r && Math.floor((r.bufmatches * 100) / r.total) >= 50) {
      say(`rollsum for ${fromCsum} -> ${toCsum}; crcs=${r.crcmatches} bufs=${r.bufmatches} total=${r.total} matchsize=${r.matchSize}`);
      rollsum.set(toCsum, { from: fromCsum, matches: r.matches, matchSize: r.matchSize });
      continue;
    }
    if (bsdiffMax >= 0) {
      const fi = info.peek(fromCsum);
      const ti = info.peek(toCsum);
      if (fi.size + ti.size <= bsdiffMax) bsdiff.set(toCsum, fromCsum);
    }
  }
  say(`rollsum for ${rollsum.size}/${modified.size} modified`);

  const minFallback = mb(opts.minFallbackSize, 4);
  const fallbacks: string[] = [];
  const plain: string[] = [];
  // A regular file's header without xattrs has one length whatever its owner and mode.
  const bareHeaderLen = serializeFileHeader({ uid: 0, gid: 0, mode: 0o100644, symlinkTarget: '', xattrs: [] }).length;
  for (const c of regfiles) {
    if (rollsum.has(c) || bsdiff.has(c)) continue;
    const i = info.peek(c);
    const headerLen = i.header.xattrs.length === 0 && i.header.symlinkTarget === '' ? bareHeaderLen : serializeFileHeader(i.header).length;
    const streamLen = 8 + headerLen + i.size;
    if (minFallback > 0 && streamLen > minFallback) {
      say(`fallback for ${c} (${formatSize(streamLen)})`);
      fallbacks.push(c);
    } else plain.push(c);
  }
  return { metadata: meta, rollsum, bsdiff, regfiles: plain, symlinks, fallbacks };
}

/** The signed wrapper of a superblock (FORMATS.md §8.2), as ostree's sign engines make it. */
async function signSuperblock(bytes: Buffer, type: string, keys: string[]): Promise<Buffer> {
  if (type === 'ed25519') {
    const { signData, ED25519_KEY } = await import('../sign/ed25519');
    return wrapSignedSuperblock(bytes, [[ED25519_KEY, keys.map((k) => signData(bytes, k))]]);
  }
  if (type === 'dummy') {
    if (process.env.OSTREE_DUMMY_SIGN_ENABLED !== '1') throw new OstreeError('OSTREE_INVALID_ARGUMENT', 'dummy signature type is only for ostree testing');
    return wrapSignedSuperblock(bytes, [['ostree.sign.dummy', keys.map((k) => Buffer.from(k, 'utf8'))]]);
  }
  throw new OstreeError('OSTREE_INVALID_ARGUMENT', 'Requested signature type is not implemented');
}

async function writeAtomic(dir: string, name: string, data: Buffer): Promise<void> {
  const tmp = path.join(dir, `.tmp-${name}-${process.pid}-${Math.random().toString(36).slice(2)}`);
  await fsp.writeFile(tmp, data, { mode: 0o644 });
  try {
    await fsp.chmod(tmp, 0o644);
    await fsp.rename(tmp, path.join(dir, name));
  } catch (err) {
    await fsp.rm(tmp, { force: true });
    throw err;
  }
}

/**
 * `ostree static-delta generate`: the static delta `from` → `to` (or from
 * scratch without `from`) in the repo's deltas/ directory, or as `filename`
 * with its parts beside it; bsdiff, rollsum and fallbacks as ostree decides.
 *
 * @example
 * import { generateDelta, resolveRev } from 'node-ostree';
 * const res = await generateDelta(repo, {
 *   from: (await resolveRev(repo, 'exampleos/stable^'))!,
 *   to: (await resolveRev(repo, 'exampleos/stable'))!,
 * });
 * console.log(res.name, res.parts);
 */
export async function generateStaticDelta(repo: Repo, opts: GenerateDeltaOptions): Promise<GenerateDeltaResult> {
  const to = opts.to;
  const from = opts.from ?? null;
  assertChecksum(to);
  if (from) assertChecksum(from);
  if (opts.filename !== undefined && opts.filename === '') throw new OstreeError('OSTREE_INVALID_ARGUMENT', "Invalid 'filename' parameter");
  const endianness = opts.endianness ?? HOST_ENDIANNESS;
  const say = opts.onMessage ?? (() => {});
  const maxChunk = mb(opts.maxChunkSize, 32);
  if (opts.memoryBudget !== undefined && !(Number.isSafeInteger(opts.memoryBudget) && opts.memoryBudget > 0)) {
    throw new OstreeError('OSTREE_INVALID_ARGUMENT', `Invalid memory budget ${opts.memoryBudget}`);
  }
  throwAborted(opts.signal);

  const hold = await repo.lock('shared', { signal: opts.signal });
  try {
    const commit = (await repo.loadMetadata(ObjectType.Commit, to)) as Buffer;
    if (from) await repo.loadMetadata(ObjectType.Commit, from);

    let dir: string;
    let sbName: string;
    if (opts.filename !== undefined) {
      dir = path.dirname(path.resolve(opts.filename));
      sbName = path.basename(opts.filename);
      const st = await fsp.stat(dir);
      if (!st.isDirectory()) throw new OstreeError('OSTREE_INVALID_ARGUMENT', `${dir}: Not a directory`);
    } else {
      dir = path.join(repo.path, deltaRelDir(from, to));
      sbName = 'superblock';
      await fsp.mkdir(dir, { recursive: true, mode: 0o775 });
    }

    const info = new ContentInfoCache(repo);
    const p = await plan(repo, from, to, opts, info);
    throwAborted(opts.signal);

    const parts = await compileParts(repo, p, info, {
      maxChunk,
      concurrency: compressionSlots(),
      gate: new CompressionGate(compressionSlots(), opts.memoryBudget),
      inline: !!opts.inline,
      dir,
      signal: opts.signal,
      onProgress: opts.onProgress,
      onMessage: say,
    });

    try {
      const fallbacks: FallbackObject[] = p.fallbacks.map((c) => {
        const i = info.peek(c);
        return { type: ObjectType.File, checksum: c, size: BigInt(i.storage), usize: BigInt(i.size) };
      });

      const metadata: Array<[string, Variant]> = [...(opts.metadata ?? [])];
      metadata.push(['ostree.endianness', { type: 'y', value: endianness === 'big' ? 0x42 : 0x6c }]);
      if (opts.inline) {
        parts.parts.forEach((part, i) => {
          const file = part.inline as Buffer;
          metadata.push([inlinePartKey(from, to, i), { type: '(yay)', value: [file[0], file.subarray(1)] }]);
        });
      }
      const detached = await repo.readDetachedMetadata(to);
      if (detached) metadata.push([inlinePartKey(from, to, 'commitmeta'), { type: 'a{sv}', value: detached }]);

      const sb: Superblock = {
        metadata,
        timestamp: opts.timestamp ?? BigInt(Math.floor(Date.now() / 1000)),
        from,
        to,
        commit,
        parts: parts.parts.map((x) => x.header),
        fallbacks,
        endianness,
      };
      let bytes = serializeSuperblock(sb);
      say(`uncompressed=${parts.uncompressed} compressed=${parts.compressed} loose=${parts.loose}`);
      say(`rollsum=${parts.rollsum} objects, ${parts.rollsumBytes} bytes`);
      say(`bsdiff=${parts.bsdiff} objects`);

      if (opts.sign && opts.sign.keys.length) {
        bytes = await signSuperblock(bytes, opts.sign.type, opts.sign.keys);
      }
      opts.onProgress?.({ phase: 'write', loaded: 1, total: 1, unit: 'parts' });
      throwAborted(opts.signal);
      await parts.commit();
      await writeAtomic(dir, sbName, bytes);
      return {
        name: deltaName(from, to),
        from,
        to,
        superblock: path.join(dir, sbName),
        parts: parts.parts.length,
        fallbacks: fallbacks.length,
        stats: {
          uncompressed: parts.uncompressed,
          compressed: parts.compressed,
          loose: parts.loose,
          rollsum: parts.rollsum,
          rollsumBytes: parts.rollsumBytes,
          bsdiff: parts.bsdiff,
        },
      };
    } catch (err) {
      await parts.discard();
      throw err;
    }
  } finally {
    await hold.release();
  }
}

