// The parallel commit engine gives the same result as a single-threaded run:
// the same commit checksum and the same set of objects, in every repo mode,
// on a tree that exercises every path of the native content writer (files
// hashed in memory and streamed, symlinks, xattrs, duplicates, many dirs),
// and the same checksum as the real ostree. Also: core.per-object-fsync.
import { describe, it, expect, afterAll } from 'vitest';
import { mkdirSync, writeFileSync, symlinkSync, chmodSync, readFileSync, readdirSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { tmpdir, cleanupTmp, makeTree, ostree, ok, SKIP_INTEROP, IS_ROOT } from './helpers/interop';
import { Repo, commit, fsck } from '../lib/index';
import { MutableTree } from '../lib/commit/mutable-tree';
import { Transaction } from '../lib/repo/transaction';
import { writeDirectoryToMtree } from '../lib/commit/commit';
import type { RepoMode } from '../lib/repo/repo';

afterAll(cleanupTmp);

function pseudoRandom(size: number, seed: number): Buffer {
  const b = Buffer.alloc(size);
  let x = seed >>> 0;
  for (let i = 0; i < size; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    b[i] = x >>> 24;
  }
  return b;
}

/** makeTree plus: large files (streamed), many small ones in many dirs, duplicates, xattrs on dirs. */
function makeBigTree(dir: string): void {
  makeTree(dir, 1);
  // Above the 1 MiB in-memory limit: written while hashing; one compressible, one not.
  writeFileSync(path.join(dir, 'large-random'), pseudoRandom(3 * 1024 * 1024 + 17, 7));
  writeFileSync(path.join(dir, 'large-text'), 'line of text\n'.repeat(200_000));
  writeFileSync(path.join(dir, 'exactly-1MiB'), pseudoRandom(1024 * 1024, 9));
  chmodSync(path.join(dir, 'large-text'), 0o755);
  for (let d = 0; d < 40; d++) {
    const sub = path.join(dir, 'many', `d${d % 7}`, `e${d}`);
    mkdirSync(sub, { recursive: true });
    for (let f = 0; f < 30; f++) {
      // Every 5th file duplicates another's content (the same object from several jobs).
      const content = f % 5 === 0 ? 'duplicate\n' : `file ${d}/${f}\n`.repeat(1 + ((d * f) % 50));
      writeFileSync(path.join(sub, `f${f}`), content);
      if (f % 11 === 0) chmodSync(path.join(sub, `f${f}`), 0o750);
    }
    symlinkSync(`../e${(d + 1) % 40}/f1`, path.join(sub, 'link'));
  }
  const r = spawnSync('setfattr', ['-n', 'user.dirattr', '-v', 'on-a-dir', path.join(dir, 'many', 'd3')]);
  if (r.status !== 0) throw new Error(`setfattr failed: ${r.stderr}`);
}

async function objectSet(repo: Repo): Promise<string[]> {
  const out: string[] = [];
  for await (const [csum, type] of repo.listObjects()) out.push(`${csum}.${type}`);
  return out.sort();
}

const MODES: RepoMode[] = ['bare-user', 'archive', 'bare-user-only', ...(IS_ROOT ? (['bare'] as RepoMode[]) : [])];

describe('parallel commit engine', () => {
  const d = tmpdir();
  makeBigTree(`${d}/t`);

  for (const mode of MODES) {
    it(`${mode}: parallel and single-threaded commits are identical`, async () => {
      const par = await Repo.create(`${d}/par-${mode}`, { mode });
      const one = await Repo.create(`${d}/one-${mode}`, { mode });
      const opts = { branch: 'main', trees: [{ dir: `${d}/t` }], subject: 's', timestamp: 0n };
      const a = await commit(par, { ...opts, parallelism: 4 });
      const b = await commit(one, { ...opts, parallelism: 1 });
      expect(a.checksum).toMatch(/^[0-9a-f]{64}$/);
      expect(b.checksum).toBe(a.checksum);
      expect(await objectSet(one)).toEqual(await objectSet(par));
      expect(a.stats.contentWritten).toBe(b.stats.contentWritten);
      expect(a.stats.metadataWritten).toBe(b.stats.metadataWritten);
      expect((await fsck(par)).ok).toBe(true);
      // A second commit of the same tree writes nothing new.
      const again = await commit(par, { ...opts, parallelism: 4 });
      expect(again.rootTree).toBe(a.rootTree);
      expect(again.stats.contentWritten).toBe(0);
    });
  }

  it.skipIf(SKIP_INTEROP)('matches ostree commit on the same tree (bare-user and archive) and ostree fsck accepts our objects', async () => {
    for (const mode of ['bare-user', 'archive'] as RepoMode[]) {
      const repo = await Repo.create(`${d}/ours-${mode}`, { mode });
      const r = await commit(repo, { branch: 'main', trees: [{ dir: `${d}/t` }], subject: 's', timestamp: 1600000000n });
      ok(ostree(['init', `--repo=${d}/theirs-${mode}`, `--mode=${mode}`]));
      const theirs = ok(ostree([`--repo=${d}/theirs-${mode}`, 'commit', '-b', 'main', `--tree=dir=${d}/t`, '-s', 's', '--timestamp=@1600000000']));
      expect(r.checksum).toBe(theirs.trim());
      ok(ostree([`--repo=${d}/ours-${mode}`, 'fsck']), `ostree fsck (${mode})`);
    }
  });

  it('streamed trees (finished directories written early) equal a tree held in memory', async () => {
    const repo = await Repo.create(`${d}/stream`, { mode: 'bare-user' });
    const build = async (streamTrees: boolean) => {
      const tx = await Transaction.begin(repo);
      const root = new MutableTree();
      await writeDirectoryToMtree(tx, `${d}/t`, root, { streamTrees, batchSize: 7 });
      const held = root.files.size + root.dirs.size;
      const stored = root.storedChecksum;
      const tree = await root.write(tx);
      await tx.commit();
      return { tree, meta: root.metaChecksum, held, stored };
    };
    const mem = await build(false);
    const streamed = await build(true);
    expect(mem.held).toBeGreaterThan(0);
    expect(mem.stored).toBeNull();
    // Streaming leaves the root as a stored checksum with no entries in memory...
    expect(streamed.held).toBe(0);
    expect(streamed.stored).toBe(mem.tree);
    expect(streamed.tree).toBe(mem.tree);
    expect(streamed.meta).toBe(mem.meta);
    // ...which expands again from the repo on demand.
    const again = MutableTree.fromStored(streamed.tree, streamed.meta as string);
    await again.ensureLoaded(repo);
    expect(new Set([...again.files.keys(), ...again.dirs.keys()])).toEqual(new Set(readdirSync(`${d}/t`)));
  });

  it.skipIf(SKIP_INTEROP)('overlaying a second directory onto streamed trees matches ostree', async () => {
    // The second tree replaces files and adds entries deep inside directories the first one finished.
    const o = `${d}/overlay`;
    mkdirSync(`${o}/many/d3/e3`, { recursive: true });
    writeFileSync(`${o}/many/d3/e3/f1`, 'replaced\n');
    writeFileSync(`${o}/many/d3/e3/new`, 'added\n');
    mkdirSync(`${o}/many/d6/fresh`, { recursive: true });
    writeFileSync(`${o}/top-new`, 'top\n');
    const repo = await Repo.create(`${d}/ours-overlay`, { mode: 'bare-user' });
    const r = await commit(repo, { branch: 'main', trees: [{ dir: `${d}/t` }, { dir: o }], subject: 's', timestamp: 1600000000n });
    ok(ostree(['init', `--repo=${d}/theirs-overlay`, '--mode=bare-user']));
    const theirs = ok(ostree([`--repo=${d}/theirs-overlay`, 'commit', '-b', 'main', `--tree=dir=${d}/t`, `--tree=dir=${o}`, '-s', 's', '--timestamp=@1600000000']));
    expect(r.checksum).toBe(theirs.trim());
    ok(ostree([`--repo=${d}/ours-overlay`, 'fsck']));
  });

  it('honours core.per-object-fsync=true (same result)', async () => {
    await Repo.create(`${d}/fsync`, { mode: 'bare-user' });
    const cfgPath = `${d}/fsync/config`;
    writeFileSync(cfgPath, readFileSync(cfgPath, 'utf8').replace('[core]\n', '[core]\nper-object-fsync=true\n'));
    const repo = await Repo.open(`${d}/fsync`);
    expect(repo.config.getBoolean('core', 'per-object-fsync', false)).toBe(true);
    const plain = await Repo.create(`${d}/nofsync`, { mode: 'bare-user' });
    const opts = { branch: 'main', trees: [{ dir: `${d}/t` }], subject: 's', timestamp: 0n };
    const a = await commit(repo, opts);
    expect(a.checksum).toBe((await commit(plain, opts)).checksum);
    expect((await fsck(repo)).ok).toBe(true);
  });
});
