// The sysroot core and `ostree admin` against the real ostree 2022.7: the
// same deploys give byte-identical layouts, BLS entries and origins; each
// tool reads the other's sysroot; a mixed sequence ends in a sysroot both
// `ostree admin status` and `ostree fsck` accept; failed or aborted deploys
// leave the previous boot configuration as it was; the sysroot lock is
// ostree's.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { mkdirSync, writeFileSync, symlinkSync, readFileSync, readdirSync, existsSync, lstatSync, readlinkSync, rmSync } from 'node:fs';
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { ostree, ours, ok, tmpdir, cleanupTmp, SKIP_INTEROP, RunResult } from './helpers/interop';
import { Sysroot } from '../lib/sysroot/sysroot';
import { deploy } from '../lib/sysroot/deploy';
import { OstreeError } from '../lib/errors';

const BRANCH = 'testos/buildmain/x86_64-runtime';
// No immutable bit, so the temp dirs can be removed; both tools honour it.
const DEBUG = { OSTREE_SYSROOT_DEBUG: 'mutable-deployments' };

function w(p: string, data: string): void {
  mkdirSync(path.dirname(p), { recursive: true });
  writeFileSync(p, data);
}

/** An OS tree as libtest.sh's setup_os_repository makes it, committed twice (fixed timestamps) to an archive repo. */
function makeOsRepo(dir: string): { repo: string; osdata: string; commits: string[] } {
  const osdata = path.join(dir, 'osdata');
  const repo = path.join(dir, 'testos-repo');
  w(path.join(osdata, 'usr/lib/modules/3.6.0/vmlinuz'), 'a kernel\n');
  w(path.join(osdata, 'usr/lib/modules/3.6.0/initramfs.img'), 'an initramfs\n');
  w(path.join(osdata, 'usr/lib/modules/3.6.0/.vmlinuz.hmac'), 'an hmac file\n');
  w(path.join(osdata, 'usr/bin/sh'), 'an executable\n');
  w(path.join(osdata, 'usr/lib/libfoo.so.0'), 'a library\n');
  w(path.join(osdata, 'usr/etc/os-release'), 'NAME=TestOS\nVERSION=42\nID=testos\nVERSION_ID=42\nPRETTY_NAME="TestOS 42"\n');
  w(path.join(osdata, 'usr/etc/aconfigfile'), 'a config file\n');
  w(path.join(osdata, 'usr/etc/NetworkManager/nm.conf'), 'a default daemon file\n');
  symlinkSync('usr/bin', path.join(osdata, 'bin'));
  ok(ostree([`--repo=${repo}`, 'init', '--mode=archive']));
  const commits: string[] = [];
  const commit = (version: string, ts: string) =>
    commits.push(ok(ostree([`--repo=${repo}`, 'commit', '--bootable', `--add-metadata-string=version=${version}`, `--timestamp=${ts}`, '-b', BRANCH, '-s', 'Build', osdata])));
  commit('1.0.9', '2020-01-01');
  w(path.join(osdata, 'usr/bin/sh'), 'a new executable\n');
  commit('1.0.10', '2020-01-02');
  // A third commit with a new kernel (a new bootcsum).
  w(path.join(osdata, 'usr/lib/modules/3.6.0/vmlinuz'), 'a new kernel\n');
  commit('1.0.11', '2020-01-03');
  return { repo, osdata, commits };
}

type Tool = (args: string[], opts?: { cwd?: string; env?: NodeJS.ProcessEnv }) => RunResult;

/** A sysroot made with `tool`: init-fs, os-init, pull-local of the branch (remote `testos`, as libtest's tests do). */
function makeSysroot(dir: string, tool: Tool, repo: string): { sysroot: string; env: NodeJS.ProcessEnv } {
  const sysroot = path.join(dir, 'sysroot');
  mkdirSync(sysroot);
  const env = { ...DEBUG, OSTREE_SYSROOT: sysroot };
  ok(tool(['admin', 'init-fs', sysroot], { env }), 'init-fs');
  ok(tool(['admin', 'os-init', 'testos'], { env }), 'os-init');
  ok(ostree([`--repo=${sysroot}/ostree/repo`, 'pull-local', '--remote=testos', repo, BRANCH]), 'pull-local');
  return { sysroot, env };
}

/** `find`-like listing: type+mode, path, link target; deployment trees and repo objects left out. */
function layout(root: string): string {
  const out: string[] = [];
  const walk = (rel: string) => {
    const p = path.join(root, rel);
    const st = lstatSync(p);
    const kind = st.isSymbolicLink() ? 'l' : st.isDirectory() ? 'd' : 'f';
    out.push(`${kind}${(st.mode & 0o7777).toString(8)} ${rel}${kind === 'l' ? ` -> ${readlinkSync(p)}` : ''}`);
    if (kind !== 'd') return;
    if (/^ostree\/deploy\/[^/]+\/deploy\/[^/]+$/.test(rel) || rel === 'ostree/repo/objects' || rel === 'ostree/repo/tmp') return;
    for (const n of readdirSync(p).sort()) walk(rel ? `${rel}/${n}` : n);
  };
  walk('');
  return out.join('\n');
}

function files(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const n of readdirSync(dir).sort()) out[n] = readFileSync(path.join(dir, n), 'utf8');
  return out;
}

function bootEntries(sysroot: string): Record<string, string> {
  return files(path.join(sysroot, 'boot/loader/entries'));
}

function origins(sysroot: string): Record<string, string> {
  const d = path.join(sysroot, 'ostree/deploy/testos/deploy');
  const out: Record<string, string> = {};
  for (const n of readdirSync(d).filter((x) => x.endsWith('.origin')).sort()) out[n] = readFileSync(path.join(d, n), 'utf8');
  return out;
}

describe.skipIf(SKIP_INTEROP)('sysroot and ostree admin, against ostree 2022.7', () => {
  let os: ReturnType<typeof makeOsRepo>;
  beforeAll(() => {
    os = makeOsRepo(tmpdir('node-ostree-sysroot-os-'));
  });
  afterAll(() => cleanupTmp());

  it('init-fs, os-init and deploy give the layout, BLS entries and origin ostree writes', () => {
    const a = makeSysroot(tmpdir(), ostree, os.repo);
    const b = makeSysroot(tmpdir(), ours, os.repo);
    expect(layout(b.sysroot)).toBe(layout(a.sysroot));
    const args = ['admin', 'deploy', '--os=testos', '--karg=root=LABEL=MOO', '--karg=quiet', `testos:${BRANCH}`];
    const outA = ok(ostree(args, { env: a.env }));
    const outB = ok(ours(args, { env: b.env }));
    expect(outB).toBe(outA);
    expect(layout(b.sysroot)).toBe(layout(a.sysroot));
    expect(bootEntries(b.sysroot)).toEqual(bootEntries(a.sysroot));
    expect(origins(b.sysroot)).toEqual(origins(a.sysroot));
    // A second deploy (new kernel, merge of kargs and /etc) and a pin.
    for (const s of [a, b]) ok(ostree([`--repo=${s.sysroot}/ostree/repo`, 'pull-local', '--remote=testos', os.repo, os.commits[1]]));
    const args2 = ['admin', 'deploy', '--os=testos', '--karg-append=console=ttyS0', os.commits[1]];
    expect(ok(ours(args2, { env: b.env }))).toBe(ok(ostree(args2, { env: a.env })));
    expect(ok(ours(['admin', 'pin', '1'], { env: b.env }))).toBe(ok(ostree(['admin', 'pin', '1'], { env: a.env })));
    expect(layout(b.sysroot)).toBe(layout(a.sysroot));
    expect(bootEntries(b.sysroot)).toEqual(bootEntries(a.sysroot));
    expect(origins(b.sysroot)).toEqual(origins(a.sysroot));
    expect(ok(ours(['refs', `--repo=${b.sysroot}/ostree/repo`]))).toBe(ok(ostree(['refs', `--repo=${a.sysroot}/ostree/repo`])));
    // Each reads the other's sysroot the same way.
    for (const s of [a, b]) {
      const st = ok(ostree(['admin', 'status'], { env: s.env }));
      expect(ok(ours(['admin', 'status'], { env: s.env }))).toBe(st);
      expect(st).toContain('Pinned: yes');
      expect(ok(ours(['admin', '--print-current-dir'], { env: s.env }))).toBe(ok(ostree(['admin', '--print-current-dir'], { env: s.env })));
    }
  });

  it('writes extra BLS keys (sysroot.bls-append-except-default) on non-default entries in ostree\'s order', () => {
    const a = makeSysroot(tmpdir(), ostree, os.repo);
    const b = makeSysroot(tmpdir(), ours, os.repo);
    for (const s of [a, b]) {
      ok(ostree([`--repo=${s.sysroot}/ostree/repo`, 'config', 'set', 'sysroot.bls-append-except-default', 'grub_users="";zzz=1;abc=x y']));
    }
    for (const args of [['admin', 'deploy', '--os=testos', `testos:${BRANCH}`], ['admin', 'deploy', '--os=testos', '--karg-none', '--karg=a=1', os.commits[0]]]) {
      // (a deploy prunes unreferenced commits, so the second one is pulled just before)
      for (const s of [a, b]) ok(ostree([`--repo=${s.sysroot}/ostree/repo`, 'pull-local', '--remote=testos', os.repo, os.commits[0]]));
      expect(ok(ours(args, { env: b.env }))).toBe(ok(ostree(args, { env: a.env })));
    }
    const entries = bootEntries(a.sysroot);
    expect(Object.values(entries).join('')).toContain('grub_users ""');
    expect(bootEntries(b.sysroot)).toEqual(entries);
  });

  it('a mixed sequence (we deploy, ostree deploys on top, we undeploy and clean up) passes ostree status and fsck', () => {
    const s = makeSysroot(tmpdir(), ours, os.repo);
    ok(ours(['admin', 'deploy', '--os=testos', `testos:${BRANCH}`], { env: s.env }));
    ok(ostree([`--repo=${s.sysroot}/ostree/repo`, 'pull-local', '--remote=testos', os.repo, os.commits[0]]));
    ok(ostree(['admin', 'deploy', '--os=testos', '--retain', os.commits[0]], { env: s.env }));
    const before = ok(ostree(['admin', 'status'], { env: s.env }));
    expect(ok(ours(['admin', 'status'], { env: s.env }))).toBe(before);
    expect(before.split('\n').filter((l) => /^ *testos /.test(l))).toHaveLength(2);
    const out = ok(ours(['admin', 'undeploy', '1'], { env: s.env }));
    expect(out).toMatch(/Deleted deployment [0-9a-f]{64}\.0$/);
    ok(ours(['admin', 'cleanup'], { env: s.env }));
    const after = ok(ostree(['admin', 'status'], { env: s.env }));
    expect(after).toContain(`testos ${os.commits[0]}.0`);
    expect(ok(ours(['admin', 'status'], { env: s.env }))).toBe(after);
    const json = JSON.parse(ok(ours(['admin', 'status', '--json'], { env: s.env })));
    expect(json.deployments.map((d: { checksum: string; deployserial: number; booted: boolean }) => [d.checksum, d.deployserial, d.booted])).toEqual([[os.commits[0], 0, false]]);
    ok(ostree(['fsck', `--repo=${s.sysroot}/ostree/repo`]), 'ostree fsck');
    // Only the current deployment's directory, boot dir and refs are left.
    expect(readdirSync(path.join(s.sysroot, 'ostree/deploy/testos/deploy')).filter((n) => !n.endsWith('.origin'))).toEqual([`${os.commits[0]}.0`]);
    expect(readdirSync(path.join(s.sysroot, 'boot/ostree'))).toHaveLength(1);
    const refs = ok(ostree(['refs', `--repo=${s.sysroot}/ostree/repo`])).split('\n').filter((r) => r.startsWith('ostree/'));
    expect(refs).toHaveLength(1);
  });

  it('a failed or aborted deploy leaves the previous boot configuration and no half-written deployment', async () => {
    const s = makeSysroot(tmpdir(), ours, os.repo);
    ok(ours(['admin', 'deploy', '--os=testos', `testos:${BRANCH}`], { env: s.env }));
    const snapshot = () => ({ layout: layout(s.sysroot), entries: bootEntries(s.sysroot), loader: readlinkSync(path.join(s.sysroot, 'boot/loader')) });
    const before = snapshot();
    // A commit without a kernel.
    const nok = path.join(tmpdir(), 'nokernel');
    w(path.join(nok, 'usr/bin/sh'), 'x\n');
    const c = ok(ostree([`--repo=${s.sysroot}/ostree/repo`, 'commit', '-b', 'nokernel', '-s', 'x', nok]));
    const r = ours(['admin', 'deploy', '--os=testos', 'nokernel'], { env: s.env });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('Failed to find kernel in /usr/lib/modules, /usr/lib/ostree-boot or /boot');
    ok(ostree([`--repo=${s.sysroot}/ostree/repo`, 'refs', '--delete', 'nokernel']));
    // A commit with /etc rather than /usr/etc: ostree moves etc to usr/etc, then fails to check the commit's
    // /usr/etc out as /etc; both fail with the same message (ostree leaves its partial deployment directory).
    const etcOnly = path.join(tmpdir(), 'etconly');
    w(path.join(etcOnly, 'usr/lib/modules/3.6.0/vmlinuz'), 'a kernel\n');
    w(path.join(etcOnly, 'etc/os-release'), 'ID=testos\n');
    ok(ostree([`--repo=${s.sysroot}/ostree/repo`, 'commit', '-b', 'etconly', '-s', 'x', etcOnly]));
    const their = makeSysroot(tmpdir(), ostree, os.repo);
    ok(ostree([`--repo=${their.sysroot}/ostree/repo`, 'commit', '-b', 'etconly', '-s', 'x', etcOnly]));
    const e1 = ours(['admin', 'deploy', '--os=testos', 'etconly'], { env: s.env });
    const e2 = ostree(['admin', 'deploy', '--os=testos', 'etconly'], { env: their.env });
    expect(e2.status).toBe(1);
    expect(e1.status).toBe(1);
    expect(e1.stderr.trim().split('\n').pop()).toBe(e2.stderr.trim().split('\n').pop());
    ok(ostree([`--repo=${s.sysroot}/ostree/repo`, 'refs', '--delete', 'etconly']));
    // The refs listing changes by the deleted ref only; nothing else did.
    expect(snapshot().entries).toEqual(before.entries);
    expect(snapshot().loader).toBe(before.loader);
    expect(readdirSync(path.join(s.sysroot, 'ostree/deploy/testos')).some((n) => n.startsWith('.'))).toBe(false);
    expect(existsSync(path.join(s.sysroot, 'ostree/deploy/testos/deploy', `${c}.0`))).toBe(false);
    // Aborted from the library.
    const prev = process.env.OSTREE_SYSROOT_DEBUG;
    process.env.OSTREE_SYSROOT_DEBUG = 'mutable-deployments';
    try {
      const sysroot = await Sysroot.open(s.sysroot);
      const ac = new AbortController();
      ac.abort();
      const err = await deploy(sysroot, `testos:${BRANCH}`, { osname: 'testos', signal: ac.signal }).catch((e) => e);
      expect(err).toBeInstanceOf(OstreeError);
      expect((err as OstreeError).code).toBe('OSTREE_ABORTED');
      const bad = await deploy(sysroot, 'no-such-ref', { osname: 'testos' }).catch((e) => e);
      expect((bad as OstreeError).code).toBe('OSTREE_REF_NOT_FOUND');
    } finally {
      process.env.OSTREE_SYSROOT_DEBUG = prev;
    }
    expect(snapshot()).toEqual(before);
    expect(existsSync(path.join(s.sysroot, 'ostree/lock'))).toBe(false);
    expect(ok(ostree(['admin', 'status'], { env: s.env }))).toContain(`testos:${BRANCH}`);
  });

  it('holds the sysroot lock as ostree does: ostree waits for it, and the lock file goes on release', async () => {
    const s = makeSysroot(tmpdir(), ours, os.repo);
    const sysroot = await Sysroot.open(s.sysroot);
    await sysroot.lock();
    expect(existsSync(path.join(s.sysroot, 'ostree/lock'))).toBe(true);
    const child = spawn('ostree', ['admin', 'cleanup'], { env: { ...process.env, ...s.env }, stdio: 'ignore' });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const early = await Promise.race([exited, new Promise((r) => setTimeout(() => r('waiting'), 700))]);
    expect(early).toBe('waiting');
    await sysroot.unlock();
    expect(await exited).toBe(0);
    expect(existsSync(path.join(s.sysroot, 'ostree/lock'))).toBe(false);
    rmSync(path.join(s.sysroot, 'ostree/lock'), { force: true });
  });

  it('reports usage errors and the unbooted state as ostree does', () => {
    const s = makeSysroot(tmpdir(), ours, os.repo);
    for (const args of [['admin', 'deploy', `testos:${BRANCH}`], ['admin', 'undeploy', '3'], ['admin', 'foo'], ['admin', 'deploy', '--os=testos', '--stage', `testos:${BRANCH}`]]) {
      const a = ostree(args, { env: s.env });
      const b = ours(args, { env: s.env });
      expect(b.status).toBe(a.status);
      expect(b.stderr.split('\n').filter((l) => l.startsWith('error:'))).toEqual(a.stderr.split('\n').filter((l) => l.startsWith('error:')));
    }
  });
});
