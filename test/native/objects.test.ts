import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addon, isRoot, rmrf, tmpDir, xattrsSupported } from './helpers';

const HAS_XATTRS = xattrsSupported();
let dir: string;
beforeAll(() => { dir = tmpDir(); });
afterAll(() => rmrf(dir));

const leftovers = (d: string) => fs.readdirSync(d).filter((n) => n.startsWith('.ostree-tmp-'));

describe('objects_import', () => {
  it('writes from src and data, creating the object dir 0755, mtime 0', async () => {
    const src = path.join(dir, 'src.txt');
    fs.writeFileSync(src, 'Hello, OSTree!\n');
    const objs = path.join(dir, 'repo', 'objects');
    fs.mkdirSync(objs, { recursive: true });
    const a = path.join(objs, 'd5', '4de4.file');
    const b = path.join(objs, 'cc', '700d.file');
    const r = await addon.objects_import([
      { src, dest: a, mode: 0o644, mtimeZero: true },
      { data: Buffer.from('inline'), dest: b, mode: 0o600 },
    ], { fsync: true });
    expect(r).toEqual({ written: 2, existed: 0 });
    expect(fs.readFileSync(a, 'utf8')).toBe('Hello, OSTree!\n');
    expect(fs.readFileSync(b, 'utf8')).toBe('inline');
    const sa = fs.statSync(a);
    expect(sa.mode & 0o7777).toBe(0o644);
    expect(sa.mtimeMs).toBe(0);
    expect(sa.atimeMs).not.toBe(0); // atime untouched
    expect(fs.statSync(b).mode & 0o7777).toBe(0o600);
    expect(fs.statSync(b).mtimeMs).not.toBe(0);
    expect(fs.statSync(path.dirname(a)).mode & 0o777).toBe(0o755 & ~process.umask());
    expect(leftovers(path.dirname(a))).toEqual([]);
  });

  it('counts an existing object as existed and leaves it untouched', async () => {
    const dest = path.join(dir, 'exist', 'ab', 'obj.file');
    fs.mkdirSync(path.dirname(dest), { recursive: true });
    fs.writeFileSync(dest, 'original');
    const r = await addon.objects_import([
      { data: Buffer.from('new'), dest, mode: 0o644 },
      { data: Buffer.from('new'), dest, mode: 0o644 },
      { symlinkTarget: 'x', dest, mode: 0 },
    ], {});
    expect(r).toEqual({ written: 0, existed: 3 });
    expect(fs.readFileSync(dest, 'utf8')).toBe('original');
    expect(leftovers(path.dirname(dest))).toEqual([]);
  });

  it('creates symlink objects', async () => {
    const dest = path.join(dir, 'links', 'f6', '6efa.file');
    const r = await addon.objects_import([{ symlinkTarget: 'hello.txt', dest, mode: 0o777 }], {});
    expect(r).toEqual({ written: 1, existed: 0 });
    expect(fs.readlinkSync(dest)).toBe('hello.txt');
    expect(fs.lstatSync(dest).isSymbolicLink()).toBe(true);
  });

  it.skipIf(!isRoot)('applies uid/gid and suid mode (chown before chmod)', async () => {
    const dest = path.join(dir, 'owned', '00', 'suid.file');
    await addon.objects_import([{ data: Buffer.from('x'), dest, mode: 0o4755, uid: 1000, gid: 1001 }], {});
    const st = fs.statSync(dest);
    expect([st.uid, st.gid, st.mode & 0o7777]).toEqual([1000, 1001, 0o4755]);
    const l = path.join(dir, 'owned', '00', 'link.file');
    await addon.objects_import([{ symlinkTarget: 't', dest: l, mode: 0o777, uid: 7, gid: 8 }], {});
    const ls = fs.lstatSync(l);
    expect([ls.uid, ls.gid]).toEqual([7, 8]);
  });

  it.skipIf(!HAS_XATTRS)('sets xattrs (also on read-only files)', async () => {
    const dest = path.join(dir, 'xa', '00', 'x.file');
    const meta = Buffer.from('000000000000000000000000', 'hex');
    await addon.objects_import([{
      data: Buffer.from('x'), dest, mode: 0o444, xattrs: [['user.ostreemeta', meta], ['user.b', Buffer.from('2')]],
    }], {});
    const got = await addon.xattrs_get(dest);
    expect(got.map(([k]) => k)).toEqual(['user.b', 'user.ostreemeta']);
    expect(got[1][1]).toEqual(meta);
    expect(fs.statSync(dest).mode & 0o7777).toBe(0o444);
  });

  it('removes the temp file and rejects on failure', async () => {
    const destDir = path.join(dir, 'fail', 'ab');
    fs.mkdirSync(destDir, { recursive: true });
    const missing = path.join(dir, 'no-such-src');
    const err = await addon.objects_import([
      { data: Buffer.from('ok'), dest: path.join(destDir, 'ok.file'), mode: 0o644 },
      { src: missing, dest: path.join(destDir, 'x.file'), mode: 0o644 },
    ], {}).catch((e) => e);
    expect(err).toMatchObject({ code: 'ENOENT', errno: -2, syscall: 'open', path: missing });
    expect(leftovers(destDir)).toEqual([]);
    expect(fs.existsSync(path.join(destDir, 'ok.file'))).toBe(true);
    // dest parent is a file: mkdir fails.
    const blocker = path.join(dir, 'fail', 'file');
    fs.writeFileSync(blocker, '');
    await expect(addon.objects_import([{ data: Buffer.alloc(0), dest: path.join(blocker, 'x'), mode: 0o644 }], {}))
      .rejects.toMatchObject({ code: 'ENOTDIR' });
  });

  it('copies large files exactly', async () => {
    const src = path.join(dir, 'big');
    const data = Buffer.alloc(3 * 1024 * 1024 + 17);
    for (let i = 0; i < data.length; i++) data[i] = (i * 31 + (i >> 11)) & 0xff;
    fs.writeFileSync(src, data);
    const dest = path.join(dir, 'bigrepo', 'aa', 'big.file');
    await addon.objects_import([{ src, dest, mode: 0o644 }], { fsync: false });
    expect(fs.readFileSync(dest).equals(data)).toBe(true);
  });

  it('validates entries synchronously', () => {
    expect(() => addon.objects_import([{ dest: '/x', mode: 0o644 }], {})).toThrow(TypeError);
    expect(() => addon.objects_import([{ src: '/a', data: Buffer.alloc(0), dest: '/x', mode: 0o644 }], {})).toThrow(TypeError);
    expect(() => addon.objects_import([{ src: '/a', dest: '/x', mode: -1 }], {})).toThrow(TypeError);
    expect(() => addon.objects_import({} as never, {})).toThrow(TypeError);
  });

  it('survives many concurrent imports of the same objects', async () => {
    const src = path.join(dir, 'conc-src');
    fs.writeFileSync(src, 'same');
    const dests = Array.from({ length: 20 }, (_, i) => path.join(dir, 'conc', String(i % 4), `o${i}.file`));
    const results = await Promise.all(Array.from({ length: 16 }, () =>
      addon.objects_import(dests.map((dest) => ({ src, dest, mode: 0o644 })), {})));
    const written = results.reduce((a, r) => a + r.written, 0);
    const existed = results.reduce((a, r) => a + r.existed, 0);
    expect(written).toBe(20);
    expect(existed).toBe(16 * 20 - 20);
    for (const d of ['0', '1', '2', '3']) expect(leftovers(path.join(dir, 'conc', d))).toEqual([]);
  });
});
