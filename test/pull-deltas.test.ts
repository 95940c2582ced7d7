// Pull by static delta (FORMATS.md §7.4, §8): deltas the real ostree
// generated, served over HTTP by our server, pulled by our CLI; the repo
// must then pass `ostree fsck` and check out to the source tree, and our
// choices, output and errors must be ostree's (compared by running both).
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { appendFileSync, existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { SKIP_INTEROP, tmpdir, cleanupTmp, ostree, ours, ok, makeTree, describeTree } from './helpers/interop';
import { oursA, ostreeA, initClient, objectSet } from './helpers/pull';
import { serveRepo, type RepoServer } from '../lib/httpd';
import { deltaRelDir } from '../lib/deltas/superblock';
import { generateKeyPair } from '../lib/sign/ed25519';

const SUITE = SKIP_INTEROP ? describe.skip : describe;

SUITE('pull by static delta', () => {
  let dir: string;
  let srv: string;
  let server: RepoServer;
  let v1: string;
  let v2: string;
  let tree2: string;

  /** Requests the server answered since `mark`, as "STATUS PATH". */
  const since = (mark: number) => server.requests.slice(mark).map((r) => `${r.status} ${r.path}`);

  beforeAll(async () => {
    dir = tmpdir();
    srv = path.join(dir, 'srv');
    ok(ostree([`--repo=${srv}`, 'init', '--mode=archive']));
    const tree = path.join(dir, 'tree');
    makeTree(tree, 1);
    v1 = ok(ostree([`--repo=${srv}`, 'commit', '-b', 'main', '-s', 'v1', '--tree=dir=' + tree])).trim();
    // v2: a modified large file (rollsum/bsdiff material), an added and a removed file.
    appendFileSync(path.join(tree, 'big.bin'), 'tail of v2\n');
    writeFileSync(path.join(tree, 'added'), 'added in v2\n');
    renameSync(path.join(tree, 'run.sh'), path.join(tree, 'run2.sh'));
    v2 = ok(ostree([`--repo=${srv}`, 'commit', '-b', 'main', '-s', 'v2', '--tree=dir=' + tree])).trim();
    tree2 = tree;
    ok(ostree([`--repo=${srv}`, 'static-delta', 'generate', 'main']));
    ok(ostree([`--repo=${srv}`, 'static-delta', 'generate', '--empty', 'main']));
    ok(ostree([`--repo=${srv}`, 'summary', '-u']));
    server = await serveRepo(srv);
  }, 120_000);

  afterAll(async () => {
    await server?.close();
    cleanupTmp();
  });

  const client = (name: string, mode = 'bare-user') => initClient(dir, name, server.url, { noGpg: true, mode });

  const checkRepo = (repo: string, rev: string) => {
    ok(ostree([`--repo=${repo}`, 'fsck']), 'ostree fsck');
    const co = path.join(dir, `co-${path.basename(repo)}-${Math.random().toString(36).slice(2)}`);
    ok(ostree([`--repo=${repo}`, 'checkout', '-U', rev, co]));
    expect(describeTree(co)).toBe(describeTree(tree2));
  };

  it('from→to: only the superblock and the part travel, and the result is the new tree', async () => {
    const repo = client('fromto');
    ok(await oursA([`--repo=${repo}`, 'pull', 'origin', `main@${v1}`]));
    expect(ok(ostree([`--repo=${repo}`, 'rev-parse', 'origin:main'])).trim()).toBe(v1);
    const mark = server.requests.length;
    const out = ok(await oursA([`--repo=${repo}`, 'pull', '--require-static-deltas', 'origin', 'main']));
    expect(out).toMatch(/^1 delta parts, \d+ loose fetched; /);
    const got = since(mark);
    expect(got.some((l) => l.startsWith('200 /deltas/') && l.endsWith('/superblock'))).toBe(true);
    expect(got.filter((l) => /^200 \/deltas\/.*\/0$/.test(l))).toHaveLength(1);
    // The modified big file came inside the part, not as a loose object.
    expect(got.filter((l) => l.endsWith('.filez'))).toEqual([]);
    expect(ok(ostree([`--repo=${repo}`, 'rev-parse', 'origin:main'])).trim()).toBe(v2);
    expect(existsSync(path.join(repo, 'state', `${v2}.commitpartial`))).toBe(false);
    checkRepo(repo, 'origin:main');
  });

  it('a fresh repo takes the from-scratch delta, as ostree does', async () => {
    const ours = client('scratch-ours');
    const theirs = client('scratch-theirs');
    const mark = server.requests.length;
    ok(await oursA([`--repo=${ours}`, 'pull', 'origin', 'main']));
    const got = since(mark);
    expect(got.some((l) => /^200 \/deltas\/[^-]+\/superblock$/.test(l))).toBe(true);
    expect(got.filter((l) => l.endsWith('.filez'))).toEqual([]);
    ok(await ostreeA([`--repo=${theirs}`, 'pull', 'origin', 'main']));
    expect(objectSet(ours)).toEqual(objectSet(theirs));
    checkRepo(ours, 'origin:main');
  });

  it('--dry-run prints the same delta report as ostree, and writes nothing', async () => {
    const a = client('dry-ours');
    const b = client('dry-theirs');
    for (const r of [a, b]) ok(await ostreeA([`--repo=${r}`, 'pull', 'origin', `main@${v1}`]));
    const ours = ok(await oursA([`--repo=${a}`, 'pull', '--dry-run', '--require-static-deltas', 'origin', 'main']));
    const theirs = ok(await ostreeA([`--repo=${b}`, 'pull', '--dry-run', '--require-static-deltas', 'origin', 'main']));
    expect(ours).toMatch(/^Delta update: 0\/1 parts, 0\sbytes\/\S+\s\S+, \S+\s\S+ total uncompressed$/u);
    expect(ours).toBe(theirs);
    expect(ok(ostree([`--repo=${a}`, 'rev-parse', 'origin:main'])).trim()).toBe(v1);
  });

  it('--disable-static-deltas fetches objects; a no-op --require-static-deltas pull fetches no commit', async () => {
    const repo = client('disabled');
    ok(await oursA([`--repo=${repo}`, 'pull', 'origin', `main@${v1}`]));
    let mark = server.requests.length;
    ok(await oursA([`--repo=${repo}`, 'pull', '--disable-static-deltas', 'origin', 'main']));
    expect(since(mark).filter((l) => l.includes('/deltas/'))).toEqual([]);
    checkRepo(repo, 'origin:main');
    mark = server.requests.length;
    const out = ok(await oursA([`--repo=${repo}`, 'pull', '--require-static-deltas', 'origin', 'main']));
    expect(since(mark).filter((l) => l.includes('.commit'))).toEqual([]);
    expect(out).toMatch(/^\d+ metadata, 0 content objects fetched/);
  });

  it('fails as ostree fails: deltas required but absent, or into an archive repo', async () => {
    // No delta leads to v1: both tools refuse, with the same message.
    for (const [run, name] of [[oursA, 'req-ours'], [ostreeA, 'req-theirs']] as const) {
      const repo = client(name);
      const r = await run([`--repo=${repo}`, 'pull', '--require-static-deltas', 'origin', v1]);
      expect(r.status).not.toBe(0);
      expect(r.stderr).toContain(`Static deltas required, but none found for  to ${v1}`);
    }
    const errs: string[] = [];
    for (const [run, name] of [[oursA, 'arch-ours'], [ostreeA, 'arch-theirs']] as const) {
      const repo = client(name, 'archive');
      const r = await run([`--repo=${repo}`, 'pull', '--require-static-deltas', 'origin', 'main']);
      expect(r.status).toBe(1);
      errs.push(r.stderr);
    }
    expect(errs[0]).toBe(errs[1]);
    expect(errs[0]).toContain("Can't use static deltas in an archive repo");
  });

  it('pull-local --require-static-deltas pulls the source by URL through its deltas, as ostree', async () => {
    const repo = client('pull-local');
    const out = ok(await oursA([`--repo=${repo}`, 'pull-local', '--require-static-deltas', srv, 'main']));
    expect(out).toMatch(/^1 delta parts, \d+ loose fetched; /);
    expect(ok(ostree([`--repo=${repo}`, 'rev-parse', 'main'])).trim()).toBe(v2);
    checkRepo(repo, 'main');
    for (const run of [oursA, ostreeA]) {
      const r = await run([`--repo=${client('pull-local-none-' + (run === oursA ? 'ours' : 'theirs'))}`, 'pull-local', '--require-static-deltas', srv, v1]);
      expect(r.status).toBe(1);
      expect(r.stderr).toContain(`Static deltas required, but none found for  to ${v1}`);
    }
  });

  it('a damaged part is refused, no ref moves and the repo stays clean', async () => {
    const repo = client('corrupt');
    ok(await oursA([`--repo=${repo}`, 'pull', 'origin', `main@${v1}`]));
    const partFile = path.join(srv, deltaRelDir(v1, v2), '0');
    const good = readFileSync(partFile);
    const bad = Buffer.from(good);
    bad[bad.length >> 1] ^= 0xff;
    writeFileSync(partFile, bad);
    try {
      const r = await oursA([`--repo=${repo}`, 'pull', '--require-static-deltas', 'origin', 'main']);
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(/checksum/i);
    } finally {
      writeFileSync(partFile, good);
    }
    expect(ok(ostree([`--repo=${repo}`, 'rev-parse', 'origin:main'])).trim()).toBe(v1);
    ok(ostree([`--repo=${repo}`, 'fsck']), 'ostree fsck after a refused part');
    // Once the part is whole again the pull completes.
    ok(await oursA([`--repo=${repo}`, 'pull', '--require-static-deltas', 'origin', 'main']));
    checkRepo(repo, 'origin:main');
  });
});

SUITE('pull by static delta: parts, fallbacks, byte order, file://, resuming', () => {
  let dir: string;
  let srv: string;
  let server: RepoServer;
  let tree: string;
  const revs: Record<string, string> = {};

  beforeAll(async () => {
    dir = tmpdir();
    srv = path.join(dir, 'srv');
    ok(ostree([`--repo=${srv}`, 'init', '--mode=archive']));
    tree = path.join(dir, 'tree');
    makeTree(tree, 1);
    // Two incompressible files above 1 MiB: --max-chunk-size=1 gives them parts of their own.
    const noise = (n: number, seed: number) => {
      const b = Buffer.alloc(n);
      let x = seed;
      for (let i = 0; i < n; i++) {
        x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
        b[i] = x >>> 24;
      }
      return b;
    };
    writeFileSync(path.join(tree, 'large1'), noise(1_500_000, 1));
    writeFileSync(path.join(tree, 'large2'), noise(1_200_000, 2));
    for (const [branch, flags] of [
      ['parts', ['--max-chunk-size=1']],
      ['fallback', ['--min-fallback-size=1']],
      ['swapped', ['--swap-endianness']],
    ] as const) {
      revs[branch] = ok(ostree([`--repo=${srv}`, 'commit', '-b', branch, '-s', branch, '--tree=dir=' + tree])).trim();
      ok(ostree([`--repo=${srv}`, 'static-delta', 'generate', '--empty', ...flags, branch]));
    }
    // Signed: the commit by both keys, the delta's superblock by `deltaKey` only.
    // Debian's ostree has no ed25519 (no sign-ed25519 feature): ours signs.
    revs.signed = ok(
      ours([`--repo=${srv}`, 'commit', '-b', 'signed', '-s', 'signed', '--sign-type=ed25519', `--sign=${deltaKey.secretKey}`, `--sign=${otherKey.secretKey}`, '--tree=dir=' + tree]),
    ).trim();
    ok(ours([`--repo=${srv}`, 'static-delta', 'generate', '--empty', '--sign-type=ed25519', `--sign=${deltaKey.secretKey}`, 'signed']));
    ok(ostree([`--repo=${srv}`, 'summary', '-u']));
    server = await serveRepo(srv);
  }, 120_000);

  afterAll(async () => {
    await server?.close();
    cleanupTmp();
  });

  const deltaKey = generateKeyPair();
  const otherKey = generateKeyPair();

  const check = (repo: string, rev: string) => {
    ok(ostree([`--repo=${repo}`, 'fsck']), 'ostree fsck');
    const co = path.join(dir, `co-${Math.random().toString(36).slice(2)}`);
    ok(ostree([`--repo=${repo}`, 'checkout', '-U', rev, co]));
    expect(describeTree(co)).toBe(describeTree(tree));
  };
  const partPaths = (from: number, to?: number) =>
    server.requests
      .slice(from, to)
      .filter((r) => /\/deltas\/.*\/\d+$/.test(r.path))
      .map((r) => `${r.status} ${r.path.replace(/.*\//, '')}`);

  it('an interrupted pull resumes without fetching the parts it already applied', async () => {
    const repo = initClient(dir, 'resume', server.url, { noGpg: true });
    const part3 = path.join(srv, deltaRelDir(null, revs.parts), '3');
    renameSync(part3, part3 + '.away');
    const first = server.requests.length;
    let r;
    try {
      r = await oursA([`--repo=${repo}`, 'pull', 'origin', 'parts']);
    } finally {
      renameSync(part3 + '.away', part3);
    }
    expect(r.status).toBe(1);
    const firstParts = partPaths(first);
    expect(firstParts).toContain('404 3');
    expect(existsSync(path.join(repo, 'state', `${revs.parts}.commitpartial`))).toBe(true);
    ok(ostree([`--repo=${repo}`, 'fsck']), 'fsck of the partial repo');
    const applied = firstParts.filter((l) => l.startsWith('200 ')).map((l) => l.slice(4));
    expect(applied.length).toBeGreaterThan(0);

    const second = server.requests.length;
    const out = ok(await oursA([`--repo=${repo}`, 'pull', 'origin', 'parts']));
    expect(out).toMatch(/^5 delta parts, /);
    const refetched = partPaths(second).map((l) => l.slice(4));
    expect(refetched).toContain('3');
    for (const p of applied) expect(refetched).not.toContain(p);
    expect(existsSync(path.join(repo, 'state', `${revs.parts}.commitpartial`))).toBe(false);
    check(repo, 'origin:parts');
  });

  it('fallback objects arrive loose, and the library reports delta progress honestly', async () => {
    const { Repo } = await import('../lib/repo/repo');
    const { pull } = await import('../lib/pull/pull');
    const repo = initClient(dir, 'fallback', server.url, { noGpg: true });
    const mark = server.requests.length;
    const seen: Array<{ parts: number; total: number; fallbacks: number; bytes: number; bytesTotal: number }> = [];
    const res = await pull(await Repo.open(repo), {
      remote: 'origin',
      refs: ['fallback'],
      requireStaticDeltas: true,
      updateFrequency: 0,
      onProgress: (p) => seen.push({ parts: p.deltaPartsFetched, total: p.deltaPartsTotal, fallbacks: p.deltaFallbacksTotal, bytes: p.deltaBytesFetched, bytesTotal: p.deltaBytesTotal }),
    });
    const filez = server.requests.slice(mark).filter((r) => r.path.endsWith('.filez'));
    expect(filez).toHaveLength(2);
    expect(res.deltaFallbacksTotal).toBe(2);
    expect(res.deltaPartsFetched).toBe(res.deltaPartsTotal);
    const last = seen[seen.length - 1];
    expect(last.total).toBe(res.deltaPartsTotal);
    expect(last.fallbacks).toBe(2);
    // Totals are known before the first part arrives and never move; what is done only grows.
    const withTotals = seen.filter((s) => s.total > 0);
    expect(new Set(withTotals.map((s) => s.bytesTotal)).size).toBe(1);
    for (let i = 1; i < withTotals.length; i++) expect(withTotals[i].parts).toBeGreaterThanOrEqual(withTotals[i - 1].parts);
    check(repo, 'origin:fallback');
  });

  it('a byte-swapped delta applies like a native one', async () => {
    const repo = initClient(dir, 'swapped', server.url, { noGpg: true });
    const out = ok(await oursA([`--repo=${repo}`, 'pull', '--require-static-deltas', 'origin', 'swapped']));
    expect(out).toMatch(/^1 delta parts, /);
    check(repo, 'origin:swapped');
  });

  it('file:// with --require-static-deltas uses the deltas (as ostree: no local import then)', async () => {
    const repo = initClient(dir, 'file', 'file://' + srv, { noGpg: true });
    const out = ok(await oursA([`--repo=${repo}`, 'pull', '--require-static-deltas', 'origin', 'parts']));
    expect(out).toMatch(/^5 delta parts, /);
    check(repo, 'origin:parts');
    // Without it, a file:// pull imports objects (ostree's default for local remotes).
    const plain = initClient(dir, 'file-plain', 'file://' + srv, { noGpg: true });
    expect(ok(await oursA([`--repo=${plain}`, 'pull', 'origin', 'parts']))).toMatch(/content objects imported/);
  });

  it('a signed superblock is checked with the remote\'s ed25519 keys', async () => {
    const good = initClient(dir, 'signed-good', server.url, { noGpg: true, set: ['sign-verify=true', `verification-ed25519-key=${deltaKey.publicKey}`] });
    expect(ok(await oursA([`--repo=${good}`, 'pull', '--require-static-deltas', 'origin', 'signed']))).toMatch(/^1 delta parts, /);
    check(good, 'origin:signed');
    // The commit verifies with the other key; the delta is not signed by it.
    const bad = initClient(dir, 'signed-bad', server.url, { noGpg: true, set: ['sign-verify=true', `verification-ed25519-key=${otherKey.publicKey}`] });
    const r = await oursA([`--repo=${bad}`, 'pull', '--require-static-deltas', 'origin', 'signed']);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^error: Static delta \S+: /);
    expect(existsSync(path.join(bad, 'objects'))).toBe(true);
    expect(ostree([`--repo=${bad}`, 'rev-parse', 'origin:signed']).status).not.toBe(0);
  });
});
