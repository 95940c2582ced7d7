// Library API: coded errors, AbortSignal, progress, atomic refs, refusal of
// special files, and that a failed commit leaves no ref behind.
import { describe, it, expect, afterAll } from 'vitest';
import { mkdirSync, writeFileSync, existsSync, readdirSync } from 'node:fs';
import { spawnSync, fork } from 'node:child_process';
import * as path from 'node:path';
import { tmpdir, cleanupTmp, makeTree } from './helpers/interop';
import { Repo, OstreeError, commit, checkout, fsck, resolveRev, listRefs, setRef } from '../lib/index';
import * as api from '../lib/index';
import { KeyFile } from '../lib/repo/keyfile';

afterAll(cleanupTmp);

describe('Repo', () => {
  it('open of a missing repo is OSTREE_REPO_NOT_FOUND; create is idempotent per mode', async () => {
    const d = tmpdir();
    await expect(Repo.open(`${d}/nope`)).rejects.toMatchObject({ code: 'OSTREE_REPO_NOT_FOUND' });
    const r = await Repo.create(`${d}/r`, { mode: 'archive' });
    expect(r.mode).toBe('archive');
    expect((await Repo.create(`${d}/r`, { mode: 'archive' })).mode).toBe('archive');
    await expect(Repo.create(`${d}/r`, { mode: 'bare' })).rejects.toMatchObject({ code: 'OSTREE_EXISTS' });
    await expect(Repo.create(`${d}/c`, { collectionId: 'no-dots' })).rejects.toMatchObject({ code: 'OSTREE_INVALID_ARGUMENT' });
    writeFileSync(`${d}/r/config`, '[core]\nrepo_version=1\nmode=weird\n');
    await expect(Repo.open(`${d}/r`)).rejects.toMatchObject({ code: 'OSTREE_UNSUPPORTED_MODE' });
  });

  it('OstreeError serialises for IPC and keeps its cause', () => {
    const cause = new Error('inner');
    const e = new OstreeError('OSTREE_REF_NOT_FOUND', 'Refspec x not found', { cause, data: { ref: 'x' } });
    expect(JSON.parse(JSON.stringify(e))).toEqual({ name: 'OstreeError', code: 'OSTREE_REF_NOT_FOUND', message: 'Refspec x not found', data: { ref: 'x' } });
    expect(e.cause).toBe(cause);
    expect(e).toBeInstanceOf(Error);
  });
});

describe('commit / refs API', () => {
  it('commits with progress, resolves revs, lists refs, checks out a rev', async () => {
    const d = tmpdir();
    makeTree(`${d}/t`, 1);
    const repo = await Repo.create(`${d}/r`, { mode: 'bare-user' });
    const events: Array<{ phase: string; loaded: number; total: number | null; unit: string }> = [];
    const r1 = await commit(repo, { branch: 'a/b', trees: [{ dir: `${d}/t` }], subject: 's', onProgress: (p) => events.push(p) });
    expect(r1.checksum).toMatch(/^[0-9a-f]{64}$/);
    expect(events.length).toBeGreaterThan(0);
    const last = events[events.length - 1];
    expect(last.loaded).toBe(last.total);
    expect(events.every((e) => e.unit === 'files' && (e.total === null || e.total >= e.loaded))).toBe(true);
    for (let i = 1; i < events.length; i++) expect(events[i].loaded).toBeGreaterThanOrEqual(events[i - 1].loaded);
    const r2 = await commit(repo, { branch: 'a/b', trees: [{ dir: `${d}/t` }], subject: 'again' });
    expect(r2.stats.contentWritten).toBe(0);
    expect(await resolveRev(repo, 'a/b')).toBe(r2.checksum);
    expect(await resolveRev(repo, 'a/b^')).toBe(r1.checksum);
    expect(await resolveRev(repo, 'a/b~1')).toBe(r1.checksum);
    expect(await resolveRev(repo, r2.checksum.slice(0, 10))).toBe(r2.checksum);
    await expect(resolveRev(repo, 'a/b^^')).rejects.toMatchObject({ code: 'OSTREE_REF_NOT_FOUND' });
    expect(await resolveRev(repo, 'missing', { allowNoent: true })).toBeNull();
    await expect(resolveRev(repo, 'missing')).rejects.toMatchObject({ code: 'OSTREE_REF_NOT_FOUND' });
    await setRef(repo, 'origin:x/y', r1.checksum);
    expect((await listRefs(repo)).map((e) => e.name)).toEqual(['a/b', 'origin:x/y']);
    await expect(setRef(repo, 'bad ref', r1.checksum)).rejects.toMatchObject({ code: 'OSTREE_INVALID_REF' });
    await expect(setRef(repo, 'a', 'zz')).rejects.toMatchObject({ code: 'OSTREE_INVALID_CHECKSUM' });
    // A ref can't be both a file and a directory.
    await expect(setRef(repo, 'a/b/c', r1.checksum)).rejects.toMatchObject({ code: 'OSTREE_INVALID_REF' });
    const f = await fsck(repo);
    expect(f.ok).toBe(true);
    const co = await checkout(repo, 'a/b', `${d}/co`, { mode: 'user' });
    expect(co.linked).toBeGreaterThan(0);
  });

  it('an aborted commit rejects with OSTREE_ABORTED and moves no ref', async () => {
    const d = tmpdir();
    makeTree(`${d}/t`, 1);
    const repo = await Repo.create(`${d}/r`, { mode: 'archive' });
    const ac = new AbortController();
    ac.abort();
    await expect(commit(repo, { branch: 'x', trees: [{ dir: `${d}/t` }], signal: ac.signal })).rejects.toMatchObject({ code: 'OSTREE_ABORTED' });
    expect(await resolveRev(repo, 'x', { allowNoent: true })).toBeNull();
    // Mid-way: abort from the progress callback.
    const ac2 = new AbortController();
    mkdirSync(`${d}/many`);
    for (let i = 0; i < 600; i++) writeFileSync(`${d}/many/f${i}`, `file ${i}\n`);
    await expect(
      commit(repo, { branch: 'x', trees: [{ dir: `${d}/many` }], signal: ac2.signal, onProgress: () => ac2.abort() }),
    ).rejects.toMatchObject({ code: 'OSTREE_ABORTED' });
    expect(await resolveRev(repo, 'x', { allowNoent: true })).toBeNull();
    expect((await fsck(repo)).ok).toBe(true);
    // The lock was released: a later commit works.
    await expect(commit(repo, { branch: 'x', trees: [{ dir: `${d}/many` }] })).resolves.toMatchObject({ changed: true });
  });

  it('device nodes, fifos and sockets are refused and nothing is committed', async () => {
    const d = tmpdir();
    mkdirSync(`${d}/t`);
    writeFileSync(`${d}/t/ok`, 'ok');
    expect(spawnSync('mkfifo', [`${d}/t/fifo`]).status).toBe(0);
    const repo = await Repo.create(`${d}/r`, { mode: 'archive' });
    await expect(commit(repo, { branch: 'x', trees: [{ dir: `${d}/t` }] })).rejects.toMatchObject({ code: 'OSTREE_UNSUPPORTED_FILE_TYPE' });
    expect(await resolveRev(repo, 'x', { allowNoent: true })).toBeNull();
    expect(existsSync(path.join(repo.path, 'refs', 'heads', 'x'))).toBe(false);
  });

  it('a commit needs a branch or orphan', async () => {
    const d = tmpdir();
    const repo = await Repo.create(`${d}/r`, { mode: 'archive' });
    await expect(commit(repo, { trees: [] })).rejects.toMatchObject({ code: 'OSTREE_INVALID_ARGUMENT' });
    const orphan = await commit(repo, { orphan: true, trees: [] });
    expect(await repo.hasObject(4, orphan.checksum)).toBe(true);
    expect(readdirSync(path.join(repo.path, 'refs', 'heads'))).toEqual([]);
  });
});

describe('the public API', () => {
  it('is one style of free functions and exports no internals', () => {
    const names = Object.keys(api).sort();
    for (const internal of ['native', 'MutableTree', 'writeCommit', 'createFetcher', 'NodeFetcher', 'parseSuperblock', 'markCommitPartial', 'serializeDirTree', 'KeyFile', 'Transaction']) {
      expect(names).not.toContain(internal);
    }
    for (const fn of ['commit', 'checkout', 'pull', 'pullLocal', 'fsck', 'prune', 'setRef', 'resolveRev', 'generateDelta', 'applyDelta', 'listDeltas', 'showDelta', 'withTransaction']) {
      expect(typeof (api as Record<string, unknown>)[fn]).toBe('function');
    }
    // Repo keeps the object store; operations are not methods as well.
    for (const m of ['commit', 'checkout', 'fsck', 'prune', 'pull', 'setRef', 'resolveRev', 'listRefs']) {
      expect((Repo.prototype as unknown as Record<string, unknown>)[m]).toBeUndefined();
    }
  });

  it('setRef takes the repo lock, as a transaction does', async () => {
    const d = tmpdir();
    makeTree(`${d}/t`, 1);
    const repo = await Repo.create(`${d}/r`, { mode: 'archive' });
    const c = await commit(repo, { branch: 'main', trees: [{ dir: `${d}/t` }] });
    // Another process holds the exclusive lock (as a prune would): setRef waits, then times out.
    const agent = fork(path.join(__dirname, 'helpers', 'lock-agent.js'), [repo.path]);
    const reply = (m: object) =>
      new Promise<{ ok: boolean }>((resolve) => {
        agent.once('message', (r: { ok: boolean }) => resolve(r));
        agent.send(m);
      });
    try {
      await new Promise((r) => agent.once('message', r)); // ready
      expect((await reply({ id: 1, cmd: 'push', type: 'exclusive' })).ok).toBe(true);
      await expect(setRef(repo, 'other', c.checksum, { timeout: 0.2 })).rejects.toMatchObject({ code: 'OSTREE_LOCKED' });
      expect(await resolveRev(repo, 'other', { allowNoent: true })).toBeNull();
      expect((await reply({ id: 2, cmd: 'pop', type: 'exclusive' })).ok).toBe(true);
      await setRef(repo, 'other', c.checksum);
      expect(await resolveRev(repo, 'other')).toBe(c.checksum);
    } finally {
      agent.kill();
    }
  });
});

describe('README', () => {
  it('documents every error code in its table', async () => {
    const readme = (await import('node:fs')).readFileSync(path.join(__dirname, '..', 'README.md'), 'utf8');
    const table = readme.slice(readme.indexOf('### Errors'));
    for (const code of api.ErrorCodes) expect(table).toContain('`' + code + '`');
  });
});

describe('KeyFile', () => {
  it('round-trips comments, groups and escapes, and edits in place', () => {
    const text = '# top\n[core]\nrepo_version=1\n# note\nmode=bare\n\n[remote "origin"]\nurl=http://x\nbranches=a;b;\n';
    const kf = KeyFile.parse(text);
    expect(kf.serialize()).toBe(text);
    expect(kf.getList('remote "origin"', 'branches')).toEqual(['a', 'b']);
    kf.set('core', 'foo', ' lead\ttab');
    expect(KeyFile.parse(kf.serialize()).get('core', 'foo')).toBe(' lead\ttab');
    expect(kf.remove('core', 'mode')).toBe(true);
    expect(kf.get('core', 'mode')).toBeUndefined();
    expect(() => KeyFile.parse('garbage line\n')).toThrow(OstreeError);
  });
});

describe('core.min-free-space-*', () => {
  it('content writes that would cross the reserve are refused (metadata is exempt) and no ref moves', async () => {
    const d = tmpdir();
    makeTree(`${d}/t`, 1);
    const repo = await Repo.create(`${d}/r`, { mode: 'archive' });
    // The filesystem is never 99% free, so nothing may be written.
    repo.config.set('core', 'min-free-space-percent', '99');
    await expect(commit(repo, { branch: 'x', trees: [{ dir: `${d}/t` }] })).rejects.toMatchObject({
      code: 'OSTREE_IO',
      message: expect.stringMatching(/^Writing content object: min-free-space-percent '99%' would be exceeded, at least .* requested$/),
    });
    expect(await resolveRev(repo, 'x', { allowNoent: true })).toBeNull();
    // An empty tree needs no content: allowed.
    mkdirSync(`${d}/empty`);
    await expect(commit(repo, { branch: 'empty', trees: [{ dir: `${d}/empty` }] })).resolves.toMatchObject({ changed: true });
    // min-free-space-size wins over the percentage when set.
    repo.config.set('core', 'min-free-space-size', '1MB');
    await expect(commit(repo, { branch: 'x', trees: [{ dir: `${d}/t` }] })).resolves.toMatchObject({ changed: true });
    repo.config.set('core', 'min-free-space-size', '1000000TB');
    await expect(commit(repo, { branch: 'y', trees: [{ dir: `${d}/t`, }] , subject: 'new' })).resolves.toBeTruthy();
    makeTree(`${d}/t2`, 2);
    await expect(commit(repo, { branch: 'y', trees: [{ dir: `${d}/t2` }] })).rejects.toMatchObject({
      code: 'OSTREE_IO',
      message: expect.stringContaining('min-free-space-size 1048576000000MB would be exceeded'),
    });
    repo.config.set('core', 'min-free-space-size', '12XB');
    await expect(commit(repo, { branch: 'z', trees: [{ dir: `${d}/t` }] })).rejects.toMatchObject({ code: 'OSTREE_CONFIG' });
  });
});
