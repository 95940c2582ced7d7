// delta-indexes/ (FORMATS.md §4.6): `static-delta reindex` and `summary -u`
// write the same index files as ostree 2022.7, `static-delta indexes` lists
// them the same way; core.auto-update-summary regenerates the summary when
// refs move.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { readFileSync, cpSync, existsSync, rmSync } from 'node:fs';
import * as path from 'node:path';
import { SKIP_INTEROP, tmpdir, cleanupTmp, ostree, ours, ok, makeTree } from './helpers/interop';
import { filesUnder } from './helpers/files';
import { parseSummary } from '../lib/summary';
import { deltaIndexRelPath } from '../lib/deltas/superblock';

afterAll(() => cleanupTmp());

let work: string;
let base: string;
let C1: string;
let C2: string;
let C3: string;

beforeAll(() => {
  if (SKIP_INTEROP) return;
  work = tmpdir('didx-');
  base = path.join(work, 'base');
  const t1 = path.join(work, 't1');
  const t2 = path.join(work, 't2');
  makeTree(t1, 1);
  makeTree(t2, 2);
  ok(ostree(['--repo=' + base, 'init', '--mode=archive']));
  C1 = ok(ostree(['--repo=' + base, 'commit', '-b', 'main', '-s', 'one', t1]));
  C2 = ok(ostree(['--repo=' + base, 'commit', '-b', 'main', '-s', 'two', t2]));
  C3 = ok(ostree(['--repo=' + base, 'commit', '-b', 'other', '-s', 'three', t2]));
  // Two deltas to C2 (scratch and from C1), one to C3.
  ok(ostree(['--repo=' + base, 'static-delta', 'generate', '--empty', C2]));
  ok(ostree(['--repo=' + base, 'static-delta', 'generate', '--from', C1, C2]));
  ok(ostree(['--repo=' + base, 'static-delta', 'generate', '--empty', C3]));
});

let n = 0;
function copy(): string {
  const p = path.join(work, `r${n++}`);
  cpSync(base, p, { recursive: true });
  return p;
}

/** delta-indexes/ as {relative path: bytes}. */
function indexFiles(repo: string): Record<string, string> {
  const dir = path.join(repo, 'delta-indexes');
  if (!existsSync(dir)) return {};
  return Object.fromEntries(filesUnder(dir).map((f) => [f, readFileSync(path.join(dir, f)).toString('hex')]));
}

describe.skipIf(SKIP_INTEROP)('delta indexes', () => {
  it('reindex writes the index files ostree writes, sets core.indexed-deltas, and removes stale ones', () => {
    const a = copy();
    const b = copy();
    ok(ours(['--repo=' + a, 'static-delta', 'reindex']));
    ok(ostree(['--repo=' + b, 'static-delta', 'reindex']));
    const mine = indexFiles(a);
    expect(Object.keys(mine).length).toBe(2);
    expect(mine).toEqual(indexFiles(b));
    expect(readFileSync(path.join(a, 'config'), 'utf8')).toMatch(/^indexed-deltas=true$/m);
    expect(ok(ours(['--repo=' + a, 'static-delta', 'indexes'])).split('\n').sort()).toEqual([C2, C3].sort());
    expect(ours(['--repo=' + a, 'static-delta', 'indexes']).stdout).toBe(ostree(['--repo=' + a, 'static-delta', 'indexes']).stdout);
    // Delete C3's delta: a full reindex removes its index; --to only touches that target.
    ok(ostree(['--repo=' + a, 'static-delta', 'delete', C3]));
    ok(ostree(['--repo=' + b, 'static-delta', 'delete', C3]));
    ok(ours(['--repo=' + a, 'static-delta', 'reindex', `--to=${C2}`]));
    expect(existsSync(path.join(a, deltaIndexRelPath(C3)))).toBe(true);
    ok(ours(['--repo=' + a, 'static-delta', 'reindex']));
    ok(ostree(['--repo=' + b, 'static-delta', 'reindex']));
    expect(indexFiles(a)).toEqual(indexFiles(b));
    expect(existsSync(path.join(a, deltaIndexRelPath(C3)))).toBe(false);
    expect(ok(ours(['--repo=' + a, 'static-delta', 'indexes']))).toBe(C2);
  });

  it('no deltas: "(No static deltas indexes)"; a bad --to is refused as by ostree', () => {
    const p = path.join(work, `empty${n++}`);
    ok(ostree(['--repo=' + p, 'init', '--mode=archive']));
    expect(ours(['--repo=' + p, 'static-delta', 'indexes']).stdout).toBe('(No static deltas indexes)\n');
    const r = ours(['--repo=' + p, 'static-delta', 'reindex', '--to=abc']);
    const o = ostree(['--repo=' + p, 'static-delta', 'reindex', '--to=abc']);
    expect([r.status, r.stderr]).toEqual([o.status, o.stderr]);
  });

  it('summary -u lists the deltas and writes the indexes exactly as ostree does', () => {
    const a = copy();
    const b = copy();
    ok(ours(['--repo=' + a, 'summary', '-u']));
    ok(ostree(['--repo=' + b, 'summary', '-u']));
    expect(indexFiles(a)).toEqual(indexFiles(b));
    const strip = (s: string) => s.replace(/^Last-Modified.*$/m, '').replace(/ostree\.summary\.last-modified: .*$/m, '');
    expect(strip(ok(ostree(['--repo=' + a, 'summary', '--view'])))).toBe(strip(ok(ostree(['--repo=' + b, 'summary', '--view']))));
    const deltas = parseSummary(readFileSync(path.join(a, 'summary'))).metadata.find(([k]) => k === 'ostree.static-deltas');
    expect((deltas![1].value as unknown[]).length).toBe(3);
  });

  it('core.auto-update-summary: our commit, refs --create/--delete and reset regenerate the summary', () => {
    const a = copy();
    rmSync(path.join(a, 'summary'), { force: true });
    ok(ostree(['--repo=' + a, 'config', 'set', 'core.auto-update-summary', 'true']));
    const t = path.join(work, 't1');
    const c = ok(ours(['--repo=' + a, 'commit', '-b', 'fresh', '-s', 'x', t]));
    const refsIn = () => parseSummary(readFileSync(path.join(a, 'summary'))).refs.map((r) => `${r.name}=${r.checksum}`);
    expect(refsIn()).toContain(`fresh=${c}`);
    expect(indexFiles(a)).not.toEqual({});
    ok(ours(['--repo=' + a, 'refs', '--create=made', c]));
    expect(refsIn()).toContain(`made=${c}`);
    ok(ours(['--repo=' + a, 'reset', 'made', C1]));
    expect(refsIn()).toContain(`made=${C1}`);
    ok(ours(['--repo=' + a, 'refs', '--delete', 'made']));
    expect(refsIn().some((r) => r.startsWith('made='))).toBe(false);
    // Off (the default): no summary appears.
    const b = copy();
    rmSync(path.join(b, 'summary'), { force: true });
    ok(ours(['--repo=' + b, 'commit', '-b', 'fresh', '-s', 'x', t]));
    expect(existsSync(path.join(b, 'summary'))).toBe(false);
  });
});

describe('delta index order', () => {
  it('does not depend on the order the deltas are listed in (ostree sorts the sources first)', async () => {
    const { buildDeltaIndex } = await import('../lib/deltas/indexes');
    const { deltaRelDir } = await import('../lib/deltas/superblock');
    const { ghashOrder } = await import('../lib/ghash');
    const { createHash } = await import('node:crypto');
    const { mkdirSync, writeFileSync } = await import('node:fs');
    const hex = (s: string) => createHash('sha256').update(s).digest('hex');
    // Find a target and a source whose two delta names collide in GLib's 8-slot table, so that insertion order
    // decides the iteration order.
    let to = '';
    let from = '';
    for (let i = 0; ; i++) {
      to = hex(`to${i}`);
      from = hex(`from${i}`);
      const keys = [`${from}-${to}`, to];
      if (ghashOrder(keys).join() !== ghashOrder([...keys].reverse()).join()) break;
    }
    const repo = tmpdir('didx-order-');
    for (const f of [from, null]) {
      const dir = path.join(repo, deltaRelDir(f, to));
      mkdirSync(dir, { recursive: true });
      writeFileSync(path.join(dir, 'superblock'), `superblock ${f}`);
    }
    const r = { path: repo } as unknown as Parameters<typeof buildDeltaIndex>[0];
    const a = await buildDeltaIndex(r, to, [from, null]);
    const b = await buildDeltaIndex(r, to, [null, from]);
    expect(a.equals(b)).toBe(true);
    // The from-scratch name (g_strcmp0 puts NULL first) is inserted first: the order is that of [to, from-to].
    const [first] = ghashOrder([to, `${from}-${to}`]);
    const fromTo = a.indexOf(Buffer.from(`${from}-${to}`));
    const scratch = a.indexOf(Buffer.concat([Buffer.from(to), Buffer.from([0])]));
    expect(first === to ? scratch < fromTo : fromTo < scratch).toBe(true);
    rmSync(repo, { recursive: true, force: true });
  });
});
