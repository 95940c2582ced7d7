// Summary generation byte-identical to `ostree summary -u` (2022.7); --view/--raw output identical.
import { describe, it, expect, afterAll } from 'vitest';
import { readFileSync, existsSync, copyFileSync, cpSync, mkdirSync } from 'node:fs';
import * as path from 'node:path';
import { SKIP_INTEROP, tmpdir, cleanupTmp, ostree, ours, ok, makeTree, ROOT } from './helpers/interop';
import { Repo } from '../lib/repo/repo';
import { buildSummary, parseSummary, generateSummary } from '../lib/summary';
import { ghashOrder } from '../lib/ghash';

afterAll(() => cleanupTmp());

// Copied from ../shared/spec/vectors, so a clone on its own runs them.
const VECTORS = path.resolve(ROOT, 'test', 'fixtures', 'vectors');

/** ostree's last-modified value (seconds) from its summary bytes. */
function lastModifiedOf(bytes: Buffer): bigint {
  const s = parseSummary(bytes);
  const v = s.metadata.find(([k]) => k === 'ostree.summary.last-modified')![1].value as bigint;
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(v);
  return b.readBigUInt64BE();
}

describe('summary vectors', () => {
  it('reproduces vectors/repo-archive/summary byte for byte (with static deltas)', async () => {
    const d = tmpdir();
    const p = path.join(d, 'repo');
    cpSync(path.join(VECTORS, 'repo-archive'), p, { recursive: true });
    // git keeps no empty directories: put back the ref dirs ostree made (listing refs needs them, as in ostree).
    for (const sub of ['remotes', 'mirrors']) mkdirSync(path.join(p, 'refs', sub), { recursive: true });
    const expected = readFileSync(path.join(p, 'summary'));
    const repo = await Repo.open(p);
    const ours = await buildSummary(repo, { lastModified: lastModifiedOf(expected) });
    expect(ours.equals(expected)).toBe(true);
    const s = parseSummary(ours);
    expect(s.metadata.map(([k]) => k)).toEqual(
      ghashOrder(['ostree.static-deltas', 'ostree.summary.last-modified', 'ostree.summary.mode', 'ostree.summary.tombstone-commits', 'ostree.summary.indexed-deltas']),
    );
  });
});

describe.skipIf(SKIP_INTEROP)('summary vs ostree', () => {
  function setup(mode = 'archive') {
    const d = tmpdir();
    const p = path.join(d, 'repo');
    const tree = path.join(d, 'tree');
    makeTree(tree);
    ok(ostree(['init', '--repo=' + p, '--mode=' + mode]));
    ok(ostree(['--repo=' + p, 'commit', '-b', 'main', '--tree=dir=' + tree, '--add-metadata-string=version=1.2.3', '--timestamp=@1600000000']));
    ok(ostree(['--repo=' + p, 'commit', '-b', 'a/b/c', '--tree=dir=' + tree]));
    ok(ostree(['--repo=' + p, 'commit', '-b', 'zeta', '--tree=dir=' + tree, '--add-metadata-string=version=x']));
    // Remote refs are never in the summary.
    ok(ostree(['--repo=' + p, 'refs', '--create=origin:remote-only', 'main']));
    return p;
  }

  async function compare(p: string, extra: string[] = [], addMetadata: Array<[string, { type: string; value: unknown }]> = []) {
    ok(ostree(['--repo=' + p, 'summary', '-u', ...extra]));
    const theirs = readFileSync(path.join(p, 'summary'));
    const repo = await Repo.open(p);
    const mine = await buildSummary(repo, { lastModified: lastModifiedOf(theirs), addMetadata });
    expect(mine.toString('hex')).toBe(theirs.toString('hex'));
    return theirs;
  }

  it('refs, versions, timestamps, mode', async () => {
    const p = setup();
    const bytes = await compare(p);
    expect(parseSummary(bytes).refs.map((r) => r.name)).toEqual(['a/b/c', 'main', 'zeta']);
  });

  it('--add-metadata (repeated keys), tombstone-commits, bare-user mode', async () => {
    const p = setup('bare-user');
    ok(ostree(['--repo=' + p, 'config', 'set', 'core.tombstone-commits', 'true']));
    await compare(
      p,
      ['-m', 'foo="bar"', '--add-metadata=ostree.summary.expires=uint64 1234', '-m', 'n=42', '-m', 'foo=<@as ["x","y"]>', '-m', 'zz.key=true'],
      [
        ['foo', { type: 's', value: 'bar' }],
        ['ostree.summary.expires', { type: 't', value: 1234n }],
        ['n', { type: 'i', value: 42 }],
        ['foo', { type: 'v', value: { type: 'as', value: ['x', 'y'] } }],
        ['zz.key', { type: 'b', value: true }],
      ],
    );
  });

  it('static deltas listed like ostree', async () => {
    const p = setup();
    ok(ostree(['--repo=' + p, 'static-delta', 'generate', '--empty', '--to=main']));
    ok(ostree(['--repo=' + p, 'static-delta', 'generate', '--from=main', '--to=zeta']));
    await compare(p);
    ok(ostree(['--repo=' + p, 'config', 'set', 'core.no-deltas-in-summary', 'true']));
    await compare(p);
  });

  it('our summary -u is read by ostree summary --view; --view/--raw output identical', async () => {
    const p = setup();
    ok(ours(['--repo=' + p, 'summary', '-u', '-m', 'k="v"'], { env: { SOURCE_DATE_EPOCH: '1700000000' } }));
    const mine = readFileSync(path.join(p, 'summary'));
    expect(lastModifiedOf(mine)).toBe(1700000000n);
    expect(existsSync(path.join(p, 'summary.sig'))).toBe(false);
    for (const args of [['--view'], ['--raw'], ['-v']]) {
      const a = ostree(['--repo=' + p, 'summary', ...args]);
      const b = ours(['--repo=' + p, 'summary', ...args]);
      expect(a.status).toBe(0);
      expect(b.stdout).toBe(a.stdout);
    }
    expect(ostree(['--repo=' + p, 'summary', '--view']).stdout).toContain('Last-Modified (ostree.summary.last-modified): 2023-11-14T22:13:20+00');
    // ostree's own summary rendered by us.
    ok(ostree(['--repo=' + p, 'summary', '-u']));
    expect(ours(['--repo=' + p, 'summary', '--view']).stdout).toBe(ostree(['--repo=' + p, 'summary', '--view']).stdout);
    // Library entry point writes the file and returns the same bytes.
    const repo = await Repo.open(p);
    const bytes = await generateSummary(repo, { lastModified: 5n });
    expect(readFileSync(path.join(p, 'summary')).equals(bytes)).toBe(true);
    // Errors like ostree's.
    const e1 = ours(['--repo=' + p, 'summary']);
    expect(e1.status).toBe(1);
    expect(e1.stderr).toBe(ostree(['--repo=' + p, 'summary']).stderr);
    const e2 = ours(['--repo=' + p, 'summary', '-u', '-m', 'nokey']);
    expect(e2.stderr).toBe(ostree(['--repo=' + p, 'summary', '-u', '-m', 'nokey']).stderr);
  });

  it('parseSummary rejects garbage with a coded error', () => {
    expect(() => parseSummary(Buffer.from([1, 2, 3]))).toThrowError(expect.objectContaining({ code: 'OSTREE_CORRUPT_OBJECT' }) as unknown as Error);
    void copyFileSync;
  });
});
