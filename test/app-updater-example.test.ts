// examples/electron-updater.js end to end, as a user would run it (plain
// Node, a child process) against a scratch update server: an archive repo
// served by serveRepo on 127.0.0.1. First install, "up to date", an update
// by static delta, an update whose health check fails (rolled back), one
// whose health check hangs (killed at the timeout, rolled back); a rejected
// commit is not deployed again.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { mkdirSync, writeFileSync, readlinkSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { Repo, commit, generateSummary, generateDelta, serveRepo, type RepoServer } from '../lib/index';
import { tmpdir, cleanupTmp, ostree, ok, describeTree, SKIP_INTEROP, ROOT } from './helpers/interop';
import { runAsync } from './helpers/pull';

const UPDATER = path.join(ROOT, 'examples', 'electron-updater.js');

describe.skipIf(SKIP_INTEROP)('examples/electron-updater.js', () => {
  let base: string;
  let server: RepoServer;
  let srv: Repo;
  let inst: string;
  const commits: string[] = [];

  beforeAll(async () => {
    base = tmpdir('updater-');
    srv = await Repo.create(path.join(base, 'srv'), { mode: 'archive' });
    server = await serveRepo(srv.path);
    inst = path.join(base, 'install');
  });
  afterAll(async () => {
    await server?.close();
    cleanupTmp();
  });

  /** Publish version `v` of the app (optionally with a health-check.js exiting `health`), a delta from the previous one, the summary. */
  async function publish(v: number, health?: number): Promise<string> {
    const t = path.join(base, `app-v${v}`);
    mkdirSync(path.join(t, 'config'), { recursive: true });
    mkdirSync(path.join(t, 'lib'), { recursive: true });
    for (let i = 0; i < 50; i++) writeFileSync(path.join(t, 'lib', `m${i}.js`), `module.exports = ${i % 10 === 0 ? v : 0} + ${i};\n`.repeat(20));
    writeFileSync(path.join(t, 'main.js'), `console.log('app v${v}');\n`);
    writeFileSync(path.join(t, 'config', 'settings.json'), '{"theme": "light"}\n');
    if (health !== undefined) writeFileSync(path.join(t, 'health-check.js'), `process.exit(${health});\n`);
    const c = (await commit(srv, { branch: 'myapp/stable', trees: [{ dir: t }], subject: `v${v}`, metadata: [['version', { type: 's', value: `${v}.0` }]] })).checksum;
    if (commits.length) await generateDelta(srv, { from: commits[commits.length - 1], to: c });
    commits.push(c);
    await generateSummary(srv);
    return c;
  }

  async function update(extra: string[] = []) {
    const r = await runAsync(process.execPath, [UPDATER, '--install', inst, '--url', server.url, '--ref', 'myapp/stable', '--no-gpg-verify', '--merge-dir', 'config', ...extra]);
    const last = r.stdout.trim().split('\n').pop() ?? '';
    return { status: r.status, stderr: r.stderr, result: last.startsWith('{') ? JSON.parse(last) : null };
  }

  function currentCommit(): string {
    return path.basename(readlinkSync(path.join(inst, 'current'))).split('.')[0];
  }

  function sameAsOstree(c: string): void {
    const out = path.join(base, `co-${c.slice(0, 8)}-${Math.random().toString(36).slice(2)}`);
    ok(ostree([`--repo=${srv.path}`, 'checkout', '-U', c, out]));
    const strip = (s: string) => s.split('\n').filter((l) => !l.includes('./config')).join('\n');
    expect(strip(describeTree(path.join(inst, 'current') + '/'))).toBe(strip(describeTree(out)));
  }

  it('installs, sees no update, updates by delta, and rolls back unhealthy or hanging versions', async () => {
    const c1 = await publish(1);
    let r = await update();
    expect(r.status, r.stderr).toBe(0);
    expect(r.result).toMatchObject({ status: 'updated', from: null, to: c1 });
    expect(currentCommit()).toBe(c1);
    sameAsOstree(c1);
    // The user's settings, to be carried over.
    writeFileSync(path.join(inst, 'current', 'config', 'settings.json'), '{"theme": "dark"}\n');

    r = await update();
    expect(r.status, r.stderr).toBe(0);
    expect(r.result).toMatchObject({ status: 'up-to-date', to: c1 });

    const c2 = await publish(2, 0);
    r = await update();
    expect(r.status, r.stderr).toBe(0);
    expect(r.result).toMatchObject({ status: 'updated', from: c1, to: c2 });
    expect(r.result.pulled.deltaParts, 'pulled by the static delta').toBeGreaterThan(0);
    expect(currentCommit()).toBe(c2);
    sameAsOstree(c2);
    expect(readFileSync(path.join(inst, 'current', 'config', 'settings.json'), 'utf8')).toBe('{"theme": "dark"}\n');

    // v3's own health check fails: the updater rolls back to v2.
    const c3 = await publish(3, 1);
    r = await update();
    expect(r.status, r.stderr).toBe(2);
    expect(r.result).toMatchObject({ status: 'rolled-back', from: c2, to: c3 });
    expect(currentCommit()).toBe(c2);
    sameAsOstree(c2);

    // v3 is not tried again.
    r = await update();
    expect(r.status, r.stderr).toBe(0);
    expect(r.result).toMatchObject({ status: 'rejected', from: c2, to: c3 });
    expect(currentCommit()).toBe(c2);

    // A health check that hangs is killed at the timeout: rolled back too.
    const c4 = await publish(4);
    r = await update(['--health-cmd', 'sleep 20', '--health-timeout', '300']);
    expect(r.status, r.stderr).toBe(2);
    expect(r.result).toMatchObject({ status: 'rolled-back', from: c2, to: c4 });
    expect(currentCommit()).toBe(c2);

    // The repo stays valid for ostree.
    ok(ostree([`--repo=${path.join(inst, 'repo')}`, 'fsck']), 'ostree fsck');
  }, 60_000);
});
