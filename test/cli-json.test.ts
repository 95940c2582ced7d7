// `--json` (lib/cli/json.ts) on refs, log, show, summary --view and remote
// list: parse the document and check its facts against what the real `ostree`
// prints in plain text for the same repository; exit codes as without --json.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { writeFileSync, mkdirSync } from 'node:fs';
import * as path from 'node:path';
import { SKIP_INTEROP, tmpdir, cleanupTmp, ostree, ours, ok } from './helpers/interop';
import { variantToJson, isoDate } from '../lib/cli/json';

afterAll(cleanupTmp);

/* eslint-disable @typescript-eslint/no-explicit-any */
function json(args: string[]): any {
  const r = ours([...args, '--json']);
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  return JSON.parse(r.stdout);
}

describe('variantToJson', () => {
  it('maps GVariant values to natural JSON', () => {
    expect(variantToJson('a{sv}', [['a', { type: 's', value: 'x' }], ['b', { type: 't', value: 2n ** 60n }]])).toEqual({ a: 'x', b: '1152921504606846976' });
    expect(variantToJson('(ayx)', [Buffer.from([1, 255]), 5n])).toEqual(['01ff', 5]);
    expect(variantToJson('ms', null)).toBe(null);
    expect(variantToJson('a{uas}', [[1, ['a']]])).toEqual([[1, ['a']]]);
    expect(isoDate(1600000000n)).toBe('2020-09-13T12:26:40Z');
  });
});

describe.skipIf(SKIP_INTEROP)('--json agrees with ostree plain output', () => {
  const d = SKIP_INTEROP ? '' : tmpdir('node-ostree-json-');
  const repo = path.join(d, 'repo');
  const R = `--repo=${repo}`;
  let c1 = '';
  let c2 = '';

  beforeAll(() => {
    const tree = path.join(d, 'tree');
    mkdirSync(path.join(tree, 'sub'), { recursive: true });
    writeFileSync(path.join(tree, 'a.txt'), 'hello\n');
    writeFileSync(path.join(tree, 'sub', 'b'), 'b\n');
    ok(ostree(['init', R, '--mode=archive']));
    c1 = ok(ostree(['commit', R, '-b', 'main', '--timestamp=@1600000000', '-s', 'First', '-m', 'Body\n\nmore', '--add-metadata-string=version=1.0', '--add-metadata=num=int64 5', '--add-detached-metadata-string=d=x', tree]));
    c2 = ok(ostree(['commit', R, '-b', 'main', '--timestamp=@1700000000', '-s', 'Second', '--add-metadata-string=version=2.0', tree]));
    ok(ostree(['refs', R, 'main', '--create=other']));
    ok(ostree(['refs', R, '--alias', '--create=al', 'main']));
    ok(ostree(['remote', 'add', R, '--no-gpg-verify', 'origin', 'http://example.com/repo']));
    ok(ostree(['remote', 'add', R, 'second', 'file:///srv/repo']));
    ok(ostree(['summary', '-u', R]));
  });

  it('refs', () => {
    const doc = json(['refs', R]);
    const plain = ok(ostree(['refs', R])).split('\n').sort();
    expect(doc.refs.map((r: any) => r.name)).toEqual(plain);
    for (const r of doc.refs) expect(r.checksum).toBe(ok(ostree(['rev-parse', R, r.name])));
    const aliases = json(['refs', R, '--alias']).refs.map((r: any) => `${r.name} -> ${r.alias}`);
    expect(aliases).toEqual(ok(ostree(['refs', R, '--alias'])).split('\n'));
    expect(ours(['refs', R, '--json', '--delete', 'main']).status).toBe(1);
  });

  it('log', () => {
    const doc = json(['log', R, 'main']);
    const plain = ok(ostree(['log', R, 'main']));
    expect(doc.complete).toBe(true);
    expect(doc.commits.map((c: any) => c.checksum)).toEqual([...plain.matchAll(/^commit (\w+)$/gm)].map((m) => m[1]));
    expect(doc.commits.map((c: any) => c.checksum)).toEqual([c2, c1]);
    expect(doc.commits.map((c: any) => c.date.replace('T', ' ').replace('Z', ' +0000'))).toEqual([...plain.matchAll(/^Date: {2}(.*)$/gm)].map((m) => m[1]));
    expect(doc.commits.map((c: any) => c.version)).toEqual([...plain.matchAll(/^Version: (.*)$/gm)].map((m) => m[1]));
    expect(doc.commits.map((c: any) => c.contentChecksum)).toEqual([...plain.matchAll(/^ContentChecksum: {2}(.*)$/gm)].map((m) => m[1]));
    expect(doc.commits[0].parent).toBe(c1);
    expect(doc.commits[1]).toMatchObject({ parent: null, timestamp: 1600000000, subject: 'First', body: 'Body\n\nmore' });
    const r = ours(['log', R, 'nosuchref', '--json']);
    expect(r.status).toBe(ostree(['log', R, 'nosuchref']).status);
    expect(r.stdout).toBe('');
  });

  it('show', () => {
    const doc = json(['show', R, 'main^']);
    expect(doc).toMatchObject({ type: 'commit', checksum: c1, version: '1.0', detachedMetadata: { d: 'x' } });
    expect(doc.metadata).toMatchObject({ version: '1.0', num: 5 });
    expect(json(['show', R, 'main^', '--print-metadata-key=num'])).toEqual({ key: 'num', type: 'x', value: 5 });
    // ostree prints metadata byte-swapped (it assumes big-endian); JSON has the value as stored.
    expect(ok(ostree(['show', R, 'main^', '--print-metadata-key=num']))).toBe(`int64 ${5n << 56n}`);
    const tree = json(['show', R, doc.rootTree]);
    expect(tree.type).toBe('dirtree');
    const ls = ok(ostree(['ls', R, '-C', 'main', '/']));
    for (const f of tree.files) expect(ls).toContain(`${f.checksum} /${f.name}`);
    const meta = json(['show', R, doc.rootMeta]);
    expect(meta.type).toBe('dirmeta');
    expect(ls.split('\n')[0]).toMatch(new RegExp(`^d0${meta.mode.toString(8).slice(-4)} ${meta.uid} ${meta.gid}`));
    const file = json(['show', R, tree.files[0].checksum]);
    expect(file).toMatchObject({ type: 'file', kind: 'regular', size: 6 });
    expect(ours(['show', R, 'nosuchref', '--json']).status).toBe(ostree(['show', R, 'nosuchref']).status);
  });

  it('summary --view', () => {
    const doc = json(['summary', R, '--view']);
    const plain = ok(ostree(['summary', R, '--view']));
    const refs = plain.split('\n\n').filter((b) => b.startsWith('* ')).map((b) => [
      /^\* (\S+)/.exec(b)?.[1],
      /Latest Commit .*:\n {6}(\w+)/.exec(b)?.[1],
      /Timestamp \(ostree.commit.timestamp\): (\S+)/.exec(b)?.[1],
      /Version \(ostree.commit.version\): (\S+)/.exec(b)?.[1],
    ]);
    expect(refs.length).toBe(3);
    expect(doc.refs.map((r: any) => [r.name, r.checksum, r.date.replace('Z', '+00'), r.version]).sort()).toEqual(refs.sort());
    expect(doc.refs.find((r: any) => r.name === 'main').size).toBe(Number(/Latest Commit \((\d+) bytes\)/.exec(plain)?.[1]));
    expect(isoDate(doc.metadata['ostree.summary.last-modified'])?.replace('Z', '+00')).toBe(/Last-Modified \(ostree.summary.last-modified\): (\S+)/.exec(plain)?.[1]);
    expect(doc.metadata['ostree.summary.mode']).toBe('archive-z2');
  });

  it('remote list', () => {
    const doc = json(['remote', 'list', R]);
    const plain = ok(ostree(['remote', 'list', '-u', R])).split('\n').map((l) => l.split(/\s+/));
    expect(doc.remotes.map((r: any) => [r.name, r.url])).toEqual(plain);
    expect(doc.remotes[0].options['gpg-verify']).toBe('false');
  });

  it('--help lists --json', () => {
    for (const cmd of [['refs'], ['log'], ['show'], ['summary'], ['remote', 'list']]) {
      expect(ours([...cmd, '--help']).stdout).toContain('--json');
    }
  });
});
