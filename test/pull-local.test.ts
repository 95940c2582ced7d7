// pull-local against the real ostree, across repo modes: ostree pulls from
// our repos and we pull from ostree's; both fscks pass and refs agree.
import { describe, it, expect, afterAll } from 'vitest';
import { readdirSync, readFileSync, writeFileSync, existsSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { SKIP_INTEROP, IS_ROOT, tmpdir, cleanupTmp, ostree, ours, ok, makeTree } from './helpers/interop';
import { Repo } from '../lib/repo/repo';
import { pullLocal } from '../lib/pull-local';
import { fsck } from '../lib/fsck';
import { resolveRev } from '../lib/refs/refs';
import { ObjectType } from '../lib/objects/formats';

afterAll(cleanupTmp);

function objectSet(repo: string): string[] {
  const out: string[] = [];
  const root = path.join(repo, 'objects');
  for (const pre of readdirSync(root).sort()) for (const n of readdirSync(path.join(root, pre)).sort()) out.push(`${pre}/${n}`);
  return out;
}

function stateFiles(repo: string): string[] {
  return existsSync(path.join(repo, 'state')) ? readdirSync(path.join(repo, 'state')).sort() : [];
}

/** A source repo with main = v1 then v2 (parent v1), made by `by`. */
function source(mode: string, by: 'ostree' | 'ours', canonical = false): { repo: string; c1: string; c2: string } {
  const d = tmpdir();
  makeTree(path.join(d, 't1'), 1);
  makeTree(path.join(d, 't2'), 2);
  const repo = path.join(d, `src-${mode}`);
  const run = by === 'ostree' ? ostree : ours;
  ok(run(['init', `--repo=${repo}`, `--mode=${mode}`]));
  // Content meant for bare-user-only repos must be canonical (no owners, xattrs).
  const extra = canonical ? ['--canonical-permissions'] : [];
  const c1 = ok(run(['commit', `--repo=${repo}`, '-b', 'main', '-s', 'one', ...extra, '--timestamp=@1600000000', path.join(d, 't1')]));
  const c2 = ok(run(['commit', `--repo=${repo}`, '-b', 'main', '-s', 'two', ...extra, '--timestamp=@1600086400', path.join(d, 't2')]));
  return { repo, c1, c2 };
}

function emptyRepo(mode: string): string {
  const repo = path.join(tmpdir(), `dest-${mode}`);
  ok(ostree(['init', `--repo=${repo}`, `--mode=${mode}`]));
  return repo;
}

function bothFsckPass(repo: string): void {
  ok(ostree(['fsck', `--repo=${repo}`]), `ostree fsck ${repo}`);
  ok(ours(['fsck', `--repo=${repo}`]), `our fsck ${repo}`);
}

const PAIRS: Array<[string, string]> = [
  ['archive', 'bare-user'],
  ['bare-user', 'archive'],
  ['archive', 'archive'],
  ['bare-user', 'bare-user'],
  ['bare-user-only', 'archive'],
  ['archive', 'bare-user-only'],
  ...(IS_ROOT ? ([['bare-user', 'bare'], ['bare', 'archive']] as Array<[string, string]>) : []),
];

describe.skipIf(SKIP_INTEROP)('pull-local', () => {
  for (const [from, to] of PAIRS) {
    it(`ours pulls ${from} -> ${to} from an ostree repo like ostree does`, () => {
      const { repo: src, c2 } = source(from, 'ostree', to === 'bare-user-only');
      const a = emptyRepo(to);
      const b = emptyRepo(to);
      const theirs = ostree(['pull-local', `--repo=${a}`, src, 'main']);
      const mine = ours(['pull-local', `--repo=${b}`, src, 'main']);
      expect(mine.status).toBe(0);
      expect(mine.stdout).toBe(theirs.stdout);
      expect(mine.stdout).toMatch(/^\d+ metadata, \d+ content objects imported; .+ content written\n$/);
      expect(objectSet(b)).toEqual(objectSet(a));
      expect(stateFiles(b)).toEqual([]);
      expect(ok(ostree(['rev-parse', `--repo=${b}`, 'main']))).toBe(c2);
      bothFsckPass(b);
    });

    it(`ostree pulls ${from} -> ${to} from our repo`, () => {
      const { repo: src, c1, c2 } = source(from, 'ours', to === 'bare-user-only');
      const dest = emptyRepo(to);
      ok(ostree(['pull-local', '--depth=-1', `--repo=${dest}`, src]), 'ostree pull-local from ours');
      expect(ok(ostree(['rev-parse', `--repo=${dest}`, 'main']))).toBe(c2);
      expect(ok(ostree(['rev-parse', `--repo=${dest}`, 'main^']))).toBe(c1);
      bothFsckPass(dest);
    });
  }

  it('metadata objects are hardlinked from the source across modes (content too in the same mode, also --untrusted), as ostree', () => {
    const { repo: src, c2 } = source('bare-user', 'ostree');
    const rel = `objects/${c2.slice(0, 2)}/${c2.slice(2)}.commit`;
    for (const [to, flags] of [['archive', []], ['bare-user', ['--untrusted']]] as Array<[string, string[]]>) {
      const a = emptyRepo(to);
      const b = emptyRepo(to);
      ok(ostree(['pull-local', `--repo=${a}`, ...flags, src, 'main']));
      ok(ours(['pull-local', `--repo=${b}`, ...flags, src, 'main']));
      // Same sharing as ostree's: the commit object is the source's inode in both.
      expect(statSync(path.join(b, rel)).ino).toBe(statSync(path.join(src, rel)).ino);
      const shared = (r: string) => objectSet(r).filter((o) => statSync(path.join(r, 'objects', o)).nlink > 1);
      expect(shared(b)).toEqual(shared(a));
    }
  });

  it('--depth=-1, --remote, --untrusted match ostree', () => {
    const { repo: src, c1, c2 } = source('bare-user', 'ostree');
    for (const flags of [['--depth=-1'], ['--remote=origin'], ['--untrusted', '--depth=1']]) {
      const a = emptyRepo('archive');
      const b = emptyRepo('archive');
      const theirs = ostree(['pull-local', `--repo=${a}`, ...flags, src]);
      const mine = ours(['pull-local', `--repo=${b}`, ...flags, src]);
      expect(mine.stdout).toBe(theirs.stdout);
      expect(objectSet(b)).toEqual(objectSet(a));
      expect(ok(ostree(['refs', `--repo=${b}`]))).toBe(ok(ostree(['refs', `--repo=${a}`])));
      bothFsckPass(b);
    }
    void c1;
    void c2;
  });

  it('--commit-metadata-only leaves the commit partial; a later full pull completes it', () => {
    const { repo: src, c2 } = source('archive', 'ostree');
    const a = emptyRepo('bare-user');
    const b = emptyRepo('bare-user');
    const t1 = ostree(['pull-local', '--commit-metadata-only', `--repo=${a}`, src]);
    const m1 = ours(['pull-local', '--commit-metadata-only', `--repo=${b}`, src]);
    expect(m1.stdout).toBe(t1.stdout);
    expect(stateFiles(b)).toEqual([`${c2}.commitpartial`]);
    expect(objectSet(b)).toEqual(objectSet(a));
    const t2 = ostree(['pull-local', `--repo=${a}`, src]);
    const m2 = ours(['pull-local', `--repo=${b}`, src]);
    expect(m2.stdout).toBe(t2.stdout);
    expect(stateFiles(b)).toEqual([]);
    expect(objectSet(b)).toEqual(objectSet(a));
    bothFsckPass(b);
  });

  it('API: copies detached metadata, reports counts, is idempotent', async () => {
    const { repo: src, c2 } = source('archive', 'ostree');
    // Detached metadata on the source commit.
    const meta = path.join(src, 'objects', c2.slice(0, 2), `${c2.slice(2)}.commitmeta`);
    writeFileSync(meta, Buffer.alloc(0));
    const dest = await Repo.create(path.join(tmpdir(), 'api'), { mode: 'bare-user' });
    const events: string[] = [];
    const r = await pullLocal(dest, { source: src, refs: ['main'], onProgress: (p) => events.push(p.phase) });
    expect(r.refs).toEqual({ main: c2 });
    expect(r.commits).toEqual([c2]);
    expect(r.metadataImported).toBeGreaterThan(3);
    expect(r.contentImported).toBeGreaterThan(5);
    expect(r.contentBytesWritten).toBeGreaterThan(300 * 1024);
    expect(events).toContain('content');
    expect(existsSync(dest.objectPath(c2, ObjectType.CommitMeta))).toBe(true);
    expect(await resolveRev(dest, 'main')).toBe(c2);
    expect((await fsck(dest)).ok).toBe(true);
    const again = await pullLocal(dest, { source: src, refs: ['main'] });
    expect(again).toMatchObject({ metadataImported: 0, contentImported: 0, contentBytesWritten: 0 });
  });

  it('--untrusted rejects a corrupted source object and moves no ref', async () => {
    const { repo: src, c2 } = source('archive', 'ostree');
    const line = ok(ostree(['ls', `--repo=${src}`, '-C', c2, '/hello.txt']));
    const csum = line.split(/\s+/)[4];
    const file = path.join(src, 'objects', csum.slice(0, 2), `${csum.slice(2)}.filez`);
    // Same length, different payload: the stream inflates but to other bytes.
    const b = readFileSync(file);
    const st = statSync(file);
    const hdrLen = b.readUInt32BE(0) + 8;
    const payload = Buffer.from('Hello, OSTreX! (v2)\n'); // same length as v2's hello.txt
    const zlib = await import('node:zlib');
    const body = zlib.deflateRawSync(payload);
    writeFileSync(file, Buffer.concat([b.subarray(0, hdrLen), body]));
    expect(statSync(file).size).toBeLessThanOrEqual(st.size + 4);
    const dest = emptyRepo('archive');
    const mine = ours(['pull-local', '--untrusted', `--repo=${dest}`, src]);
    expect(mine.status).toBe(1);
    expect(mine.stderr).toContain(`Corrupted file object; checksum expected='${csum}'`);
    expect(existsSync(path.join(dest, 'refs/heads/main'))).toBe(false);
    // Cross-mode copies are always re-checksummed.
    const bu = await Repo.create(path.join(tmpdir(), 'bu'), { mode: 'bare-user' });
    await expect(pullLocal(bu, { source: src, refs: ['main'] })).rejects.toMatchObject({ code: 'OSTREE_CORRUPT_OBJECT' });
  });

  it('errors like ostree: unknown ref, missing source repo, no source', () => {
    const { repo: src } = source('archive', 'ostree');
    const dest = emptyRepo('archive');
    for (const args of [[src, 'nosuch'], [path.join(src, 'nonexistent')], [], ['--gpg-verify', src]]) {
      const t = ostree(['pull-local', `--repo=${dest}`, ...args]);
      const m = ours(['pull-local', `--repo=${dest}`, ...args]);
      expect(m.status).toBe(t.status);
      expect(m.stderr.split('\n').filter((l) => l.startsWith('error:'))).toEqual(t.stderr.split('\n').filter((l) => l.startsWith('error:')));
    }
  });
});
