// Native errors read exactly like Node's fs errors (code, errno, syscall, path
// and message), though the addon takes no libuv symbols: errno names and
// messages come from util.getSystemErrorMap(), handed over at load.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { addon, rmrf, tmpDir } from './helpers';

const dir = tmpDir();
afterAll(() => rmrf(dir));

async function both(p: string): Promise<[NodeJS.ErrnoException, NodeJS.ErrnoException]> {
  const ours = await addon.checksum_files([p], {}).then(() => null, (e) => e);
  const node = await fs.promises.lstat(p).then(() => null, (e) => e);
  expect(ours, 'the addon should have failed').toBeInstanceOf(Error);
  expect(node, 'fs.lstat should have failed').toBeInstanceOf(Error);
  return [ours, node];
}

describe('native fs-style errors', () => {
  it('ENOENT and ENOTDIR match fs.lstat field for field', async () => {
    fs.writeFileSync(path.join(dir, 'file'), 'x');
    for (const p of [path.join(dir, 'missing'), path.join(dir, 'file', 'below')]) {
      const [ours, node] = await both(p);
      expect(ours.code).toBe(node.code);
      expect(ours.errno).toBe(node.errno);
      expect(ours.syscall).toBe(node.syscall);
      expect(ours.path).toBe(node.path);
      expect(ours.message).toBe(node.message);
    }
  });

  it('ENAMETOOLONG (a code outside the common few) has Node\'s name and text', async () => {
    const [ours, node] = await both(path.join(dir, 'n'.repeat(300)));
    expect(ours.code).toBe('ENAMETOOLONG');
    expect(ours.message).toBe(node.message);
  });

  it('errors_init refuses what is not a Map', () => {
    expect(() => addon.errors_init(42 as never)).toThrow(TypeError);
  });
});
