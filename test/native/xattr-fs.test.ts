import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addon, rmrf, tmpDir, xattrsSupported } from './helpers';

const HAS_XATTRS = xattrsSupported();
let dir: string;
beforeAll(() => { dir = tmpDir(); });
afterAll(() => rmrf(dir));

describe.skipIf(!HAS_XATTRS)('xattrs_get / xattrs_set', () => {
  it('round-trips, sorted by name, raw values including empty ones', async () => {
    const f = path.join(dir, 'f');
    fs.writeFileSync(f, '');
    await addon.xattrs_set(f, [
      ['user.zeta', Buffer.from('last')],
      ['user.alpha', Buffer.from('first')],
      ['user.empty', Buffer.alloc(0)],
      ['user.bin', Buffer.from([0, 1, 2, 0])],
    ]);
    const got = await addon.xattrs_get(f);
    expect(got.map(([k]) => k)).toEqual(['user.alpha', 'user.bin', 'user.empty', 'user.zeta']);
    expect(got[1][1]).toEqual(Buffer.from([0, 1, 2, 0]));
    expect(got[2][1]).toEqual(Buffer.alloc(0));
    expect(Buffer.isBuffer(got[0][1])).toBe(true);
  });

  it('returns [] for a file without xattrs and does not follow symlinks', async () => {
    const f = path.join(dir, 'plain');
    fs.writeFileSync(f, '');
    expect(await addon.xattrs_get(f)).toEqual([]);
    const target = path.join(dir, 'target');
    fs.writeFileSync(target, '');
    await addon.xattrs_set(target, [['user.a', Buffer.from('1')]]);
    const l = path.join(dir, 'link');
    fs.symlinkSync('target', l);
    expect(await addon.xattrs_get(l)).toEqual([]);
    // user.* xattrs are not permitted on symlinks: the l-variant must not follow.
    await expect(addon.xattrs_set(l, [['user.b', Buffer.from('2')]])).rejects.toMatchObject({ syscall: 'lsetxattr', path: l });
    expect((await addon.xattrs_get(target)).map(([k]) => k)).toEqual(['user.a']);
  });

  it('rejects with fs-style errors', async () => {
    const missing = path.join(dir, 'missing');
    await expect(addon.xattrs_get(missing)).rejects.toMatchObject({ code: 'ENOENT', errno: -2, syscall: 'llistxattr', path: missing });
    await expect(addon.xattrs_set(missing, [['user.a', Buffer.from('x')]])).rejects.toMatchObject({ code: 'ENOENT', syscall: 'lsetxattr' });
  });

  it('validates arguments', () => {
    expect(() => addon.xattrs_set(dir, [['', Buffer.from('x')]])).toThrow(TypeError);
    expect(() => addon.xattrs_set(dir, [['user.a', 'x' as never]])).toThrow(TypeError);
    expect(() => addon.xattrs_set(dir, undefined as never)).toThrow(TypeError);
    expect(() => addon.xattrs_get(42 as never)).toThrow(TypeError);
  });
});

describe('fs_syncfs / fs_fsync', () => {
  it('syncs files and directories', async () => {
    const f = path.join(dir, 'sync-me');
    fs.writeFileSync(f, 'x');
    await expect(addon.fs_fsync(f)).resolves.toBeUndefined();
    await expect(addon.fs_fsync(dir)).resolves.toBeUndefined();
    await expect(addon.fs_syncfs(dir)).resolves.toBeUndefined();
  });

  it('rejects a missing path', async () => {
    const missing = path.join(dir, 'nope');
    await expect(addon.fs_fsync(missing)).rejects.toMatchObject({ code: 'ENOENT', syscall: 'open', path: missing });
    await expect(addon.fs_syncfs(missing)).rejects.toMatchObject({ code: 'ENOENT', syscall: 'open', path: missing });
  });
});

describe('version', () => {
  it('is the addon version, synchronously', () => {
    expect(addon.version()).toBe('0.1.0');
  });
});
