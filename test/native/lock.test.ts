import { fork } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addon, rmrf, tmpDir } from './helpers';

let dir: string;
beforeAll(() => { dir = tmpDir(); });
afterAll(() => rmrf(dir));

describe('lock_*', () => {
  it('creates the lock file 0660 (minus umask) and reports the primitive', async () => {
    const file = path.join(dir, '.lock');
    const h = await addon.lock_open(file);
    expect(typeof h).toBe('object');
    expect(fs.statSync(file).mode & 0o777).toBe(0o660 & ~process.umask());
    expect(['ofd', 'flock']).toContain(addon.lock_kind(h));
    // Linux >= 3.15 always has OFD locks.
    expect(addon.lock_kind(h)).toBe('ofd');
    await addon.lock_close(h);
  });

  it('two handles in one process exclude each other', async () => {
    const file = path.join(dir, 'excl.lock');
    const a = await addon.lock_open(file);
    const b = await addon.lock_open(file);
    expect(await addon.lock_try(a, 'shared')).toBe(true);
    expect(await addon.lock_try(b, 'shared')).toBe(true);
    expect(await addon.lock_try(b, 'exclusive')).toBe(false); // a holds shared
    expect(await addon.lock_try(a, 'unlock')).toBe(true);
    expect(await addon.lock_try(b, 'exclusive')).toBe(true); // upgrade now possible
    expect(await addon.lock_try(a, 'shared')).toBe(false);
    expect(await addon.lock_try(a, 'exclusive')).toBe(false);
    // Downgrade b, then a can share again.
    expect(await addon.lock_try(b, 'shared')).toBe(true);
    expect(await addon.lock_try(a, 'shared')).toBe(true);
    // Closing releases.
    await addon.lock_close(a);
    expect(await addon.lock_try(b, 'exclusive')).toBe(true);
    await addon.lock_close(b);
  });

  it('closing is idempotent; using a closed handle rejects EBADF', async () => {
    const h = await addon.lock_open(path.join(dir, 'c.lock'));
    await addon.lock_close(h);
    await addon.lock_close(h);
    await expect(addon.lock_try(h, 'shared')).rejects.toMatchObject({ code: 'EBADF' });
  });

  it('excludes another process', async () => {
    const file = path.join(dir, 'proc.lock');
    const h = await addon.lock_open(file);
    expect(await addon.lock_try(h, 'exclusive')).toBe(true);
    const script = path.join(dir, 'child.js');
    fs.writeFileSync(script, `
      const n = require(${JSON.stringify(require.resolve('node-gyp-build'))})(${JSON.stringify(path.resolve(__dirname, '../..'))});
      (async () => {
        const h = await n.lock_open(process.argv[2]);
        const r = { shared: await n.lock_try(h, 'shared'), kind: n.lock_kind(h) };
        process.send(r, () => process.exit(0));
      })();`);
    const res = await new Promise((resolve, reject) => {
      const c = fork(script, [file], { stdio: 'inherit' });
      c.on('message', resolve);
      c.on('error', reject);
    });
    expect(res).toEqual({ shared: false, kind: 'ofd' });
    await addon.lock_close(h);
  });

  it('rejects bad handles and types synchronously, open errors asynchronously', async () => {
    expect(() => addon.lock_try({}, 'shared')).toThrow(TypeError);
    expect(() => addon.lock_kind({})).toThrow(TypeError);
    const h = await addon.lock_open(path.join(dir, 'd.lock'));
    expect(() => addon.lock_try(h, 'bogus' as never)).toThrow(TypeError);
    await addon.lock_close(h);
    const bad = path.join(dir, 'missing-dir', 'x.lock');
    await expect(addon.lock_open(bad)).rejects.toMatchObject({ code: 'ENOENT', syscall: 'open', path: bad });
  });

  it('handles left to the GC are finalized (fd closed)', async () => {
    const file = path.join(dir, 'gc.lock');
    const script = path.join(dir, 'gc-child.js');
    fs.writeFileSync(script, `
      const fs = require('fs');
      const n = require(${JSON.stringify(require.resolve('node-gyp-build'))})(${JSON.stringify(path.resolve(__dirname, '../..'))});
      const count = () => fs.readdirSync('/proc/self/fd').length;
      (async () => {
        const before = count();
        for (let i = 0; i < 200; i++) await n.lock_open(process.argv[2]);
        const opened = count();
        for (let i = 0; i < 10; i++) { global.gc(); await new Promise((r) => setTimeout(r, 5)); }
        process.send({ before, opened, after: count() }, () => process.exit(0));
      })();`);
    const res = await new Promise<{ before: number; opened: number; after: number }>((resolve, reject) => {
      const c = fork(script, [file], { stdio: 'inherit', execArgv: ['--expose-gc'] });
      c.on('message', (m) => resolve(m as never));
      c.on('error', reject);
    });
    expect(res.opened).toBeGreaterThanOrEqual(res.before + 200);
    expect(res.after).toBeLessThan(res.before + 20);
  });
});
