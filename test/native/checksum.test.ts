import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  addon, encodeOstreeMeta, isRoot, ostreeChecksum, rmrf, setXattrs, skipInterop, tmpDir,
  xattrsSupported,
} from './helpers';

const HELLO = 'd54de4d5e87b6e23a70888c184728279c0e3a0d9ed8d4bb4fe2151e05f9599e8';
const LINK = 'f66efa496a72379413c44593de510dc344beb045294f1a543da87b2b6118db35';
const EMPTY = 'cc700d46f407c6c5ab2d5dde474366a928b7398277e61162e7f8ec06f469f07e';
const XATTR = 'f08a960104ef83bc4b76d2f1c30390171e6d500a2785077015ef7fb9299f1c83';
const XATTR_IGNORED = '90bb74838c1594a2bcad43400970f0d03e4e0b8fcdd9398c86fc92e3d0506f9c';
const HAS_XATTRS = xattrsSupported();

// Small seeded PRNG so failures are reproducible.
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

let dir: string;
beforeAll(async () => {
  dir = tmpDir();
  // The tree of vectors/make-tree.sh (the parts that need no root, plus owners when root).
  fs.writeFileSync(path.join(dir, 'hello.txt'), 'Hello, OSTree!\n', { mode: 0o644 });
  fs.chmodSync(path.join(dir, 'hello.txt'), 0o644);
  fs.writeFileSync(path.join(dir, 'empty'), '');
  fs.chmodSync(path.join(dir, 'empty'), 0o644);
  fs.symlinkSync('hello.txt', path.join(dir, 'link'));
  fs.mkdirSync(path.join(dir, 'bin'));
  fs.writeFileSync(path.join(dir, 'bin/run.sh'), '#!/bin/sh\necho hi\n');
  fs.chmodSync(path.join(dir, 'bin/run.sh'), 0o755);
  fs.writeFileSync(path.join(dir, 'bin/suid'), 'setuid\n');
  fs.chmodSync(path.join(dir, 'bin/suid'), 0o4755);
  fs.writeFileSync(path.join(dir, 'xattr.txt'), 'x\n');
  fs.chmodSync(path.join(dir, 'xattr.txt'), 0o644);
  if (HAS_XATTRS) await setXattrs(path.join(dir, 'xattr.txt'), [['user.zeta', 'last'], ['user.alpha', 'first']]);
  fs.mkdirSync(path.join(dir, 'sub'));
  fs.writeFileSync(path.join(dir, 'sub/owned.txt'), 'owned by 1000:1000\n');
  fs.chmodSync(path.join(dir, 'sub/owned.txt'), 0o640);
  fs.symlinkSync('../hello.txt', path.join(dir, 'sub/uplink'));
  if (isRoot) fs.chownSync(path.join(dir, 'sub/owned.txt'), 1000, 1000);
});
afterAll(() => rmrf(dir));

const p = (name: string) => path.join(dir, name);
const uid0 = isRoot ? {} : { uid: 0, gid: 0 };

describe('checksum_files', () => {
  it('matches the FORMATS.md §2.3 vectors', async () => {
    const r = await addon.checksum_files([p('hello.txt'), p('link'), p('empty')], uid0);
    expect(r.map((x) => x.checksum)).toEqual([HELLO, LINK, EMPTY]);
    expect(r[0]).toMatchObject({ size: 15, mode: 0o100644, symlinkTarget: null, xattrs: [] });
    expect(r[1]).toMatchObject({ size: 9, mode: 0o120777, symlinkTarget: 'hello.txt' });
    const st = fs.lstatSync(p('link'));
    expect(r[1]).toMatchObject({ dev: st.dev, ino: st.ino, nlink: st.nlink });
  });

  it('matches vectors/checksum-cli.txt', async () => {
    const lines = fs.readFileSync('/work/shared/spec/vectors/checksum-cli.txt', 'utf8').split('\n');
    const want = new Map<string, string>();
    for (const l of lines) {
      const m = /^(\S+) ([0-9a-f]{64}) ignore-xattrs=([0-9a-f]{64})$/.exec(l);
      if (m) want.set(m[1], m[2]);
    }
    const names = ['hello.txt', 'empty', 'bin/run.sh', 'bin/suid', 'link', 'sub/uplink'];
    if (isRoot) names.push('sub/owned.txt');
    if (HAS_XATTRS) names.push('xattr.txt');
    const r = await addon.checksum_files(names.map(p), uid0);
    r.forEach((x, i) => expect(x.checksum, names[i]).toBe(want.get(names[i])));
  });

  it.skipIf(!HAS_XATTRS)('includes sorted xattrs (names without NUL) and honours skipXattrs', async () => {
    const [withX] = await addon.checksum_files([p('xattr.txt')], uid0);
    expect(withX.checksum).toBe(XATTR);
    expect(withX.xattrs.map(([k, v]) => [k, v.toString()])).toEqual([['user.alpha', 'first'], ['user.zeta', 'last']]);
    const [skipped] = await addon.checksum_files([p('xattr.txt')], { ...uid0, skipXattrs: true });
    expect(skipped.checksum).toBe(XATTR_IGNORED);
    expect(skipped.xattrs).toEqual([]);
  });

  it.skipIf(!HAS_XATTRS)('ignores empty-valued xattrs', async () => {
    const f = p('empty-xattr');
    fs.writeFileSync(f, 'x\n');
    fs.chmodSync(f, 0o644);
    await setXattrs(f, [['user.empty', '']]);
    const [r] = await addon.checksum_files([f], uid0);
    expect(r.checksum).toBe(XATTR_IGNORED);
  });

  it('applies uid/gid overrides and canonicalPermissions', async () => {
    const [a] = await addon.checksum_files([p('sub/owned.txt')], { uid: 1000, gid: 1000 });
    expect(a.checksum).toBe('556ee85b3ed5d613444da98a05977c1fa1aced48331f20584745513cd8041115');
    expect(a).toMatchObject({ uid: 1000, gid: 1000, mode: 0o100640 });
    // canonical: uid=gid=0, mode & (S_IFREG|0755): suid dropped, 0640 -> 0640 & 0755 = 0640
    const [s, l] = await addon.checksum_files([p('bin/suid'), p('link')], { canonicalPermissions: true });
    expect(s).toMatchObject({ uid: 0, gid: 0, mode: 0o100755 });
    expect(l).toMatchObject({ uid: 0, gid: 0, mode: 0o120777, checksum: LINK });
    const [run] = await addon.checksum_files([p('bin/run.sh')], uid0);
    expect(s.checksum).not.toBe(run.checksum); // different content, same metadata
  });

  it.skipIf(!HAS_XATTRS)('canonicalPermissions drops xattrs', async () => {
    const [r] = await addon.checksum_files([p('xattr.txt')], { canonicalPermissions: true });
    expect(r.checksum).toBe(XATTR_IGNORED);
  });

  it('rejects non-regular files with an fs-style EINVAL', async () => {
    const err = await addon.checksum_files([dir], {}).catch((e) => e);
    expect(err).toBeInstanceOf(Error);
    expect(err).toMatchObject({ code: 'EINVAL', errno: -22, syscall: 'lstat', path: dir });
    expect(err.message).toMatch(/^EINVAL: unsupported file type.*, lstat '/);
  });

  it('rejects ENOENT exactly like node:fs', async () => {
    const missing = p('does-not-exist');
    const err = await addon.checksum_files([p('hello.txt'), missing], {}).catch((e) => e);
    const fsErr = (() => { try { fs.lstatSync(missing); } catch (e) { return e as NodeJS.ErrnoException; } })()!;
    expect(err).toBeInstanceOf(Error);
    expect({ code: err.code, errno: err.errno, syscall: err.syscall, path: err.path, message: err.message })
      .toEqual({ code: fsErr.code, errno: fsErr.errno, syscall: fsErr.syscall, path: fsErr.path, message: fsErr.message });
    expect(err).toMatchObject({ code: 'ENOENT', errno: -2, syscall: 'lstat', path: missing });
  });

  it('validates arguments synchronously', () => {
    expect(() => addon.checksum_files('x' as never, {})).toThrow(TypeError);
    expect(() => addon.checksum_files([1 as never], {})).toThrow(TypeError);
    expect(() => addon.checksum_files(['a\0b'], {})).toThrow(TypeError);
    expect(() => addon.checksum_files(['x'], { source: 'bogus' as never })).toThrow(TypeError);
    expect(() => addon.checksum_files(['x'], { uid: -1 })).toThrow(TypeError);
  });

  it('handles an empty batch', async () => {
    expect(await addon.checksum_files([], {})).toEqual([]);
  });

  it('runs many concurrent jobs correctly', async () => {
    const names = ['hello.txt', 'link', 'empty'];
    const jobs = Array.from({ length: 64 }, (_, i) => addon.checksum_files(Array(20).fill(p(names[i % 3])), uid0));
    const results = await Promise.all(jobs);
    results.forEach((r, i) => {
      expect(r).toHaveLength(20);
      for (const x of r) expect(x.checksum).toBe([HELLO, LINK, EMPTY][i % 3]);
    });
  });
});

describe('checksum_files source=bare-user', () => {
  it.skipIf(!HAS_XATTRS)('reads uid/gid/mode/xattrs from user.ostreemeta', async () => {
    const obj = p('bu-file');
    fs.writeFileSync(obj, 'x\n');
    fs.chmodSync(obj, 0o644);
    const meta = encodeOstreeMeta(0, 0, 0o100644, [['user.zeta', Buffer.from('last')], ['user.alpha', Buffer.from('first')]]);
    // The FORMATS.md §3.3 example bytes.
    expect(meta.toString('hex')).toBe(
      '000000000000000000' + '0081a4' + '757365722e616c70686100' + '6669727374' + '0b' +
      '757365722e7a65746100' + '6c617374' + '0a' + '1120');
    await setXattrs(obj, [['user.ostreemeta', meta]]);
    const [r] = await addon.checksum_files([obj], { source: 'bare-user' });
    expect(r.checksum).toBe(XATTR);
    expect(r).toMatchObject({ uid: 0, gid: 0, mode: 0o100644, size: 2, symlinkTarget: null });
    expect(r.xattrs.map(([k, v]) => [k, v.toString()])).toEqual([['user.alpha', 'first'], ['user.zeta', 'last']]);
    const [s] = await addon.checksum_files([obj], { source: 'bare-user', skipXattrs: true });
    expect(s.checksum).toBe(XATTR_IGNORED);
  });

  it.skipIf(!HAS_XATTRS)('treats symlink objects as target + NUL', async () => {
    const obj = p('bu-link');
    fs.writeFileSync(obj, 'hello.txt\0');
    await setXattrs(obj, [['user.ostreemeta', encodeOstreeMeta(0, 0, 0o120777, [])]]);
    const [r] = await addon.checksum_files([obj], { source: 'bare-user' });
    expect(r).toMatchObject({ checksum: LINK, symlinkTarget: 'hello.txt', mode: 0o120777, size: 9 });
  });

  it.skipIf(!HAS_XATTRS)('uses the stored (big-endian) owner and suid mode', async () => {
    const obj = p('bu-owned');
    fs.writeFileSync(obj, 'owned by 1000:1000\n');
    await setXattrs(obj, [['user.ostreemeta', encodeOstreeMeta(1000, 1000, 0o100640, [])]]);
    const [r] = await addon.checksum_files([obj], { source: 'bare-user' });
    expect(r).toMatchObject({ uid: 1000, gid: 1000, checksum: '556ee85b3ed5d613444da98a05977c1fa1aced48331f20584745513cd8041115' });
    const suid = p('bu-suid');
    fs.writeFileSync(suid, 'setuid\n');
    await setXattrs(suid, [['user.ostreemeta', encodeOstreeMeta(0, 0, 0o104755, [])]]);
    const [s] = await addon.checksum_files([suid], { source: 'bare-user' });
    expect(s.checksum).toBe('6bc837af7e41192333ce1c9e047cc3dbcd068c1771a05f484a6201aaf59d4b59');
  });

  it.skipIf(!HAS_XATTRS)('rejects objects without or with a malformed user.ostreemeta', async () => {
    const a = p('bu-none');
    fs.writeFileSync(a, 'x');
    await expect(addon.checksum_files([a], { source: 'bare-user' })).rejects.toMatchObject({ code: 'ENODATA', path: a });
    const b = p('bu-bad');
    fs.writeFileSync(b, 'x');
    await setXattrs(b, [['user.ostreemeta', Buffer.from([1, 2, 3])]]);
    await expect(addon.checksum_files([b], { source: 'bare-user' })).rejects.toMatchObject({ code: 'EINVAL', path: b });
    await expect(addon.checksum_files([p('link')], { source: 'bare-user' })).rejects.toMatchObject({ code: 'EINVAL' });
  });
});

describe.skipIf(skipInterop)('checksum_files vs the real `ostree checksum`', () => {
  it('agrees on random files (modes, owners, xattrs, sizes)', async () => {
    const rand = prng(42);
    const rdir = path.join(dir, 'random');
    fs.mkdirSync(rdir);
    const files: string[] = [];
    for (let i = 0; i < 40; i++) {
      const f = path.join(rdir, `f${i}`);
      const sizes = [0, 1, 63, 64, 65, 4096, 262144, 262145, 1 << 20];
      const size = i < sizes.length ? sizes[i] : Math.floor(rand() * 600000);
      const data = Buffer.alloc(size);
      for (let j = 0; j < size; j++) data[j] = (rand() * 256) | 0;
      fs.writeFileSync(f, data);
      if (isRoot) fs.chownSync(f, (rand() * 70000) | 0, (rand() * 70000) | 0);
      if (HAS_XATTRS && i % 3 === 0) {
        const n = 1 + ((rand() * 6) | 0);
        const xs: Array<[string, Buffer]> = [];
        for (let k = 0; k < n; k++) {
          const v = Buffer.alloc((rand() * 40) | 0);
          for (let j = 0; j < v.length; j++) v[j] = (rand() * 256) | 0;
          xs.push([`user.k${((rand() * 1000) | 0)}x${k}`, v]);
        }
        await setXattrs(f, xs);
      }
      // After the xattrs: a non-root owner may not set them on read-only files.
      fs.chmodSync(f, [0o644, 0o755, 0o600, 0o4755, 0o2750, 0o1777, 0o400, isRoot ? 0o000 : 0o500][i % 8]);
      files.push(f);
    }
    const r = await addon.checksum_files(files, {});
    files.forEach((f, i) => expect(r[i].checksum, f).toBe(ostreeChecksum(f)));
  });

  it('agrees when the header crosses 255 bytes (long symlink target)', async () => {
    for (const len of [200, 230, 235, 236, 237, 238, 240, 250, 255, 256, 300, 1000, 4000]) {
      const l = path.join(dir, `longlink${len}`);
      fs.symlinkSync('t'.repeat(len), l);
      const [r] = await addon.checksum_files([l], {});
      expect(r.checksum, `target length ${len}`).toBe(ostreeChecksum(l));
      expect(r.symlinkTarget).toBe('t'.repeat(len));
    }
  });

  it.skipIf(!HAS_XATTRS)('agrees when the header crosses 255 bytes (many / long xattrs)', async () => {
    for (const [count, vlen] of [[1, 200], [1, 230], [1, 240], [1, 250], [4, 50], [12, 20], [30, 30], [3, 1000]] as const) {
      const f = path.join(dir, `xa-${count}-${vlen}`);
      fs.writeFileSync(f, 'data\n');
      const xs: Array<[string, string]> = [];
      for (let k = 0; k < count; k++) xs.push([`user.attr${String(count - k).padStart(3, '0')}`, 'v'.repeat(vlen)]);
      await setXattrs(f, xs);
      const [r] = await addon.checksum_files([f], {});
      expect(r.checksum, `${count} x ${vlen}`).toBe(ostreeChecksum(f));
      const [ign] = await addon.checksum_files([f], { skipXattrs: true });
      expect(ign.checksum).toBe(ostreeChecksum(f, true));
    }
  });

  it('agrees when the header needs 4-byte framing offsets (> 64 KiB of xattrs, tmpfs)', async () => {
    if (!fs.existsSync('/dev/shm')) return;
    const shm = fs.mkdtempSync('/dev/shm/ostree-ck-');
    try {
      const f = path.join(shm, 'big-xattrs');
      fs.writeFileSync(f, 'data\n');
      try {
        await setXattrs(f, [['user.a', 'a'.repeat(40000)], ['user.b', Buffer.alloc(40000, 0xfe)], ['user.c', 'c'.repeat(65000)]]);
      } catch {
        return; // tmpfs without user xattrs (kernel < 6.6)
      }
      const [r] = await addon.checksum_files([f], {});
      expect(r.xattrs.map(([, v]) => v.length)).toEqual([40000, 40000, 65000]);
      expect(r.checksum).toBe(ostreeChecksum(f));
    } finally {
      rmrf(shm);
    }
  });

  it.skipIf(!HAS_XATTRS)('bare-user objects written here checksum like the originals', async () => {
    // Build a bare-user object from each random file and compare.
    const rdir = path.join(dir, 'random');
    const files = fs.readdirSync(rdir).slice(0, 12).map((n) => path.join(rdir, n));
    const orig = await addon.checksum_files(files, {});
    const objs = files.map((f, i) => {
      const o = path.join(dir, `bu-obj-${i}`);
      fs.copyFileSync(f, o);
      fs.chmodSync(o, 0o644);
      return o;
    });
    for (let i = 0; i < objs.length; i++) {
      await setXattrs(objs[i], [['user.ostreemeta', encodeOstreeMeta(orig[i].uid, orig[i].gid, orig[i].mode, orig[i].xattrs)]]);
    }
    const bu = await addon.checksum_files(objs, { source: 'bare-user' });
    bu.forEach((x, i) => expect(x.checksum).toBe(orig[i].checksum));
  });
});
