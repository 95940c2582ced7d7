// fsck's list of objects to verify: the native walk (raw checksums, each
// object once over all commits) lists exactly what the generic walk puts in
// its Set, in the same order, whatever is shared between the commits.
import { describe, it, expect, afterAll } from 'vitest';
import { chmodSync, cpSync, mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { tmpdir, cleanupTmp, ours, ok, makeTree } from './helpers/interop';
import { Repo } from '../lib/repo/repo';
import { reachableNative, reachableGeneric } from '../lib/fsck';
import { traverseCommit, parseObjectKey } from '../lib/traverse';
import { ObjectType } from '../lib/objects/formats';

afterAll(cleanupTmp);

describe('fsck reachable objects', () => {
  it('native and generic walks list the same objects in the same order', async () => {
    const d = tmpdir();
    const repo = path.join(d, 'repo');
    ok(ours(['init', `--repo=${repo}`, '--mode=bare-user']));
    // t1: the test tree. t2: root 0700 (the dirmeta of t1's private/), t1
    // twice inside (shared subtrees) and a new tree. t3: only t1's private/.
    const t1 = path.join(d, 't1');
    makeTree(t1, 1);
    const t2 = path.join(d, 't2');
    mkdirSync(t2);
    cpSync(t1, path.join(t2, 'x'), { recursive: true, verbatimSymlinks: true });
    cpSync(t1, path.join(t2, 'y'), { recursive: true, verbatimSymlinks: true });
    makeTree(path.join(t2, 'z'), 2);
    writeFileSync(path.join(t2, 'top'), 'top\n');
    chmodSync(t2, 0o700);
    const t3 = path.join(t1, 'private');
    const commit = (t: string, i: number) => ok(ours(['commit', `--repo=${repo}`, '-b', `b${i}`, '-s', `c${i}`, `--timestamp=@${1600000000 + i}`, t]));
    const c = [commit(t1, 1), commit(t2, 2), commit(t3, 3)];
    const r = await Repo.open(repo);
    for (const commits of [[c[0], c[1], c[2]], [c[2], c[1], c[0]], [c[1], c[0]], [c[2]], []]) {
      const n = await reachableNative(r, commits);
      expect(n).not.toBeNull();
      const g = await reachableGeneric(r, commits, undefined, 4);
      expect(Buffer.from(n!.metaTypes)).toEqual(Buffer.from(g.metaTypes));
      expect(n!.metaCsums.equals(g.metaCsums)).toBe(true);
      expect(n!.content.equals(g.content)).toBe(true);
      // And the generic list is the Set's iteration, split by kind.
      const set = new Set<string>();
      for (const x of commits) await traverseCommit(r, x, set, { maxDepth: 0 });
      const keys = [...set].map(parseObjectKey);
      const meta = keys.filter(([, t]) => t !== ObjectType.File);
      const content = keys.filter(([, t]) => t === ObjectType.File);
      expect(meta.map(([, t]) => t)).toEqual([...g.metaTypes]);
      expect(meta.map(([x]) => x).join('')).toBe(g.metaCsums.toString('hex'));
      expect(content.map(([x]) => x).join('')).toBe(g.content.toString('hex'));
      if (commits.length) expect(g.content.length).toBeGreaterThan(0);
    }
  });
});
