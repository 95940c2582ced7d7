// pull_scan_dirtrees: what a pull learns from a downloaded dirtree — checked
// against its checksum, parsed, and each object it names looked up in the
// destination repo and then its parent chain (per each repo's mode).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addon, rmrf, tmpDir } from './helpers';
import { serializeDirTree, sha256Hex } from '../../lib/objects/formats';

let dir: string;
beforeAll(() => {
  dir = tmpDir();
});
afterAll(() => rmrf(dir));

const hex = (c: string) => c.repeat(64);
/** Creates objects/XX/REST.ext (content is irrelevant to the lookup). */
function put(repo: string, csum: string, ext: string): void {
  const d = path.join(repo, 'objects', csum.slice(0, 2));
  fs.mkdirSync(d, { recursive: true });
  fs.writeFileSync(path.join(d, `${csum.slice(2)}.${ext}`), '');
}

describe('pull_scan_dirtrees', () => {
  it('reports missing content and which subdirectory dirtrees and dirmetas are stored, across the parent chain and modes', async () => {
    const child = path.join(dir, 'child');
    const parent = path.join(dir, 'parent');
    fs.mkdirSync(path.join(child, 'objects'), { recursive: true });
    // a: stored in the child (bare-user: .file); b: only in the archive parent (.filez);
    // c: in the parent but as .file, which an archive repo doesn't read; d: nowhere.
    put(child, hex('a'), 'file');
    put(parent, hex('b'), 'filez');
    put(parent, hex('c'), 'file');
    // Subdirectories: x (dirtree and dirmeta in the child), y (dirmeta only, in the parent), z (nothing).
    put(child, hex('1'), 'dirtree');
    put(child, hex('2'), 'dirmeta');
    put(parent, hex('4'), 'dirmeta');
    const tree = serializeDirTree({
      files: [
        ['a', hex('a')],
        ['b', hex('b')],
        ['c', hex('c')],
        ['d', hex('d')],
      ],
      dirs: [
        ['x', hex('1'), hex('2')],
        ['y', hex('3'), hex('4')],
        ['z', hex('5'), hex('6')],
      ],
    });
    const csum = sha256Hex(tree);
    const [r] = await addon.pull_scan_dirtrees([child, parent], ['bare-user', 'archive'], [[csum, tree]]);
    expect(r.missing).toBe(hex('c') + hex('d'));
    expect(r.dirs).toBe(hex('1') + hex('2') + hex('3') + hex('4') + hex('5') + hex('6'));
    expect([...r.present]).toEqual([3, 2, 0]);
  });

  it('a checksum mismatch gives the actual checksum; bytes that are not a dirtree are left to the caller', async () => {
    const repo = path.join(dir, 'r2');
    fs.mkdirSync(path.join(repo, 'objects'), { recursive: true });
    const tree = serializeDirTree({ files: [['f', hex('e')]], dirs: [] });
    const garbage = Buffer.from('not a dirtree at all');
    const res = await addon.pull_scan_dirtrees(
      [repo],
      ['archive'],
      [
        [hex('0'), tree],
        [sha256Hex(garbage), garbage],
        [sha256Hex(tree), tree],
      ],
    );
    expect(res[0]).toEqual({ actual: sha256Hex(tree) });
    expect(res[1]).toEqual({ invalid: true });
    expect(res[2].missing).toBe(hex('e'));
    // A repo without objects/ has nothing.
    const [none] = await addon.pull_scan_dirtrees([path.join(dir, 'nonexistent')], ['archive'], [[sha256Hex(tree), tree]]);
    expect(none.missing).toBe(hex('e'));
  });

  it('rejects bad arguments with a TypeError', () => {
    expect(() => addon.pull_scan_dirtrees([], [], [])).toThrow(TypeError);
    expect(() => addon.pull_scan_dirtrees(['/x'], ['weird'], [])).toThrow(/Invalid repository mode/);
    expect(() => addon.pull_scan_dirtrees(['/x'], ['archive'], [['ABC', Buffer.alloc(0)]])).toThrow(/64 lowercase hex/);
    expect(() => addon.pull_scan_dirtrees(['/x'], ['archive'], [[hex('0'), 'str']])).toThrow(/Buffer/);
  });
});
