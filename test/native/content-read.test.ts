// content_read_batch (native/content_read.h), the batch reader of static
// delta generation: in every repo mode, each object's header and payload are
// what the real ostree lists (`ls -R -C -X`) and checks out; batches stop at
// maxBytes; damaged `.filez` objects give clear errno errors, and
// ContentInfoCache turns them into OstreeErrors.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { addon, tmpDir, rmrf, isRoot, OSTREE, skipInterop, hostEnv } from './helpers';
import { makeTree } from '../helpers/interop';
import { Repo } from '../../lib/repo/repo';
import { ContentInfoCache, PayloadStream } from '../../lib/deltas/content';
import type { ContentReadResult } from '../../lib/binding';
import { generateStaticDelta } from '../../lib/deltas/generate';

let work: string;
const repos: Record<string, string> = {};

function ost(...args: string[]): string {
  return execFileSync(OSTREE as string, args, { encoding: 'utf8', maxBuffer: 1 << 26, env: hostEnv() });
}

interface Listed {
  path: string;
  checksum: string;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  xattrs: string;
  target: string;
}

/** The content objects of `main` as `ostree ls -R -C -X` lists them. */
function listed(repo: string): Listed[] {
  const out: Listed[] = [];
  for (const line of ost(`--repo=${repo}`, 'ls', '-R', '-C', '-X', 'main').split('\n')) {
    const m = /^([-l])(\d{5}) (\d+) (\d+) +(\d+) ([0-9a-f]{64}) (\{.*\}) (\/\S*)(?: -> (.*))?$/.exec(line);
    if (!m) continue;
    out.push({
      path: m[8],
      checksum: m[6],
      mode: (m[1] === 'l' ? 0o120000 : 0o100000) | parseInt(m[2], 8),
      uid: Number(m[3]),
      gid: Number(m[4]),
      size: Number(m[5]),
      xattrs: m[7],
      target: m[9] ?? '',
    });
  }
  return out;
}

/** Our xattrs in GLib's text form, as `ls -X` prints them. */
function xattrText(x: Array<[string, Buffer]> | null): string {
  if (!x || !x.length) return '{ @a(ayay) [] }';
  // GLib types the first element only: [byte 0x76, 0x61, ...].
  const one = ([n, v]: [string, Buffer]) => `(b'${n}', [${[...v].map((b, i) => `${i ? '' : 'byte '}0x${b.toString(16).padStart(2, '0')}`).join(', ')}])`;
  return `{ [${x.map(one).join(', ')}] }`;
}

const stores = (repo: string, mode: string): Array<[string, string, boolean]> => [[repo, mode, false]];

beforeAll(() => {
  if (skipInterop) return;
  work = tmpDir('content-read-');
  const tree = path.join(work, 'tree');
  makeTree(tree, 1);
  // Compressible and incompressible payloads of a few hundred KiB, to span several batches.
  fs.writeFileSync(path.join(tree, 'text.txt'), 'a line of text that repeats\n'.repeat(20000));
  fs.writeFileSync(path.join(tree, 'noise.bin'), Buffer.from(Array.from({ length: 200_000 }, (_, i) => (i * 7919) % 251)));
  const modes = ['archive', 'bare-user', 'bare-user-only', ...(isRoot ? ['bare'] : [])];
  for (const mode of modes) {
    const repo = path.join(work, mode);
    ost(`--repo=${repo}`, 'init', `--mode=${mode}`);
    ost(`--repo=${repo}`, 'commit', '-b', 'main', '-s', 'x', ...(mode === 'bare-user-only' ? ['--canonical-permissions', '--no-xattrs'] : []), tree);
    repos[mode] = repo;
  }
});

afterAll(() => {
  if (work) rmrf(work);
});

describe.skipIf(skipInterop)('content_read_batch', () => {
  const check = async (mode: string) => {
    const repo = repos[mode];
    const objs = listed(repo);
    expect(objs.length).toBeGreaterThan(8);
    const out = path.join(work, `co-${mode}`);
    ost(`--repo=${repo}`, 'checkout', ...(mode === 'bare' || mode === 'archive' ? [] : ['-U']), 'main', out);
    const csums = objs.map((o) => o.checksum).join('');
    const head = await addon.content_read_batch(stores(repo, mode), csums, {});
    expect(head.count).toBe(objs.length);
    expect(head.data).toBeUndefined();
    // Several batches of at most 64 KiB each.
    const reads: ContentReadResult[] = [];
    for (let i = 0; i < objs.length; ) {
      const r = await addon.content_read_batch(stores(repo, mode), objs.slice(i).map((o) => o.checksum).join(''), { data: true, maxBytes: 65536 });
      expect(r.count).toBeGreaterThanOrEqual(1);
      if (r.count > 1) expect((r.ends as Float64Array)[r.count - 1]).toBeLessThanOrEqual(65536);
      reads.push(r);
      i += r.count;
    }
    expect(reads.length).toBeGreaterThan(3);
    let k = 0;
    for (const r of reads) {
      for (let i = 0; i < r.count; i++, k++) {
        const o = objs[k];
        for (const x of [head, r]) {
          const j = x === head ? k : i;
          expect({ path: o.path, mode: x.modes[j], uid: x.uids[j], gid: x.gids[j], size: x.sizes[j], target: x.targets[j], xattrs: xattrText(x.xattrs[j]) }).toEqual({
            path: o.path,
            mode: o.mode,
            uid: o.uid,
            gid: o.gid,
            size: o.target ? 0 : o.size,
            target: o.target,
            xattrs: mode === 'bare-user-only' ? '{ @a(ayay) [] }' : o.xattrs,
          });
          expect(x.storage[j]).toBe(fs.lstatSync(path.join(repo, 'objects', o.checksum.slice(0, 2), o.checksum.slice(2) + (mode === 'archive' ? '.filez' : '.file'))).size);
        }
        const ends = r.ends as Float64Array;
        const data = (r.data as Buffer).subarray(i ? ends[i - 1] : 0, ends[i]);
        if (o.target) expect(data.length).toBe(0);
        else expect(data.equals(fs.readFileSync(path.join(out, o.path))), o.path).toBe(true);
      }
    }
    expect(k).toBe(objs.length);
    expect(objs.some((o) => o.xattrs !== '{ @a(ayay) [] }') || mode === 'bare-user-only').toBe(true);
  };
  it.each(['archive', 'bare-user', 'bare-user-only'])('%s: headers and payloads equal ostree ls -X and checkout', check);
  // A bare repo keeps owners in the inode: only root can commit into one.
  it.skipIf(!isRoot)('bare: headers and payloads equal ostree ls -X and checkout', () => check('bare'));

  it('ContentInfoCache and PayloadStream read the same, in order, across batches', async () => {
    const repo = await Repo.open(repos.archive);
    const objs = listed(repos.archive).filter((o) => !o.target);
    const info = new ContentInfoCache(repo);
    await info.prefetch(objs.map((o) => o.checksum));
    const stream = new PayloadStream(info, objs.map((o) => o.checksum), 2, 100_000);
    const got = await Promise.all(objs.map(() => stream.next()));
    const out = path.join(work, 'co-archive');
    got.forEach((b, i) => expect(b.equals(fs.readFileSync(path.join(out, objs[i].path))), objs[i].path).toBe(true));
    expect(() => stream.next()).toThrow(/past its end/);
    for (const o of objs) expect(info.peek(o.checksum).size).toBe(o.size);
    expect((await info.get(objs[0].checksum)).storage).toBeGreaterThan(0);
  });

  describe('damaged archive objects', () => {
    let repo: string;
    let big: Listed;
    let obj: string;
    let pristine: Buffer;
    beforeAll(() => {
      if (skipInterop) return;
      repo = path.join(work, 'damaged');
      fs.cpSync(repos.archive, repo, { recursive: true });
      big = listed(repo).find((o) => o.path === '/text.txt') as Listed;
      obj = path.join(repo, 'objects', big.checksum.slice(0, 2), big.checksum.slice(2) + '.filez');
      pristine = fs.readFileSync(obj);
    });
    const damage = (bytes: Buffer) => {
      fs.rmSync(obj, { force: true });
      fs.writeFileSync(obj, bytes);
    };
    const read = (opts = {}) => addon.content_read_batch(stores(repo, 'archive'), big.checksum, { data: true, ...opts });

    it('a truncated .filez is EINVAL with its path; OSTREE_CORRUPT_OBJECT through the cache', async () => {
      damage(pristine.subarray(0, pristine.length >> 1));
      await expect(read()).rejects.toMatchObject({ code: 'EINVAL', path: obj });
      const info = new ContentInfoCache(await Repo.open(repo));
      await expect(info.data(big.checksum)).rejects.toMatchObject({ code: 'OSTREE_CORRUPT_OBJECT', data: { checksum: big.checksum } });
    });

    it('corrupt deflate data, a too short file and a huge header length are EINVAL', async () => {
      const flipped = Buffer.from(pristine);
      for (let i = pristine.length - 200; i < pristine.length - 100; i++) flipped[i] ^= 0xa5;
      damage(flipped);
      await expect(read()).rejects.toMatchObject({ code: 'EINVAL' });
      damage(pristine.subarray(0, 5));
      await expect(read({ data: false })).rejects.toMatchObject({ code: 'EINVAL' });
      const hugeHeader = Buffer.from(pristine);
      hugeHeader.writeUInt32BE(0x7fffffff, 0);
      damage(hugeHeader);
      await expect(read({ data: false })).rejects.toMatchObject({ code: 'EINVAL' });
    });

    it('a header claiming more data than the stream holds is EINVAL, and maxObjectSize is enforced (EFBIG)', async () => {
      damage(pristine);
      await expect(read({ maxObjectSize: big.size - 1 })).rejects.toMatchObject({ code: 'EFBIG' });
      const r = await read({ maxObjectSize: big.size });
      expect((r.data as Buffer).length).toBe(big.size);
      // The header's size field (t, big-endian in the header at offset 8) made larger.
      const lying = Buffer.from(pristine);
      lying.writeBigUInt64BE(BigInt(big.size) + 1000n, 8);
      damage(lying);
      await expect(read()).rejects.toMatchObject({ code: 'EINVAL', path: obj });
      damage(pristine);
    });

    it('generate over a truncated .filez fails with OSTREE_CORRUPT_OBJECT and writes no superblock', async () => {
      damage(pristine.subarray(0, pristine.length >> 1));
      const to = ost(`--repo=${repo}`, 'rev-parse', 'main').trim();
      await expect(generateStaticDelta(await Repo.open(repo), { to })).rejects.toMatchObject({ code: 'OSTREE_CORRUPT_OBJECT', data: { checksum: big.checksum } });
      const deltas = path.join(repo, 'deltas');
      const files = fs.existsSync(deltas) ? (fs.readdirSync(deltas, { recursive: true }) as string[]) : [];
      expect(files.filter((f) => path.basename(f) === 'superblock' || /^\d+$/.test(path.basename(f)))).toEqual([]);
      damage(pristine);
    });

    it('a missing object is ENOENT; OSTREE_OBJECT_NOT_FOUND through the cache', async () => {
      const missing = 'ab'.repeat(32);
      await expect(addon.content_read_batch(stores(repo, 'archive'), missing, {})).rejects.toMatchObject({ code: 'ENOENT' });
      const info = new ContentInfoCache(await Repo.open(repo));
      await expect(info.get(missing)).rejects.toMatchObject({ code: 'OSTREE_OBJECT_NOT_FOUND' });
    });

    it('bad arguments throw TypeError before any I/O', () => {
      expect(() => addon.content_read_batch([], big.checksum, {})).toThrow(TypeError);
      expect(() => addon.content_read_batch(stores(repo, 'archive'), 'xyz', {})).toThrow(TypeError);
      expect(() => addon.content_read_batch(stores(repo, 'archive'), big.checksum.toUpperCase(), {})).toThrow(TypeError);
      expect(() => addon.content_read_batch(stores(repo, 'nope'), big.checksum, {})).toThrow(TypeError);
      expect(() => addon.content_read_batch(stores(repo, 'archive'), big.checksum, { maxBytes: 0 })).toThrow(TypeError);
      expect(() => addon.content_read_batch(stores(repo, 'archive'), big.checksum, { maxObjectSize: 2 ** 33 })).toThrow(TypeError);
    });
  });
});
