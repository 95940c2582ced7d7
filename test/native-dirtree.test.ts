// The native dirtree reader (checkout_plan, tree_reachable, the fsck fast
// path of metadata_read_batch) must never accept a dirtree the generic JS
// checks reject: anything it takes is in normal form with valid, strictly
// sorted, distinct names and 32-byte checksums. Checked object by object
// against isNormalForm + parseDirTree + validateDirTree.
import { describe, it, expect, afterAll } from 'vitest';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import * as path from 'node:path';
import { tmpdir, cleanupTmp } from './helpers/interop';
import { native } from '../lib/binding';
import { serialize, isNormalForm } from '../lib/gvariant/codec';
import { DIRTREE_TYPE, parseDirTree, validateDirTree } from '../lib/objects/formats';

afterAll(cleanupTmp);

const csum = (s: string) => createHash('sha256').update(s).digest();
const raw = (files: Array<[string, Buffer]>, dirs: Array<[string, Buffer, Buffer]>) => serialize(DIRTREE_TYPE, [files, dirs]);

function jsAccepts(b: Buffer): boolean {
  try {
    if (!isNormalForm(DIRTREE_TYPE, b)) return false;
    validateDirTree(parseDirTree(b));
    return true;
  } catch {
    return false;
  }
}

function cases(): Array<[string, Buffer]> {
  const f = (n: string) => [n, csum(n)] as [string, Buffer];
  const d = (n: string) => [n, csum(`t${n}`), csum(`m${n}`)] as [string, Buffer, Buffer];
  const good = raw([f('a'), f('b.txt')], [d('c'), d('sub')]);
  const long = raw(Array.from({ length: 40 }, (_, i) => f(`file-${String(i).padStart(3, '0')}-${'x'.repeat(i * 3)}`)), [d('z'.repeat(300))]);
  const utf8 = raw([f('caf\u00e9'), f('\u65e5\u672c')], []);
  const badUtf8 = Buffer.from(utf8);
  badUtf8[badUtf8.indexOf(0xc3)] = 0xff;
  const out: Array<[string, Buffer]> = [
    ['valid', good],
    ['valid, 2-byte offsets', long],
    ['empty', raw([], [])],
    ['utf-8 names', utf8],
    ['invalid utf-8 name', badUtf8],
    ['files unsorted', raw([f('b'), f('a')], [])],
    ['dirs unsorted', raw([], [d('b'), d('a')])],
    ['duplicate file', raw([f('a'), f('a')], [])],
    ['name both file and dir', raw([f('a')], [d('a')])],
    ['name ..', raw([f('..')], [])],
    ['name .', raw([], [d('.')])],
    ['name with /', raw([f('a/b')], [])],
    ['empty name', raw([f('')], [])],
    ['31-byte checksum', raw([['a', csum('a').subarray(0, 31)]], [])],
    ['trailing byte', Buffer.concat([good, Buffer.from([0])])],
    ['truncated', good.subarray(0, good.length - 1)],
    ['zero bytes', Buffer.alloc(0)],
  ];
  // Every single-byte change of the small valid tree, too.
  for (let i = 0; i < good.length; i++) {
    for (const delta of [1, 0x80]) {
      const b = Buffer.from(good);
      b[i] = (b[i] + delta) & 0xff;
      out.push([`byte ${i} + ${delta}`, b]);
    }
  }
  return out;
}

describe('native dirtree reader', () => {
  it('accepts only what the generic checks accept, and every well-formed tree', async () => {
    const repo = tmpdir();
    const all = cases();
    const rels: string[] = [];
    all.forEach(([, b], i) => {
      const name = createHash('sha256').update(`case${i}`).digest('hex');
      mkdirSync(path.join(repo, 'objects', name.slice(0, 2)), { recursive: true });
      writeFileSync(path.join(repo, 'objects', name.slice(0, 2), `${name.slice(2)}.dirtree`), b);
      rels.push(`${name.slice(0, 2)}/${name.slice(2)}.dirtree`);
    });
    const r = await native().metadata_read_batch([repo], rels, { dirtree: true });
    const valid = r.dirtreeValid as Uint8Array;
    all.forEach(([label, b], i) => {
      const js = jsAccepts(b);
      if (valid[i] === 1) expect(js, label).toBe(true);
      // Everything the generic checks take is taken natively too, except
      // names that aren't UTF-8 (normal-form GVariant strings are).
      if (label !== 'invalid utf-8 name') expect(valid[i], label).toBe(js ? 1 : 0);
    });
    expect(valid[0]).toBe(1);
    expect(valid[1]).toBe(1);
    expect(valid[4]).toBe(0);
  });
});
