// Property tests of the static delta part executor (FORMATS.md §8.4–§8.6,
// native/delta_part.cc): generated part bodies `(a(uuu)aa(ayay)ayay)` with
// op streams for metadata splices, content splices, OPEN/WRITE/CLOSE from the
// payload or a read source, and BSPATCH, compressed as '0' and 'x', then
// damaged in every layer (object list, ops, varints, body, compressed file).
// Executed with statsOnly and for real into bare-user and archive repos:
// each run resolves or rejects with an OstreeError; an undamaged program
// writes exactly its objects; nothing lands outside the repository; and at
// the end the real `ostree fsck` finds every stored object sound. Peak RSS
// stays bounded although parts declare sizes up to 2^40.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { readdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import fc from 'fast-check';
import { SKIP_INTEROP, tmpdir, cleanupTmp, ostree, ok } from './helpers/interop';
import { native } from '../lib/binding';
import { serialize } from '../lib/gvariant/codec';
import { OstreeError } from '../lib/errors';
import { Repo } from '../lib/repo/repo';
import { executePart } from '../lib/deltas/part';
import { PART_BODY_TYPE, Op, writeVarint, xattrsVariant } from '../lib/deltas/part-builder';
import type { PartHeader } from '../lib/deltas/superblock';
import { ObjectType, Xattrs, contentChecksum, serializeCommit, serializeDirMeta, serializeDirTree, sha256Hex, S_IFLNK, S_IFREG } from '../lib/objects/formats';
import { bswap32 } from '../lib/gvariant/codec';
import { FUZZ_SEED, corpus, decodeRecord, encodeRecord, saveCrasher } from './fuzz/corpus';

// ---------------------------------------------------------------- the tables every generated part shares

/** (uid, gid, mode); the last entry is a block device, which no content object may have. */
const MODES: Array<[number, number, number]> = [
  [0, 0, S_IFREG | 0o644],
  [0, 0, S_IFLNK | 0o777],
  [0, 0, S_IFREG | 0o755],
  [0, 0, 0o060644],
];
const XATTRS: Xattrs[] = [[], [['user.fuzz', Buffer.from('v')]]];
/** The read source every part may use: a regular file seeded into each repo. */
const SOURCE = Buffer.from(Array.from({ length: 3000 }, (_, i) => (i * 7 + (i >> 5)) & 0xff));
const SOURCE_CSUM = contentChecksum({ uid: 0, gid: 0, mode: MODES[0][2], symlinkTarget: '', xattrs: [] }, SOURCE);

/** A huge declared size (1 TiB): executing must not allocate or reserve it. */
const HUGE = 2 ** 40;

type Spec =
  | { kind: 'meta'; type: ObjectType; data: Buffer; garbage?: boolean }
  | { kind: 'splice'; mode: number; xattr: number; data: Buffer }
  | { kind: 'open'; mode: number; xattr: number; chunks: Array<{ from: 'payload' | 'source'; data: Buffer; at: number }>; declared?: number }
  | { kind: 'bspatch'; mode: number; xattr: number; data: Buffer };

/** The part a list of specs compiles to: body, object records, and the checksums a correct run writes. */
async function compile(specs: Spec[]): Promise<{ body: Buffer; records: Buffer; objects: PartHeader['objects']; valid: boolean }> {
  const payload: Buffer[] = [];
  let plen = 0;
  const put = (b: Buffer): number => {
    payload.push(b);
    plen += b.length;
    return plen - b.length;
  };
  const ops: number[] = [];
  const op = (code: number, ...args: number[]) => {
    ops.push(code);
    for (const a of args) writeVarint(ops, a);
  };
  const objects: PartHeader['objects'] = [];
  let valid = true;
  const srcAt = put(Buffer.from(SOURCE_CSUM, 'hex'));
  for (const s of specs) {
    if (s.kind === 'meta') {
      objects.push({ type: s.type, checksum: sha256Hex(s.data) });
      if (s.garbage) valid = false;
      op(Op.OpenSpliceAndClose, s.data.length, put(s.data));
      continue;
    }
    const [uid, gid, mode] = MODES[s.mode];
    if (s.mode === 3) valid = false;
    const isLink = (mode & 0o170000) === S_IFLNK;
    let content: Buffer;
    if (s.kind === 'splice') {
      content = s.data;
      if (isLink && (content.length === 0 || content.some((b) => b === 0 || b >= 0x80))) valid = false;
      op(Op.OpenSpliceAndClose, s.mode, s.xattr, content.length, put(content));
    } else if (s.kind === 'open') {
      if (isLink) valid = false;
      content = Buffer.concat(s.chunks.map((c) => c.data));
      op(Op.Open, s.mode, s.xattr, s.declared ?? content.length);
      if (s.declared !== undefined && s.declared !== content.length) valid = false;
      for (const c of s.chunks) {
        if (c.from === 'payload') op(Op.Write, c.data.length, put(c.data));
        else {
          op(Op.SetReadSource, srcAt);
          op(Op.Write, c.data.length, c.at);
          op(Op.UnsetReadSource);
        }
      }
      op(Op.Close);
    } else {
      if (isLink) valid = false;
      content = s.data;
      const patch = await native().bsdiff(SOURCE, content);
      op(Op.Open, s.mode, s.xattr, content.length);
      op(Op.SetReadSource, srcAt);
      op(Op.Bspatch, put(patch), patch.length);
      op(Op.Close);
    }
    const target = isLink ? content.toString('latin1') : '';
    // (A symlink target that is no valid string cannot be checksummed: listed under an arbitrary name.)
    const csum = isLink && !valid ? sha256Hex(content) : contentChecksum({ uid, gid, mode, symlinkTarget: target, xattrs: XATTRS[s.xattr] }, isLink ? Buffer.alloc(0) : content);
    objects.push({ type: ObjectType.File, checksum: csum });
  }
  const body = serialize(PART_BODY_TYPE, [MODES.map((m) => m.map((v) => bswap32(v >>> 0))), XATTRS.map(xattrsVariant), Buffer.concat(payload), Buffer.from(ops)]);
  const records = Buffer.concat(objects.map((o) => Buffer.concat([Buffer.from([o.type]), Buffer.from(o.checksum, 'hex')])));
  return { body, records, objects, valid };
}

// ---------------------------------------------------------------- generators

const dirmetaArb = fc.record({ uid: fc.nat({ max: 2000 }), mode: fc.constantFrom(0o40755, 0o40700) }).map((m) => serializeDirMeta({ uid: m.uid, gid: 0, mode: m.mode, xattrs: [] }));
const dirtreeArb = fc
  .array(fc.tuple(fc.stringMatching(/^[a-z]{1,8}$/), fc.uint8Array({ minLength: 32, maxLength: 32 })), { maxLength: 3 })
  .map((files) => {
    const uniq = [...new Map(files.map(([n, c]) => [n, Buffer.from(c).toString('hex')]))].sort(([a], [b]) => (a < b ? -1 : 1));
    return serializeDirTree({ files: uniq, dirs: [] });
  });
const bytesArb = (max: number) => fc.uint8Array({ maxLength: max }).map((b) => Buffer.from(b));
const chunkArb = fc.oneof(
  fc.record({ from: fc.constant('payload' as const), data: bytesArb(200), at: fc.constant(0) }),
  fc.record({ at: fc.nat({ max: SOURCE.length - 1 }), len: fc.nat({ max: 400 }) }).map(({ at, len }) => ({ from: 'source' as const, at, data: SOURCE.subarray(at, Math.min(SOURCE.length, at + len)) })),
);
const specArb: fc.Arbitrary<Spec> = fc.oneof(
  dirmetaArb.map((data): Spec => ({ kind: 'meta', type: ObjectType.DirMeta, data })),
  dirtreeArb.map((data): Spec => ({ kind: 'meta', type: ObjectType.DirTree, data })),
  fc.record({ subject: fc.string({ maxLength: 20 }), parent: fc.boolean(), ts: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }) }).map(
    (c): Spec => ({ kind: 'meta', type: ObjectType.Commit, data: serializeCommit({ metadata: [['k', { type: 's', value: 'v' }]], parent: c.parent ? 'ab'.repeat(32) : null, related: [], subject: c.subject, body: 'b', timestamp: c.ts, rootTree: 'cd'.repeat(32), rootMeta: 'ef'.repeat(32) }) }),
  ),
  // Bytes that are no valid object of the listed type, under their true checksum.
  fc.record({ type: fc.constantFrom(ObjectType.DirTree, ObjectType.DirMeta, ObjectType.Commit), data: bytesArb(80) }).map((s): Spec => ({ kind: 'meta', ...s, garbage: true })),
  fc.record({ mode: fc.constantFrom(0, 0, 1, 2, 3), xattr: fc.nat({ max: 1 }), data: bytesArb(300) }).map((s): Spec => ({ kind: 'splice', ...s })),
  fc.record({ mode: fc.constantFrom(0, 2, 1), xattr: fc.nat({ max: 1 }), chunks: fc.array(chunkArb, { maxLength: 4 }), declared: fc.option(fc.constantFrom(0, 1, HUGE), { nil: undefined, freq: 8 }) }).map((s): Spec => ({ kind: 'open', ...s })),
  fc.record({ mode: fc.constantFrom(0, 2), xattr: fc.nat({ max: 1 }), edits: fc.array(fc.tuple(fc.nat(), fc.uint8Array({ maxLength: 8 })), { maxLength: 3 }) }).map((s): Spec => {
    let data: Buffer = Buffer.from(SOURCE.subarray(0, 1500));
    for (const [at, ins] of s.edits) data = Buffer.concat([data.subarray(0, at % data.length), ins, data.subarray((at % data.length) + ins.length)]);
    return { kind: 'bspatch', mode: s.mode, xattr: s.xattr, data };
  }),
);

/** Damage at one layer of the part. */
type Damage =
  | { at: 'records'; pos: number; val: number }
  | { at: 'ops'; pos: number; val: number }
  | { at: 'ops-cut'; pos: number }
  | { at: 'ops-append'; bytes: Uint8Array }
  | { at: 'varint'; pos: number; big: boolean }
  | { at: 'body'; pos: number; val: number }
  | { at: 'file'; pos: number; val: number }
  | { at: 'file-cut'; pos: number };
const damageArb: fc.Arbitrary<Damage> = fc.oneof(
  fc.record({ at: fc.constant('records' as const), pos: fc.nat(), val: fc.nat({ max: 255 }) }),
  fc.record({ at: fc.constant('ops' as const), pos: fc.nat(), val: fc.constantFrom(0x53, 0x6f, 0x77, 0x72, 0x52, 0x63, 0x42, 0, 0x80, 0xff, 0x7a) }),
  fc.record({ at: fc.constant('ops-cut' as const), pos: fc.nat() }),
  fc.record({ at: fc.constant('ops-append' as const), bytes: fc.uint8Array({ minLength: 1, maxLength: 12 }) }),
  fc.record({ at: fc.constant('varint' as const), pos: fc.nat(), big: fc.boolean() }),
  fc.record({ at: fc.constant('body' as const), pos: fc.nat(), val: fc.nat({ max: 255 }) }),
  fc.record({ at: fc.constant('file' as const), pos: fc.nat(), val: fc.nat({ max: 255 }) }),
  fc.record({ at: fc.constant('file-cut' as const), pos: fc.nat() }),
);

/** The ops member of a body (last `ay` of the tuple). */
function splitOps(body: Buffer): { head: Buffer; ops: Buffer; offs: Buffer } {
  const w = body.length <= 0xff ? 1 : body.length <= 0xffff ? 2 : 4;
  const start = body.readUIntLE(body.length - 3 * w, w);
  return { head: body.subarray(0, start), ops: body.subarray(start, body.length - 3 * w), offs: body.subarray(body.length - 3 * w) };
}

/** Apply damage to records, ops (re-framed so the GVariant stays well-formed) and body; file damage comes after compression. */
function damageBody(body: Buffer, records: Buffer, ds: Damage[]): { body: Buffer; records: Buffer } {
  const r = Buffer.from(records);
  let { head, ops, offs } = splitOps(body);
  ops = Buffer.from(ops);
  let opsChanged = false;
  for (const d of ds) {
    if (d.at === 'records' && r.length) r[d.pos % r.length] = d.val;
    else if (d.at === 'ops' && ops.length) (ops[d.pos % ops.length] = d.val), (opsChanged = true);
    else if (d.at === 'ops-cut') (ops = ops.subarray(0, d.pos % (ops.length + 1))), (opsChanged = true);
    else if (d.at === 'ops-append') (ops = Buffer.concat([ops, d.bytes])), (opsChanged = true);
    else if (d.at === 'varint') {
      const at = ops.length ? d.pos % ops.length : 0;
      const v = d.big ? Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]) : Buffer.from([0x80, 0x80, 0x80, 0x80, 0x10]);
      ops = Buffer.concat([ops.subarray(0, at + 1), v, ops.subarray(at + 1)]);
      opsChanged = true;
    }
  }
  let out = body;
  if (opsChanged) {
    // Re-frame: the tuple ends with the end offsets of members 2, 1, 0 (last member first); only their width may change.
    const oldW = offs.length / 3;
    const ends = [0, 1, 2].map((i) => offs.readUIntLE(i * oldW, oldW));
    const content = head.length + ops.length;
    let w = 1;
    while ((w === 1 ? 0xff : w === 2 ? 0xffff : 0xffffffff) < content + 3 * w) w *= 2;
    const o = Buffer.alloc(3 * w);
    ends.forEach((e, i) => o.writeUIntLE(e, i * w, w));
    out = Buffer.concat([head, ops, o]);
  }
  for (const d of ds) if (d.at === 'body' && out.length) (out = Buffer.from(out)), (out[d.pos % out.length] = d.val);
  return { body: out, records: r };
}

async function partFile(body: Buffer, compression: '0' | 'x', ds: Damage[]): Promise<Buffer> {
  let f = compression === '0' ? Buffer.concat([Buffer.from([0]), body]) : Buffer.concat([Buffer.from([0x78]), await native().xz_encode(body, { preset: 0 })]);
  for (const d of ds) {
    if (d.at === 'file') (f = Buffer.from(f)), (f[d.pos % f.length] = d.val);
    else if (d.at === 'file-cut') f = f.subarray(0, d.pos % (f.length + 1));
  }
  return f;
}

// ---------------------------------------------------------------- execution

interface Case {
  file: Buffer;
  records: Buffer;
  checksum?: string;
  usize: number;
}

const header = (c: Case): PartHeader => ({
  version: 0,
  checksum: c.checksum ?? '0'.repeat(64),
  size: BigInt(c.file.length),
  usize: BigInt(c.usize),
  objects: Array.from({ length: Math.floor(c.records.length / 33) }, (_, i) => ({ type: c.records[i * 33] as ObjectType, checksum: c.records.subarray(i * 33 + 1, i * 33 + 33).toString('hex') })),
});

/** Execute a case; returns 'ok' or the OstreeError's code; anything else fails (and is kept with FUZZ_SAVE=1). */
async function run(repo: Repo, c: Case, statsOnly: boolean): Promise<'ok' | string> {
  try {
    await executePart(repo, c.file, header(c), { verifyChecksum: c.checksum !== undefined, statsOnly });
    return 'ok';
  } catch (err) {
    if (!(err instanceof OstreeError)) saveCrasher('part', encodeRecord({ file: c.file, records: c.records, usize: c.usize, checksum: c.checksum ?? '' }));
    expect(err, String(err)).toBeInstanceOf(OstreeError);
    return (err as OstreeError).code;
  }
}

/**
 * ostree fsck of a repo's objects: commits the parts wrote (their trees are
 * made up) are marked partial first, so fsck checks them as objects only.
 */
function fsckObjects(repo: string, what: string): void {
  for (const f of listFiles(path.join(repo, 'objects'))) {
    const m = /^([0-9a-f]{2})\/([0-9a-f]{62})\.commit$/.exec(f);
    if (m) writeFileSync(path.join(repo, 'state', `${m[1]}${m[2]}.commitpartial`), '');
  }
  ok(ostree(['fsck', `--repo=${repo}`]), what);
}

/** Every regular file below `dir`, relative. */
function listFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out.push(path.relative(dir, p));
    }
  };
  walk(dir);
  return out.sort();
}

const SUITE = SKIP_INTEROP ? describe.skip : describe;

SUITE('delta part executor (fast-check)', () => {
  let sandbox: string;
  const repos: Record<string, Repo> = {};
  let statsRepo: Repo;

  beforeAll(async () => {
    sandbox = tmpdir('dfuzz-part-');
    for (const mode of ['bare-user', 'archive']) {
      const p = path.join(sandbox, mode);
      ok(ostree(['init', `--repo=${p}`, `--mode=${mode}`]));
      repos[mode] = await Repo.open(p);
      // Seed the read source through a valid part.
      const { body, records } = await compile([{ kind: 'splice', mode: 0, xattr: 0, data: SOURCE }]);
      const r = await run(repos[mode], { file: Buffer.concat([Buffer.from([0]), body]), records, usize: SOURCE.length }, false);
      expect(r).toBe('ok');
      expect(await repos[mode].hasObject(ObjectType.File, SOURCE_CSUM)).toBe(true);
    }
    const s = path.join(sandbox, 'stats');
    ok(ostree(['init', `--repo=${s}`, '--mode=bare-user']));
    statsRepo = await Repo.open(s);
  }, 60_000);
  afterAll(cleanupTmp);

  it(`seed ${FUZZ_SEED}: generated and damaged parts resolve or reject with an OstreeError; undamaged ones write exactly their objects`, async () => {
    console.log(`deltas-fuzz-part: seed ${FUZZ_SEED} (FUZZ_SEED=… to change)`);
    const rssBefore = process.resourceUsage().maxRSS * 1024;
    const outcomes = new Map<string, number>();
    let validRuns = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(specArb, { minLength: 1, maxLength: 5 }),
        fc.oneof({ weight: 2, arbitrary: fc.constant([] as Damage[]) }, { weight: 3, arbitrary: fc.array(damageArb, { minLength: 1, maxLength: 3 }) }),
        fc.constantFrom<'0' | 'x'>('0', 'x'),
        fc.constantFrom('bare-user', 'archive'),
        fc.boolean(),
        async (specs, damage, compression, mode, checksummed) => {
          const compiled = await compile(specs);
          const { body, records } = damageBody(compiled.body, compiled.records, damage);
          const file = await partFile(body, compression, damage);
          const c: Case = { file, records, usize: 0, checksum: checksummed ? sha256Hex(file) : undefined };
          const stats = await run(statsRepo, c, true);
          const r = await run(repos[mode], c, false);
          outcomes.set(r, (outcomes.get(r) ?? 0) + 1);
          if (damage.length === 0 && compiled.valid) {
            validRuns++;
            expect(r, 'an undamaged valid part must apply').toBe('ok');
            expect(stats).toBe('ok');
            for (const o of compiled.objects) expect(await repos[mode].hasObject(o.type, o.checksum), `${o.type}.${o.checksum}`).toBe(true);
          }
        },
      ),
      { seed: FUZZ_SEED, numRuns: 600 },
    );
    // Both outcomes happen, and the valid programs were a real share of the runs.
    expect(outcomes.get('ok') ?? 0).toBeGreaterThan(40);
    expect(outcomes.get('OSTREE_CORRUPT_OBJECT') ?? 0).toBeGreaterThan(40);
    expect(validRuns).toBeGreaterThan(60);
    // 1 TiB declared sizes did not turn into allocations.
    expect(process.resourceUsage().maxRSS * 1024 - rssBefore).toBeLessThan(256 * 1024 * 1024);
    // statsOnly wrote nothing at all; nothing appeared beside the repositories.
    expect(listFiles(path.join(statsRepo.path, 'objects'))).toEqual([]);
    expect(readdirSync(sandbox).sort()).toEqual(['archive', 'bare-user', 'stats']);
    // Whatever was stored is a sound object under its own name, by ostree's own fsck.
    for (const mode of Object.keys(repos)) {
      fsckObjects(repos[mode].path, `ostree fsck ${mode}`);
      expect(listFiles(path.join(repos[mode].path, 'tmp')).filter((f) => !f.startsWith('cache/'))).toEqual([]);
    }
  }, 120_000);

  it('replays the part corpus', async () => {
    const files = corpus('part');
    expect(files.length).toBeGreaterThan(0);
    for (const [name, bytes] of files) {
      const rec = decodeRecord<{ file: Buffer; records: Buffer; usize: number; checksum: string }>(bytes);
      const c: Case = { file: rec.file, records: rec.records, usize: rec.usize, checksum: rec.checksum || undefined };
      for (const statsOnly of [true, false]) {
        const r = await run(repos['bare-user'], c, statsOnly);
        expect(typeof r, name).toBe('string');
        // Metadata that is no valid object of its type is refused although its checksum is right (as ostree_repo_write_metadata).
        if (!statsOnly && name.startsWith('garbage-')) expect(r, name).toBe('OSTREE_CORRUPT_OBJECT');
      }
    }
    fsckObjects(repos['bare-user'].path, 'ostree fsck');
  });
});

