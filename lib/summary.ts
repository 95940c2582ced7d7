// The repository summary file (FORMATS.md §4.4, §4.5): generation
// byte-identical to `ostree summary -u` (2022.7), parsing, and the text of
// `ostree summary --view`.
import * as fsp from 'fs/promises';
import * as path from 'path';
import type { Repo } from './repo/repo';
import { writeFileAtomic } from './repo/repo';
import { serialize, deserialize, type Variant } from './gvariant/codec';
import { OstreeError, isErrno, throwAborted } from './errors';
import { ObjectType, csumToBytes, csumFromBytes, parseCommit } from './objects/formats';
import { ghashOrder } from './ghash';

export const SUMMARY_TYPE = '(a(s(taya{sv}))a{sv})';

export interface SummaryRef {
  name: string;
  checksum: string;
  size: bigint;
  metadata: Array<[string, Variant]>;
}
export interface Summary {
  refs: SummaryRef[];
  metadata: Array<[string, Variant]>;
}

export interface GenerateSummaryOptions {
  /** Checked before the summary is written. */
  signal?: AbortSignal;
  /** Extra a{sv} entries (inserted first, like `--add-metadata`; later duplicates replace earlier ones). */
  addMetadata?: Array<[string, Variant]>;
  /** GPG key ids to sign summary.sig with. */
  gpgSign?: string[];
  gpgHomedir?: string;
  /** ed25519 secret keys (base64) to add `ostree.sign.ed25519` to summary.sig. */
  ed25519Sign?: string[];
  /** Secret keys of a signature type (`--sign KEY --sign-type=TYPE`) for `ostree.sign.TYPE` in summary.sig. */
  sign?: { type: string; keys: string[] };
  /**
   * `ostree.summary.last-modified` (seconds). Default: $SOURCE_DATE_EPOCH when
   * set, else the current time (ostree always uses the current time).
   */
  lastModified?: number | bigint;
}

const MAX_GDATETIME = 253402300799n;

function strcmp(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/** GVariantDict semantics: insertion with replacement, emitted in GLib hash order. */
class VDict {
  private order: string[] = [];
  private values = new Map<string, Variant>();
  insert(k: string, v: Variant): void {
    this.order.push(k);
    this.values.set(k, v);
  }
  end(): Array<[string, Variant]> {
    return ghashOrder(this.order).map((k) => [k, this.values.get(k) as Variant]);
  }
}

function u64be(v: bigint): bigint {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(v);
  return b.readBigUInt64LE();
}

function u64fromBe(v: bigint): bigint {
  return u64be(v);
}

async function refEntry(repo: Repo, name: string, checksum: string): Promise<unknown[]> {
  const bytes = (await repo.loadMetadata(ObjectType.Commit, checksum)) as Buffer;
  const c = parseCommit(bytes);
  const md = new VDict();
  if (c.timestamp <= MAX_GDATETIME) md.insert('ostree.commit.timestamp', { type: 't', value: u64be(c.timestamp) });
  const version = c.metadata.find(([k]) => k === 'version')?.[1];
  if (version && version.type === 's') md.insert('ostree.commit.version', { type: 's', value: version.value });
  return [name, [BigInt(bytes.length), csumToBytes(checksum), md.end()]];
}

/** Entries of a directory in the kernel's readdir order (fs.readdir sorts; ostree does not). */
async function readdirRaw(dir: string): Promise<string[]> {
  const out: string[] = [];
  const d = await fsp.opendir(dir);
  for await (const e of d) out.push(e.name);
  return out;
}

/** Delta names under deltas/ (FROM-TO or TO, hex), in ostree's (readdir) order. */
export async function listStaticDeltaNames(repo: Repo): Promise<string[]> {
  const root = path.join(repo.path, 'deltas');
  const out: string[] = [];
  let prefixes: string[];
  try {
    prefixes = await readdirRaw(root);
  } catch (e) {
    if (isErrno(e, 'ENOENT')) return out;
    throw e;
  }
  const fromB64 = (s: string) => Buffer.from(s.replace(/_/g, '/'), 'base64').toString('hex');
  for (const p of prefixes) {
    let rests: string[];
    try {
      rests = await readdirRaw(path.join(root, p));
    } catch {
      continue;
    }
    for (const r of rests) {
      try {
        await fsp.access(path.join(root, p, r, 'superblock'));
      } catch {
        continue;
      }
      const full = p + r;
      const dash = full.indexOf('-');
      if (dash >= 0) out.push(`${fromB64(full.slice(0, dash))}-${fromB64(full.slice(dash + 1))}`);
      else out.push(fromB64(full));
    }
  }
  return out;
}

function deltaDir(repo: Repo, name: string): string {
  const b64 = (hex: string) => Buffer.from(hex, 'hex').toString('base64').replace(/=+$/, '').replace(/\//g, '_');
  const dash = name.indexOf('-');
  const s = dash >= 0 ? `${b64(name.slice(0, dash))}-${b64(name.slice(dash + 1))}` : b64(name);
  return path.join(repo.path, 'deltas', s.slice(0, 2), s.slice(2));
}

/** The summary bytes ostree would generate now (does not write). */
export async function buildSummary(repo: Repo, opts: GenerateSummaryOptions = {}): Promise<Buffer> {
  const { listRefsRaw } = await import('./refs/refs');
  const { listCollectionRefs } = await import('./refs/collection-refs');
  const extra = new VDict();
  for (const [k, v] of opts.addMetadata ?? []) extra.insert(k, v);
  const mainCid = repo.collectionId;
  const refs: unknown[] = [];
  if (mainCid === null) {
    const all = (await listRefsRaw(repo, {})).filter(([n]) => !n.includes(':'));
    all.sort((a, b) => strcmp(a[0], b[0]));
    for (const [n, c] of all) refs.push(await refEntry(repo, n, c));
  }
  if (!repo.config.getBoolean('core', 'no-deltas-in-summary', false)) {
    const names = await listStaticDeltaNames(repo);
    if (names.length) {
      const deltas = new VDict();
      const crypto = await import('crypto');
      for (const n of names) {
        const sb = await fsp.readFile(path.join(deltaDir(repo, n), 'superblock'));
        deltas.insert(n, { type: 'ay', value: crypto.createHash('sha256').update(sb).digest() });
      }
      extra.insert('ostree.static-deltas', { type: 'a{sv}', value: deltas.end() });
    }
  }
  let now: bigint;
  if (opts.lastModified !== undefined) now = BigInt(opts.lastModified);
  else if (process.env.SOURCE_DATE_EPOCH && /^\d+$/.test(process.env.SOURCE_DATE_EPOCH)) now = BigInt(process.env.SOURCE_DATE_EPOCH);
  else now = BigInt(Math.floor(Date.now() / 1000));
  extra.insert('ostree.summary.last-modified', { type: 't', value: u64be(now) });
  extra.insert('ostree.summary.mode', { type: 's', value: repo.config.get('core', 'mode') ?? 'bare' });
  extra.insert('ostree.summary.tombstone-commits', { type: 'b', value: repo.config.getBoolean('core', 'tombstone-commits', false) });
  extra.insert('ostree.summary.indexed-deltas', { type: 'b', value: true });

  // Collection refs: refs/heads under the main collection ID, refs/mirrors,
  // and remote refs whose remote has a collection-id.
  const byCid = new Map<string, Map<string, string>>();
  const addC = (cid: string, ref: string, csum: string) => {
    let m = byCid.get(cid);
    if (!m) byCid.set(cid, (m = new Map()));
    m.set(ref, csum);
  };
  for (const e of await listCollectionRefs(repo)) addC(e.collectionId, e.ref, e.checksum);
  const cmap: unknown[] = [];
  for (const cid of [...byCid.keys()].sort(strcmp)) {
    const m = byCid.get(cid) as Map<string, string>;
    const entries: unknown[] = [];
    for (const ref of [...m.keys()].sort(strcmp)) {
      const e = await refEntry(repo, ref, m.get(ref) as string);
      if (cid === mainCid) refs.push(e);
      else entries.push(e);
    }
    if (cid !== mainCid) cmap.push([cid, entries]);
  }
  if (mainCid !== null) extra.insert('ostree.summary.collection-id', { type: 's', value: mainCid });
  if (cmap.some((e) => ((e as unknown[])[1] as unknown[]).length > 0)) {
    extra.insert('ostree.summary.collection-map', { type: 'a{sa(s(taya{sv}))}', value: cmap });
  }
  return serialize(SUMMARY_TYPE, [refs, extra.end()]);
}

/**
 * `ostree summary -u`: write REPO/summary atomically (removing a stale
 * summary.sig), then summary.sig when signing was requested (gpgSign,
 * ed25519Sign). Resolves with the summary's bytes.
 *
 * @example
 * import { generateSummary, parseSummary } from 'node-ostree';
 * const bytes = await generateSummary(repo);
 * console.log(parseSummary(bytes).refs.map((r) => r.name));
 */
export async function generateSummary(repo: Repo, opts: GenerateSummaryOptions = {}): Promise<Buffer> {
  const hold = await repo.lock('shared');
  try {
    const bytes = await buildSummary(repo, opts);
    throwAborted(opts.signal);
    const { reindexDeltas } = await import('./deltas/indexes');
    await reindexDeltas(repo);
    await writeFileAtomic(path.join(repo.path, 'summary'), bytes, { fsync: repo.fsyncEnabled });
    await fsp.rm(path.join(repo.path, 'summary.sig'), { force: true });
    if (opts.gpgSign?.length || opts.ed25519Sign?.length || opts.sign?.keys.length) await signSummary(repo, bytes, opts);
    return bytes;
  } finally {
    await hold.release();
  }
}

/**
 * ostree's _ostree_repo_maybe_regenerate_summary: after refs changed,
 * regenerate the summary when core.auto-update-summary (or its deprecated
 * alias core.commit-update-summary) is set.
 */
export async function maybeRegenerateSummary(repo: Repo): Promise<boolean> {
  const c = repo.config;
  if (!c.getBoolean('core', 'auto-update-summary', false) && !c.getBoolean('core', 'commit-update-summary', false)) return false;
  await generateSummary(repo);
  return true;
}

/** Add signatures for the current summary to summary.sig (ostree_repo_add_gpg_signature_summary / ostree_sign_summary). */
export async function signSummary(
  repo: Repo,
  summary: Buffer,
  opts: { gpgSign?: string[]; gpgHomedir?: string; ed25519Sign?: string[]; sign?: { type: string; keys: string[] } },
): Promise<void> {
  const sigPath = path.join(repo.path, 'summary.sig');
  let md: Array<[string, Variant]> | null = null;
  try {
    md = deserialize<Array<[string, Variant]>>('a{sv}', await fsp.readFile(sigPath));
  } catch (e) {
    if (!isErrno(e, 'ENOENT')) throw e;
  }
  const { dictRebuild } = await import('./gpg/sign');
  if (opts.gpgSign?.length) {
    const { signDetached } = await import('./gpg/sign');
    for (const id of opts.gpgSign) {
      const prev = md?.find(([k]) => k === 'ostree.gpgsigs')?.[1];
      const sigs = prev && prev.type === 'aay' ? [...(prev.value as Buffer[])] : [];
      sigs.push(await signDetached(summary, id, opts.gpgHomedir));
      md = dictRebuild(md, [['ostree.gpgsigs', { type: 'aay', value: sigs }]]);
    }
  }
  const signWith = [...(opts.ed25519Sign?.length ? [{ type: 'ed25519', keys: opts.ed25519Sign }] : []), ...(opts.sign?.keys.length ? [opts.sign] : [])];
  for (const { type, keys } of signWith) {
    const { signEngine, appendSignature } = await import('./sign/engine');
    const engine = signEngine(type);
    for (const sk of keys) {
      engine.checkSecretKey(sk);
      md = await appendSignature(md, engine, engine.sign(summary, sk));
    }
  }
  if (md) {
    const sigBytes = serialize('a{sv}', md);
    await writeFileAtomic(sigPath, sigBytes);
    // ostree gives the summary the signature's mtime.
    const st = await fsp.stat(sigPath);
    await fsp.utimes(path.join(repo.path, 'summary'), st.atime, st.mtime);
  }
}

function parseRefMap(v: unknown): SummaryRef[] {
  return (v as unknown[]).map((e) => {
    const [name, [size, csum, metadata]] = e as [string, [bigint, Buffer, Array<[string, Variant]>]];
    return { name, size, checksum: csumFromBytes(csum), metadata };
  });
}

/**
 * Parse summary bytes (`ostree summary --view`): the refs with their commit,
 * size and metadata, and the summary's own metadata. Throws
 * OSTREE_CORRUPT_OBJECT on bad input.
 *
 * @example
 * import { parseSummary } from 'node-ostree';
 * import { readFile } from 'node:fs/promises';
 * const summary = parseSummary(await readFile('/srv/repo/summary'));
 * for (const r of summary.refs) console.log(r.name, r.checksum);
 */
export function parseSummary(bytes: Buffer): Summary {
  let v: [unknown, Array<[string, Variant]>];
  try {
    v = deserialize<[unknown, Array<[string, Variant]>]>(SUMMARY_TYPE, bytes);
  } catch (e) {
    throw new OstreeError('OSTREE_CORRUPT_OBJECT', `Invalid summary: ${(e as Error).message}`, { cause: e });
  }
  try {
    return { refs: parseRefMap(v[0]), metadata: v[1] };
  } catch (e) {
    throw new OstreeError('OSTREE_CORRUPT_OBJECT', `Invalid summary: ${(e as Error).message}`, { cause: e });
  }
}

/** Refs of other collections (`ostree.summary.collection-map`). */
export function summaryCollectionMap(s: Summary): Array<[string, SummaryRef[]]> {
  const v = s.metadata.find(([k]) => k === 'ostree.summary.collection-map')?.[1];
  if (!v || v.type !== 'a{sa(s(taya{sv}))}') return [];
  return (v.value as Array<[string, unknown]>).map(([cid, refs]) => [cid, parseRefMap(refs)]);
}

/** `YYYY-MM-DDTHH:MM:SS+00` (ostree's uint64_secs_to_iso8601); "invalid" for out-of-range values. */
export function secsToIso8601(secs: bigint): string {
  if (secs > MAX_GDATETIME) return 'invalid';
  const d = new Date(Number(secs) * 1000);
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${p(d.getUTCFullYear(), 4)}-${p(d.getUTCMonth() + 1)}-${p(d.getUTCDate())}T${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())}+00`;
}

const MODES = ['bare', 'archive-z2', 'archive', 'bare-user', 'bare-user-only', 'bare-split-xattrs'];

/** `ostree summary --view` text (ot_dump_summary_bytes), or with `raw` the variant text. */
export async function formatSummary(bytes: Buffer, opts: { raw?: boolean } = {}): Promise<string> {
  const { printVariant } = await import('./gvariant/text');
  const { formatSize } = await import('./read/dump');
  if (opts.raw) {
    const { byteswapValue } = await import('./gvariant/byteswap');
    return printVariant(SUMMARY_TYPE, byteswapValue(SUMMARY_TYPE, deserialize(SUMMARY_TYPE, bytes)), true) + '\n';
  }
  const s = parseSummary(bytes);
  let out = '';
  const mainCid = s.metadata.find(([k]) => k === 'ostree.summary.collection-id')?.[1];
  const dumpRefs = (cid: string | null, refs: SummaryRef[]) => {
    for (const r of refs) {
      out += cid === null ? `* ${r.name}\n` : `* (${cid}, ${r.name})\n`;
      out += `    Latest Commit (${formatSize(r.size)}):\n      ${r.checksum}\n`;
      for (const [k, v] of r.metadata) {
        if (k === 'ostree.commit.timestamp') out += `    Timestamp (${k}): ${secsToIso8601(u64fromBe(v.value as bigint))}\n`;
        else if (k === 'ostree.commit.version') out += `    Version (${k}): ${v.value as string}\n`;
        else out += `    ${k}: ${printVariant(v.type, v.value, false)}\n`;
      }
      out += '\n';
    }
  };
  dumpRefs(mainCid && mainCid.type === 's' ? (mainCid.value as string) : null, s.refs);
  for (const [cid, refs] of summaryCollectionMap(s)) dumpRefs(cid, refs);
  for (const [k, v] of s.metadata) {
    let pretty: string | null = null;
    let val: string;
    if (k === 'ostree.static-deltas') {
      pretty = 'Static Deltas';
      val = printVariant(v.type, v.value, false);
    } else if (k === 'ostree.summary.last-modified') {
      pretty = 'Last-Modified';
      val = secsToIso8601(u64fromBe(v.value as bigint));
    } else if (k === 'ostree.summary.expires') {
      pretty = 'Expires';
      val = secsToIso8601(u64fromBe(v.value as bigint));
    } else if (k === 'ostree.summary.collection-id') {
      pretty = 'Collection ID';
      val = v.value as string;
    } else if (k === 'ostree.summary.collection-map') {
      pretty = 'Collection Map';
      val = '(printed above)';
    } else if (k === 'ostree.summary.mode') {
      pretty = 'Repository Mode';
      const m = v.value as string;
      val = MODES.includes(m) ? m : `Invalid (‘${m}’)`;
    } else if (k === 'ostree.summary.tombstone-commits') {
      pretty = 'Has Tombstone Commits';
      val = v.value ? 'Yes' : 'No';
    } else {
      val = printVariant(v.type, v.value, false);
    }
    out += pretty ? `${pretty} (${k}): ${val}\n` : `${k}: ${val}\n`;
  }
  return out;
}
