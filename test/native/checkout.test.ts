import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CheckoutOp } from '../../lib/binding';
import { addon, isRoot, rmrf, tmpDir, xattrsSupported } from './helpers';

const HAS_XATTRS = xattrsSupported();
let dir: string;
let objA: string;
let objB: string;
beforeAll(() => {
  dir = tmpDir();
  fs.mkdirSync(path.join(dir, 'objects'));
  objA = path.join(dir, 'objects', 'a.file');
  objB = path.join(dir, 'objects', 'b.file');
  fs.writeFileSync(objA, 'content A');
  fs.chmodSync(objA, 0o644);
  fs.writeFileSync(objB, 'content B');
  fs.chmodSync(objB, 0o755);
});
afterAll(() => rmrf(dir));

let n = 0;
const fresh = () => path.join(dir, `co${n++}`);
const ino = (p: string) => fs.lstatSync(p).ino;

describe('checkout_batch', () => {
  it('mkdir, link, copy, symlink, dirmeta in order', async () => {
    const co = fresh();
    const ops: CheckoutOp[] = [
      { op: 'mkdir', path: co, mode: 0o755 },
      { op: 'mkdir', path: path.join(co, 'sub'), mode: 0o750 },
      { op: 'link', src: objA, dest: path.join(co, 'a') },
      { op: 'link', src: objB, dest: path.join(co, 'sub', 'b') },
      { op: 'copy', src: objA, dest: path.join(co, 'a-copy'), mode: 0o600 },
      { op: 'symlink', target: 'a', dest: path.join(co, 'l') },
      { op: 'dirmeta', path: path.join(co, 'sub'), mode: 0o750, mtimeZero: true },
      { op: 'dirmeta', path: co, mode: 0o755 },
    ];
    const r = await addon.checkout_batch(ops, { fsync: true });
    expect(r).toEqual({ linked: 2, copied: 1, skipped: 0 });
    expect(ino(path.join(co, 'a'))).toBe(ino(objA));
    expect(ino(path.join(co, 'sub', 'b'))).toBe(ino(objB));
    expect(ino(path.join(co, 'a-copy'))).not.toBe(ino(objA));
    expect(fs.readFileSync(path.join(co, 'a-copy'), 'utf8')).toBe('content A');
    expect(fs.statSync(path.join(co, 'a-copy')).mode & 0o7777).toBe(0o600);
    expect(fs.readlinkSync(path.join(co, 'l'))).toBe('a');
    const sub = fs.statSync(path.join(co, 'sub'));
    expect(sub.mode & 0o7777).toBe(0o750);
    expect(sub.mtimeMs).toBe(0);
    expect(fs.statSync(co).mode & 0o7777).toBe(0o755);
    expect(fs.readdirSync(co).filter((x) => x.startsWith('.ostree-tmp-'))).toEqual([]);
  });

  it('copy keeps the source\'s atime and mtime (ns) only with keepTimes', async () => {
    const co = fresh();
    fs.mkdirSync(co);
    const src = path.join(co, 'src');
    fs.writeFileSync(src, 'timed');
    fs.utimesSync(src, new Date(1_000_000_123), new Date(2_000_000_456));
    const before = fs.statSync(src, { bigint: true });
    await addon.checkout_batch(
      [
        { op: 'copy', src, dest: path.join(co, 'kept'), mode: 0o644, keepTimes: true },
        { op: 'copy', src, dest: path.join(co, 'fresh'), mode: 0o644 },
      ],
      {},
    );
    const kept = fs.statSync(path.join(co, 'kept'), { bigint: true });
    expect([kept.mtimeNs, kept.atimeNs]).toEqual([before.mtimeNs, before.atimeNs]);
    expect(fs.statSync(path.join(co, 'fresh'), { bigint: true }).mtimeNs).not.toBe(before.mtimeNs);
  });

  it('mkdir creates 0700 until dirmeta applies the final mode', async () => {
    const co = fresh();
    await addon.checkout_batch([{ op: 'mkdir', path: co, mode: 0o755 }], {});
    expect(fs.statSync(co).mode & 0o777).toBe(0o700);
  });

  it("overwrite 'error' (default) rejects EEXIST like node:fs", async () => {
    const co = fresh();
    fs.mkdirSync(co);
    fs.writeFileSync(path.join(co, 'a'), 'existing');
    const dest = path.join(co, 'a');
    await expect(addon.checkout_batch([{ op: 'link', src: objA, dest }], {}))
      .rejects.toMatchObject({ code: 'EEXIST', errno: -17, syscall: 'link', path: objA, dest,
        message: `EEXIST: file already exists, link '${objA}' -> '${dest}'` });
    await expect(addon.checkout_batch([{ op: 'copy', src: objA, dest, mode: 0o644 }], { overwrite: 'error' }))
      .rejects.toMatchObject({ code: 'EEXIST' });
    await expect(addon.checkout_batch([{ op: 'symlink', target: 'x', dest }], {}))
      .rejects.toMatchObject({ code: 'EEXIST', syscall: 'symlink' });
    await expect(addon.checkout_batch([{ op: 'mkdir', path: co, mode: 0o755 }], {}))
      .rejects.toMatchObject({ code: 'EEXIST', syscall: 'mkdir', path: co });
    expect(fs.readFileSync(dest, 'utf8')).toBe('existing');
  });

  it("overwrite 'skip' counts and keeps existing files", async () => {
    const co = fresh();
    fs.mkdirSync(co);
    for (const f of ['a', 'b', 'l']) fs.writeFileSync(path.join(co, f), 'existing');
    const r = await addon.checkout_batch([
      { op: 'mkdir', path: co, mode: 0o755 },
      { op: 'link', src: objA, dest: path.join(co, 'a') },
      { op: 'copy', src: objB, dest: path.join(co, 'b'), mode: 0o644 },
      { op: 'symlink', target: 'x', dest: path.join(co, 'l') },
      { op: 'link', src: objA, dest: path.join(co, 'new') },
    ], { overwrite: 'skip' });
    expect(r).toEqual({ linked: 1, copied: 0, skipped: 3 });
    for (const f of ['a', 'b', 'l']) expect(fs.readFileSync(path.join(co, f), 'utf8')).toBe('existing');
  });

  it("overwrite 'replace' atomically replaces files", async () => {
    const co = fresh();
    fs.mkdirSync(co);
    for (const f of ['a', 'b', 'l']) fs.writeFileSync(path.join(co, f), 'existing');
    fs.linkSync(objA, path.join(co, 'same')); // already the same inode
    const r = await addon.checkout_batch([
      { op: 'mkdir', path: co, mode: 0o755 },
      { op: 'link', src: objA, dest: path.join(co, 'a') },
      { op: 'copy', src: objB, dest: path.join(co, 'b'), mode: 0o640 },
      { op: 'symlink', target: 'a', dest: path.join(co, 'l') },
      { op: 'link', src: objA, dest: path.join(co, 'same') },
    ], { overwrite: 'replace' });
    expect(r).toEqual({ linked: 2, copied: 1, skipped: 0 });
    expect(ino(path.join(co, 'a'))).toBe(ino(objA));
    expect(fs.readFileSync(path.join(co, 'b'), 'utf8')).toBe('content B');
    expect(fs.statSync(path.join(co, 'b')).mode & 0o7777).toBe(0o640);
    expect(fs.readlinkSync(path.join(co, 'l'))).toBe('a');
    expect(ino(path.join(co, 'same'))).toBe(ino(objA));
    expect(fs.readdirSync(co).sort()).toEqual(['a', 'b', 'l', 'same']);
  });

  it('never follows a symlink in the way of mkdir or dirmeta', async () => {
    const co = fresh();
    fs.mkdirSync(co);
    const outside = path.join(dir, `outside${n}`);
    fs.mkdirSync(outside);
    fs.chmodSync(outside, 0o755);
    fs.symlinkSync(outside, path.join(co, 'd'));
    for (const overwrite of ['skip', 'replace'] as const) {
      await expect(addon.checkout_batch([{ op: 'mkdir', path: path.join(co, 'd'), mode: 0o755 }], { overwrite }))
        .rejects.toMatchObject({ code: 'EEXIST', syscall: 'mkdir' });
    }
    await expect(addon.checkout_batch([{ op: 'dirmeta', path: path.join(co, 'd'), mode: 0o700 }], {}))
      .rejects.toMatchObject({ code: expect.stringMatching(/^(ENOTDIR|ELOOP)$/), syscall: 'open' });
    expect(fs.statSync(outside).mode & 0o777).toBe(0o755);
    // Replacing a symlink that points at a directory replaces the link, not the dir's content.
    const r = await addon.checkout_batch([{ op: 'copy', src: objA, dest: path.join(co, 'd'), mode: 0o644 }],
      { overwrite: 'replace' });
    expect(r.copied).toBe(1);
    expect(fs.lstatSync(path.join(co, 'd')).isFile()).toBe(true);
    expect(fs.readdirSync(outside)).toEqual([]);
    // An existing real directory is fine for mkdir in skip/replace modes.
    fs.mkdirSync(path.join(co, 'real'));
    await expect(addon.checkout_batch([{ op: 'mkdir', path: path.join(co, 'real'), mode: 0o755 }], { overwrite: 'skip' }))
      .resolves.toEqual({ linked: 0, copied: 0, skipped: 0 });
  });

  it('falls back to copying when hardlinks fail with EXDEV (/dev/shm)', async () => {
    if (!fs.existsSync('/dev/shm')) return;
    const shm = fs.mkdtempSync('/dev/shm/ostree-co-');
    try {
      if (fs.statSync(shm).dev === fs.statSync(dir).dev) return; // same fs: nothing to test
      const dest = path.join(shm, 'b');
      const r = await addon.checkout_batch([{ op: 'link', src: objB, dest }], {});
      expect(r).toEqual({ linked: 0, copied: 1, skipped: 0 });
      expect(fs.readFileSync(dest, 'utf8')).toBe('content B');
      expect(fs.statSync(dest).mode & 0o7777).toBe(0o755); // src mode preserved
      await expect(addon.checkout_batch([{ op: 'link', src: objA, dest: path.join(shm, 'a') }], { copyFallback: false }))
        .rejects.toMatchObject({ code: 'EXDEV', syscall: 'link' });
      // replace mode across filesystems
      const r2 = await addon.checkout_batch([{ op: 'link', src: objA, dest }], { overwrite: 'replace' });
      expect(r2).toEqual({ linked: 0, copied: 1, skipped: 0 });
      expect(fs.readFileSync(dest, 'utf8')).toBe('content A');
    } finally {
      rmrf(shm);
    }
  });

  it.skipIf(!isRoot)('applies ownership to copies, symlinks and dirs', async () => {
    const co = fresh();
    await addon.checkout_batch([
      { op: 'mkdir', path: co, mode: 0o755 },
      { op: 'copy', src: objA, dest: path.join(co, 'f'), mode: 0o4755, uid: 1000, gid: 1001 },
      { op: 'symlink', target: 'f', dest: path.join(co, 'l'), uid: 1002, gid: 1003 },
      { op: 'dirmeta', path: co, mode: 0o751, uid: 1004, gid: 1005 },
    ], {});
    const f = fs.statSync(path.join(co, 'f'));
    expect([f.uid, f.gid, f.mode & 0o7777]).toEqual([1000, 1001, 0o4755]);
    const l = fs.lstatSync(path.join(co, 'l'));
    expect([l.uid, l.gid]).toEqual([1002, 1003]);
    const d = fs.statSync(co);
    expect([d.uid, d.gid, d.mode & 0o7777]).toEqual([1004, 1005, 0o751]);
  });

  it.skipIf(!HAS_XATTRS)('applies xattrs to copies and dirs', async () => {
    const co = fresh();
    await addon.checkout_batch([
      { op: 'mkdir', path: co, mode: 0o755 },
      { op: 'copy', src: objA, dest: path.join(co, 'f'), mode: 0o644, xattrs: [['user.k', Buffer.from('v')]] },
      { op: 'dirmeta', path: co, mode: 0o755, xattrs: [['user.d', Buffer.from('dir')]] },
    ], {});
    expect(await addon.xattrs_get(path.join(co, 'f'))).toEqual([['user.k', Buffer.from('v')]]);
    expect(await addon.xattrs_get(co)).toEqual([['user.d', Buffer.from('dir')]]);
  });

  it('stops at the first error with the failing path', async () => {
    const co = fresh();
    const missing = path.join(dir, 'objects', 'missing.file');
    const err = await addon.checkout_batch([
      { op: 'mkdir', path: co, mode: 0o755 },
      { op: 'link', src: missing, dest: path.join(co, 'x') },
      { op: 'link', src: objA, dest: path.join(co, 'never') },
    ], {}).catch((e) => e);
    expect(err).toMatchObject({ code: 'ENOENT', syscall: 'link', path: missing });
    expect(fs.existsSync(path.join(co, 'never'))).toBe(false);
  });

  it('validates ops synchronously', () => {
    expect(() => addon.checkout_batch([{ op: 'nope' } as never], {})).toThrow(TypeError);
    expect(() => addon.checkout_batch([{ op: 'link', src: objA } as never], {})).toThrow(TypeError);
    expect(() => addon.checkout_batch([], { overwrite: 'bogus' as never })).toThrow(TypeError);
    expect(() => addon.checkout_batch([{ op: 'copy', src: objA, dest: '/x' } as never], {})).toThrow(TypeError);
  });

  it('handles a large batch', async () => {
    const co = fresh();
    const ops: CheckoutOp[] = [{ op: 'mkdir', path: co, mode: 0o755 }];
    for (let i = 0; i < 2000; i++) ops.push({ op: 'link', src: i % 2 ? objA : objB, dest: path.join(co, `f${i}`) });
    expect(await addon.checkout_batch(ops, {})).toEqual({ linked: 2000, copied: 0, skipped: 0 });
  });
});
