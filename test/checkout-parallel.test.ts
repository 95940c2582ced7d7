// The parallel checkout/fsck/prune engine gives the same result as a
// single-threaded run (`parallelism: 1`): for archive and bare-user repos, the
// checked-out trees are identical — every path with its type, mode, link
// count, size, content hash and symlink target — and so are fsck and prune
// results. Also: the archive user-mode checkout goes through the
// uncompressed-objects cache exactly like ostree's (same tree, same cache).
import { describe, it, expect, afterAll } from 'vitest';
import { mkdirSync, writeFileSync, rmSync, symlinkSync, chmodSync, readdirSync, lstatSync, readlinkSync, readFileSync, existsSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { tmpdir, cleanupTmp, makeTree, ostree, ok, SKIP_INTEROP, IS_ROOT } from './helpers/interop';
import { Repo, commit, checkout } from '../lib/index';
import { fsck } from '../lib/fsck';
import { prune } from '../lib/prune';
import type { RepoMode } from '../lib/repo/repo';

afterAll(cleanupTmp);

/** makeTree plus many dirs and files (several native jobs), duplicates, suid, unreadable, empty and large files. */
function makeWideTree(dir: string): void {
  makeTree(dir, 1);
  let seed = 12345;
  const rnd = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0);
  for (let d = 0; d < 30; d++) {
    const sub = path.join(dir, 'wide', `d${d % 5}`, `e${d}`);
    mkdirSync(sub, { recursive: true });
    for (let f = 0; f < 40; f++) {
      const p = path.join(sub, `f${f}`);
      if (f % 13 === 0) writeFileSync(p, '');
      else if (f % 7 === 0) writeFileSync(p, 'same content everywhere\n');
      else writeFileSync(p, `file ${d}/${f} ${rnd()}\n`.repeat(1 + (rnd() % 200)));
      if (f % 11 === 0) chmodSync(p, 0o755);
      if (f === 17) chmodSync(p, 0o4755);
      if (f === 19) chmodSync(p, 0o244);
    }
    symlinkSync(`../e${(d + 1) % 30}/f1`, path.join(sub, 'link'));
    symlinkSync('/nonexistent/target', path.join(sub, 'dangling'));
  }
  const big = Buffer.alloc(2 * 1024 * 1024 + 3);
  for (let i = 0; i < big.length; i++) big[i] = rnd() & 0xff;
  writeFileSync(path.join(dir, 'wide', 'big.bin'), big);
  mkdirSync(path.join(dir, 'wide', 'readonly-dir', 'inner'), { recursive: true });
  writeFileSync(path.join(dir, 'wide', 'readonly-dir', 'inner', 'x'), 'x\n');
  chmodSync(path.join(dir, 'wide', 'readonly-dir'), 0o555);
}

/** Every path: type, permissions, link count, size, then the content hash or link target. */
function listing(root: string): string[] {
  const out: string[] = [];
  const walk = (rel: string) => {
    const p = path.join(root, rel);
    const st = lstatSync(p);
    const type = st.isDirectory() ? 'd' : st.isSymbolicLink() ? 'l' : st.isFile() ? 'f' : '?';
    let extra = '';
    if (type === 'f') extra = createHash('sha256').update(readFileSync(p)).digest('hex');
    if (type === 'l') extra = readlinkSync(p);
    out.push(`${rel || '.'} ${type} ${(st.mode & 0o7777).toString(8)} ${type === 'd' ? '-' : st.nlink} ${type === 'f' ? st.size : '-'} ${extra}`);
    if (type === 'd') for (const e of readdirSync(p).sort()) walk(path.join(rel, e));
  };
  walk('');
  return out;
}

const MODES: RepoMode[] = ['archive', 'bare-user'];

describe('parallel checkout engine', () => {
  const d = tmpdir();
  makeWideTree(`${d}/t`);

  for (const mode of MODES) {
    describe(mode, () => {
      let repo: Repo;
      let c: string;

      it('commits the tree', async () => {
        repo = await Repo.create(`${d}/repo-${mode}`, { mode });
        c = (await commit(repo, { branch: 'main', trees: [{ dir: `${d}/t` }], subject: 's', timestamp: 0n })).checksum;
        expect(c).toMatch(/^[0-9a-f]{64}$/);
      });

      const variants: Array<[string, Parameters<typeof checkout>[3]]> = [
        ['-U', { mode: 'user' }],
        ['-U -C', { mode: 'user', forceCopy: true }],
        ...(mode === 'archive' ? ([['-U --disable-cache', { mode: 'user', disableCache: true }]] as Array<[string, Parameters<typeof checkout>[3]]>) : []),
        ...(IS_ROOT ? ([['(root, no -U)', { mode: 'none' }]] as Array<[string, Parameters<typeof checkout>[3]]>) : []),
      ];
      for (const [label, opts] of variants) {
        it(`${label}: parallel and single-threaded checkouts are identical`, async () => {
          const tag = label.replace(/[^a-z]/gi, '');
          const a = await checkout(repo, c, `${d}/co-${mode}-${tag}-par`, { ...opts, parallelism: 4 });
          const b = await checkout(repo, c, `${d}/co-${mode}-${tag}-one`, { ...opts, parallelism: 1 });
          expect(a).toEqual(b);
          const la = listing(`${d}/co-${mode}-${tag}-par`);
          expect(la.length).toBeGreaterThan(1300);
          expect(listing(`${d}/co-${mode}-${tag}-one`)).toEqual(la);
          // -U copies lose suid and gain u+r; the empty file is never a hardlink.
          const suid = lstatSync(`${d}/co-${mode}-${tag}-par/wide/d0/e0/f17`);
          const noread = lstatSync(`${d}/co-${mode}-${tag}-par/wide/d0/e0/f19`);
          if (opts?.mode === 'user') {
            expect(suid.mode & 0o6000).toBe(0);
            expect(noread.mode & 0o400).toBe(0o400);
          }
          expect(lstatSync(`${d}/co-${mode}-${tag}-par/wide/d0/e0/f0`).nlink).toBe(1);
          expect(lstatSync(`${d}/co-${mode}-${tag}-par/wide/readonly-dir`).mode & 0o777).toBe(0o555);
        });
      }

      it('union checkouts over an existing tree are identical too', async () => {
        for (const p of [1, 4]) {
          const dest = `${d}/union-${mode}-${p}`;
          await checkout(repo, c, dest, { mode: 'user', parallelism: p });
          // (break the hardlink first: writing through it would change the repo object)
          rmSync(`${dest}/wide/d1/e1/f3`);
          writeFileSync(`${dest}/wide/d1/e1/f3`, 'changed\n');
          await checkout(repo, c, dest, { mode: 'user', overwrite: 'union-files', parallelism: p });
          const r = await checkout(repo, c, dest, { mode: 'user', overwrite: 'add-files', parallelism: p });
          expect(r.skipped).toBeGreaterThan(1000);
        }
        expect(listing(`${d}/union-${mode}-4`)).toEqual(listing(`${d}/union-${mode}-1`));
      });

      it('fsck and prune give the same results in parallel and single-threaded', async () => {
        const a = await fsck(repo, { parallelism: 4 });
        const b = await fsck(repo, { parallelism: 1 });
        expect(a.ok).toBe(true);
        expect(b).toEqual(a);
        const copy = (p: number) => {
          const dest = `${d}/prune-${mode}-${p}`;
          expect(spawnSync('cp', ['-a', repo.path, dest]).status).toBe(0);
          return Repo.open(dest);
        };
        const r1 = await copy(1);
        const r4 = await copy(4);
        for (const r of [r1, r4]) {
          // An orphan commit with objects of its own, then prune from refs only.
          writeFileSync(`${d}/orphan-${mode}`, 'only in the orphan\n');
          mkdirSync(`${d}/orphan-tree-${mode}`, { recursive: true });
          writeFileSync(`${d}/orphan-tree-${mode}/o`, 'orphan file\n');
          await commit(r, { orphan: true, trees: [{ dir: `${d}/orphan-tree-${mode}` }], subject: 'orphan', timestamp: 0n });
        }
        const p1 = await prune(r1, { refsOnly: true, parallelism: 1 });
        const p4 = await prune(r4, { refsOnly: true, parallelism: 4 });
        expect(p4).toEqual(p1);
        expect(p1.pruned).toBeGreaterThan(0);
        expect((await fsck(r4, { parallelism: 4 })).ok).toBe(true);
      });
    });
  }

  it.skipIf(SKIP_INTEROP)('archive -U: same tree and same uncompressed-objects cache as ostree', async () => {
    const repo = await Repo.create(`${d}/cache-ours`, { mode: 'archive' });
    const c = (await commit(repo, { branch: 'main', trees: [{ dir: `${d}/t` }], subject: 's', timestamp: 0n })).checksum;
    ok(ostree(['init', `--repo=${d}/cache-theirs`, '--mode=archive']));
    ok(ostree([`--repo=${d}/cache-theirs`, 'pull-local', `${d}/cache-ours`, 'main']));
    await checkout(repo, c, `${d}/cache-co-ours`, { mode: 'user' });
    ok(ostree([`--repo=${d}/cache-theirs`, 'checkout', '-U', 'main', `${d}/cache-co-theirs`]));
    expect(listing(`${d}/cache-co-ours`)).toEqual(listing(`${d}/cache-co-theirs`));
    const cacheOf = (r: string) => listing(`${r}/uncompressed-objects-cache`).map((l) => l.replace(/^(\S+ \S \S+) \d+/, '$1'));
    expect(existsSync(`${d}/cache-ours/uncompressed-objects-cache`)).toBe(true);
    expect(cacheOf(`${d}/cache-ours`)).toEqual(cacheOf(`${d}/cache-theirs`));
    // A second checkout hardlinks from the cache (ours from ostree's cache too).
    const r = await checkout(await Repo.open(`${d}/cache-theirs`), c, `${d}/cache-co-2`, { mode: 'user' });
    expect(r.linked).toBeGreaterThan(1000);
    expect(listing(`${d}/cache-co-2`).map((l) => l.replace(/^(\S+ \S \S+) \d+/, '$1'))).toEqual(
      listing(`${d}/cache-co-ours`).map((l) => l.replace(/^(\S+ \S \S+) \d+/, '$1')),
    );
  });
});
