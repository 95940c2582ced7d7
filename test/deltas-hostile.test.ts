// Hostile static deltas, end to end (issue 10; the classes of ostree's delta
// CVEs): oversized and absurdly declared parts over HTTP, xz bombs, invalid
// object types and checksums in the superblock, fallbacks for metadata,
// objects whose content does not hash to their name, hostile dirtree names,
// bspatch records past their buffers, and wrong or missing signatures. Each
// case goes through `applyStaticDelta` (apply-offline) and/or a pull over our
// HTTP server into a client that already has v1, and must fail with an
// OstreeError of a stable code while the client stays as it was: the ref
// does not move, objects/ holds exactly what it held, tmp/ holds no spilled
// part or temp object, and the real `ostree fsck` passes.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync, appendFileSync } from 'node:fs';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { SKIP_INTEROP, tmpdir, cleanupTmp, makeTree, ostree, ours, ok } from './helpers/interop';
import { objectSet, ostreeA } from './helpers/pull';
import { serveHostile, oursMeasured } from './helpers/hostile';
import { serveRepo, type RepoServer } from '../lib/httpd';
import { Repo } from '../lib/repo/repo';
import { pull } from '../lib/pull/pull';
import { applyStaticDelta } from '../lib/deltas/apply';
import { Superblock, SUPERBLOCK_TYPE, parseSuperblock, serializeSuperblock, wrapSignedSuperblock, deltaRelDir } from '../lib/deltas/superblock';
import { PartBuilder, Op } from '../lib/deltas/part-builder';
import { deserialize, serialize } from '../lib/gvariant/codec';
import { SUMMARY_TYPE } from '../lib/summary';
import { OstreeError } from '../lib/errors';
import { ObjectType, S_IFREG, contentChecksum, sha256Hex, csumToBytes, parseCommit, serializeCommit } from '../lib/objects/formats';
import { generateKeyPair, signData } from '../lib/sign/ed25519';

const SUITE = SKIP_INTEROP ? describe.skip : describe;

type RawPart = [number, Buffer, bigint, bigint, Buffer];
type RawFallback = [number, Buffer, bigint, bigint];

/** A part as the executor takes it (uncompressed: compression byte 0) and its header. */
function rawPart(b: PartBuilder): { file: Buffer; header: Superblock['parts'][number] } {
  const file = Buffer.concat([Buffer.from([0]), b.body()]);
  return { file, header: { version: 0, checksum: sha256Hex(file), size: BigInt(file.length), usize: b.usize, objects: b.objects } };
}

/** A content object spliced whole from the payload (listed under `name`, its true checksum by default). */
function spliceFile(b: PartBuilder, data: Buffer, name?: string): string {
  const csum = name ?? contentChecksum({ uid: 0, gid: 0, mode: S_IFREG | 0o644, symlinkTarget: '', xattrs: [] }, data);
  b.objects.push({ type: ObjectType.File, checksum: csum });
  b.usize += BigInt(data.length);
  b.op(Op.OpenSpliceAndClose, b.modeIdx(0, 0, S_IFREG | 0o644), b.xattrIdx([]), data.length, b.payload.append(data));
  return csum;
}

/** A metadata object spliced from the payload, listed under `name` (its SHA-256 by default). */
function spliceMeta(b: PartBuilder, type: ObjectType, data: Buffer, name?: string): string {
  const csum = name ?? sha256Hex(data);
  b.objects.push({ type, checksum: csum });
  b.usize += BigInt(data.length);
  b.op(Op.OpenSpliceAndClose, data.length, b.payload.append(data));
  return csum;
}

/** A dirtree `(a(say)a(sayay))` with the given file names, serialized without any check of the names. */
function rawDirTree(names: string[]): Buffer {
  return serialize('(a(say)a(sayay))', [names.map((n) => [n, Buffer.alloc(32, 0x11)]), []]);
}

/** One bsdiff control record and its diff and extra bytes. */
function patchRecord(diff: bigint, extra: bigint, seek: bigint, bytes = 0): Buffer {
  const c = Buffer.alloc(24);
  c.writeBigUInt64LE(diff, 0);
  c.writeBigUInt64LE(extra, 8);
  c.writeBigUInt64LE(seek, 16);
  return Buffer.concat([c, Buffer.alloc(bytes)]);
}
const NEG = 1n << 63n;

SUITE('hostile static deltas', () => {
  let dir: string;
  let srv: string;
  let template: string;
  let v1: string;
  let v2: string;
  /** The from-scratch delta ostree made for v2 (its superblock is the frame of crafted deltas). */
  let scratch: Superblock;
  let bigV1: Buffer;
  let bigV1Csum: string;
  const servers: RepoServer[] = [];
  let n = 0;

  beforeAll(async () => {
    dir = tmpdir('dhostile-');
    srv = path.join(dir, 'srv');
    ok(ostree([`--repo=${srv}`, 'init', '--mode=archive']));
    const tree = path.join(dir, 'tree');
    makeTree(tree, 1);
    bigV1 = readFileSync(path.join(tree, 'big.bin'));
    v1 = ok(ostree([`--repo=${srv}`, 'commit', '-b', 'main', '-s', 'v1', '--owner-uid=0', '--owner-gid=0', '--tree=dir=' + tree])).trim();
    appendFileSync(path.join(tree, 'big.bin'), 'tail of v2\n');
    writeFileSync(path.join(tree, 'added'), 'added in v2\n');
    v2 = ok(ostree([`--repo=${srv}`, 'commit', '-b', 'main', '-s', 'v2', '--owner-uid=0', '--owner-gid=0', '--tree=dir=' + tree])).trim();
    ok(ostree([`--repo=${srv}`, 'static-delta', 'generate', '--from=' + v1, '--to=' + v2]));
    ok(ostree([`--repo=${srv}`, 'static-delta', 'generate', '--empty', '--to=' + v2]));
    ok(ostree([`--repo=${srv}`, 'summary', '-u']));
    scratch = parseSuperblock(readFileSync(path.join(srv, deltaRelDir(null, v2), 'superblock')));
    bigV1Csum = contentChecksum({ uid: 0, gid: 0, mode: S_IFREG | 0o644, symlinkTarget: '', xattrs: [] }, bigV1);
    // The client every case starts from: bare-user, origin:main at v1.
    template = path.join(dir, 'template');
    ok(ostree([`--repo=${template}`, 'init', '--mode=bare-user']));
    ok(ostree([`--repo=${template}`, 'remote', 'add', '--no-gpg-verify', 'origin', 'file://' + srv]));
    ok(ostree([`--repo=${template}`, 'pull', 'origin', `main@${v1}`]));
    expect(objectSet(template)).toContain(`${bigV1Csum.slice(0, 2)}/${bigV1Csum.slice(2)}.content`);
  }, 120_000);

  afterAll(async () => {
    for (const s of servers) await s.close();
    cleanupTmp();
  });

  /** The v1 client apply-offline refusals share (each must leave it as it was). */
  let offline: string | null = null;
  const shared = () => (offline ??= client());

  /** A fresh copy of the v1 client, its origin pointing at `url`. */
  function client(url = 'file://' + srv): string {
    const repo = path.join(dir, `client-${n++}`);
    execFileSync('cp', ['-a', template, repo]); // (keeps bare-user's user.ostreemeta)
    ok(ostree([`--repo=${repo}`, 'config', 'set', 'remote "origin".url', url]));
    return repo;
  }

  /** What must not change when a delta is refused. */
  function state(repo: string) {
    // An aborted transaction leaves its (empty) staging dir for the next one to reuse, as ostree's does.
    const emptyStaging = (f: string) => f.startsWith('staging-') && readdirSync(path.join(repo, 'tmp', f)).length === 0;
    const tmp = readdirSync(path.join(repo, 'tmp')).filter((f) => f !== 'cache' && !emptyStaging(f));
    const refs = (readdirSync(path.join(repo, 'refs'), { recursive: true }) as string[])
      .filter((f) => statSync(path.join(repo, 'refs', f)).isFile())
      .map((f) => `${f} ${readFileSync(path.join(repo, 'refs', f), 'utf8').trim()}`)
      .sort();
    return { refs, objects: objectSet(repo), tmp };
  }
  /**
   * Apply-offline: nothing at all. A pull (as ostree's) verifies and writes the target
   * commit, marked partial, before it fetches any part: exactly those two may be new.
   */
  function unchanged(repo: string, before: ReturnType<typeof state>, opts: { pulled?: boolean } = {}): void {
    const after = state(repo);
    const partial = [`${v2.slice(0, 2)}/${v2.slice(2)}.commit`, `state/${v2}.commitpartial`];
    if (opts.pulled) after.objects = after.objects.filter((o) => !partial.includes(o));
    expect(after).toEqual(before);
    if (!opts.pulled) expect(existsSync(path.join(repo, 'objects', v2.slice(0, 2), `${v2.slice(2)}.commit`))).toBe(false);
    ok(ostree([`--repo=${repo}`, 'fsck']), 'ostree fsck');
  }

  /** A single-part delta to v2 (from v1, or from scratch) whose part is `part`, written to a directory. */
  function deltaDir(part: { file: Buffer; header: Superblock['parts'][number] }, opts: { from?: string | null; edit?: (raw: unknown[]) => void } = {}): string {
    const d = path.join(dir, `delta-${n++}`);
    mkdirSync(d);
    writeFileSync(path.join(d, '0'), part.file);
    writeFileSync(path.join(d, 'superblock'), superblockBytes([part.header], opts));
    return d;
  }
  function superblockBytes(parts: Superblock['parts'], opts: { from?: string | null; edit?: (raw: unknown[]) => void } = {}): Buffer {
    const from = opts.from === undefined ? v1 : opts.from;
    const sb: Superblock = { ...scratch, from, metadata: scratch.metadata.filter(([k]) => !k.includes('/')), parts, fallbacks: [] };
    const bytes = serializeSuperblock(sb);
    if (!opts.edit) return bytes;
    const raw = deserialize<unknown[]>(SUPERBLOCK_TYPE, bytes);
    opts.edit(raw);
    return serialize(SUPERBLOCK_TYPE, raw);
  }

  /** A copy of the server repo whose v1→v2 delta is replaced by `files` (superblock, parts), served over HTTP. */
  async function serveWith(files: Record<string, Buffer>): Promise<{ server: RepoServer; root: string }> {
    const root = path.join(dir, `srv-${n++}`);
    cpSync(srv, root, { recursive: true });
    const d = path.join(root, deltaRelDir(v1, v2));
    rmSync(d, { recursive: true });
    mkdirSync(d);
    for (const [name, b] of Object.entries(files)) writeFileSync(path.join(d, name), b);
    // The from-scratch delta must not be an alternative.
    rmSync(path.join(root, deltaRelDir(null, v2)), { recursive: true });
    ok(ostree([`--repo=${root}`, 'summary', '-u']));
    const server = await serveRepo(root);
    servers.push(server);
    return { server, root };
  }

  async function pullError(repo: string, opts: { required?: boolean } = {}): Promise<OstreeError> {
    try {
      await pull(await Repo.open(repo), { remote: 'origin', refs: ['main'], requireStaticDeltas: opts.required ?? true });
    } catch (err) {
      expect(err).toBeInstanceOf(OstreeError);
      return err as OstreeError;
    }
    throw new Error('pull succeeded');
  }
  async function applyError(repo: string, d: string): Promise<OstreeError> {
    try {
      await applyStaticDelta(await Repo.open(repo), d);
    } catch (err) {
      expect(err).toBeInstanceOf(OstreeError);
      return err as OstreeError;
    }
    throw new Error('apply succeeded');
  }

  /** A valid one-object part (a new file): the base most cases damage. */
  function goodPart(): { file: Buffer; header: Superblock['parts'][number] } {
    const b = new PartBuilder();
    spliceFile(b, Buffer.from('a new file in a crafted part\n'));
    return rawPart(b);
  }

  it('the crafted frame is sound: an undamaged crafted part applies', async () => {
    // (Without this, every refusal below could come from a mistake in the frame.)
    const repo = client();
    const r = await applyStaticDelta(await Repo.open(repo), deltaDir(goodPart()));
    expect(r.partsApplied).toBe(1);
    expect(r.objectsWritten).toBe(2);
  });

  describe('oversized parts over HTTP', () => {
    it('a part file larger than its header declares: refused as it arrives, nothing written', async () => {
      const { file, header } = goodPart();
      const { server } = await serveWith({ superblock: superblockBytes([header]), '0': Buffer.concat([file, Buffer.alloc(2 << 20, 0x41)]) });
      const repo = client(server.url);
      const before = state(repo);
      const err = await pullError(repo);
      expect(err.code).toBe('OSTREE_HTTP');
      expect(err.message).toMatch(/exceeded maximum size of \d+ bytes/);
      unchanged(repo, before, { pulled: true });
      // ostree leaves the same refs and the same partial marker; its target commit waits in
      // its staging directory (tmp/staging-*) where ours is in objects/, marked partial.
      const theirs = client(server.url);
      const r = await ostreeA([`--repo=${theirs}`, 'pull', '--require-static-deltas', 'origin', 'main']);
      expect(r.status).toBe(1);
      const [a, b] = [state(repo), state(theirs)];
      expect(b.refs).toEqual(a.refs);
      expect(b.objects).toEqual(a.objects.filter((o) => o !== `${v2.slice(0, 2)}/${v2.slice(2)}.commit`));
      expect(b.tmp.every((t) => t.startsWith('staging-'))).toBe(true);
    });

    it('a part whose declared size is absurd is refused before it is requested', async () => {
      const { file, header } = goodPart();
      const root = path.join(dir, `srv-${n++}`);
      cpSync(srv, root, { recursive: true });
      const d = path.join(root, deltaRelDir(v1, v2));
      writeFileSync(path.join(d, 'superblock'), superblockBytes([{ ...header, size: 1n << 50n }]));
      writeFileSync(path.join(d, '0'), file);
      rmSync(path.join(root, deltaRelDir(null, v2)), { recursive: true });
      ok(ostree([`--repo=${root}`, 'summary', '-u']));
      // The part's path answers with an endless body, should anyone ask.
      const hostile = await serveHostile(root, (p) => (p.endsWith('/0') ? { kind: 'flood', bytes: 1 << 30 } : null));
      try {
        const repo = client(hostile.url);
        const before = state(repo);
        const err = await pullError(repo);
        expect(err.code).toBe('OSTREE_CORRUPT_OBJECT');
        expect(err.message).toMatch(/Delta part 0 .*declares \d+ bytes/);
        expect(hostile.requests.filter((r) => r.endsWith('/0'))).toEqual([]);
        unchanged(repo, before);
      } finally {
        await hostile.close();
      }
    });

    it('a declared uncompressed size beyond the free space is refused as ostree refuses it', async () => {
      const { file, header } = goodPart();
      const { server } = await serveWith({ superblock: superblockBytes([{ ...header, usize: 1n << 60n }]), '0': file });
      const repo = client(server.url);
      const before = state(repo);
      const err = await pullError(repo);
      expect(err.code).toBe('OSTREE_IO');
      expect(err.message).toMatch(/^Delta requires .* free space, but only .* available$/);
      expect(server.requests.filter((r) => r.path.endsWith('/0'))).toEqual([]);
      unchanged(repo, before);
    });
  });

  describe('an xz bomb', () => {
    let bomb: { file: Buffer; header: Superblock['parts'][number] };
    const BOMB = 256 << 20;
    beforeAll(() => {
      // 256 MiB of zeros in about 40 KiB, under a header declaring a 29-byte object.
      const xz = execFileSync('sh', ['-c', `head -c ${BOMB} /dev/zero | xz -0 -T1 -c`], { maxBuffer: 1 << 24 });
      const file = Buffer.concat([Buffer.from('x'), xz]);
      const good = goodPart();
      bomb = { file, header: { ...good.header, checksum: sha256Hex(file), size: BigInt(file.length) } };
    }, 60_000);

    it('apply-offline stops decompressing at the bound and stays small', async () => {
      const repo = client();
      const before = state(repo);
      const d = deltaDir(bomb);
      const err = await applyError(repo, d);
      expect(err.code).toBe('OSTREE_CORRUPT_OBJECT');
      expect(err.message).toMatch(/^Decompressing delta part: Decompressed data larger than expected$/);
      unchanged(repo, before);
      // The CLI in a child: the decoder's buffer never grows past the bound (64 MiB + twice the declared size).
      const run = await oursMeasured([`--repo=${repo}`, 'static-delta', 'apply-offline', d], path.join(dir, `rss-${n++}`));
      expect(run.status).toBe(1);
      expect(run.stderr).toMatch(/Decompressed data larger than expected/);
      console.log(`xz bomb: apply-offline peak RSS ${(run.maxRss / 2 ** 20).toFixed(1)} MiB`);
      expect(run.maxRss).toBeLessThan(Math.min(BOMB, 220 << 20));
      unchanged(repo, before);
    }, 60_000);

    it('pull stops decompressing at the bound; the spilled part is removed', async () => {
      // Padded past 1 MiB (bytes after the xz stream are ignored), so the part is spilled to tmp/.
      const file = Buffer.concat([bomb.file, Buffer.alloc(1536 * 1024)]);
      const header = { ...bomb.header, checksum: sha256Hex(file), size: BigInt(file.length) };
      const { server } = await serveWith({ superblock: superblockBytes([header]), '0': file });
      const repo = client(server.url);
      const before = state(repo);
      const err = await pullError(repo);
      expect(err.code).toBe('OSTREE_CORRUPT_OBJECT');
      expect(err.message).toMatch(/Decompressed data larger than expected/);
      unchanged(repo, before, { pulled: true });
    }, 60_000);
  });

  describe('superblocks listing what no delta may list', () => {
    // [what, edit, message, also over a pull] (the parser is the same for both: a few go both ways).
    const edits: Array<[string, (raw: unknown[]) => void, RegExp, boolean]> = [
      ['an object of type 0', (raw) => ((raw[6] as RawPart[])[0][4][0] = 0), /Invalid object type 0 in delta part 0/, false],
      ['an object of type 7', (raw) => ((raw[6] as RawPart[])[0][4][0] = 7), /Invalid object type 7 in delta part 0/, true],
      ['a part checksum of 31 bytes', (raw) => ((raw[6] as RawPart[])[0][1] = Buffer.alloc(31, 1)), /Invalid checksum of length 31 expected 32/, true],
      ['an object list cut inside a record', (raw) => ((raw[6] as RawPart[])[0][4] = (raw[6] as RawPart[])[0][4].subarray(0, 20)), /Invalid object list length 20/, false],
      ['a fallback of type 9', (raw) => (raw[7] as RawFallback[]).push([9, Buffer.alloc(32, 2), 1n, 1n]), /Invalid object type 9 in fallback/, true],
      ['a fallback checksum of 33 bytes', (raw) => (raw[7] as RawFallback[]).push([1, Buffer.alloc(33, 2), 1n, 1n]), /Invalid checksum of length 33 expected 32/, false],
    ];
    for (const [what, edit, msg, viaPull] of edits) {
      it(`${what}: refused by apply-offline${viaPull ? ' and by pull before anything is fetched' : ''}`, async () => {
        const part = goodPart();
        const d = deltaDir(part, { edit });
        const repo = shared();
        const before = state(repo);
        const err = await applyError(repo, d);
        expect(err.code).toBe('OSTREE_CORRUPT_OBJECT');
        expect(err.message).toMatch(msg);
        unchanged(repo, before);
        if (!viaPull) return;
        const { server } = await serveWith({ superblock: readFileSync(path.join(d, 'superblock')), '0': part.file });
        const r2 = client(server.url);
        const before2 = state(r2);
        const e2 = await pullError(r2);
        expect(e2.code).toBe('OSTREE_CORRUPT_OBJECT');
        expect(e2.message).toMatch(msg);
        expect(server.requests.filter((r) => r.path.endsWith('/0'))).toEqual([]);
        unchanged(r2, before2, { pulled: true });
      });
    }

    it('a fallback entry for a dirtree: pull refuses it as ostree does; apply-offline refuses any fallback', async () => {
      const part = goodPart();
      const edit = (raw: unknown[]) => (raw[7] as RawFallback[]).push([ObjectType.DirTree, Buffer.alloc(32, 3), 10n, 10n]);
      const d = deltaDir(part, { edit });
      const repo = client();
      const before = state(repo);
      const err = await applyError(repo, d);
      expect(err.code).toBe('OSTREE_INVALID_ARGUMENT');
      expect(err.message).toBe('Cannot execute delta offline: contains nonempty http fallback entries');
      unchanged(repo, before);
      const { server } = await serveWith({ superblock: readFileSync(path.join(d, 'superblock')), '0': part.file });
      const r2 = client(server.url);
      const before2 = state(r2);
      const e2 = await pullError(r2);
      expect(e2.code).toBe('OSTREE_CORRUPT_OBJECT');
      expect(e2.message).toBe(`Found metadata object as fallback: ${'03'.repeat(32)}.dirtree`);
      expect(server.requests.filter((r) => r.path.endsWith('/0') || r.path.includes('0303'))).toEqual([]);
      unchanged(r2, before2, { pulled: true });
    });
  });

  describe('objects that are not what the part says', () => {
    const cases: Array<[string, (b: PartBuilder) => void, RegExp]> = [
      ['a file whose content does not hash to its name', (b) => void spliceFile(b, Buffer.from('evil content\n'), 'ab'.repeat(32)), /Corrupted file object; checksum expected='(ab){32}' actual='[0-9a-f]{64}'/],
      ['a dirtree whose bytes do not hash to its name', (b) => void spliceMeta(b, ObjectType.DirTree, rawDirTree(['a']), 'cd'.repeat(32)), /Corrupted dirtree object; checksum expected='(cd){32}'/],
      ['a commit whose bytes do not hash to its name', (b) => void spliceMeta(b, ObjectType.Commit, Buffer.from('not a commit'), v1.replace(/^../, '00')), /Corrupted commit object; checksum expected='/],
    ];
    for (const [what, build, msg] of cases) {
      it(`${what}: refused by apply-offline and pull, nothing stored`, async () => {
        const b = new PartBuilder();
        build(b);
        const part = rawPart(b);
        const repo = shared();
        const before = state(repo);
        const err = await applyError(repo, deltaDir(part));
        expect(err.code).toBe('OSTREE_CORRUPT_OBJECT');
        expect(err.message).toMatch(msg);
        unchanged(repo, before);
        const { server } = await serveWith({ superblock: superblockBytes([part.header]), '0': part.file });
        const r2 = client(server.url);
        const before2 = state(r2);
        const e2 = await pullError(r2);
        expect(e2.code).toBe('OSTREE_CORRUPT_OBJECT');
        expect(e2.message).toMatch(msg);
        unchanged(r2, before2, { pulled: true });
      });
    }

    it('after a verified object, a corrupt one stops the part: the verified one is whole, the corrupt one absent', async () => {
      // Objects are verified one by one and linked once verified (as pulls do; ostree
      // stages them until the transaction commits): what is visible is sound.
      const b = new PartBuilder();
      const good = spliceFile(b, Buffer.from('verified first\n'));
      spliceFile(b, Buffer.from('then corrupt\n'), 'ef'.repeat(32));
      const repo = client();
      const before = state(repo);
      const err = await applyError(repo, deltaDir(rawPart(b)));
      expect(err.code).toBe('OSTREE_CORRUPT_OBJECT');
      const added = objectSet(repo).filter((o) => !before.objects.includes(o));
      expect(added.every((o) => o === `${good.slice(0, 2)}/${good.slice(2)}.content`)).toBe(true);
      expect(objectSet(repo)).not.toContain(`ef/${'ef'.repeat(31)}.content`);
      expect(state(repo).refs).toEqual(before.refs);
      ok(ostree([`--repo=${repo}`, 'fsck']));
    });
  });

  describe('path traversal', () => {
    const names: Array<[string, string[]]> = [
      ['..', ['..']],
      ['.', ['.']],
      ['a name with a slash', ['etc/passwd']],
      ['../ prefix', ['../escaped']],
      ['an empty name', ['']],
    ];
    for (const [what, list] of names) {
      it(`a dirtree entry named ${what} is refused before it is stored`, async () => {
        const b = new PartBuilder();
        const csum = spliceMeta(b, ObjectType.DirTree, rawDirTree(list));
        const part = rawPart(b);
        const repo = shared();
        const before = state(repo);
        const err = await applyError(repo, deltaDir(part));
        expect(err.code).toBe('OSTREE_CORRUPT_OBJECT');
        expect(err.message).toContain(`Invalid dirtree object ${csum}`);
        unchanged(repo, before);
      });
    }

    it('a summary listing a delta named with ../ is refused before any delta path is requested', async () => {
      const root = path.join(dir, `srv-${n++}`);
      cpSync(srv, root, { recursive: true });
      const raw = deserialize<[unknown[], Array<[string, { type: string; value: unknown }]>]>(SUMMARY_TYPE, readFileSync(path.join(root, 'summary')));
      const deltas = raw[1].find(([k]) => k === 'ostree.static-deltas');
      if (!deltas) throw new Error('the summary lists no deltas');
      (deltas[1].value as Array<[string, unknown]>).push([`../../../../etc/${v2}`, { type: 'ay', value: Buffer.alloc(32, 9) }]);
      writeFileSync(path.join(root, 'summary'), serialize(SUMMARY_TYPE, raw));
      const server = await serveRepo(root);
      servers.push(server);
      const repo = client(server.url);
      const before = state(repo);
      const err = await pullError(repo);
      expect(err.code).toBe('OSTREE_INVALID_ARGUMENT');
      expect(err.message).toBe(`Invalid rev ${`../../../../etc/${v2}`.slice(0, 64)}`);
      expect(server.requests.filter((r) => r.path.includes('/deltas/') || r.path.includes('etc'))).toEqual([]);
      unchanged(repo, before);
      const theirs = client(server.url);
      const r = await ostreeA([`--repo=${theirs}`, 'pull', '--require-static-deltas', 'origin', 'main']);
      expect([r.status, r.stderr]).toEqual([1, `error: ${err.message}\n`]);
    });

    it('object names are binary checksums: a listed name never reaches the filesystem as text', async () => {
      // The part header's records are 33 bytes (type + 32-byte SHA-256); a record cut
      // elsewhere is refused by the parser (above). Every stored name is 64 hex digits.
      const b = new PartBuilder();
      spliceFile(b, Buffer.from('x'));
      const repo = client();
      await applyStaticDelta(await Repo.open(repo), deltaDir(rawPart(b)));
      for (const o of objectSet(repo).filter((x) => !x.startsWith('state/'))) expect(o).toMatch(/^[0-9a-f]{2}\/[0-9a-f]{62}\.(content|dirtree|dirmeta|commit|commitmeta)$/);
    });

    it('a hostile dirtree planted behind the delta\'s back is not checked out outside the target', async () => {
      // Every write check bypassed: the objects are put in place by hand.
      const repo = client();
      const b = new PartBuilder();
      const file = spliceFile(b, Buffer.from('escaped\n'));
      await applyStaticDelta(await Repo.open(repo), deltaDir(rawPart(b)));
      const obj = (c: string, ext: string) => path.join(repo, 'objects', c.slice(0, 2), `${c.slice(2)}.${ext}`);
      const tree = serialize('(a(say)a(sayay))', [[['../escaped', csumToBytes(file)]], []]);
      const treeCsum = sha256Hex(tree);
      mkdirSync(path.dirname(obj(treeCsum, 'dirtree')), { recursive: true });
      writeFileSync(obj(treeCsum, 'dirtree'), tree);
      const c = parseCommit(readFileSync(obj(v1, 'commit')));
      const evil = serializeCommit({ ...c, rootTree: treeCsum });
      const evilCsum = sha256Hex(evil);
      mkdirSync(path.dirname(obj(evilCsum, 'commit')), { recursive: true });
      writeFileSync(obj(evilCsum, 'commit'), evil);
      const out = path.join(dir, `co-${n++}`, 'inner');
      mkdirSync(path.dirname(out));
      const res = ours([`--repo=${repo}`, 'checkout', '-U', evilCsum, out]);
      expect(res.status).toBe(1);
      expect(res.stderr).toMatch(/^error: /);
      expect(existsSync(path.join(path.dirname(out), 'escaped'))).toBe(false);
      expect(readdirSync(path.dirname(out)).filter((f) => f !== 'inner')).toEqual([]);
    });
  });

  describe('bspatch records past their buffers, through the whole apply path', () => {
    // The new object is 1000 bytes patched from big.bin of v1 (300 KiB), already in the client.
    const records: Array<[string, Buffer, RegExp]> = [
      ['a diff longer than the new file', patchRecord(2000n, 0n, 0n, 2000), /record past the end of the file/],
      ['extra bytes past the new file', patchRecord(0n, 5000n, 0n, 5000), /record past the end of the file/],
      ['a negative diff length', patchRecord(NEG | 5n, 0n, 0n), /invalid record length/],
      ['a negative extra length', patchRecord(0n, NEG | 5n, 0n), /invalid record length/],
      ['a seek far past the old file', Buffer.concat([patchRecord(10n, 0n, (1n << 62n) + 1n, 10), patchRecord(990n, 0n, 0n, 990)]), /invalid seek/],
      ['a seek far before the old file', Buffer.concat([patchRecord(10n, 0n, NEG | ((1n << 62n) + 100n), 10), patchRecord(990n, 0n, 0n, 990)]), /invalid seek/],
      ['a diff longer than the patch', patchRecord(1000n, 0n, 0n, 10), /bsdiff patch truncated/],
      ['a truncated control record', Buffer.alloc(10), /bsdiff patch truncated/],
    ];
    function bspatchPart(patch: Buffer): { file: Buffer; header: Superblock['parts'][number] } {
      const b = new PartBuilder();
      b.objects.push({ type: ObjectType.File, checksum: '12'.repeat(32) });
      b.usize += 1000n;
      const src = b.payload.append(csumToBytes(bigV1Csum));
      const at = b.payload.append(patch);
      b.op(Op.Open, b.modeIdx(0, 0, S_IFREG | 0o644), b.xattrIdx([]), 1000);
      b.op(Op.SetReadSource, src);
      b.op(Op.Bspatch, at, patch.length);
      b.op(Op.Close);
      return rawPart(b);
    }
    for (const [what, patch, msg] of records) {
      it(`${what}: refused, nothing written`, async () => {
        const repo = shared();
        const before = state(repo);
        const err = await applyError(repo, deltaDir(bspatchPart(patch)));
        expect(err.code).toBe('OSTREE_CORRUPT_OBJECT');
        expect(err.message).toMatch(/^Executing delta part 0: /);
        expect(err.message).toMatch(msg);
        unchanged(repo, before);
      });
    }

    it('a patch op whose offset/length leave the payload, and the same over a pull', async () => {
      const b = new PartBuilder();
      b.objects.push({ type: ObjectType.File, checksum: '12'.repeat(32) });
      const src = b.payload.append(csumToBytes(bigV1Csum));
      b.op(Op.Open, b.modeIdx(0, 0, S_IFREG | 0o644), b.xattrIdx([]), 1000);
      b.op(Op.SetReadSource, src);
      b.op(Op.Bspatch, 0, 1 << 30);
      b.op(Op.Close);
      const part = rawPart(b);
      const repo = client();
      const before = state(repo);
      const err = await applyError(repo, deltaDir(part));
      expect(err.message).toMatch(/Invalid offset\/length 0\/1073741824/);
      unchanged(repo, before);
      const bad = bspatchPart(patchRecord(2000n, 0n, 0n, 2000));
      const { server } = await serveWith({ superblock: superblockBytes([bad.header]), '0': bad.file });
      const r2 = client(server.url);
      const before2 = state(r2);
      const e2 = await pullError(r2);
      expect(e2.code).toBe('OSTREE_CORRUPT_OBJECT');
      expect(e2.message).toMatch(/record past the end of the file/);
      unchanged(r2, before2, { pulled: true });
    });
  });

  describe('signatures', () => {
    const key = generateKeyPair();
    const other = generateKeyPair();

    it('apply-offline: a superblock signed by another key moves nothing', async () => {
      const d = path.join(dir, `signed-${n++}`);
      cpSync(path.join(srv, deltaRelDir(v1, v2)), d, { recursive: true });
      const plain = readFileSync(path.join(d, 'superblock'));
      writeFileSync(path.join(d, 'superblock'), wrapSignedSuperblock(plain, [['ostree.sign.ed25519', [signData(plain, other.secretKey)]]]));
      const repo = client();
      const before = state(repo);
      const r = await Repo.open(repo);
      await expect(applyStaticDelta(r, d, { sign: { type: 'ed25519', keys: [key.publicKey] } })).rejects.toMatchObject({ code: 'OSTREE_SIGN_VERIFY_FAILED' });
      unchanged(repo, before);
      const cli = ours([`--repo=${repo}`, 'static-delta', 'apply-offline', d, key.publicKey]);
      expect(cli.status).toBe(1);
      unchanged(repo, before);
      // The right key applies it (the frame is sound).
      await applyStaticDelta(r, d, { sign: { type: 'ed25519', keys: [other.publicKey] } });
    });

    it('pull: a delta signed by another key, and an unsigned delta of an unsigned commit when the remote requires signatures', async () => {
      const sig = (b: Buffer) => wrapSignedSuperblock(b, [['ostree.sign.ed25519', [signData(b, other.secretKey)]]]);
      const plain = readFileSync(path.join(srv, deltaRelDir(v1, v2), 'superblock'));
      const part0 = readFileSync(path.join(srv, deltaRelDir(v1, v2), '0'));
      for (const [what, sb, msg] of [
        ['signed by another key', sig(plain), /^Static delta \S+: /],
        ['unsigned', plain, /^Can't verify commit without detached metadata$/],
      ] as Array<[string, Buffer, RegExp]>) {
        const { server } = await serveWith({ superblock: sb, '0': part0 });
        const repo = client(server.url);
        ok(ostree([`--repo=${repo}`, 'config', 'set', 'remote "origin".sign-verify', 'true']));
        ok(ostree([`--repo=${repo}`, 'config', 'set', 'remote "origin".verification-ed25519-key', key.publicKey]));
        const before = state(repo);
        const err = await pullError(repo);
        expect(err.message, what).toMatch(msg);
        expect(err.code, what).toBe('OSTREE_SIGN_VERIFY_FAILED');
        expect(server.requests.filter((r) => r.path.endsWith('/0')), what).toEqual([]);
        unchanged(repo, before);
      }
    });
  });
});
