// The static-delta library API as users see it (lib/index.ts): generateDelta,
// applyDelta, listDeltas, showDelta, with AbortSignal and the one Progress
// shape; showDelta's facts are those `ostree static-delta show` prints.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { appendFileSync } from 'node:fs';
import * as path from 'node:path';
import { SKIP_INTEROP, tmpdir, cleanupTmp, ostree, ok, makeTree } from './helpers/interop';
import { Repo, generateDelta, applyDelta, listDeltas, showDelta, type Progress } from '../lib/index';
import { deltaRelDir } from '../lib/deltas/superblock';

const SUITE = SKIP_INTEROP ? describe.skip : describe;

SUITE('static delta API', () => {
  let dir: string;
  let srv: string;
  let v1: string;
  let v2: string;

  beforeAll(() => {
    dir = tmpdir();
    srv = path.join(dir, 'srv');
    ok(ostree([`--repo=${srv}`, 'init', '--mode=archive']));
    const tree = path.join(dir, 'tree');
    makeTree(tree, 1);
    v1 = ok(ostree([`--repo=${srv}`, 'commit', '-b', 'main', '--tree=dir=' + tree])).trim();
    appendFileSync(path.join(tree, 'big.bin'), 'v2');
    v2 = ok(ostree([`--repo=${srv}`, 'commit', '-b', 'main', '--tree=dir=' + tree])).trim();
  }, 60_000);
  afterAll(cleanupTmp);

  it('generateDelta reports progress and writes a delta that showDelta describes as ostree does', async () => {
    const repo = await Repo.open(srv);
    const seen: Progress[] = [];
    const r = await generateDelta(repo, { from: v1, to: v2, onProgress: (p) => seen.push(p) });
    expect(r).toBeTruthy();
    expect(seen.length).toBeGreaterThan(0);
    expect(seen.every((p) => typeof p.unit === 'string' && (p.total === null || p.loaded <= p.total))).toBe(true);
    expect(await listDeltas(repo)).toContain(`${v1}-${v2}`);

    const info = await showDelta(repo, `${v1}-${v2}`);
    const text = ok(ostree([`--repo=${srv}`, 'static-delta', 'show', `${v1}-${v2}`]));
    expect(info.from).toBe(v1);
    expect(info.to).toBe(v2);
    expect(text).toContain(`Number of parts: ${info.parts.length}`);
    expect(text).toContain(`Number of fallback entries: ${info.fallbacks.length}`);
    info.parts.forEach((p, i) => {
      expect(text).toContain(`PartMeta${i}: nobjects=${p.objects} size=${p.size} usize=${p.usize}`);
      expect(text).toContain(`PartPayload${i}: nmodes=${p.nmodes} nxattrs=${p.nxattrs} blobsize=${p.blobsize} opsize=${p.opsize}`);
      expect(text).toContain(`bspatch=${p.ops.bspatch}`);
    });
  });

  it('applyDelta brings a repo from v1 to v2; an aborted apply writes no commit', async () => {
    const client = path.join(dir, 'client');
    ok(ostree([`--repo=${client}`, 'init', '--mode=bare-user']));
    ok(ostree([`--repo=${client}`, 'pull-local', srv, v1]));
    const repo = await Repo.open(client);
    const src = path.join(srv, deltaRelDir(v1, v2));
    const ac = new AbortController();
    ac.abort();
    await expect(applyDelta(repo, src, { signal: ac.signal })).rejects.toMatchObject({ code: 'OSTREE_ABORTED' });
    expect(await repo.hasObject(1, v2)).toBe(false);
    const seen: Progress[] = [];
    const r = await applyDelta(repo, src, { onProgress: (p) => seen.push(p) });
    expect(r.to).toBe(v2);
    expect(seen[seen.length - 1]).toMatchObject({ phase: 'delta-parts', unit: 'parts', loaded: seen[seen.length - 1].total });
    ok(ostree([`--repo=${client}`, 'fsck']));
    expect(ok(ostree([`--repo=${client}`, 'ls', '-R', v2]))).toBe(ok(ostree([`--repo=${srv}`, 'ls', '-R', v2])));
  });
});
