// The streamed checkout (the tree walked natively in steps, each step written
// before the next is used) gives the same tree and result as the generic
// per-object walk (taken for --union-files into a new directory), whatever
// the step size; and a missing or corrupt dirtree, dirmeta or file found deep
// in the tree fails the checkout with the same error as the generic walk.
import { describe, it, expect, afterAll } from 'vitest';
import { mkdirSync, writeFileSync, rmSync, chmodSync, existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { tmpdir, cleanupTmp, makeTree, describeTree } from './helpers/interop';
import { Repo } from '../lib/repo/repo';
import { Transaction } from '../lib/repo/transaction';
import { commit } from '../lib/commit/commit';
import { checkout, resolveSubpath } from '../lib/checkout/checkout';
import { native } from '../lib/binding';
import { ObjectType, validateDirTree, serializeDirTree, serializeCommit, serializeDirMeta, S_IFDIR } from '../lib/objects/formats';

afterAll(cleanupTmp);

/** makeTree plus a deep chain, a wide directory, empty and read-only directories. */
function makeStreamTree(dir: string): void {
  makeTree(dir, 1);
  let deep = path.join(dir, 'deep');
  for (let i = 0; i < 12; i++) {
    deep = path.join(deep, `level${i}`);
    mkdirSync(deep, { recursive: true });
    writeFileSync(path.join(deep, `f${i}`), `level ${i}\n`);
    if (i % 3 === 0) mkdirSync(path.join(deep, `empty${i}`));
  }
  // A mode no other directory has: a dirmeta of its own.
  chmodSync(path.join(dir, 'deep/level0/level1/level2/level3/level4/level5/level6'), 0o751);
  for (let d = 0; d < 6; d++) {
    const sub = path.join(dir, 'wide', `d${d}`);
    mkdirSync(sub, { recursive: true });
    for (let f = 0; f < 25; f++) writeFileSync(path.join(sub, `f${f}`), f % 5 === 0 ? 'same\n' : `file ${d}/${f}\n`);
  }
  mkdirSync(path.join(dir, 'ro', 'inner', 'innermost'), { recursive: true });
  writeFileSync(path.join(dir, 'ro', 'inner', 'innermost', 'x'), 'x\n');
  writeFileSync(path.join(dir, 'ro', 'inner', 'y'), 'y\n');
  chmodSync(path.join(dir, 'ro', 'inner'), 0o555);
  chmodSync(path.join(dir, 'ro'), 0o555);
  mkdirSync(path.join(dir, 'zz-last'));
  writeFileSync(path.join(dir, 'zz-last', 'end'), 'end\n');
}

async function errorOf(p: Promise<unknown>): Promise<{ code?: string; message: string }> {
  try {
    await p;
  } catch (err) {
    const e = err as { code?: string; message: string };
    return { code: e.code, message: e.message };
  }
  throw new Error('expected a failure');
}

describe('streamed checkout', () => {
  const d = tmpdir();
  makeStreamTree(`${d}/t`);
  let repo: Repo;
  let c: string;

  it('commits the tree', async () => {
    repo = await Repo.create(`${d}/repo`, { mode: 'archive' });
    c = (await commit(repo, { branch: 'main', trees: [{ dir: `${d}/t` }], subject: 's', timestamp: 0n })).checksum;
    expect(c).toMatch(/^[0-9a-f]{64}$/);
  });

  it('gives the same tree and counts as the generic walk, whatever the step size', async () => {
    const generic = await checkout(repo, c, `${d}/generic`, { mode: 'user', overwrite: 'union-files' });
    const want = describeTree(`${d}/generic`);
    expect(want).toContain('./deep/level0/level1/level2/level3/level4/level5/level6/level7/level8/level9/level10/level11/f11 f 644');
    expect(want).toContain('./ro/inner d 555');
    for (const step of [1, 2, 3, 7, 50, undefined]) {
      for (const parallelism of [1, 4]) {
        const dest = `${d}/streamed-${step}-${parallelism}`;
        const r = await checkout(repo, c, dest, { mode: 'user', stepEntries: step, parallelism });
        expect(r, `step ${step}`).toEqual(generic);
        expect(describeTree(dest), `step ${step}`).toBe(want);
      }
    }
  });

  it('reports progress up to every file, and stops between steps when aborted', async () => {
    const seen: number[] = [];
    await checkout(repo, c, `${d}/progress`, { mode: 'user', stepEntries: 5, onProgress: (p) => seen.push(p.loaded) });
    const files = describeTree(`${d}/progress`).split('\n').filter((l) => / [fl] \d+ /.test(l)).length;
    expect(seen.length).toBeGreaterThan(5);
    expect(seen[seen.length - 1]).toBe(files);
    const ac = new AbortController();
    const e = await errorOf(
      checkout(repo, c, `${d}/aborted`, { mode: 'user', stepEntries: 5, signal: ac.signal, onProgress: (p) => p.loaded >= 10 && ac.abort() }),
    );
    expect(e.code).toBe('OSTREE_ABORTED');
    expect(existsSync(`${d}/aborted/zz-last/end`)).toBe(false);
  });

  const deepDir = 'deep/level0/level1/level2/level3/level4/level5/level6';
  const damages: Array<[string, (r: Repo) => Promise<string>]> = [
    [
      'a missing dirtree',
      async (r) => {
        const cm = await r.readCommit(c);
        const t = await resolveSubpath(r, cm.rootTree, cm.rootMeta, deepDir);
        if (t.kind !== 'dir') throw new Error('not a dir');
        rmSync(r.objectPath(t.tree, ObjectType.DirTree));
        return t.tree;
      },
    ],
    [
      'a corrupt dirtree',
      async (r) => {
        const cm = await r.readCommit(c);
        const t = await resolveSubpath(r, cm.rootTree, cm.rootMeta, deepDir);
        if (t.kind !== 'dir') throw new Error('not a dir');
        const p = r.objectPath(t.tree, ObjectType.DirTree);
        rmSync(p);
        writeFileSync(p, Buffer.from('not a dirtree at all'));
        return t.tree;
      },
    ],
    [
      'a missing dirmeta',
      async (r) => {
        const cm = await r.readCommit(c);
        const t = await resolveSubpath(r, cm.rootTree, cm.rootMeta, deepDir);
        if (t.kind !== 'dir') throw new Error('not a dir');
        rmSync(r.objectPath(t.meta, ObjectType.DirMeta));
        return t.meta;
      },
    ],
    [
      'a missing file',
      async (r) => {
        const cm = await r.readCommit(c);
        const t = await resolveSubpath(r, cm.rootTree, cm.rootMeta, `${deepDir}/f6`);
        if (t.kind !== 'file') throw new Error('not a file');
        rmSync(r.objectPath(t.checksum, ObjectType.File));
        return t.checksum;
      },
    ],
  ];

  for (const [label, damage] of damages) {
    it(`${label} deep in the tree: the same error as the generic walk`, async () => {
      const copy = `${d}/repo-${label.replace(/\W/g, '')}`;
      expect(spawnSync('cp', ['-a', repo.path, copy]).status).toBe(0);
      const r = await Repo.open(copy);
      const victim = await damage(r);
      const want = await errorOf(checkout(r, c, `${copy}-generic`, { mode: 'user', overwrite: 'union-files' }));
      expect(want.message).toBeTruthy();
      if (label.includes('dirtree')) {
        // ... which is what the generic loader says of the object.
        expect(await errorOf(r.readDirTree(victim).then(validateDirTree))).toEqual(want);
      }
      for (const step of [3, undefined]) {
        const got = await errorOf(checkout(r, c, `${copy}-streamed-${step}`, { mode: 'user', stepEntries: step }));
        expect(got, `step ${step}`).toEqual(want);
      }
    });
  }
});

describe('streamed checkout of a dirtree the native reader leaves to the generic one', () => {
  it('a name that is not UTF-8: the same outcome as the generic walk', async () => {
    const d = tmpdir();
    const repo = await Repo.create(`${d}/r`, { mode: 'archive' });
    const tx = await Transaction.begin(repo);
    const file = await tx.writeContentFromBuffer({ uid: 0, gid: 0, mode: 0o100644, symlinkTarget: '', xattrs: [] }, Buffer.from('hi\n'));
    const meta = await tx.writeMetadata(ObjectType.DirMeta, serializeDirMeta({ uid: 0, gid: 0, mode: S_IFDIR | 0o755, xattrs: [] }));
    // A subdirectory whose dirtree names a file with a byte that isn't UTF-8.
    const inner = Buffer.from(serializeDirTree({ files: [['caf\u00e9', file]], dirs: [] }));
    inner[inner.indexOf(0xc3)] = 0xff;
    const sub = await tx.writeMetadata(ObjectType.DirTree, inner);
    const tree = await tx.writeMetadata(ObjectType.DirTree, serializeDirTree({ files: [['a', file]], dirs: [['sub', sub, meta]] }));
    const commitCsum = await tx.writeMetadata(
      ObjectType.Commit,
      serializeCommit({ metadata: [], parent: null, related: [], subject: '', body: '', timestamp: 0n, rootTree: tree, rootMeta: meta }),
    );
    await tx.commit();
    const generic = await errorOf(checkout(repo, commitCsum, `${d}/generic`, { mode: 'user', overwrite: 'union-files' })).catch(() => null);
    if (generic) {
      // The generic walk refuses it: so must the streamed one, in the same words.
      expect(await errorOf(checkout(repo, commitCsum, `${d}/streamed`, { mode: 'user' }))).toEqual(generic);
    } else {
      await checkout(repo, commitCsum, `${d}/streamed`, { mode: 'user' });
      expect(describeTree(`${d}/streamed`)).toBe(describeTree(`${d}/generic`));
    }
  });
});

describe('checkout_plan_next', () => {
  it('stops before a dirtree it does not take, and goes on from a normal-form copy of it', async () => {
    const d = tmpdir();
    const repo = await Repo.create(`${d}/r`, { mode: 'archive' });
    const tx = await Transaction.begin(repo);
    const file = await tx.writeContentFromBuffer({ uid: 0, gid: 0, mode: 0o100644, symlinkTarget: '', xattrs: [] }, Buffer.from('hi\n'));
    const meta = await tx.writeMetadata(ObjectType.DirMeta, serializeDirMeta({ uid: 0, gid: 0, mode: S_IFDIR | 0o755, xattrs: [] }));
    const innerBytes = serializeDirTree({ files: [['x', file], ['y', file]], dirs: [] });
    const inner = await tx.writeMetadata(ObjectType.DirTree, innerBytes);
    const tree = await tx.writeMetadata(ObjectType.DirTree, serializeDirTree({ files: [['a', file]], dirs: [['sub', inner, meta], ['z', inner, meta]] }));
    await tx.commit();
    // Only sub's copy is read: z has the same dirtree, taken from the cursor's cache.
    rmSync(repo.objectPath(inner, ObjectType.DirTree));
    const n = native();
    const cursor = n.checkout_plan_open([repo.path], tree, meta, '/co');
    const s1 = await n.checkout_plan_next(cursor, 100);
    expect(s1).toMatchObject({ first: 0, dirs: ['/co'], nfiles: 1, need: inner, done: false });
    expect([...s1.finished]).toEqual([]);
    // One step at a time.
    const s2p = n.checkout_plan_next(cursor, 100, Buffer.from('garbage'));
    expect(() => n.checkout_plan_next(cursor, 100)).toThrow(TypeError);
    expect(await s2p).toMatchObject({ first: 1, dirs: [], nfiles: 0, need: inner, rejected: true, done: false });
    const s3 = await n.checkout_plan_next(cursor, 100, innerBytes);
    expect(s3).toMatchObject({ first: 1, dirs: ['/co/sub', '/co/z'], nfiles: 4, done: true });
    expect(s3.need).toBeUndefined();
    expect(s3.metas).toBe(meta + meta);
    expect([...s3.depth]).toEqual([1, 1]);
    expect([...s3.finished]).toEqual([1, 2, 0]);
    // A list is checked against its range, and can't be used once freed.
    const stores: Array<[string, string, boolean]> = [[repo.path, 'archive', false]];
    expect(() => n.checkout_files({ list: s3.files!, start: 0, end: 5 }, { stores })).toThrow(TypeError);
    n.checkout_list_free(s3.files!);
    expect(() => n.checkout_files({ list: s3.files!, start: 0, end: 1 }, { stores })).toThrow(/freed/);
  });

  it('steps of at most maxEntries files and directories, in pre-order; dirs finished in post-order', async () => {
    const d = tmpdir();
    const repo = await Repo.create(`${d}/r`, { mode: 'archive' });
    const tx = await Transaction.begin(repo);
    const file = await tx.writeContentFromBuffer({ uid: 0, gid: 0, mode: 0o100644, symlinkTarget: '', xattrs: [] }, Buffer.from('hi\n'));
    const meta = await tx.writeMetadata(ObjectType.DirMeta, serializeDirMeta({ uid: 0, gid: 0, mode: S_IFDIR | 0o755, xattrs: [] }));
    const leaf = await tx.writeMetadata(ObjectType.DirTree, serializeDirTree({ files: [['f', file]], dirs: [] }));
    const mid = await tx.writeMetadata(ObjectType.DirTree, serializeDirTree({ files: [['g', file]], dirs: [['l', leaf, meta]] }));
    const tree = await tx.writeMetadata(ObjectType.DirTree, serializeDirTree({ files: [['a', file], ['b', file]], dirs: [['m', mid, meta], ['n', leaf, meta]] }));
    await tx.commit();
    const n = native();
    const cursor = n.checkout_plan_open([repo.path], tree, meta, '/');
    const steps = [];
    for (;;) {
      const s = await n.checkout_plan_next(cursor, 2);
      steps.push({ first: s.first, dirs: s.dirs, depth: [...s.depth], nfiles: s.nfiles, finished: [...s.finished], done: s.done });
      if (s.done) break;
    }
    // Pre-order: / a b m g l f n f (9 entries, 2 per step).
    expect(steps).toEqual([
      { first: 0, dirs: ['/'], depth: [0], nfiles: 1, finished: [], done: false },
      { first: 1, dirs: ['/m'], depth: [1], nfiles: 1, finished: [], done: false },
      { first: 2, dirs: ['/m/l'], depth: [2], nfiles: 1, finished: [], done: false },
      { first: 3, dirs: ['/n'], depth: [1], nfiles: 1, finished: [2, 1], done: false },
      { first: 4, dirs: [], depth: [], nfiles: 1, finished: [3, 0], done: true },
    ]);
  });
});

describe('bare-user objects looked at by path (-U)', () => {
  it('a symlink, an empty and a regular file check out as with the generic walk; an object without user.ostreemeta fails with the loader\'s error', async () => {
    const d = tmpdir();
    mkdirSync(`${d}/t/sub`, { recursive: true });
    writeFileSync(`${d}/t/sub/file`, 'content\n');
    writeFileSync(`${d}/t/empty`, '');
    spawnSync('ln', ['-s', 'sub/file', `${d}/t/link`]);
    const repo = await Repo.create(`${d}/r`, { mode: 'bare-user' });
    const c = (await commit(repo, { branch: 'main', trees: [{ dir: `${d}/t` }], subject: 's', timestamp: 0n })).checksum;
    await checkout(repo, c, `${d}/streamed`, { mode: 'user' });
    await checkout(repo, c, `${d}/generic`, { mode: 'user', overwrite: 'union-files' });
    expect(describeTree(`${d}/streamed`)).toEqual(describeTree(`${d}/generic`));
    // Strip the metadata xattr off the regular file's object.
    const cm = await repo.readCommit(c);
    const f = await resolveSubpath(repo, cm.rootTree, cm.rootMeta, 'sub/file');
    if (f.kind !== 'file') throw new Error('not a file');
    const obj = repo.objectPath(f.checksum, ObjectType.File);
    const r = spawnSync('setfattr', ['-x', 'user.ostreemeta', obj], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const want = await errorOf(repo.loadFile(f.checksum).then((o) => o.readPayload()));
    expect(want.message).toBeTruthy();
    expect(await errorOf(checkout(repo, c, `${d}/after`, { mode: 'user' }))).toEqual(want);
  });
});
